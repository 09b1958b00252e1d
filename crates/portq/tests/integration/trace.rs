//! `portq trace` and `check --trace-filtered` on the routed lab (tests/lab/trace-lab-up.sh:
//! client → r1 → r2 → r3 → server, r2 dropping 445/tcp and 389/udp, r3 rejecting 3389/tcp
//! with admin-prohibited, a hostile host off r1), judged against what the lab was built
//! to do and against Debian's traceroute and tcptraceroute on the same paths; and the
//! bad input every front end must refuse in one line.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SERVER: &str = "10.201.243.2";
const R1: &str = "10.201.240.1";
const R2: &str = "10.201.241.2";
const R3: &str = "10.201.242.2";
const HOSTILE: &str = "10.201.244.2";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One routed lab, taken down on drop.
struct Lab {
    prefix: String,
    etc: PathBuf,
}

impl Lab {
    /// Brings a lab up as `pqt<pid><tag>`; `None` (said on stderr) where it cannot run:
    /// not root, or no nft. `ratelimit_ms`: r1 limits its ICMP to one per that many ms.
    fn up(tag: &str, ratelimit_ms: Option<u32>) -> Option<Lab> {
        Lab::up_with(tag, ratelimit_ms, false)
    }

    /// As [`Lab::up`]; `ecmp`: r1 reaches the server through r2 or r2b, per flow.
    fn up_with(tag: &str, ratelimit_ms: Option<u32>, ecmp: bool) -> Option<Lab> {
        if crate::under_wine("trace lab", "no namespaces") {
            return None;
        }
        if !crate::netns::is_root() || !std::path::Path::new("/usr/sbin/nft").exists() {
            assert!(
                std::env::var("PORTQ_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "the trace lab needs root and nft (PORTQ_REQUIRE_TOOLS=1)"
            );
            eprintln!("NOT RUN: the trace lab needs root and nft");
            return None;
        }
        let prefix = format!("pqt{}{tag}", std::process::id() % 100_000);
        // PTR names for the client: its own hosts file (`ip netns exec` mounts it), and a
        // resolver inside the lab (r1, where nothing answers DNS).
        let etc = PathBuf::from(format!("/etc/netns/{prefix}c"));
        std::fs::create_dir_all(&etc).expect("/etc/netns");
        std::fs::write(
            etc.join("hosts"),
            format!(
                "{R1} r1.trace.lab\n{R2} r2.trace.lab\n{R3} r3.trace.lab\n{SERVER} server.trace.lab\n"
            ),
        )
        .expect("hosts");
        std::fs::write(etc.join("resolv.conf"), format!("nameserver {R1}\n")).expect("resolv");
        let lab = Lab { prefix, etc };
        let mut up = Command::new("bash");
        up.arg(root().join("tests/lab/trace-lab-up.sh"))
            .arg(&lab.prefix);
        if let Some(ms) = ratelimit_ms {
            up.env("PQ_TRACE_RATELIMIT_MS", ms.to_string());
        }
        if ecmp {
            up.env("PQ_TRACE_ECMP", "1");
        }
        let out = up.output().expect("trace-lab-up.sh");
        assert!(
            out.status.success() && out.stdout.starts_with(b"ready"),
            "the trace lab did not come up: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(lab)
    }

    /// A command run in the lab's client namespace.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &format!("{}c", self.prefix), program]);
        c
    }

    fn portq(&self, args: &[&str]) -> Output {
        let out = self
            .client(env!("CARGO_BIN_EXE_portq"))
            .args(args)
            .output()
            .expect("portq");
        assert!(
            out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "portq panicked: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `portq check TARGET_AND_PORTS --trace-filtered` (no names, short waits) in `format`.
    fn check_traced(&self, what: &[&str], format: &str) -> Output {
        let mut all = vec!["check"];
        all.extend_from_slice(what);
        all.extend_from_slice(&[
            "--trace-filtered",
            "--no-names",
            "--timeout",
            "0.5",
            "--retries",
            "1",
            "-f",
            format,
        ]);
        self.portq(&all)
    }

    fn trace_json(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let mut all = vec!["trace"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-f", "json"]);
        let out = self.portq(&all);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            out.status.code().unwrap_or(-1),
            v.as_array().cloned().unwrap_or_default(),
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("tests/lab/trace-lab-down.sh"))
            .arg(&self.prefix)
            .output();
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

fn find<'a>(traces: &'a [Value], port: u64, proto: &str) -> &'a Value {
    traces
        .iter()
        .find(|t| t["port"] == port && t["protocol"] == proto && t["reference"] == false)
        .unwrap_or_else(|| panic!("no trace of {port}/{proto} in {traces:?}"))
}

/// The lab's answers, as the lab was built: 389/tcp reached at hop 4, and the
/// [filtered ports' answers](assert_filtered_answers).
fn assert_lab_answers(traces: &[Value], names: bool) {
    let t = find(traces, 389, "tcp");
    assert_eq!(t["verdict"], "reached", "{t}");
    assert_eq!(t["hop"], 4, "{t}");
    assert_eq!(t["answer"], "syn_ack", "{t}");
    assert_filtered_answers(traces, names);
}

/// 445/tcp and 389/udp silent after r2 (named), 3389/tcp rejected by r3 with code 13.
fn assert_filtered_answers(traces: &[Value], names: bool) {
    for (port, proto) in [(445, "tcp"), (389, "udp")] {
        let t = find(traces, port, proto);
        assert_eq!(t["verdict"], "silent", "{port}/{proto}: {t}");
        assert_eq!(t["last_hop"], 2, "{t}");
        assert_eq!(t["last_router"], R2, "{t}");
        assert_eq!(t["first_silent_hop"], 3, "{t}");
        if names {
            assert_eq!(t["last_router_name"], "r2.trace.lab", "{t}");
        }
    }
    let t = find(traces, 3389, "tcp");
    assert_eq!(t["verdict"], "rejected", "{t}");
    assert_eq!(t["router"], R3, "{t}");
    assert_eq!(t["icmp_code"], 13, "{t}");
    assert_eq!(t["hop"], 3, "{t}");
    assert!(
        t["meaning"]
            .as_str()
            .is_some_and(|m| m.contains("administratively prohibited")),
        "{t}"
    );
}

/// The address a traceroute output's last line with an address names (its last
/// answering hop), and that line.
fn last_answer(text: &str) -> Option<(String, String)> {
    text.lines()
        .rev()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .filter_map(|l| {
            l.split_whitespace()
                .skip(1)
                .find(|w| w.parse::<std::net::Ipv4Addr>().is_ok())
                .map(|a| (a.to_owned(), l.to_owned()))
        })
        .next()
}

/// The hop a portq trace last heard from: the target reached, the rejecting router,
/// or the last router before the silence.
fn portq_last(t: &Value) -> String {
    match t["verdict"].as_str() {
        Some("reached") => t["address"].as_str().unwrap_or("").to_owned(),
        Some("rejected") => t["router"].as_str().unwrap_or("").to_owned(),
        _ => t["last_router"].as_str().unwrap_or("").to_owned(),
    }
}

#[test]
fn the_lab_is_traced_as_built_and_as_traceroute_sees_it() {
    let Some(lab) = Lab::up("a", None) else {
        return;
    };
    let (code, traces) = lab.trace_json(&[
        SERVER,
        "-p",
        "tcp:389,445,3389,udp:389",
        "--reference",
        "135",
    ]);
    assert_eq!(code, 1, "not every port was reached: exit 1");
    assert_lab_answers(&traces, true);
    let reference = traces
        .iter()
        .find(|t| t["reference"] == true)
        .expect("the reference port");
    assert_eq!(
        (&reference["port"], &reference["verdict"]),
        (&135.into(), &"reached".into())
    );
    // Every field docs/json.md documents for a trace is in the real output.
    let doc = std::fs::read_to_string(root().join("docs/json.md")).expect("docs/json.md");
    let fields = crate::cli::documented_fields(&doc, "## `portq trace --format json`");
    assert!(fields.len() >= 20, "{fields:?}");
    // `reason` (not traced) and `uncertain` (a rate-limited hop) do not occur on this lab.
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !["reason", "uncertain"].contains(&f.as_str()))
        .filter(|f| !traces.iter().any(|t| t.get(f.as_str()).is_some()))
        .collect();
    assert!(
        missing.is_empty(),
        "documented, absent from real output: {missing:?}"
    );
    // One flow per port: the lab has one path, so no hop answers from two addresses.
    assert!(
        traces.iter().all(|t| t["path_varies"] == false),
        "{traces:?}"
    );
    // Hops carry RTTs and the PTR names from the client's hosts file.
    let hop2 = &find(&traces, 445, "tcp")["hops"][1]["replies"][0];
    assert_eq!(hop2["address"], R2);
    assert_eq!(hop2["name"], "r2.trace.lab");
    // Every answer's round trip was measured: a packet through namespaces takes some
    // microseconds, never none, and never a second.
    for t in &traces {
        for r in t["hops"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|h| h["replies"].as_array().into_iter().flatten())
        {
            let ms = r["rtt_ms"][0].as_f64().unwrap_or(-1.0);
            assert!(ms > 0.0 && ms < 1000.0, "round trip {ms} ms: {t}");
        }
    }

    // The peers on the same paths: Debian's traceroute -T and -U, and tcptraceroute,
    // must last hear from the same address as portq.
    let have = |p: &str| std::path::Path::new(p).exists();
    if !(have("/usr/sbin/traceroute") || have("/usr/bin/traceroute")) {
        panic!("traceroute is missing (apt-get install traceroute tcptraceroute)");
    }
    let peers: [(u64, &str, Vec<&str>); 5] = [
        (389, "tcp", vec!["traceroute", "-n", "-T", "-p", "389"]),
        (445, "tcp", vec!["traceroute", "-n", "-T", "-p", "445"]),
        (3389, "tcp", vec!["traceroute", "-n", "-T", "-p", "3389"]),
        (389, "udp", vec!["traceroute", "-n", "-U", "-p", "389"]),
        (445, "tcp", vec!["tcptraceroute", "-n"]),
    ];
    for (port, proto, cmd) in peers {
        let mut c = lab.client(cmd[0]);
        c.args(&cmd[1..])
            .args(["-q", "1", "-w", "1", "-m", "6", SERVER]);
        if cmd[0] == "tcptraceroute" {
            c.arg(port.to_string());
        }
        let out = c.output().expect("peer");
        let text = String::from_utf8_lossy(&out.stdout);
        let (addr, line) = last_answer(&text).unwrap_or_else(|| panic!("{cmd:?}: {text}"));
        let ours = portq_last(find(&traces, port, proto));
        assert_eq!(
            addr, ours,
            "{cmd:?} last heard from {addr} ({line}); portq from {ours}"
        );
        if port == 3389 {
            assert!(
                line.contains("!X"),
                "traceroute marks the reject as !X: {line}"
            );
        }
    }

    // The same answers inside a check of the roles: the FILTERED ports are traced,
    // beside the host's reference port.
    let out = lab.check_traced(&[SERVER, "--role", "dc", "--role", "rdsh"], "json");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("check JSON");
    let traces = doc["traces"]
        .as_array()
        .cloned()
        .expect("traces in the check's JSON");
    for (port, proto) in [(445, "tcp"), (389, "udp"), (3389, "tcp")] {
        let row = doc["findings"]
            .as_array()
            .and_then(|f| {
                f.iter()
                    .find(|r| r["port"] == port && r["protocol"] == proto)
            })
            .unwrap_or_else(|| panic!("{port}/{proto} not checked: {doc}"));
        assert_eq!(row["state"], "filtered", "{row}");
    }
    assert_filtered_answers(&traces, false);
    assert!(
        traces
            .iter()
            .any(|t| t["reference"] == true && t["verdict"] == "reached"),
        "a reference port that answered is traced beside: {traces:?}"
    );
    assert!(
        traces
            .iter()
            .all(|t| t["port"] != 389 || t["protocol"] != "tcp"),
        "only FILTERED ports are traced (and the reference)"
    );

    // NDJSON: the findings, then one {"trace": …} line per traced port.
    let out = lab.check_traced(&[SERVER, "-p", "tcp:135,445,udp:389"], "ndjson");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    let traced: Vec<&Value> = lines.iter().filter_map(|l| l.get("trace")).collect();
    assert_eq!(
        traced.len(),
        3,
        "445/tcp, 389/udp and the reference 135: {lines:?}"
    );
    assert!(
        traced
            .iter()
            .any(|t| t["port"] == 445 && t["last_router"] == R2)
    );

    // HTML: a "Dropped after" column on the FILTERED rows.
    let out = lab.check_traced(&[SERVER, "-p", "tcp:135,445,3389"], "html");
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(html.contains("<th>Dropped after</th>"), "{html}");
    assert!(
        html.contains(&format!("dropped after hop 2 ({R2})")),
        "{html}"
    );
    assert!(
        html.contains(&format!("rejected at hop 3 by {R3} (ICMP code 13)")),
        "{html}"
    );

    // The table: the verdicts, then the hops side by side.
    let out = lab.portq(&[
        "trace",
        SERVER,
        "-p",
        "445",
        "--reference",
        "135",
        "--no-names",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("silent after hop 2 at {R2}")),
        "{text}"
    );
    assert!(text.contains("Path to 10.201.243.2, hop by hop:"), "{text}");
    assert!(text.contains("135/tcp (ref)"), "{text}");
}

#[test]
fn a_router_that_rate_limits_its_icmp_never_makes_a_wrong_hop() {
    let Some(lab) = Lab::up("r", Some(5000)) else {
        return;
    };
    // r1 answers about once in five seconds: most hop-1 probes go unanswered.
    for round in 0..2 {
        let (_, traces) = lab.trace_json(&[SERVER, "-p", "tcp:389,445,3389,udp:389", "--no-names"]);
        let hop1: u64 = traces
            .iter()
            .filter_map(|t| t["hops"][0]["replies"].as_array())
            .flatten()
            .filter_map(|r| r["count"].as_u64())
            .sum();
        let sent1: u64 = traces
            .iter()
            .filter_map(|t| t["hops"][0]["sent"].as_u64())
            .sum();
        assert!(
            hop1 < sent1,
            "round {round}: r1's limit shows ({hop1} of {sent1} answered)"
        );
        // Right, or said to be uncertain, and never a wrong router.
        assert_lab_answers(&traces, false);
        for t in &traces {
            for h in t["hops"].as_array().into_iter().flatten() {
                for r in h["replies"].as_array().into_iter().flatten() {
                    let expect = match h["ttl"].as_u64() {
                        Some(1) => R1,
                        Some(2) => R2,
                        Some(3) => R3,
                        _ => {
                            if t["port"] == 3389 {
                                R3
                            } else {
                                SERVER
                            }
                        }
                    };
                    assert_eq!(r["address"], expect, "hop {} of {t}", h["ttl"]);
                }
            }
        }
    }
}

/// Polls a process's peak resident memory (kB) until it exits; its output and the peak.
fn run_measured(mut cmd: Command) -> (Output, u64, Duration) {
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // `ip netns exec` execs portq in place: the child's pid is portq's.
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let p = std::sync::Arc::clone(&peak);
    let watcher = std::thread::spawn(move || {
        for _ in 0..1200 {
            let Ok(s) = std::fs::read_to_string(&status) else {
                return;
            };
            if let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                p.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let out = child.wait_with_output().expect("wait");
    let took = started.elapsed();
    let _ = watcher.join();
    (out, peak.load(std::sync::atomic::Ordering::Relaxed), took)
}

#[test]
fn forged_and_flooding_icmp_is_attributed_to_nothing() {
    let Some(lab) = Lab::up("h", None) else {
        return;
    };
    // The hostile host answers every probe with time-exceeded quoting another port or
    // address, an admin-prohibited about another flow, a SYN-ACK or UDP answer from an
    // address never probed, and (first 40 probes) a flood of 220 forged errors each.
    let mut cmd = lab.client(env!("CARGO_BIN_EXE_portq"));
    cmd.args([
        "trace",
        HOSTILE,
        "-p",
        "tcp:445,8445,udp:53",
        "--no-names",
        "-f",
        "json",
    ]);
    let (out, peak_kb, took) = run_measured(cmd);
    let traces: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(traces.len(), 3);
    for t in &traces {
        assert_eq!(t["verdict"], "silent", "nothing it sent counts: {t}");
        assert_eq!(t["last_hop"], 1, "{t}");
        assert_eq!(t["last_router"], R1, "{t}");
        let named: Vec<&Value> = t["hops"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|h| h["replies"].as_array().into_iter().flatten())
            .map(|r| &r["address"])
            .filter(|a| a.as_str().is_some_and(|a| a.starts_with("10.201.244.")))
            .collect();
        assert!(
            named.is_empty(),
            "the hostile addresses appear: {named:?} in {t}"
        );
        assert_eq!(t["path_varies"], false, "{t}");
    }
    // Bounded: three rounds and two confirming rounds of 1 s, whatever the flood.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(peak_kb > 0 && peak_kb < 64 * 1024, "peak RSS {peak_kb} kB");
    let log =
        std::fs::read_to_string(format!("/tmp/{}-hostile.log", lab.prefix)).unwrap_or_default();
    assert!(log.starts_with("ready"), "the hostile responder ran: {log}");
}

#[test]
fn bad_trace_input_is_one_line_and_exit_2() {
    for args in [
        &["trace", "10.0.0.1", "-p", "445", "--max-ttl", "0"][..],
        &["trace", "10.0.0.1", "-p", "445", "--max-ttl", "65"],
        &["trace", "10.0.0.1", "-p", "445", "--max-ttl", "300"],
        &[
            "trace",
            "10.0.0.1",
            "-p",
            "445",
            "--first-ttl",
            "5",
            "--max-ttl",
            "3",
        ],
        &["trace", "10.0.0.1", "-p", "445", "--first-ttl", "0"],
        &["trace", "10.0.0.1", "-p", "0"],
        &["trace", "10.0.0.1", "-p", "70000"],
        &["trace", "10.0.0.1", "-p", "445", "--trace-probes", "0"],
        &["trace", "10.0.0.1", "-p", "445", "--trace-probes", "11"],
        &["trace", "10.0.0.1", "-p", "445", "--trace-wait", "0"],
        &["trace", "10.0.0.1", "-p", "445", "--trace-wait", "nan"],
        &["trace", "10.0.0.1", "-p", "445", "--rate", "0"],
        &["trace", "10.0.0.1", "-p", "445", "-f", "csv"],
        &["trace", "10.0.0.1"],
        &["trace", "10.0.0.0/8", "-p", "445"],
        &[
            "check",
            "10.0.0.1",
            "-p",
            "445",
            "--trace-filtered",
            "--max-ttl",
            "99",
        ],
    ] {
        let line = crate::cli::assert_usage_error(args);
        assert!(!line.contains("panicked"), "{args:?}: {line}");
    }
}

/// Without raw sockets: one line that names both ways to get them, exit 2, nothing sent.
#[cfg(target_os = "linux")]
#[test]
fn a_trace_without_privileges_says_how_to_get_them() {
    if !crate::netns::is_root() || !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("NOT RUN: dropping privileges needs root and setpriv");
        return;
    }
    for args in [
        &["trace", "192.0.2.1", "-p", "445"][..],
        &["check", "192.0.2.1", "-p", "445", "--trace-filtered"],
    ] {
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(env!("CARGO_BIN_EXE_portq"))
            .args(args)
            .output()
            .expect("setpriv");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("root") && err.contains("CAP_NET_RAW"), "{err}");
        assert!(
            out.stdout.is_empty(),
            "nothing checked or printed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Windows (tested under Wine): the trace says, in one line, that it runs on Linux and
/// why, and exits 2.
#[cfg(windows)]
#[test]
fn a_trace_on_windows_says_what_works() {
    let line = crate::cli::assert_usage_error(&["trace", "192.0.2.1", "-p", "445"]);
    assert!(
        line.contains("Linux only") && line.contains("raw sockets"),
        "{line}"
    );
    let line =
        crate::cli::assert_usage_error(&["check", "192.0.2.1", "-p", "445", "--trace-filtered"]);
    assert!(line.contains("Linux only"), "{line}");
}

/// The console's trace button in Chromium on its own lab (tests/e2e/trace.sh): run when
/// PORTQ_E2E=1 (CI sets it).
#[cfg(target_os = "linux")]
#[test]
fn the_console_trace_button_in_headless_chromium() {
    if std::env::var("PORTQ_E2E").as_deref() != Ok("1") {
        eprintln!(
            "trace e2e: NOT RUN (set PORTQ_E2E=1; needs root, chromium, `npm ci` in tests/e2e)"
        );
        return;
    }
    let prefix = format!("pqte{}", std::process::id() % 100_000);
    let status = Command::new("bash")
        .arg(root().join("tests/e2e/trace.sh"))
        .arg(&prefix)
        .env("PORTQ_BIN", env!("CARGO_BIN_EXE_portq"))
        .status()
        .expect("tests/e2e/trace.sh");
    assert!(status.success(), "tests/e2e/trace.sh failed: {status}");
}

/// Debian's Prometheus scrapes the exporter with a `trace_filtered: true` module, both in
/// the lab's client namespace: `portq_port_filtered_after_hop` carries r2's hop and
/// address for 445/tcp and r3's for 3389/tcp.
#[test]
fn prometheus_scrapes_where_the_filtered_ports_stop() {
    if crate::under_wine("trace lab", "no namespaces") {
        return;
    }
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("PORTQ_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "prometheus is missing (PORTQ_REQUIRE_TOOLS=1)"
        );
        eprintln!("NOT RUN: no prometheus");
        return;
    }
    let Some(lab) = Lab::up("p", None) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("portq-trace-prom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("exporter.yml"),
        "modules:\n  paths:\n    ports: \"tcp:135,445,3389\"\n    timeout: 0.5\n    retries: 1\n    trace_filtered: true\n",
    )
    .expect("exporter.yml");
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 10s\n  scrape_timeout: 9s\nscrape_configs:\n  - job_name: paths\n    metrics_path: /probe\n    params:\n      module: [paths]\n    static_configs:\n      - targets: ['{SERVER}']\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - target_label: __address__\n        replacement: 127.0.0.1:19832\n"
        ),
    )
    .expect("prometheus.yml");
    let spawn = |cmd: &mut Command| {
        crate::exporter::Running::new(
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn"),
        )
    };
    let _exporter = spawn(lab.client(env!("CARGO_BIN_EXE_portq")).args([
        "exporter",
        "--listen",
        "127.0.0.1:19832",
        "--config",
        &dir.join("exporter.yml").display().to_string(),
    ]));
    let _prometheus = spawn(lab.client("prometheus").args([
        &format!("--config.file={}", dir.join("prometheus.yml").display()),
        &format!("--storage.tsdb.path={}", dir.join("data").display()),
        "--web.listen-address=127.0.0.1:19090",
    ]));
    let query = "http://127.0.0.1:19090/api/v1/query?query=portq_port_filtered_after_hop";
    let started = Instant::now();
    let found = loop {
        let out = lab
            .client("python3")
            .args([
                "-c",
                "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=5).read().decode())",
                query,
            ])
            .output()
            .expect("python3");
        let last = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Ok(v) = serde_json::from_str::<Value>(&last) {
            let series = v["data"]["result"].as_array().cloned().unwrap_or_default();
            if series.len() >= 2 {
                break series;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no trace series in Prometheus after 90 s: {last}"
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    let get = |port: &str| {
        found
            .iter()
            .find(|s| s["metric"]["port"] == port)
            .unwrap_or_else(|| panic!("no series for {port}: {found:?}"))
    };
    let s445 = get("445");
    assert_eq!(s445["metric"]["router"], R2, "{s445}");
    assert_eq!(s445["metric"]["verdict"], "silent", "{s445}");
    assert_eq!(s445["value"][1], "2", "{s445}");
    let s3389 = get("3389");
    assert_eq!(s3389["metric"]["router"], R3, "{s3389}");
    assert_eq!(s3389["metric"]["verdict"], "rejected", "{s3389}");
    assert_eq!(s3389["value"][1], "3", "{s3389}");
    assert!(
        found.iter().all(|s| s["metric"]["port"] != "135"),
        "the reference port is no series"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Equal-cost multipath at r1 (a hash of addresses and ports picks r2 or r2b per flow):
/// every probe of a port keeps one path, the one r1's kernel says that flow takes, while
/// the ports spread over both; traceroute -T, which changes its source port per probe,
/// shows both routers at hop 2 of one port.
#[test]
fn one_flow_per_port_keeps_one_path_through_a_load_balancer() {
    let Some(lab) = Lab::up_with("m", None, true) else {
        return;
    };
    const R2B: &str = "10.201.245.2";
    let (_, traces) = lab.trace_json(&[SERVER, "-p", "tcp:1000-1011", "--no-names"]);
    assert_eq!(traces.len(), 12);
    let mut seen = std::collections::BTreeSet::new();
    for t in &traces {
        assert_eq!(t["verdict"], "reached", "{t}");
        assert_eq!(t["answer"], "rst", "{t}");
        assert_eq!(t["path_varies"], false, "{t}");
        let hop2 = &t["hops"][1];
        let addrs: Vec<&Value> = hop2["replies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| &r["address"])
            .collect();
        assert_eq!(addrs.len(), 1, "one router at hop 2 for one flow: {t}");
        assert_eq!(hop2["replies"][0]["count"], hop2["sent"], "{t}");
        let ours = addrs[0].as_str().unwrap_or_default().to_owned();
        // The kernel's own choice for this 5-tuple, asked of r1.
        let sport = t["source_port"].as_u64().expect("source_port").to_string();
        let dport = t["port"].to_string();
        let out = Command::new("ip")
            .args([
                "-n",
                &format!("{}r1", lab.prefix),
                "route",
                "get",
                SERVER,
                "from",
            ])
            .args([
                "10.201.240.2",
                "iif",
                "r1c",
                "ipproto",
                "tcp",
                "sport",
                &sport,
            ])
            .args(["dport", &dport])
            .output()
            .expect("ip route get");
        let route = String::from_utf8_lossy(&out.stdout);
        assert!(
            route.contains(&format!("via {ours} ")),
            "port {dport}: portq saw {ours}, r1 routes {route}"
        );
        seen.insert(ours);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![R2.to_owned(), R2B.to_owned()],
        "twelve flows spread over both paths"
    );
    // The peer for contrast: a new source port per probe, so one port's hop 2 answers
    // from both routers for some port (each of 12 ports has 3 probes: all 36 on one path
    // per port would be a 1 in 4^12 chance).
    let mut split = 0;
    for port in 1000..1012 {
        let out = lab
            .client("traceroute")
            .args([
                "-n",
                "-T",
                "-p",
                &port.to_string(),
                "-q",
                "3",
                "-w",
                "1",
                "-m",
                "2",
                SERVER,
            ])
            .output()
            .expect("traceroute");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("2 "))
            .unwrap_or("");
        if line.contains(R2) && line.contains(R2B) {
            split += 1;
        }
    }
    assert!(
        split > 0,
        "traceroute -T kept one path per port too: the lab does not balance"
    );
}
