//! `portq serve`: a local web console over the catalogue — search as you type, the
//! catalogue by service and by port, a role builder with rules downloads, RPC interface
//! names — and, when the operator allows it, checks of hosts in networks they named.
//!
//! Every asset is compiled in; the server makes no network connection of its own (the
//! optional check form is the one exception, limited to `--allow-target` networks).
//! Pages are rendered on the server and work without JavaScript; the script only makes
//! them answer as you type. See `guard` for the request checks and security headers.

mod api;
mod assets;
mod check;
pub(crate) mod guard;
mod pages;
mod params;
#[cfg(test)]
mod tests;
mod trace;
mod view;

use crate::exit::{Failure, Status};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Where the console listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8445";
/// Requests handled at once; more get 503.
const MAX_IN_FLIGHT: usize = 64;

/// Arguments of `portq serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on. The default is loopback only; any other address
    /// makes the console reachable from the network (a warning is printed).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Enable the "check a host" form: the server then sends probes to the hosts a page
    /// asks for, within the --allow-target networks (off by default).
    #[arg(long)]
    pub allow_checks: bool,
    /// A network the check form may reach (repeatable; CIDR or address). Required with --allow-checks.
    #[arg(long = "allow-target", value_name = "CIDR", requires = "allow_checks")]
    pub allow_targets: Vec<String>,
    /// Another host name the console may be reached by (repeatable). Requests whose Host
    /// header names anything else are refused (a DNS-rebinding guard).
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    /// A web config file in Prometheus exporter-toolkit's format, as for the exporter:
    /// `tls_server_config` serves HTTPS (for a console beyond loopback), and
    /// `basic_auth_users` asks for credentials.
    #[arg(long, value_name = "FILE")]
    pub web_config: Option<std::path::PathBuf>,
}

/// What the router needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address the server is bound to (the Host header must name it).
    pub listen: SocketAddr,
    /// Further host names the Host header may carry (lower case).
    pub allow_hosts: Vec<String>,
    /// `Some(networks)` when checks from the browser are on.
    pub checks: Option<Vec<IpNet>>,
    /// `https` when served over TLS, else `http` (the origin of same-site requests).
    pub scheme: &'static str,
    /// Who may use the console (`basic_auth_users`; anyone when empty).
    pub web: Arc<crate::web_config::WebConfig>,
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    cfg: Config,
    in_flight: Arc<Semaphore>,
    check_slot: Arc<Semaphore>,
    trace_slot: Arc<Semaphore>,
}

impl AppState {
    fn new(cfg: Config) -> Self {
        AppState {
            cfg,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            check_slot: Arc::new(Semaphore::new(1)),
            trace_slot: Arc::new(Semaphore::new(1)),
        }
    }

    /// True when a Host header value (`host[:port]`) names this console.
    fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = guard::split_host(host) else {
            return false;
        };
        let listen = self.cfg.listen;
        if port != listen.port() {
            return false;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            // An address literal cannot be rebound; it only has to be ours.
            return ip == listen.ip() || listen.ip().is_unspecified();
        }
        (name == "localhost" && (listen.ip().is_loopback() || listen.ip().is_unspecified()))
            || self.cfg.allow_hosts.iter().any(|h| h == name)
    }
}

/// The console's routes, with the guard around all of them.
pub fn router(cfg: Config) -> Router {
    let state = Arc::new(AppState::new(cfg));
    Router::new()
        .route("/", get(pages::search))
        .route("/services", get(pages::services))
        .route("/ports", get(pages::ports))
        .route("/roles", get(pages::roles))
        .route("/rpc", get(pages::rpc))
        .route("/check", get(check::page).post(check::run_form))
        .route("/api/lookup", get(api::lookup))
        .route("/api/roles", get(api::roles))
        .route("/api/requirements", get(api::requirements))
        .route("/api/rules", get(api::rules))
        .route("/api/rpc", get(api::rpc))
        .route("/api/check", axum::routing::post(check::run_api))
        .route("/api/trace", axum::routing::post(trace::run_api))
        .route("/assets/{name}", get(assets::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            guard::guard,
        ))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "nothing here: see the links above",
        uri.path().starts_with("/api/"),
    )
}

async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed here",
        uri.path().starts_with("/api/"),
    )
}

/// An error answer: `{"error": ...}` for the API, a small page otherwise.
pub fn error_response(status: StatusCode, message: &str, api: bool) -> Response {
    if api {
        api::json_error(status, message)
    } else {
        let title = status.canonical_reason().unwrap_or("Error");
        let main = format!(
            "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n",
            view::esc(title),
            view::esc(message)
        );
        (status, view::page(title, "error", &main)).into_response()
    }
}

fn parse_hosts(list: &[String]) -> Result<Vec<String>, Failure> {
    if list.len() > crate::net::MAX_ALLOW {
        return Err(Failure::usage(format!(
            "too many --allow-host values (the limit is {})",
            crate::net::MAX_ALLOW
        )));
    }
    list.iter()
        .map(|h| {
            let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
            let ok = !h.is_empty()
                && h.len() <= 253
                && h.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if ok {
                Ok(h)
            } else {
                Err(Failure::usage(format!(
                    "invalid --allow-host '{h}': expected a host name such as console.example.net"
                )))
            }
        })
        .collect()
}

/// Runs `portq serve`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let listen: SocketAddr = args.listen.trim().parse().map_err(|_| {
        Failure::usage(format!(
            "invalid --listen '{}': expected ADDRESS:PORT, e.g. {DEFAULT_LISTEN} or [::1]:8445",
            args.listen
        ))
    })?;
    let checks = if args.allow_checks {
        let nets = crate::net::parse_nets(&args.allow_targets, "--allow-target")?;
        if nets.is_empty() {
            return Err(Failure::usage(
                "--allow-checks needs at least one --allow-target CIDR: the networks the check form may reach",
            ));
        }
        if let Some(n) = nets.iter().find(|n| n.prefix_len() == 0) {
            return Err(Failure::usage(format!(
                "--allow-target {n} is the whole address space; name the networks you mean"
            )));
        }
        Some(nets)
    } else {
        None
    };
    let allow_hosts = parse_hosts(&args.allow_hosts)?;
    let web = match &args.web_config {
        Some(p) => crate::web_config::WebConfig::load(p).map_err(Failure::usage)?,
        None => crate::web_config::WebConfig::default(),
    };
    let tls = match web.tls() {
        Some(settings) => Some(Arc::new(
            crate::tls::TlsServer::new(settings.clone())
                .map_err(|e| Failure::usage(format!("tls_server_config: {e}")))?,
        )),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(listen, allow_hosts, checks, (Arc::new(web), tls)))
}

async fn serve(
    listen: SocketAddr,
    allow_hosts: Vec<String>,
    checks: Option<Vec<IpNet>>,
    (web, tls): (
        Arc<crate::web_config::WebConfig>,
        Option<Arc<crate::tls::TlsServer>>,
    ),
) -> Result<Status, Failure> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::runtime(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot listen on {listen}: {e}")))?;
    if !local.ip().is_loopback() {
        eprintln!(
            "portq: warning: listening on {local}, not on loopback: anyone who can reach this address can use the console{}",
            if checks.is_some() {
                ", including its check form"
            } else {
                ""
            }
        );
    }
    if let Some(nets) = &checks {
        let list: Vec<String> = nets.iter().map(ToString::to_string).collect();
        eprintln!(
            "portq: checks from the browser are on, limited to {}",
            list.join(", ")
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Before the address is announced: whoever reads it may ask us to stop at once.
    let signals = crate::signals::Signals::new();
    eprintln!("portq: console at {scheme}://{local}/ (Ctrl-C to stop)");
    let app = router(Config {
        listen: local,
        allow_hosts,
        checks,
        scheme,
        web,
    });
    crate::net::serve_until_stopped(listener, app, tls, signals).await
}
