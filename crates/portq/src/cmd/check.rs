//! `portq check`: is each port really listening on that host, and what answered.

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid, html};
use crate::views::check::{Row, row};
use portq_probe::discovery::{DcLocator, parse_dns_server};
use portq_probe::pipeline::{
    AppProbes, CheckBuilder, CheckPlan, CheckSummary, Checked, DiscoveryReport, Event, LabelView,
    LargeTargets, Outcome, PipelineOptions, SrvVerdict, Strictness,
};
use portq_probe::trace::{FilteredPorts, PortTrace};
use portq_probe::{CheckOptions, PortState, evidence_text};
use serde::Serialize;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::Duration;

/// Above this many ports per host, NOT LISTENING ports are counted instead of listed
/// (as nmap does), unless `--all`.
const SWEEP_PORTS: u32 = 100;

/// Most planned checks listed by `--dry-run` (the total is always printed).
const DRY_RUN_LIST_LIMIT: u64 = 2000;

/// Arguments of `portq check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Hosts: names, IPv4, IPv6, CIDR blocks, ranges (10.0.0.1-20), @file lists. None with
    /// --domain: the domain controllers are found in DNS (the DC locator's SRV records).
    #[arg(value_name = "TARGET", required_unless_present = "domain")]
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
    /// Every UDP attempt waits the whole --timeout (PortQry's fixed windows). By default
    /// a UDP attempt waits what the host's measured round-trip times allow (at least
    /// 0.2 s); a host that answers late gets the whole timeout and its silent ports a
    /// second look.
    #[arg(long)]
    pub patient: bool,
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
    /// kpasswd, ike, sql-browser, radius.
    #[arg(long = "probe-as", value_name = "PORT=PROBE")]
    pub probe_as: Vec<String>,
    /// SNMP community for 161/udp.
    #[arg(long, default_value = "public")]
    pub community: String,
    /// Send from this local address (one interface of a multi-homed host).
    #[arg(long, value_name = "IP")]
    pub source_address: Option<std::net::IpAddr>,
    /// Send from this local port (PortQry's -sp); checks then run one at a time.
    #[arg(long, value_name = "PORT")]
    pub source_port: Option<u16>,
    /// The AD DNS domain, for the Kerberos realm and the CLDAP ping (guessed from host names).
    /// Without TARGET: find the domain's controllers in DNS and check every one.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// With --domain and no TARGET: also ask this AD site's DC locator records (and check
    /// the site's controllers when it has any).
    #[arg(long, value_name = "NAME", requires = "domain")]
    pub site: Option<String>,
    /// With --domain and no TARGET: ask this DNS server (IP or IP:PORT) instead of the
    /// system's resolvers.
    #[arg(long = "dns-server", value_name = "IP", requires = "domain")]
    pub dns_server: Option<String>,
    /// Print the plan (targets × ports × probes) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Accept more than 65,536 target addresses.
    #[arg(long)]
    pub yes: bool,
    /// List every port, also NOT LISTENING ones in a sweep of more than 100 ports per host.
    #[arg(long)]
    pub all: bool,
    /// Print nothing; exit 0 when every required port (with --role/--service) or every
    /// requested port (a -p sweep) is LISTENING, 1 otherwise.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Exit 1 unless every port checked is LISTENING (PortQry's behaviour). Without it a
    /// -p sweep that ran to the end exits 0: closed ports are the normal answer.
    #[arg(long)]
    pub strict: bool,
    /// Then trace the path to every FILTERED port (and silent UDP port) of the run, beside
    /// one port of the same host that answered: where each is dropped or rejected. Needs
    /// root or CAP_NET_RAW; Linux only. Shown in table, JSON, NDJSON and HTML.
    #[arg(long)]
    pub trace_filtered: bool,
    #[command(flatten, next_help_heading = "With --trace-filtered")]
    pub trace: crate::cmd::trace::TraceArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,
}

const COLUMNS: [&str; 7] = [
    "HOST", "PORT", "PROTO", "STATE", "SERVICE", "EVIDENCE", "MS",
];

/// One result as table, CSV and HTML cells.
fn cells(host: String, c: &Checked) -> Vec<String> {
    let f = &c.finding;
    vec![
        host,
        f.port.to_string(),
        f.transport.to_string(),
        f.state.to_string(),
        c.label.text.clone(),
        evidence_text(&f.evidence),
        format!("{:.0}", f.elapsed.as_secs_f64() * 1000.0),
    ]
}

fn host_cell(host: &str, address: IpAddr) -> String {
    if host == address.to_string() {
        host.to_owned()
    } else {
        format!("{host} ({address})")
    }
}

fn render_table(findings: &[Checked], format: Format) -> String {
    let mut grid = Grid::new(COLUMNS.to_vec())
        .keep_whole(&["HOST", "PORT", "PROTO", "STATE"])
        // PROTO stays: without it 88/tcp and 88/udp could not be told apart.
        .drop_when_narrow(&["MS"]);
    let mut last_host: Option<(&str, IpAddr)> = None;
    for c in findings {
        let f = &c.finding;
        let same = last_host == Some((&*f.host, f.address));
        let host = if same && format == Format::Table {
            String::new()
        } else {
            host_cell(&f.host, f.address)
        };
        last_host = Some((&*f.host, f.address));
        grid.push(cells(host, c));
    }
    grid.render(format, "portq check").unwrap_or_default()
}

/// What the HTML report's header says about the run.
struct ReportMeta<'a> {
    args: &'a Args,
    started: std::time::SystemTime,
    /// With --trace-filtered: the traces, for the "dropped after" column.
    traces: &'a [PortTrace],
}

/// `2026-12-01T09:31:48Z`: the report's date, in UTC.
fn utc_text(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    portq_probe::rfc3339(i64::try_from(secs).unwrap_or(0))
}

/// The report for an auditor, built for "what is wrong": the verdict first, then the
/// failing ports (each linked to its evidence), then the ports: for one host down the
/// page; for several, a hosts × ports matrix (sticky headers, failing hosts first) and
/// each host's ports under its own heading. The host is named once per host. What was
/// checked, when and by what is at the top; it prints to A4 without losing columns.
fn render_html(findings: &[Checked], summary: &CheckSummary, meta: &ReportMeta<'_>) -> String {
    let a = meta.args;
    let t = summary.states;
    let outcome = summary.outcome(strictness(summary, a.strict, false));
    let (verdict, class) = match outcome {
        Outcome::Passed => ("PASSED", "passed"),
        Outcome::Failed => ("FAILED", "failed"),
        _ => ("INTERRUPTED", "failed"),
    };
    // Anchors: one per finding, in the order the details list them.
    let anchor = |c: &Checked| {
        let f = &c.finding;
        format!(
            "p-{}-{}-{}",
            f.address.to_string().replace([':', '.'], "-"),
            f.port,
            f.transport.as_str()
        )
    };
    let mut body = String::new();
    body.push_str(&format!(
        "<section class=\"verdict {class}\"><h2>{verdict}</h2><ul>\n"
    ));
    for line in summary.verdict_lines() {
        body.push_str(&format!("<li>{}</li>\n", html::escape(&line)));
    }
    for n in &summary.notes {
        body.push_str(&format!("<li>{}</li>\n", html::escape(&n.to_string())));
    }
    body.push_str("</ul></section>\n");

    // What is wrong: the ports the verdict counts against the host, then the unconfirmed.
    let is_problem = |c: &Checked| {
        let f = &c.finding;
        summary
            .unmet
            .iter()
            .chain(&summary.unconfirmed)
            .any(|u| u.address == f.address && u.port == f.port && u.transport == f.transport)
            || (!summary.role_check
                && summary.expected == 0
                && matches!(f.state, PortState::NotListening | PortState::Filtered))
    };
    let problems: Vec<&Checked> = findings.iter().filter(|c| is_problem(c)).collect();
    let matrix = crate::views::check::Matrix::new(findings, None);
    let hosts = matrix.hosts.clone();
    let many = hosts.len() > 1;
    // With --trace-filtered: where each FILTERED row's probes stopped.
    let traced = !meta.traces.is_empty();
    let trace_cell = |c: &Checked| -> String {
        if !traced {
            return String::new();
        }
        let f = &c.finding;
        let text = meta
            .traces
            .iter()
            .find(|t| {
                !t.reference
                    && t.address == f.address
                    && t.port == f.port
                    && t.transport == f.transport
            })
            .map(crate::views::trace::dropped_after)
            .unwrap_or_default();
        format!("<td class=\"trace\">{}</td>", html::escape(&text))
    };
    if !problems.is_empty() {
        body.push_str("<h2>What is wrong</h2>\n<table class=\"problems\"><thead><tr>");
        if many {
            body.push_str("<th>Host</th>");
        }
        body.push_str("<th>Port</th><th>State</th><th>For</th><th>Evidence</th>");
        if traced {
            body.push_str("<th>Dropped after</th>");
        }
        body.push_str("</tr></thead><tbody>\n");
        // Unmet ports first (red), then the unconfirmed.
        let mut sorted = problems.clone();
        sorted.sort_by_key(|c| c.finding.state == PortState::ListeningOrFiltered);
        for c in sorted {
            let f = &c.finding;
            body.push_str("<tr>");
            if many {
                body.push_str(&format!(
                    "<td>{}</td>",
                    html::escape(&host_cell(&f.host, f.address))
                ));
            }
            let evidence = evidence_text(&f.evidence);
            let dropped = trace_cell(c);
            body.push_str(&format!(
                "<td><a href=\"#{id}\">{}/{}</a></td><td class=\"{}\">{}</td><td>{}</td><td>{}</td>{dropped}</tr>\n",
                f.port,
                f.transport.as_str(),
                f.state.token(),
                html::escape(f.state.label()),
                html::escape(&c.label.text),
                if evidence.is_empty() {
                    html::escape(state_meaning(f.state, f.transport))
                } else {
                    html::escape(&evidence)
                },
                id = anchor(c),
            ));
        }
        body.push_str("</tbody></table>\n");
    }

    // What was checked goes here, between the answer and the ports.
    let meta_at = body.len();

    // The ports.
    let details = |body: &mut String, host: (&str, IpAddr)| {
        body.push_str("<table class=\"ports\"><thead><tr><th>Port</th><th>Proto</th><th>State</th><th>Service</th><th>Evidence</th>");
        if traced {
            body.push_str("<th>Dropped after</th>");
        }
        body.push_str("<th>ms</th></tr></thead><tbody>\n");
        for c in findings
            .iter()
            .filter(|c| (&*c.finding.host, c.finding.address) == host)
        {
            let f = &c.finding;
            let dropped = trace_cell(c);
            body.push_str(&format!(
                "<tr id=\"{}\"{}><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td>{dropped}<td>{:.0}</td></tr>\n",
                anchor(c),
                if is_problem(c) { " class=\"problem\"" } else { "" },
                f.port,
                f.transport.as_str().to_uppercase(),
                f.state.token(),
                html::escape(f.state.label()),
                html::escape(&c.label.text),
                html::escape(&evidence_text(&f.evidence)),
                f.elapsed.as_secs_f64() * 1000.0,
            ));
        }
        body.push_str("</tbody></table>\n");
    };
    if many {
        let mut order = hosts.clone();
        // Hosts with a problem first, then in the order given.
        order.sort_by_key(|&(h, addr)| {
            !problems
                .iter()
                .any(|c| (&*c.finding.host, c.finding.address) == (h, addr))
        });
        body.push_str("<h2>Hosts × ports</h2>\n<ul class=\"legend\">");
        for s in PortState::ALL {
            body.push_str(&format!(
                "<li><span class=\"{}\"></span>{}</li>",
                s.token(),
                s.label()
            ));
        }
        body.push_str(
            "</ul>\n<div class=\"box\"><table class=\"matrix\">\n<thead><tr><th>Host</th>",
        );
        for (tr, p) in &matrix.ports {
            body.push_str(&format!("<th>{p}/{}</th>", tr.as_str()));
        }
        body.push_str("</tr></thead>\n<tbody>\n");
        for &(h, addr) in &order {
            body.push_str(&format!(
                "<tr><th><a href=\"#h-{}\">{}</a></th>",
                addr.to_string().replace([':', '.'], "-"),
                html::escape(&host_cell(h, addr))
            ));
            for &(tr, p) in &matrix.ports {
                match matrix.cell((h, addr), (tr, p)) {
                    Some(c) => body.push_str(&format!(
                        "<td class=\"{}\" title=\"{}\"><a href=\"#{}\">{}</a></td>",
                        c.finding.state.token(),
                        html::escape(&evidence_text(&c.finding.evidence)),
                        anchor(c),
                        html::escape(c.finding.state.label())
                    )),
                    None => body.push_str("<td></td>"),
                }
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</tbody>\n</table></div>\n");
        for &(h, addr) in &order {
            body.push_str(&format!(
                "<h2 id=\"h-{}\">{}</h2>\n",
                addr.to_string().replace([':', '.'], "-"),
                html::escape(&host_cell(h, addr))
            ));
            details(&mut body, (h, addr));
        }
    } else if let Some(&host) = hosts.first() {
        body.push_str(&format!(
            "<h2>Ports of {}</h2>\n",
            html::escape(&host_cell(host.0, host.1))
        ));
        details(&mut body, host);
    }

    // What was checked, when and by what.
    let mut run = vec![
        ("Date", utc_text(meta.started)),
        ("Tool", format!("portq {}", env!("CARGO_PKG_VERSION"))),
        ("Targets", a.targets.join(", ")),
    ];
    for (name, v) in [("Roles", &a.roles), ("Services", &a.services)] {
        if !v.is_empty() {
            run.push((name, v.join(", ")));
        }
    }
    if let Some(p) = &a.ports {
        run.push(("Ports", p.clone()));
    }
    run.push((
        "Totals",
        format!(
            "{} checks on {} host(s): {} listening, {} not listening, {} filtered, {} listening or filtered; {} of {} required ports listening",
            t.total(),
            summary.host_count,
            t.listening,
            t.not_listening,
            t.filtered,
            t.listening_or_filtered,
            summary.expected_listening,
            summary.expected,
        ),
    ));
    let mut head = String::from("<dl class=\"meta\">");
    for (k, v) in run.into_iter().filter(|(_, v)| !v.is_empty()) {
        head.push_str(&format!("<dt>{k}</dt><dd>{}</dd>", html::escape(&v)));
    }
    head.push_str("</dl>\n");
    body.insert_str(meta_at, &head);
    let title = format!("portq check: {verdict}");
    html::page(&title, &body)
}

/// What the state itself says the host did, for a row with no other evidence.
fn state_meaning(state: PortState, transport: portq_probe::Transport) -> &'static str {
    match (state, transport) {
        (PortState::NotListening, portq_probe::Transport::Udp) => {
            "the host answered ICMP port unreachable: nothing listens"
        }
        (PortState::NotListening, _) => "the host answered with a TCP reset: nothing listens",
        (PortState::Filtered, _) => "no answer to any attempt: dropped on the way or at the host",
        (PortState::ListeningOrFiltered, _) => {
            "no answer to any attempt: a UDP service that keeps quiet, or a drop on the way"
        }
        _ => "",
    }
}

/// How strictly a run is judged: every port (`--strict`, or a quiet port sweep), or
/// the ports the roles and services expect.
fn strictness(summary: &CheckSummary, strict: bool, quiet: bool) -> Strictness {
    if strict || (quiet && !summary.role_check) {
        Strictness::EveryPort
    } else {
        Strictness::Expected
    }
}

fn dry_run(plan: &CheckPlan, format: Format) -> Result<Status, Failure> {
    let total = plan.total();
    let entries = plan
        .entries()
        .take(usize::try_from(DRY_RUN_LIST_LIMIT).unwrap_or(usize::MAX));
    let dynamic: Vec<String> = plan
        .dynamic_ranges()
        .iter()
        .map(|d| d.range.to_string())
        .collect();
    if format == Format::Json || format == Format::Ndjson {
        let list: Vec<_> = entries
            .map(|e| {
                let label = plan.label(e.transport, e.port);
                serde_json::json!({
                    "host": e.host,
                    "address": e.address,
                    "protocol": e.transport,
                    "port": e.port,
                    "probe": e.probe,
                    "service": label.text,
                    "need": label.need,
                })
            })
            .collect();
        let discovery = plan.discovery().map(|l| {
            serde_json::json!({
                "domain": l.domain,
                "site": l.site,
                "dns_server": l.dns_server,
                "records": l.queries(),
            })
        });
        let v = serde_json::json!({
            "discovery": discovery,
            "targets": plan.targets().count(),
            "ports": plan.ports().count(),
            "checks": total,
            "listed": list.len(),
            "rpc_dynamic_ranges": dynamic,
            "plan": list,
        });
        out::json(&v).map_err(Failure::runtime)?;
        return Ok(Status::Ok);
    }
    let mut text = format!(
        "plan: {} target address(es) × {} port(s) = {} check(s); nothing was sent\n",
        plan.targets().count(),
        plan.ports().count(),
        total
    );
    if let Some(l) = plan.discovery() {
        let names: Vec<String> = l.queries().into_iter().map(|q| q.name).collect();
        text.push_str(&format!(
            "plan: the targets are the domain controllers of {} found in DNS when the check starts ({}), each checked on {}\n",
            l.domain,
            names.join(", "),
            plan.ports()
        ));
    }
    for r in &dynamic {
        text.push_str(&format!(
            "plan: RPC dynamic range {r}/tcp is not swept; the endpoint mapper on 135/tcp is asked which of its ports are registered, and those are checked\n"
        ));
    }
    for s in plan.skipped_ranges() {
        text.push_str(&format!(
            "plan: range {}/{} ({}) is not swept\n",
            s.range,
            s.transport.as_str(),
            s.label.text
        ));
    }
    let mut grid = Grid::new(vec!["HOST", "ADDRESS", "PORT", "PROTO", "PROBE", "SERVICE"]);
    for e in entries {
        grid.push(vec![
            e.host.clone(),
            e.address
                .map(|a| a.to_string())
                .unwrap_or_else(|| "(name)".into()),
            e.port.to_string(),
            e.transport.to_string(),
            e.probe.name().to_owned(),
            plan.label(e.transport, e.port).text.clone(),
        ]);
    }
    if plan.discovery().is_none() {
        text.push_str(&grid.to_table());
    }
    if total > DRY_RUN_LIST_LIMIT {
        text.push_str(&format!("... and {} more\n", total - DRY_RUN_LIST_LIMIT));
    }
    out::print(&text).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} checks {wide_bar} {elapsed}")
    {
        pb.set_style(style);
    }
    Some(pb)
}

/// The engine options and pipeline options `portq check`'s flags ask for.
fn options(args: &Args) -> Result<PipelineOptions, Failure> {
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
    if args.source_port == Some(0) {
        return Err(Failure::usage("--source-port must be from 1 to 65535"));
    }
    let source = match (args.source_address, args.source_port) {
        (None, None) => None,
        (ip, port) => Some(std::net::SocketAddr::new(
            ip.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            port.unwrap_or(0),
        )),
    };
    let mut engine = CheckOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        attempts: args.retries,
        udp_windows: if args.patient {
            portq_probe::rtt::UdpWindows::Fixed
        } else {
            portq_probe::rtt::UdpWindows::Adaptive
        },
        source,
        // One fixed source port is one connection at a time, as with PortQry.
        concurrency: if args.source_port.is_some() {
            Some(1)
        } else {
            args.concurrency
        },
        per_host: args.per_host,
        rate: args.rate,
        snmp_community: args.community.clone(),
        domain: args.domain.clone(),
        ..CheckOptions::default()
    };
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
        engine = engine.with_probe(port, kind);
    }
    let app_probes = if args.no_probe {
        AppProbes::Off
    } else if args.probe {
        AppProbes::On
    } else {
        AppProbes::Auto
    };
    // A dry run sends nothing, so it never asks for --yes; it says whether the real run would.
    let large = if args.yes || args.dry_run {
        LargeTargets::Allowed
    } else {
        LargeTargets::Refused
    };
    Ok(PipelineOptions::default()
        .with_engine(engine)
        .with_app_probes(app_probes)
        .with_large_target_sets(large))
}

/// The whole JSON document of `--format json`.
#[derive(Serialize)]
struct Document<'a> {
    findings: Vec<Row<'a>>,
    /// With --domain and no target: the DC locator records and their targets' checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    discovery: Option<&'a DiscoveryReport>,
    summary: &'a CheckSummary,
    /// With --trace-filtered: where each FILTERED port's probes stopped.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    traces: &'a [PortTrace],
}

/// The DC locator `--domain` asks when no target is given (`None` with targets).
fn locator(args: &Args) -> Result<Option<DcLocator>, Failure> {
    let Some(domain) = args.domain.as_deref().filter(|_| args.targets.is_empty()) else {
        if args.site.is_some() || args.dns_server.is_some() {
            return Err(Failure::usage(
                "--site and --dns-server apply only when the domain controllers are discovered (--domain and no TARGET)",
            ));
        }
        return Ok(None);
    };
    let mut l = DcLocator::new(domain).map_err(Failure::usage)?;
    if let Some(site) = &args.site {
        l = l.with_site(site).map_err(Failure::usage)?;
    }
    if let Some(server) = &args.dns_server {
        l = l.with_dns_server(parse_dns_server(server).map_err(Failure::usage)?);
    }
    Ok(Some(l))
}

const DNS_COLUMNS: [&str; 9] = [
    "DNS RECORD",
    "STATE",
    "TARGET",
    "PORT",
    "PRIORITY",
    "WEIGHT",
    "SITE",
    "ADDRESSES",
    "CHECK",
];

/// The DC locator records, one row per target (a record without targets gets one row).
fn render_discovery(d: &DiscoveryReport, format: Format) -> String {
    let mut grid = Grid::new(DNS_COLUMNS.to_vec())
        .keep_whole(&["DNS RECORD", "TARGET", "ADDRESSES"])
        .drop_when_narrow(&["WEIGHT", "PRIORITY", "SITE"]);
    let mut checks = d.checks.iter();
    for r in &d.found.records {
        let site = r.query.site.clone().unwrap_or_else(|| "-".into());
        if r.targets.is_empty() {
            grid.push(vec![
                r.query.name.clone(),
                r.state.to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                site,
                "-".into(),
                "-".into(),
            ]);
            continue;
        }
        for t in &r.targets {
            let check = checks
                .next()
                .filter(|c| c.host == t.host && c.port == t.port);
            let verdict = match check.map(|c| c.verdict) {
                Some(SrvVerdict::Answers) => "answers".to_owned(),
                Some(SrvVerdict::NotAnswering) => check
                    .and_then(|c| c.states.iter().find_map(|a| a.state))
                    .map(|s| format!("does not answer ({s})"))
                    .unwrap_or_else(|| "does not answer".into()),
                Some(SrvVerdict::NoAddress) => format!("no address ({})", t.address_lookup),
                _ => "not checked".into(),
            };
            let addresses: Vec<String> = t.addresses.iter().map(|a| a.to_string()).collect();
            grid.push(vec![
                r.query.name.clone(),
                r.state.to_string(),
                t.host.clone(),
                t.port.to_string(),
                t.priority.to_string(),
                t.weight.to_string(),
                site.clone(),
                if addresses.is_empty() {
                    "-".into()
                } else {
                    addresses.join(", ")
                },
                verdict,
            ]);
        }
    }
    grid.render(format, "portq check: DNS discovery")
        .unwrap_or_default()
}

async fn run_async(args: Args) -> Result<Status, Failure> {
    let started = std::time::SystemTime::now();
    if args.ports.is_none() && args.services.is_empty() {
        let selections = crate::cmd::parse_roles(&args.roles)?;
        if let Some(why) = portq_catalog::roles::outbound_only(&selections) {
            return Err(Failure::usage(why));
        }
    }
    let opts = options(&args)?;
    let discovery = locator(&args)?;
    let mut builder = CheckBuilder::new()
        .targets(args.targets.iter().cloned())
        .roles(args.roles.iter().cloned())
        .services(args.services.iter().cloned())
        .options(opts);
    if let Some(l) = discovery {
        builder = builder.discover(l);
    }
    if let Some(p) = &args.ports {
        builder = builder.ports(p.clone());
    }
    let plan = builder.plan().map_err(Failure::usage)?;
    if args.dry_run {
        let addresses = plan.targets().count();
        if !args.yes && addresses > portq_probe::target::DEFAULT_MAX_ADDRESSES {
            eprintln!(
                "portq: {addresses} addresses: more than {}, so the real run needs --yes",
                portq_probe::target::DEFAULT_MAX_ADDRESSES
            );
        }
        return dry_run(&plan, args.format);
    }
    let trace_opts = if args.trace_filtered {
        crate::cmd::trace::ensure_can_trace()?;
        Some(
            args.trace
                .options(args.rate, args.source_address, &args.community)?,
        )
    } else {
        None
    };
    let mut traced = FilteredPorts::default();
    // From here on Ctrl-C / SIGTERM no longer kill the process: the first stops starting
    // checks and lets those in flight finish, the second drops them; either way what was
    // found is written in the chosen format and the exit code is 130.
    let mut signals = crate::signals::Signals::new();
    let mut run = tokio::select! {
        run = plan.start() => run.map_err(Failure::usage)?,
        _ = signals.recv() => {
            eprintln!("portq: interrupted before the first check");
            return Ok(Status::Interrupted);
        }
    };
    let hide_not_listening = !args.all && plan.ports().count() > SWEEP_PORTS;
    let shown = |c: &Checked| !(hide_not_listening && c.finding.state == PortState::NotListening);
    let mut sink = Sink::new(args.format, args.quiet)?;
    let streamed = !matches!(sink, Sink::Buffered);
    let pb = progress_bar();
    let progress = run.progress();
    let mut findings: Vec<Checked> = Vec::new();
    let mut hidden = 0u64;
    let mut stop_requests = 0u8;
    let mut flush_timer = tokio::time::interval(out::Stream::FLUSH_EVERY);
    flush_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            biased;
            _ = signals.recv(), if stop_requests < 2 => {
                stop_requests += 1;
                if stop_requests == 1 {
                    run.stop();
                    let notice = "stopping: the checks in flight finish, then what was found is written (Ctrl-C again stops at once)";
                    match &pb {
                        Some(pb) => pb.suspend(|| eprintln!("portq: {notice}")),
                        None => eprintln!("portq: {notice}"),
                    }
                } else {
                    run.abort();
                }
                continue;
            }
            event = run.next() => event,
            _ = flush_timer.tick(), if streamed => {
                sink.flush()?;
                continue;
            }
        };
        let Some(event) = event else { break };
        match event {
            Event::Finding(c) => {
                if let Some(pb) = &pb {
                    pb.set_length(progress.total());
                    pb.set_position(progress.done());
                }
                if trace_opts.is_some() {
                    traced.note(&c.finding);
                }
                if !shown(&c) {
                    hidden += 1;
                    continue;
                }
                if streamed {
                    sink.write(&c)?;
                } else if !args.quiet {
                    findings.push(*c);
                }
            }
            Event::Note(n) if !args.quiet => match &pb {
                Some(pb) => pb.suspend(|| eprintln!("portq: {n}")),
                None => eprintln!("portq: {n}"),
            },
            _ => {}
        }
    }
    sink.flush()?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let summary = run.finish().await;
    if summary.local_failures > 0 {
        for f in summary.failures.iter().take(5) {
            eprintln!(
                "portq: {} {}/{}: {}",
                f.host,
                f.port,
                f.transport.as_str(),
                f.message
            );
        }
        return Err(Failure::runtime(format!(
            "{} check(s) failed on this machine's side (see above)",
            summary.local_failures
        )));
    }
    Checked::sort(&mut findings);
    let traces = match &trace_opts {
        Some(opts) if stop_requests == 0 && !traced.is_empty() => {
            if !args.quiet {
                eprintln!("portq: tracing {} filtered port(s)...", traced.len());
            }
            // The check's answers are written whatever becomes of the trace.
            match crate::cmd::trace::run_traces(&traced.into_requests(), opts).await {
                Ok(t) => t,
                Err(Failure::Usage(m) | Failure::Runtime(m)) => {
                    eprintln!("portq: the filtered ports were not traced: {m}");
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    };
    if !args.quiet {
        if hidden > 0 {
            eprintln!("portq: {hidden} not-listening port(s) not shown; --all lists them");
        }
        let text = match args.format {
            Format::Ndjson | Format::Csv => None,
            Format::Json => {
                let doc = Document {
                    findings: findings.iter().map(row).collect(),
                    discovery: summary.discovery.as_ref(),
                    summary: &summary,
                    traces: &traces,
                };
                Some(serde_json::to_string_pretty(&doc).map_err(Failure::runtime)? + "\n")
            }
            Format::Html => Some(render_html(
                &findings,
                &summary,
                &ReportMeta {
                    args: &args,
                    started,
                    traces: &traces,
                },
            )),
            Format::Table | Format::Markdown => {
                let dns = summary
                    .discovery
                    .as_ref()
                    .map(|d| render_discovery(d, args.format) + "\n")
                    .unwrap_or_default();
                let mut text = dns + &render_table(&findings, args.format);
                if !traces.is_empty() {
                    text.push_str("\nWhere the filtered ports stop:\n");
                    text.push_str(&crate::views::trace::table(&traces));
                }
                Some(text)
            }
        };
        if let Some(t) = text {
            out::print(&t).map_err(Failure::runtime)?;
        }
        if let (Format::Ndjson, Some(d)) = (args.format, &summary.discovery) {
            let line = serde_json::json!({ "discovery": d });
            out::print(&format!("{line}\n")).map_err(Failure::runtime)?;
        }
        if args.format == Format::Ndjson {
            let mut lines = String::new();
            for t in &traces {
                lines.push_str(&serde_json::json!({ "trace": t }).to_string());
                lines.push('\n');
            }
            out::print(&lines).map_err(Failure::runtime)?;
        }
        for line in summary.verdict_lines() {
            eprintln!("portq: {line}");
        }
    }
    Ok(exit_status(
        &summary,
        args.strict,
        args.quiet,
        stop_requests > 0,
    ))
}

/// Where findings go as they arrive: NDJSON lines and CSV rows are written as they come
/// (in blocks, see [`out::Stream`]); the other formats are printed at the end.
enum Sink {
    Ndjson(Box<NdjsonRows>),
    Csv(Box<csv::Writer<out::Stream>>),
    Buffered,
}

impl Sink {
    fn new(format: Format, quiet: bool) -> Result<Sink, Failure> {
        Ok(match format {
            _ if quiet => Sink::Buffered,
            Format::Ndjson => Sink::Ndjson(Box::default()),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out::Stream::default());
                w.write_record(COLUMNS).map_err(Failure::runtime)?;
                Sink::Csv(Box::new(w))
            }
            _ => Sink::Buffered,
        })
    }

    /// Writes one finding without building it as a string first.
    fn write(&mut self, c: &Checked) -> Result<(), Failure> {
        match self {
            Sink::Ndjson(rows) => {
                rows.write(c).map_err(Failure::runtime)?;
                rows.stream.wrote().map_err(Failure::runtime)
            }
            Sink::Csv(w) => {
                let f = &c.finding;
                let mut port = itoa::Buffer::new();
                let mut ms = itoa::Buffer::new();
                let elapsed = (f.elapsed.as_secs_f64() * 1000.0).round() as u64;
                let host = host_cell(&f.host, f.address);
                let evidence = evidence_text(&f.evidence);
                w.write_record([
                    host.as_str(),
                    port.format(f.port),
                    f.transport.as_str(),
                    f.state.label(),
                    c.label.text.as_str(),
                    evidence.as_str(),
                    ms.format(elapsed),
                ])
                .map_err(Failure::runtime)
            }
            Sink::Buffered => Ok(()),
        }
    }

    /// Writes what is buffered.
    fn flush(&mut self) -> Result<(), Failure> {
        match self {
            Sink::Ndjson(rows) => rows.stream.flush().map_err(Failure::runtime),
            Sink::Csv(w) => w.flush().map_err(Failure::runtime),
            Sink::Buffered => Ok(()),
        }
    }
}

/// NDJSON rows, each exactly the JSON of [`row`], written with the label's part
/// serialised once per label (a sweep's thousands of rows for 445/tcp share one label;
/// its service list is most of each line).
#[derive(Default)]
struct NdjsonRows {
    stream: out::Stream,
    /// By the label's address: the label (kept, so the address stays its own) and the
    /// JSON of its fields, without the braces.
    labels: std::collections::HashMap<
        usize,
        (std::sync::Arc<portq_probe::pipeline::PortLabel>, Vec<u8>),
    >,
}

impl NdjsonRows {
    fn write(&mut self, c: &Checked) -> serde_json::Result<()> {
        let key = std::sync::Arc::as_ptr(&c.label) as usize;
        let fragment = match self.labels.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => &e.into_mut().1,
            std::collections::hash_map::Entry::Vacant(e) => {
                let json = serde_json::to_vec(&LabelView::from(c.label.as_ref()))?;
                let inner = json
                    .get(1..json.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec();
                &e.insert((std::sync::Arc::clone(&c.label), inner)).1
            }
        };
        let f = &c.finding;
        let buf = self.stream.buffer();
        buf.extend_from_slice(b"{\"host\":");
        serde_json::to_writer(&mut *buf, &*f.host)?;
        buf.extend_from_slice(b",\"address\":");
        serde_json::to_writer(&mut *buf, &f.address)?;
        buf.extend_from_slice(b",\"port\":");
        buf.extend_from_slice(itoa::Buffer::new().format(f.port).as_bytes());
        buf.extend_from_slice(b",\"protocol\":\"");
        buf.extend_from_slice(f.transport.as_str().as_bytes());
        buf.extend_from_slice(b"\",\"state\":\"");
        buf.extend_from_slice(f.state.token().as_bytes());
        buf.extend_from_slice(b"\"");
        if !fragment.is_empty() {
            buf.push(b',');
            buf.extend_from_slice(fragment);
        }
        buf.extend_from_slice(b",\"evidence\":");
        if f.evidence.is_empty() {
            buf.extend_from_slice(b"[],\"evidence_detail\":[]");
        } else {
            let summaries: Vec<String> = f.evidence.iter().map(|e| e.summary()).collect();
            serde_json::to_writer(&mut *buf, &summaries)?;
            buf.extend_from_slice(b",\"evidence_detail\":");
            serde_json::to_writer(&mut *buf, &f.evidence)?;
        }
        buf.extend_from_slice(b",\"probe\":");
        serde_json::to_writer(&mut *buf, f.probe)?;
        buf.extend_from_slice(b",\"elapsed_ms\":");
        serde_json::to_writer(&mut *buf, &(f.elapsed.as_micros() as f64 / 1000.0))?;
        buf.extend_from_slice(b",\"attempts\":");
        buf.extend_from_slice(itoa::Buffer::new().format(f.attempts).as_bytes());
        buf.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// The exit status of a check that ran (see the README's exit-code table): 130 when a
/// stop was requested; else with --strict (or -q on a plain sweep) 0 only when every
/// port checked is LISTENING; for roles and services 0 when every required port is; a
/// plain sweep that ran to the end exits 0. DNS discovery that found problems, and
/// notes (an endpoint mapper not answering: its ports could not be checked), exit 1.
fn exit_status(summary: &CheckSummary, strict: bool, quiet: bool, stopped: bool) -> Status {
    match summary.outcome(strictness(summary, strict, quiet)) {
        Outcome::Passed => Status::Ok,
        Outcome::Interrupted if stopped => Status::Interrupted,
        _ => Status::NotAsExpected,
    }
}

/// Runs `portq check`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let rt = crate::net::runtime()?;
    // The writer runs on the runtime's workers beside the probes rather than on this
    // thread: findings then change hands without waking another thread each time.
    rt.block_on(async {
        tokio::spawn(run_async(args))
            .await
            .map_err(|e| Failure::runtime(format!("the check stopped unexpectedly: {e}")))?
    })
}

#[cfg(test)]
mod tests {
    use super::{Checked, NdjsonRows, row};
    use portq_probe::pipeline::CheckBuilder;
    use portq_probe::{Evidence, Finding, PortState, Transport};
    use std::time::Duration;

    /// The fast NDJSON writer gives byte for byte the serde JSON of the row, for rows
    /// with and without evidence, labels long, empty and shared, odd host names.
    #[test]
    fn ndjson_rows_are_the_rows_json() {
        let plan = CheckBuilder::new()
            .target("127.0.0.1")
            .role("domain-controller")
            .ports("tcp:445,8123,udp:389")
            .plan()
            .unwrap();
        let mut rows = NdjsonRows::default();
        let mut expected = Vec::new();
        let cases = [
            (Transport::Tcp, 445, "dc1.example.test", vec![]),
            (Transport::Tcp, 8123, "we\"ird\\host", vec![]),
            (
                Transport::Udp,
                389,
                "10.0.0.1",
                vec![Evidence::Unreachable {
                    reason: "host unreachable".into(),
                }],
            ),
            (Transport::Tcp, 445, "10.0.0.2", vec![]),
        ];
        for (i, (t, port, host, evidence)) in cases.into_iter().enumerate() {
            let c = Checked {
                finding: Finding {
                    host: host.into(),
                    address: "10.0.0.1".parse().unwrap(),
                    port,
                    transport: t,
                    state: if i % 2 == 0 {
                        PortState::Listening
                    } else {
                        PortState::NotListening
                    },
                    evidence,
                    probe: "tcp-connect",
                    elapsed: Duration::from_micros(1234 + i as u64 * 999),
                    attempts: 1 + i as u8,
                },
                label: std::sync::Arc::clone(plan.label(t, port)),
            };
            rows.write(&c).unwrap();
            expected.extend(serde_json::to_vec(&row(&c)).unwrap());
            expected.push(b'\n');
        }
        let written = String::from_utf8(rows.stream.buffer().clone()).unwrap();
        assert_eq!(written, String::from_utf8(expected).unwrap());
        assert_eq!(rows.labels.len(), 3, "445/tcp's label is serialised once");
    }

    /// A real run of more than 65,536 addresses needs `--yes`; a dry run does not. The
    /// CLI tests only dry runs (a broken guard must send nothing), so the wiring from the
    /// arguments to the library's guard is pinned here.
    #[test]
    fn large_target_sets_need_yes_except_in_a_dry_run() {
        use clap::Parser;
        use portq_probe::pipeline::LargeTargets;
        let large = |extra: &[&str]| {
            let mut argv = vec!["portq", "check", "10.0.0.0/8", "-p", "80"];
            argv.extend_from_slice(extra);
            let cli = crate::cli::Cli::try_parse_from(argv).expect("parses");
            let crate::cli::Command::Check(args) = cli.command else {
                panic!("not check");
            };
            super::options(&args).expect("options").large_target_sets
        };
        assert_eq!(large(&[]), LargeTargets::Refused);
        assert_eq!(large(&["--yes"]), LargeTargets::Allowed);
        assert_eq!(large(&["--dry-run"]), LargeTargets::Allowed);
    }
}
