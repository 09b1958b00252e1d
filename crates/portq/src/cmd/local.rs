//! `portq local`: what listens on this machine, who owns it, and should it.

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid};
use portq_catalog::roles;
use portq_catalog::search::{self, SearchOptions};
use portq_catalog::{PortRange, Query, Transport};
use portq_local::audit::{Audit, audit};
use portq_local::firewall::{self, Finding, Firewall, FirewallAudit, Verdict};
use portq_local::{Change, Inventory, ListenerSource, LocalListener, SystemSource, diff};
use serde::Serialize;
use std::time::Duration;

/// The formats `portq local` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalFormat {
    /// An aligned table.
    Table,
    /// JSON.
    Json,
    /// CSV.
    Csv,
    /// A self-contained HTML report.
    Html,
}

impl From<LocalFormat> for Format {
    fn from(f: LocalFormat) -> Format {
        match f {
            LocalFormat::Table => Format::Table,
            LocalFormat::Json => Format::Json,
            LocalFormat::Csv => Format::Csv,
            LocalFormat::Html => Format::Html,
        }
    }
}

/// Arguments of `portq local`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Audit against these roles: required but not listening, listening but not required (repeatable).
    #[arg(long = "expect", short = 'e', value_name = "ROLE")]
    pub expect: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: LocalFormat,
    /// With --expect: judge the firewall from this saved state instead of this machine's
    /// (`nft -j list ruleset` output, or the Windows Firewall export portq runs).
    #[arg(long, value_name = "FILE", requires = "expect")]
    pub firewall_from: Option<std::path::PathBuf>,
    /// With --expect: leave the host firewall out (no FIREWALL column).
    #[arg(long, requires = "expect", conflicts_with = "firewall_from")]
    pub no_firewall: bool,
    /// Print the PowerShell script that exports a Windows Firewall state for --firewall-from.
    #[arg(long, conflicts_with_all = ["expect", "watch"])]
    pub firewall_script: bool,
    /// Print listeners as they appear and disappear, until interrupted.
    #[arg(long, conflicts_with = "expect")]
    pub watch: bool,
    /// Seconds between two looks with --watch.
    #[arg(long, value_name = "SECONDS", default_value = "2", requires = "watch")]
    pub interval: f64,
    /// With --watch: stop after this many looks (default: until interrupted).
    #[arg(long, value_name = "N", requires = "watch")]
    pub count: Option<u64>,
}

/// The catalogue's services for a port: exact entries first, else the wide ranges.
fn catalog_names(t: Transport, port: u16) -> Vec<String> {
    let q = Query::Ports {
        range: PortRange::single(port),
        transport: Some(t),
    };
    let result = search::lookup(&q, SearchOptions::default());
    let mut names: Vec<String> = Vec::new();
    for h in &result.hits {
        let wide = h.ports().is_some_and(|p| p.start != p.end);
        let name = if wide {
            match h {
                search::Hit::Catalog(r) if r.has(portq_catalog::Qualifier::RpcDynamic) => {
                    "RPC dynamic range".to_owned()
                }
                _ => format!(
                    "{} ({})",
                    h.service(),
                    h.ports().map(|p| p.to_string()).unwrap_or_default()
                ),
            }
        } else if h.service_name().is_empty() {
            h.service().to_owned()
        } else {
            h.service_name().to_owned()
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[derive(Serialize)]
struct ListenerRow<'a> {
    protocol: &'static str,
    address: String,
    port: u16,
    pid: Option<u32>,
    process: Option<&'a str>,
    path: Option<&'a str>,
    windows_services: Vec<&'a str>,
    catalog: Vec<String>,
}

fn listener_row(l: &LocalListener) -> ListenerRow<'_> {
    ListenerRow {
        protocol: l.transport.as_str(),
        address: l.address.ip().to_string(),
        port: l.address.port(),
        pid: l.owner.as_ref().map(|o| o.pid),
        process: process_name(l),
        path: l
            .owner
            .as_ref()
            .map(|o| o.path.as_str())
            .filter(|p| !p.is_empty()),
        windows_services: l
            .owner
            .as_ref()
            .map(|o| o.services.iter().map(String::as_str).collect())
            .unwrap_or_default(),
        catalog: catalog_names(l.transport, l.address.port()),
    }
}

fn show_inventory(inv: &Inventory, format: LocalFormat) -> Result<(), Failure> {
    let rows: Vec<ListenerRow> = inv.listeners.iter().map(listener_row).collect();
    let result = match format {
        LocalFormat::Json => out::json(&rows),
        f => {
            let mut grid = Grid::new(vec![
                "PROTO",
                "ADDRESS",
                "PORT",
                "PID",
                "PROCESS",
                "WINDOWS SERVICES",
                "CATALOGUE",
            ]);
            for r in &rows {
                grid.push(vec![
                    r.protocol.to_uppercase(),
                    r.address.clone(),
                    r.port.to_string(),
                    r.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                    process_cell(r.pid, r.process).to_owned(),
                    r.windows_services.join(", "),
                    r.catalog.join(", "),
                ]);
            }
            out::print(&grid.render(f.into(), "portq local").unwrap_or_default())
        }
    };
    result.map_err(Failure::runtime)
}

#[derive(Serialize)]
struct AuditRowView<'a> {
    status: portq_local::audit::AuditStatus,
    protocol: &'static str,
    port: u16,
    address: Option<String>,
    pid: Option<u32>,
    process: Option<&'a str>,
    services: &'a [&'static str],
    roles: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    firewall: Option<VerdictView<'a>>,
}

/// A verdict with its table text, for JSON.
#[derive(Serialize)]
struct VerdictView<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    text: String,
}

impl<'a> VerdictView<'a> {
    fn new(verdict: &'a Verdict) -> Self {
        VerdictView {
            verdict,
            text: verdict.to_string(),
        }
    }
}

#[derive(Serialize)]
struct FindingView<'a> {
    finding: firewall::FindingKind,
    protocol: &'static str,
    port: u16,
    firewall: VerdictView<'a>,
}

#[derive(Serialize)]
struct FirewallView<'a> {
    /// Where the state came from.
    source: &'a str,
    /// Why every verdict is "cannot tell", when the firewall could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<&'a str>,
    findings: Vec<FindingView<'a>>,
}

#[derive(Serialize)]
struct AuditView<'a> {
    matches: bool,
    expected_roles: &'a [String],
    rows: Vec<AuditRowView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    firewall: Option<FirewallView<'a>>,
}

/// The firewall side of an audit: where the state came from, and the verdicts.
struct FirewallPart {
    source: String,
    state: Firewall,
    audit: FirewallAudit,
}

fn finding_line(f: &Finding, a: &Audit) -> String {
    let services = a
        .rows
        .iter()
        .find(|r| r.transport == f.transport && r.port == f.port)
        .map(|r| r.services.join(", "))
        .unwrap_or_default();
    format!(
        "{}: {}/{}{} ({})\n",
        f.kind,
        f.port,
        f.transport.as_str(),
        if services.is_empty() {
            String::new()
        } else {
            format!(" {services}")
        },
        match &f.verdict {
            Verdict::Blocked { by, .. } | Verdict::Allowed { by, .. } => by.as_str(),
            _ => "",
        }
    )
}

fn show_audit(
    a: &Audit,
    fw: Option<&FirewallPart>,
    roles: &[String],
    format: LocalFormat,
) -> Result<(), Failure> {
    let rows: Vec<AuditRowView> = a
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| AuditRowView {
            status: r.status,
            protocol: r.transport.as_str(),
            port: r.port,
            address: r.listener.as_ref().map(|l| l.address.ip().to_string()),
            pid: r
                .listener
                .as_ref()
                .and_then(|l| l.owner.as_ref())
                .map(|o| o.pid),
            process: r.listener.as_ref().and_then(process_name),
            services: &r.services,
            roles: &r.roles,
            firewall: fw
                .and_then(|f| f.audit.verdicts.get(i))
                .and_then(Option::as_ref)
                .map(VerdictView::new),
        })
        .collect();
    let result = match format {
        LocalFormat::Json => out::json(&AuditView {
            matches: a.matches,
            expected_roles: roles,
            rows,
            firewall: fw.map(|f| FirewallView {
                source: &f.source,
                unreadable: match &f.state {
                    Firewall::Unreadable(why) => Some(why.as_str()),
                    _ => None,
                },
                findings: f
                    .audit
                    .findings
                    .iter()
                    .map(|x| FindingView {
                        finding: x.kind,
                        protocol: x.transport.as_str(),
                        port: x.port,
                        firewall: VerdictView::new(&x.verdict),
                    })
                    .collect(),
            }),
        }),
        f => {
            let mut header = vec![
                "STATUS",
                "PROTO",
                "PORT",
                "ADDRESS",
                "PID",
                "PROCESS",
                "NEEDED BY",
            ];
            if fw.is_some() {
                header.push("FIREWALL");
            }
            let mut grid = Grid::new(header);
            for r in &rows {
                let status = serde_json::to_value(r.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                grid.push(vec![
                    status.to_uppercase().replace('_', " "),
                    r.protocol.to_uppercase(),
                    r.port.to_string(),
                    r.address.clone().unwrap_or_else(|| "-".into()),
                    r.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                    if r.address.is_some() {
                        process_cell(r.pid, r.process)
                    } else {
                        "-"
                    }
                    .to_owned(),
                    r.services.join(", "),
                ]);
                if fw.is_some() {
                    let cell = r
                        .firewall
                        .as_ref()
                        .map(|v| v.text.clone())
                        .unwrap_or_else(|| "-".into());
                    if let Some(row) = grid.rows.last_mut() {
                        row.push(cell);
                    }
                }
            }
            let mut text = grid
                .render(f.into(), "portq local --expect")
                .unwrap_or_default();
            if f == LocalFormat::Table {
                text.push_str(if a.matches {
                    "\nmatches: everything required listens, nothing unexpected is exposed\n"
                } else {
                    "\ndoes not match: see MISSING and UNEXPECTED rows\n"
                });
                if let Some(fw) = fw {
                    for finding in &fw.audit.findings {
                        text.push_str(&finding_line(finding, a));
                    }
                    if fw.audit.findings.is_empty() && !matches!(fw.state, Firewall::Unreadable(_))
                    {
                        text.push_str("firewall: no required listener blocked, no rule open with nothing behind it\n");
                    }
                }
            }
            out::print(&text)
        }
    };
    result.map_err(Failure::runtime)
}

/// The owner's process name, when the system let us read it.
fn process_name(l: &LocalListener) -> Option<&str> {
    l.owner
        .as_ref()
        .map(|o| o.name.as_str())
        .filter(|n| !n.is_empty())
}

/// The PROCESS cell: the name, or why there is none (a process id without a readable
/// name, or no owner at all).
fn process_cell(pid: Option<u32>, name: Option<&str>) -> &str {
    match (pid, name) {
        (_, Some(n)) => n,
        (Some(_), None) => "(name not readable)",
        (None, None) => "(not attributed)",
    }
}

fn describe(l: &LocalListener) -> String {
    let owner = match (&l.owner, process_name(l)) {
        (Some(o), Some(name)) => format!("pid {} {name}", o.pid),
        (Some(o), None) => format!("pid {}", o.pid),
        (None, _) => "(not attributed)".into(),
    };
    let cat = catalog_names(l.transport, l.address.port());
    format!(
        "{} {} {}{}",
        l.transport.as_str(),
        l.address,
        owner,
        if cat.is_empty() {
            String::new()
        } else {
            format!(" [{}]", cat.join(", "))
        }
    )
}

fn watch(
    source: &dyn ListenerSource,
    interval: f64,
    count: Option<u64>,
) -> Result<Status, Failure> {
    if !(0.1..=3600.0).contains(&interval) {
        return Err(Failure::usage(
            "--interval must be between 0.1 and 3600 seconds",
        ));
    }
    let mut before = source.snapshot().map_err(Failure::runtime)?;
    for l in &before.listeners {
        out::print(&format!("= {}\n", describe(l))).map_err(Failure::runtime)?;
    }
    let mut looks = 1u64;
    while count.is_none_or(|c| looks < c) {
        std::thread::sleep(Duration::from_secs_f64(interval));
        let after = source.snapshot().map_err(Failure::runtime)?;
        for change in diff(&before, &after) {
            let line = match change {
                Change::Added(l) => format!("+ {}\n", describe(&l)),
                Change::Removed(l) => format!("- {}\n", describe(&l)),
            };
            out::print(&line).map_err(Failure::runtime)?;
        }
        before = after;
        looks += 1;
    }
    Ok(Status::Ok)
}

/// Runs `portq local`.
pub fn run(args: Args) -> Result<Status, Failure> {
    if args.firewall_script {
        out::print(firewall::windows::SCRIPT).map_err(Failure::runtime)?;
        return Ok(Status::Ok);
    }
    let selections: Vec<_> = crate::cmd::parse_roles(&args.expect)?;
    // A saved firewall state is input: read it before anything else is printed.
    let saved = match &args.firewall_from {
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                Failure::usage(format!("--firewall-from {}: {e}", path.display()))
            };
            let text = std::fs::read_to_string(path).map_err(|e| bad(&e))?;
            let state = Firewall::parse(&text).map_err(|e| bad(&e))?;
            Some((path.display().to_string(), state))
        }
        None => None,
    };
    let source = SystemSource;
    if args.watch {
        return watch(&source, args.interval, args.count);
    }
    let inv = source.snapshot().map_err(Failure::runtime)?;
    for note in &inv.notes {
        eprintln!("portq: {note}");
    }
    if selections.is_empty() {
        show_inventory(&inv, args.format)?;
        return Ok(Status::Ok);
    }
    let a = audit(&inv, &roles::expand(&selections));
    let fw = if args.no_firewall {
        None
    } else {
        let (source, state) = match saved {
            Some(saved) => saved,
            None => (
                if cfg!(windows) {
                    "Windows Firewall (PowerShell NetSecurity)".to_owned()
                } else {
                    "nft -j list ruleset".to_owned()
                },
                firewall::from_system(),
            ),
        };
        if let Firewall::Unreadable(why) = &state {
            eprintln!("portq: firewall: cannot tell ({why})");
        }
        let audit = firewall::check_audit(&a, &state);
        Some(FirewallPart {
            source,
            state,
            audit,
        })
    };
    show_audit(&a, fw.as_ref(), &args.expect, args.format)?;
    let findings = fw.as_ref().is_some_and(|f| !f.audit.findings.is_empty());
    Ok(if a.matches && !findings {
        Status::Ok
    } else {
        Status::NotAsExpected
    })
}
