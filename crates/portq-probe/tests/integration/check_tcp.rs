//! TCP checks against loopback ports this test binds itself.

use std::time::{Duration, Instant};

use crate::check_support::*;
use portq_probe::{PortState, Transport};
use socket2::{Domain, Socket, Type};

#[tokio::test]
async fn a_listening_port_is_listening() {
    let port = tcp_server(|_s| async {}).await;
    let f = check_one(Transport::Tcp, port, None, fast_opts()).await;
    assert_eq!(f.state, PortState::Listening);
    assert_eq!(f.attempts, 1);
    assert_eq!(f.probe, "tcp-connect");
    assert!(f.evidence.is_empty());
}

#[tokio::test]
async fn a_closed_port_is_not_listening_at_once() {
    let port = closed_tcp_port();
    let started = Instant::now();
    let f = check_one(Transport::Tcp, port, None, fast_opts()).await;
    assert_eq!(f.state, PortState::NotListening);
    assert_eq!(f.attempts, 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_server_that_resets_after_accept_is_listening() {
    let port = tcp_server(|s| async move {
        let s = s.into_std().unwrap();
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    })
    .await;
    let f = check_one(Transport::Tcp, port, None, fast_opts()).await;
    assert_eq!(f.state, PortState::Listening);
}

/// A listener whose accept queue is full drops SYNs: the port looks filtered, after
/// every attempt, within the bound the timeout sets.
#[tokio::test]
async fn a_port_that_drops_syns_is_filtered_after_all_attempts() {
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue (never accepted).
    let mut fillers = Vec::new();
    for _ in 0..3 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let mut opts = fast_opts();
    opts.timeout = Duration::from_millis(150);
    opts.attempts = 3;
    let started = Instant::now();
    let f = check_one(Transport::Tcp, addr.port(), None, opts).await;
    let took = started.elapsed();
    assert_eq!(f.state, PortState::Filtered, "{f:?}");
    assert_eq!(f.attempts, 3);
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(fillers);
}

/// Open and closed ports interleaved (sockets are reused after a refusal): every
/// answer is right, in one run, many times over.
#[tokio::test]
async fn interleaved_open_and_closed_ports_all_come_out_right() {
    // Under Wine this found listening ports "refused": SO_ERROR read right after a
    // connect reported in progress is no answer on Windows (tcp::connect_now now waits).
    let mut open = Vec::new();
    for _ in 0..40 {
        open.push(tcp_server(|_s| async {}).await);
    }
    let closed = closed_tcp_ports(40);
    let ports: Vec<(Transport, u16)> = open
        .iter()
        .chain(&closed)
        .map(|p| (Transport::Tcp, *p))
        .collect();
    for _ in 0..3 {
        let (findings, summary) = check_ports(LOOPBACK, &ports, fast_opts()).await;
        assert_eq!(summary.failure_count, 0);
        assert_eq!(findings.len(), 80);
        for f in &findings {
            let want = if open.contains(&f.port) {
                PortState::Listening
            } else {
                PortState::NotListening
            };
            assert_eq!(f.state, want, "port {}", f.port);
        }
    }
}

#[tokio::test]
async fn ipv6_loopback_works_too() {
    let Ok(l) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("ipv6_loopback_works_too: not run (no IPv6 loopback)");
        return;
    };
    let port = l.local_addr().unwrap().port();
    let (f, _) = check_ports(
        "::1".parse().unwrap(),
        &[(Transport::Tcp, port)],
        fast_opts(),
    )
    .await;
    assert_eq!(f[0].state, PortState::Listening);
    drop(l);
    let (f, _) = check_ports(
        "::1".parse().unwrap(),
        &[(Transport::Tcp, port)],
        fast_opts(),
    )
    .await;
    assert_eq!(f[0].state, PortState::NotListening);
}
