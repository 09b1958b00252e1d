//! The exporter's routes, request by request, with probes of loopback ports this test
//! binds (and documentation addresses that are refused before anything is sent).

use super::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

fn exporter(
    allowed: Option<&[&str]>,
    max: usize,
    per_target: usize,
    config: &str,
) -> Arc<Exporter> {
    Exporter::new(Settings {
        modules: Modules::parse(config).unwrap(),
        allowed: allowed.map(|a| a.iter().map(|n| n.parse().unwrap()).collect()),
        max_concurrent_probes: max,
        max_per_target: per_target,
        timeout_offset: 0.5,
        web: WebConfig::default(),
    })
}

async fn get(state: Arc<Exporter>, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router(state)
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The value of a series, e.g. `portq_port_up{port="80",protocol="tcp",...}`.
fn value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            return None;
        }
        if !labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        {
            return None;
        }
        l.rsplit(' ').next()?.parse().ok()
    })
}

const PORTS_MODULE: &str =
    "modules:\n  pair:\n    ports: \"tcp:{open},{closed}\"\n    timeout: 0.3\n    retries: 1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_answers_with_blackbox_names_and_a_series_per_port() {
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let po = open.local_addr().unwrap().port();
    let pc = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = PORTS_MODULE
        .replace("{open}", &po.to_string())
        .replace("{closed}", &pc.to_string());
    let state = exporter(None, 4, 2, &config);
    let (status, body) = get(
        Arc::clone(&state),
        "/probe?target=127.0.0.1&module=pair",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "5")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let port = |p: u16| p.to_string();
    assert_eq!(
        value(
            &body,
            "portq_port_up",
            &[("port", &port(po)), ("protocol", "tcp")]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value(&body, "portq_port_up", &[("port", &port(pc))]),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        value(
            &body,
            "portq_port_state",
            &[("port", &port(pc)), ("state", "not_listening")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &body,
            "portq_port_state",
            &[("port", &port(pc)), ("state", "listening")]
        ),
        Some(0.0)
    );
    // Each family's series come sorted by port, then protocol and state.
    for family in ["portq_port_up{", "portq_port_state{"] {
        let ports: Vec<u32> = body
            .lines()
            .filter(|l| l.starts_with(family))
            .filter_map(|l| l.split("port=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        assert!(ports.len() >= 2, "{body}");
        assert!(
            ports.windows(2).all(|w| w[0] <= w[1]),
            "{family}: {ports:?}"
        );
    }
    // A port list without roles succeeds only when every port listens.
    assert_eq!(value(&body, "probe_success", &[]), Some(0.0));
    assert!(value(&body, "probe_duration_seconds", &[]).is_some_and(|d| d > 0.0 && d < 5.0));
    assert_eq!(value(&body, "portq_probe_timed_out", &[]), Some(0.0));
    // The exporter's own metrics counted it.
    let (_, own) = get(state, "/metrics", &[]).await;
    assert_eq!(
        value(
            &own,
            "portq_exporter_probes_total",
            &[("module", "pair"), ("result", "failure")]
        ),
        Some(1.0),
        "{own}"
    );
    drop(open);
}

#[tokio::test]
async fn bad_requests_are_4xx_with_a_reason() {
    let state = exporter(Some(&["10.0.0.0/8"]), 4, 2, "");
    for (uri, want, text) in [
        (
            "/probe?module=dns-server",
            StatusCode::BAD_REQUEST,
            "target parameter is missing",
        ),
        (
            "/probe?target=10.0.0.1",
            StatusCode::BAD_REQUEST,
            "module parameter is missing",
        ),
        (
            "/probe?target=10.0.0.1&module=nope",
            StatusCode::BAD_REQUEST,
            "unknown module",
        ),
        (
            "/probe?target=10.0.0.0/24&module=dns-server",
            StatusCode::BAD_REQUEST,
            "one host",
        ),
        (
            "/probe?target=bad%20host&module=dns-server",
            StatusCode::BAD_REQUEST,
            "invalid target",
        ),
        (
            "/probe?target=192.0.2.1&module=dns-server",
            StatusCode::FORBIDDEN,
            "outside the networks",
        ),
        (
            "/probe?target=10.0.0.1&target=10.0.0.2&module=dns-server",
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ] {
        let (status, body) = get(Arc::clone(&state), uri, &[]).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert!(body.contains(text), "{uri}: {body}");
        assert_eq!(body.lines().count(), 1, "{uri}: {body}");
    }
    let long = format!("/probe?target={}&module=dns-server", "a".repeat(300));
    assert_eq!(
        get(Arc::clone(&state), &long, &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    // A web page cannot use the exporter.
    let (status, _) = get(
        Arc::clone(&state),
        "/probe?target=10.0.0.1&module=dns-server",
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = get(Arc::clone(&state), "/-/healthy", &[]).await;
    assert_eq!((status, body.trim()), (StatusCode::OK, "Healthy"));
    let (status, body) = get(state, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("domain-controller"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturation_is_a_503_never_a_queue() {
    // A UDP socket of ours that never answers keeps a probe busy (every attempt waits out
    // its timeout) while the next request arrives.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = udp.local_addr().unwrap().port();
    let config = format!("modules:\n  slow:\n    ports: \"udp:{uport}\"\n    timeout: 2\n");
    let state = exporter(None, 1, 1, &config);
    let first = tokio::spawn(get(
        Arc::clone(&state),
        "/probe?target=127.0.0.1&module=slow",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "3")],
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let (status, body) = get(
        Arc::clone(&state),
        "/probe?target=127.0.0.1&module=slow",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "answered at once"
    );
    let (status, body) = first.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    // The scrape timeout (3 s less the 0.5 s offset) bounded the probe.
    let took = value(&body, "probe_duration_seconds", &[]).unwrap();
    assert!(took < 2.9, "{took}");
    drop(udp);
}
