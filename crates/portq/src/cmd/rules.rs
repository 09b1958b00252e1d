//! `portq rules`: firewall rules for a set of roles.

use crate::exit::{Failure, Status};
use crate::out;
use ipnet::IpNet;
use portq_catalog::query::parse_range;
use portq_catalog::roles;
use portq_rules::render::{Context, RuleFormat, render};
use portq_rules::{RuleOptions, RulesError, StaticPort, plan};

/// The formats `portq rules` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PowerShell New-NetFirewallRule commands.
    Powershell,
    /// netsh advfirewall commands.
    Netsh,
    /// A complete nftables table.
    Nftables,
    /// iptables-restore input (IPv4).
    Iptables,
    /// ip6tables-restore input (IPv6).
    Ip6tables,
    /// A firewalld service XML.
    Firewalld,
    /// One JSON object per rule.
    Json,
    /// One CSV row per rule.
    Csv,
}

impl From<Format> for RuleFormat {
    fn from(f: Format) -> RuleFormat {
        match f {
            Format::Powershell => RuleFormat::Powershell,
            Format::Netsh => RuleFormat::Netsh,
            Format::Nftables => RuleFormat::Nftables,
            Format::Iptables => RuleFormat::Iptables,
            Format::Ip6tables => RuleFormat::Ip6tables,
            Format::Firewalld => RuleFormat::Firewalld,
            Format::Json => RuleFormat::Json,
            Format::Csv => RuleFormat::Csv,
        }
    }
}

/// Arguments of `portq rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server roles (repeatable; `ROLE[:OPTION,no-OPTION]`, see `portq roles`).
    #[arg(long = "role", short = 'r', value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// Allowed client sources (repeatable; CIDR or address). Default: any.
    #[arg(long, value_name = "CIDR")]
    pub from: Vec<String>,
    /// Sources of other servers of the role (replication, failover); default: --from.
    #[arg(long, value_name = "CIDR")]
    pub peers: Vec<String>,
    /// Sources of management hosts; default: --from.
    #[arg(long, value_name = "CIDR")]
    pub management: Vec<String>,
    /// The RPC dynamic range the servers are configured with (see `portq rpc-config`).
    #[arg(long, value_name = "START-END")]
    pub rpc_range: Option<String>,
    /// A service pinned to a static RPC port: ntds=PORT, netlogon=PORT, frs=PORT, dfsr=PORT (repeatable).
    #[arg(long = "static-port", value_name = "SERVICE=PORT")]
    pub static_ports: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "powershell")]
    pub format: Format,
    /// nftables/iptables: accept what the rules do not match instead of dropping it.
    #[arg(long)]
    pub no_default_drop: bool,
}

fn cidrs(list: &[String]) -> Result<Vec<IpNet>, RulesError> {
    list.iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| RulesError::BadCidr(s.to_owned()))
        })
        .collect()
}

/// Runs `portq rules`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let selections: Vec<_> = crate::cmd::parse_roles(&args.roles)?;
    let rpc_range = match &args.rpc_range {
        Some(r) => {
            Some(parse_range(r).map_err(|_| Failure::usage(RulesError::BadRange(r.clone())))?)
        }
        None => None,
    };
    let opts = RuleOptions {
        from: cidrs(&args.from).map_err(Failure::usage)?,
        peers: (!args.peers.is_empty())
            .then(|| cidrs(&args.peers))
            .transpose()
            .map_err(Failure::usage)?,
        management: (!args.management.is_empty())
            .then(|| cidrs(&args.management))
            .transpose()
            .map_err(Failure::usage)?,
        rpc_range,
        static_ports: args
            .static_ports
            .iter()
            .map(|s| StaticPort::parse(s))
            .collect::<Result<_, _>>()
            .map_err(Failure::usage)?,
    };
    let rules = plan(&roles::expand(&selections), &opts).map_err(Failure::usage)?;
    let ctx = Context {
        roles: args.roles.clone(),
        default_drop: !args.no_default_drop,
    };
    out::print(&render(&rules, args.format.into(), &ctx)).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
