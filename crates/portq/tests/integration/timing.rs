//! The adaptive UDP windows judged by the real world: `portq check` as it is by default
//! and with `--patient` (PortQry's fixed windows), against the Samba DC lab and against
//! Debian's own daemons (bind9, chrony, net-snmp, strongswan) in a namespace, under
//! delay and loss. This kernel has no netem, so tests/lab/delay-queue.py holds each
//! packet to the target in an NFQUEUE for the profile's delay (and drops its loss).
//!
//! Per profile (80 ms ± 20 ms with 3 % loss, then 300 ms), three patient runs give the
//! reference (the state each port has in most of them); then 20 default runs must give
//! the same states in at least 19, and any difference must be the safe one: LISTENING OR
//! FILTERED where the patient runs said something else, never a NOT LISTENING (or any
//! other state) the patient runs did not see.

use crate::cli::lab_dc;
use crate::netns::TestNs;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

/// (port, protocol) → state of one run.
type States = BTreeMap<(u64, String), String>;

/// The daemons' namespace: the tools it needs, or `None` with a NOT RUN line (a failure
/// when PORTQ_REQUIRE_TOOLS is set: CI installs them).
fn tools_present() -> bool {
    let need = [
        "/usr/sbin/named",
        "/usr/sbin/chronyd",
        "/usr/sbin/snmpd",
        "/usr/lib/ipsec/charon",
        "/usr/sbin/iptables",
    ];
    let missing: Vec<&str> = need
        .iter()
        .copied()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    let root = crate::netns::is_root();
    if missing.is_empty() && root {
        return true;
    }
    assert!(
        std::env::var_os("PORTQ_REQUIRE_TOOLS").is_none(),
        "the timing test needs root and {missing:?} (apt-get install bind9 chrony snmpd strongswan-charon iptables)"
    );
    eprintln!("NOT RUN: timing under delay and loss needs root and {missing:?}");
    false
}

/// Starts bind9, chrony, snmpd and charon in `ns`, each bound to the namespace's
/// address (charon to all of the namespace's), and waits until all listen.
fn start_daemons(ns: &mut TestNs, dir: &std::path::Path) {
    let ip = &ns.ns_ip;
    let d = dir.display();
    std::fs::write(
        dir.join("named.conf"),
        format!(
            "options {{ directory \"{d}\"; listen-on port 53 {{ {ip}; }}; listen-on-v6 {{ none; }}; recursion no; pid-file \"{d}/named.pid\"; }};\nzone \"example.test\" {{ type primary; file \"{d}/db.example.test\"; }};\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("db.example.test"),
        format!("$TTL 300\n@ IN SOA ns.example.test. admin.example.test. 1 300 300 3000 300\n@ IN NS ns.example.test.\nns IN A {ip}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("chrony.conf"),
        format!("bindaddress {ip}\nport 123\nallow all\nlocal stratum 10\ncmdport 0\npidfile {d}/chronyd.pid\ndriftfile {d}/chrony.drift\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("snmpd.conf"),
        format!("agentAddress udp:{ip}:161\nrocommunity public\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("strongswan.conf"),
        "charon {\n  port = 500\n  port_nat_t = 4500\n  load_modular = no\n  plugins {\n  }\n}\n",
    )
    .unwrap();
    let quiet = |mut c: std::process::Command| -> Child {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("daemon")
    };
    let mut c = ns.exec("/usr/sbin/named");
    c.args(["-g", "-n", "1", "-c"]).arg(dir.join("named.conf"));
    ns.children.push(quiet(c));
    let mut c = ns.exec("/usr/sbin/chronyd");
    c.args(["-d", "-x", "-u", "root", "-f"])
        .arg(dir.join("chrony.conf"));
    ns.children.push(quiet(c));
    let mut c = ns.exec("/usr/sbin/snmpd");
    c.args(["-f", "-Lo", "-C", "-c"])
        .arg(dir.join("snmpd.conf"))
        .arg("-p")
        .arg(dir.join("snmpd.pid"));
    ns.children.push(quiet(c));
    let mut c = ns.exec("/usr/lib/ipsec/charon");
    c.env("STRONGSWAN_CONF", dir.join("strongswan.conf"));
    ns.children.push(quiet(c));
    // Bounded wait until every daemon listens.
    for _ in 0..100 {
        let out = ns.exec("ss").args(["-Hlun"]).output().expect("ss");
        let text = String::from_utf8_lossy(&out.stdout);
        if [":53 ", ":123 ", ":161 ", ":500 "]
            .iter()
            .all(|p| text.contains(p))
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the daemons did not start in {}", ns.name);
}

/// Delay (and loss) on the packets into namespace `ns` while it lives.
struct Impairment {
    ns: String,
    queue: u16,
    child: Child,
}

impl Impairment {
    fn start(ns: &str, queue: u16, delay: u32, jitter: u32, loss: f64, seed: u64) -> Impairment {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/lab/delay-queue.py"
        );
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", ns, "python3", script])
            .args(["--queue", &queue.to_string()])
            .args([
                "--delay",
                &delay.to_string(),
                "--jitter",
                &jitter.to_string(),
            ])
            .args(["--loss", &loss.to_string(), "--seconds", "900"])
            .args(["--seed", &seed.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("delay-queue.py");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        assert_eq!(line.trim(), "ready", "delay-queue.py in {ns} did not start");
        let q = queue.to_string();
        crate::netns::sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "iptables",
            "-I",
            "INPUT",
            "-j",
            "NFQUEUE",
            "--queue-num",
            &q,
            "--queue-bypass",
        ]);
        Impairment {
            ns: ns.to_owned(),
            queue,
            child,
        }
    }
}

impl Drop for Impairment {
    fn drop(&mut self) {
        let q = self.queue.to_string();
        let _ = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns, "iptables", "-D", "INPUT"])
            .args(["-j", "NFQUEUE", "--queue-num", &q, "--queue-bypass"])
            .output();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `portq check ARGS --format json`: the state of every port.
fn states(args: &[&str]) -> States {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("portq"));
    cmd.args(args);
    crate::check_findings(cmd)
        .iter()
        .map(|f| {
            (
                (
                    f["port"].as_u64().unwrap_or(0),
                    f["protocol"].as_str().unwrap_or("").to_owned(),
                ),
                f["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The state each port has in most of `runs`.
fn majority(runs: &[States]) -> States {
    let mut votes: BTreeMap<(u64, String), BTreeMap<String, usize>> = BTreeMap::new();
    for r in runs {
        for (k, s) in r {
            *votes
                .entry(k.clone())
                .or_default()
                .entry(s.clone())
                .or_default() += 1;
        }
    }
    votes
        .into_iter()
        .filter_map(|(k, v)| v.into_iter().max_by_key(|(_, n)| *n).map(|(s, _)| (k, s)))
        .collect()
}

/// How one default run compares with the reference: `Ok` with the safe differences
/// (none when the states are the same), `Err` an unsafe one (named).
fn compare(reference: &States, run: &States) -> Result<Vec<String>, String> {
    let mut differences = Vec::new();
    for (k, want) in reference {
        match run.get(k) {
            Some(got) if got == want => {}
            Some(got) if got == "listening_or_filtered" => {
                differences.push(format!("{}/{}: {got}, patient {want}", k.0, k.1));
            }
            Some(got) => return Err(format!("{}/{}: {got}, patient {want}", k.0, k.1)),
            // A port missing from one run (an RPC port the endpoint mapper listed once)
            // is no contradiction of a state.
            None => differences.push(format!("{}/{}: absent, patient {want}", k.0, k.1)),
        }
    }
    Ok(differences)
}

#[test]
fn adaptive_windows_agree_with_patient_under_delay_and_loss() {
    if crate::under_wine("timing", "no namespaces") || !tools_present() {
        return;
    }
    let _lab = crate::lab_lock::exclusive();
    let dc = lab_dc();
    let dc_ns = std::env::var("PORTQ_LAB_NETNS").unwrap_or_else(|_| "dc1".to_owned());
    let mut ns = TestNs::create_in("pqlt", 207, 1);
    let dir = std::env::temp_dir().join(format!("portq-timing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    ns.paths.push(dir.clone());
    start_daemons(&mut ns, &dir);
    let daemons_ip = ns.ns_ip.clone();
    let daemon_args = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "check",
            daemons_ip.as_str(),
            "-p",
            "tcp:53,udp:53,123,161,500,4500,514",
            "--probe",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let dc_args = |extra: &[&'static str]| -> Option<Vec<String>> {
        dc.as_ref().map(|dc| {
            let mut v: Vec<String> = ["check", dc.as_str(), "--role", "dc"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        })
    };
    let run_both = |extra: &[&'static str]| -> (States, Option<States>) {
        let d = daemon_args(extra);
        let c = dc_args(extra);
        std::thread::scope(|s| {
            let dc_run = c.as_ref().map(|c| {
                s.spawn(move || states(&c.iter().map(String::as_str).collect::<Vec<_>>()))
            });
            let daemons = states(&d.iter().map(String::as_str).collect::<Vec<_>>());
            (daemons, dc_run.map(|h| h.join().expect("dc run")))
        })
    };
    let profiles: [(&str, u32, u32, f64); 2] = [
        ("80 ms ± 20 ms, 3 % loss", 80, 20, 3.0),
        ("300 ms", 300, 0, 0.0),
    ];
    let mut report = Vec::new();
    for (seed, (name, delay, jitter, loss)) in profiles.into_iter().enumerate() {
        let _daemons = Impairment::start(&ns.name, 41, delay, jitter, loss, seed as u64);
        let _dc = dc
            .as_ref()
            .map(|_| Impairment::start(&dc_ns, 42, delay, jitter, loss, seed as u64 + 100));
        let patient: Vec<(States, Option<States>)> =
            (0..3).map(|_| run_both(&["--patient"])).collect();
        let ref_daemons = majority(&patient.iter().map(|p| p.0.clone()).collect::<Vec<_>>());
        let ref_dc = dc.as_ref().map(|_| {
            majority(
                &patient
                    .iter()
                    .filter_map(|p| p.1.clone())
                    .collect::<Vec<_>>(),
            )
        });
        // The reference itself is what the daemons are: a sanity check of the lab.
        assert_eq!(
            ref_daemons.get(&(514, "udp".into())).map(String::as_str),
            Some("not_listening"),
            "{name}: {ref_daemons:?}"
        );
        for p in [53, 123, 161, 500] {
            assert_eq!(
                ref_daemons.get(&(p, "udp".into())).map(String::as_str),
                Some("listening"),
                "{name}: {p}/udp {ref_daemons:?}"
            );
        }
        let (mut same, mut dc_same) = (0, 0);
        // Each differing run, named, so that the failure message itself says which.
        let mut seen = Vec::new();
        for i in 0..20 {
            let (d, c) = run_both(&[]);
            match compare(&ref_daemons, &d) {
                Ok(diff) if diff.is_empty() => same += 1,
                Ok(diff) => seen.push(format!("run {i}, daemons: {}", diff.join("; "))),
                Err(e) => panic!("{name}, run {i}, daemons: unsafe difference {e}"),
            }
            if let (Some(r), Some(c)) = (&ref_dc, &c) {
                match compare(r, c) {
                    Ok(diff) if diff.is_empty() => dc_same += 1,
                    Ok(diff) => seen.push(format!("run {i}, DC: {}", diff.join("; "))),
                    Err(e) => panic!("{name}, run {i}, DC: unsafe difference {e}"),
                }
                assert_ne!(
                    c.get(&(138, "udp".into())).map(String::as_str),
                    Some("not_listening"),
                    "{name}, run {i}: 138/udp"
                );
            }
        }
        report.push(format!(
            "{name}: daemons {same}/20 same as --patient{}",
            if dc.is_some() {
                format!(", DC {dc_same}/20")
            } else {
                String::new()
            }
        ));
        if !seen.is_empty() {
            eprintln!("{name}: {}", seen.join(" | "));
        }
        assert!(
            same >= 19,
            "{name}: daemons agree in {same} of 20 runs ({})",
            seen.join(" | ")
        );
        if dc.is_some() {
            assert!(
                dc_same >= 19,
                "{name}: the DC agrees in {dc_same} of 20 runs ({})",
                seen.join(" | ")
            );
        }
    }
    eprintln!("timing: {}", report.join("; "));
}
