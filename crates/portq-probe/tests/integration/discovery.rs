//! DC locator discovery against a fake DNS server on a loopback port this test binds
//! (hickory-resolver pointed at 127.0.0.1:PORT): SRV present, NXDOMAIN, no answer,
//! SERVFAIL, a target with no address, a server that never answers; then the pipeline
//! checking what it found (only loopback ports this test bound).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use portq_probe::PortState;
use portq_probe::discovery::{DcLocator, DnsFailure, Missing, RecordState, SrvService, discover};
use portq_probe::pipeline::{CheckBuilder, Event, PlanError, SrvVerdict};
use tokio::net::TcpListener;

use crate::check_support::{closed_tcp_port, udp_server};

/// What the fake server answers for one name.
#[derive(Clone)]
enum Answer {
    /// SRV records: (priority, weight, port, target).
    Srv(Vec<(u16, u16, u16, &'static str)>),
    /// A records.
    A(Vec<Ipv4Addr>),
    /// NOERROR, no record.
    Empty,
    /// SERVFAIL.
    ServFail,
    /// No reply at all.
    Silent,
}

/// A fake DNS server: names (lower case, no final dot) → answers; any other name is
/// NXDOMAIN, any other type of a known name is an empty NOERROR.
async fn fake_dns(table: Vec<(&'static str, Answer)>) -> SocketAddr {
    let table: Arc<HashMap<String, Answer>> =
        Arc::new(table.into_iter().map(|(n, a)| (n.to_owned(), a)).collect());
    let port = udp_server(move |req| {
        let q = Message::from_vec(req).ok()?;
        let query = q.queries.first()?.clone();
        let name = query
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let mut m = Message::response(q.metadata.id, OpCode::Query);
        m.metadata.recursion_desired = q.metadata.recursion_desired;
        m.add_query(query.clone());
        let ttl = 60;
        match (table.get(&name), query.query_type()) {
            (None, _) => m.metadata.response_code = ResponseCode::NXDomain,
            (Some(Answer::Silent), _) => return None,
            (Some(Answer::ServFail), _) => m.metadata.response_code = ResponseCode::ServFail,
            (Some(Answer::Srv(list)), RecordType::SRV) => {
                for (prio, weight, port, target) in list {
                    let target = Name::from_ascii(format!("{target}.")).ok()?;
                    m.add_answer(Record::from_rdata(
                        query.name().clone(),
                        ttl,
                        RData::SRV(SRV::new(*prio, *weight, *port, target)),
                    ));
                }
            }
            (Some(Answer::A(list)), RecordType::A) => {
                for a in list {
                    m.add_answer(Record::from_rdata(
                        query.name().clone(),
                        ttl,
                        RData::A(A(*a)),
                    ));
                }
            }
            (Some(_), _) => {}
        }
        m.to_vec().ok()
    })
    .await;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

fn locator(server: SocketAddr) -> DcLocator {
    DcLocator::new("example.test")
        .expect("domain")
        .with_dns_server(server)
        .with_timeout(Duration::from_millis(300))
        .with_attempts(1)
}

#[tokio::test]
async fn records_present_missing_failing_and_a_target_without_address() {
    let dc1 = Ipv4Addr::new(127, 0, 0, 1);
    let server = fake_dns(vec![
        (
            "_ldap._tcp.dc._msdcs.example.test",
            Answer::Srv(vec![
                (10, 50, 389, "dc2.example.test"),
                (0, 100, 389, "DC1.Example.Test"),
                (0, 100, 389, "dc1.example.test"),
            ]),
        ),
        ("_kerberos._tcp.example.test", Answer::ServFail),
        ("_gc._tcp.example.test", Answer::Empty),
        (
            "_ldap._tcp.branch._sites.dc._msdcs.example.test",
            Answer::Srv(vec![(0, 100, 389, "dc1.example.test")]),
        ),
        // _kerberos._tcp.branch._sites.example.test: NXDOMAIN.
        ("dc1.example.test", Answer::A(vec![dc1])),
        ("dc2.example.test", Answer::Empty),
    ])
    .await;
    let found = discover(&locator(server).with_site("branch").expect("site"))
        .await
        .expect("discovery runs");
    let state = |name: &str| {
        found
            .records
            .iter()
            .find(|r| r.query.name == name)
            .unwrap_or_else(|| panic!("{name} asked: {found:?}"))
    };
    let ldap = state("_ldap._tcp.dc._msdcs.example.test");
    assert_eq!(ldap.state, RecordState::Present);
    assert_eq!(ldap.query.service, SrvService::Ldap);
    // By priority; the same target twice (any case) is one target.
    let hosts: Vec<(&str, u16)> = ldap
        .targets
        .iter()
        .map(|t| (t.host.as_str(), t.priority))
        .collect();
    assert_eq!(hosts, [("dc1.example.test", 0), ("dc2.example.test", 10)]);
    assert_eq!(ldap.targets[0].addresses, [IpAddr::V4(dc1)]);
    assert_eq!(ldap.targets[0].weight, 100);
    assert_eq!(ldap.targets[0].port, 389);
    // dc2 is named but has no address.
    assert!(ldap.targets[1].addresses.is_empty());
    assert_eq!(
        ldap.targets[1].address_lookup,
        RecordState::Missing(Missing::NoAnswer)
    );
    assert_eq!(
        state("_kerberos._tcp.example.test").state,
        RecordState::Error(DnsFailure::Rcode("SERVFAIL".into()))
    );
    assert_eq!(
        state("_gc._tcp.example.test").state,
        RecordState::Missing(Missing::NoAnswer)
    );
    assert_eq!(
        state("_kerberos._tcp.branch._sites.example.test").state,
        RecordState::Missing(Missing::NxDomain)
    );
    // The site has a record, so the site's controllers are the ones checked.
    assert_eq!(found.controllers.len(), 1, "{:?}", found.controllers);
    let dc = &found.controllers[0];
    assert_eq!(dc.host, "dc1.example.test");
    assert_eq!(dc.site.as_deref(), Some("branch"));
    assert_eq!(dc.addresses, [IpAddr::V4(dc1)]);
    let targets = found.targets();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].host, "dc1.example.test");

    // Without the site, the domain's records name both (dc2 without an address).
    let found = discover(&locator(server)).await.expect("discovery runs");
    let names: Vec<&str> = found.controllers.iter().map(|d| d.host.as_str()).collect();
    assert_eq!(names, ["dc1.example.test", "dc2.example.test"]);
    assert!(found.controllers.iter().all(|d| d.site.is_none()));
    assert_eq!(found.targets().len(), 1, "only dc1 has an address");
}

#[tokio::test]
async fn a_server_that_never_answers_is_an_error_within_the_deadline() {
    let server = fake_dns(vec![
        ("_ldap._tcp.dc._msdcs.example.test", Answer::Silent),
        ("_kerberos._tcp.example.test", Answer::Silent),
        ("_gc._tcp.example.test", Answer::Silent),
    ])
    .await;
    let started = Instant::now();
    let found = discover(&locator(server)).await.expect("discovery runs");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for r in &found.records {
        assert_eq!(r.state, RecordState::Error(DnsFailure::Timeout), "{r:?}");
        assert!(r.targets.is_empty());
    }
    assert!(found.controllers.is_empty());
}

#[test]
fn discovery_and_targets_do_not_mix() {
    let l = DcLocator::new("example.test").expect("domain");
    let err = CheckBuilder::new()
        .target("192.0.2.1")
        .discover(l.clone())
        .role("dc")
        .plan()
        .expect_err("refused");
    assert!(matches!(err, PlanError::TargetsAndDiscovery), "{err:?}");
    // A discovery plan has no targets yet, and the domain is the realm asked.
    let plan = CheckBuilder::new()
        .discover(l)
        .role("dc")
        .plan()
        .expect("plan");
    assert_eq!(plan.targets().count(), 0);
    assert_eq!(plan.total(), 0);
    assert_eq!(
        plan.engine_options().domain.as_deref(),
        Some("example.test")
    );
    assert_eq!(
        plan.discovery().map(|d| d.domain.as_str()),
        Some("example.test")
    );
}

/// The pipeline checks what DNS found, and says of each record target whether it
/// answers: the LDAP target's port listens, the GC target's port is closed, the
/// Kerberos target has no address.
#[tokio::test]
async fn the_pipeline_checks_the_controllers_found_and_judges_each_record() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let open = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            drop(s);
        }
    });
    let closed = closed_tcp_port();
    let ldap: &'static str = "dc1.example.test";
    let srv = |port| Answer::Srv(vec![(0, 100, port, ldap)]);
    let server = fake_dns(vec![
        ("_ldap._tcp.dc._msdcs.example.test", srv(open)),
        ("_gc._tcp.example.test", srv(closed)),
        (
            "_kerberos._tcp.example.test",
            Answer::Srv(vec![(0, 100, 88, "kdc-gone.example.test")]),
        ),
        ("dc1.example.test", Answer::A(vec![Ipv4Addr::LOCALHOST])),
    ])
    .await;
    let plan = CheckBuilder::new()
        .discover(locator(server))
        .ports(format!("tcp:{open},{closed}"))
        .options(
            portq_probe::pipeline::PipelineOptions::default().with_engine(
                portq_probe::CheckOptions {
                    timeout: Duration::from_millis(300),
                    attempts: 1,
                    ..portq_probe::CheckOptions::default()
                },
            ),
        )
        .plan()
        .expect("plan");
    let mut run = plan.start().await.expect("start");
    let mut first_is_discovery = None;
    let mut findings = Vec::new();
    while let Some(e) = run.next().await {
        match e {
            Event::Discovery(d) => {
                first_is_discovery.get_or_insert(true);
                assert_eq!(d.controllers.len(), 2, "{d:?}");
            }
            Event::Finding(c) => {
                first_is_discovery.get_or_insert(false);
                findings.push(c.finding);
            }
            _ => {}
        }
    }
    assert_eq!(first_is_discovery, Some(true), "discovery comes first");
    // Only the controller with an address is checked, on both ports.
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings.iter().all(|f| &*f.host == "dc1.example.test"));
    let summary = run.finish().await;
    let report = summary.discovery.as_ref().expect("a discovery report");
    let verdict = |record: &str| {
        report
            .checks
            .iter()
            .find(|c| c.record == record)
            .unwrap_or_else(|| panic!("{record}: {report:?}"))
    };
    assert_eq!(
        verdict("_ldap._tcp.dc._msdcs.example.test").verdict,
        SrvVerdict::Answers
    );
    let gc = verdict("_gc._tcp.example.test");
    assert_eq!(gc.verdict, SrvVerdict::NotAnswering);
    assert_eq!(gc.states[0].state, Some(PortState::NotListening));
    assert_eq!(
        verdict("_kerberos._tcp.example.test").verdict,
        SrvVerdict::NoAddress
    );
    assert!(!summary.discovery_good());
    let lines = summary.verdict_lines();
    assert!(
        lines.iter().any(|l| l
            == &format!(
                "DNS _gc._tcp.example.test -> dc1.example.test:{closed}: does not answer ({closed}/tcp NOT LISTENING on 127.0.0.1)"
            )),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "DNS example.test: 3 of 3 DC locator records present; 2 domain controllers found: dc1.example.test (127.0.0.1; priority 0, weight 100)"
        )),
        "{lines:?}"
    );
}
