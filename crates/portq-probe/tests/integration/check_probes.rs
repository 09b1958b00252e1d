//! TCP application probes against fake servers on loopback ports this test binds:
//! replies captured from Samba or built here, TLS with a self-signed certificate,
//! garbage, silence, early close and oversized answers. A probe failure never
//! changes the state: the connect already proved the port listening.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::check_support::fixtures;
use crate::check_support::*;
use portq_probe::{Evidence, Finding, PortState, ProbeKind, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn probe(port: u16, kind: ProbeKind) -> Finding {
    let f = check_one(Transport::Tcp, port, Some(kind), fast_opts()).await;
    assert_eq!(f.state, PortState::Listening, "{f:?}");
    assert_eq!(f.probe, kind.name());
    f
}

fn only_error(f: &Finding) -> &str {
    match f.evidence.as_slice() {
        [Evidence::Error { message, .. }] => message,
        other => panic!("expected one error, got {other:?}"),
    }
}

#[tokio::test]
async fn http_status_and_server_header() {
    let port = tcp_replying(
        b"HTTP/1.1 404 Not Found\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: 0\r\n\r\n"
            .to_vec(),
    )
    .await;
    let f = probe(port, ProbeKind::Http).await;
    assert_eq!(
        f.evidence,
        vec![Evidence::Http {
            status: 404,
            server: Some("Microsoft-HTTPAPI/2.0".into())
        }]
    );
}

#[tokio::test]
async fn the_http_request_names_the_host() {
    let (tx, rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    let tx = std::sync::Mutex::new(Some(tx));
    let port = tcp_server(move |mut s| {
        let tx = tx.lock().unwrap().take();
        async move {
            let mut buf = vec![0u8; 1024];
            let n = s.read(&mut buf).await.unwrap_or(0);
            if let Some(tx) = tx {
                let _ = tx.send(buf[..n].to_vec());
            }
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
        }
    })
    .await;
    probe(port, ProbeKind::Http).await;
    let req = String::from_utf8(rx.await.unwrap()).unwrap();
    assert!(req.starts_with("GET / HTTP/1.0\r\n"), "{req}");
    assert!(
        req.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "{req}"
    );
}

#[tokio::test]
async fn banners_are_read_to_the_first_line() {
    let port = tcp_server(|mut s| async move {
        let _ = s
            .write_all(b"220 mail.example.test ESMTP\r\n250 more\r\n")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    })
    .await;
    let f = probe(port, ProbeKind::Banner).await;
    assert_eq!(
        f.evidence,
        vec![Evidence::Banner {
            text: "220 mail.example.test ESMTP".into()
        }]
    );
}

#[tokio::test]
async fn ldap_root_dse_in_one_piece_or_dripped() {
    let reply = fixtures::bytes(fixtures::LDAP);
    let whole = tcp_replying(reply.clone()).await;
    let f = probe(whole, ProbeKind::Ldap).await;
    let want = vec![Evidence::Ldap {
        naming_context: Some("DC=example,DC=test".into()),
        dns_host_name: Some("dc1.example.test".into()),
        naming_contexts: Vec::new(),
        vendor_name: None,
    }];
    assert_eq!(f.evidence, want);

    // The same reply a few bytes at a time: messages straddle reads.
    let dripped = tcp_server(move |mut s| {
        let reply = reply.clone();
        async move {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.set_nodelay(true);
            for chunk in reply.chunks(7) {
                if s.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert_eq!(probe(dripped, ProbeKind::Ldap).await.evidence, want);
}

#[tokio::test]
async fn smb_negotiate_on_445_and_through_netbios_on_139() {
    let smb = fixtures::bytes(fixtures::SMB);
    let port = tcp_replying(smb.clone()).await;
    let want = vec![Evidence::Smb {
        dialect: "3.1.1".into(),
        signing_required: true,
    }];
    assert_eq!(probe(port, ProbeKind::Smb).await.evidence, want);

    let nbss = fixtures::bytes(fixtures::NBSS);
    let port = tcp_server(move |mut s| {
        let (smb, nbss) = (smb.clone(), nbss.clone());
        async move {
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap_or(0);
            assert_eq!(buf.first(), Some(&0x81), "session request first");
            assert_eq!(n, 72);
            let _ = s.write_all(&nbss).await;
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&smb).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert_eq!(probe(port, ProbeKind::NetbiosSmb).await.evidence, want);
}

#[tokio::test]
async fn a_refused_netbios_session_is_an_error_evidence() {
    // NEGATIVE SESSION RESPONSE, "not listening on called name".
    let port = tcp_replying(vec![0x83, 0, 0, 1, 0x80]).await;
    let f = probe(port, ProbeKind::NetbiosSmb).await;
    assert!(
        only_error(&f).contains("negative session response"),
        "{f:?}"
    );
}

#[tokio::test]
async fn rdp_selected_protocol() {
    // X.224 Connection Confirm with RDP_NEG_RSP selecting CredSSP (HYBRID).
    let cc = vec![
        0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x1f, 0x08, 0x00,
        0x02, 0x00, 0x00, 0x00,
    ];
    let port = tcp_replying(cc).await;
    let f = probe(port, ProbeKind::Rdp).await;
    assert_eq!(
        f.evidence,
        vec![Evidence::Rdp {
            selected_protocol: Some("CredSSP (NLA)".into()),
            failure: None
        }]
    );
}

#[tokio::test]
async fn kerberos_over_tcp() {
    let port = tcp_replying(fixtures::bytes(fixtures::KRBTCP)).await;
    let f = probe(port, ProbeKind::KerberosTcp).await;
    assert!(
        matches!(&f.evidence[..], [Evidence::Kerberos { error_code: 6, realm: Some(r), .. }] if r == "EXAMPLE.TEST"),
        "{f:?}"
    );
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    tokio_rustls::TlsAcceptor::from(Arc::new(fixtures::tls_server_config()))
}

async fn tls_server(reply: Vec<u8>) -> u16 {
    let acceptor = tls_acceptor();
    tcp_server(move |s: TcpStream| {
        let (acceptor, reply) = (acceptor.clone(), reply.clone());
        async move {
            let Ok(mut tls) = acceptor.accept(s).await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            let _ = tls.read(&mut buf).await;
            let _ = tls.write_all(&reply).await;
            let _ = tls.flush().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

fn assert_test_certificate(e: &Evidence) {
    match e {
        Evidence::TlsCertificate {
            subject,
            not_after,
            protocol,
            ..
        } => {
            assert!(subject.contains("CN=fake.portq.test"), "{subject}");
            assert!(not_after.starts_with("2126-"), "{not_after}");
            assert_eq!(protocol, "TLSv1.3");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn https_reports_the_certificate_and_the_status() {
    let port = tls_server(b"HTTP/1.1 200 OK\r\nServer: fake\r\n\r\n".to_vec()).await;
    let f = probe(port, ProbeKind::Https).await;
    assert_eq!(f.evidence.len(), 2, "{f:?}");
    assert_test_certificate(&f.evidence[0]);
    assert_eq!(
        f.evidence[1],
        Evidence::Http {
            status: 200,
            server: Some("fake".into())
        }
    );
}

#[tokio::test]
async fn ldaps_reports_the_certificate_and_the_root_dse() {
    let port = tls_server(fixtures::bytes(fixtures::LDAP)).await;
    let f = probe(port, ProbeKind::Ldaps).await;
    assert_eq!(f.evidence.len(), 2, "{f:?}");
    assert_test_certificate(&f.evidence[0]);
    assert!(matches!(f.evidence[1], Evidence::Ldap { .. }));
}

#[tokio::test]
async fn tls_probe_against_a_plain_server_is_an_error() {
    let port = tcp_replying(b"220 not TLS at all\r\n".to_vec()).await;
    let f = probe(port, ProbeKind::Https).await;
    assert!(only_error(&f).starts_with("TLS"), "{f:?}");
}

#[tokio::test]
async fn garbage_replies_are_errors_and_the_check_goes_on() {
    let garbage = vec![0x30, 0x03, 0x02, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef];
    let mut ports = Vec::new();
    let mut opts = fast_opts();
    for kind in [
        ProbeKind::Ldap,
        ProbeKind::Smb,
        ProbeKind::NetbiosSmb,
        ProbeKind::Rdp,
        ProbeKind::Http,
        ProbeKind::KerberosTcp,
        ProbeKind::Epm,
    ] {
        let p = tcp_replying(garbage.clone()).await;
        opts = opts.with_probe(p, kind);
        ports.push((Transport::Tcp, p));
    }
    let closed = closed_tcp_port();
    ports.push((Transport::Tcp, closed));
    let (findings, summary) = check_ports(LOOPBACK, &ports, opts).await;
    assert_eq!(summary.failure_count, 0);
    assert_eq!(findings.len(), ports.len());
    for f in &findings {
        if f.port == closed {
            assert_eq!(f.state, PortState::NotListening);
        } else {
            assert_eq!(f.state, PortState::Listening, "{f:?}");
            assert!(f.evidence.iter().any(Evidence::is_error), "{f:?}");
        }
    }
}

#[tokio::test]
async fn silent_servers_are_bounded_by_the_probe_timeout() {
    let port = tcp_server(|s| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(s);
    })
    .await;
    let mut opts = fast_opts();
    opts.probe_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let f = check_one(Transport::Tcp, port, Some(ProbeKind::Ldap), opts).await;
    assert_eq!(f.state, PortState::Listening);
    assert!(only_error(&f).contains("within 300 ms"), "{f:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_server_that_hangs_up_is_an_error() {
    let port = tcp_server(|s| async move { drop(s) }).await;
    for kind in [ProbeKind::Banner, ProbeKind::Http, ProbeKind::Smb] {
        let f = check_one(Transport::Tcp, port, Some(kind), fast_opts()).await;
        assert_eq!(f.state, PortState::Listening);
        assert!(f.evidence.iter().all(Evidence::is_error), "{f:?}");
    }
}

#[tokio::test]
async fn oversized_answers_are_capped() {
    // An LDAP message announcing 100 MB: refused from its header.
    let port = tcp_replying(vec![0x30, 0x84, 0x06, 0x00, 0x00, 0x00, 0x02, 0x01]).await;
    let f = probe(port, ProbeKind::Ldap).await;
    assert!(only_error(&f).contains("larger than"), "{f:?}");

    // A greeting that never ends (4 MiB without a newline): read up to the cap only.
    let port = tcp_server(|mut s| async move {
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..64 {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let f = probe(port, ProbeKind::Banner).await;
    match &f.evidence[..] {
        [Evidence::Banner { text }] => assert_eq!(text.len(), 200),
        other => panic!("{other:?}"),
    }

    // An HTTP head that never ends: status read, bounded.
    let port = tcp_server(|mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Fill: ").await;
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..64 {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let f = probe(port, ProbeKind::Http).await;
    assert_eq!(
        f.evidence,
        vec![Evidence::Http {
            status: 200,
            server: None
        }]
    );
}

#[tokio::test]
async fn app_probes_follow_the_port_number_only_when_enabled() {
    let off = portq_probe::CheckOptions::default();
    let mut on = off.clone();
    on.app_probes = true;
    for (port, name) in [
        (21, "banner"),
        (25, "banner"),
        (80, "http"),
        (88, "kerberos-tcp"),
        (135, "epm"),
        (139, "netbios-smb"),
        (389, "ldap"),
        (443, "https"),
        (445, "smb"),
        (636, "ldaps"),
        (3268, "ldap"),
        (3269, "ldaps"),
        (3389, "rdp"),
        (5985, "http"),
        (5986, "https"),
        (8080, "tcp-connect"),
    ] {
        assert_eq!(on.probe_for(Transport::Tcp, port).name(), name);
        assert_eq!(off.probe_for(Transport::Tcp, port).name(), "tcp-connect");
    }
    // An override wins, a mismatched transport does not apply.
    let o = off
        .with_probe(8080, ProbeKind::Http)
        .with_probe(8081, ProbeKind::Dns);
    assert_eq!(o.probe_for(Transport::Tcp, 8080), ProbeKind::Http);
    assert_eq!(o.probe_for(Transport::Tcp, 8081), ProbeKind::TcpConnect);
    assert_eq!(o.probe_for(Transport::Udp, 8081), ProbeKind::Dns);
}
