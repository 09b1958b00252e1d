//! Issue 23: the estate roles checked end to end against fakes in a namespace of our own
//! (10.206.N.2, slot 1 of the range; no route out): a Configuration Manager management
//! point, an Exchange Mailbox server whose SMTP ports greet with a banner, an Operations
//! Manager management server, and an NPS whose 1812/udp answers RADIUS while 1813/udp is
//! bound but silent. How portq tells the RADIUS cases apart: an answer is LISTENING
//! (evidence: the reply); silence is LISTENING OR FILTERED, which is unconfirmed and fails
//! nothing; no socket at all draws the namespace kernel's ICMP port unreachable, NOT
//! LISTENING.

use serde_json::Value;
use std::process::Command;

/// TCP listeners (SMTP ports greet first) and UDP sockets: 1812 answers each datagram
/// with a RADIUS Access-Reject of the same identifier, the others never answer. Two
/// minutes at most.
const FAKES: &str = r#"
import socket, sys, threading, time
tcp = [int(p) for p in sys.argv[1].split(",")]
udp = [int(p) for p in sys.argv[2].split(",")]
smtp = {25, 587, 2525, 465, 717, 475}
def serve(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(64)
    while True:
        c, _ = s.accept()
        def talk(c=c):
            try:
                c.settimeout(5)
                if p in smtp:
                    c.sendall(b"220 mail.example.test Microsoft ESMTP MAIL Service ready\r\n")
                while c.recv(4096):
                    pass
            except OSError:
                pass
            c.close()
        threading.Thread(target=talk, daemon=True).start()
def radius(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", p))
    while True:
        data, peer = s.recvfrom(4096)
        if p == 1812 and len(data) >= 2:
            s.sendto(bytes([3, data[1], 0, 20]) + bytes(16), peer)
for p in tcp:
    threading.Thread(target=serve, args=(p,), daemon=True).start()
for p in udp:
    threading.Thread(target=radius, args=(p,), daemon=True).start()
time.sleep(0.3)
print("ready", flush=True)
time.sleep(120)
"#;

fn check(ns: &crate::netns::TestNs, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("portq"))
        .arg("check")
        .arg(&ns.ns_ip)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        doc,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn state<'a>(doc: &'a Value, port: u64, proto: &str) -> &'a str {
    doc["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|x| x["port"] == port && x["protocol"] == proto)
        })
        .and_then(|x| x["state"].as_str())
        .unwrap_or("missing")
}

#[test]
fn estate_roles_pass_against_their_fakes() {
    if !crate::netns::is_root() {
        eprintln!("NOT RUN: needs root (makes a network namespace)");
        return;
    }
    let mut ns = crate::netns::TestNs::create_in("pqest", 206, 1);
    let tcp = "10123,80,443,445,135,25,465,475,587,717,2525,5723,5724";
    let udp = "1812,1813,1645,1646";
    ns.start_ready("python3", &["-c", FAKES, tcp, udp]);

    for role in [
        "sccm-management-point",
        "exchange-mailbox",
        "scom-management-server",
        "nps",
    ] {
        let (code, doc, err) = check(&ns, &["--role", role]);
        assert_eq!(code, 0, "{role}: {err}\n{doc}");
        assert_eq!(doc["summary"]["outcome"], "passed", "{role}: {doc}");
        eprintln!("{role}: {}", err.lines().last().unwrap_or(""));
    }
    let (_, mp, _) = check(&ns, &["--role", "sccm-management-point"]);
    assert_eq!(state(&mp, 10123, "tcp"), "listening");
    // Exchange: the SMTP banner is the evidence of 25.
    let (_, ex, _) = check(&ns, &["--role", "exchange-mailbox"]);
    let smtp = ex["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["port"] == 25)
        .unwrap();
    assert!(smtp["evidence"].to_string().contains("220"), "{smtp}");
    // NPS: the answering fake is LISTENING; the silent one unconfirmed.
    let (_, nps, _) = check(&ns, &["--role", "nps"]);
    assert_eq!(state(&nps, 1812, "udp"), "listening", "{nps}");
    assert_eq!(state(&nps, 1813, "udp"), "listening_or_filtered", "{nps}");
    assert!(
        nps["summary"]["unconfirmed"].to_string().contains("1813"),
        "{nps}"
    );
    // No socket at all: the namespace's port unreachable says NOT LISTENING.
    let (code, none, _) = check(&ns, &["-p", "udp:1814"]);
    assert_eq!(state(&none, 1814, "udp"), "not_listening", "{none}");
    assert_eq!(code, 0, "a sweep's closed port is an answer, not a failure");
    // And a role whose ports are closed fails: this host answers 80 and 443 but none of
    // SharePoint's service-application ports, so it is no SharePoint server.
    let (code, sp, err) = check(&ns, &["--role", "sharepoint-server"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(sp["summary"]["outcome"], "failed");
    assert_eq!(state(&sp, 32843, "tcp"), "not_listening", "{sp}");
    drop(ns);
}
