//! One module per subcommand; each parses its own arguments and renders its own output.

pub mod audit;
pub mod check;
pub mod complete;
pub mod exporter;
pub mod local;
pub mod lookup;
pub mod man;
pub mod roles;
pub mod rpc;
pub mod rpc_config;
pub mod rules;
pub mod serve;
pub mod trace;

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
        Command::Trace(a) => trace::run(a),
        Command::RpcConfig(a) => rpc_config::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Exporter(a) => exporter::run(a),
        Command::Completions { shell } => print_bytes(&complete::script(shell, cli_command())),
        Command::CompleteValue { kind, word } => {
            let mut text = complete::values(kind, &word).join("\n");
            text.push('\n');
            crate::out::print(&text).map_err(Failure::runtime)?;
            Ok(Status::Ok)
        }
        Command::Man { command } => print_bytes(&man::page(command.as_deref())?),
        Command::Version => {
            crate::out::print(&version_text()).map_err(Failure::runtime)?;
            Ok(Status::Ok)
        }
    }
}

/// `portq version`: the version, then the commit and target it was built from and the
/// newest date among the catalogue's documents (what a bug report needs).
fn version_text() -> String {
    let newest = portq_catalog::newest_document_date();
    format!(
        "portq {}\ncommit {}\ntarget {}\ncatalogue {} documents, newest dated {newest}\n",
        env!("CARGO_PKG_VERSION"),
        env!("PORTQ_COMMIT"),
        env!("PORTQ_TARGET"),
        portq_catalog::documents().len(),
    )
}

fn cli_command() -> clap::Command {
    <crate::cli::Cli as clap::CommandFactory>::command()
}

fn print_bytes(buf: &[u8]) -> Result<Status, Failure> {
    crate::out::print(&String::from_utf8_lossy(buf)).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
