//! `portq local`: what listens on this machine, who owns it, and should it.

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid};
use portq_catalog::roles;
use portq_catalog::search::{self, SearchOptions};
use portq_catalog::{PortRange, Query, Transport};
use portq_probe::local::audit::{Audit, audit};
use portq_probe::local::{Change, Inventory, ListenerSource, LocalListener, SystemSource, diff};
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
        process: l.owner.as_ref().map(|o| o.name.as_str()),
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
                    r.process.unwrap_or("(not attributed)").to_owned(),
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
    status: portq_probe::local::audit::AuditStatus,
    protocol: &'static str,
    port: u16,
    address: Option<String>,
    pid: Option<u32>,
    process: Option<&'a str>,
    services: &'a [&'static str],
    roles: &'a [&'static str],
}

#[derive(Serialize)]
struct AuditView<'a> {
    matches: bool,
    expected_roles: &'a [String],
    rows: Vec<AuditRowView<'a>>,
}

fn show_audit(a: &Audit, roles: &[String], format: LocalFormat) -> Result<(), Failure> {
    let rows: Vec<AuditRowView> = a
        .rows
        .iter()
        .map(|r| AuditRowView {
            status: r.status,
            protocol: r.transport.as_str(),
            port: r.port,
            address: r.listener.as_ref().map(|l| l.address.ip().to_string()),
            pid: r
                .listener
                .as_ref()
                .and_then(|l| l.owner.as_ref())
                .map(|o| o.pid),
            process: r
                .listener
                .as_ref()
                .and_then(|l| l.owner.as_ref())
                .map(|o| o.name.as_str()),
            services: &r.services,
            roles: &r.roles,
        })
        .collect();
    let result = match format {
        LocalFormat::Json => out::json(&AuditView {
            matches: a.matches,
            expected_roles: roles,
            rows,
        }),
        f => {
            let mut grid = Grid::new(vec![
                "STATUS",
                "PROTO",
                "PORT",
                "ADDRESS",
                "PID",
                "PROCESS",
                "NEEDED BY",
            ]);
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
                    r.process
                        .unwrap_or(if r.address.is_some() {
                            "(not attributed)"
                        } else {
                            "-"
                        })
                        .to_owned(),
                    r.services.join(", "),
                ]);
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
            }
            out::print(&text)
        }
    };
    result.map_err(Failure::runtime)
}

fn describe(l: &LocalListener) -> String {
    let owner = l
        .owner
        .as_ref()
        .map(|o| format!("pid {} {}", o.pid, o.name))
        .unwrap_or_else(|| "(not attributed)".into());
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
    let selections: Vec<_> = crate::cmd::parse_roles(&args.expect)?;
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
    show_audit(&a, &args.expect, args.format)?;
    Ok(if a.matches {
        Status::Ok
    } else {
        Status::NotAsExpected
    })
}
