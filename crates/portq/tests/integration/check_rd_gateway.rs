//! `portq check --role rd-gateway` end to end, against fakes this test binds on one
//! loopback address (127.x.y.z, never a sweep of 127.0.0.0/8) on the role's own ports:
//! HTTPS on TCP 443 (a TLS server with the test certificate of the probe crate), a silent
//! UDP socket on 3391, and WinRM's HTTP on TCP 5985. Binding 443 needs root; without it
//! the test says so and returns.

#[path = "../../../portq-probe/tests/integration/check_support/fixtures.rs"]
mod fixtures;

use assert_cmd::Command;
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// A loopback address of our own: 127.<pid-derived>.<pid-derived>.77.
fn own_address() -> Ipv4Addr {
    let pid = std::process::id();
    Ipv4Addr::new(
        127,
        100 + (pid % 100) as u8,
        ((pid / 100) % 250) as u8 + 1,
        77,
    )
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    tokio_rustls::TlsAcceptor::from(Arc::new(fixtures::tls_server_config()))
}

/// Answers every request on the stream with `reply`, a bounded number of times.
async fn answer<S: AsyncReadExt + AsyncWriteExt + Unpin>(mut s: S, reply: &[u8]) {
    let mut buf = vec![0u8; 4096];
    for _ in 0..4 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let _ = s.write_all(reply).await;
                let _ = s.flush().await;
            }
        }
    }
}

const GATEWAY_REPLY: &[u8] =
    b"HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: 0\r\n\r\n";
const WINRM_REPLY: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: 0\r\n\r\n";

/// Binds the fakes; `None` when port 443 cannot be bound (not root).
async fn fakes(addr: Ipv4Addr, with_udp: bool) -> Option<Option<UdpSocket>> {
    let https = match TcpListener::bind(SocketAddr::from((addr, 443))).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return None,
        Err(e) => panic!("bind {addr}:443: {e}"),
    };
    let winrm = TcpListener::bind(SocketAddr::from((addr, 5985)))
        .await
        .expect("bind 5985");
    let acceptor = tls_acceptor();
    tokio::spawn(async move {
        for _ in 0..32 {
            let Ok((s, _)) = https.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    answer(tls, GATEWAY_REPLY).await;
                }
            });
        }
    });
    tokio::spawn(async move {
        for _ in 0..32 {
            let Ok((s, _)) = winrm.accept().await else {
                return;
            };
            tokio::spawn(async move { answer::<TcpStream>(s, WINRM_REPLY).await });
        }
    });
    let udp = if with_udp {
        Some(
            UdpSocket::bind(SocketAddr::from((addr, 3391)))
                .await
                .expect("bind 3391"),
        )
    } else {
        None
    };
    Some(udp)
}

fn check(addr: Ipv4Addr) -> (i32, Vec<Value>) {
    let out = Command::cargo_bin("portq")
        .expect("binary")
        .args([
            "check",
            &addr.to_string(),
            "--role",
            "rd-gateway",
            "--timeout",
            "1",
            "--retries",
            "1",
            "--format",
            "json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run portq");
    assert!(
        out.status.code().is_some(),
        "portq did not end within 60 s (killed): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        rows["findings"].as_array().cloned().unwrap_or_default(),
    )
}

fn finding<'a>(rows: &'a [Value], port: u64, proto: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["port"] == port && r["protocol"] == proto)
        .unwrap_or_else(|| panic!("no finding for {port}/{proto}: {rows:?}"))
}

#[test]
fn check_role_rd_gateway_against_loopback_fakes() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = own_address();
    let Some(udp) = rt.block_on(fakes(addr, true)) else {
        eprintln!("skipped: binding {addr}:443 needs root");
        return;
    };
    let (_, rows) = check(addr);
    assert_eq!(rows.len(), 3, "443/tcp, 3391/udp, 5985/tcp: {rows:?}");
    let gw = finding(&rows, 443, "tcp");
    assert_eq!(gw["state"], "listening");
    assert_eq!(gw["probe"], "https");
    let kinds: Vec<&str> = gw["evidence_detail"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["tls_certificate", "http"], "{gw}");
    assert!(
        gw["service"]
            .as_str()
            .unwrap_or("")
            .contains("Remote Desktop Gateway"),
        "{gw}"
    );
    let winrm = finding(&rows, 5985, "tcp");
    assert_eq!(winrm["state"], "listening");
    assert!(
        winrm["evidence"][0].as_str().unwrap_or("").contains("404"),
        "{winrm}"
    );
    // RD Gateway's UDP side channel needs an authenticated HTTP main channel first, so
    // a bound, silent 3391 can only be "listening or filtered".
    assert_eq!(
        finding(&rows, 3391, "udp")["state"],
        "listening_or_filtered"
    );
    drop(udp);
    // Without the UDP socket the kernel answers port unreachable: NOT LISTENING, exit 1.
    // Under Wine the unreachable is not always seen; the check must still end (it used to
    // spin at 100% CPU on the woken, empty socket: `check` kills it after 60 s).
    let (code, rows) = check(addr);
    let udp_state = &finding(&rows, 3391, "udp")["state"];
    assert_eq!(finding(&rows, 443, "tcp")["state"], "listening");
    if crate::wine() && udp_state == "listening_or_filtered" {
        // Unconfirmed is no failure (issue 21): the check passes without the proof.
        eprintln!("under Wine: the port unreachable was not seen");
        assert_eq!(code, 0);
    } else {
        assert_eq!(udp_state, "not_listening");
        assert_eq!(code, 1);
    }
}
