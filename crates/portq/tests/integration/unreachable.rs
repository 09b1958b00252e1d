//! What `check` says when the path refuses a port, judged by the kernel that refused it:
//! a namespace of ours rejects ports with ICMP admin-prohibited (IPv4 and IPv6) and
//! net-unreachable, and drops a UDP port in its own output hook. Each port's evidence
//! must name what the kernel's errno covers, never an ICMP the system did not report,
//! and never a local firewall rule for a router's or host's reject.

use crate::netns::{TestNs, sh};
use serde_json::Value;

/// One `check … --format json`, run as `cmd`: each finding's (port, state, evidence).
fn findings(cmd: std::process::Command) -> Vec<(u64, String, String)> {
    crate::check_findings(cmd)
        .iter()
        .map(|f| {
            (
                f["port"].as_u64().unwrap_or(0),
                f["state"].as_str().unwrap_or("").to_owned(),
                f["evidence"]
                    .as_array()
                    .map(|e| {
                        e.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" | ")
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn refusals_are_named_by_what_the_kernel_said() {
    if !crate::netns::is_root() || !std::path::Path::new("/usr/sbin/nft").exists() {
        assert!(
            std::env::var_os("PORTQ_REQUIRE_TOOLS").is_none(),
            "the unreachable test needs root and nft"
        );
        eprintln!("NOT RUN: the unreachable test needs root and nft");
        return;
    }
    let ns = TestNs::create_in("pqur", 205, 1);
    // An IPv6 link beside the IPv4 one (no duplicate-address wait).
    let third = ns
        .prefix
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or("1");
    let v6 = |host: u8| format!("fd00:10:205:{third}::{host}");
    sh(&[
        "ip",
        "addr",
        "add",
        &format!("{}/64", v6(1)),
        "dev",
        &ns.host_if,
        "nodad",
    ]);
    let ns_if = sh(&["ip", "-n", &ns.name, "-o", "link", "show", "type", "veth"]);
    let ns_if = ns_if
        .split(':')
        .nth(1)
        .map(|s| s.trim().split('@').next().unwrap_or("").to_owned())
        .expect("the namespace's veth");
    sh(&[
        "ip",
        "-n",
        &ns.name,
        "addr",
        "add",
        &format!("{}/64", v6(2)),
        "dev",
        &ns_if,
        "nodad",
    ]);
    let rules = "table inet pq {\n\
        chain input { type filter hook input priority 0; policy accept;\n\
          meta nfproto ipv4 tcp dport 4001 reject with icmp type admin-prohibited\n\
          meta nfproto ipv6 tcp dport 4001 reject with icmpv6 type admin-prohibited\n\
          meta nfproto ipv4 tcp dport 4002 reject with icmp type net-unreachable\n\
        }\n\
        chain output { type filter hook output priority 0; policy accept;\n\
          udp dport 4003 drop\n\
        }\n\
      }\n";
    let file = std::env::temp_dir().join(format!("portq-unreachable-{}.nft", std::process::id()));
    std::fs::write(&file, rules).expect("rules file");
    let loaded = ns.exec("nft").arg("-f").arg(&file).output().expect("nft");
    let _ = std::fs::remove_file(&file);
    assert!(
        loaded.status.success(),
        "nft: {}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let bin = assert_cmd::cargo::cargo_bin("portq");

    // IPv4 from the host side: admin-prohibited reads as EHOSTUNREACH, net-unreachable
    // as ENETUNREACH.
    let mut c = std::process::Command::new(&bin);
    c.args(["check", &ns.ns_ip, "-p", "tcp:4001,4002", "--retries", "1"]);
    let got = findings(c);
    let of = |port: u64| {
        got.iter()
            .find(|f| f.0 == port)
            .unwrap_or_else(|| panic!("{port}: {got:?}"))
            .clone()
    };
    let (_, state, evidence) = of(4001);
    assert_eq!(state, "filtered", "{got:?}");
    assert!(
        evidence.starts_with("host unreachable (") && evidence.contains("prohibited"),
        "4001/tcp over IPv4: {evidence}"
    );
    assert!(!evidence.contains("local firewall"), "{evidence}");
    let (_, state, evidence) = of(4002);
    assert_eq!(state, "filtered", "{got:?}");
    assert!(
        evidence.starts_with("network unreachable (") && evidence.contains("ICMP"),
        "4002/tcp: {evidence}"
    );

    // IPv6: the same reject is EACCES, which is no local rule. Linux holds an ICMPv6
    // error to a connecting socket until the SYN's first retransmission (1 s), so the
    // attempt must outlast that.
    let mut c = std::process::Command::new(&bin);
    c.args([
        "check",
        &v6(2),
        "-p",
        "tcp:4001",
        "--retries",
        "1",
        "--timeout",
        "3",
    ]);
    let got = findings(c);
    let (_, state, evidence) = got.first().cloned().expect("one finding");
    assert_eq!(state, "filtered", "{got:?}");
    assert!(
        evidence.starts_with("administratively prohibited (") && evidence.contains("ICMPv6"),
        "4001/tcp over IPv6: {got:?}"
    );

    // Inside the namespace, toward the host side: its own output hook refuses the
    // datagram before it leaves (EPERM), so nothing is sent.
    let mut c = ns.exec(&bin);
    c.args(["check", &ns.host_ip, "-p", "udp:4003", "--retries", "1"]);
    let got = findings(c);
    let (_, state, evidence) = got.first().cloned().expect("one finding");
    assert_eq!(state, "filtered", "{got:?}");
    assert_eq!(evidence, "blocked by a local firewall rule", "{got:?}");
}
