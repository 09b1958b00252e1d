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
mod tls;
mod views;
mod web_config;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::shorthand(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(rejected) => return exit::Failure::usage(rejected).report(),
    };
    let parsed = match cli::parse_lookup_alone(&args) {
        Some(c) => Ok(c),
        None => cli::Cli::try_parse_from(args),
    };
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => return exit::clap_error(e),
    };
    out::set_wide(cli.wide);
    if let Some(path) = &cli.output
        && let Err(why) = out::to_file(path, cli.force)
    {
        return exit::Failure::usage(why).report();
    }
    let result = cmd::run(cli.command);
    // A failed run leaves an existing -o file as it was; a failed rename is a failure.
    let finished = out::finish(result.is_ok());
    match (result, finished) {
        (Ok(status), Ok(())) => status.into(),
        (Ok(_), Err(e)) => {
            exit::Failure::runtime(format!("cannot write the -o file: {e}")).report()
        }
        (Err(failure), _) => failure.report(),
    }
}
