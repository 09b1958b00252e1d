//! "Check a host" from the browser: off unless the operator started the console with
//! `--allow-checks`, and then limited to the `--allow-target` networks. The check is the
//! library's check pipeline — the same plan, endpoint-mapper follow-up, labels and
//! verdict as `portq check` — rendered as it streams: NDJSON for the script's host × port
//! grid (`POST /api/check`), or rows of a plain HTML page for a browser without
//! JavaScript (`POST /check`). One check runs at a time.

use super::params::{MAX_BODY_BYTES, Params};
use super::view::{self, esc};
use super::{AppState, error_response};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};
use ipnet::IpNet;
use portq_probe::pipeline::{
    AddressPolicy, AppProbes, CheckBuilder, CheckPlan, CheckSummary, Checked,
    Event as PipelineEvent, Note, PipelineOptions, PipelineRun, TargetFiles,
};
use portq_probe::{CheckOptions, TargetSpec, Transport, evidence_text};
use serde::Serialize;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Interval, MissedTickBehavior};

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

pub(super) const OFF: &str = "checks from the browser are off: start portq serve with --allow-checks and --allow-target CIDR to enable them";

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
<p class="lead">Is it really so on that host? The console runs the same check as <code>portq check</code> — a role's RPC dynamic ports found through the host's endpoint mapper included: LISTENING, NOT LISTENING, FILTERED, or for UDP without an answer, LISTENING OR FILTERED.</p>
<p class="help">Allowed targets (set by the operator): <span class="mono">{nets}</span>. At most {MAX_ADDRESSES} addresses, {MAX_PORTS} ports and {MAX_CHECKS} checks at once.</p>
{error}<form id="check-form" class="check-form" method="post" action="/check">
<label for="targets">Hosts <span class="muted">(addresses, CIDRs or names, comma-separated)</span></label>
<input id="targets" name="targets" value="{targets}" required autocomplete="off" spellcheck="false" placeholder="10.0.0.10, dc01.example.net">
<label for="ports">Ports <span class="muted">(optional with a role, e.g. tcp:88,135,389,445,udp:53,389)</span></label>
<input id="ports" name="ports" value="{ports}" autocomplete="off" spellcheck="false" placeholder="tcp:88,135,389,445,udp:53">
<label for="role">Ports of a role</label>
<select id="role" name="role">{roles}</select>
<label for="service">Ports of services <span class="muted">(optional, comma-separated: kdc, netlogon, dns)</span></label>
<input id="service" name="service" value="{services}" autocomplete="off" spellcheck="false" placeholder="kdc, w32time">
<input type="hidden" name="probes" value="0">
<label class="check"><input type="checkbox" name="probes" value="1"{probes}> Ask each service what it is (LDAP, Kerberos, SMB… probes)</label>
<button type="submit">Check</button>
</form>
<section id="check-out" class="check-out" aria-live="polite"></section>
"#,
        nets = esc(&nets_text(nets)),
        targets = esc(p.get("targets").unwrap_or("")),
        ports = esc(p.get("ports").unwrap_or("")),
        services = esc(p.get("service").unwrap_or("")),
        probes = if probes { " checked" } else { "" },
    )
}

// ---------------------------------------------------------------- validation

/// Application probes: on unless the form says otherwise.
fn probes_on(p: &Params) -> bool {
    p.get("probes").is_none() || p.flag("probes")
}

pub(super) fn outside(what: &str, nets: &[IpNet]) -> String {
    format!(
        "{what} is outside the networks this console may check ({})",
        nets_text(nets)
    )
}

/// Reads and checks the form and plans the check with the library's pipeline (the same
/// planning as `portq check`). Addresses and blocks outside `nets` are refused before
/// anything is looked up; names are checked once looked up, by the plan's address policy.
fn prepare(nets: &[IpNet], p: &Params) -> Result<CheckPlan, String> {
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
    let mut count: u128 = 0;
    for item in &items {
        // TargetSpec refuses `@file`: a page must not make the server read its files.
        let spec = TargetSpec::parse(item).map_err(|e| e.to_string())?;
        let inside = match &spec {
            TargetSpec::Address(a) => crate::net::allows(nets, *a),
            TargetSpec::Block { first, last } => {
                nets.iter().any(|n| n.contains(first) && n.contains(last))
            }
            TargetSpec::Name(_) => true, // checked once looked up
        };
        if !inside {
            return Err(outside(item, nets));
        }
        count += spec.count();
    }
    if count > u128::from(MAX_ADDRESSES) {
        return Err(format!(
            "the targets add up to {count} addresses; the console checks at most {MAX_ADDRESSES} at once"
        ));
    }
    let policy_nets = nets.to_vec();
    let opts = PipelineOptions::default()
        .with_engine(CheckOptions {
            concurrency: Some(CONCURRENCY),
            ..CheckOptions::default()
        })
        .with_app_probes(if probes_on(p) {
            AppProbes::On
        } else {
            AppProbes::Off
        })
        .with_target_files(TargetFiles::Refused)
        .with_deadline(MAX_RUN_TIME)
        .with_address_policy(AddressPolicy::new(move |ip| {
            crate::net::allows(&policy_nets, ip)
        }));
    let mut builder = CheckBuilder::new()
        .targets(items.iter().map(|s| (*s).to_owned()))
        .options(opts);
    if let Some(ports) = p.text("ports") {
        builder = builder.ports(ports);
    }
    if let Some(role) = p.text("role") {
        builder = builder.role(role);
    }
    if let Some(services) = p.text("service") {
        builder = builder.services(
            services
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    let plan = builder.plan().map_err(|e| match e {
        portq_probe::pipeline::PlanError::NothingToCheck => {
            "give ports to check (e.g. tcp:88,135,445), choose a role or name services".to_owned()
        }
        e => e.to_string(),
    })?;
    if plan.ports().count() > MAX_PORTS {
        return Err(format!(
            "{} ports selected; the console checks at most {MAX_PORTS} at once",
            plan.ports().count()
        ));
    }
    let total = plan.total();
    if total > MAX_CHECKS {
        return Err(format!(
            "{} addresses × {} ports is {total} checks; the console runs at most {MAX_CHECKS} at once",
            plan.targets().count(),
            plan.ports().count()
        ));
    }
    Ok(plan)
}

// ---------------------------------------------------------------- running

/// What the run reports, in order.
enum Event {
    Finding(Box<Checked>),
    Note(Note),
    Progress { done: u64, total: u64 },
    End(Box<CheckSummary>),
}

/// A run being streamed; dropping it (the browser went away) stops the probes.
struct Running {
    run: Option<PipelineRun>,
    tick: Interval,
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
    Found(Option<PipelineEvent>),
    Tick,
}

fn events(run: PipelineRun, slot: OwnedSemaphorePermit) -> impl Stream<Item = Event> + Send {
    let mut tick = tokio::time::interval_at(Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let state = Running {
        run: Some(run),
        tick,
        _slot: slot,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            let step = {
                let run = st.run.as_mut()?;
                tokio::select! {
                    e = run.next() => Step::Found(e),
                    _ = st.tick.tick() => Step::Tick,
                }
            };
            match step {
                Step::Found(Some(PipelineEvent::Finding(c))) => {
                    return Some((Event::Finding(c), st));
                }
                Step::Found(Some(PipelineEvent::Note(n))) => return Some((Event::Note(n), st)),
                Step::Found(Some(_)) => continue,
                Step::Tick => {
                    let p = st.run.as_ref()?.progress();
                    let (done, total) = (p.done(), p.total());
                    return Some((Event::Progress { done, total }, st));
                }
                Step::Found(None) => {
                    // The end, or MAX_RUN_TIME (the run's deadline) passed.
                    let run = st.run.take()?;
                    let summary = run.finish().await;
                    return Some((Event::End(Box::new(summary)), st));
                }
            }
        }
    })
}

/// What a request turns into before anything is sent.
enum Begin {
    Started {
        plan: Box<CheckPlan>,
        run: PipelineRun,
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
    let plan = match prepare(nets, &p) {
        Ok(plan) => plan,
        Err(e) => return (p, Begin::Refused(StatusCode::BAD_REQUEST, e)),
    };
    match plan.start().await {
        Ok(run) => {
            let started = Begin::Started {
                plan: Box::new(plan),
                run,
                slot,
            };
            (p, started)
        }
        Err(e) => {
            let message = match &e {
                portq_probe::pipeline::StartError::AddressRefused { host, address, .. } => {
                    outside(&format!("{host} ({address})"), nets)
                }
                other => other.to_string(),
            };
            (p, Begin::Refused(StatusCode::BAD_REQUEST, message))
        }
    }
}

fn ports_list(plan: &CheckPlan) -> Vec<(Transport, u16)> {
    plan.ports().iter().take(MAX_PORTS as usize).collect()
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
    row: crate::views::check::Row<'a>,
    summary: String,
}

#[derive(Serialize)]
struct TargetView<'a> {
    host: &'a str,
    address: IpAddr,
}

#[derive(Serialize)]
struct PortView<'a> {
    protocol: &'static str,
    port: u16,
    service: &'a str,
}

#[derive(Serialize)]
struct StartLine<'a> {
    r#type: &'static str,
    targets: Vec<TargetView<'a>>,
    ports: Vec<PortView<'a>>,
    rpc_dynamic_ranges: Vec<String>,
    total: u64,
}

#[derive(Serialize)]
struct NoteLine<'a> {
    r#type: &'static str,
    text: String,
    note: &'a Note,
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
    verdict: Vec<String>,
    summary: &'a CheckSummary,
}

fn line(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}

fn start_line(plan: &CheckPlan, targets: &[(String, IpAddr)]) -> String {
    let ports = ports_list(plan);
    line(&StartLine {
        r#type: "start",
        targets: targets
            .iter()
            .map(|(host, address)| TargetView {
                host,
                address: *address,
            })
            .collect(),
        ports: ports
            .iter()
            .map(|(t, p)| PortView {
                protocol: t.as_str(),
                port: *p,
                service: &plan.label(*t, *p).text,
            })
            .collect(),
        rpc_dynamic_ranges: plan
            .dynamic_ranges()
            .iter()
            .map(|d| d.range.to_string())
            .collect(),
        total: targets.len() as u64 * ports.len() as u64,
    })
}

/// The targets the run checks (as the pipeline looked them up), for the grid's rows.
fn grid_targets(run: &PipelineRun) -> Vec<(String, IpAddr)> {
    run.targets()
        .iter()
        .take(MAX_ADDRESSES as usize)
        .map(|t| (t.host, t.address))
        .collect()
}

/// `POST /api/check`: the findings as NDJSON lines (`start`, `finding`, `note`,
/// `progress`, `end`).
pub async fn run_api(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (_, begin) = begin(&state, &headers, body).await;
    let (plan, run, slot) = match begin {
        Begin::Started { plan, run, slot } => (plan, run, slot),
        Begin::Refused(status, message) => return error_response(status, &message, true),
    };
    let targets = grid_targets(&run);
    let start = start_line(&plan, &targets);
    let head = stream::once(async move { start });
    let rest = events(run, slot).map(|e| match e {
        Event::Finding(c) => line(&FindingLine {
            r#type: "finding",
            summary: evidence_text(&c.finding.evidence),
            row: crate::views::check::row(&c),
        }),
        Event::Note(n) => line(&NoteLine {
            r#type: "note",
            text: n.to_string(),
            note: &n,
        }),
        Event::Progress { done, total } => line(&ProgressLine {
            r#type: "progress",
            done,
            total,
        }),
        Event::End(s) => line(&EndLine {
            r#type: "end",
            verdict: s.verdict_lines(),
            summary: &s,
        }),
    });
    let body = Body::from_stream(head.chain(rest).map(Ok::<_, Infallible>));
    streaming("application/x-ndjson", body)
}

// ---------------------------------------------------------------- HTML, for no script

/// `POST /check`: the same check as a page that grows row by row, with the sorted
/// results and the grid at the end.
pub async fn run_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (p, begin) = begin(&state, &headers, body).await;
    let (plan, run, slot) = match begin {
        Begin::Started { plan, run, slot } => (plan, run, slot),
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
    let targets = grid_targets(&run);
    let intro = format!(
        "{head}<h1>Check results</h1>\n<p class=\"lead\">Checking {} × {} as they answer…</p>\n<div class=\"table-wrap\"><table class=\"answers findings\"><thead><tr><th scope=\"col\">Host</th><th scope=\"col\">Address</th><th scope=\"col\">Port</th><th scope=\"col\">State</th><th scope=\"col\">Service</th><th scope=\"col\">What it answered</th></tr></thead><tbody>\n",
        view::count(targets.len(), "address", "addresses"),
        view::count(plan.ports().count() as usize, "port", "ports"),
    );
    let mut found: Vec<Checked> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let rest = events(run, slot).map(move |e| match e {
        Event::Finding(c) => {
            let row = finding_row(&c);
            if found.len() < MAX_CHECKS as usize {
                found.push(*c);
            }
            row
        }
        Event::Note(n) => {
            notes.push(n.to_string());
            "\n".to_owned()
        }
        // Keeps the connection busy while slow ports are waited for.
        Event::Progress { .. } => "\n".to_owned(),
        Event::End(s) => {
            Checked::sort(&mut found);
            let mut out = String::from("</tbody></table></div>\n");
            out.push_str("<h2>Verdict</h2>\n<ul class=\"verdict\">\n");
            for l in s.verdict_lines().iter().chain(notes.iter()) {
                out.push_str(&format!("<li>{}</li>\n", esc(l)));
            }
            out.push_str("</ul>\n");
            out.push_str(&format!(
                "<p class=\"status\">Done: {} in {:.1} s{}{}.</p>\n",
                view::count(s.states.total() as usize, "finding", "findings"),
                s.elapsed.as_secs_f64(),
                if s.local_failures > 0 {
                    format!(
                        "; {} could not be checked on this side",
                        view::count(s.local_failures as usize, "port", "ports")
                    )
                } else {
                    String::new()
                },
                if s.interrupted {
                    " (stopped before the end)"
                } else {
                    ""
                },
            ));
            out.push_str("<h2>Host × port</h2>\n");
            out.push_str(&grid_html(&targets, &found));
            out.push_str("<h2>Results, sorted</h2>\n<div class=\"table-wrap\"><table class=\"answers findings\"><thead><tr><th scope=\"col\">Host</th><th scope=\"col\">Address</th><th scope=\"col\">Port</th><th scope=\"col\">State</th><th scope=\"col\">Service</th><th scope=\"col\">What it answered</th></tr></thead><tbody>\n");
            for c in &found {
                out.push_str(&finding_row(c));
            }
            out.push_str("</tbody></table></div>\n");
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

fn finding_row(c: &Checked) -> String {
    let f = &c.finding;
    format!(
        "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"port\">{}/{}</td><td class=\"state {}\">{}</td><td>{}</td><td>{}</td></tr>\n",
        esc(&f.host),
        esc(&f.address.to_string()),
        f.port,
        f.transport,
        f.state.token(),
        f.state.label(),
        esc(&c.label.text),
        esc(&evidence_text(&f.evidence)),
    )
}

/// Hosts × ports, ports in order (the planned ones and those the follow-up found).
fn grid_html(targets: &[(String, IpAddr)], found: &[Checked]) -> String {
    let matrix = crate::views::check::Matrix::new(found, Some(targets));
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"grid\"><thead><tr><th scope=\"col\">Host</th>",
    );
    for (t, p) in &matrix.ports {
        out.push_str(&format!(
            "<th scope=\"col\" class=\"port\">{p}<br><span class=\"muted\">{t}</span></th>"
        ));
    }
    out.push_str("</tr></thead><tbody>\n");
    for &(host, address) in &matrix.hosts {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}<br><span class=\"muted mono\">{}</span></th>",
            esc(host),
            esc(&address.to_string())
        ));
        for &(t, p) in &matrix.ports {
            match matrix.cell((host, address), (t, p)) {
                Some(c) => out.push_str(&format!(
                    "<td class=\"state {}\" title=\"{}\">{}</td>",
                    c.finding.state.token(),
                    esc(&evidence_text(&c.finding.evidence)),
                    c.finding.state.label()
                )),
                None => out.push_str("<td class=\"state none\">—</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}
