//! One module per subcommand; each parses its own arguments and renders its own output.

pub mod check;
pub mod local;
pub mod lookup;
pub mod roles;
pub mod rpc;
pub mod rpc_config;
pub mod rules;
pub mod serve;

use crate::cli::Command;
use crate::exit::{Failure, Status};

/// Runs a parsed command.
pub fn run(command: Command) -> Result<Status, Failure> {
    match command {
        Command::Check(a) => check::run(a),
        Command::Lookup(a) => lookup::run(a),
        Command::Local(a) => local::run(a),
        Command::Services(a) => lookup::services(a),
        Command::Ports(a) => lookup::ports(a),
        Command::Roles(a) => roles::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Rpc(a) => rpc::run(a),
        Command::RpcConfig(a) => rpc_config::run(a),
        Command::Serve(a) => serve::run(a),
    }
}
