//! "Check a host" from the browser: off unless the operator started the console with
//! `--allow-checks`, and then limited to the `--allow-target` networks. The check runs on
//! portq-probe's engine; findings stream to the page as they arrive — as NDJSON for the
//! script's host × port grid (`POST /api/check`), or as rows of a plain HTML page for a
//! browser without JavaScript (`POST /check`). One check runs at a time.

use super::params::{MAX_BODY_BYTES, Params};
use super::view::{self, esc};
use super::{AppState, error_response};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};
use ipnet::IpNet;
use portq_catalog::{Qualifier, roles};
use portq_probe::{
    CheckOptions, CheckRun, Finding, PortSpec, PortState, ResolvedTargets, RunSummary, Target,
    TargetSet, TargetSpec, Transport,
};
use serde::Serialize;
use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};

/// Most addresses one check may cover.
pub const MAX_ADDRESSES: u64 = 256;
/// Most ports one check may cover.
pub const MAX_PORTS: u32 = 1024;
/// Most host × port checks in one run (the grid stays readable, the run short).
pub const MAX_CHECKS: u64 = 4096;
/// Most comma-separated target items.
const MAX_TARGET_ITEMS: usize = 64;
/// A check running longer than this is stopped.
const MAX_RUN_TIME: Duration = Duration::from_secs(600);
/// How often a progress line is sent (it also keeps the connection from going idle).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// Probes in flight at once for a check from the browser.
const CONCURRENCY: usize = 64;
/// A role range longer than this (RPC dynamic, ISA's 1024-65535) is not checked port by port.
const MAX_ROLE_RANGE: u32 = 16;

const OFF: &str = "checks from the browser are off: start portq serve with --allow-checks and --allow-target CIDR to enable them";

// ---------------------------------------------------------------- the form

/// `GET /check`.
pub async fn page(State(state): State<Arc<AppState>>) -> Response {
    let main = match &state.cfg.checks {
        None => off_html(),
        Some(nets) => form_html(nets, &Params::default(), None),
    };
    view::page("Check a host", "check", &main).into_response()
}

fn off_html() -> String {
    "<h1>Check a host</h1>\n<p class=\"lead\">Checks from the browser are off.</p>\n<p>A web page that can make the server send traffic is a risk, so the console only offers checks when its operator starts it with <code>portq serve --allow-checks --allow-target CIDR</code>, and then only towards the networks named. From a shell, <code>portq check HOST --role ROLE</code> does the same.</p>\n".to_owned()
}

fn nets_text(nets: &[IpNet]) -> String {
    nets.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn form_html(nets: &[IpNet], p: &Params, error: Option<&str>) -> String {
    let role = p.text("role").unwrap_or("");
    let mut roles = String::from("<option value=\"\">(none: only the ports above)</option>");
    for r in portq_catalog::roles() {
        let selected = if r.id == role { " selected" } else { "" };
        roles.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            esc(r.id),
            esc(r.name)
        ));
    }
    let probes = probes_on(p);
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", esc(e)))
        .unwrap_or_default();
    format!(
        r#"<h1>Check a host</h1>
<p class="lead">Is it really so on that host? The console checks each port the way <code>portq check</code> does: LISTENING, NOT LISTENING, FILTERED, or for UDP without an answer, LISTENING OR FILTERED.</p>
<p class="help">Allowed targets (set by the operator): <span class="mono">{nets}</span>. At most {MAX_ADDRESSES} addresses, {MAX_PORTS} ports and {MAX_CHECKS} checks at once.</p>
{error}<form id="check-form" class="check-form" method="post" action="/check">
<label for="targets">Hosts <span class="muted">(addresses, CIDRs or names, comma-separated)</span></label>
<input id="targets" name="targets" value="{targets}" required autocomplete="off" spellcheck="false" placeholder="10.0.0.10, dc01.example.net">
<label for="ports">Ports <span class="muted">(optional with a role, e.g. tcp:88,135,389,445,udp:53,389)</span></label>
<input id="ports" name="ports" value="{ports}" autocomplete="off" spellcheck="false" placeholder="tcp:88,135,389,445,udp:53">
<label for="role">Ports of a role</label>
<select id="role" name="role">{roles}</select>
<input type="hidden" name="probes" value="0">
<label class="check"><input type="checkbox" name="probes" value="1"{probes}> Ask each service what it is (LDAP, Kerberos, SMB… probes)</label>
<button type="submit">Check</button>
</form>
<section id="check-out" class="check-out" aria-live="polite"></section>
"#,
        nets = esc(&nets_text(nets)),
        targets = esc(p.get("targets").unwrap_or("")),
        ports = esc(p.get("ports").unwrap_or("")),
        probes = if probes { " checked" } else { "" },
    )
}

// ---------------------------------------------------------------- validation

/// A check ready to start: every address inside the allowed networks.
struct Prepared {
    targets: Vec<Target>,
    ports: PortSpec,
    opts: CheckOptions,
}

/// Application probes: on unless the form says otherwise.
fn probes_on(p: &Params) -> bool {
    p.get("probes").is_none() || p.flag("probes")
}

fn allowed(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}

fn outside(what: &str, nets: &[IpNet]) -> String {
    format!(
        "{what} is outside the networks this console may check ({})",
        nets_text(nets)
    )
}

/// The ports a role needs, as single ports (wide ranges such as RPC dynamic are left out).
fn role_ports(name: &str) -> Result<PortSpec, String> {
    let sel = roles::parse_selection(name).map_err(|e| e.to_string())?;
    let mut ports = Vec::new();
    for e in roles::expand(&[sel]) {
        let r = e.requirement;
        let transport = match r.transport {
            portq_catalog::Transport::Tcp => Transport::Tcp,
            portq_catalog::Transport::Udp => Transport::Udp,
            _ => continue,
        };
        let Some(range) = r.ports else { continue };
        if r.has(Qualifier::RpcDynamic)
            || r.has(Qualifier::RpcLegacyRange)
            || range.len() > MAX_ROLE_RANGE
        {
            continue;
        }
        ports.extend((range.start..=range.end).map(|p| (transport, p)));
    }
    PortSpec::from_ports(ports).map_err(|e| e.to_string())
}

/// Reads and checks the form, looks names up, and refuses anything outside `nets`.
async fn prepare(nets: &[IpNet], p: &Params) -> Result<Prepared, String> {
    let text = p
        .text("targets")
        .ok_or("give a host to check: an address, a CIDR block or a name")?;
    let items: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if items.len() > MAX_TARGET_ITEMS {
        return Err(format!(
            "too many targets (the limit is {MAX_TARGET_ITEMS})"
        ));
    }
    let mut specs = Vec::with_capacity(items.len());
    for item in items {
        // TargetSpec refuses `@file`: a page must not make the server read its files.
        let spec = TargetSpec::parse(item).map_err(|e| e.to_string())?;
        let inside = match &spec {
            TargetSpec::Address(a) => allowed(nets, *a),
            TargetSpec::Block { first, last } => {
                nets.iter().any(|n| n.contains(first) && n.contains(last))
            }
            TargetSpec::Name(_) => true, // checked once looked up
        };
        if !inside {
            return Err(outside(item, nets));
        }
        specs.push(spec);
    }
    let count: u128 = specs.iter().map(TargetSpec::count).sum();
    if count > u128::from(MAX_ADDRESSES) {
        return Err(format!(
            "the targets add up to {count} addresses; the console checks at most {MAX_ADDRESSES} at once"
        ));
    }
    let set = TargetSet::from_specs(specs, false).map_err(|e| e.to_string())?;

    let mut ports = match p.text("ports") {
        Some(t) => PortSpec::parse(t).map_err(|e| e.to_string())?,
        None => PortSpec::default(),
    };
    if let Some(role) = p.text("role") {
        ports.merge(&role_ports(role)?);
    }
    if ports.is_empty() {
        return Err("give ports to check (e.g. tcp:88,135,445) or choose a role".to_owned());
    }
    if ports.count() > MAX_PORTS {
        return Err(format!(
            "{} ports selected; the console checks at most {MAX_PORTS} at once",
            ports.count()
        ));
    }
    let total = set.count() * u64::from(ports.count());
    if total > MAX_CHECKS {
        return Err(format!(
            "{} addresses × {} ports is {total} checks; the console runs at most {MAX_CHECKS} at once",
            set.count(),
            ports.count()
        ));
    }

    let resolved = set.resolve().await.map_err(|e| e.to_string())?;
    let targets: Vec<Target> = resolved.iter().take(MAX_ADDRESSES as usize).collect();
    if let Some(t) = targets.iter().find(|t| !allowed(nets, t.address)) {
        return Err(outside(&format!("{} ({})", t.host, t.address), nets));
    }
    #[allow(
        clippy::field_reassign_with_default,
        reason = "CheckOptions is non_exhaustive: no struct literal outside its crate"
    )]
    let opts = {
        let mut opts = CheckOptions::default();
        opts.app_probes = probes_on(p);
        opts.concurrency = Some(CONCURRENCY);
        opts
    };
    Ok(Prepared {
        targets,
        ports,
        opts,
    })
}

// ---------------------------------------------------------------- running

/// What the run reports, in order.
enum Event {
    Finding(Box<Finding>),
    Progress { done: u64, total: u64 },
    End(Box<RunSummary>),
}

/// A run being streamed; dropping it (the browser went away) stops the probes.
struct Running {
    run: Option<CheckRun>,
    tick: Interval,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(run) = &self.run {
            run.abort();
        }
    }
}

enum Step {
    Found(Option<Finding>),
    Tick,
    Timeout,
}

fn events(run: CheckRun, slot: OwnedSemaphorePermit) -> impl Stream<Item = Event> + Send {
    let mut tick = tokio::time::interval_at(Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let state = Running {
        run: Some(run),
        tick,
        deadline: Box::pin(tokio::time::sleep(MAX_RUN_TIME)),
        _slot: slot,
    };
    stream::unfold(state, |mut st| async move {
        let step = {
            let run = st.run.as_mut()?;
            tokio::select! {
                f = run.next() => Step::Found(f),
                _ = st.tick.tick() => Step::Tick,
                () = st.deadline.as_mut() => Step::Timeout,
            }
        };
        match step {
            Step::Found(Some(f)) => Some((Event::Finding(Box::new(f)), st)),
            Step::Tick => {
                let p = st.run.as_ref()?.progress();
                let (done, total) = (p.done(), p.total());
                Some((Event::Progress { done, total }, st))
            }
            Step::Found(None) | Step::Timeout => {
                let run = st.run.take()?;
                if matches!(step, Step::Timeout) {
                    run.abort();
                }
                let summary = run.finish().await;
                Some((Event::End(Box::new(summary)), st))
            }
        }
    })
}

/// What a request turns into before anything is sent.
enum Begin {
    Started {
        prepared: Box<Prepared>,
        run: CheckRun,
        slot: OwnedSemaphorePermit,
    },
    Refused(StatusCode, String),
}

async fn begin(state: &AppState, headers: &HeaderMap, body: Body) -> (Params, Begin) {
    let Some(nets) = &state.cfg.checks else {
        return (
            Params::default(),
            Begin::Refused(StatusCode::FORBIDDEN, OFF.into()),
        );
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form {
        let refused = Begin::Refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the check as a form (application/x-www-form-urlencoded)".into(),
        );
        return (Params::default(), refused);
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let refused = Begin::Refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body too large (the limit is {MAX_BODY_BYTES} bytes)"),
            );
            return (Params::default(), refused);
        }
    };
    let parsed = std::str::from_utf8(&bytes)
        .map_err(|_| "the form is not UTF-8 text".to_owned())
        .and_then(Params::parse);
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            return (
                Params::default(),
                Begin::Refused(StatusCode::BAD_REQUEST, e),
            );
        }
    };
    let Ok(slot) = Arc::clone(&state.check_slot).try_acquire_owned() else {
        let refused = Begin::Refused(
            StatusCode::CONFLICT,
            "a check is already running; wait for it to finish".into(),
        );
        return (p, refused);
    };
    match prepare(nets, &p).await {
        Ok(prepared) => {
            let run = portq_probe::start_resolved(
                ResolvedTargets::from_targets(prepared.targets.clone()),
                prepared.ports.clone(),
                prepared.opts.clone(),
            );
            let started = Begin::Started {
                prepared: Box::new(prepared),
                run,
                slot,
            };
            (p, started)
        }
        Err(e) => (p, Begin::Refused(StatusCode::BAD_REQUEST, e)),
    }
}

fn state_label(s: PortState) -> &'static str {
    match s {
        PortState::Listening => "LISTENING",
        PortState::NotListening => "NOT LISTENING",
        PortState::Filtered => "FILTERED",
        PortState::ListeningOrFiltered => "LISTENING OR FILTERED",
    }
}

fn evidence_text(f: &Finding) -> String {
    f.evidence
        .iter()
        .map(|e| e.summary())
        .collect::<Vec<_>>()
        .join("; ")
}

fn ports_list(ports: &PortSpec) -> Vec<(Transport, u16)> {
    ports.iter().take(MAX_PORTS as usize).collect()
}

fn streaming(content_type: &'static str, body: Body) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

// ---------------------------------------------------------------- NDJSON

#[derive(Serialize)]
struct FindingLine<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    finding: &'a Finding,
    summary: String,
}

#[derive(Serialize)]
struct TargetView<'a> {
    host: &'a str,
    address: IpAddr,
}

#[derive(Serialize)]
struct PortView {
    transport: &'static str,
    port: u16,
}

#[derive(Serialize)]
struct StartLine<'a> {
    r#type: &'static str,
    targets: Vec<TargetView<'a>>,
    ports: Vec<PortView>,
    total: u64,
}

#[derive(Serialize)]
struct ProgressLine {
    r#type: &'static str,
    done: u64,
    total: u64,
}

#[derive(Serialize)]
struct EndLine<'a> {
    r#type: &'static str,
    summary: &'a RunSummary,
}

fn line(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

/// `POST /api/check`: the findings as NDJSON lines (`start`, `finding`, `progress`, `end`).
pub async fn run_api(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (_, begin) = begin(&state, &headers, body).await;
    let (prepared, run, slot) = match begin {
        Begin::Started {
            prepared,
            run,
            slot,
        } => (prepared, run, slot),
        Begin::Refused(status, message) => return error_response(status, &message, true),
    };
    let ports = ports_list(&prepared.ports);
    let start = line(&StartLine {
        r#type: "start",
        targets: prepared
            .targets
            .iter()
            .map(|t| TargetView {
                host: &t.host,
                address: t.address,
            })
            .collect(),
        ports: ports
            .iter()
            .map(|(t, p)| PortView {
                transport: t.token(),
                port: *p,
            })
            .collect(),
        total: prepared.targets.len() as u64 * ports.len() as u64,
    });
    let head = stream::once(async move { start });
    let rest = events(run, slot).map(|e| match e {
        Event::Finding(f) => line(&FindingLine {
            r#type: "finding",
            summary: evidence_text(&f),
            finding: &f,
        }),
        Event::Progress { done, total } => line(&ProgressLine {
            r#type: "progress",
            done,
            total,
        }),
        Event::End(s) => line(&EndLine {
            r#type: "end",
            summary: &s,
        }),
    });
    let body = Body::from_stream(head.chain(rest).map(Ok::<_, Infallible>));
    streaming("application/x-ndjson", body)
}

// ---------------------------------------------------------------- HTML, for no script

/// `POST /check`: the same check as a page that grows row by row, with the grid at the end.
pub async fn run_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (p, begin) = begin(&state, &headers, body).await;
    let (prepared, run, slot) = match begin {
        Begin::Started {
            prepared,
            run,
            slot,
        } => (prepared, run, slot),
        Begin::Refused(status, message) => {
            let main = match &state.cfg.checks {
                Some(nets)
                    if status == StatusCode::BAD_REQUEST || status == StatusCode::CONFLICT =>
                {
                    form_html(nets, &p, Some(&message))
                }
                _ => return error_response(status, &message, false),
            };
            return (status, view::page("Check a host", "check", &main)).into_response();
        }
    };
    let (head, tail) = view::layout("Check results", "check");
    let ports = ports_list(&prepared.ports);
    let targets = prepared.targets.clone();
    let intro = format!(
        "{head}<h1>Check results</h1>\n<p class=\"lead\">Checking {} × {} as they answer…</p>\n<div class=\"table-wrap\"><table class=\"answers findings\"><thead><tr><th scope=\"col\">Host</th><th scope=\"col\">Address</th><th scope=\"col\">Port</th><th scope=\"col\">State</th><th scope=\"col\">What it answered</th></tr></thead><tbody>\n",
        view::count(targets.len(), "address", "addresses"),
        view::count(ports.len(), "port", "ports"),
    );
    let mut found: Vec<Finding> = Vec::new();
    let rest = events(run, slot).map(move |e| match e {
        Event::Finding(f) => {
            let row = format!(
                "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"port\">{}/{}</td><td class=\"state {}\">{}</td><td>{}</td></tr>\n",
                esc(&f.host),
                esc(&f.address.to_string()),
                f.port,
                f.transport.token().to_uppercase(),
                f.state.token(),
                state_label(f.state),
                esc(&evidence_text(&f)),
            );
            if found.len() < MAX_CHECKS as usize {
                found.push(*f);
            }
            row
        }
        // Keeps the connection busy while slow ports are waited for.
        Event::Progress { .. } => "\n".to_owned(),
        Event::End(s) => {
            let mut out = String::from("</tbody></table></div>\n");
            out.push_str(&format!(
                "<p class=\"status\">Done: {} in {:.1} s{}{}.</p>\n",
                view::count(s.findings as usize, "finding", "findings"),
                s.elapsed.as_secs_f64(),
                if s.failure_count > 0 {
                    format!(
                        "; {} could not be checked on this side",
                        view::count(s.failure_count as usize, "port", "ports")
                    )
                } else {
                    String::new()
                },
                if s.aborted { " (stopped before the end)" } else { "" },
            ));
            out.push_str("<h2>Host × port</h2>\n");
            out.push_str(&grid_html(&targets, &ports, &found));
            out.push_str("<p><a href=\"/check\">Check again</a></p>\n");
            out.push_str(&tail);
            out
        }
    });
    let body = Body::from_stream(
        stream::once(async move { intro })
            .chain(rest)
            .map(Ok::<_, Infallible>),
    );
    streaming("text/html; charset=utf-8", body)
}

fn grid_html(targets: &[Target], ports: &[(Transport, u16)], found: &[Finding]) -> String {
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"grid\"><thead><tr><th scope=\"col\">Host</th>",
    );
    for (t, p) in ports {
        out.push_str(&format!(
            "<th scope=\"col\" class=\"port\">{p}<br><span class=\"muted\">{}</span></th>",
            t.token().to_uppercase()
        ));
    }
    out.push_str("</tr></thead><tbody>\n");
    for target in targets {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}<br><span class=\"muted mono\">{}</span></th>",
            esc(&target.host),
            esc(&target.address.to_string())
        ));
        for (t, p) in ports {
            match found
                .iter()
                .find(|f| f.address == target.address && f.transport == *t && f.port == *p)
            {
                Some(f) => out.push_str(&format!(
                    "<td class=\"state {}\" title=\"{}\">{}</td>",
                    f.state.token(),
                    esc(&evidence_text(f)),
                    state_label(f.state)
                )),
                None => out.push_str("<td class=\"state none\">—</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}
