//! One answer everywhere (issue 21): the same scenarios through the library's verdict
//! (`CheckSummary::outcome`), the CLI's exit code, the exporter's `probe_success` and the
//! console's verdict, which must all agree.
//!
//! The scenarios run against a host this test makes in a network namespace (10.207.N.2,
//! no default route): TCP listeners for ADWS (9389) and WinRM (5985, 5986), silent UDP
//! listeners for RADIUS (1645, 1646, 1812, 1813: no probe can prove them either way), and a fake
//! endpoint mapper on 135 that answers every lookup with no entries. An address of the
//! same link that nobody holds (10.207.N.3) is the unreachable host.
//!
//! Needs root (namespaces); without it, says it did not run (and fails when
//! `PORTQ_NETNS_REQUIRED=1`).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portq_probe::CheckOptions;
use portq_probe::pipeline::{CheckBuilder, Outcome, PipelineOptions, Strictness};
use serde_json::Value;

const HOST_ENV: &str = "PORTQ_AGREEMENT_HOST";
const READY: &str = "PORTQ-AGREEMENT-READY";

/// The scenario host, run inside the namespace by [`Scenarios::start`]; a no-op in a
/// normal run.
#[test]
fn scenario_host_child() {
    let Ok(addr) = std::env::var(HOST_ENV) else {
        return;
    };
    let ip: Ipv4Addr = addr.parse().unwrap();
    let mut keep = Vec::new();
    for port in [9389u16, 5985, 5986] {
        let l = TcpListener::bind((ip, port)).unwrap();
        keep.push(std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                drop(s);
            }
        }));
    }
    // Silent UDP services: they read and never answer.
    let mut silent = Vec::new();
    for port in [1645u16, 1646, 1812, 1813] {
        silent.push(UdpSocket::bind((ip, port)).unwrap());
    }
    // An endpoint mapper that binds and answers every lookup with no entries.
    let epm = TcpListener::bind((ip, 135)).unwrap();
    std::thread::spawn(move || {
        for s in epm.incoming().flatten() {
            std::thread::spawn(move || empty_mapper(s));
        }
    });
    println!("\n{READY}");
    let mut line = String::new();
    // Until the test closes our stdin (or two minutes pass: the read ends with it).
    let stdin = std::thread::spawn(move || {
        let _ = std::io::stdin().lock().read_line(&mut line);
    });
    for _ in 0..1200 {
        if stdin.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(silent);
    std::process::exit(0);
}

fn empty_mapper(mut s: std::net::TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(portq_wire::dcerpc::Pdu::Bind(bind)) = crate::hostile::read_pdu(&mut s) else {
        return;
    };
    if s.write_all(&crate::hostile::bind_ack(bind.call_id))
        .is_err()
    {
        return;
    }
    for _ in 0..16 {
        let Some(portq_wire::dcerpc::Pdu::Request(req)) = crate::hostile::read_pdu(&mut s) else {
            return;
        };
        // EPT_S_NOT_REGISTERED: the mapper has nothing to list.
        let reply = crate::hostile::lookup_reply(req.call_id, [0; 20], Vec::new(), 0x16c9_a0d6);
        if s.write_all(&reply).is_err() {
            return;
        }
    }
}

/// The namespace host and its addresses; deleted on drop.
struct Scenarios {
    /// Kept to the end: dropping it deletes the namespace.
    _ns: crate::netns::TestNs,
    host: String,
    silent: String,
}

impl Scenarios {
    fn start() -> Option<Scenarios> {
        if !crate::limits::can_run("agreement") {
            return None;
        }
        let mut ns = crate::netns::TestNs::create("pqa", 207);
        let (host, silent) = (ns.ns_ip.clone(), format!("{}3", ns.prefix));
        let mut child = ns
            .exec(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "agreement::scenario_host_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOST_ENV, &host)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        ns.children.push(child);
        let ready = BufReader::new(stdout)
            .lines()
            .take(50)
            .map_while(Result::ok)
            .any(|l| l.contains(READY));
        assert!(ready, "the scenario host did not start");
        Some(Scenarios {
            _ns: ns,
            host,
            silent,
        })
    }
}

/// One scenario: a target, the services asked for, and the expected verdict.
struct Case {
    name: &'static str,
    unreachable: bool,
    services: &'static [&'static str],
    passes: bool,
    /// The ports the verdict lists as unmet.
    unmet: &'static [u16],
}

const CASES: &[Case] = &[
    Case {
        name: "all required up",
        unreachable: false,
        services: &["adws"],
        passes: true,
        unmet: &[],
    },
    Case {
        // KMS (1688) does not listen.
        name: "one required down",
        unreachable: false,
        services: &["adws", "sppsvc"],
        passes: false,
        unmet: &[1688],
    },
    Case {
        // WinRM's compatibility listeners on 80 and 443 are optional (off by default).
        name: "optional down",
        unreachable: false,
        services: &["winrm"],
        passes: true,
        unmet: &[],
    },
    Case {
        // RADIUS listens and never answers the probe: listening or filtered.
        name: "a UDP port unconfirmed",
        unreachable: false,
        services: &["ias"],
        passes: true,
        unmet: &[],
    },
    Case {
        name: "the mapper answers with no entries",
        unreachable: false,
        services: &["msdtc"],
        passes: false,
        unmet: &[],
    },
    Case {
        name: "the host unreachable",
        unreachable: true,
        services: &["adws"],
        passes: false,
        unmet: &[9389],
    },
];

fn fast() -> CheckOptions {
    CheckOptions {
        timeout: Duration::from_millis(800),
        attempts: 2,
        ..CheckOptions::default()
    }
}

fn library(target: &str, services: &[&str]) -> (Outcome, Value) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let plan = CheckBuilder::new()
            .target(target)
            .services(services.iter().copied())
            .options(PipelineOptions::default().with_engine(fast()))
            .plan()
            .unwrap();
        let report = plan.run().await.unwrap();
        let s = report.summary;
        (
            s.outcome(Strictness::Expected),
            serde_json::to_value(&s).unwrap(),
        )
    })
}

fn cli(target: &str, services: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "check".to_owned(),
        target.to_owned(),
        "--timeout".into(),
        "0.8".into(),
        "--retries".into(),
        "2".into(),
        "--format".into(),
        "json".into(),
    ];
    for s in services {
        args.push("--service".into());
        args.push((*s).to_owned());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_portq"))
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), doc)
}

/// A line-oriented HTTP/1.0 exchange with a local server (ours).
fn http(addr: &str, request: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A `portq` server (exporter or console) on a loopback port it chose; killed on drop.
struct Server(Child, String);

impl Server {
    fn start(args: &[&str], banner: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portq"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = lines
            .by_ref()
            .take(20)
            .map_while(Result::ok)
            .find_map(|l| {
                l.split_once(banner)
                    .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_owned())
            })
            .expect("the server printed its address");
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Server(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exporter_success(exporter: &str, target: &str, module: &str, timeout: &str) -> Option<bool> {
    let reply = http(
        exporter,
        &format!(
            "GET /probe?target={target}&module={module} HTTP/1.0\r\nX-Prometheus-Scrape-Timeout-Seconds: {timeout}\r\n\r\n"
        ),
    );
    reply
        .lines()
        .find_map(|l| l.strip_prefix("probe_success "))
        .map(|v| v.trim() == "1")
}

fn console_outcome(console: &Server, target: &str, services: &[&str]) -> Value {
    let body = format!("targets={target}&service={}", services.join(","));
    let reply = http(
        &console.1,
        &format!(
            "POST /api/check HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            console.1,
            body.len()
        ),
    );
    let (_, ndjson) = reply.split_once("\r\n\r\n").unwrap_or(("", ""));
    ndjson
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "end")
        .map(|v| v["summary"]["outcome"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn every_front_end_gives_the_same_verdict() {
    let Some(lab) = Scenarios::start() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("portq-agreement-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = String::from("modules:\n");
    for (i, c) in CASES.iter().enumerate() {
        config.push_str(&format!(
            "  case{i}:\n    services: [{}]\n    timeout: 0.8\n    retries: 2\n",
            c.services.join(", ")
        ));
    }
    // For the interrupted case: attempts longer than the scrape timeout allows.
    config.push_str("  slow:\n    services: [adws]\n    timeout: 10\n");
    let config_path = dir.join("exporter.yml");
    std::fs::write(&config_path, &config).unwrap();
    let net = "10.207.0.0/16";
    // The exporter test's own start-up (loopback, address read from its banner).
    let (_exporter, exporter) =
        crate::exporter::start_exporter(&["--config", config_path.to_str().unwrap()]);
    let console = Server::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allow-checks",
            "--allow-target",
            net,
        ],
        "portq: console at http://",
    );
    let mut table = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let target = if c.unreachable {
            &lab.silent
        } else {
            &lab.host
        };
        let (lib, summary) = library(target, c.services);
        let (code, doc) = cli(target, c.services);
        let success = exporter_success(&exporter, target, &format!("case{i}"), "30");
        let console = console_outcome(&console, target, c.services);
        let want = if c.passes { "passed" } else { "failed" };
        table.push(format!(
            "{:<36} library {:<8} cli exit {code}  exporter {:?}  console {}",
            c.name,
            serde_json::to_value(lib).unwrap(),
            success,
            console
        ));
        assert_eq!(lib.passed(), c.passes, "{}: library {summary}", c.name);
        assert_eq!(summary["outcome"], want, "{}: {summary}", c.name);
        assert_eq!(code, if c.passes { 0 } else { 1 }, "{}: CLI {doc}", c.name);
        assert_eq!(doc["summary"]["outcome"], want, "{}: CLI JSON", c.name);
        assert_eq!(success, Some(c.passes), "{}: exporter", c.name);
        assert_eq!(console, want, "{}: console", c.name);
        let unmet: Vec<u64> = summary["unmet"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["port"].as_u64())
            .collect();
        let want_unmet: Vec<u64> = c.unmet.iter().map(|p| u64::from(*p)).collect();
        assert_eq!(unmet, want_unmet, "{}: unmet", c.name);
        if c.unreachable {
            // Said once per host, quickly, in a short verdict line.
            let notes = doc["summary"]["notes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                notes.iter().any(|n| n["kind"] == "host_unreachable"),
                "{notes:?}"
            );
        }
    }
    eprintln!("{}", table.join("\n"));

    // Unreachable, with the defaults and a whole role: said once, within 5 s (neighbour
    // discovery gives up after about 3 s; the host's other probes stop then), in a
    // verdict line of 300 characters at most; no port claims an answer of its own.
    let began = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_portq"))
        .args(["check", &lab.silent, "--role", "dc", "--format", "json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = began.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("unreachable host, --role dc: {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let said = doc["summary"]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "host_unreachable")
        .count();
    assert_eq!(said, 1, "{doc}");
    let verdict = stderr.lines().last().unwrap_or("");
    assert!(
        verdict.contains("unreachable") && verdict.chars().count() <= 300,
        "{verdict}"
    );
    for f in doc["findings"].as_array().unwrap() {
        assert_eq!(f["state"], "filtered", "{f}");
        for e in f["evidence_detail"].as_array().into_iter().flatten() {
            assert!(
                matches!(e["kind"].as_str(), Some("unreachable" | "not_probed")),
                "{f}"
            );
        }
    }

    // Interrupted: no front end calls a stopped check a pass. The console ends a check
    // only when its client leaves, and then nobody reads a verdict: not part of this.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lib = rt.block_on(async {
        let plan = CheckBuilder::new()
            .target(&lab.silent)
            .service("adws")
            .options(PipelineOptions::default().with_engine(CheckOptions {
                timeout: Duration::from_secs(5),
                ..fast()
            }))
            .plan()
            .unwrap();
        let run = plan.start().await.unwrap();
        run.stop();
        run.finish().await
    });
    assert_eq!(lib.outcome(Strictness::Expected), Outcome::Interrupted);
    let child = Command::new(env!("CARGO_BIN_EXE_portq"))
        .args([
            "check",
            &lab.silent,
            "--service",
            "adws",
            "--timeout",
            "10",
            "--format",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(130), "CLI interrupted: {doc}");
    assert_eq!(doc["summary"]["outcome"], "interrupted", "{doc}");
    // The exporter's scrape timeout ends the probe before the 10 s attempts do.
    assert_eq!(
        exporter_success(&exporter, &lab.silent, "slow", "2"),
        Some(false),
        "exporter interrupted"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
