//! What every request passes before a handler sees it, and what every response carries:
//! the Host check (DNS rebinding), the Origin check (cross-site requests), size bounds,
//! an in-flight limit, and the security headers. (The listener that bounds connections
//! and closes idle ones is `crate::net`'s, shared with the exporter.)

use super::params::{MAX_BODY_BYTES, MAX_QUERY_BYTES};
use super::{AppState, error_response};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Longest request target (path and query), in bytes.
const MAX_URI_BYTES: usize = MAX_QUERY_BYTES + 1024;

/// Refuses what must not reach a handler; adds the security headers to every answer.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = match screen(&state, &req, api) {
        Err((status, message)) => error_response(status, &message, api),
        Ok(()) if !state.cfg.web.authorized(req.headers()) => {
            let mut r = error_response(StatusCode::UNAUTHORIZED, "authentication required", api);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portq console\""),
            );
            r
        }
        Ok(()) => match Arc::clone(&state.in_flight).try_acquire_owned() {
            Ok(permit) => {
                let response = next.run(req).await;
                drop(permit);
                response
            }
            Err(_) => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the console is busy; try again in a moment",
                api,
            ),
        },
    };
    with_security_headers(response)
}

/// The checks of [`guard`], as a status and a message when the request is refused.
fn screen(state: &AppState, req: &Request, api: bool) -> Result<(), (StatusCode, String)> {
    let uri = req.uri();
    let target_len = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if target_len > MAX_URI_BYTES {
        return Err((
            StatusCode::URI_TOO_LONG,
            format!("request target too long (the limit is {MAX_URI_BYTES} bytes)"),
        ));
    }
    let host = request_host(req.headers(), uri).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "missing or malformed Host header".to_owned(),
        )
    })?;
    if !state.host_allowed(&host) {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this console answers only to {}://{}/ (start it with --allow-host NAME to reach it by another name)",
                state.cfg.scheme, state.cfg.listen
            ),
        ));
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    if api || !reads {
        let headers = req.headers();
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = origin
                .to_str()
                .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("{}://{host}", state.cfg.scheme)));
            if !same {
                return Err((
                    StatusCode::FORBIDDEN,
                    "cross-origin request refused".to_owned(),
                ));
            }
        }
        if let Some(site) = headers.get("sec-fetch-site")
            && !matches!(site.to_str(), Ok("same-origin" | "none"))
        {
            return Err((
                StatusCode::FORBIDDEN,
                "cross-site request refused".to_owned(),
            ));
        }
    }
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH) {
        let len = len.to_str().ok().and_then(|l| l.parse::<u64>().ok());
        match len {
            Some(n) if n <= MAX_BODY_BYTES as u64 => {}
            Some(_) => {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body too large (the limit is {MAX_BODY_BYTES} bytes)"),
                ));
            }
            None => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "malformed Content-Length".to_owned(),
                ));
            }
        }
    }
    Ok(())
}

/// The `host[:port]` the request was sent to, lower-cased: the URI's authority when the
/// request line carried one, else the single Host header.
fn request_host(headers: &HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let header_host = match (hosts.next(), hosts.next()) {
        (Some(h), None) => Some(h.to_str().ok()?.trim().to_ascii_lowercase()),
        (None, None) => None,
        _ => return None,
    };
    let authority = uri.authority().map(|a| a.as_str().to_ascii_lowercase());
    match (authority, header_host) {
        (Some(a), Some(h)) if a != h => None,
        (Some(a), _) => Some(a),
        (None, h) => h.filter(|h| !h.is_empty()),
    }
}

/// Splits `host[:port]` (IPv6 in brackets) into host and port; no port means 80.
pub fn split_host(text: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let port = match port {
        None => 80,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
    };
    (!host.is_empty()).then_some((host, port))
}

fn with_security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_hosts() {
        assert_eq!(split_host("127.0.0.1:8445"), Some(("127.0.0.1", 8445)));
        assert_eq!(split_host("[::1]:8445"), Some(("::1", 8445)));
        assert_eq!(split_host("[::1]"), Some(("::1", 80)));
        assert_eq!(split_host("localhost"), Some(("localhost", 80)));
        assert_eq!(split_host("evil.example:"), None);
        assert_eq!(split_host(":80"), None);
        assert_eq!(split_host("[::1]x"), None);
        assert_eq!(split_host("a:99999"), None);
    }
}
