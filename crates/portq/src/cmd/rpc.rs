//! `portq rpc`: ask a host's RPC endpoint mapper what is registered, name every
//! interface, group by port, and (with `--check`) test each advertised TCP port.

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid};
use portq_probe::pipeline::{
    AppProbes, CheckBuilder, LargeTargets, Outcome, PipelineOptions, Registrations, Strictness,
    check_registered,
};
use portq_probe::rpc::{EpmDump, EpmEntry, EpmOptions};
use portq_probe::{CheckOptions, PortState, Target, TargetSet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// The formats `portq rpc` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RpcFormat {
    /// An aligned table.
    Table,
    /// A JSON array.
    Json,
    /// CSV.
    Csv,
}

/// Arguments of `portq rpc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Hosts to ask (names, addresses, CIDR blocks, ranges, @file).
    #[arg(value_name = "HOST", required = true)]
    pub hosts: Vec<String>,
    /// The endpoint mapper's TCP port.
    #[arg(long, default_value = "135")]
    pub port: u16,
    /// Group the endpoints by TCP port and name the catalogue services behind each port.
    #[arg(long)]
    pub by_port: bool,
    /// Test every advertised TCP port for reachability.
    #[arg(long)]
    pub check: bool,
    /// Seconds allowed for the whole dump of one host (connect, bind and every page).
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    pub timeout: f64,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: RpcFormat,
    /// Accept more than 65,536 target addresses.
    #[arg(long)]
    pub yes: bool,
}

/// One endpoint, as JSON and CSV present it.
#[derive(Debug, Serialize)]
struct EndpointRow {
    host: String,
    address: IpAddr,
    uuid: String,
    version: String,
    name: String,
    short_name: String,
    /// The table's NAME: short name, or a short word of the title (not in JSON).
    #[serde(skip)]
    brief: String,
    service: Option<&'static str>,
    service_id: Option<&'static str>,
    annotation: String,
    protseq: String,
    endpoint: String,
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
}

fn endpoint_row(host: &str, address: IpAddr, e: &EpmEntry) -> EndpointRow {
    let iface = e.tower.interface();
    let known = iface.and_then(|i| portq_catalog::rpc::lookup(i.uuid.as_u128(), i.major, i.minor));
    EndpointRow {
        host: host.to_owned(),
        address,
        uuid: iface.map(|i| i.uuid.to_string()).unwrap_or_default(),
        version: iface
            .map(|i| format!("{}.{}", i.major, i.minor))
            .unwrap_or_default(),
        name: known
            .map(|k| k.name.to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_default(),
        short_name: known.map(|k| k.short_name.to_owned()).unwrap_or_default(),
        brief: known.map(|k| k.brief().to_owned()).unwrap_or_default(),
        service: known.and_then(|k| k.service()).map(|s| s.name),
        service_id: known.and_then(|k| k.service()).map(|s| s.id),
        annotation: e.annotation.clone(),
        protseq: e.tower.protseq().unwrap_or("unknown").to_owned(),
        endpoint: e.tower.endpoint().unwrap_or_default(),
        // TCP ports: plain RPC, and RPC over HTTP (593 and the like).
        port: match e.tower.protseq() {
            Some("ncacn_ip_tcp" | "ncacn_http") => e.tower.port(),
            _ => None,
        },
        state: None,
    }
}

/// One TCP port with the interfaces registered on it.
#[derive(Debug, Serialize)]
struct PortRow {
    host: String,
    address: IpAddr,
    port: u16,
    interfaces: Vec<String>,
    services: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
}

fn label(r: &EndpointRow) -> String {
    [&r.short_name, &r.annotation, &r.name, &r.uuid]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_default()
}

fn by_port(rows: &[EndpointRow]) -> Vec<PortRow> {
    let mut map: BTreeMap<(String, IpAddr, u16), PortRow> = BTreeMap::new();
    for r in rows {
        let Some(port) = r.port else { continue };
        let e = map
            .entry((r.host.clone(), r.address, port))
            .or_insert_with(|| PortRow {
                host: r.host.clone(),
                address: r.address,
                port,
                interfaces: Vec::new(),
                services: Vec::new(),
                state: r.state,
            });
        let l = label(r);
        if !e.interfaces.contains(&l) {
            e.interfaces.push(l);
        }
        if let Some(s) = r.service
            && !e.services.contains(&s)
        {
            e.services.push(s);
        }
    }
    map.into_values().collect()
}

/// The state of every advertised TCP port, through the library's check pipeline (the
/// same labelling and checking as `portq check`'s endpoint-mapper follow-up).
async fn check_ports(
    args: &Args,
    dumps: &[(Target, &EpmDump)],
    timeout: Duration,
) -> Result<(BTreeMap<(IpAddr, u16), PortState>, Outcome), Failure> {
    let opts = PipelineOptions::default()
        .with_engine(CheckOptions {
            timeout,
            ..CheckOptions::default()
        })
        .with_app_probes(AppProbes::Off)
        .with_large_target_sets(if args.yes {
            LargeTargets::Allowed
        } else {
            LargeTargets::Refused
        });
    let plan = CheckBuilder::new()
        .targets(args.hosts.iter().cloned())
        .rpc_range(portq_catalog::PortRange {
            start: 1,
            end: u16::MAX,
        })
        .options(opts)
        .plan()
        .map_err(Failure::usage)?;
    let report = check_registered(&plan, dumps, Registrations::TcpAndHttp)
        .collect()
        .await;
    // The one pass/fail rule: every registered port must be met.
    let outcome = report.summary.outcome(Strictness::Expected);
    Ok((
        report
            .findings
            .into_iter()
            .map(|c| ((c.finding.address, c.finding.port), c.finding.state))
            .collect(),
        outcome,
    ))
}

async fn run_async(args: Args) -> Result<Status, Failure> {
    if !(0.05..=120.0).contains(&args.timeout) {
        return Err(Failure::usage(
            "--timeout must be between 0.05 and 120 seconds",
        ));
    }
    if args.port == 0 {
        return Err(Failure::usage("--port must be from 1 to 65535"));
    }
    let set = TargetSet::parse(&args.hosts, args.yes).map_err(Failure::usage)?;
    let resolved = set.resolve().await.map_err(Failure::usage)?;
    let t = Duration::from_secs_f64(args.timeout);
    let opts = EpmOptions {
        connect_timeout: t,
        read_timeout: t,
        deadline: t,
        ..EpmOptions::default()
    };
    // The library's survey: a few mappers at once, answers sorted by host.
    let results: Vec<(Target, Result<EpmDump, String>)> =
        portq_probe::rpc::survey(resolved.iter(), args.port, &opts)
            .await
            .into_iter()
            .map(|(t, r)| (t, r.map_err(|e| e.to_string())))
            .collect();

    let mut rows: Vec<EndpointRow> = Vec::new();
    let mut failed = false;
    for (target, r) in &results {
        match r {
            Ok(dump) => {
                if dump.truncated {
                    eprintln!(
                        "portq: {}: the endpoint list is incomplete (the server repeated a page)",
                        target.host
                    );
                }
                rows.extend(
                    dump.entries
                        .iter()
                        .map(|e| endpoint_row(&target.host, target.address, e)),
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("portq: {}: {e}", target.host);
            }
        }
    }
    let mut not_listening = false;
    if args.check {
        let dumps: Vec<(Target, &EpmDump)> = results
            .iter()
            .filter_map(|(t, r)| r.as_ref().ok().map(|d| (t.clone(), d)))
            .collect();
        let (states, outcome) = check_ports(&args, &dumps, t).await?;
        not_listening = !outcome.passed();
        for r in rows.iter_mut() {
            if let Some(p) = r.port {
                let s = states.get(&(r.address, p)).copied();
                r.state = Some(s.map(|s| s.token()).unwrap_or("not_checked"));
            }
        }
    }
    render(&rows, &args)?;
    Ok(if failed || not_listening || rows.is_empty() {
        Status::NotAsExpected
    } else {
        Status::Ok
    })
}

fn render(rows: &[EndpointRow], args: &Args) -> Result<(), Failure> {
    let result = if args.by_port {
        let ports = by_port(rows);
        match args.format {
            RpcFormat::Json => out::json(&ports),
            f => {
                let mut headers = vec!["HOST", "PORT", "INTERFACES", "SERVICES"];
                if args.check {
                    headers.push("STATE");
                }
                let mut grid = Grid::new(headers).keep_whole(&["HOST", "PORT", "STATE"]);
                for p in &ports {
                    let mut cells = vec![
                        p.host.clone(),
                        p.port.to_string(),
                        p.interfaces.join(", "),
                        p.services.join(", "),
                    ];
                    if args.check {
                        cells.push(state_cell(p.state));
                    }
                    grid.push(cells);
                }
                let f = if f == RpcFormat::Csv {
                    Format::Csv
                } else {
                    Format::Table
                };
                out::print(&grid.render(f, "portq rpc").unwrap_or_default())
            }
        }
    } else {
        match args.format {
            RpcFormat::Json => out::json(rows),
            f => {
                // The title of each interface only at full width (--wide); JSON has it.
                let wide = crate::out::TableStyle::detect().width.is_none() || f == RpcFormat::Csv;
                let mut headers = vec![
                    "HOST",
                    "UUID",
                    "VERSION",
                    "NAME",
                    "ANNOTATION",
                    "PROTSEQ",
                    "ENDPOINT",
                    "SERVICE",
                ];
                if wide {
                    headers.push("TITLE");
                }
                if args.check {
                    headers.push("STATE");
                }
                // HOST may go only when every row has the same one.
                let one_host = rows.windows(2).all(|w| w[0].host == w[1].host);
                let droppable: &[&str] = if one_host {
                    &["ANNOTATION", "VERSION", "PROTSEQ", "HOST"]
                } else {
                    &["ANNOTATION", "VERSION", "PROTSEQ"]
                };
                let mut grid = Grid::new(headers)
                    .keep_whole(&["HOST", "UUID", "NAME", "STATE"])
                    .drop_when_narrow(droppable);
                for r in rows {
                    let mut cells = vec![
                        r.host.clone(),
                        r.uuid.clone(),
                        r.version.clone(),
                        r.brief.clone(),
                        r.annotation.clone(),
                        r.protseq.clone(),
                        r.endpoint.clone(),
                        r.service.unwrap_or("").to_owned(),
                    ];
                    if wide {
                        cells.push(r.name.clone());
                    }
                    if args.check {
                        cells.push(state_cell(r.state));
                    }
                    grid.push(cells);
                }
                let f = if f == RpcFormat::Csv {
                    Format::Csv
                } else {
                    Format::Table
                };
                out::print(&grid.render(f, "portq rpc").unwrap_or_default())
            }
        }
    };
    result.map_err(Failure::runtime)
}

/// The STATE cell: PortQry's label for a state token, or `NOT CHECKED`.
fn state_cell(token: Option<&str>) -> String {
    match token {
        Some(t) => PortState::ALL
            .into_iter()
            .find(|s| s.token() == t)
            .map(|s| s.label().to_owned())
            .unwrap_or_else(|| "NOT CHECKED".to_owned()),
        None => String::new(),
    }
}

/// Runs `portq rpc`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let rt = crate::net::runtime()?;
    rt.block_on(run_async(args))
}
