//! "Where is it dropped?" from the browser: `POST /api/trace` traces one FILTERED cell
//! of a check (one address, one port) and answers the library's [`PortTrace`] as JSON,
//! with the verdict as a sentence. Under the same switch and networks as checks
//! (`--allow-checks`, `--allow-target`), one trace at a time, and only when the console
//! has raw sockets (root or CAP_NET_RAW); else a 403 that says so.

use super::params::{MAX_BODY_BYTES, Params};
use super::{AppState, error_response};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portq_probe::trace::{PortTrace, TraceOptions, TraceRequest};
use portq_probe::{ProbeKind, Transport};
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Serialize)]
struct Answer<'a> {
    /// The verdict as the CLI words it.
    text: String,
    /// The short "dropped after" cell text.
    dropped_after: String,
    trace: &'a PortTrace,
}

/// What the form asks: one address inside the allowed networks, a port, a protocol.
fn request(p: &Params, nets: &[ipnet::IpNet]) -> Result<TraceRequest, (StatusCode, String)> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_owned());
    let address: IpAddr = p
        .text("target")
        .ok_or_else(|| bad("give the address to trace (target)"))?
        .parse()
        .map_err(|_| bad("target must be one IP address"))?;
    if !crate::net::allows(nets, address) {
        return Err(bad(&super::check::outside(&address.to_string(), nets)));
    }
    let port: u16 = p
        .text("port")
        .and_then(|s| s.parse().ok())
        .filter(|&p| p != 0)
        .ok_or_else(|| bad("port must be 1-65535"))?;
    let transport = match p.text("protocol").unwrap_or("tcp") {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        _ => return Err(bad("protocol must be tcp or udp")),
    };
    Ok(TraceRequest {
        host: address.to_string(),
        address,
        port,
        transport,
        probe: ProbeKind::for_port(transport, port, true),
        reference: false,
    })
}

/// `POST /api/trace` (a form: `target`, `port`, `protocol`).
pub async fn run_api(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fail = |s: StatusCode, m: &str| error_response(s, m, true);
    let Some(nets) = &state.cfg.checks else {
        return fail(StatusCode::FORBIDDEN, super::check::OFF);
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return fail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the trace as a form (application/x-www-form-urlencoded)",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return fail(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    };
    let p = match std::str::from_utf8(&bytes)
        .map_err(|_| "the form is not UTF-8 text".to_owned())
        .and_then(Params::parse)
    {
        Ok(p) => p,
        Err(e) => return fail(StatusCode::BAD_REQUEST, &e),
    };
    let req = match request(&p, nets) {
        Ok(r) => r,
        Err((s, m)) => return fail(s, &m),
    };
    if let Err(e) = portq_probe::trace::can_trace() {
        return fail(
            StatusCode::FORBIDDEN,
            &format!("the console cannot trace: {e}"),
        );
    }
    let Ok(_slot) = Arc::clone(&state.trace_slot).try_acquire_owned() else {
        return fail(
            StatusCode::CONFLICT,
            "a trace is already running; wait for it to finish",
        );
    };
    let traces = match portq_probe::trace::trace(&[req], &TraceOptions::default()).await {
        Ok(t) => t,
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Some(t) = traces.first() else {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "the trace gave nothing");
    };
    let answer = Answer {
        text: t.verdict.text(),
        dropped_after: crate::views::trace::dropped_after(t),
        trace: t,
    };
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response()
}
