//! HTTP-level tests of the console: the router is called directly (`tower::ServiceExt::oneshot`),
//! no socket is opened except by the check tests, which bind their own loopback listener.

use super::*;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8445";
const ORIGIN: &str = "http://127.0.0.1:8445";

fn cfg() -> Config {
    Config {
        listen: HOST.parse().unwrap(),
        allow_hosts: vec!["console.example.net".into()],
        checks: None,
        scheme: "http",
        web: Arc::default(),
    }
}

fn checks_cfg(nets: &[&str]) -> Config {
    Config {
        checks: Some(nets.iter().map(|n| n.parse().unwrap()).collect()),
        ..cfg()
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts a 400 with `{"error": "..."}` and returns the message.
    fn bad_request(&self) -> String {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.body);
        assert!(self.content_type().starts_with("application/json"));
        self.json()["error"]
            .as_str()
            .expect("error text")
            .to_owned()
    }
}

fn request(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
}

async fn send_to(config: Config, req: Request<Body>) -> Answer {
    let response = router(config).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn send(req: Request<Body>) -> Answer {
    send_to(cfg(), req).await
}

async fn get(path: &str) -> Answer {
    send(request(Method::GET, path).body(Body::empty()).unwrap()).await
}

fn form(path: &str, body: &str) -> Request<Body> {
    request(Method::POST, path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn assert_security_headers(a: &Answer, what: &str) {
    let h = |name: &str| {
        a.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_owned()
    };
    assert_eq!(h("content-security-policy"), guard::CSP, "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
}

// ---------------------------------------------------------------- pages

const PAGES: &[&str] = &[
    "/",
    "/?q=445",
    "/?q=kerberos",
    "/?q=kerbros",
    "/?q=3269",
    "/?q=22&iana=1",
    "/services",
    "/ports",
    "/roles",
    "/roles?role=dc",
    "/roles?opts=1&role=domain-controller&opt=domain-controller%3Agc&from=10.0.0.0%2F8&management=10.0.9.1&preview=nftables",
    "/rpc",
    "/rpc?q=samr",
    "/rpc?q=12345778-1234-abcd-ef00-0123456789ac",
    "/check",
];

#[tokio::test]
async fn pages_are_html_with_the_security_headers() {
    for path in PAGES {
        let a = get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(a.content_type(), "text/html; charset=utf-8", "{path}");
        assert_security_headers(&a, path);
        assert!(a.body.starts_with("<!doctype html>"), "{path}");
        // The CSP allows no inline script or style: the pages use none.
        assert_eq!(a.body.matches("<script").count(), 1, "{path}");
        assert!(
            a.body
                .contains("<script src=\"/assets/app.js\" defer></script>"),
            "{path}"
        );
        for inline in ["<style", " style=", " onclick=", " onload=", "javascript:"] {
            assert!(!a.body.contains(inline), "{path} has {inline}");
        }
    }
}

#[tokio::test]
async fn search_page_answers_without_script() {
    let a = get("/?q=kerberos").await;
    assert!(a.body.contains("7 answers for “kerberos”."), "{}", a.body);
    assert!(a.body.contains("<td class=\"port\">88</td><td>TCP</td>"));
    assert!(a.body.contains("<td class=\"port\">88</td><td>UDP</td>"));
    let a = get("/?q=kerbros").await;
    assert!(a.body.contains("did you mean “kerberos”?"));
    let a = get("/?q=70000").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("ports are numbers from 1 to 65535"));
}

#[tokio::test]
async fn every_answer_row_cites_its_source() {
    let a = get("/?q=3391/udp").await;
    assert!(
        a.body.contains(
            "<small class=\"cite\">Ports that are used by Remote Desktop Services, \u{a7} RD Gateway, 2026-02-12"
        ),
        "{}",
        a.body
    );
    let a = get("/?q=137/tcp").await;
    assert!(a.body.contains("cluster-137: superseded"), "{}", a.body);
    let a = get("/api/lookup?q=3391/udp").await;
    let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(v["rows"][0]["citations"][0]["document"], "rds");
    assert_eq!(v["rows"][0]["citations"][0]["date"], "2026-02-12");
}

#[tokio::test]
async fn role_builder_without_script() {
    let a = get("/roles").await;
    assert!(a.body.contains("Tick at least one role."));
    // Options start at their defaults.
    assert!(a.body.contains("value=\"domain-controller:gc\" checked"));
    assert!(a.body.contains("value=\"domain-controller:frs\">"));
    let a = get("/roles?opts=1&role=domain-controller&opt=domain-controller%3Agc&from=10.0.0.0%2F8&management=10.0.9.1&preview=nftables").await;
    assert!(
        a.body
            .contains("for domain-controller:gc,no-dns,no-netbios,no-frs.")
    );
    assert!(a.body.contains("table inet portq"), "nftables preview");
    assert!(a.body.contains(
        "href=\"/api/rules?role=domain-controller%3Agc%2Cno-dns%2Cno-netbios%2Cno-frs&amp;from=10.0.0.0%2F8&amp;management=10.0.9.1&amp;format=nftables\""
    ));
    assert!(
        a.body.contains("tcp dport 22 accept"),
        "SSH from --management in the preview"
    );
    // Without management access the preview says why there are no rules.
    let a = get("/roles?opts=1&role=domain-controller&from=10.0.0.0%2F8&preview=nftables").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("--no-management-access"), "{}", a.body);
    let a = get("/roles?role=dc&from=10.0.0.300").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body
            .contains("invalid address or CIDR &#39;10.0.0.300&#39;")
    );
}

#[tokio::test]
async fn assets_are_embedded() {
    for (path, ty) in [
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let a = get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.content_type(), ty, "{path}");
        assert!(a.body.len() > 100, "{path}");
        assert_security_headers(&a, path);
    }
    assert_eq!(get("/assets/other.js").await.status, StatusCode::NOT_FOUND);
    // The script never writes markup from data.
    let js = get("/assets/app.js").await.body;
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let a = get("/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.content_type(), "text/html; charset=utf-8");
    assert_security_headers(&a, "/nope");
    let a = get("/api/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.json()["error"].is_string());
}

#[tokio::test]
async fn head_works_and_other_methods_do_not() {
    let a = send(request(Method::HEAD, "/").body(Body::empty()).unwrap()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.is_empty());
    for (method, path) in [
        (Method::POST, "/api/lookup"),
        (Method::DELETE, "/"),
        (Method::PUT, "/roles"),
        (Method::GET, "/api/check"),
    ] {
        let a = send(
            request(method.clone(), path)
                .header(header::ORIGIN, ORIGIN)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

// ---------------------------------------------------------------- API

#[tokio::test]
async fn lookup_api() {
    let a = get("/api/lookup?q=kerberos").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/json");
    assert_security_headers(&a, "/api/lookup");
    let v = a.json();
    assert_eq!(v["query"], "kerberos");
    let rows = v["rows"].as_array().unwrap();
    for proto in ["tcp", "udp"] {
        assert!(
            rows.iter()
                .any(|r| r["port_start"] == 88 && r["protocol"] == proto),
            "88/{proto}"
        );
    }
    // Same fields as `portq lookup --format json`.
    for field in [
        "service",
        "service_name",
        "service_id",
        "port_end",
        "qualifiers",
        "source",
    ] {
        assert!(rows[0].get(field).is_some(), "{field}");
    }
    let v = get("/api/lookup?q=kerbros").await.json();
    assert_eq!(v["did_you_mean"], "kerberos");
    let v = get("/api/lookup?q=3269").await.json();
    assert!(v["ranges_left_out"].as_u64().unwrap() > 0);
    let with = get("/api/lookup?q=3269&ranges=1").await.json();
    assert!(with["rows"].as_array().unwrap().len() > v["rows"].as_array().unwrap().len());
    let v = get("/api/lookup?q=873%2Ftcp").await.json();
    assert_eq!(v["rows"][0]["source"], "iana");
    // A wide range with IANA answers is bounded.
    let v = get("/api/lookup?q=1-65535&iana=1").await.json();
    assert_eq!(v["truncated"], true);
    assert_eq!(v["rows"].as_array().unwrap().len(), api::MAX_ROWS);
}

#[tokio::test]
async fn roles_and_requirements_api() {
    let v = get("/api/roles").await.json();
    let roles = v.as_array().unwrap();
    assert_eq!(roles.len(), portq_catalog::roles().len());
    let dc = roles
        .iter()
        .find(|r| r["id"] == "domain-controller")
        .unwrap();
    assert!(
        dc["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == "gc" && o["default"] == true)
    );

    let v = get("/api/requirements?role=dc&role=dns").await.json();
    assert_eq!(v["roles"], serde_json::json!(["dc", "dns"]));
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["port_start"] == 53 && r["roles"].as_array().unwrap().len() == 2)
    );
    let all = get("/api/requirements?role=dc").await.json()["rows"]
        .as_array()
        .unwrap()
        .len();
    let fewer = get("/api/requirements?role=dc%3Ano-gc").await.json()["rows"]
        .as_array()
        .unwrap()
        .len();
    assert!(fewer < all);
}

#[tokio::test]
async fn rules_download_in_every_format() {
    let mut seen = 0;
    for format in portq_rules::RuleFormat::ALL {
        let (name, file, content_type) = (format.name(), format.file_name(), format.mime());
        let a = get(&format!(
            "/api/rules?role=dc&role=dns&from=10.0.0.0%2F8,2001%3Adb8%3A%3A%2F32&management=10.0.9.0%2F24&format={name}"
        ))
        .await;
        assert_eq!(a.status, StatusCode::OK, "{name}: {}", a.body);
        assert_eq!(a.content_type(), content_type, "{name}");
        assert_eq!(
            a.headers.get(header::CONTENT_DISPOSITION).unwrap(),
            &format!("attachment; filename=\"{file}\""),
            "{name}"
        );
        assert_security_headers(&a, name);
        assert!(a.body.len() > 100, "{name} is nearly empty");
        if name != "ip6tables" {
            assert!(a.body.contains("10.0.0.0/8"), "{name} lacks the source");
        }
        seen += 1;
    }
    assert_eq!(seen, 12);
    // A drop policy without management access would lock the administrator out.
    let locked = get("/api/rules?role=dc&from=10.0.0.0%2F8&format=nftables").await;
    assert_eq!(locked.status, StatusCode::BAD_REQUEST);
    assert!(locked.body.contains("--management"), "{}", locked.body);
    let nft = get("/api/rules?role=dc&from=10.0.0.0%2F8&format=nftables&no_management_access=1")
        .await
        .body;
    assert!(nft.contains("table inet portq"));
    let ssh = get("/api/rules?role=dc&from=any&format=nftables&management=10.0.9.0%2F24")
        .await
        .body;
    assert!(
        ssh.contains("ip saddr { 10.0.9.0/24 } tcp dport 22 accept"),
        "{ssh}"
    );
    // Network mode and a cloud format from the same form.
    // Issue 22: no sources, no rules (never every address by default).
    let open = get("/api/rules?role=dc&format=aws").await;
    assert_eq!(open.status, StatusCode::BAD_REQUEST);
    assert!(open.body.contains("--from any"), "{}", open.body);
    let aws = get("/api/rules?role=dc&format=aws&from=10.0.0.0%2F8&to=10.0.1.10-10.0.1.11").await;
    assert_eq!(aws.status, StatusCode::OK, "{}", aws.body);
    assert!(
        aws.json()["IpPermissions"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let fwd = get("/api/rules?role=dc&format=nftables&from=10.0.0.0%2F8&to=10.0.1.10-10.0.1.11")
        .await
        .body;
    assert!(
        fwd.contains("ip daddr { 10.0.1.10/31 } jump to-servers"),
        "{fwd}"
    );
    let json = get("/api/rules?role=dc&from=10.0.0.0%2F8").await;
    assert_eq!(json.content_type(), "application/json");
    assert!(json.json().as_array().is_some_and(|a| !a.is_empty()));
    let narrowed =
        get("/api/rules?role=dc&from=10.0.0.0%2F8&rpc_range=5000-5100&static_port=ntds%3D38901&management=10.0.9.1&format=nftables")
            .await;
    assert!(narrowed.body.contains("5000-5100"), "{}", narrowed.body);
    let accept = get("/api/rules?role=dc&from=10.0.0.0%2F8&format=nftables&no_default_drop=1")
        .await
        .body;
    assert!(accept.contains("policy accept"));
}

#[tokio::test]
async fn rpc_api() {
    let v = get("/api/rpc?uuid=12345778-1234-ABCD-EF00-0123456789AC")
        .await
        .json();
    let first = &v["interfaces"][0];
    assert_eq!(first["short_name"], "samr");
    assert_eq!(first["service_id"], "lsass");
    assert_eq!(first["uuid"], "12345778-1234-abcd-ef00-0123456789ac");
    let v = get("/api/rpc?q=netlogon").await.json();
    assert!(
        v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["short_name"] == "netlogon")
    );
    let v = get("/api/rpc?uuid=00000000-0000-0000-0000-000000000001")
        .await
        .json();
    assert_eq!(v["total"], 0);
}

#[tokio::test]
async fn bad_input_is_a_400_with_a_json_error() {
    let long_q = format!("/api/lookup?q={}", "x".repeat(201));
    let long_query = format!("/api/lookup?q=1&pad={}", "y".repeat(3000));
    let cases: &[&str] = &[
        "/api/lookup",
        "/api/lookup?q=",
        "/api/lookup?q=%20%20",
        "/api/lookup?q=70000",
        "/api/lookup?q=0",
        "/api/lookup?q=5-3",
        "/api/lookup?q=445%2Fsctp",
        "/api/lookup?q=%zz",
        "/api/lookup?q=%ff%fe",
        &long_q,
        "/api/requirements",
        "/api/requirements?role=nope",
        "/api/requirements?role=dc%3Abogus",
        "/api/rules",
        "/api/rules?role=",
        "/api/rules?role=domain-controler",
        "/api/rules?role=dc&format=pdf",
        "/api/rules?role=dc&from=10.0.0.300",
        "/api/rules?role=dc&from=evil.example",
        "/api/rules?role=dc&peers=1.2.3.4%2F99",
        "/api/rules?role=dc&rpc_range=80-90",
        "/api/rules?role=dc&rpc_range=6000-5000",
        "/api/rules?role=dc&rpc_range=5000-5010",
        "/api/rules?role=dc&static_port=bogus%3D1",
        "/api/rules?role=dc&static_port=ntds%3D389",
        "/api/rpc",
        "/api/rpc?uuid=nope",
        "/api/rpc?uuid=",
        "/api/rpc?q=",
    ];
    for path in cases {
        let a = get(path).await;
        let e = a.bad_request();
        assert!(!e.is_empty(), "{path}");
    }
    assert!(get(&long_q).await.bad_request().contains("too long"));
    assert!(get(&long_query).await.bad_request().contains("too long"));
    let e = get("/api/lookup?q=70000").await.bad_request();
    assert_eq!(e, "invalid port '70000': ports are numbers from 1 to 65535");
}

#[tokio::test]
async fn odd_input_never_makes_a_500() {
    let odd = [
        "",
        "%00",
        "%0a%0d",
        "-",
        "/",
        "//",
        "65536",
        "1-",
        "-1",
        "1--2",
        "%E2%80%AE",
        "%F0%9F%92%A3",
        "a%2Fb%2Fc",
        "99999999999999999999999",
        "%3C%3E%22%27%26",
        "+",
        "%2B",
        "tcp%3A",
    ];
    let routes = [
        "/?q=",
        "/api/lookup?q=",
        "/api/rpc?q=",
        "/api/rpc?uuid=",
        "/rpc?q=",
        "/api/rules?role=dc&from=",
        "/api/rules?role=",
        "/api/requirements?role=",
        "/roles?role=dc&rpc_range=",
        "/roles?role=dc&preview=",
        "/api/rules?role=dc&format=",
    ];
    for route in routes {
        for o in odd {
            let path = format!("{route}{o}");
            let a = get(&path).await;
            assert!(a.status.as_u16() < 500, "{path}: {}", a.status);
            assert_security_headers(&a, &path);
        }
    }
}

// ---------------------------------------------------------------- XSS

#[tokio::test]
async fn markup_in_queries_is_text() {
    let evil = "<script>alert(1)</script>";
    let q = params::encode(evil);
    let a = get(&format!("/?q={q}")).await;
    assert_ne!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!a.body.contains("<script>alert"), "{}", a.body);
    assert!(a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_eq!(a.body.matches("<script").count(), 1);

    // A text query that is echoed back.
    let a = get(&format!(
        "/?q={}",
        params::encode("<img src=x onerror=alert(1)>")
    ))
    .await;
    assert!(
        a.body
            .contains("Nothing known about “&lt;img src=x onerror=alert(1)&gt;”.")
    );
    assert!(!a.body.contains("<img src=x"));

    // The JSON is just data.
    let a = get(&format!("/api/lookup?q={q}")).await;
    assert_ne!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.json()["query"], evil);
    let v = get(&format!("/api/lookup?q={}", params::encode("<b>bold")))
        .await
        .json();
    assert_eq!(v["query"], "<b>bold");

    for path in [
        format!("/rpc?q={q}"),
        format!("/roles?role={q}"),
        format!("/roles?role=dc&from={q}"),
        format!("/roles?role=dc&preview={q}"),
        format!("/nope{q}"),
    ] {
        let a = get(&path).await;
        assert!(!a.body.contains("<script>alert"), "{path}: {}", a.body);
    }
}

// ---------------------------------------------------------------- request guards

#[tokio::test]
async fn foreign_origins_are_refused() {
    for (method, path) in [
        (Method::GET, "/api/lookup?q=445"),
        (Method::GET, "/api/roles"),
        (Method::GET, "/api/rules?role=dc"),
        (Method::POST, "/check"),
        (Method::POST, "/api/check"),
        (Method::POST, "/api/trace"),
    ] {
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:8446",
            "https://127.0.0.1:8445",
        ] {
            let a = send(
                request(method.clone(), path)
                    .header(header::ORIGIN, origin)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(
                a.status,
                StatusCode::FORBIDDEN,
                "{method} {path} from {origin}"
            );
            assert_security_headers(&a, path);
        }
        let a = send(
            request(method.clone(), path)
                .header("sec-fetch-site", "cross-site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {path} cross-site"
        );
    }
    let api = send(
        request(Method::GET, "/api/lookup?q=445")
            .header(header::ORIGIN, "http://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        api.json()["error"]
            .as_str()
            .unwrap()
            .contains("cross-origin")
    );
    // The same origin is fine, and so is a link to a read-only page from elsewhere.
    let same = send(
        request(Method::GET, "/api/lookup?q=445")
            .header(header::ORIGIN, ORIGIN)
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK);
    let linked = send(
        request(Method::GET, "/?q=445")
            .header("sec-fetch-site", "cross-site")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(linked.status, StatusCode::OK);
}

async fn with_host(host: Option<&str>) -> StatusCode {
    let mut b = Request::builder().uri("/api/roles");
    if let Some(h) = host {
        b = b.header(header::HOST, h);
    }
    send(b.body(Body::empty()).unwrap()).await.status
}

#[tokio::test]
async fn host_header_must_name_the_console() {
    assert_eq!(with_host(Some("127.0.0.1:8445")).await, StatusCode::OK);
    assert_eq!(with_host(Some("localhost:8445")).await, StatusCode::OK);
    assert_eq!(with_host(Some("LOCALHOST:8445")).await, StatusCode::OK);
    assert_eq!(
        with_host(Some("console.example.net:8445")).await,
        StatusCode::OK
    );
    for bad in [
        "evil.example:8445",
        "evil.example",
        "127.0.0.1:8446",
        "127.0.0.1",
        "localhost",
        "10.0.0.1:8445",
        "127.0.0.1:8445:1",
        "",
    ] {
        let s = with_host(Some(bad)).await;
        assert!(
            s == StatusCode::MISDIRECTED_REQUEST || s == StatusCode::BAD_REQUEST,
            "{bad}: {s}"
        );
    }
    assert_eq!(with_host(None).await, StatusCode::BAD_REQUEST);
    // Two Host headers are refused too.
    let a = send(
        Request::builder()
            .uri("/")
            .header(header::HOST, HOST)
            .header(header::HOST, "evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // Listening on every address: any address literal, but still no foreign name.
    let any = Config {
        listen: "0.0.0.0:8445".parse().unwrap(),
        allow_hosts: Vec::new(),
        checks: None,
        scheme: "http",
        web: Arc::default(),
    };
    for (host, ok) in [("192.0.2.7:8445", true), ("evil.example:8445", false)] {
        let a = send_to(
            any.clone(),
            Request::builder()
                .uri("/")
                .header(header::HOST, host)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status == StatusCode::OK, ok, "{host}");
    }
}

#[tokio::test]
async fn request_sizes_are_bounded() {
    let a = send_to(
        checks_cfg(&["127.0.0.1/32"]),
        request(Method::POST, "/api/check")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, "20000")
            .body(Body::from("x".repeat(20_000)))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.json()["error"].is_string());
    // Without a length, the body is still read only up to the limit.
    let chunks = futures::stream::iter(
        (0..40).map(|_| Ok::<_, std::convert::Infallible>("targets=127.0.0.1&".repeat(30))),
    );
    let a = send_to(
        checks_cfg(&["127.0.0.1/32"]),
        request(Method::POST, "/api/check")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from_stream(chunks))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    let long = format!("/{}", "a".repeat(5000));
    assert_eq!(get(&long).await.status, StatusCode::URI_TOO_LONG);
}

// ---------------------------------------------------------------- checks

#[tokio::test]
async fn checks_are_off_by_default() {
    let a = get("/check").await;
    assert!(a.body.contains("Checks from the browser are off."));
    assert!(!a.body.contains("<form id=\"check-form\""));
    for path in ["/api/check", "/check"] {
        let a = send(form(path, "targets=127.0.0.1&ports=tcp%3A1")).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    let a = send(form("/api/check", "targets=127.0.0.1&ports=tcp%3A1")).await;
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .contains("--allow-checks")
    );
}

#[tokio::test]
async fn checks_stay_inside_the_allowed_networks() {
    let c = || checks_cfg(&["127.0.0.1/32", "192.0.2.0/28"]);
    let page = send_to(
        c(),
        request(Method::GET, "/check").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(page.body.contains("<form id=\"check-form\""));
    assert!(page.body.contains("127.0.0.1/32, 192.0.2.0/28"));
    for (body, expect) in [
        ("targets=10.1.2.3&ports=tcp%3A445", "outside"),
        ("targets=127.0.0.2&ports=tcp%3A445", "outside"),
        ("targets=192.0.2.0%2F24&ports=tcp%3A445", "outside"),
        ("targets=127.0.0.1%2C10.0.0.1&ports=tcp%3A445", "outside"),
        ("targets=%40%2Fetc%2Fpasswd&ports=tcp%3A445", "file"),
        ("targets=&ports=tcp%3A445", "give a host"),
        ("targets=127.0.0.1", "give ports"),
        ("targets=127.0.0.1&ports=tcp%3A1-2000", "at most"),
        ("targets=192.0.2.0%2F28&ports=tcp%3A1-300", "at most"),
        ("targets=127.0.0.1&ports=tcp%3A99999", "99999"),
        ("targets=127.0.0.1&role=nope", "unknown role"),
        ("targets=0.0.0.0%2F0&ports=tcp%3A1", "whole"),
        ("targets=127.0.0.0%2F8&ports=tcp%3A1", "outside"),
    ] {
        let a = send_to(c(), form("/api/check", body)).await;
        let e = a.bad_request();
        assert!(e.contains(expect), "{body}: {e}");
    }
    // Inside the allowed networks, but too many at once.
    let big = send_to(
        checks_cfg(&["10.0.0.0/8"]),
        form("/api/check", "targets=10.0.0.0%2F16&ports=tcp%3A445"),
    )
    .await
    .bad_request();
    assert!(big.contains("65536 addresses"), "{big}");
    // Not a form.
    let a = send_to(
        c(),
        request(Method::POST, "/api/check")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // The page form shows the error next to the form, escaped.
    let a = send_to(
        c(),
        form("/check", "targets=%3Cb%3Ex%3C%2Fb%3E&ports=tcp%3A1"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("<form id=\"check-form\""));
    assert!(a.body.contains("&lt;b&gt;x&lt;/b&gt;"));
    assert!(!a.body.contains("<b>x</b>"));
}

/// `POST /api/trace` is off with checks, and refuses anything but one allowed address,
/// a port and tcp or udp, before it would open a raw socket.
#[tokio::test]
async fn traces_stay_inside_the_allowed_networks() {
    let a = send(form("/api/trace", "target=127.0.0.1&port=445")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.json()["error"]
            .as_str()
            .unwrap()
            .contains("--allow-checks")
    );
    let c = || checks_cfg(&["192.0.2.0/28"]);
    for (body, expect) in [
        ("target=10.1.2.3&port=445", "outside"),
        ("target=192.0.2.16&port=445", "outside"),
        ("target=192.0.2.0%2F28&port=445", "one IP address"),
        ("target=dc01&port=445", "one IP address"),
        ("port=445", "give the address"),
        ("target=192.0.2.1", "port must be"),
        ("target=192.0.2.1&port=0", "port must be"),
        ("target=192.0.2.1&port=70000", "port must be"),
        ("target=192.0.2.1&port=445&protocol=icmp", "tcp or udp"),
    ] {
        let e = send_to(c(), form("/api/trace", body)).await.bad_request();
        assert!(e.contains(expect), "{body}: {e}");
    }
    let a = send_to(
        c(),
        request(Method::POST, "/api/trace")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// A listener of our own, and a port that was free a moment ago (closed).
fn own_ports() -> (std::net::TcpListener, u16) {
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    (open, closed_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_streams_findings_as_ndjson() {
    let (open, closed) = own_ports();
    let port = open.local_addr().unwrap().port();
    let body = format!("targets=127.0.0.1&ports=tcp%3A{port}%2C{closed}&probes=0");
    let a = send_to(checks_cfg(&["127.0.0.1/32"]), form("/api/check", &body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type(), "application/x-ndjson");
    assert_security_headers(&a, "/api/check");
    let lines: Vec<Value> = a
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "start");
    assert_eq!(lines[0]["total"], 2);
    assert_eq!(lines[0]["targets"][0]["address"], "127.0.0.1");
    let state = |p: u16| {
        lines
            .iter()
            .find(|l| l["type"] == "finding" && l["port"] == p)
            .map(|l| l["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state(port).as_deref(), Some("listening"));
    assert_eq!(state(closed).as_deref(), Some("not_listening"));
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["summary"]["states"]["listening"], 1);
    assert_eq!(end["summary"]["states"]["not_listening"], 1);
    assert!(
        end["verdict"][0]
            .as_str()
            .unwrap()
            .starts_with("2 checked on 1 host")
    );
    drop(open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_form_works_without_script() {
    let (open, _) = own_ports();
    let port = open.local_addr().unwrap().port();
    let body = format!("targets=127.0.0.1&ports=tcp%3A{port}&probes=0&probes=1");
    let a = send_to(checks_cfg(&["127.0.0.0/8"]), form("/check", &body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type(), "text/html; charset=utf-8");
    assert!(a.body.contains("<h1>Check results</h1>"));
    assert!(a.body.contains(&format!(
        "<td class=\"port\">{port}/TCP</td><td class=\"state listening\">LISTENING</td>"
    )));
    assert!(a.body.contains("<table class=\"grid\">"));
    assert!(a.body.contains("Done: 1 finding"));
    assert!(a.body.trim_end().ends_with("</html>"));
    drop(open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_check_at_a_time() {
    let state = AppState::new(checks_cfg(&["127.0.0.1/32"]));
    let held = Arc::clone(&state.check_slot).try_acquire_owned().unwrap();
    let app = Router::new()
        .route("/api/check", axum::routing::post(check::run_api))
        .with_state(Arc::new(state));
    let response = app
        .oneshot(form("/api/check", "targets=127.0.0.1&ports=tcp%3A1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    drop(held);
}

#[test]
fn allow_hosts_and_targets_are_validated() {
    assert!(parse_hosts(&["console.example.net".into()]).is_ok());
    assert!(parse_hosts(&["bad host".into()]).is_err());
    assert!(parse_hosts(&["evil.example/x".into()]).is_err());
    let nets = |s: &str| crate::net::parse_nets(&[s.into()], "--allow-target");
    assert!(nets("10.0.0.0/8,192.0.2.1").is_ok());
    assert!(nets("10.0.0.300").is_err());
    // The library's grammar: a range is the fewest blocks that cover exactly it.
    assert_eq!(
        nets("10.0.0.4-10.0.0.7").unwrap(),
        vec!["10.0.0.4/30".parse::<ipnet::IpNet>().unwrap()]
    );
    assert!(nets(&vec!["10.0.0.1"; 65].join(",")).is_err());
}

/// `--web-config` with `basic_auth_users`: every page and API answer needs the
/// credentials; a wrong password is refused like none.
#[tokio::test]
async fn basic_auth_guards_every_route() {
    // bcrypt of "s3cret" at cost 4 (a test-only, fast hash).
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let web =
        crate::web_config::WebConfig::parse(&format!("basic_auth_users:\n  admin: '{hash}'\n"))
            .unwrap();
    let config = Config {
        web: Arc::new(web),
        ..cfg()
    };
    use base64::Engine as _;
    for path in ["/", "/ports", "/api/lookup?q=445"] {
        let a = send_to(
            config.clone(),
            request(Method::GET, path).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            a.headers
                .get(header::WWW_AUTHENTICATE)
                .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Basic ")),
            "{path}"
        );
        for (password, want) in [
            ("wrong", StatusCode::UNAUTHORIZED),
            ("s3cret", StatusCode::OK),
        ] {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("admin:{password}"));
            let a = send_to(
                config.clone(),
                request(Method::GET, path)
                    .header(header::AUTHORIZATION, format!("Basic {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(a.status, want, "{path} with {password}");
        }
    }
}

/// Served over TLS, the console's own origin is `https://HOST`: a POST from it is
/// accepted, one claiming `http://HOST` is cross-origin.
#[tokio::test]
async fn over_tls_the_same_origin_is_https() {
    let config = Config {
        scheme: "https",
        ..cfg()
    };
    let api = |origin: &str| {
        request(Method::GET, "/api/lookup?q=445")
            .header(header::ORIGIN, origin.to_owned())
            .body(Body::empty())
            .unwrap()
    };
    let a = send_to(config.clone(), api(&format!("https://{HOST}"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("445"), "{}", a.body);
    let a = send_to(config, api(&format!("http://{HOST}"))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
}
