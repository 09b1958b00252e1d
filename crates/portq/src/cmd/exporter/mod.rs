//! `portq exporter`: a Prometheus exporter in blackbox_exporter's multi-target style.
//! Prometheus asks `GET /probe?target=dc01&module=domain-controller`; the exporter runs
//! the library's check pipeline (the same plan, endpoint-mapper follow-up and verdict as
//! `portq check`) on that one target and answers with metrics. Prometheus does the
//! scheduling, fan-out, alerting and high availability; one exporter per vantage point.
//!
//! `target=` makes the exporter a port scanner for whoever can reach it, so it listens on
//! loopback unless told otherwise, a non-loopback `--listen` needs `--allow-target`
//! networks (every resolved address is checked), requests from browsers are refused, and
//! an optional web config file asks for HTTP basic authentication.

mod config;
mod metrics;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ipnet::IpNet;
use portq_probe::TargetSpec;
use portq_probe::pipeline::{AddressPolicy, Event, StartError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::web_config::WebConfig;
pub use config::{Module, Modules};

use crate::exit::{Failure, Status};

/// Where the exporter listens unless told otherwise (9832: not taken by a known exporter).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9832";
/// The scrape timeout assumed when Prometheus does not send one (its default).
const DEFAULT_SCRAPE_TIMEOUT: f64 = 10.0;
/// The longest a probe may run, whatever the scrape timeout says.
const MAX_PROBE_SECONDS: f64 = 120.0;
/// Longest target accepted.
const MAX_TARGET_LEN: usize = 255;

/// Arguments of `portq exporter`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (loopback by default; another address needs --allow-target).
    #[arg(long, value_name = "ADDRESS:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Modules in YAML (`modules: {NAME: {roles, services, ports, timeout, retries, patient, probes, rpc_follow_up, domain, trace_filtered}}`); every role is also a module.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A network the exporter may probe (repeatable; CIDR or address). Required with a non-loopback --listen.
    #[arg(long = "allow-target", value_name = "CIDR")]
    pub allow_targets: Vec<String>,
    /// Probes (scrapes) running at once at most; more get 503.
    #[arg(long, value_name = "N", default_value = "16")]
    pub max_concurrent_probes: usize,
    /// Probes of one target running at once at most; more get 503.
    #[arg(long, value_name = "N", default_value = "2")]
    pub max_per_target: usize,
    /// Seconds kept free of the scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to answer in time.
    #[arg(long, value_name = "SECONDS", default_value = "0.5")]
    pub timeout_offset: f64,
    /// Web config file in the style of Prometheus' exporter-toolkit (`basic_auth_users`).
    #[arg(long, value_name = "FILE")]
    pub web_config: Option<PathBuf>,
}

/// Per-probe outcome labels of the exporter's own metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    module: String,
    result: String,
}

/// The exporter's own health.
struct SelfMetrics {
    registry: Registry,
    probes: Family<OutcomeLabels, Counter>,
    in_flight: Gauge,
}

impl SelfMetrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let probes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "portq_exporter_probes",
            "Probes answered, by module and result (success, failure, rejected, error)",
            probes.clone(),
        );
        let in_flight: Gauge = Gauge::default();
        registry.register(
            "portq_exporter_probes_in_flight",
            "Probes running now",
            in_flight.clone(),
        );
        SelfMetrics {
            registry,
            probes,
            in_flight,
        }
    }

    fn count(&self, module: &str, result: &str) {
        self.probes
            .get_or_create(&OutcomeLabels {
                module: module.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }
}

/// What every request shares.
pub struct Exporter {
    modules: Modules,
    allowed: Option<Vec<IpNet>>,
    slots: Arc<Semaphore>,
    per_target: Mutex<HashMap<String, usize>>,
    max_per_target: usize,
    timeout_offset: f64,
    web: WebConfig,
    metrics: SelfMetrics,
}

/// Settings of an [`Exporter`] (also what the tests build).
pub struct Settings {
    /// Modules.
    pub modules: Modules,
    /// Networks probes may reach (`None`: any).
    pub allowed: Option<Vec<IpNet>>,
    /// Probes at once.
    pub max_concurrent_probes: usize,
    /// Probes of one target at once.
    pub max_per_target: usize,
    /// Seconds kept free of the scrape timeout.
    pub timeout_offset: f64,
    /// Basic authentication.
    pub web: WebConfig,
}

impl Exporter {
    /// An exporter with these settings.
    pub fn new(s: Settings) -> Arc<Self> {
        Arc::new(Exporter {
            modules: s.modules,
            allowed: s.allowed,
            slots: Arc::new(Semaphore::new(s.max_concurrent_probes.max(1))),
            per_target: Mutex::new(HashMap::new()),
            max_per_target: s.max_per_target.max(1),
            timeout_offset: s.timeout_offset,
            web: s.web,
            metrics: SelfMetrics::new(),
        })
    }
}

/// The routes.
pub fn router(state: Arc<Exporter>) -> Router {
    Router::new()
        .route("/probe", get(probe))
        .route("/metrics", get(self_metrics))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/", get(index))
        .with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn metrics_response(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
    );
    r
}

/// Refuses what Prometheus never sends: a browser's cross-site request (a web page must
/// not turn the exporter into its port scanner); asks for credentials when configured.
fn screen(state: &Exporter, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let cross_site = headers.contains_key(header::ORIGIN)
        || headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v != "none" && v != "same-origin");
    if cross_site {
        return Err(Box::new(text(
            StatusCode::FORBIDDEN,
            "requests from web pages are refused\n".into(),
        )));
    }
    if !state.web.authorized(headers) {
        let mut r = text(StatusCode::UNAUTHORIZED, "authentication required\n".into());
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portq exporter\""),
        );
        return Err(Box::new(r));
    }
    Ok(())
}

async fn index(State(state): State<Arc<Exporter>>, headers: HeaderMap) -> Response {
    if let Err(r) = screen(&state, &headers) {
        return *r;
    }
    let mut body = String::from(
        "portq exporter\n\nGET /probe?target=HOST&module=MODULE   metrics of one check\nGET /metrics                           the exporter's own metrics\nGET /-/healthy\n\nmodules:\n",
    );
    for m in state.modules.names() {
        body.push_str("  ");
        body.push_str(m);
        body.push('\n');
    }
    text(StatusCode::OK, body)
}

async fn self_metrics(State(state): State<Arc<Exporter>>, headers: HeaderMap) -> Response {
    if let Err(r) = screen(&state, &headers) {
        return *r;
    }
    let mut out = String::new();
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &state.metrics.registry);
    metrics_response(out)
}

#[derive(Debug, Deserialize)]
struct ProbeQuery {
    target: Option<String>,
    module: Option<String>,
}

/// A probe slot: the global one and the target's; both freed on drop.
struct Slot {
    state: Arc<Exporter>,
    target: String,
    _global: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .state
            .per_target
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.target) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.target);
            }
        }
        self.state.metrics.in_flight.dec();
    }
}

fn take_slot(state: &Arc<Exporter>, target: &str) -> Option<Slot> {
    let global = Arc::clone(&state.slots).try_acquire_owned().ok()?;
    {
        let mut map = state.per_target.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(target.to_owned()).or_insert(0);
        if *n >= state.max_per_target {
            return None;
        }
        *n += 1;
    }
    state.metrics.in_flight.inc();
    Some(Slot {
        state: Arc::clone(state),
        target: target.to_owned(),
        _global: global,
    })
}

/// The time a probe may take: the scrape timeout Prometheus sends, less the offset.
fn budget(headers: &HeaderMap, offset: f64) -> Duration {
    let scrape = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(DEFAULT_SCRAPE_TIMEOUT);
    let secs = (scrape - offset).clamp(0.2, MAX_PROBE_SECONDS);
    Duration::from_secs_f64(secs)
}

async fn probe(
    State(state): State<Arc<Exporter>>,
    headers: HeaderMap,
    query: Result<Query<ProbeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = screen(&state, &headers) {
        return *r;
    }
    let Ok(Query(q)) = query else {
        return text(StatusCode::BAD_REQUEST, "malformed query string\n".into());
    };
    let Some(target) = q
        .target
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    else {
        return text(
            StatusCode::BAD_REQUEST,
            "target parameter is missing\n".into(),
        );
    };
    let Some(module_name) = q.module.filter(|m| !m.is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "module parameter is missing\n".into(),
        );
    };
    let Some(module) = state.modules.get(&module_name) else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("unknown module '{}'\n", clip(&module_name)),
        );
    };
    if target.len() > MAX_TARGET_LEN {
        return text(StatusCode::BAD_REQUEST, "target is too long\n".into());
    }
    match TargetSpec::parse(&target) {
        Ok(TargetSpec::Address(a)) if !allowed(&state, a) => {
            state.metrics.count(&module_name, "rejected");
            return text(
                StatusCode::FORBIDDEN,
                format!("target {target} is outside the networks this exporter may probe\n"),
            );
        }
        Ok(TargetSpec::Address(_) | TargetSpec::Name(_)) => {}
        Ok(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "target must be one host (a name or an address), not a block or range\n".into(),
            );
        }
        Err(e) => {
            return text(StatusCode::BAD_REQUEST, format!("invalid target: {e}\n"));
        }
    }
    let Some(slot) = take_slot(&state, &target) else {
        state.metrics.count(&module_name, "rejected");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many probes running; try again later\n".into(),
        );
    };
    let started = Instant::now();
    let budget = budget(&headers, state.timeout_offset);
    let body = run_probe(&state, module, &target, budget, started).await;
    drop(slot);
    match body {
        Ok((text_body, success)) => {
            state
                .metrics
                .count(&module_name, if success { "success" } else { "failure" });
            metrics_response(text_body)
        }
        Err((status, message)) => {
            state.metrics.count(&module_name, "error");
            text(status, format!("{message}\n"))
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

fn allowed(state: &Exporter, ip: IpAddr) -> bool {
    state
        .allowed
        .as_ref()
        .is_none_or(|nets| crate::net::allows(nets, ip))
}

/// Runs the module's check on the target within `budget`; the metrics text and
/// whether the probe succeeded.
async fn run_probe(
    state: &Arc<Exporter>,
    module: &Module,
    target: &str,
    budget: Duration,
    started: Instant,
) -> Result<(String, bool), (StatusCode, String)> {
    // The scrape's budget is the run's deadline: the pipeline fits its waits into it
    // and marks the verdict interrupted (probe_success 0) if it runs out.
    let remaining = budget.saturating_sub(started.elapsed());
    let mut options = module
        .options()
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?
        .with_deadline(remaining);
    if state.allowed.is_some() {
        let st = Arc::clone(state);
        options = options.with_address_policy(AddressPolicy::new(move |ip| allowed(&st, ip)));
    }
    let plan = module
        .builder(target, options)
        .plan()
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let mut metrics = metrics::ProbeMetrics::default();
    let run = match plan.start().await {
        Ok(run) => Some(run),
        Err(StartError::AddressRefused { address, .. }) => {
            return Err((
                StatusCode::FORBIDDEN,
                format!("{target} ({address}) is outside the networks this exporter may probe"),
            ));
        }
        // A name that does not resolve (or not within the budget) is a failed probe, as
        // in blackbox_exporter.
        Err(_) => None,
    };
    let mut summary = None;
    let mut filtered = portq_probe::trace::FilteredPorts::default();
    let tracing = module.trace_filtered == Some(true);
    if let Some(mut run) = run {
        while let Some(e) = run.next().await {
            if let Event::Finding(c) = e {
                if tracing {
                    filtered.note(&c.finding);
                }
                metrics.add(&c);
            }
        }
        summary = Some(run.finish().await);
    }
    // The trace gets what the scrape budget has left: two probes per hop, each round
    // waiting a fifth of it (at most 1 s); with under a second left it is skipped.
    let left = budget.saturating_sub(started.elapsed());
    if tracing && !filtered.is_empty() && left >= Duration::from_secs(1) {
        let opts = portq_probe::trace::TraceOptions {
            probes: 2,
            wait: (left / 5).clamp(Duration::from_millis(100), Duration::from_secs(1)),
            names: false,
            ..portq_probe::trace::TraceOptions::default()
        };
        let requests = filtered.into_requests();
        match tokio::time::timeout(left, portq_probe::trace::trace(&requests, &opts)).await {
            Ok(Ok(traces)) => metrics.add_traces(&traces),
            Ok(Err(e)) => eprintln!("portq: trace of {target}: {e}"),
            Err(_) => {}
        }
    }
    let ok = metrics::success(summary.as_ref());
    Ok((metrics.encode(summary.as_ref(), started.elapsed()), ok))
}

/// Runs `portq exporter`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let listen: SocketAddr = args.listen.trim().parse().map_err(|_| {
        Failure::usage(format!(
            "invalid --listen '{}': expected ADDRESS:PORT, e.g. {DEFAULT_LISTEN}",
            args.listen
        ))
    })?;
    let nets = crate::net::parse_nets(&args.allow_targets, "--allow-target")?;
    if let Some(n) = nets.iter().find(|n| n.prefix_len() == 0) {
        return Err(Failure::usage(format!(
            "--allow-target {n} is the whole address space; name the networks you mean"
        )));
    }
    if !listen.ip().is_loopback() && nets.is_empty() {
        return Err(Failure::usage(format!(
            "--listen {listen} is reachable from the network: name the networks probes may reach with --allow-target CIDR"
        )));
    }
    if args.max_concurrent_probes == 0 || args.max_per_target == 0 {
        return Err(Failure::usage(
            "--max-concurrent-probes and --max-per-target must be at least 1",
        ));
    }
    if !(0.0..=60.0).contains(&args.timeout_offset) {
        return Err(Failure::usage(
            "--timeout-offset must be between 0 and 60 seconds",
        ));
    }
    let modules = match &args.config {
        Some(p) => Modules::load(p).map_err(Failure::usage)?,
        None => Modules::builtin(),
    };
    let tracing = modules.tracing();
    if !tracing.is_empty() {
        portq_probe::trace::can_trace().map_err(|e| {
            Failure::usage(format!(
                "module '{}' has trace_filtered: {e}",
                tracing.join("', '")
            ))
        })?;
    }
    let web = match &args.web_config {
        Some(p) => WebConfig::load(p).map_err(Failure::usage)?,
        None => WebConfig::default(),
    };
    // The certificate files are read now: one that does not load stops the start.
    let tls = match web.tls() {
        Some(settings) => Some(Arc::new(
            crate::tls::TlsServer::new(settings.clone())
                .map_err(|e| Failure::usage(format!("tls_server_config: {e}")))?,
        )),
        None => None,
    };
    let state = Exporter::new(Settings {
        modules,
        allowed: (!nets.is_empty()).then_some(nets),
        max_concurrent_probes: args.max_concurrent_probes,
        max_per_target: args.max_per_target,
        timeout_offset: args.timeout_offset,
        web,
    });
    let runtime = crate::net::runtime()?;
    runtime.block_on(serve(listen, state, tls))
}

async fn serve(
    listen: SocketAddr,
    state: Arc<Exporter>,
    tls: Option<Arc<crate::tls::TlsServer>>,
) -> Result<Status, Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::runtime(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot listen on {listen}: {e}")))?;
    if !local.ip().is_loopback() {
        eprintln!(
            "portq: warning: listening on {local}, not on loopback: whoever can reach it can make this exporter probe the --allow-target networks"
        );
    }
    if let Some(nets) = &state.allowed {
        let list: Vec<String> = nets.iter().map(ToString::to_string).collect();
        eprintln!("portq: probes limited to {}", list.join(", "));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Before the address is announced: whoever reads it may ask us to stop at once.
    let signals = crate::signals::Signals::new();
    eprintln!(
        "portq: exporter at {scheme}://{local}/probe?target=HOST&module=MODULE (Ctrl-C to stop)"
    );
    crate::net::serve_until_stopped(listener, router(state), tls, signals).await
}
