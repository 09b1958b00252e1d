//! The command line: subcommands and the `portq QUERY` shorthand.

use crate::cmd;
use clap::{Parser, Subcommand};
use std::ffi::OsString;

/// What uses this port, what does this service or role need, is it really listening,
/// which service sits on that RPC port, and which firewall rules open exactly that.
#[derive(Debug, Parser)]
#[command(name = "portq", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Shorthand: `portq QUERY...` is `portq lookup QUERY...`.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up ports, ranges, services, words or roles in the catalogue.
    Lookup(cmd::lookup::Args),
    /// The catalogue by service, like the article's "System services ports" section.
    Services(cmd::lookup::ViewArgs),
    /// The catalogue sorted by port, like the article's "Ports and protocols" table.
    Ports(cmd::lookup::ViewArgs),
    /// List the server roles and their options.
    Roles(cmd::roles::Args),
    /// Firewall rules that open exactly what the given roles need.
    Rules(cmd::rules::Args),
    /// Windows settings that restrict the RPC dynamic port range and pin static ports.
    RpcConfig(cmd::rpc_config::Args),
    /// Is each port really listening: PortQry's answers for many hosts and ports at once.
    Check(cmd::check::Args),
    /// Ask a host's RPC endpoint mapper which interface listens on which port.
    Rpc(cmd::rpc::Args),
    /// What listens on this machine, which process and service own it, and should it.
    Local(cmd::local::Args),
    /// A local web console: catalogue search, role builder, rules download, RPC lookup.
    Serve(cmd::serve::Args),
    /// A Prometheus exporter: `/probe?target=HOST&module=ROLE` runs `portq check` for Prometheus.
    Exporter(cmd::exporter::Args),
}

/// Subcommand names, for the shorthand.
const SUBCOMMANDS: &[&str] = &[
    "lookup",
    "services",
    "ports",
    "roles",
    "rules",
    "rpc-config",
    "check",
    "rpc",
    "local",
    "serve",
    "exporter",
    "help",
];

/// Rewrites `portq QUERY...` into `portq lookup QUERY...`.
pub fn shorthand(mut args: Vec<OsString>) -> Vec<OsString> {
    if let Some(first) = args.get(1) {
        let s = first.to_string_lossy();
        if !s.starts_with('-') && !SUBCOMMANDS.contains(&s.as_ref()) {
            args.insert(1, OsString::from("lookup"));
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn shorthand_inserts_lookup() {
        assert_eq!(
            shorthand(v(&["portq", "445"])),
            v(&["portq", "lookup", "445"])
        );
        assert_eq!(shorthand(v(&["portq", "ports"])), v(&["portq", "ports"]));
        assert_eq!(shorthand(v(&["portq", "--help"])), v(&["portq", "--help"]));
        assert_eq!(shorthand(v(&["portq"])), v(&["portq"]));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
