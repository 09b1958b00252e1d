//! A trace as people read it: one verdict row per port, then each host's hops side by
//! side (a port that stops beside one known to get through), then the PTR names.

use crate::render::{Format, Grid, prose};
use portq_probe::trace::{PortTrace, Verdict};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The verdict table's columns.
const COLUMNS: [&str; 6] = ["HOST", "PORT", "PROTO", "VERDICT", "ROUTER", "RTT MS"];

/// The router (or target) a verdict names, and the round trip of its answer.
fn router_and_rtt(t: &PortTrace) -> (Option<IpAddr>, Option<f64>) {
    let rtt_of = |addr: IpAddr| {
        t.hops
            .iter()
            .flat_map(|h| h.replies.iter())
            .filter(|r| r.address == addr && r.count > 0)
            .map(|r| r.rtt_ms[0])
            .reduce(f64::min)
    };
    match &t.verdict {
        Verdict::Reached { rtt_ms, .. } => (Some(t.address), *rtt_ms),
        Verdict::Rejected { router, .. } => (Some(*router), rtt_of(*router)),
        Verdict::Silent {
            last_router: Some(r),
            ..
        } => (Some(*r), rtt_of(*r)),
        _ => (None, None),
    }
}

/// The short verdict of a FILTERED row in reports and the console: `dropped after hop 2
/// (10.201.241.2)`, `rejected at hop 3 by 10.201.242.2 (code 13)`, `reached at hop 4`.
pub fn dropped_after(t: &PortTrace) -> String {
    match &t.verdict {
        Verdict::Silent {
            last_hop: Some(h),
            last_router: Some(r),
            last_router_name,
            uncertain,
            ..
        } => {
            let who = named(*r, last_router_name.as_deref());
            let mut s = format!("dropped after hop {h} ({who})");
            if uncertain.is_some() {
                s.push_str(", uncertain");
            }
            s
        }
        Verdict::Silent { .. } => "dropped before the first router".to_owned(),
        Verdict::Rejected {
            hop,
            router,
            router_name,
            icmp_code,
            ..
        } => format!(
            "rejected at hop {hop} by {} (ICMP code {icmp_code})",
            named(*router, router_name.as_deref())
        ),
        Verdict::Reached { hop, .. } => format!("reached at hop {hop} when traced"),
        Verdict::NotTraced { reason } => format!("not traced: {reason}"),
        _ => String::new(),
    }
}

fn named(a: IpAddr, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} {a}"),
        None => a.to_string(),
    }
}

fn port_label(t: &PortTrace) -> String {
    let mut s = format!("{}/{}", t.port, t.transport.as_str());
    if t.reference {
        s.push_str(" (ref)");
    }
    s
}

/// The verdict rows as a grid (table, CSV, Markdown, HTML).
pub fn verdict_grid(traces: &[PortTrace]) -> Grid {
    let mut grid = Grid::new(COLUMNS.to_vec())
        .keep_whole(&["HOST", "PORT", "PROTO", "ROUTER"])
        .drop_when_narrow(&["RTT MS"]);
    for t in traces {
        let (router, rtt) = router_and_rtt(t);
        let mut verdict = t.verdict.text();
        if t.reference {
            verdict.push_str(" [reference: a port known to answer]");
        }
        if t.path_varies {
            verdict.push_str(" [hops differ between probes]");
        }
        grid.push(vec![
            t.host.clone(),
            t.port.to_string(),
            t.transport.as_str().to_owned(),
            verdict,
            router.map(|r| r.to_string()).unwrap_or_default(),
            rtt.map(|ms| format!("{ms:.3}")).unwrap_or_default(),
        ]);
    }
    grid
}

/// One host's hops, a column per port: who answered at each TTL (`*`: nobody).
fn path_grid(traces: &[&PortTrace]) -> Option<String> {
    let deepest = traces
        .iter()
        .flat_map(|t| t.hops.iter().map(|h| h.ttl))
        .max()?;
    let labels: Vec<String> = traces.iter().map(|t| port_label(t)).collect();
    // Every column whole: an address is never broken.
    let whole: Vec<&str> = std::iter::once("HOP")
        .chain(labels.iter().map(String::as_str))
        .collect();
    let headers = whole
        .iter()
        .map(|h| std::borrow::Cow::Owned((*h).to_owned()))
        .collect();
    let mut grid = Grid::with_headers(headers).keep_whole(&whole);
    let first = traces
        .iter()
        .flat_map(|t| t.hops.iter().map(|h| h.ttl))
        .min()
        .unwrap_or(1);
    for ttl in first..=deepest {
        let mut row = vec![ttl.to_string()];
        for t in traces {
            let cell = match t.hops.iter().find(|h| h.ttl == ttl) {
                None => String::new(),
                Some(h) if h.replies.is_empty() => "*".to_owned(),
                Some(h) => h
                    .replies
                    .iter()
                    .map(|r| match (r.answer, r.icmp_code) {
                        ("time_exceeded", _) => r.address.to_string(),
                        ("unreachable", Some(c)) => format!("{} rejects ({c})", r.address),
                        (a, _) => format!("{} {}", r.address, a.replace('_', "-")),
                    })
                    .collect::<Vec<_>>()
                    .join(" | "),
            };
            row.push(cell);
        }
        grid.push(row);
    }
    Some(grid.to_table())
}

/// The whole trace for a terminal: verdicts, then each host's paths side by side, then
/// the names the PTR lookups gave.
pub fn table(traces: &[PortTrace]) -> String {
    let mut out = verdict_grid(traces)
        .render(Format::Table, "portq trace")
        .unwrap_or_default();
    let mut hosts: BTreeMap<IpAddr, Vec<&PortTrace>> = BTreeMap::new();
    for t in traces {
        hosts.entry(t.address).or_default().push(t);
    }
    for (addr, ts) in &hosts {
        if let Some(grid) = path_grid(ts) {
            out.push('\n');
            out.push_str(&format!("Path to {addr}, hop by hop:\n"));
            out.push_str(&grid);
        }
    }
    let mut names: BTreeMap<IpAddr, &str> = BTreeMap::new();
    for t in traces {
        for r in t.hops.iter().flat_map(|h| h.replies.iter()) {
            if let Some(n) = &r.name {
                names.insert(r.address, n);
            }
        }
    }
    if !names.is_empty() {
        out.push('\n');
        let list: Vec<String> = names.iter().map(|(a, n)| format!("{a} = {n}")).collect();
        out.push_str(&prose(&format!("Names: {}.", list.join(", "))));
    }
    if traces
        .iter()
        .any(|t| matches!(t.verdict, Verdict::Silent { .. }))
    {
        out.push('\n');
        out.push_str(&prose(
            "\"Silent after hop N\" proves the probes got past hop N's router and no \
             answer came back from further on: the drop is at hop N+1, or in hop N's own \
             outbound filter. It cannot tell a drop from a router that never answers, or \
             from an answer that was itself dropped on the way back.",
        ));
    }
    out
}
