//! Full-range sweeps with few file descriptors, against a host in a network namespace
//! this test creates (never loopback): `ulimit -n 256` must not change one answer,
//! and running out of descriptors mid-sweep must only slow the sweep down.
//!
//! Needs root (it creates a namespace); without it, prints that it did not run
//! (and fails when `PORTQ_NETNS_REQUIRED=1`).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::check_support::*;
use portq_probe::{CheckOptions, PortSpec, PortState, ResolvedTargets, Target, Transport};

/// The listener child started inside the namespace (a no-op in a normal run).
#[test]
fn listener_child() {
    listener_child_main();
}

async fn sweep(
    addr: IpAddr,
    spec: &str,
    opts: CheckOptions,
) -> (BTreeSet<u16>, portq_probe::EngineSummary) {
    let targets = ResolvedTargets::from_targets([Target {
        host: addr.to_string(),
        address: addr,
    }]);
    let (findings, summary) =
        portq_probe::start_resolved(targets, PortSpec::parse(spec).unwrap(), opts)
            .collect()
            .await;
    assert_eq!(findings.len() as u64, summary.planned);
    let mut listening = BTreeSet::new();
    for f in &findings {
        assert_eq!(f.transport, Transport::Tcp);
        match f.state {
            PortState::Listening => {
                listening.insert(f.port);
            }
            PortState::NotListening => {}
            other => panic!("port {} came out {other:?}", f.port),
        }
    }
    (listening, summary)
}

/// The tests below change process-wide limits and exhaust descriptors: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Lowers RLIMIT_NOFILE (soft and hard, for good) and exhausts descriptors: that is
/// process-wide state, so the body runs in a child process of its own (issue 21: run
/// inside the shared test process it made other tests fail with EMFILE).
#[test]
fn full_sweeps_with_256_descriptors_are_exact() {
    const NAME: &str = "check_sweep::full_sweeps_with_256_descriptors_are_exact";
    if !require_netns("full_sweeps_with_256_descriptors_are_exact") {
        return;
    }
    if in_isolated_child(NAME) {
        runtime().block_on(full_sweeps());
        return;
    }
    let _one_at_a_time = serial();
    run_isolated(NAME);
}

async fn full_sweeps() {
    let mut ns = Netns::create(0);
    let ports = random_ports(300, u64::from(std::process::id()) * 7919);
    ns.start_listeners("check_sweep::listener_child", &ports);
    let want: BTreeSet<u16> = ports.iter().copied().collect();
    let addr = IpAddr::V4(ns.ns_ip);

    // Like `ulimit -n 256`: soft and hard.
    rlimit::setrlimit(rlimit::Resource::NOFILE, 256, 256).unwrap();

    for run in 0..2 {
        let started = Instant::now();
        let (got, summary) = sweep(addr, "1-65535", CheckOptions::default()).await;
        assert_eq!(summary.failure_count, 0, "{:?}", summary.failures);
        assert!(summary.concurrency <= 192, "{}", summary.concurrency);
        assert_eq!(got, want, "run {run}");
        eprintln!(
            "sweep {run}: 65535 ports in {:?} with concurrency {}",
            started.elapsed(),
            summary.concurrency
        );
    }

    // Exhaust descriptors while a sweep runs: sockets fail with EMFILE, the engine backs
    // off and retries, and gives the same answers once descriptors are free again.
    let mut hog = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hog.push(f);
        if hog.len() > 1000 {
            break;
        }
    }
    assert!(
        std::fs::File::open("/dev/null").is_err(),
        "no descriptor left"
    );
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        drop(hog);
    });
    let started = Instant::now();
    let (got, summary) = sweep(addr, "1-65535", CheckOptions::default()).await;
    release.await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(summary.failure_count, 0, "{:?}", summary.failures);
    assert_eq!(got, want, "after descriptor exhaustion");
}

#[test]
fn a_host_that_does_not_answer_is_filtered() {
    if !require_netns("a_host_that_does_not_answer_is_filtered") {
        return;
    }
    let _one_at_a_time = serial();
    runtime().block_on(silent_host());
}

async fn silent_host() {
    let ns = Netns::create(1);
    // .3 is on the namespace link but nobody has it: ARP goes unanswered.
    let silent = IpAddr::V4(std::net::Ipv4Addr::new(
        ns.ns_ip.octets()[0],
        ns.ns_ip.octets()[1],
        ns.ns_ip.octets()[2],
        3,
    ));
    let opts = CheckOptions {
        timeout: Duration::from_millis(300),
        attempts: 2,
        ..CheckOptions::default()
    };
    let started = Instant::now();
    let (f, s) = check_ports(
        silent,
        &[
            (Transport::Tcp, 445),
            (Transport::Udp, 53),
            (Transport::Udp, 9),
        ],
        opts,
    )
    .await;
    assert_eq!(s.failure_count, 0, "{:?}", s.failures);
    for x in &f {
        match (x.transport, x.port) {
            (Transport::Tcp, _) | (Transport::Udp, 53) => {
                assert_eq!(x.state, PortState::Filtered, "{x:?}")
            }
            _ => assert!(
                matches!(
                    x.state,
                    PortState::ListeningOrFiltered | PortState::Filtered
                ),
                "{x:?}"
            ),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}
