//! `portq check`: is each port really listening on that host, and what answered.

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid, html};
use portq_catalog::roles::{self, RoleEntry};
use portq_catalog::search::{self, SearchOptions};
use portq_catalog::{PortRange, Qualifier, Query, Requirement};
use portq_probe::rpc::{EpmOptions, dump_endpoints};
use portq_probe::{
    CheckOptions, Finding, Plan, PortSpec, PortState, ResolvedTargets, RunSummary, Target,
    TargetSet, Transport,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Above this many ports per host, NOT LISTENING ports are counted instead of listed
/// (as nmap does), unless `--all`.
const SWEEP_PORTS: u32 = 100;

/// Most planned checks listed by `--dry-run` (the total is always printed).
const DRY_RUN_LIST_LIMIT: u64 = 2000;

/// Arguments of `portq check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Hosts: names, IPv4, IPv6, CIDR blocks, ranges (10.0.0.1-20), @file lists.
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    /// Ports: `53,88,135`, `1-1024`, `tcp:1-1024,udp:53,137`, `all`. Default: the roles' and services' ports.
    #[arg(long, short = 'p', value_name = "SPEC")]
    pub ports: Option<String>,
    /// Check what these roles need (repeatable; `ROLE[:OPTION,no-OPTION]`).
    #[arg(long = "role", short = 'r', value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Check what these catalogue services need (repeatable; short name, id or friendly name).
    #[arg(long = "service", short = 's', value_name = "NAME")]
    pub services: Vec<String>,
    /// Seconds one attempt waits (TCP connect, UDP reply).
    #[arg(long, value_name = "SECONDS", default_value = "1")]
    pub timeout: f64,
    /// Attempts per port before silence counts (PortQry tries 3 times).
    #[arg(long, value_name = "N", default_value = "3")]
    pub retries: u8,
    /// Probes in flight at most (default: sized from the open-file limit).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Probes in flight per host at most.
    #[arg(long, value_name = "N", default_value = "1024")]
    pub per_host: usize,
    /// Attempts per second overall, at most.
    #[arg(long, value_name = "N")]
    pub rate: Option<u32>,
    /// Run application probes (LDAP, SMB, RDP, HTTP, banners...) on a -p sweep (on with --role/--service).
    #[arg(long)]
    pub probe: bool,
    /// Connect checks only, even with --role/--service.
    #[arg(long, conflicts_with = "probe")]
    pub no_probe: bool,
    /// Run this probe on this port, whatever its number suggests (repeatable), e.g.
    /// `--probe-as 8389=ldap`. Probes: tcp-connect, ldap, ldaps, smb, netbios-smb, rdp, epm,
    /// http, https, banner, kerberos-tcp, udp-empty, dns, kerberos, ntp, nbns, snmp, cldap,
    /// kpasswd, ike, sql-browser.
    #[arg(long = "probe-as", value_name = "PORT=PROBE")]
    pub probe_as: Vec<String>,
    /// SNMP community for 161/udp.
    #[arg(long, default_value = "public")]
    pub community: String,
    /// The AD DNS domain, for the Kerberos realm and the CLDAP ping (guessed from host names).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Print the plan (targets × ports × probes) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accept more than 65,536 target addresses.
    #[arg(long)]
    pub yes: bool,
    /// List every port, also NOT LISTENING ones in a sweep of more than 100 ports per host.
    #[arg(long)]
    pub all: bool,
    /// Print nothing; exit 0 when every requested port is LISTENING, 1 otherwise.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,
}

/// One result as JSON, NDJSON, CSV and HTML present it.
#[derive(Debug, Serialize)]
struct Row<'a> {
    host: &'a str,
    address: IpAddr,
    port: u16,
    protocol: &'static str,
    state: &'static str,
    service: String,
    evidence: Vec<String>,
    evidence_detail: &'a [portq_probe::Evidence],
    probe: &'static str,
    elapsed_ms: f64,
    attempts: u8,
}

/// What a port means for this check: the services (or RPC interfaces) behind it.
#[derive(Default)]
struct Labels {
    by_port: BTreeMap<(Transport, u16), Vec<String>>,
    dynamic: BTreeMap<(IpAddr, u16), Vec<String>>,
}

impl Labels {
    fn add(&mut self, t: Transport, port: u16, name: &str) {
        let v = self.by_port.entry((t, port)).or_default();
        if !v.iter().any(|x| x == name) {
            v.push(name.to_owned());
        }
    }

    fn get(&self, f: &Finding) -> String {
        if let Some(v) = self.dynamic.get(&(f.address, f.port)) {
            return format!("RPC dynamic: {}", v.join(", "));
        }
        if let Some(v) = self.by_port.get(&(f.transport, f.port)) {
            return v.join(", ");
        }
        // A plain sweep: the catalogue's own services for the port.
        let q = Query::Ports {
            range: PortRange::single(f.port),
            transport: Some(catalog_transport(f.transport)),
        };
        let r = search::lookup(&q, SearchOptions::default());
        let mut names: Vec<&str> = Vec::new();
        for h in &r.hits {
            if h.ports().is_some_and(|p| p.start == p.end) {
                let n = if h.service_name().is_empty() {
                    h.service()
                } else {
                    h.service_name()
                };
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names.join(", ")
    }
}

fn catalog_transport(t: Transport) -> portq_catalog::Transport {
    match t {
        Transport::Tcp => portq_catalog::Transport::Tcp,
        Transport::Udp => portq_catalog::Transport::Udp,
    }
}

fn probe_transport(t: portq_catalog::Transport) -> Option<Transport> {
    match t {
        portq_catalog::Transport::Tcp => Some(Transport::Tcp),
        portq_catalog::Transport::Udp => Some(Transport::Udp),
        _ => None,
    }
}

/// The requirements of named services (short name, id, friendly name or alias).
fn service_requirements(names: &[String]) -> Result<Vec<&'static Requirement>, Failure> {
    let mut out = Vec::new();
    for n in names {
        let q = Query::parse(n).map_err(Failure::usage)?;
        let Query::Text(text) = q else {
            return Err(Failure::usage(format!(
                "--service takes a service name, not a port: '{n}'"
            )));
        };
        let found: Vec<&'static Requirement> = portq_catalog::services()
            .iter()
            .filter(|s| s.is_named(&text))
            .flat_map(|s| s.requirements())
            .collect();
        if found.is_empty() {
            return Err(Failure::usage(format!(
                "unknown service '{n}' (see `portq services`)"
            )));
        }
        out.extend(found);
    }
    Ok(out)
}

/// Ports, labels and dynamic ranges from roles and services.
fn catalogue_ports(
    entries: &[RoleEntry],
    services: &[&'static Requirement],
) -> (Vec<(Transport, u16)>, Labels, Vec<PortRange>) {
    let mut ports = Vec::new();
    let mut labels = Labels::default();
    let mut dynamic = Vec::new();
    let reqs = entries
        .iter()
        .map(|e| e.requirement)
        .chain(services.iter().copied());
    for r in reqs {
        let (Some(t), Some(p)) = (probe_transport(r.transport), r.ports) else {
            continue;
        };
        if r.has(Qualifier::RpcDynamic) {
            if t == Transport::Tcp && !dynamic.contains(&p) {
                dynamic.push(p);
            }
            continue;
        }
        if p.start != p.end {
            // Other wide ranges (ISA/TMG client ranges, FTP passive data) are not swept either.
            continue;
        }
        ports.push((t, p.start));
        let s = r.service();
        labels.add(t, p.start, s.short_name().unwrap_or(s.name));
    }
    (ports, labels, dynamic)
}

fn row<'a>(f: &'a Finding, labels: &Labels) -> Row<'a> {
    Row {
        host: &f.host,
        address: f.address,
        port: f.port,
        protocol: f.transport.token(),
        state: f.state.token(),
        service: labels.get(f),
        evidence: f.evidence.iter().map(|e| e.summary()).collect(),
        evidence_detail: &f.evidence,
        probe: f.probe,
        elapsed_ms: f.elapsed.as_micros() as f64 / 1000.0,
        attempts: f.attempts,
    }
}

fn state_label(token: &str) -> String {
    token.to_uppercase().replace('_', " ")
}

fn render_table(findings: &[Finding], labels: &Labels, format: Format) -> String {
    let mut grid = Grid::new(COLUMNS.to_vec());
    let mut last_host: Option<(&str, IpAddr)> = None;
    for f in findings {
        let r = row(f, labels);
        let same = last_host == Some((f.host.as_str(), f.address));
        let host = if same && format == Format::Table {
            String::new()
        } else if f.host == f.address.to_string() {
            f.host.clone()
        } else {
            format!("{} ({})", f.host, f.address)
        };
        last_host = Some((f.host.as_str(), f.address));
        grid.push(cells(host, r));
    }
    grid.render(format, "portq check").unwrap_or_default()
}

const COLUMNS: [&str; 7] = [
    "HOST", "PORT", "PROTO", "STATE", "SERVICE", "EVIDENCE", "MS",
];

/// One result as table, CSV and HTML cells.
fn cells(host: String, r: Row) -> Vec<String> {
    vec![
        host,
        r.port.to_string(),
        r.protocol.to_uppercase(),
        state_label(r.state),
        r.service,
        r.evidence.join("; "),
        format!("{:.0}", r.elapsed_ms),
    ]
}

/// Hosts × ports as a coloured matrix, then the details.
fn render_html(findings: &[Finding], labels: &Labels) -> String {
    let mut ports: BTreeSet<(Transport, u16)> = BTreeSet::new();
    let mut hosts: Vec<(String, IpAddr)> = Vec::new();
    let mut cell: BTreeMap<(String, IpAddr, Transport, u16), &Finding> = BTreeMap::new();
    for f in findings {
        ports.insert((f.transport, f.port));
        if !hosts.iter().any(|(h, a)| *h == f.host && *a == f.address) {
            hosts.push((f.host.clone(), f.address));
        }
        cell.insert((f.host.clone(), f.address, f.transport, f.port), f);
    }
    let mut body = String::from("<table class=\"matrix\">\n<thead><tr><th>host</th>");
    for (t, p) in &ports {
        body.push_str(&format!("<th>{p}/{}</th>", t.token()));
    }
    body.push_str("</tr></thead>\n<tbody>\n");
    for (h, a) in &hosts {
        body.push_str(&format!(
            "<tr><th>{}</th>",
            html::escape(&format!("{h} ({a})"))
        ));
        for (t, p) in &ports {
            match cell.get(&(h.clone(), *a, *t, *p)) {
                Some(f) => {
                    let title: Vec<String> = f.evidence.iter().map(|e| e.summary()).collect();
                    body.push_str(&format!(
                        "<td class=\"{}\" title=\"{}\">{}</td>",
                        f.state.token(),
                        html::escape(&title.join("; ")),
                        html::escape(&state_label(f.state.token()))
                    ));
                }
                None => body.push_str("<td></td>"),
            }
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody>\n</table>\n<h2>Details</h2>\n");
    let mut grid = Grid::new(COLUMNS.to_vec());
    for f in findings {
        grid.push(cells(format!("{} ({})", f.host, f.address), row(f, labels)));
    }
    body.push_str(&html::table(&grid));
    html::page("portq check", &body)
}

fn dry_run(
    plan: &Plan,
    opts: &CheckOptions,
    dynamic: &[PortRange],
    format: Format,
) -> Result<Status, Failure> {
    let total = plan.total();
    let mut text = String::new();
    let entries = plan
        .entries(opts)
        .take(usize::try_from(DRY_RUN_LIST_LIMIT).unwrap_or(usize::MAX));
    if format == Format::Json || format == Format::Ndjson {
        let list: Vec<_> = entries.collect();
        let v = serde_json::json!({
            "targets": plan.targets().count(),
            "ports": plan.ports().count(),
            "checks": total,
            "listed": list.len(),
            "rpc_dynamic_ranges": dynamic.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "plan": list,
        });
        out::json(&v).map_err(Failure::runtime)?;
        return Ok(Status::Ok);
    }
    text.push_str(&format!(
        "plan: {} target address(es) × {} port(s) = {} check(s); nothing was sent\n",
        plan.targets().count(),
        plan.ports().count(),
        total
    ));
    for r in dynamic {
        text.push_str(&format!(
            "plan: RPC dynamic range {r}/tcp is not swept; the endpoint mapper on 135/tcp is asked which of its ports are registered, and those are checked\n"
        ));
    }
    let mut grid = Grid::new(vec!["HOST", "ADDRESS", "PORT", "PROTO", "PROBE"]);
    for e in entries {
        grid.push(vec![
            e.host.clone(),
            e.address
                .map(|a| a.to_string())
                .unwrap_or_else(|| "(name)".into()),
            e.port.to_string(),
            e.transport.token().to_uppercase(),
            e.probe.name().to_owned(),
        ]);
    }
    text.push_str(&grid.to_table());
    if total > DRY_RUN_LIST_LIMIT {
        text.push_str(&format!("... and {} more\n", total - DRY_RUN_LIST_LIMIT));
    }
    out::print(&text).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}

/// Asks each host's endpoint mapper for its TCP ports inside the dynamic ranges.
async fn dynamic_ports(
    hosts: &[(String, IpAddr)],
    ranges: &[PortRange],
    timeout: Duration,
) -> (
    Vec<(Target, Vec<u16>)>,
    BTreeMap<(IpAddr, u16), Vec<String>>,
    Vec<String>,
) {
    let opts = EpmOptions {
        connect_timeout: timeout.max(Duration::from_secs(1)),
        read_timeout: timeout.max(Duration::from_secs(2)),
        deadline: timeout.max(Duration::from_secs(1)) * 10,
        ..EpmOptions::default()
    };
    let mut per_host = Vec::new();
    let mut names: BTreeMap<(IpAddr, u16), Vec<String>> = BTreeMap::new();
    let mut notes = Vec::new();
    for (host, addr) in hosts {
        match dump_endpoints(SocketAddr::new(*addr, 135), &opts).await {
            Ok(dump) => {
                let mut ports: Vec<u16> = Vec::new();
                for e in &dump.entries {
                    let Some(p) = e.tower.port() else { continue };
                    if e.tower.protseq() != Some("ncacn_ip_tcp")
                        || !ranges.iter().any(|r| r.contains(p))
                    {
                        continue;
                    }
                    if !ports.contains(&p) {
                        ports.push(p);
                    }
                    // Short names first (lsarpc, samr), then the server's annotation, then the title.
                    let known = e.tower.interface().and_then(|i| {
                        portq_catalog::rpc::lookup(i.uuid.as_u128(), i.major, i.minor)
                    });
                    let label = [
                        known.map(|k| k.short_name).unwrap_or(""),
                        e.annotation.as_str(),
                        known.map(|k| k.name).unwrap_or(""),
                    ]
                    .into_iter()
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .to_owned();
                    let v = names.entry((*addr, p)).or_default();
                    if !label.is_empty() && !v.contains(&label) {
                        v.push(label);
                    }
                }
                if ports.is_empty() {
                    notes.push(format!(
                        "{host}: the endpoint mapper lists no TCP port in the RPC dynamic range"
                    ));
                }
                ports.sort_unstable();
                per_host.push((
                    Target {
                        host: host.clone(),
                        address: *addr,
                    },
                    ports,
                ));
            }
            Err(e) => notes.push(format!(
                "{host}: RPC dynamic range not checked: the endpoint mapper did not answer ({e})"
            )),
        }
    }
    (per_host, names, notes)
}

struct Output {
    format: Format,
    quiet: bool,
    streamed: bool,
    hide_not_listening: bool,
}

impl Output {
    fn shown(&self, f: &Finding) -> bool {
        !(self.hide_not_listening && f.state == PortState::NotListening)
    }

    fn stream(&self, f: &Finding, labels: &Labels) -> Result<(), Failure> {
        if self.quiet || !self.streamed || !self.shown(f) {
            return Ok(());
        }
        let line = serde_json::to_string(&row(f, labels)).map_err(Failure::runtime)?;
        out::print(&format!("{line}\n")).map_err(Failure::runtime)
    }
}

fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} checks {wide_bar} {elapsed}")
    {
        pb.set_style(style);
    }
    Some(pb)
}

async fn drain(
    mut run: portq_probe::CheckRun,
    labels: &Labels,
    output: &Output,
    findings: &mut Vec<Finding>,
) -> Result<RunSummary, Failure> {
    let pb = progress_bar(run.progress().total());
    while let Some(f) = run.next().await {
        if let Some(pb) = &pb {
            pb.inc(1);
        }
        output.stream(&f, labels)?;
        findings.push(f);
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(run.finish().await)
}

async fn run_async(args: Args) -> Result<Status, Failure> {
    if !(0.01..=120.0).contains(&args.timeout) {
        return Err(Failure::usage(
            "--timeout must be between 0.01 and 120 seconds",
        ));
    }
    if args.retries == 0 || args.retries > 10 {
        return Err(Failure::usage("--retries must be from 1 to 10"));
    }
    if args.concurrency == Some(0) || args.per_host == 0 {
        return Err(Failure::usage(
            "--concurrency and --per-host must be at least 1",
        ));
    }
    let selections: Vec<_> = crate::cmd::parse_roles(&args.roles)?;
    let service_reqs = service_requirements(&args.services)?;
    let entries = roles::expand(&selections);
    let (mut port_list, labels, dynamic) = catalogue_ports(&entries, &service_reqs);
    let mut labels = labels;
    let spec = match &args.ports {
        Some(p) => {
            let mut spec = PortSpec::parse(p).map_err(Failure::usage)?;
            if !port_list.is_empty() {
                spec.merge(&PortSpec::from_ports(port_list.drain(..)).map_err(Failure::usage)?);
            }
            spec
        }
        None if port_list.is_empty() && dynamic.is_empty() => {
            return Err(Failure::usage("give ports with -p, or --role / --service"));
        }
        None => {
            // The endpoint mapper is asked for the dynamic ports, so 135 is always checked with them.
            if !dynamic.is_empty() && !port_list.contains(&(Transport::Tcp, 135)) {
                port_list.push((Transport::Tcp, 135));
                labels.add(Transport::Tcp, 135, "RpcSs");
            }
            PortSpec::from_ports(port_list).map_err(Failure::usage)?
        }
    };
    let targets = TargetSet::parse(&args.targets, args.yes).map_err(Failure::usage)?;
    let role_check = !selections.is_empty() || !service_reqs.is_empty();
    let opts = CheckOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        attempts: args.retries,
        concurrency: args.concurrency,
        per_host: args.per_host,
        rate: args.rate,
        app_probes: !args.no_probe && (args.probe || role_check),
        snmp_community: args.community.clone(),
        domain: args.domain.clone(),
        ..CheckOptions::default()
    };
    let mut opts = opts;
    for item in &args.probe_as {
        let (port, name) = item.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "invalid --probe-as '{item}': expected PORT=PROBE, e.g. 8389=ldap"
            ))
        })?;
        let port: u16 = port.trim().parse().ok().filter(|p| *p > 0).ok_or_else(|| {
            Failure::usage(format!(
                "invalid --probe-as '{item}': the port must be from 1 to 65535"
            ))
        })?;
        let kind = portq_probe::ProbeKind::from_name(name.trim()).ok_or_else(|| {
            Failure::usage(format!(
                "invalid --probe-as '{item}': unknown probe '{}' (see portq check --help)",
                name.trim()
            ))
        })?;
        opts = opts.with_probe(port, kind);
    }
    let plan = Plan::new(targets, spec);
    if args.dry_run {
        return dry_run(&plan, &opts, &dynamic, args.format);
    }
    let resolved = plan.targets().resolve().await.map_err(Failure::usage)?;
    let output = Output {
        format: args.format,
        quiet: args.quiet,
        streamed: args.format == Format::Ndjson,
        hide_not_listening: !args.all && plan.ports().count() > SWEEP_PORTS,
    };
    let mut findings: Vec<Finding> = Vec::new();
    let run = portq_probe::start_resolved(resolved.clone(), plan.ports().clone(), opts.clone());
    let mut summaries = vec![drain(run, &labels, &output, &mut findings).await?];

    let mut notes = Vec::new();
    if !dynamic.is_empty() {
        let hosts: Vec<(String, IpAddr)> = resolved.iter().map(|t| (t.host, t.address)).collect();
        let (per_host, names, n) = dynamic_ports(&hosts, &dynamic, opts.timeout).await;
        notes.extend(n);
        labels.dynamic = names;
        for (target, ports) in per_host {
            if ports.is_empty() {
                continue;
            }
            let spec = PortSpec::from_ports(ports.iter().map(|p| (Transport::Tcp, *p)))
                .map_err(Failure::usage)?;
            let run = portq_probe::start_resolved(
                ResolvedTargets::from_targets([target]),
                spec,
                opts.clone(),
            );
            summaries.push(drain(run, &labels, &output, &mut findings).await?);
        }
    }
    portq_probe::sort_findings(&mut findings);
    if !args.quiet {
        for n in &notes {
            eprintln!("portq: {n}");
        }
    }
    let failures: u64 = summaries.iter().map(|s| s.failure_count).sum();
    if failures > 0 {
        for s in &summaries {
            for f in s.failures.iter().take(5) {
                eprintln!(
                    "portq: {} {}/{}: {}",
                    f.host,
                    f.port,
                    f.transport.token(),
                    f.message
                );
            }
        }
        return Err(Failure::runtime(format!(
            "{failures} check(s) failed on this machine's side (see above)"
        )));
    }
    let all_listening =
        !findings.is_empty() && findings.iter().all(|f| f.state == PortState::Listening);
    if output.hide_not_listening {
        let before = findings.len();
        findings.retain(|f| output.shown(f));
        let hidden = before - findings.len();
        if hidden > 0 && !args.quiet {
            eprintln!("portq: {hidden} not-listening port(s) not shown; --all lists them");
        }
    }
    if !args.quiet {
        let text = match output.format {
            Format::Ndjson => None,
            Format::Json => {
                let rows: Vec<Row> = findings.iter().map(|f| row(f, &labels)).collect();
                Some(serde_json::to_string_pretty(&rows).map_err(Failure::runtime)? + "\n")
            }
            Format::Html => Some(render_html(&findings, &labels)),
            f => Some(render_table(&findings, &labels, f)),
        };
        if let Some(t) = text {
            out::print(&t).map_err(Failure::runtime)?;
        }
    }
    Ok(if all_listening {
        Status::Ok
    } else {
        Status::NotAsExpected
    })
}

/// Runs `portq check`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let rt = crate::cmd::runtime()?;
    rt.block_on(run_async(args))
}
