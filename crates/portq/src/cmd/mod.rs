//! One module per subcommand; each parses its own arguments and renders its own output.

pub mod audit;
pub mod check;
pub mod exporter;
pub mod local;
pub mod lookup;
pub mod man;
pub mod roles;
pub mod rpc;
pub mod rpc_config;
pub mod rules;
pub mod serve;

use crate::cli::Command;
use crate::exit::{Failure, Status};
use portq_catalog::roles::{RoleSelection, parse_selection};

/// Parses `--role` values; the first bad one is a usage error.
pub fn parse_roles(names: &[String]) -> Result<Vec<RoleSelection>, Failure> {
    names
        .iter()
        .map(|r| parse_selection(r))
        .collect::<Result<_, _>>()
        .map_err(Failure::usage)
}

/// Bash: role names and `ROLE:` options complete after `--role`, `-r` and `--expect`,
/// asked of `portq roles --complete` (the catalogue's own list), with or without `:` in
/// COMP_WORDBREAKS; everything else is clap's completion.
const BASH_ROLES: &str = r#"
_portq_roles() {
    local cur="${COMP_WORDS[COMP_CWORD]}" i=$((COMP_CWORD - 1))
    local word="$cur" before="${COMP_WORDS[i]}"
    # "--role dc:gc" arrives split at the colon when ':' breaks words: join it back.
    if [[ "$before" == ":" ]]; then
        word="${COMP_WORDS[i-1]}:$cur"; before="${COMP_WORDS[i-2]}"
    elif [[ "$cur" == ":" ]]; then
        word="${COMP_WORDS[i]}:"; before="${COMP_WORDS[i-1]}"
    fi
    case "$before" in
        --role|-r|--expect)
            local IFS=$'
' c
            COMPREPLY=()
            for c in $(portq roles --complete "$word" 2>/dev/null); do
                # Bash completes only what follows the last word break.
                if [[ "$word" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
                    COMPREPLY+=("${c#*:}")
                else
                    COMPREPLY+=("$c")
                fi
            done
            return 0
            ;;
    esac
    _portq "$@"
}
complete -F _portq_roles -o bashdefault -o default portq
"#;

/// Runs a parsed command.
pub fn run(command: Command) -> Result<Status, Failure> {
    match command {
        Command::Check(a) => check::run(a),
        Command::Lookup(a) => lookup::run(a),
        Command::Local(a) => local::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Services(a) => lookup::services(a),
        Command::Ports(a) => lookup::ports(a),
        Command::Roles(a) => roles::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Rpc(a) => rpc::run(a),
        Command::RpcConfig(a) => rpc_config::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Exporter(a) => exporter::run(a),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cli_command(), "portq", &mut buf);
            if shell == clap_complete::Shell::Bash {
                buf.extend_from_slice(BASH_ROLES.as_bytes());
            }
            print_bytes(&buf)
        }
        Command::Man { command } => print_bytes(&man::page(command.as_deref())?),
        Command::Version => {
            crate::out::print(&format!("portq {}\n", env!("CARGO_PKG_VERSION")))
                .map_err(Failure::runtime)?;
            Ok(Status::Ok)
        }
    }
}

fn cli_command() -> clap::Command {
    <crate::cli::Cli as clap::CommandFactory>::command()
}

fn print_bytes(buf: &[u8]) -> Result<Status, Failure> {
    crate::out::print(&String::from_utf8_lossy(buf)).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
