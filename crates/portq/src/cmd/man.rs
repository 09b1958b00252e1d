//! `portq man [COMMAND]`: the manual page of portq or of one subcommand (roff), with the
//! sections clap does not write: EXIT STATUS and EXAMPLES.

use crate::exit::Failure;

/// What each exit code means for a command.
fn exit_status(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "check" => &[
            (
                "0",
                "every required port is met (LISTENING), or unconfirmed (UDP LISTENING OR FILTERED); for a -p sweep, the sweep ran to the end",
            ),
            (
                "1",
                "a required port is unmet (NOT LISTENING or FILTERED), a host is unreachable, or the endpoint mapper gave nothing usable; with --strict, any port not LISTENING",
            ),
            (
                "2",
                "bad input (target, port, role, option): one line on stderr, nothing sent",
            ),
            (
                "130",
                "interrupted (Ctrl-C): the results so far are printed, marked interrupted",
            ),
        ],
        "lookup" => &[
            ("0", "every question was answered"),
            ("1", "a question found nothing (said on stderr)"),
            ("2", "bad input: one line on stderr"),
        ],
        "trace" => &[
            ("0", "every traced port was reached"),
            (
                "1",
                "a port was rejected by a router or went silent after a hop",
            ),
            (
                "2",
                "bad input, or no raw sockets (root or CAP_NET_RAW): one line on stderr",
            ),
        ],
        "local" | "audit" => &[
            ("0", "the listeners or rules match the roles"),
            (
                "1",
                "something is missing, unexpected, blocked or open to the world",
            ),
            (
                "2",
                "bad input or an unreadable rule set: one line on stderr",
            ),
        ],
        "rpc" => &[
            (
                "0",
                "every endpoint mapper answered (and, with --check, every registered port is listening)",
            ),
            (
                "1",
                "a mapper did not answer, listed nothing, or (with --check) a registered port is not listening",
            ),
            ("2", "bad input: one line on stderr"),
        ],
        _ => &[
            ("0", "done"),
            ("2", "bad input: one line on stderr, nothing done"),
        ],
    }
}

/// Examples of a command: (command line, what it does).
fn examples(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "check" => &[
            (
                "portq check dc1.example.test --role dc",
                "is this host a working domain controller?",
            ),
            (
                "portq check 10.0.0.0/24 -p tcp:445,3389",
                "a sweep of two ports over a /24",
            ),
            (
                "portq check --domain example.test --role dc",
                "every DC the domain's DNS names",
            ),
            (
                "portq check dc1 --role dc --format html -o report.html",
                "the auditor's report, into a file",
            ),
        ],
        "lookup" => &[
            ("portq lookup 445", "every Windows service on 445"),
            ("portq lookup global catalog", "words are one question"),
            (
                "portq lookup --role exchange-mailbox --explain",
                "a role's ports with document, section and quote",
            ),
        ],
        "rules" => &[
            (
                "portq rules --role dc --from 10.0.0.0/8 --management 10.9.0.0/24 -f nftables",
                "nftables rules for a DC",
            ),
            (
                "portq rules --role sccm-management-point --from 10.0.0.0/8 -f powershell",
                "Windows Firewall rules",
            ),
            (
                "portq rules --role dc --from 10.0.0.0/8 -f azure",
                "an Azure NSG, ending in a deny",
            ),
        ],
        "rpc" => &[
            ("portq rpc dc1", "what listens on which dynamic port"),
            (
                "portq rpc dc1 --check",
                "and whether each registered port answers",
            ),
        ],
        "trace" => &[
            (
                "sudo portq trace dc1 -p 445 --reference 135",
                "where 445 stops, beside a path that gets through",
            ),
            (
                "sudo portq trace dc1 --role dc -f json",
                "every port a DC needs, traced at once",
            ),
        ],
        "local" => &[
            ("portq local", "what listens here, and who owns it"),
            (
                "portq local --expect dc",
                "what is missing, unexpected or blocked for a DC",
            ),
        ],
        "audit" => &[(
            "portq audit ruleset.json --role dc --from 10.0.0.0/8",
            "judge a saved rule set",
        )],
        _ => &[],
    }
}

/// Escapes text for roff.
fn roff(text: &str) -> String {
    text.replace('\\', "\\\\").replace('-', "\\-")
}

/// The page, as roff.
pub fn page(command: Option<&str>) -> Result<Vec<u8>, Failure> {
    let root = super::cli_command();
    let Some(name) = command else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(root)
            .render(&mut buf)
            .map_err(Failure::runtime)?;
        return Ok(buf);
    };
    let Some(sub) = root.find_subcommand(name) else {
        let names: Vec<String> = root
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        return Err(Failure::usage(format!(
            "no command {name:?}; one of: {}",
            names.join(", ")
        )));
    };
    let title = format!("portq-{}", sub.get_name());
    let sub = sub
        .clone()
        .display_name(title)
        .version(env!("CARGO_PKG_VERSION"))
        .bin_name(format!("portq {}", sub.get_name()));
    let man = clap_mangen::Man::new(sub);
    let mut buf = Vec::new();
    man.render_title(&mut buf).map_err(Failure::runtime)?;
    man.render_name_section(&mut buf)
        .map_err(Failure::runtime)?;
    man.render_synopsis_section(&mut buf)
        .map_err(Failure::runtime)?;
    man.render_description_section(&mut buf)
        .map_err(Failure::runtime)?;
    man.render_options_section(&mut buf)
        .map_err(Failure::runtime)?;
    let mut extra = String::from(".SH \"EXIT STATUS\"\n");
    for (code, what) in exit_status(name) {
        extra.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff(what)));
    }
    let ex = examples(name);
    if !ex.is_empty() {
        extra.push_str(".SH EXAMPLES\n");
        for (cmd, what) in ex {
            extra.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(cmd), roff(what)));
        }
    }
    buf.extend_from_slice(extra.as_bytes());
    man.render_version_section(&mut buf)
        .map_err(Failure::runtime)?;
    Ok(buf)
}
