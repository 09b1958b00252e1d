//! Exit codes and the one-line error report.
//!
//! 0: success, everything as expected; 1: ran fine but something is not as expected
//! (nothing found, a port not listening); 2: usage or input error; 3 and up: runtime failure.

use std::fmt::Display;
use std::process::ExitCode;

/// How a command that ran to the end turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything as expected (exit 0).
    Ok,
    /// Ran fine, but something is not as expected (exit 1).
    NotAsExpected,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        match s {
            Status::Ok => ExitCode::SUCCESS,
            Status::NotAsExpected => ExitCode::from(1),
        }
    }
}

/// A command that could not do its job.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or input (exit 2).
    Usage(String),
    /// Something failed while running (exit 3).
    Runtime(String),
}

impl Failure {
    /// A usage error from anything printable.
    pub fn usage(e: impl Display) -> Self {
        Failure::Usage(e.to_string())
    }

    /// A runtime failure from anything printable.
    pub fn runtime(e: impl Display) -> Self {
        Failure::Runtime(e.to_string())
    }

    /// Prints one line on stderr and returns the exit code.
    pub fn report(self) -> ExitCode {
        let (code, msg) = match self {
            Failure::Usage(m) => (2, m),
            Failure::Runtime(m) => (3, m),
        };
        let line = msg.lines().next().unwrap_or("").trim();
        eprintln!("portq: {line}");
        ExitCode::from(code)
    }
}

/// Reports a clap error: help and version go to stdout with exit 0; errors become one line, exit 2.
pub fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            // "the following required arguments were not provided:" names them below.
            let named = match lines.next() {
                Some(next) if first.ends_with(':') && !next.starts_with("Usage:") => {
                    format!(" {next}")
                }
                _ => String::new(),
            };
            eprintln!("portq: {first}{named} (see portq --help)");
            ExitCode::from(2)
        }
    }
}
