//! The `portq` command-line tool.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod exit;
mod out;
mod render;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::shorthand(std::env::args_os().collect());
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => return exit::clap_error(e),
    };
    match cmd::run(cli.command) {
        Ok(status) => status.into(),
        Err(failure) => failure.report(),
    }
}
