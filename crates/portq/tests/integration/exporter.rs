//! `portq exporter` with real components: Debian's `promtool` checks the files in
//! contrib/prometheus/, and Debian's Prometheus server scrapes the exporter, which
//! probes the Samba DC lab; the test then asks Prometheus' HTTP API what it stored and
//! which alerts it raised. Everything listens on 127.0.0.1 ports chosen here; probes go
//! only to the lab DC (a network namespace of the test suite's own).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// True when `tool` is installed; a missing tool fails the test with PORTQ_REQUIRE_TOOLS=1.
fn have(tool: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("PORTQ_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{tool} is required (PORTQ_REQUIRE_TOOLS=1) but not installed"
        );
        eprintln!("NOT RUN: {tool} is not installed");
    }
    ok
}

#[test]
fn contrib_prometheus_files_pass_promtool() {
    if !have("promtool") {
        return;
    }
    let dir = root().join("contrib/prometheus");
    for args in [
        vec!["check", "config", "prometheus.yml"],
        vec!["check", "rules", "portq-alerts.yml"],
    ] {
        let out = Command::new("promtool")
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grafana-dashboard.json")).unwrap())
            .unwrap();
    let exprs = dashboard.to_string();
    assert!(exprs.contains("portq_port_up") && exprs.contains("probe_success"));
}

/// A child process killed when dropped.
pub(crate) struct Running(Child);

impl Running {
    /// Takes charge of `child`.
    pub(crate) fn new(child: Child) -> Running {
        Running(child)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `portq exporter` on a port of its own; returns it and its address.
pub(crate) fn start_exporter(extra: &[&str]) -> (Running, String) {
    let (running, addr, _) = start_server("exporter", extra);
    (running, addr)
}

/// Starts `portq SUBCOMMAND --listen 127.0.0.1:0 EXTRA` (the exporter or the console)
/// and waits for the line where it says its address; returns it, that address, and
/// whether it said https. Its stderr keeps being read, so it never blocks on a full pipe.
fn start_server(subcommand: &str, extra: &[&str]) -> (Running, String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portq"))
        .args([subcommand, "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let running = Running(child);
    let says = if subcommand == "serve" {
        "console"
    } else {
        subcommand
    };
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("portq {subcommand} printed its address"));
        for (scheme, https) in [("http", false), ("https", true)] {
            if let Some(rest) = line.strip_prefix(&format!("portq: {says} at {scheme}://")) {
                let addr = rest.split('/').next().unwrap().to_owned();
                return (running, addr, https);
            }
        }
    }
}

/// GET over HTTP/1.0; the body.
fn http_get(addr: &str, path: &str) -> Option<String> {
    let sock: std::net::SocketAddr = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A Prometheus server scraping `jobs` every second, with the contrib alert rules.
fn start_prometheus(dir: &Path, jobs: &str) -> (Running, String) {
    let rules = root().join("contrib/prometheus/portq-alerts.yml");
    let config = format!(
        "global:\n  scrape_interval: 2s\n  scrape_timeout: 1900ms\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n{jobs}",
        rules.display()
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    (Running(child), addr)
}

/// A scrape job probing `target` with `module` through the exporter at `exporter`.
fn job(name: &str, exporter: &str, target: &str, module: &str) -> String {
    format!(
        "  - job_name: {name}\n    metrics_path: /probe\n    params:\n      module: [{module}]\n    static_configs:\n      - targets: ['{target}']\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - source_labels: [__param_target]\n        target_label: instance\n      - target_label: __address__\n        replacement: {exporter}\n"
    )
}

/// Asks Prometheus an instant query until `check` accepts the result (at most `limit`).
fn wait_for(
    prom: &str,
    query: &str,
    limit: Duration,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut last = Vec::new();
    while started.elapsed() < limit {
        if let Some(body) = http_get(prom, &format!("/api/v1/query?query={encoded}"))
            && let Ok(v) = serde_json::from_str::<Value>(&body)
        {
            last = v["data"]["result"].as_array().cloned().unwrap_or_default();
            if check(&last) {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{query}: not as expected within {limit:?}; last answer {last:?}");
}

fn sample(v: &[Value]) -> Option<&str> {
    v.first()?["value"][1].as_str()
}

#[test]
fn prometheus_scrapes_the_exporter_probing_the_samba_dc() {
    let _lab = crate::lab_lock::shared();
    let Ok(dc) = std::env::var("PORTQ_LAB_DC") else {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but PORTQ_LAB_DC is not"
        );
        eprintln!("NOT RUN: no Samba DC lab (PORTQ_LAB_DC unset)");
        return;
    };
    if !have("prometheus") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("portq-prom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_exporter, exporter) = start_exporter(&["--allow-target", &format!("{dc}/32")]);
    // The exporter answers a probe itself before Prometheus is involved.
    let direct = http_get(
        &exporter,
        &format!("/probe?target={dc}&module=domain-controller"),
    )
    .expect("probe");
    assert!(
        direct.contains("portq_port_up{port=\"88\",protocol=\"udp\""),
        "{direct}"
    );

    let (_prom, prom) =
        start_prometheus(&dir, &job("portq-dc", &exporter, &dc, "domain-controller"));
    let limit = Duration::from_secs(90);
    for (port, protocol, want) in [
        ("88", "udp", "1"),
        ("389", "tcp", "1"),
        ("445", "tcp", "1"),
        ("9389", "tcp", "0"),
    ] {
        let q = format!("portq_port_up{{port=\"{port}\",protocol=\"{protocol}\"}}");
        wait_for(&prom, &q, limit, |v| sample(v) == Some(want));
    }
    // Samba runs no ADWS (9389) and no NTP: the DC role is not fully served.
    wait_for(&prom, "probe_success{job=\"portq-dc\"}", limit, |v| {
        sample(v) == Some("0")
    });
    // RPC dynamic ports found through the endpoint mapper are series too.
    wait_for(
        &prom,
        "count(portq_port_up{need=\"registered\"} == 1)",
        limit,
        |v| {
            sample(v)
                .and_then(|s| s.parse::<u32>().ok())
                .is_some_and(|n| n >= 3)
        },
    );
    // The contrib alert for a required port that is down becomes pending (for: 5m).
    let started = Instant::now();
    let mut seen = String::new();
    while started.elapsed() < limit {
        if let Some(body) = http_get(&prom, "/api/v1/alerts") {
            seen = body.clone();
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let found = v["data"]["alerts"].as_array().is_some_and(|alerts| {
                alerts.iter().any(|a| {
                    a["labels"]["alertname"] == "PortqRequiredPortDown"
                        && a["labels"]["port"] == "9389"
                        && (a["state"] == "pending" || a["state"] == "firing")
                })
            });
            if found {
                let _ = std::fs::remove_dir_all(&dir);
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("no PortqRequiredPortDown alert for 9389 within {limit:?}: {seen}");
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// A second vantage point: a namespace wired to the DC's namespace through a veth pair of
/// its own (10.203.0.0/24), whose nftables output chain drops 445/tcp to the DC. The DC's
/// namespace routes between the two links for the duration of the test only. Everything
/// is removed when this is dropped.
struct Vantage {
    name: String,
    dc_ns: String,
    forwarding_was: String,
}

impl Vantage {
    fn create(dc_ns: &str, dc: &str) -> Option<Vantage> {
        let name = format!("pqv{}", std::process::id() % 100_000);
        let forwarding_was = String::from_utf8_lossy(
            &Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    dc_ns,
                    "sysctl",
                    "-n",
                    "net.ipv4.ip_forward",
                ])
                .output()
                .ok()?
                .stdout,
        )
        .trim()
        .to_owned();
        let v = Vantage {
            name: name.clone(),
            dc_ns: dc_ns.to_owned(),
            forwarding_was,
        };
        let (a, b) = (format!("{name}a"), format!("{name}b"));
        let ip4: std::net::Ipv4Addr = dc.parse().ok()?;
        let [o1, o2, o3, _] = ip4.octets();
        let lab_net = format!("{o1}.{o2}.{o3}.0/24");
        let ok = ip(&["netns", "add", &name])
            && ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])
            && ip(&["link", "set", &a, "netns", dc_ns])
            && ip(&["link", "set", &b, "netns", &name])
            && ip(&["-n", dc_ns, "addr", "add", "10.203.0.1/24", "dev", &a])
            && ip(&["-n", dc_ns, "link", "set", &a, "up"])
            && ip(&["-n", &name, "addr", "add", "10.203.0.2/24", "dev", &b])
            && ip(&["-n", &name, "link", "set", &b, "up"])
            && ip(&["-n", &name, "link", "set", "lo", "up"])
            // The DC, and the host side of the lab link (where Prometheus scrapes from).
            && ip(&["-n", &name, "route", "add", &lab_net, "via", "10.203.0.1"])
            // Prometheus (here) reaches the second exporter through the DC's namespace.
            && ip(&["route", "add", "10.203.0.0/24", "via", dc])
            && Command::new("ip")
                .args(["netns", "exec", dc_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let rules = format!(
            "table inet portqvantage {{\n  chain output {{\n    type filter hook output priority filter; policy accept;\n    ip daddr {dc} tcp dport 445 drop\n  }}\n}}\n"
        );
        let mut nft = Command::new("ip")
            .args(["netns", "exec", &name, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .ok()?;
        nft.stdin.take()?.write_all(rules.as_bytes()).ok()?;
        nft.wait().ok()?.success().then_some(v)
    }
}

impl Drop for Vantage {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["route", "del", "10.203.0.0/24"])
            .status();
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.dc_ns,
                "sysctl",
                "-qw",
                &format!("net.ipv4.ip_forward={}", self.forwarding_was),
            ])
            .status();
        // Deleting the namespace deletes its end of the veth pair, and so the DC's end.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn a_second_vantage_point_sees_the_port_its_path_drops() {
    let _lab = crate::lab_lock::shared();
    let (Ok(dc), Ok(dc_ns)) = (
        std::env::var("PORTQ_LAB_DC"),
        std::env::var("PORTQ_LAB_NETNS"),
    ) else {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but PORTQ_LAB_DC/PORTQ_LAB_NETNS are not"
        );
        eprintln!("NOT RUN: no Samba DC lab in a namespace");
        return;
    };
    if !have("prometheus") || !have("nft") {
        return;
    }
    let vantage = Vantage::create(&dc_ns, &dc).expect("the second vantage point is wired");
    let dir = std::env::temp_dir().join(format!("portq-prom2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_here, here) = start_exporter(&["--allow-target", &format!("{dc}/32")]);
    // The second exporter runs inside the vantage namespace.
    let mut there = Running(
        Command::new("ip")
            .args(["netns", "exec", &vantage.name, env!("CARGO_BIN_EXE_portq")])
            .args(["exporter", "--listen", "10.203.0.2:9833", "--allow-target"])
            .arg(format!("{dc}/32"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while http_get("10.203.0.2:9833", "/-/healthy").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "second exporter up"
        );
        if let Ok(Some(status)) = there.0.try_wait() {
            panic!("the second exporter exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let jobs = job("portq-here", &here, &dc, "domain-controller")
        + &job("portq-vantage", "10.203.0.2:9833", &dc, "domain-controller");
    let (_prom, prom) = start_prometheus(&dir, &jobs);
    let limit = Duration::from_secs(90);
    let up = |job: &str, port: &str| {
        format!("portq_port_up{{job=\"{job}\",port=\"{port}\",protocol=\"tcp\"}}")
    };
    wait_for(&prom, &up("portq-vantage", "445"), limit, |v| {
        sample(v) == Some("0")
    });
    wait_for(&prom, &up("portq-here", "445"), limit, |v| {
        sample(v) == Some("1")
    });
    // Only that port: the rest of the path is open from both vantage points.
    wait_for(&prom, &up("portq-vantage", "389"), limit, |v| {
        sample(v) == Some("1")
    });
    wait_for(&prom, &up("portq-vantage", "88"), limit, |v| {
        sample(v) == Some("1")
    });
    // The exporter inside keeps the namespace alive: stop it before removing the wiring.
    drop(there);
    drop(vantage);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs openssl with `args` in `dir`, panicking with its stderr when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`NAME-ca.crt`, `NAME-ca.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
            "-keyout",
            &format!("{name}-ca.key"),
            "-out",
            &format!("{name}-ca.crt"),
        ],
    );
}

/// A certificate `OUT.crt`/`OUT.key` for `cn` signed by CA `ca`; `server` adds the
/// 127.0.0.1 address and server use, else client use.
fn make_cert(dir: &Path, ca: &str, out: &str, cn: &str, server: bool) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{out}.key"),
            "-out",
            &format!("{out}.csr"),
        ],
    );
    let ext = if server {
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    } else {
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"
    };
    std::fs::write(dir.join(format!("{out}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{out}.csr"),
            "-CA",
            &format!("{ca}-ca.crt"),
            "-CAkey",
            &format!("{ca}-ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{out}.ext"),
            "-out",
            &format!("{out}.crt"),
        ],
    );
}

/// curl over HTTPS with the test CA and `extra` arguments; (exit code, body).
fn curl(dir: &Path, url: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "--cacert", "main-ca.crt"])
        .args(extra)
        .arg(url)
        .current_dir(dir)
        .output()
        .expect("curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// What the server answers to a TLS 1.1 ClientHello (written by hand: no client library
/// here offers 1.1 any more): the first record's content type and, for a handshake, its
/// message type.
fn answer_to_tls11_hello(addr: &str) -> (Option<u8>, Option<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(&[0x03, 0x02]); // client_version TLS 1.1
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f]); // ECDHE-RSA-AES128-SHA, AES128-SHA
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    let mut hs = vec![0x01, 0x00, 0x00, u8::try_from(body.len()).unwrap()];
    hs.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x02, 0x00, u8::try_from(hs.len()).unwrap()];
    record.extend_from_slice(&hs);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&record).unwrap();
    let mut head = [0u8; 6];
    let mut got = 0;
    while got < head.len() {
        match s.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    (
        (got >= 1).then_some(head[0]),
        (got >= 6 && head[0] == 0x16).then_some(head[5]),
    )
}

/// Issue 27: the exporter serves HTTPS from exporter-toolkit's `tls_server_config` with
/// client certificates required. Debian's Prometheus scrapes it with a client
/// certificate of the test CA; curl without one, with one from another CA, and a TLS 1.1
/// hello are refused; a certificate replaced on disk is served on the next connection.
#[test]
fn prometheus_scrapes_over_tls_with_a_client_certificate() {
    if crate::under_wine(
        "prometheus_scrapes_over_tls",
        "no openssl, curl or prometheus",
    ) {
        return;
    }
    for tool in ["openssl", "curl", "prometheus"] {
        if !have(tool) {
            assert!(
                std::env::var_os("PORTQ_REQUIRE_TOOLS").is_none(),
                "{tool} is required"
            );
            eprintln!("NOT RUN: no {tool}");
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("portq-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    make_ca(&dir, "main");
    make_ca(&dir, "other");
    make_cert(&dir, "main", "server", "portq-exporter", true);
    make_cert(&dir, "main", "prom", "prometheus", false);
    make_cert(&dir, "other", "stranger", "stranger", false);
    let d = dir.display();
    std::fs::write(
        dir.join("web.yml"),
        format!("tls_server_config:\n  cert_file: {d}/server.crt\n  key_file: {d}/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {d}/main-ca.crt\n  min_version: TLS12\n"),
    )
    .unwrap();
    let web = dir.join("web.yml").display().to_string();
    let (_exporter, addr) = start_exporter(&["--web-config", &web]);
    let url = format!("https://{addr}/metrics");
    // A client of the right CA gets the metrics; without a certificate, with one of
    // another CA, or in plain HTTP, nothing.
    let (code, body) = curl(&dir, &url, &["--cert", "prom.crt", "--key", "prom.key"]);
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("portq_exporter"), "{body}");
    let (code, body) = curl(&dir, &url, &[]);
    assert!(
        code != 0 && body.is_empty(),
        "no client certificate: exit {code}, {body}"
    );
    let (code, body) = curl(
        &dir,
        &url,
        &["--cert", "stranger.crt", "--key", "stranger.key"],
    );
    assert!(
        code != 0 && body.is_empty(),
        "another CA: exit {code}, {body}"
    );
    assert!(http_get(&addr, "/metrics").is_none_or(|b| !b.contains("portq_exporter")));
    // TLS 1.1: an alert (21) or a closed connection, never a ServerHello (22, type 2).
    let (record, message) = answer_to_tls11_hello(&addr);
    assert!(
        record != Some(0x16) || message != Some(2),
        "TLS 1.1 was answered with a ServerHello"
    );
    assert!(matches!(record, None | Some(0x15)), "{record:?}");
    // Prometheus scrapes it over TLS with its client certificate.
    let job = format!(
        "  - job_name: portq-tls\n    scheme: https\n    metrics_path: /metrics\n    tls_config:\n      ca_file: {d}/main-ca.crt\n      cert_file: {d}/prom.crt\n      key_file: {d}/prom.key\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    let (_prom, prom) = start_prometheus(&dir, &job);
    wait_for(
        &prom,
        "up{job=\"portq-tls\"}",
        Duration::from_secs(60),
        |v| sample(v) == Some("1"),
    );
    wait_for(
        &prom,
        "portq_exporter_probes_in_flight{job=\"portq-tls\"}",
        Duration::from_secs(30),
        |v| !v.is_empty(),
    );
    // Rotation: a new certificate written over the old files is served next time.
    make_cert(&dir, "main", "rotated", "portq-exporter-rotated", true);
    for ext in ["key", "crt"] {
        std::fs::copy(
            dir.join(format!("rotated.{ext}")),
            dir.join(format!("server.{ext}.new")),
        )
        .unwrap();
        std::fs::rename(
            dir.join(format!("server.{ext}.new")),
            dir.join(format!("server.{ext}")),
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(800));
    let subject = |dir: &Path| -> String {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &addr, "-CAfile", "main-ca.crt"])
            .args(["-cert", "prom.crt", "-key", "prom.key"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("openssl s_client");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("subject="))
            .unwrap_or("")
            .to_owned()
    };
    let mut seen = subject(&dir);
    for _ in 0..10 {
        if seen.contains("portq-exporter-rotated") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        seen = subject(&dir);
    }
    assert!(
        seen.contains("CN = portq-exporter-rotated") || seen.contains("CN=portq-exporter-rotated"),
        "{seen}"
    );
    // And Prometheus keeps scraping across the rotation.
    wait_for(
        &prom,
        "up{job=\"portq-tls\"}",
        Duration::from_secs(20),
        |v| sample(v) == Some("1"),
    );
    // The console takes the same web config: HTTPS (here without client certificates).
    std::fs::write(
        dir.join("console.yml"),
        format!("tls_server_config:\n  cert_file: {d}/server.crt\n  key_file: {d}/server.key\n"),
    )
    .unwrap();
    let console_cfg = dir.join("console.yml").display().to_string();
    let (_console, console, https) = start_server("serve", &["--web-config", &console_cfg]);
    assert!(https, "the console did not say it serves https");
    let (code, page) = curl(&dir, &format!("https://{console}/?q=445"), &[]);
    assert_eq!(code, 0);
    assert!(page.contains("portq") && page.contains("445"), "{page}");
    assert!(http_get(&console, "/").is_none_or(|b| !b.contains("portq")));
    std::fs::remove_dir_all(&dir).ok();
}
