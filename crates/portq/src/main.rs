//! The `portq` command-line tool.
//!
//! Place in the data flow (ARCHITECTURE.md): the front ends — the CLI, the web console and
//! the Prometheus exporter — and the *renderers*. They ask the library and render its
//! answer; pass/fail comes from `CheckSummary::outcome`, never from here.
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod exit;
mod net;
mod out;
mod render;
mod signals;
mod views;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::shorthand(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(rejected) => return exit::Failure::usage(rejected).report(),
    };
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => return exit::clap_error(e),
    };
    out::set_wide(cli.wide);
    match cmd::run(cli.command) {
        Ok(status) => status.into(),
        Err(failure) => failure.report(),
    }
}
