//! `portq serve` from the outside: its command line, the binary answering over a real
//! loopback socket, and (with PORTQ_E2E=1) the end-to-end test in headless Chromium.
//! The router itself is tested request by request in `src/cmd/serve/tests.rs`.
//!
//! Every server here listens on a 127.0.0.1 port the kernel chose for this test.

use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn portq() -> Command {
    let mut c = Command::cargo_bin("portq").expect("binary");
    c.env_remove("RUST_BACKTRACE");
    c
}

/// Asserts exit 2 with exactly one line on stderr, and returns it.
fn usage_error(args: &[&str]) -> String {
    let out = portq()
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    let e = usage_error(&["serve", "--allow-checks"]);
    assert!(e.contains("--allow-target"), "{e}");
    let e = usage_error(&["serve", "--listen", "localhost"]);
    assert!(e.contains("invalid --listen 'localhost'"), "{e}");
    usage_error(&["serve", "--listen", "127.0.0.1:99999"]);
    usage_error(&["serve", "--allow-target", "10.0.0.0/8"]);
    let e = usage_error(&["serve", "--allow-checks", "--allow-target", "0.0.0.0/0"]);
    assert!(e.contains("whole address space"), "{e}");
    let e = usage_error(&["serve", "--allow-checks", "--allow-target", "10.0.0.300"]);
    assert!(e.contains("invalid --allow-target '10.0.0.300'"), "{e}");
    usage_error(&["serve", "--allow-host", "bad host"]);
}

#[test]
fn help_names_the_options() {
    let out = portq().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--listen",
        "--allow-checks",
        "--allow-target",
        "--allow-host",
        "127.0.0.1:8445",
    ] {
        assert!(text.contains(opt), "{opt} missing from help:\n{text}");
    }
}

/// A running `portq serve` on a port of its own; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portq"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            stderr: rx,
        };
        loop {
            let line = server
                .stderr
                .recv_timeout(Duration::from_secs(20))
                .expect("portq serve printed its address");
            if let Some(rest) = line.strip_prefix("portq: console at http://127.0.0.1:") {
                server.port = rest.split('/').next().unwrap().parse().unwrap();
                return server;
            }
        }
    }

    /// Sends one raw HTTP/1.1 request and returns the whole response.
    fn raw(&self, request: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    fn get(&self, path: &str, host: &str) -> String {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn answers_over_a_real_socket() {
    let server = Server::start(&[]);
    let host = format!("127.0.0.1:{}", server.port);
    let r = server.get("/api/lookup?q=445", &host);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("content-security-policy: default-src 'none'; script-src 'self';"));
    assert!(r.contains("\"service_name\":\"lanmanserver\""));
    let r = server.get("/", &host);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains("<h1>What uses this port?</h1>"));
    // DNS rebinding: a name that is not ours is refused.
    let r = server.get("/api/roles", &format!("attacker.example:{}", server.port));
    assert!(r.starts_with("HTTP/1.1 421 "), "{r}");
    // Garbage is not a crash.
    let r = server.raw("NONSENSE\r\n\r\n");
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    let r = server.get("/api/lookup?q=445", &host);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "still serving: {r}");
}

/// SIGTERM the moment the address is announced, several times: the handlers must be in
/// place before the announcement (a kill that arrived first used to end the process by
/// the signal's default, exit code none).
#[cfg(unix)]
#[test]
fn stops_on_sigterm() {
    for round in 0..5 {
        let mut server = Server::start(&[]);
        let pid = server.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let mut waited = 0;
        let code = loop {
            if let Some(s) = server.child.try_wait().unwrap() {
                break s.code();
            }
            assert!(waited < 100, "portq serve did not stop within 10 s");
            std::thread::sleep(Duration::from_millis(100));
            waited += 1;
        };
        assert_eq!(code, Some(0), "round {round}");
        // The reader thread may still hold the last line: wait for it briefly.
        let said: Vec<String> =
            std::iter::from_fn(|| server.stderr.recv_timeout(Duration::from_secs(2)).ok())
                .collect();
        assert!(
            said.iter().any(|l| l == "portq: stopping"),
            "round {round}: {said:?}"
        );
    }
}

#[test]
fn checks_on_are_announced() {
    let server = Server::start(&["--allow-checks", "--allow-target", "127.0.0.1/32"]);
    let host = format!("127.0.0.1:{}", server.port);
    let r = server.get("/check", &host);
    assert!(r.contains("<form id=\"check-form\""), "{r}");
    drop(server);
}

#[test]
fn a_port_in_use_is_a_runtime_failure() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = portq()
        .args(["serve", "--listen", &addr])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

/// The browser test (tests/e2e/run.sh): run when PORTQ_E2E=1 (CI sets it).
#[test]
fn end_to_end_in_headless_chromium() {
    if std::env::var("PORTQ_E2E").as_deref() != Ok("1") {
        eprintln!(
            "serve e2e: NOT RUN (set PORTQ_E2E=1; needs /usr/bin/chromium and `npm ci` in tests/e2e)"
        );
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = std::process::Command::new("bash")
        .arg(root.join("tests/e2e/run.sh"))
        .env("PORTQ_BIN", env!("CARGO_BIN_EXE_portq"))
        .status()
        .expect("run tests/e2e/run.sh");
    assert!(status.success(), "tests/e2e/run.sh failed: {status}");
}

/// Rows as (port, protocol, state, services, service label), sorted.
type CheckRows = Vec<(u64, String, String, Vec<String>, String)>;

fn check_rows<'a>(rows: impl Iterator<Item = &'a serde_json::Value>) -> CheckRows {
    let mut out: CheckRows = rows
        .map(|r| {
            (
                r["port"].as_u64().unwrap(),
                r["protocol"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
                r["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect(),
                r["service"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The same question from the CLI and from the console gets the same answer: one
/// pipeline plans, follows up through the endpoint mapper and labels both.
#[test]
fn cli_and_console_check_the_samba_dc_the_same_way() {
    let _lab = crate::lab_lock::shared();
    let Some(dc) = std::env::var("PORTQ_LAB_DC").ok() else {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but PORTQ_LAB_DC is not"
        );
        eprintln!("NOT RUN: no Samba DC lab (PORTQ_LAB_DC unset)");
        return;
    };
    let out = portq()
        .args([
            "check",
            &dc,
            "--role",
            "domain-controller",
            "--format",
            "json",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli = check_rows(doc["findings"].as_array().unwrap().iter());

    let server = Server::start(&["--allow-checks", "--allow-target", &format!("{dc}/32")]);
    let body = format!("targets={dc}&role=domain-controller");
    let response = server.raw(&format!(
        "POST /api/check HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        server.port,
        body.len()
    ));
    let (head, ndjson) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let lines: Vec<serde_json::Value> = ndjson
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let console = check_rows(lines.iter().filter(|l| l["type"] == "finding"));

    assert_eq!(cli, console, "the CLI and the console disagree");
    // Including the RPC dynamic ports found through the endpoint mapper.
    let dynamic = cli
        .iter()
        .filter(|r| r.4.starts_with("RPC dynamic:") && r.0 >= 49152)
        .count();
    assert!(dynamic >= 3, "{cli:?}");
    assert!(
        cli.iter()
            .any(|r| r.0 == 88 && r.1 == "udp" && r.3.iter().any(|s| s == "kdc"))
    );
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["summary"]["unmet"], doc["summary"]["unmet"]);
}
