//! The check pipeline: plans (pure, labelled), the endpoint-mapper follow-up against a
//! fake mapper on loopback, labels and the verdict. Traffic goes only to loopback ports
//! this test binds.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::check_support::closed_tcp_port;
use crate::rpc_fake_servers::{accept_bind, page, read_lookup, reply};
use portq_catalog::{PortRange, Transport};
use portq_probe::pipeline::{
    AddressPolicy, AppProbes, CheckBuilder, Event, Need, PipelineOptions, PlanError, StartError,
    TargetFiles,
};
use portq_probe::{CheckOptions, PortState};
use portq_wire::dcerpc::SyntaxId;
use portq_wire::epm::{EptEntry, Tower};
use tokio::net::TcpListener;
use uuid::Uuid;

fn fast() -> PipelineOptions {
    PipelineOptions::default().with_engine(CheckOptions {
        timeout: Duration::from_millis(300),
        attempts: 1,
        ..CheckOptions::default()
    })
}

#[test]
fn a_role_plans_its_ports_with_labels_and_leaves_the_dynamic_range_to_the_mapper() {
    let plan = CheckBuilder::new()
        .target("192.0.2.10")
        .role("domain-controller")
        .plan()
        .expect("plan");
    assert!(plan.is_role_check());
    for (t, p) in [
        (Transport::Tcp, 88),
        (Transport::Udp, 88),
        (Transport::Tcp, 135),
        (Transport::Tcp, 389),
        (Transport::Udp, 389),
        (Transport::Tcp, 445),
        (Transport::Tcp, 3268),
    ] {
        assert!(plan.ports().contains(t, p), "{p}/{t} planned");
        let l = plan.label(t, p);
        assert_eq!(l.need, Need::Required, "{p}/{t}");
        assert!(l.roles.contains(&"domain-controller"), "{p}/{t}: {l:?}");
        assert!(!l.text.is_empty(), "{p}/{t} has a label");
    }
    assert!(plan.label(Transport::Tcp, 88).text.contains("kdc"));
    // The dynamic range is not swept: no port of it is in the first pass.
    assert!(!plan.ports().contains(Transport::Tcp, 49152));
    assert!(!plan.ports().contains(Transport::Tcp, 60000));
    let dynamic = plan.dynamic_ranges();
    assert_eq!(dynamic.len(), 1, "{dynamic:?}");
    assert_eq!(
        dynamic[0].range,
        PortRange {
            start: 49152,
            end: 65535
        }
    );
    assert!(dynamic[0].label.roles.contains(&"domain-controller"));
    // Role checks run application probes by default.
    assert!(plan.engine_options().app_probes);
}

#[test]
fn the_same_request_plans_the_same_ports_and_labels() {
    let build = || {
        CheckBuilder::new()
            .target("192.0.2.10")
            .role("dc")
            .role("dns-server")
            .service("w32time")
            .plan()
            .expect("plan")
    };
    let (a, b) = (build(), build());
    let la: Vec<_> = a
        .ports()
        .iter()
        .map(|(t, p)| (t, p, a.label(t, p).clone()))
        .collect();
    let lb: Vec<_> = b
        .ports()
        .iter()
        .map(|(t, p)| (t, p, b.label(t, p).clone()))
        .collect();
    assert_eq!(la, lb);
    // The service added 123/udp; each port once, with every role and service behind it.
    assert!(a.ports().contains(Transport::Udp, 123));
    let dns = a.label(Transport::Udp, 53);
    assert!(
        dns.roles.contains(&"domain-controller") && dns.roles.contains(&"dns-server"),
        "{dns:?}"
    );
}

#[test]
fn a_sweep_labels_known_ports_from_the_catalogue_and_needs_nothing() {
    let plan = CheckBuilder::new()
        .target("192.0.2.10")
        .ports("tcp:445,40001")
        .plan()
        .expect("plan");
    assert!(!plan.is_role_check());
    let smb = plan.label(Transport::Tcp, 445);
    assert_eq!(smb.need, Need::Requested);
    assert!(!smb.services.is_empty(), "445 is known: {smb:?}");
    let unknown = plan.label(Transport::Tcp, 40001);
    assert_eq!(unknown.need, Need::Requested);
    assert!(unknown.services.is_empty());
    assert!(!plan.engine_options().app_probes, "sweeps connect only");
    assert!(plan.dynamic_ranges().is_empty());
}

#[test]
fn bad_requests_are_typed_errors() {
    let err = |b: CheckBuilder| b.plan().expect_err("must be refused");
    assert!(matches!(
        err(CheckBuilder::new().target("192.0.2.1")),
        PlanError::NothingToCheck
    ));
    assert!(matches!(
        err(CheckBuilder::new()
            .target("192.0.2.1")
            .service("no-such-service")),
        PlanError::UnknownService {
            suggestion: None,
            ..
        }
    ));
    // A typo of a service name gets the name meant.
    assert!(matches!(
        err(CheckBuilder::new().target("192.0.2.1").service("spoolr")),
        PlanError::UnknownService {
            suggestion: Some("Spooler"),
            ..
        }
    ));
    assert!(matches!(
        err(CheckBuilder::new().target("192.0.2.1").service("445")),
        PlanError::NotAServiceName { .. }
    ));
    assert!(matches!(
        err(CheckBuilder::new()
            .target("192.0.2.1")
            .role("domain-controler")),
        PlanError::Role(_)
    ));
    assert!(matches!(
        err(CheckBuilder::new().target("192.0.2.1").ports("tcp:0")),
        PlanError::Ports(_)
    ));
    assert!(matches!(
        err(CheckBuilder::new().target("").ports("80")),
        PlanError::Target(_)
    ));
    let refused = CheckBuilder::new()
        .target("@/etc/hosts")
        .ports("80")
        .options(PipelineOptions::default().with_target_files(TargetFiles::Refused));
    assert!(matches!(err(refused), PlanError::TargetFileRefused { .. }));
}

#[tokio::test]
async fn the_address_policy_refuses_before_anything_is_sent() {
    let plan = CheckBuilder::new()
        .target("127.0.0.1")
        .ports("tcp:1")
        .options(
            PipelineOptions::default()
                .with_address_policy(AddressPolicy::new(|ip| ip == IpAddr::from([10, 9, 9, 9]))),
        )
        .plan()
        .expect("plan");
    match plan.start().await {
        Err(StartError::AddressRefused { address, .. }) => {
            assert_eq!(address, IpAddr::from(Ipv4Addr::LOCALHOST));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A fake endpoint mapper that answers every connection with one page listing the
/// LSA interface on `registered` (and an ncacn_http entry the follow-up ignores).
async fn fake_mapper(registered: u16) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        // Bounded: a few connections at most (the connect check and the dump).
        for _ in 0..8 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                if !accept_bind(&mut s).await {
                    return;
                }
                let Some((call_id, _)) = read_lookup(&mut s).await else {
                    return;
                };
                let lsarpc = SyntaxId::new(
                    Uuid::parse_str("12345778-1234-abcd-ef00-0123456789ab").expect("uuid"),
                    0,
                    0,
                );
                let entries = vec![EptEntry {
                    object: Uuid::nil(),
                    tower: Some(Tower::tcp(lsarpc, registered, Ipv4Addr::LOCALHOST)),
                    annotation: "LSA".into(),
                }];
                reply(&mut s, call_id, &page([0; 20], entries, 0)).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn the_follow_up_checks_what_the_mapper_registered_labelled_with_its_interfaces() {
    let registered = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let registered_port = registered.local_addr().expect("addr").port();
    let mapper = fake_mapper(registered_port).await;
    let closed = closed_tcp_port();
    let plan = CheckBuilder::new()
        .target("127.0.0.1")
        .ports(format!("tcp:{closed}"))
        .rpc_range(PortRange {
            start: 1,
            end: u16::MAX,
        })
        .options(fast().with_epm_port(mapper).with_app_probes(AppProbes::Off))
        .plan()
        .expect("plan");
    // The mapper's port joins the first pass.
    assert!(plan.ports().contains(Transport::Tcp, mapper));
    let mut run = plan.start().await.expect("start");
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    while let Some(e) = tokio::time::timeout(Duration::from_secs(20), run.next())
        .await
        .expect("the run ends")
    {
        match e {
            Event::Finding(c) => findings.push(*c),
            Event::Note(n) => notes.push(n),
            _ => {}
        }
    }
    let summary = run.finish().await;
    assert!(notes.is_empty(), "{notes:?}");
    let find = |p: u16| {
        findings
            .iter()
            .find(|c| c.finding.port == p)
            .unwrap_or_else(|| panic!("no finding for {p}: {findings:?}"))
    };
    let reg = find(registered_port);
    assert_eq!(reg.finding.state, PortState::Listening);
    assert_eq!(reg.label.need, Need::Registered);
    assert_eq!(reg.label.rpc_interfaces, vec!["lsarpc".to_owned()]);
    assert_eq!(reg.label.text, "RPC dynamic: lsarpc");
    assert!(
        reg.label.services.iter().any(|s| s.id == "lsass"),
        "{:?}",
        reg.label
    );
    assert_eq!(find(mapper).finding.state, PortState::Listening);
    assert_eq!(find(closed).finding.state, PortState::NotListening);
    assert_eq!(find(closed).label.need, Need::Requested);
    // The verdict: the mapper's port and the registered port should listen, and do.
    assert_eq!(summary.expected, 2, "{summary:?}");
    assert_eq!(summary.expected_listening, 2);
    assert!(summary.unmet.is_empty());
    assert_eq!(summary.states.total(), 3);
    assert_eq!(summary.states.not_listening, 1);
    assert!(!summary.all_listening());
    drop(registered);
}

#[tokio::test]
async fn a_mapper_that_does_not_listen_is_a_note_and_an_unmet_port() {
    let closed_mapper = closed_tcp_port();
    let plan = CheckBuilder::new()
        .target("127.0.0.1")
        .rpc_range(PortRange {
            start: 1,
            end: u16::MAX,
        })
        .options(fast().with_epm_port(closed_mapper))
        .plan()
        .expect("plan");
    let report = tokio::time::timeout(Duration::from_secs(20), plan.run())
        .await
        .expect("ends")
        .expect("runs");
    assert_eq!(report.findings.len(), 1);
    let s = &report.summary;
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    assert!(
        s.notes[0].to_string().contains("NOT LISTENING"),
        "{}",
        s.notes[0]
    );
    assert_eq!(s.unmet.len(), 1);
    assert_eq!(s.unmet[0].port, closed_mapper);
    let lines = s.verdict_lines();
    assert!(
        lines.iter().any(
            |l| l.starts_with("1 of 1 required port not reachable on 127.0.0.1: not listening")
        ),
        "{lines:?}"
    );
}

#[tokio::test]
async fn stop_lets_in_flight_checks_finish_and_says_interrupted() {
    let ports: Vec<String> = crate::check_support::closed_tcp_ports(40)
        .iter()
        .map(u16::to_string)
        .collect();
    let plan = CheckBuilder::new()
        .target("127.0.0.1")
        .ports(format!("tcp:{}", ports.join(",")))
        .options(PipelineOptions::default().with_engine(CheckOptions {
            timeout: Duration::from_millis(300),
            attempts: 1,
            rate: Some(10),
            concurrency: Some(2),
            ..CheckOptions::default()
        }))
        .plan()
        .expect("plan");
    let mut run = plan.start().await.expect("start");
    let first = tokio::time::timeout(Duration::from_secs(10), run.next())
        .await
        .expect("a first finding");
    assert!(matches!(first, Some(Event::Finding(_))));
    run.stop();
    let report = tokio::time::timeout(Duration::from_secs(10), run.collect())
        .await
        .expect("ends soon after the stop");
    assert!(report.summary.interrupted, "{:?}", report.summary);
    assert!(
        report.findings.len() < 39,
        "stopped early: {} more findings",
        report.findings.len()
    );
    let lines = report.summary.verdict_lines();
    assert!(lines.iter().any(|l| l.starts_with("interrupted:")) || !report.summary.role_check);
}

/// A deadline ends the run: the probes in flight are dropped, the verdict so far is
/// interrupted (never a pass), and it comes when the deadline says, not when the
/// attempts would have ended. Eight ports that drop SYNs, one probe at a time: their
/// attempts (fitted to the deadline) add up to more than it.
#[tokio::test]
async fn a_deadline_ends_the_run_and_never_passes() {
    let mut keep = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..8 {
        let (l, p, fill) = crate::check_engine::syn_dropping_listener();
        keep.push((l, fill));
        ports.push(p.to_string());
    }
    let opts = PipelineOptions::default()
        .with_engine(CheckOptions {
            concurrency: Some(1),
            per_host: 1,
            ..CheckOptions::default()
        })
        .with_deadline(Duration::from_millis(600));
    let plan = CheckBuilder::new()
        .target("127.0.0.1")
        .ports(format!("tcp:{}", ports.join(",")))
        .options(opts)
        .plan()
        .expect("plan");
    // The waits were fitted into the deadline.
    assert!(
        plan.engine_options().timeout <= Duration::from_millis(67),
        "{:?}",
        plan.engine_options()
    );
    let began = std::time::Instant::now();
    let summary = plan.start().await.expect("start").finish().await;
    let took = began.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(
        summary.outcome(portq_probe::pipeline::Strictness::Expected),
        portq_probe::pipeline::Outcome::Interrupted,
        "{summary:?}"
    );
    drop(keep);
}
