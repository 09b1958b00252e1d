//! Exit codes and the one-line error report.
//!
//! 0: success, everything as expected; 1: ran fine but something is not as expected
//! (nothing found, a port not listening); 2: usage or input error; 3 and up: runtime failure;
//! 130: stopped by Ctrl-C or SIGTERM, with what was found written.

use std::fmt::Display;
use std::process::ExitCode;

/// How a command that ran to the end turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything as expected (exit 0).
    Ok,
    /// Ran fine, but something is not as expected (exit 1).
    NotAsExpected,
    /// Stopped by Ctrl-C or SIGTERM after writing what it had (exit 130, as a shell
    /// reports a command ended by SIGINT).
    Interrupted,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        match s {
            Status::Ok => ExitCode::SUCCESS,
            Status::NotAsExpected => ExitCode::from(1),
            Status::Interrupted => ExitCode::from(130),
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
            eprintln!(
                "portq: {} (see portq --help)",
                one_line(&e.render().to_string())
            );
            ExitCode::from(2)
        }
    }
}

/// A clap error as one line: the message with what follows it (the missing arguments,
/// the valid values, a suggestion), without the usage block.
fn one_line(text: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("Usage:") || l.starts_with("For more information") {
            break;
        }
        if !l.is_empty() {
            parts.push(l.trim_start_matches("error: "));
        }
    }
    let joined = parts.join(" ");
    if joined.is_empty() {
        "invalid arguments".to_owned()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn clap_errors_keep_the_names_and_values() {
        let text = "error: the following required arguments were not provided:\n  <TARGET>...\n\nUsage: portq check <TARGET>...\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "the following required arguments were not provided: <TARGET>..."
        );
        let text = "error: invalid value 'pwsh' for '--format <FORMAT>'\n  [possible values: powershell, netsh]\n\n  tip: a similar value exists: 'powershell'\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "invalid value 'pwsh' for '--format <FORMAT>' [possible values: powershell, netsh] tip: a similar value exists: 'powershell'"
        );
    }
}
