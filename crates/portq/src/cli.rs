//! The command line: subcommands and the `portq QUERY` shorthand.

use crate::cmd;
use clap::{Parser, Subcommand};
use std::ffi::OsString;

/// What uses this port, what does this service or role need, is it really listening,
/// which service sits on that RPC port, and which firewall rules open exactly that.
#[derive(Debug, Parser)]
// bin_name: help and errors say `portq`, as users type it, not `portq.exe` on Windows.
#[command(name = "portq", bin_name = "portq", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Shorthand: `portq QUERY...` is `portq lookup QUERY...`.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Tables as wide as their content (default: fit the terminal, or 100 columns or
    /// $COLUMNS when not a terminal).
    #[arg(long, global = true)]
    pub wide: bool,
    /// Write the output to FILE instead of stdout: whole or not at all (a failed run
    /// leaves an existing FILE as it was). An existing FILE needs --force.
    #[arg(long, short = 'o', global = true, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// With -o: replace FILE if it exists.
    #[arg(long, global = true, requires = "output")]
    pub force: bool,
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
    /// Where is it dropped: trace the path to each port itself (TCP SYN, the port's own
    /// UDP request), all ports at once; reached, rejected by a router, or silent after a hop.
    Trace(cmd::trace::Args),
    /// What listens on this machine, which process and service own it, and should it.
    Local(cmd::local::Args),
    /// Judge a saved rule set (nft, iptables-save, Windows, AWS, Azure) against roles.
    Audit(cmd::audit::Args),
    /// A local web console: catalogue search, role builder, rules download, RPC lookup.
    Serve(cmd::serve::Args),
    /// A Prometheus exporter: `/probe?target=HOST&module=ROLE` runs `portq check` for Prometheus.
    Exporter(cmd::exporter::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// For completion scripts: the values of KIND that complete WORD, one a line.
    #[command(name = "complete-value", hide = true)]
    CompleteValue {
        /// What is being completed.
        #[arg(value_enum)]
        kind: cmd::complete::ValueKind,
        /// The word typed so far.
        #[arg(default_value = "", allow_hyphen_values = true)]
        word: String,
    },
    /// Print the manual page (roff) on stdout.
    Man {
        /// A subcommand (`check`, `rules`, ...): its own page, with EXIT STATUS and
        /// EXAMPLES. Without it, the page of portq itself.
        command: Option<String>,
    },
    /// Print portq's version.
    Version,
}

/// `portq lookup ARGS` parsed with a command tree that holds `lookup` alone: building
/// clap's whole tree (every subcommand and its options) is most of a lookup's start-up,
/// and a lookup is what people run most. `None` when this does not apply (another
/// subcommand, help or version asked) or does not parse; the caller then parses with the
/// whole tree, which gives the same answer and the same help and errors (a test holds
/// the two parses equal).
pub fn parse_lookup_alone(args: &[OsString]) -> Option<Cli> {
    use clap::{Arg, ArgAction, FromArgMatches};
    if args.get(1).and_then(|a| a.to_str()) != Some("lookup") {
        return None;
    }
    if args.iter().any(|a| {
        matches!(
            a.to_str(),
            Some("-h" | "--help" | "-V" | "--version" | "help")
        )
    }) {
        return None;
    }
    let lookup = <cmd::lookup::Args as clap::Args>::augment_args(clap::Command::new("lookup"));
    // The global options of [`Cli`], with the same ids.
    let root = clap::Command::new("portq")
        .bin_name("portq")
        .arg(
            Arg::new("wide")
                .long("wide")
                .global(true)
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("output")
                .long("output")
                .short('o')
                .global(true)
                .value_parser(clap::value_parser!(std::path::PathBuf)),
        )
        .arg(
            Arg::new("force")
                .long("force")
                .global(true)
                .requires("output")
                .action(ArgAction::SetTrue),
        )
        .subcommand(lookup);
    let matches = root.try_get_matches_from(args).ok()?;
    let (_, sub) = matches.subcommand()?;
    Some(Cli {
        command: Command::Lookup(cmd::lookup::Args::from_arg_matches(sub).ok()?),
        wide: matches.get_flag("wide"),
        output: matches.get_one::<std::path::PathBuf>("output").cloned(),
        force: matches.get_flag("force"),
    })
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
    "trace",
    "local",
    "audit",
    "serve",
    "exporter",
    "completions",
    "complete-value",
    "man",
    "version",
    "help",
];

/// Why the command line cannot be run as typed.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    /// A near miss of a subcommand name that the catalogue does not know either.
    Typo {
        /// What was typed.
        typed: String,
        /// The subcommand meant.
        meant: &'static str,
    },
    /// PortQry's options; carries the equivalent portq command.
    PortQry(String),
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Typo { typed, meant } => write!(
                f,
                "unknown command '{typed}'; did you mean `{meant}`? (portq --help lists the commands)"
            ),
            Rejected::PortQry(cmd) => write!(f, "that is PortQry's syntax; in portq it is: {cmd}"),
        }
    }
}

/// The subcommand `word` is a near miss of, if any (one edit; two for long names).
fn near_subcommand(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    let max = if w.chars().count() >= 6 { 2 } else { 1 };
    SUBCOMMANDS
        .iter()
        .filter(|c| **c != "help" && **c != "complete-value")
        .map(|c| (strsim::damerau_levenshtein(&w, c), *c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// True when `word` is an answer of the catalogue as typed (no correction needed).
fn catalogue_knows(word: &str) -> bool {
    use portq_catalog::search::{self, SearchOptions};
    portq_catalog::Query::parse(word).is_ok_and(|q| {
        let r = search::lookup(&q, SearchOptions::default());
        !r.hits.is_empty() && r.did_you_mean.is_none()
    })
}

/// Rewrites `portq QUERY...` into `portq lookup QUERY...`; refuses a near miss of a
/// subcommand (`portq chek HOST`) and PortQry's options (`-n HOST -e PORT -p both`).
pub fn shorthand(mut args: Vec<OsString>) -> Result<Vec<OsString>, Rejected> {
    if let Some(cmd) = portqry_equivalent(&args) {
        return Err(Rejected::PortQry(cmd));
    }
    if let Some(first) = args.get(1) {
        let s = first.to_string_lossy().into_owned();
        if !s.starts_with('-') && !SUBCOMMANDS.contains(&s.as_str()) {
            if let Some(meant) = near_subcommand(&s)
                && !catalogue_knows(&s)
            {
                return Err(Rejected::Typo { typed: s, meant });
            }
            args.insert(1, OsString::from("lookup"));
        }
    }
    Ok(args)
}

/// PortQry's command line (`portqry -n dc1 -e 389 -p both`), typed after `portq` or
/// `portq check`, as the equivalent portq command; `None` when it is not PortQry's.
pub fn portqry_equivalent(args: &[OsString]) -> Option<String> {
    let a: Vec<String> = args
        .iter()
        .skip(1)
        .map(|x| x.to_string_lossy().into_owned())
        .collect();
    let rest = match a.first().map(String::as_str) {
        Some("check") => &a[1..],
        _ => &a[..],
    };
    let value = |flag: &str| {
        rest.iter()
            .position(|x| x.eq_ignore_ascii_case(flag))
            .and_then(|i| rest.get(i + 1))
            .cloned()
    };
    let proto = value("-p").map(|p| p.to_lowercase());
    let proto_is_portqry = proto
        .as_deref()
        .is_some_and(|p| matches!(p, "tcp" | "udp" | "both"));
    let range = value("-r").filter(|r| r.contains(':'));
    // PortQry's `-o` takes a list of ports; portq's `-o` a file name.
    let portqry_list = value("-o").is_some_and(|v| {
        v.split(',')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    let portqry = ["-n", "-e", "-cn", "-nr", "-sp", "-sl"]
        .iter()
        .any(|f| rest.iter().any(|x| x.eq_ignore_ascii_case(f)))
        || proto_is_portqry
        || portqry_list;
    if !portqry {
        return None;
    }
    let ports = value("-e")
        .or(range.map(|r| r.replace(':', "-")))
        .or(value("-o"))
        .unwrap_or_else(|| "PORTS".to_owned());
    let spec = match proto.as_deref() {
        Some("udp") => format!("udp:{ports}"),
        Some("both") => format!("tcp:{ports},udp:{ports}"),
        _ => format!("tcp:{ports}"),
    };
    let mut cmd = format!(
        "portq check {} -p {spec}",
        value("-n").unwrap_or_else(|| "HOST".to_owned())
    );
    if let Some(c) = value("-cn") {
        cmd.push_str(&format!(" --community {c}"));
    }
    if rest.iter().any(|x| x == "-q") {
        cmd.push_str(" -q");
    }
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    /// The lookup-only parse agrees with the whole tree's, and steps aside where it
    /// cannot (the whole tree is the oracle).
    #[test]
    fn the_lookup_alone_parse_equals_the_full_one() {
        use clap::Parser;
        for line in [
            "portq lookup 445",
            "portq lookup 445 --format json",
            "portq lookup global catalog -f csv",
            "portq lookup --role dc:no-gc --role dns-server",
            "portq lookup 3389 --wide",
            "portq --wide lookup 135/tcp --explain",
            "portq lookup 445 -o out.json --force --format json",
            "portq lookup kerberos --limit 3",
            "portq lookup --sources",
            "portq lookup 445 --services-file",
        ] {
            let a = v(&line.split(' ').collect::<Vec<_>>());
            let full = Cli::try_parse_from(a.clone()).map(|c| format!("{c:?}"));
            let alone = parse_lookup_alone(&a).map(|c| format!("{c:?}"));
            match full {
                // Options before the subcommand: it steps aside; else it must agree.
                Ok(f) if line.starts_with("portq lookup") => {
                    assert_eq!(alone.as_deref(), Some(f.as_str()), "{line}")
                }
                Ok(_) => assert!(alone.is_none(), "{line}"),
                Err(_) => assert!(alone.is_none(), "{line}"),
            }
        }
        for line in [
            "portq lookup --help",
            "portq lookup 445 --bogus",
            "portq lookup 445 --force",
            "portq check 10.0.0.1",
            "portq lookup 445 --format yaml",
        ] {
            let a = v(&line.split(' ').collect::<Vec<_>>());
            assert!(parse_lookup_alone(&a).is_none(), "{line}");
        }
    }

    #[test]
    fn shorthand_inserts_lookup() {
        assert_eq!(
            shorthand(v(&["portq", "445"])),
            Ok(v(&["portq", "lookup", "445"]))
        );
        assert_eq!(
            shorthand(v(&["portq", "ports"])),
            Ok(v(&["portq", "ports"]))
        );
        assert_eq!(
            shorthand(v(&["portq", "--help"])),
            Ok(v(&["portq", "--help"]))
        );
        assert_eq!(shorthand(v(&["portq"])), Ok(v(&["portq"])));
        for word in ["version", "completions", "man", "help"] {
            assert_eq!(shorthand(v(&["portq", word])), Ok(v(&["portq", word])));
        }
    }

    #[test]
    fn subcommand_typos_are_not_lookups() {
        assert_eq!(
            shorthand(v(&["portq", "chek", "dc1"])),
            Err(Rejected::Typo {
                typed: "chek".into(),
                meant: "check"
            })
        );
        assert!(matches!(
            shorthand(v(&["portq", "rulez"])),
            Err(Rejected::Typo { meant: "rules", .. })
        ));
        // Words the catalogue answers stay lookups even when close to a command name.
        assert_eq!(
            shorthand(v(&["portq", "server"])),
            Ok(v(&["portq", "lookup", "server"]))
        );
    }

    #[test]
    fn portqry_options_get_the_portq_command() {
        let s = |a: &[&str]| portqry_equivalent(&v(a));
        assert_eq!(
            s(&["portq", "check", "-n", "dc1", "-e", "389", "-p", "both"]).as_deref(),
            Some("portq check dc1 -p tcp:389,udp:389")
        );
        assert_eq!(
            s(&["portq", "-n", "dc1", "-r", "1:1024"]).as_deref(),
            Some("portq check dc1 -p tcp:1-1024")
        );
        assert_eq!(
            s(&["portq", "-n", "dc1", "-o", "53,88", "-p", "UDP", "-q"]).as_deref(),
            Some("portq check dc1 -p udp:53,88 -q")
        );
        assert_eq!(
            s(&["portq", "check", "dc1", "-p", "tcp:389", "-r", "dc"]),
            None
        );
        assert_eq!(s(&["portq", "lookup", "445"]), None);
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
