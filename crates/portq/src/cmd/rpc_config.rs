//! `portq rpc-config`: registry and netsh settings for the RPC dynamic range and static ports.

use crate::exit::{Failure, Status};
use crate::out;
use portq_catalog::query::parse_range;
use portq_rules::rpc_config::{ConfigFormat, render};
use portq_rules::{RulesError, StaticPort};

/// Arguments of `portq rpc-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The RPC dynamic range to restrict to, e.g. 5000-5100.
    #[arg(long, value_name = "START-END")]
    pub range: Option<String>,
    /// Pin a service to a static port: ntds=PORT, netlogon=PORT, frs=PORT, dfsr=PORT, or wmi
    /// (WMI in its own process on TCP 24158) (repeatable).
    #[arg(long = "static-port", value_name = "SERVICE=PORT")]
    pub static_ports: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "reg")]
    pub format: ConfigFormat,
}

/// Runs `portq rpc-config`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let range = match &args.range {
        Some(r) => {
            Some(parse_range(r).map_err(|_| Failure::usage(RulesError::BadRange(r.clone())))?)
        }
        None => None,
    };
    let statics: Vec<StaticPort> = args
        .static_ports
        .iter()
        .map(|s| StaticPort::parse(s))
        .collect::<Result<_, _>>()
        .map_err(Failure::usage)?;
    let text = render(range, &statics, args.format).map_err(Failure::usage)?;
    out::print(&text).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
