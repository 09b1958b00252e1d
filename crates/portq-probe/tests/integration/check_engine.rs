//! The scheduler: plans (no traffic), streaming, progress, limits and stopping early.
//! Traffic goes only to loopback ports this test binds.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::check_support::*;
use portq_probe::{
    CheckOptions, EnginePlan, Finding, PortSpec, PortState, ProbeKind, ResolvedTargets, Target,
    TargetSet, Transport, sort_findings,
};

#[test]
fn a_plan_counts_and_lists_without_sending() {
    let targets = TargetSet::parse(&["10.9.9.0/30,dc01.example.test"], false).unwrap();
    let ports = PortSpec::parse("tcp:88,389,445,udp:53,389").unwrap();
    let plan = EnginePlan::new(targets, ports);
    assert_eq!(plan.total(), 5 * 5);
    let opts = CheckOptions {
        app_probes: true,
        ..CheckOptions::default()
    };
    let entries: Vec<_> = plan.entries(&opts).collect();
    assert_eq!(entries.len(), 25);
    assert_eq!(entries[0].host, "10.9.9.0");
    assert_eq!(entries[0].address, Some("10.9.9.0".parse().unwrap()));
    assert_eq!(
        entries[0].probe,
        ProbeKind::KerberosTcp,
        "first: tcp/88 of the first address"
    );
    let dc: Vec<_> = entries
        .iter()
        .filter(|e| e.host == "dc01.example.test")
        .collect();
    assert_eq!(dc.len(), 5);
    assert!(
        dc.iter().all(|e| e.address.is_none()),
        "names are not looked up"
    );
    let probes: Vec<&str> = dc.iter().map(|e| e.probe.name()).collect();
    assert_eq!(probes, ["kerberos-tcp", "ldap", "smb", "dns", "cldap"]);
    // Without application probes, TCP is a plain connect.
    let plain: Vec<&str> = plan
        .entries(&CheckOptions::default())
        .take(3)
        .map(|e| e.probe.name())
        .collect();
    assert_eq!(plain, ["tcp-connect"; 3]);
}

#[tokio::test]
async fn findings_stream_and_progress_reaches_the_total() {
    let mut ports = Vec::new();
    for p in closed_tcp_ports(5) {
        ports.push((Transport::Tcp, tcp_server(|_s| async {}).await));
        ports.push((Transport::Tcp, p));
    }
    let targets = ResolvedTargets::from_targets([Target {
        host: "localhost".into(),
        address: LOOPBACK,
    }]);
    let mut run = portq_probe::start_resolved(
        targets,
        PortSpec::from_ports(ports.iter().copied()).unwrap(),
        fast_opts(),
    );
    let progress = run.progress();
    assert_eq!(progress.total(), 10);
    let mut got = Vec::new();
    while let Some(f) = run.next().await {
        assert_eq!(&*f.host, "localhost");
        got.push(f);
    }
    let summary = run.finish().await;
    assert_eq!(got.len(), 10);
    assert_eq!(progress.done(), 10);
    assert_eq!(summary.completed, 10);
    assert_eq!(summary.findings, 10);
    assert!(!summary.aborted);
    assert_eq!(
        got.iter()
            .filter(|f| f.state == PortState::Listening)
            .count(),
        5
    );
}

#[tokio::test]
async fn the_rate_limit_spaces_attempts() {
    let ports: Vec<(Transport, u16)> = closed_tcp_ports(10)
        .into_iter()
        .map(|p| (Transport::Tcp, p))
        .collect();
    let mut opts = fast_opts();
    opts.rate = Some(20);
    let started = Instant::now();
    let (f, _) = check_ports(LOOPBACK, &ports, opts).await;
    let took = started.elapsed();
    assert_eq!(f.len(), 10);
    // 10 attempts at 20/s: the last starts 450 ms after the first.
    assert!(took >= Duration::from_millis(440), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// Listeners that drop SYNs (full accept queue): each check takes the whole timeout,
/// so the per-host limit shows in the wall time.
pub(crate) fn syn_dropping_listener() -> (socket2::Socket, u16, Vec<std::net::TcpStream>) {
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    l.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fill = Vec::new();
    for _ in 0..2 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fill.push(s);
        }
    }
    (l, addr.port(), fill)
}

#[tokio::test]
async fn per_host_limit_bounds_probes_in_flight() {
    let mut keep = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..6 {
        let (l, p, fill) = syn_dropping_listener();
        keep.push((l, fill));
        ports.push((Transport::Tcp, p));
    }
    let mut opts = fast_opts();
    opts.timeout = Duration::from_millis(200);
    opts.attempts = 1;
    opts.per_host = 2;
    let started = Instant::now();
    let (f, _) = check_ports(LOOPBACK, &ports, opts.clone()).await;
    let took = started.elapsed();
    assert!(f.iter().all(|x| x.state == PortState::Filtered), "{f:?}");
    // 6 probes, 2 at a time, 200 ms each: at least 3 rounds.
    assert!(took >= Duration::from_millis(580), "{took:?}");

    opts.per_host = 6;
    let started = Instant::now();
    let _ = check_ports(LOOPBACK, &ports, opts).await;
    assert!(started.elapsed() < Duration::from_millis(580));
}

#[tokio::test]
async fn udp_per_host_limit_applies_to_udp() {
    let mut ports = Vec::new();
    for _ in 0..4 {
        ports.push((Transport::Udp, udp_server(|_| None).await));
    }
    let mut opts = fast_opts();
    opts.timeout = Duration::from_millis(150);
    opts.attempts = 1;
    opts.udp_per_host = 1;
    let started = Instant::now();
    let (f, _) = check_ports(LOOPBACK, &ports, opts).await;
    assert_eq!(f.len(), 4);
    assert!(f.iter().all(|x| x.state == PortState::ListeningOrFiltered));
    assert!(started.elapsed() >= Duration::from_millis(590));
}

#[tokio::test]
async fn several_hosts_share_the_work() {
    // Two "hosts": 127.0.0.1 and localhost (same address, two names).
    let open = tcp_server(|_s| async {}).await;
    let closed = closed_tcp_port();
    let targets = ResolvedTargets::from_targets([
        Target {
            host: "b-host".into(),
            address: LOOPBACK,
        },
        Target {
            host: "a-host".into(),
            address: LOOPBACK,
        },
    ]);
    let spec = PortSpec::from_ports([(Transport::Tcp, open), (Transport::Tcp, closed)]).unwrap();
    let (f, s) = portq_probe::start_resolved(targets, spec, fast_opts())
        .collect()
        .await;
    assert_eq!(s.findings, 4);
    // collect() sorts: host, then transport, then port.
    let hosts: Vec<&str> = f.iter().map(|x| &*x.host).collect();
    assert_eq!(hosts, ["a-host", "a-host", "b-host", "b-host"]);
    for x in &f {
        let want = if x.port == open {
            PortState::Listening
        } else {
            PortState::NotListening
        };
        assert_eq!(x.state, want);
    }
}

#[tokio::test]
async fn dropping_the_run_stops_it() {
    let (l, p, fill) = syn_dropping_listener();
    let mut opts = fast_opts();
    opts.timeout = Duration::from_secs(5);
    let targets = ResolvedTargets::from_targets([Target {
        host: "x".into(),
        address: LOOPBACK,
    }]);
    let run = portq_probe::start_resolved(
        targets.clone(),
        PortSpec::from_ports([(Transport::Tcp, p)]).unwrap(),
        opts.clone(),
    );
    run.abort();
    let started = Instant::now();
    let summary = run.finish().await;
    assert!(summary.aborted);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop((l, fill));
}

#[test]
fn final_ordering_is_deterministic() {
    let mk = |host: &str, t, port| Finding {
        host: host.into(),
        address: "10.0.0.1".parse::<IpAddr>().unwrap(),
        port,
        transport: t,
        state: PortState::Listening,
        evidence: vec![],
        probe: "tcp-connect",
        elapsed: Duration::ZERO,
        attempts: 1,
    };
    let mut v = vec![
        mk("b", Transport::Udp, 53),
        mk("a", Transport::Udp, 53),
        mk("a", Transport::Tcp, 445),
        mk("a", Transport::Tcp, 88),
    ];
    sort_findings(&mut v);
    let keys: Vec<(String, Transport, u16)> = v
        .iter()
        .map(|f| (f.host.to_string(), f.transport, f.port))
        .collect();
    assert_eq!(
        keys,
        [
            ("a".into(), Transport::Tcp, 88),
            ("a".into(), Transport::Tcp, 445),
            ("a".into(), Transport::Udp, 53),
            ("b".into(), Transport::Udp, 53)
        ]
    );
}

#[tokio::test]
async fn a_plan_without_ports_is_refused_before_anything_is_sent() {
    let plan = EnginePlan::new(
        TargetSet::parse(&["10.9.9.1"], false).unwrap(),
        PortSpec::default(),
    );
    assert!(matches!(
        portq_probe::start(&plan, CheckOptions::default()).await,
        Err(portq_probe::CheckError::NoPorts)
    ));
}
