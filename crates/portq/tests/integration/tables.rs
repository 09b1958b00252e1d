//! Tables at 80, 100 and 140 columns (piped, `COLUMNS` set): no line wider than the
//! width, and every role id, UUID, SRV name and evidence token whole on one line. The
//! roles tables and an `rpc` table from an endpoint mapper on loopback run everywhere;
//! `check`, `rpc` and DC discovery against the Samba DC lab run when the lab is up.

use crate::cli::lab_dc;
use crate::hostile::{bind_ack, lookup_reply, read_pdu};
use assert_cmd::Command;
use portq_wire::dcerpc::{Pdu, SyntaxId};
use portq_wire::epm::{EptEntry, Tower};
use serde_json::Value;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WIDTHS: [usize; 3] = [80, 100, 140];

/// Runs portq with stdout piped and `COLUMNS=width`; returns (exit code, stdout).
fn at_width(width: usize, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("portq")
        .expect("binary")
        .env("COLUMNS", width.to_string())
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("run portq");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Asserts the promise on one rendered table: no line wider than `width`, and each of
/// `tokens` whole on some line.
fn assert_fits(what: &str, width: usize, text: &str, tokens: &[String]) {
    assert!(!text.trim().is_empty(), "{what} at {width}: no output");
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "{what} at {width}: a line of {} characters:\n{line}\n\n{text}",
            line.chars().count()
        );
    }
    for t in tokens {
        assert!(
            text.lines().any(|l| l.contains(t.as_str())),
            "{what} at {width}: {t:?} is not whole on one line:\n{text}"
        );
    }
}

#[test]
fn roles_tables_fit_every_width_with_every_role_id_whole() {
    let (code, json) = at_width(100, &["roles", "--format", "json"]);
    assert_eq!(code, 0);
    let roles: Vec<Value> = serde_json::from_str(&json).expect("json");
    let ids: Vec<String> = roles
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    assert!(ids.len() >= 30, "{ids:?}");
    for w in WIDTHS {
        let (code, text) = at_width(w, &["roles"]);
        assert_eq!(code, 0);
        assert_fits("portq roles", w, &text, &ids);
    }
    // One role in full: every port it lists, and every option, whole.
    for id in &ids {
        let (code, json) = at_width(100, &["roles", id, "--format", "json"]);
        assert_eq!(code, 0, "portq roles {id}");
        let d: Value = serde_json::from_str(&json).expect("json");
        let mut tokens = vec![id.clone()];
        for o in d["options"].as_array().expect("options") {
            tokens.push(o["id"].as_str().unwrap_or("").to_owned());
        }
        for p in d["ports"].as_array().expect("ports") {
            if let Some(port) = p["port"].as_str().filter(|p| !p.is_empty()) {
                tokens.push(port.to_owned());
            }
        }
        for w in WIDTHS {
            let (code, text) = at_width(w, &["roles", id]);
            assert_eq!(code, 0);
            assert_fits(&format!("portq roles {id}"), w, &text, &tokens);
        }
    }
}

/// An endpoint mapper on 127.0.0.1 that lists `entries` to every lookup, for 30 s at most.
struct Mapper {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Mapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn mapper(entries: Vec<EptEntry>) -> Mapper {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&stop);
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
            let Ok((mut s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            if s.set_nonblocking(false).is_err() {
                continue;
            }
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let entries = entries.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let Some(Pdu::Bind(bind)) = read_pdu(&mut s) else {
                    return;
                };
                if s.write_all(&bind_ack(bind.call_id)).is_err() {
                    return;
                }
                for _ in 0..4 {
                    let Some(Pdu::Request(req)) = read_pdu(&mut s) else {
                        return;
                    };
                    let reply = lookup_reply(req.call_id, [0; 20], entries.clone(), 0);
                    if s.write_all(&reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Mapper { port, stop }
}

#[test]
fn rpc_table_fits_every_width_with_every_uuid_whole() {
    // Interfaces the catalogue names (short names, titles only, none), with the long
    // annotations real servers send.
    let catalogue = include_str!("../../../portq-catalog/data/rpc-interfaces.csv");
    let uuids: Vec<String> = catalogue
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .step_by(23)
        .take(30)
        .map(str::to_owned)
        .collect();
    assert!(uuids.len() >= 20, "{uuids:?}");
    let entries: Vec<EptEntry> = uuids
        .iter()
        .enumerate()
        .map(|(i, u)| EptEntry {
            object: uuid::Uuid::nil(),
            tower: Some(Tower::tcp(
                SyntaxId::new(u.parse().expect("uuid"), 1, 0),
                49152 + u16::try_from(i).unwrap_or(0),
                Ipv4Addr::UNSPECIFIED,
            )),
            annotation: if i % 3 == 0 {
                "Impl friendly name for the remote management of something".into()
            } else {
                String::new()
            },
        })
        .collect();
    let m = mapper(entries);
    let port = m.port.to_string();
    for w in WIDTHS {
        let (code, text) = at_width(w, &["rpc", "127.0.0.1", "--port", &port]);
        assert!(code == 0 || code == 1, "exit {code}: {text}");
        assert_fits("portq rpc", w, &text, &uuids);
    }
    // The title of each interface comes only at full width.
    let (_, wide) = at_width(80, &["--wide", "rpc", "127.0.0.1", "--port", &port]);
    assert!(
        wide.lines().next().is_some_and(|h| h.contains("TITLE")),
        "{wide}"
    );
}

/// The lab's real tables: `check --role dc` (Kerberos error names, LDAP and TLS
/// evidence), `rpc` (every UUID the DC registers) and DC discovery (SRV names).
#[test]
fn lab_tables_fit_every_width_with_names_whole() {
    let _lab = crate::lab_lock::shared();
    let Some(dc) = lab_dc() else {
        return;
    };
    let (_, json) = at_width(100, &["rpc", &dc, "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&json).expect("rpc json");
    let uuids: Vec<String> = rows
        .iter()
        .filter_map(|r| r["uuid"].as_str().map(str::to_owned))
        .collect();
    assert!(uuids.len() >= 10, "{json}");
    let (_, json) = at_width(100, &["check", &dc, "--role", "dc", "--format", "json"]);
    let doc: Value = serde_json::from_str(&json).expect("check json");
    // Evidence tokens: error names and other single words with an underscore.
    let mut evidence: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_owned))
        .flat_map(|t| {
            t.split_whitespace()
                .filter(|w| w.contains('_'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    evidence.sort();
    evidence.dedup();
    assert!(
        evidence.iter().any(|e| e == "KDC_ERR_C_PRINCIPAL_UNKNOWN"),
        "{evidence:?}"
    );
    let srv: Vec<String> = [
        "_ldap._tcp.dc._msdcs.example.test",
        "_kerberos._tcp.example.test",
        "_gc._tcp.example.test",
    ]
    .map(str::to_owned)
    .to_vec();
    for w in WIDTHS {
        let (_, text) = at_width(w, &["check", &dc, "--role", "dc"]);
        assert_fits("portq check --role dc", w, &text, &evidence);
        let (_, text) = at_width(w, &["rpc", &dc]);
        assert_fits("portq rpc", w, &text, &uuids);
        let (_, text) = at_width(
            w,
            &[
                "check",
                "--domain",
                "example.test",
                "--dns-server",
                &dc,
                "-p",
                "tcp:389",
            ],
        );
        assert_fits("DC discovery", w, &text, &srv);
    }
}
