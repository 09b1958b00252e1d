//! `portq audit`: a saved rule set judged against server roles, off the host. The
//! judgement is the library's ([`portq_local::firewall::judge`]); this renders it.

use std::io::Read as _;
use std::path::PathBuf;

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid};
use portq_catalog::roles;
use portq_local::firewall::Firewall;
use portq_local::firewall::judge::{self, Cover, RuleAudit};
use portq_rules::addr::parse_sources;

/// The kinds of rule set `audit` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `nft -j list ruleset`.
    Nftables,
    /// `iptables-save` / `ip6tables-save`.
    Iptables,
    /// portq's Windows Firewall export (`portq local --firewall-script`).
    Windows,
    /// `aws ec2 describe-security-groups`.
    Aws,
    /// `az network nsg show`.
    Azure,
}

/// Arguments of `portq audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The saved rule set (`-` for standard input): nft JSON, iptables-save, the Windows
    /// export, an AWS security group or an Azure NSG as their CLIs print them.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Server roles the rules are for (repeatable; `ROLE[:OPTION,no-OPTION]`).
    #[arg(long = "role", short = 'r', value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// The clients' networks (repeatable): each needed port is judged for them. Default:
    /// anywhere.
    #[arg(long, value_name = "CIDR")]
    pub from: Vec<String>,
    /// What the file is (detected from its content otherwise).
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,
}

/// At most this many bytes are read from the file.
const MAX_FILE: u64 = 64 * 1024 * 1024;

fn read(path: &PathBuf) -> Result<String, Failure> {
    let bad = |e: &dyn std::fmt::Display| Failure::usage(format!("{}: {e}", path.display()));
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_FILE)
            .read_to_string(&mut text)
            .map_err(|e| bad(&e))?;
    } else {
        std::fs::File::open(path)
            .map_err(|e| bad(&e))?
            .take(MAX_FILE)
            .read_to_string(&mut text)
            .map_err(|e| bad(&e))?;
    }
    if text.trim().is_empty() {
        return Err(bad(&"the file is empty"));
    }
    Ok(text)
}

fn kind_name(f: &Firewall) -> &'static str {
    match f {
        Firewall::Nft(_) => "nftables",
        Firewall::Windows(_) => "windows",
        Firewall::Aws(_) => "aws",
        Firewall::Azure(_) => "azure",
        _ => "other",
    }
}

/// Runs `portq audit`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let selections: Vec<_> = crate::cmd::parse_roles(&args.roles)?;
    let from = parse_sources(&args.from).map_err(Failure::usage)?;
    let text = read(&args.file)?;
    let fw = Firewall::parse(&text)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?;
    if let Some(k) = args.kind {
        let want = match k {
            Kind::Nftables | Kind::Iptables => "nftables",
            Kind::Windows => "windows",
            Kind::Aws => "aws",
            Kind::Azure => "azure",
        };
        if kind_name(&fw) != want {
            return Err(Failure::usage(format!(
                "{}: --kind {} given, but the file reads as {}",
                args.file.display(),
                format!("{k:?}").to_lowercase(),
                kind_name(&fw)
            )));
        }
    }
    let a = judge::audit(&fw, &roles::expand(&selections), &from);
    match args.format {
        Format::Json | Format::Ndjson => out::json(&a).map_err(Failure::runtime)?,
        Format::Html => {
            // One report: the verdict, the needed ports, then what else is open.
            let (needed, open) = grids(&a);
            let mut body = String::from("<h2>Verdict</h2>\n<ul class=\"verdict\">\n");
            for line in summary(&a) {
                body.push_str(&format!(
                    "<li class=\"{}\">{}</li>\n",
                    if a.findings { "bad" } else { "good" },
                    crate::render::html::escape(&line)
                ));
            }
            body.push_str("</ul>\n<h2>Ports the roles need</h2>\n");
            body.push_str(&crate::render::html::table(&needed));
            if !a.openings.is_empty() {
                body.push_str("<h2>Open beyond the roles, worst first</h2>\n");
                body.push_str(&crate::render::html::table(&open));
            }
            out::print(&crate::render::html::page("portq audit", &body))
                .map_err(Failure::runtime)?;
        }
        Format::Csv | Format::Markdown => {
            // One grid, so that every row has the header's columns.
            let (needed, open) = grids(&a);
            let mut all = Grid::new(vec![
                "KIND", "PORT", "NEED", "COVER", "FROM", "NOT FROM", "VERDICT",
            ]);
            for r in needed.rows {
                all.push(std::iter::once("needed".to_owned()).chain(r).collect());
            }
            for (o, r) in a.openings.iter().zip(open.rows) {
                let mut it = r.into_iter();
                let port = it.next().unwrap_or_default();
                let to = it.next().unwrap_or_default();
                let from = it.next().unwrap_or_default();
                all.push(vec![
                    "open".to_owned(),
                    port,
                    "-".to_owned(),
                    to,
                    from,
                    String::new(),
                    o.verdict_text.clone(),
                ]);
            }
            out::print(&all.render(args.format, "portq audit").unwrap_or_default())
                .map_err(Failure::runtime)?;
        }
        f => {
            let (needed, open) = grids(&a);
            let mut text = needed.render(f, "portq audit").unwrap_or_default();
            if !a.openings.is_empty() {
                if f == Format::Table {
                    text.push('\n');
                }
                text.push_str(
                    &open
                        .render(f, "portq audit: opened beyond the roles")
                        .unwrap_or_default(),
                );
            }
            out::print(&text).map_err(Failure::runtime)?;
        }
    }
    for line in summary(&a) {
        eprintln!("portq: {line}");
    }
    Ok(if a.findings {
        Status::NotAsExpected
    } else {
        Status::Ok
    })
}

fn ports(t: portq_catalog::Transport, a: u16, b: u16) -> String {
    if a == b {
        format!("{a}/{}", t.as_str())
    } else {
        format!("{a}-{b}/{}", t.as_str())
    }
}

/// The two tables: the needed ports, then what is open beyond them.
fn grids(a: &RuleAudit) -> (Grid, Grid) {
    let mut needed = Grid::new(vec!["PORT", "NEED", "COVER", "FROM", "NOT FROM", "VERDICT"]);
    for n in &a.needed {
        needed.push(vec![
            ports(n.transport, n.port, n.port_end),
            if n.optional { "optional" } else { "required" }.to_owned(),
            match n.cover {
                Cover::Allowed => "ALLOWED",
                Cover::Partly => "PARTLY",
                Cover::Blocked => "BLOCKED",
                _ => "CANNOT TELL",
            }
            .to_owned(),
            n.allowed_from.join(", "),
            n.missing_from.join(", "),
            n.verdict_text.clone(),
        ]);
    }
    let mut open = Grid::new(vec!["OPEN", "TO", "FROM"]);
    for o in &a.openings {
        open.push(vec![
            ports(o.transport, o.port, o.port_end),
            if o.world { "THE WORLD" } else { "some sources" }.to_owned(),
            if o.from.is_empty() {
                "anywhere".to_owned()
            } else {
                o.from.join(", ")
            },
        ]);
    }
    (needed, open)
}

/// The verdict in a few lines, for stderr.
fn summary(a: &RuleAudit) -> Vec<String> {
    let short: Vec<String> = a
        .needed
        .iter()
        .filter(|n| !n.optional && matches!(n.cover, Cover::Partly | Cover::Blocked))
        .map(|n| {
            format!(
                "{} {}",
                ports(n.transport, n.port, n.port_end),
                if n.cover == Cover::Partly {
                    "partly"
                } else {
                    "blocked"
                }
            )
        })
        .collect();
    let world = a.openings.iter().filter(|o| o.world).count();
    let mut lines = Vec::new();
    let required = a.needed.iter().filter(|n| !n.optional).count();
    if short.is_empty() {
        lines.push(format!(
            "{} rule set: all {required} required ports let in",
            a.kind
        ));
    } else {
        let mut list = short.join(", ");
        if list.len() > 200 {
            list.truncate(200);
            list.push_str(" …");
        }
        lines.push(format!(
            "{} rule set: {} of {required} required ports not let in from every client source: {list}",
            a.kind,
            short.len()
        ));
    }
    if a.opening_count > 0 {
        lines.push(format!(
            "{} port range(s) open beyond the roles, {world} of them to the world",
            a.opening_count
        ));
    }
    lines
}
