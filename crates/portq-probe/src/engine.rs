//! The scheduler: many hosts × ports at once, within limits, findings streamed as
//! they arrive.
//!
//! Work is split over a few *lanes*, one task per runtime worker thread. Each lane
//! takes the next (host, port) from a shared work source, keeps up to its share
//! of the global concurrency in flight in its own `FuturesUnordered`, and hands
//! findings over in small batches. No task is spawned per port, so a full-range sweep
//! of a host on a local segment costs little more than the system calls of the
//! connects themselves.
//!
//! Limits, from the outside in:
//!
//! - **global**: at most [`EngineRun::concurrency`] probes in flight, sized from the
//!   open-file soft limit (raised to the hard limit first) unless given;
//! - **hosts**: a window of at most a quarter that many hosts (at most 1024) is worked
//!   on at once, their ports taken in turn, so a huge target set never holds more than
//!   a bounded number of cursors;
//! - **per host**: at most [`CheckOptions::per_host`] TCP and
//!   [`CheckOptions::udp_per_host`] UDP probes in flight on one host;
//! - **rate**: optionally, at most [`CheckOptions::rate`] attempts per second overall.
//!
//! Findings travel on a bounded channel, so a slow consumer slows the check rather
//! than letting results pile up.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::finding::{DomainOrigin, Finding, PortState, Transport, sort_findings};
use crate::limits::{self, FdLimit};
use crate::portspec::{PortIter, PortSpec};
use crate::probes::{self, ProbeContext, ProbeKind};
use crate::rate::RateLimiter;
use crate::target::{ResolvedTargets, Target, TargetError, TargetIter, TargetSet};
use crate::tcp::Halt;
use crate::{tcp, udp};

/// How a check runs. [`CheckOptions::default`] suits a sweep; the CLI turns
/// `app_probes` on for role checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// How long one attempt waits: the TCP connect, or a UDP reply.
    pub timeout: Duration,
    /// Attempts per port before silence counts as an answer (PortQry: 3). 0 acts as 1.
    pub attempts: u8,
    /// The whole time an application probe may take after the connect.
    pub probe_timeout: Duration,
    /// Probes in flight overall; `None` sizes it from the open-file limit.
    pub concurrency: Option<usize>,
    /// TCP probes in flight per host.
    pub per_host: usize,
    /// UDP probes in flight per host (kept low: hosts rate-limit ICMP unreachable).
    pub udp_per_host: usize,
    /// Attempts per second overall; `None` or `Some(0)` for no limit.
    pub rate: Option<u32>,
    /// Run application probes after a TCP connect (LDAP, SMB, HTTP, ...).
    pub app_probes: bool,
    /// SNMP community for the 161/udp probe.
    pub snmp_community: String,
    /// The local address (and port, unless 0) probes are sent from: PortQry's `-sp`, or
    /// one interface of a multi-homed host. `None`: the system chooses.
    pub source: Option<SocketAddr>,
    /// The AD DNS domain (`example.test`) for the Kerberos realm and the CLDAP ping.
    /// When `None`, it is guessed from a host name (`dc1.example.test` → `example.test`);
    /// for an address, the probes go without (every KDC and DC answers anyway).
    pub domain: Option<String>,
    /// How UDP attempts wait: windows from the host's measured round-trip times (the
    /// default), or the whole `timeout` each (`--patient`).
    pub udp_windows: crate::rtt::UdpWindows,
    /// Probes chosen for particular ports, over the choice by port number (for a
    /// service on a non-standard port). Applies even with `app_probes` off. Set with
    /// [`CheckOptions::with_probe`]; an entry whose probe runs over the other transport
    /// is ignored.
    pub probe_overrides: BTreeMap<(Transport, u16), ProbeKind>,
}

impl CheckOptions {
    /// Runs `probe` on `port` (of the probe's transport) whatever the port number suggests.
    pub fn with_probe(mut self, port: u16, probe: ProbeKind) -> Self {
        self.probe_overrides
            .insert((probe.transport(), port), probe);
        self
    }

    /// The probe that runs on a port with these options.
    pub fn probe_for(&self, transport: Transport, port: u16) -> ProbeKind {
        match self.probe_overrides.get(&(transport, port)) {
            Some(k) if k.transport() == transport => *k,
            _ => ProbeKind::for_port(transport, port, self.app_probes),
        }
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: Duration::from_secs(1),
            attempts: 3,
            probe_timeout: Duration::from_secs(5),
            concurrency: None,
            per_host: 1024,
            udp_per_host: 2,
            rate: None,
            app_probes: false,
            snmp_community: "public".to_string(),
            source: None,
            domain: None,
            udp_windows: crate::rtt::UdpWindows::Adaptive,
            probe_overrides: BTreeMap::new(),
        }
    }
}

/// Why a check could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CheckError {
    /// A target could not be used (a host name that does not resolve, ...).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No port selected.
    #[error("no ports to check")]
    NoPorts,
}

/// What a check will do: targets × ports, with the probe of each port. Building and
/// listing a plan sends nothing (names are not even looked up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePlan {
    targets: TargetSet,
    ports: PortSpec,
}

/// One entry of an [`EnginePlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCheck {
    /// The host as given (or the address of a block member).
    pub host: String,
    /// The address, unless the host is a name not yet looked up.
    pub address: Option<IpAddr>,
    /// TCP or UDP (`protocol` in JSON, as in findings).
    #[serde(rename = "protocol")]
    pub transport: Transport,
    /// The port.
    pub port: u16,
    /// The probe that would run.
    pub probe: ProbeKind,
}

impl EnginePlan {
    /// A plan over `targets` × `ports`.
    pub fn new(targets: TargetSet, ports: PortSpec) -> Self {
        EnginePlan { targets, ports }
    }

    /// The targets.
    pub fn targets(&self) -> &TargetSet {
        &self.targets
    }

    /// The ports.
    pub fn ports(&self) -> &PortSpec {
        &self.ports
    }

    /// Number of checks (addresses × ports; a name counts as one address).
    pub fn total(&self) -> u64 {
        self.targets.count() * u64::from(self.ports.count())
    }

    /// Every check, lazily, host by host, TCP before UDP, ports ascending.
    pub fn entries<'a>(
        &'a self,
        opts: &'a CheckOptions,
    ) -> impl Iterator<Item = PlannedCheck> + 'a {
        self.targets
            .iter_unresolved()
            .flat_map(move |(host, address)| {
                self.ports
                    .iter()
                    .map(move |(transport, port)| PlannedCheck {
                        host: host.clone(),
                        address,
                        transport,
                        port,
                        probe: opts.probe_for(transport, port),
                    })
            })
    }
}

/// A check run on this machine's side that failed (not an answer from the target):
/// local resources exhausted beyond the retry budget, or an unexpected local error.
/// Such a port has no finding; the CLI should report it and exit with a runtime error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalFailure {
    /// Host as given.
    pub host: String,
    /// Address.
    pub address: IpAddr,
    /// Transport (`protocol` in JSON, as in findings).
    #[serde(rename = "protocol")]
    pub transport: Transport,
    /// Port.
    pub port: u16,
    /// What failed.
    pub message: String,
}

/// At most this many [`LocalFailure`]s are kept (all are counted).
pub const MAX_KEPT_FAILURES: usize = 1000;

/// How a run went, available once every finding has been received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineSummary {
    /// Checks planned.
    pub planned: u64,
    /// Checks finished (with a finding or a local failure).
    pub completed: u64,
    /// Findings sent.
    pub findings: u64,
    /// Local failures, counted.
    pub failure_count: u64,
    /// The first [`MAX_KEPT_FAILURES`] local failures.
    pub failures: Vec<LocalFailure>,
    /// Probes in flight at most.
    pub concurrency: usize,
    /// Open-file soft limit the concurrency was sized from (`u64::MAX` where there is
    /// none, as on Windows).
    pub fd_soft_limit: u64,
    /// Wall time (milliseconds in JSON).
    #[serde(rename = "elapsed_ms", serialize_with = "ms")]
    pub elapsed: Duration,
    /// True when the run was aborted or the receiver dropped before the end.
    pub aborted: bool,
}

fn ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A live counter of finished checks, cheap to clone and poll (for a progress bar).
#[derive(Debug, Clone)]
pub struct Progress {
    done: Arc<AtomicU64>,
    total: u64,
}

impl Progress {
    /// Checks finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Checks planned.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// A running check: receive findings with [`EngineRun::next`], then [`EngineRun::finish`].
#[derive(Debug)]
pub struct EngineRun {
    rx: mpsc::Receiver<Vec<Finding>>,
    buffered: VecDeque<Finding>,
    progress: Progress,
    concurrency: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
    limiter: Option<Arc<RateLimiter>>,
    task: tokio::task::JoinHandle<EngineSummary>,
}

impl EngineRun {
    /// The next finding, in completion order; `None` when every check has finished.
    pub async fn next(&mut self) -> Option<Finding> {
        loop {
            if let Some(f) = self.buffered.pop_front() {
                return Some(f);
            }
            self.buffered = self.rx.recv().await?.into();
        }
    }

    /// The findings that arrived together (one lane's batch, or what is left of it),
    /// in completion order; `None` when every check has finished. Cheaper than
    /// [`EngineRun::next`] for a consumer that passes findings on in bulk.
    pub async fn next_batch(&mut self) -> Option<Vec<Finding>> {
        if !self.buffered.is_empty() {
            return Some(self.buffered.drain(..).collect());
        }
        self.rx.recv().await
    }

    /// The progress counter.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Probes in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Stops starting new checks; probes in flight finish (within their timeouts) and
    /// their findings still arrive. With a rate limit, probes still waiting for their
    /// next attempt's slot end without a finding, so the run ends within one timeout.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(l) = &self.limiter {
            l.close();
        }
    }

    /// Stops the run: probes in flight are dropped, no further finding arrives.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Waits for the end and returns the summary. Findings not yet received are
    /// received and dropped.
    pub async fn finish(mut self) -> EngineSummary {
        self.buffered.clear();
        while self.rx.recv().await.is_some() {}
        let aborted_summary = EngineSummary {
            planned: self.progress.total,
            completed: self.progress.done(),
            findings: 0,
            failure_count: 0,
            failures: Vec::new(),
            concurrency: self.concurrency,
            fd_soft_limit: 0,
            elapsed: Duration::ZERO,
            aborted: true,
        };
        self.task.await.unwrap_or(aborted_summary)
    }

    /// Receives every finding, sorts them ([`sort_findings`]) and returns them with the summary.
    pub async fn collect(mut self) -> (Vec<Finding>, EngineSummary) {
        let mut all: Vec<Finding> = self.buffered.drain(..).collect();
        while let Some(batch) = self.rx.recv().await {
            all.extend(batch);
        }
        sort_findings(&mut all);
        let summary = self.finish().await;
        (all, summary)
    }
}

/// Looks up the plan's host names, then starts the check (see [`start_resolved`]).
pub async fn start(plan: &EnginePlan, opts: CheckOptions) -> Result<EngineRun, CheckError> {
    if plan.ports.is_empty() {
        return Err(CheckError::NoPorts);
    }
    let targets = plan.targets.resolve().await?;
    Ok(start_resolved(targets, plan.ports.clone(), opts))
}

/// Runs a check to the end and returns the sorted findings and the summary.
pub async fn check(
    plan: &EnginePlan,
    opts: CheckOptions,
) -> Result<(Vec<Finding>, EngineSummary), CheckError> {
    Ok(start(plan, opts).await?.collect().await)
}

/// Starts checking `targets` × `ports` in the background of the current tokio runtime.
///
/// When `opts.concurrency` is `None`, the open-file soft limit is raised to the hard
/// limit (where allowed) and the concurrency sized from it.
pub fn start_resolved(targets: ResolvedTargets, ports: PortSpec, opts: CheckOptions) -> EngineRun {
    let total = targets.count() * u64::from(ports.count());
    let units = Units::Cartesian {
        targets: targets.iter(),
        ports: Arc::new(ports),
    };
    launch(units, total, opts)
}

/// Starts checking a list of units (each target with its own ports) in the background
/// of the current tokio runtime; otherwise as [`start_resolved`].
pub fn start_units(units: Vec<CheckUnit>, opts: CheckOptions) -> EngineRun {
    let total = units.iter().map(|u| u64::from(u.ports.count())).sum();
    launch(Units::List(units.into_iter()), total, opts)
}

fn launch(units: Units, total: u64, opts: CheckOptions) -> EngineRun {
    let fd = if opts.concurrency.is_none() {
        limits::raise_fd_limit()
    } else {
        limits::current_fd_limit()
    };
    let concurrency = limits::effective_concurrency(opts.concurrency, fd);
    let limiter = opts.rate.and_then(RateLimiter::new).map(Arc::new);
    let (tx, rx) = mpsc::channel(16);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let task = tokio::spawn(run(
        units,
        RunSetup {
            opts,
            limiter: limiter.clone(),
            tx,
            stop: Arc::clone(&stop),
            done: Arc::clone(&done),
            total,
            concurrency,
            fd,
        },
    ));
    EngineRun {
        rx,
        buffered: VecDeque::new(),
        progress: Progress { done, total },
        concurrency,
        stop,
        limiter,
        task,
    }
}

struct Shared {
    opts: CheckOptions,
    community: Arc<str>,
    limiter: Option<Arc<RateLimiter>>,
    source: Mutex<WorkSource>,
    /// Signalled when a host drops below its per-host limit.
    slot_freed: Notify,
    tx: mpsc::Sender<Vec<Finding>>,
    done: Arc<AtomicU64>,
    tally: Mutex<EngineCounts>,
    /// Findings of silence after short UDP windows, with their host, kept for the end
    /// of the run (at most [`MAX_HELD`]).
    held: Mutex<Vec<(Arc<HostState>, Finding)>>,
}

/// Tentative findings kept at most; past that they are final as they are (silence is
/// LISTENING OR FILTERED, or FILTERED, whatever the window), so memory stays bounded.
const MAX_HELD: usize = 4096;

#[derive(Default)]
struct EngineCounts {
    findings: u64,
    failure_count: u64,
    failures: Vec<LocalFailure>,
    aborted: bool,
}

impl Shared {
    fn tally(&self) -> std::sync::MutexGuard<'_, EngineCounts> {
        // A poisoned lock only means a task panicked mid-update; the counts stay usable.
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_item(&self) -> Next {
        self.source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next(self.opts.per_host.max(1), self.opts.udp_per_host.max(1))
    }

    /// Reserves up to `max` items under one lock (fewer lock round trips, and a lane
    /// preempted while holding the lock stalls the others less often). Returns why it
    /// stopped short, if it did.
    fn take_items(&self, max: usize, out: &mut Vec<WorkItem>) -> Option<Next> {
        let mut source = self.source.lock().unwrap_or_else(|p| p.into_inner());
        let (per_host, udp_per_host) = (self.opts.per_host.max(1), self.opts.udp_per_host.max(1));
        for _ in 0..max {
            match source.next(per_host, udp_per_host) {
                Next::Item(item) => out.push(item),
                other => return Some(other),
            }
        }
        None
    }

    /// Keeps a tentative finding for the end of the run; gives it back when the store
    /// is full.
    fn hold(&self, host: &Arc<HostState>, f: Finding) -> Option<Finding> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.len() >= MAX_HELD {
            return Some(f);
        }
        held.push((Arc::clone(host), f));
        None
    }

    /// Bookkeeping when a probe ends: per-host count down, waiters woken if the host
    /// was at its limit.
    fn release(&self, item: &WorkItem) {
        let (counter, limit) = if item.transport == Transport::Udp {
            (&item.host.udp_in_flight, self.opts.udp_per_host.max(1))
        } else {
            (&item.host.tcp_in_flight, self.opts.per_host.max(1))
        };
        if counter.fetch_sub(1, Ordering::AcqRel) >= limit {
            self.slot_freed.notify_waiters();
        }
    }
}

/// One target with the ports to check on it: the unit of work of a run.
///
/// [`start_resolved`] checks every target on the same ports; [`start_units`] takes a
/// list of units, each with its own ports and domain (the endpoint-mapper follow-up
/// checks, on each host, the dynamic ports that host registered).
#[derive(Debug, Clone)]
pub struct CheckUnit {
    /// The host and its address.
    pub target: Target,
    /// The ports to check on it.
    pub ports: Arc<PortSpec>,
    /// The AD domain for this host's probes (Kerberos realm, CLDAP) and where it came
    /// from; over [`CheckOptions::domain`] and the guess from the host name.
    pub domain: Option<(Arc<str>, DomainOrigin)>,
    /// What the network said of this host in an earlier pass, when it said the host is
    /// unreachable and nothing of it answered: its ports are then not probed again.
    pub unreachable: Option<String>,
}

/// A host being worked on, with its probes in flight.
struct HostState {
    target: Target,
    /// The host's name, shared by all its findings.
    name: Arc<str>,
    /// The AD domain for its probes: the unit's, else the run's, else guessed from the
    /// host name (worked out once per host, not per probe).
    domain: Option<(Arc<str>, DomainOrigin)>,
    tcp_in_flight: AtomicUsize,
    udp_in_flight: AtomicUsize,
    /// Whether the host is known to be there, or known not to be.
    reach: HostReach,
    /// Its round-trip times so far, for the UDP silence windows.
    rtt: crate::rtt::HostRtt,
}

/// What the probes of one host have learnt about the host as a whole. Once the network
/// says "host unreachable" (or "network unreachable") and nothing of the host has
/// answered, its other probes stop at once and its other ports are not probed: every
/// one would wait for the same silence (an unreachable host is then found in about the
/// time the neighbour discovery takes to give up, not ports × attempts × timeout).
#[derive(Default)]
struct HostReach {
    /// Some port answered (accepted, reset, replied, or port unreachable).
    answered: std::sync::atomic::AtomicBool,
    /// What the network said, and for which port, once it said the host is unreachable.
    unreachable: std::sync::OnceLock<String>,
    /// Woken when `unreachable` is set.
    latched: Notify,
}

impl HostReach {
    /// Learns from one finding of the host. An unreachable said sooner than `slow`
    /// after the probe began is not taken for the host's absence: neighbour discovery
    /// gives up only after seconds, while a rule rejecting one port with "host
    /// unreachable" answers at once (and the host's other ports may be open).
    fn observe(&self, f: &Finding, slow: Duration) {
        if matches!(f.state, PortState::Listening | PortState::NotListening) {
            self.answered.store(true, Ordering::Release);
            return;
        }
        let said = f.host_unreachable();
        if let Some(reason) = said
            && f.elapsed >= slow
            && !self.answered.load(Ordering::Acquire)
            && self
                .unreachable
                .set(format!(
                    "{reason} (said for {}/{})",
                    f.port,
                    f.transport.as_str()
                ))
                .is_ok()
        {
            self.latched.notify_waiters();
        }
    }

    /// Nothing of the host has answered yet.
    fn silent(&self) -> bool {
        !self.answered.load(Ordering::Acquire)
    }
}

/// One (host, port) to check.
struct WorkItem {
    host: Arc<HostState>,
    transport: Transport,
    port: u16,
}

struct HostCursor {
    host: Arc<HostState>,
    ports: PortIter,
    next: (Transport, u16),
}

enum Next {
    Item(WorkItem),
    /// Work remains, but every host in the window is at its per-host limit.
    Blocked,
    Done,
}

/// Hands out (host, port) pairs: a window of hosts, their ports taken in turn.
struct WorkSource {
    units: Units,
    window: VecDeque<HostCursor>,
    /// Set by [`EngineRun::stop`]: hand out no more work.
    stop: Arc<std::sync::atomic::AtomicBool>,
    max_window: usize,
    stopped: bool,
    /// [`CheckOptions::domain`].
    domain: Option<Arc<str>>,
}

impl WorkSource {
    fn refill(&mut self) {
        while self.window.len() < self.max_window {
            let Some(unit) = self.units.next() else {
                return;
            };
            let mut ports = PortSpec::iter_shared(&unit.ports);
            let Some(first) = ports.next() else {
                continue;
            };
            let domain = unit
                .domain
                .or_else(|| self.domain.clone().map(|d| (d, DomainOrigin::Given)))
                .or_else(|| {
                    domain_of(&unit.target.host).map(|d| (Arc::from(d), DomainOrigin::HostName))
                });
            let reach = HostReach::default();
            if let Some(said) = unit.unreachable {
                let _ = reach.unreachable.set(said);
            }
            self.window.push_back(HostCursor {
                host: Arc::new(HostState {
                    name: Arc::from(unit.target.host.as_str()),
                    target: unit.target,
                    domain,
                    tcp_in_flight: AtomicUsize::new(0),
                    udp_in_flight: AtomicUsize::new(0),
                    reach,
                    rtt: crate::rtt::HostRtt::default(),
                }),
                ports,
                next: first,
            });
        }
    }

    fn next(&mut self, per_host: usize, udp_per_host: usize) -> Next {
        if self.stopped || self.stop.load(Ordering::Relaxed) {
            return Next::Done;
        }
        self.refill();
        for _ in 0..self.window.len() {
            let Some(mut cursor) = self.window.pop_front() else {
                break;
            };
            let (transport, port) = cursor.next;
            let (counter, limit) = if transport == Transport::Udp {
                (&cursor.host.udp_in_flight, udp_per_host)
            } else {
                (&cursor.host.tcp_in_flight, per_host)
            };
            if counter.load(Ordering::Acquire) >= limit {
                self.window.push_back(cursor);
                continue;
            }
            counter.fetch_add(1, Ordering::AcqRel);
            let host = Arc::clone(&cursor.host);
            if let Some(next) = cursor.ports.next() {
                cursor.next = next;
                self.window.push_back(cursor);
            }
            return Next::Item(WorkItem {
                host,
                transport,
                port,
            });
        }
        if self.window.is_empty() {
            Next::Done
        } else {
            Next::Blocked
        }
    }
}

/// Where the units of a run come from: the same ports on every target (expanded
/// lazily, a huge target set is never held), or a list of units.
enum Units {
    Cartesian {
        targets: TargetIter,
        ports: Arc<PortSpec>,
    },
    List(std::vec::IntoIter<CheckUnit>),
}

impl Iterator for Units {
    type Item = CheckUnit;
    fn next(&mut self) -> Option<CheckUnit> {
        match self {
            Units::Cartesian { targets, ports } => targets.next().map(|target| CheckUnit {
                target,
                ports: Arc::clone(ports),
                domain: None,
                unreachable: None,
            }),
            Units::List(list) => list.next(),
        }
    }
}

/// How long after its first packet to an absent on-link address the system gives up on
/// neighbour discovery and says "host unreachable", with some margin.
const NEIGHBOUR_WAIT: Duration = Duration::from_millis(3500);

/// Findings handed over per batch at most; a lane also flushes before it waits.
const BATCH: usize = 256;
/// Work items a lane reserves per visit to the work source.
const FETCH: usize = 64;
/// Probes a lane finishes without waiting before it yields to other tasks.
const YIELD_EVERY: usize = 128;

/// What [`run`] needs besides the targets and ports.
struct RunSetup {
    opts: CheckOptions,
    limiter: Option<Arc<RateLimiter>>,
    tx: mpsc::Sender<Vec<Finding>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    done: Arc<AtomicU64>,
    total: u64,
    concurrency: usize,
    fd: FdLimit,
}

async fn run(units: Units, setup: RunSetup) -> EngineSummary {
    let RunSetup {
        opts,
        limiter,
        tx,
        stop,
        done,
        total,
        concurrency,
        fd,
    } = setup;
    let started = Instant::now();
    let lanes = tokio::runtime::Handle::current()
        .metrics()
        .num_workers()
        .clamp(1, concurrency.max(1));
    let max_window = (concurrency / 4).clamp(1, 1024);
    let shared = Arc::new(Shared {
        limiter,
        community: Arc::from(opts.snmp_community.as_str()),
        source: Mutex::new(WorkSource {
            units,
            window: VecDeque::new(),
            max_window,
            stopped: false,
            stop,
            domain: opts.domain.as_deref().map(Arc::from),
        }),
        opts,
        slot_freed: Notify::new(),
        tx,
        done,
        tally: Mutex::new(EngineCounts::default()),
        held: Mutex::new(Vec::new()),
    });
    let mut set = JoinSet::new();
    for i in 0..lanes {
        // Split the concurrency over the lanes; the first lanes take the remainder.
        let cap = concurrency / lanes + usize::from(i < concurrency % lanes);
        set.spawn(lane(Arc::clone(&shared), cap.max(1)));
    }
    while set.join_next().await.is_some() {}
    settle_held(&shared, concurrency).await;
    let tally = std::mem::take(&mut *shared.tally());
    let completed = shared.done.load(Ordering::Relaxed);
    EngineSummary {
        planned: total,
        completed,
        findings: tally.findings,
        failure_count: tally.failure_count,
        failures: tally.failures,
        concurrency,
        fd_soft_limit: fd.soft,
        elapsed: started.elapsed(),
        aborted: tally.aborted,
    }
}

/// The end of a run: each held finding (silence after short UDP windows) is sent as it
/// is, unless its host answered late meanwhile; then its port is checked once more, with
/// the whole timeout, and that finding is sent instead. A stopped run sends them as
/// they are.
async fn settle_held(shared: &Arc<Shared>, concurrency: usize) {
    let held = std::mem::take(&mut *shared.held.lock().unwrap_or_else(|p| p.into_inner()));
    if held.is_empty() {
        return;
    }
    let stopped = {
        let source = shared.source.lock().unwrap_or_else(|p| p.into_inner());
        source.stopped || source.stop.load(Ordering::Relaxed)
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut again = Vec::new();
    for (host, f) in held {
        if !stopped && host.rtt.is_late() {
            again.push((host, f));
        } else {
            batch.push(f);
            if batch.len() >= BATCH && !flush(shared, &mut batch).await {
                return;
            }
        }
    }
    let pool = tcp::SocketPool::default();
    let pool = &pool;
    // As many at once as the run allowed; a stop or a gone receiver ends them: each
    // port not yet checked again keeps its first answer.
    let mut rechecks = futures::stream::iter(again)
        .map(|(host, f)| async move {
            let stopped = shared.tx.is_closed() || {
                let source = shared.source.lock().unwrap_or_else(|p| p.into_inner());
                source.stopped || source.stop.load(Ordering::Relaxed)
            };
            if stopped {
                return f;
            }
            match check_port(&host, f.transport, f.port, shared, pool, None).await {
                Ok((fresh, _)) => fresh,
                // A local failure or a stop on the second look: the first answer stands.
                Err(_) => f,
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(f) = rechecks.next().await {
        batch.push(f);
        if batch.len() >= BATCH && !flush(shared, &mut batch).await {
            return;
        }
    }
    let _ = flush(shared, &mut batch).await;
}

/// One lane: keeps up to `cap` probes in flight and batches their findings.
async fn lane(shared: Arc<Shared>, cap: usize) {
    let pool = Arc::new(tcp::SocketPool::default());
    let mut pending = FuturesUnordered::new();
    let mut batch: Vec<Finding> = Vec::with_capacity(BATCH);
    let mut fetched: Vec<WorkItem> = Vec::with_capacity(FETCH);
    let mut since_yield = 0usize;
    let mut source_done = false;
    loop {
        // Start work while there is room.
        let mut blocked = false;
        let mut at_once = 0usize;
        while !source_done && !blocked && pending.len() < cap && at_once < BATCH {
            let room = (cap - pending.len()).min(FETCH);
            let stopped = shared.take_items(room, &mut fetched);
            for item in fetched.drain(..) {
                match start_item(&shared, &pool, item) {
                    Started::Done(result) => {
                        at_once += 1;
                        if !record(&shared, result, &mut batch) {
                            return stop(&shared);
                        }
                    }
                    Started::Later(item, first) => pending.push(run_item(
                        Arc::clone(&shared),
                        Arc::clone(&pool),
                        item,
                        first,
                    )),
                }
            }
            match stopped {
                Some(Next::Blocked) => blocked = true,
                Some(Next::Done) => source_done = true,
                _ => {}
            }
        }
        if batch.len() >= BATCH && !flush(&shared, &mut batch).await {
            return stop(&shared);
        }
        // Take every result that is ready now.
        let mut progressed = at_once > 0;
        since_yield += at_once;
        while let Some(Some(result)) = pending.next().now_or_never() {
            progressed = true;
            since_yield += 1;
            if !record(&shared, result, &mut batch) {
                return stop(&shared);
            }
            if batch.len() >= BATCH && !flush(&shared, &mut batch).await {
                return stop(&shared);
            }
        }
        if pending.is_empty() && source_done {
            break;
        }
        if progressed && since_yield < YIELD_EVERY {
            continue;
        }
        // About to wait (or to yield): hand over what we have.
        if !flush(&shared, &mut batch).await {
            return stop(&shared);
        }
        if progressed {
            since_yield = 0;
            tokio::task::yield_now().await;
            continue;
        }
        if pending.is_empty() {
            if blocked {
                // Every host in the window is at its limit with probes of other lanes:
                // wait until one of them frees a slot (checked again after arming).
                let freed = shared.slot_freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                match shared.next_item() {
                    Next::Item(item) => {
                        pending.push(run_item(Arc::clone(&shared), Arc::clone(&pool), item, None))
                    }
                    Next::Blocked => freed.await,
                    Next::Done => source_done = true,
                }
            }
            continue;
        }
        if let Some(result) = pending.next().await {
            since_yield = 0;
            if !record(&shared, result, &mut batch) {
                return stop(&shared);
            }
        }
    }
    let _ = flush(&shared, &mut batch).await;
}

/// A work item, once its first step was taken.
enum Started {
    /// Checked at once (a plain connect answered inside the call).
    Done(Result<Finding, Unfinished>),
    /// To run as a task, with the connect [`tcp::first_attempt`] started, if any.
    Later(WorkItem, Option<(socket2::Socket, Instant)>),
}

/// Takes the first step of a work item: a plain TCP connect (no application probe, rate
/// limit or chosen source) is tried at once, and most ports of a local segment are done
/// there, without a task; everything else becomes a task.
fn start_item(shared: &Shared, pool: &tcp::SocketPool, item: WorkItem) -> Started {
    let opts = &shared.opts;
    let plain = item.transport == Transport::Tcp
        && shared.limiter.is_none()
        && opts.source.is_none()
        && opts.probe_for(Transport::Tcp, item.port) == ProbeKind::TcpConnect;
    if !plain {
        return Started::Later(item, None);
    }
    let started = Instant::now();
    let addr = SocketAddr::new(item.host.target.address, item.port);
    match tcp::first_attempt(addr, pool) {
        tcp::AtOnce::Done(out) => {
            if let Some(conn) = out.connection {
                conn.close_with_reset(Some((pool, addr)));
            }
            let finding = Finding {
                host: Arc::clone(&item.host.name),
                address: item.host.target.address,
                port: item.port,
                transport: Transport::Tcp,
                state: out.state,
                evidence: out.evidence,
                probe: ProbeKind::TcpConnect.name(),
                elapsed: started.elapsed(),
                attempts: out.attempts,
            };
            item.host.reach.observe(&finding, opts.timeout);
            if finding.attempts == 1
                && matches!(
                    finding.state,
                    PortState::Listening | PortState::NotListening
                )
            {
                item.host.rtt.sample(finding.elapsed);
            }
            shared.release(&item);
            Started::Done(Ok(finding))
        }
        tcp::AtOnce::Pending(socket) => Started::Later(item, Some((socket, started))),
        tcp::AtOnce::Later => Started::Later(item, None),
    }
}

async fn run_item(
    shared: Arc<Shared>,
    pool: Arc<tcp::SocketPool>,
    item: WorkItem,
    first: Option<(socket2::Socket, Instant)>,
) -> Result<Finding, Unfinished> {
    let reach = &item.host.reach;
    let latched = reach.latched.notified();
    tokio::pin!(latched);
    latched.as_mut().enable();
    let result = match reach.unreachable.get() {
        Some(reason) => Ok((not_probed(&item, reason), false)),
        None => tokio::select! {
            biased;
            r = check_port(&item.host, item.transport, item.port, &shared, &pool, first) => r,
            () = &mut latched => Ok((not_probed(&item, reach.unreachable.get().map_or("", |r| r)), false)),
        },
    };
    if let Ok((f, _)) = &result {
        reach.observe(f, shared.opts.timeout);
    }
    shared.release(&item);
    // Silence after short windows waits for the end of the run: if the host answers
    // late meanwhile, the port is checked again with the whole timeout.
    let result = match result {
        Ok((f, true)) => match shared.hold(&item.host, f) {
            None => return Err(Unfinished::Held),
            Some(f) => Ok(f),
        },
        Ok((f, false)) => Ok(f),
        Err(halt) => Err(halt),
    };
    result.map_err(|halt| match halt {
        Halt::Stopped => Unfinished::Stopped,
        Halt::Local(e) => Unfinished::Failed(LocalFailure {
            host: item.host.target.host.clone(),
            address: item.host.target.address,
            transport: item.transport,
            port: item.port,
            message: e.message,
        }),
    })
}

/// The finding for a port of a host the network said is unreachable: not probed (or
/// its probe stopped), so FILTERED with no answer of its own.
fn not_probed(item: &WorkItem, reason: &str) -> Finding {
    Finding {
        host: Arc::clone(&item.host.name),
        address: item.host.target.address,
        port: item.port,
        transport: item.transport,
        state: PortState::Filtered,
        evidence: vec![crate::finding::Evidence::NotProbed {
            reason: reason.to_owned(),
        }],
        probe: "none",
        elapsed: Duration::ZERO,
        attempts: 0,
    }
}

/// A check that ended without a finding.
enum Unfinished {
    /// It failed on this machine's side.
    Failed(LocalFailure),
    /// Its finding (silence after short UDP windows) is kept for the end of the run.
    Held,
    /// The run was stopped before its next attempt (not counted as done).
    Stopped,
}

/// Adds a result to the batch (or the failures); false when the receiver is gone.
fn record(shared: &Shared, result: Result<Finding, Unfinished>, batch: &mut Vec<Finding>) -> bool {
    match result {
        Ok(f) => {
            shared.done.fetch_add(1, Ordering::Relaxed);
            batch.push(f);
        }
        Err(Unfinished::Failed(failure)) => {
            shared.done.fetch_add(1, Ordering::Relaxed);
            let mut t = shared.tally();
            t.failure_count += 1;
            if t.failures.len() < MAX_KEPT_FAILURES {
                t.failures.push(failure);
            }
        }
        Err(Unfinished::Held) => {
            shared.done.fetch_add(1, Ordering::Relaxed);
        }
        Err(Unfinished::Stopped) => {}
    }
    !shared.tx.is_closed()
}

/// Sends the batch; false when the receiver is gone.
async fn flush(shared: &Shared, batch: &mut Vec<Finding>) -> bool {
    if batch.is_empty() {
        return !shared.tx.is_closed();
    }
    let n = batch.len() as u64;
    let out = std::mem::replace(batch, Vec::with_capacity(BATCH));
    if shared.tx.send(out).await.is_ok() {
        shared.tally().findings += n;
        true
    } else {
        false
    }
}

/// The receiver is gone: stop handing out work.
fn stop(shared: &Shared) {
    shared
        .source
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .stopped = true;
    shared.tally().aborted = true;
    shared.slot_freed.notify_waiters();
}

/// Checks one port; the flag is true for silence concluded after short UDP windows.
async fn check_port(
    host: &HostState,
    transport: Transport,
    port: u16,
    shared: &Shared,
    pool: &tcp::SocketPool,
    first: Option<(socket2::Socket, Instant)>,
) -> Result<(Finding, bool), Halt> {
    let opts = &shared.opts;
    let target = &host.target;
    let addr = SocketAddr::new(target.address, port);
    let kind = opts.probe_for(transport, port);
    let limiter = shared.limiter.as_deref();
    let (first, started) = match first {
        Some((socket, started)) => (Some(socket), started),
        None => (None, Instant::now()),
    };
    let ctx = || ProbeContext {
        host: target.host.clone(),
        address: target.address,
        port,
        snmp_community: Arc::clone(&shared.community),
        domain: host.domain.as_ref().map(|(d, _)| Arc::clone(d)),
        domain_origin: host
            .domain
            .as_ref()
            .map_or(DomainOrigin::Placeholder, |(_, o)| *o),
        nonce: probes::nonce(),
        probe_timeout: opts.probe_timeout,
    };
    let mut tentative = false;
    let (state, attempts, evidence) = match transport {
        Transport::Tcp => {
            // While nothing of the host has answered, the last attempt waits long
            // enough for neighbour discovery to give up (about 3 s on Linux and
            // Windows), so an absent host is said to be unreachable, not filtered.
            // Only when the attempts already take two seconds or more (the default
            // three of 1 s): a shorter budget was asked for speed, and loopback has no
            // neighbours to discover.
            let budget = opts.timeout.saturating_mul(u32::from(opts.attempts.max(1)));
            let at_least = if host.reach.silent()
                && budget >= Duration::from_secs(2)
                && !target.address.is_loopback()
            {
                NEIGHBOUR_WAIT
            } else {
                Duration::ZERO
            };
            let out = tcp::check(
                addr,
                (opts.timeout, at_least),
                opts.attempts,
                limiter,
                Some(pool),
                opts.source,
                first,
            )
            .await?;
            // The connect's round trip (before any application probe) times the host.
            if out.attempts == 1
                && matches!(out.state, PortState::Listening | PortState::NotListening)
            {
                host.rtt.sample(started.elapsed());
            }
            let mut evidence = out.evidence;
            if let Some(conn) = out.connection {
                if kind == ProbeKind::TcpConnect {
                    // A socket bound to a chosen source is never reused.
                    conn.close_with_reset(opts.source.is_none().then_some((pool, addr)));
                } else {
                    match conn.into_stream() {
                        Ok(stream) => {
                            // Boxed: the application probes' state machines are large,
                            // and every probe in flight would otherwise carry one.
                            let ctx = ctx();
                            evidence.extend(Box::pin(probes::run_tcp(kind, stream, &ctx)).await)
                        }
                        Err(e) => evidence.push(crate::finding::Evidence::error(
                            crate::finding::ProbeErrorKind::Local,
                            format!("cannot hand the connection to the probe: {e}"),
                        )),
                    }
                }
            }
            (out.state, out.attempts, evidence)
        }
        Transport::Udp => {
            let ctx = ctx();
            let out = Box::pin(udp::check(
                addr,
                probes::udp_probe(kind),
                &ctx,
                opts.timeout,
                opts.attempts,
                limiter,
                opts.source,
                (opts.udp_windows == crate::rtt::UdpWindows::Adaptive).then_some(&host.rtt),
            ))
            .await?;
            tentative = out.tentative;
            (out.state, out.attempts, out.evidence)
        }
        other => {
            return Err(Halt::Local(tcp::LocalError {
                message: format!("{other} has no ports to probe"),
            }));
        }
    };
    Ok((
        Finding {
            host: Arc::clone(&host.name),
            address: target.address,
            port,
            transport,
            state,
            evidence,
            probe: kind.name(),
            elapsed: started.elapsed(),
            attempts,
        },
        tentative,
    ))
}

/// The DNS domain of a host name: everything after the first label, if that leaves
/// at least two labels (`dc1.example.test` → `example.test`; `dc1`, `dc1.local` → none).
fn domain_of(host: &str) -> Option<&str> {
    // An address in text form (every target of a sweep) has no domain; checked without
    // parsing it.
    if host.contains(':') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let (_, rest) = host.trim_end_matches('.').split_once('.')?;
    rest.contains('.').then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_guess() {
        assert_eq!(domain_of("dc1.example.test"), Some("example.test"));
        assert_eq!(domain_of("dc1.corp.example.com."), Some("corp.example.com"));
        assert_eq!(domain_of("dc1.local"), None);
        assert_eq!(domain_of("dc1"), None);
        assert_eq!(domain_of("10.0.0.1"), None);
        assert_eq!(domain_of("::1"), None);
    }
}

#[cfg(test)]
mod future_size {
    use super::*;

    /// Every probe in flight is one of these futures: at the default concurrency of
    /// 4,096 its size is multiplied by that many, so it must stay small (the
    /// application probes' large state machines live behind a box).
    #[tokio::test]
    async fn a_probe_in_flight_is_small() {
        let (tx, _rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            limiter: None,
            community: Arc::from("public"),
            source: Mutex::new(WorkSource {
                units: Units::List(Vec::new().into_iter()),
                window: VecDeque::new(),
                max_window: 1,
                stopped: false,
                stop: Arc::default(),
                domain: None,
            }),
            opts: CheckOptions::default(),
            slot_freed: Notify::new(),
            tx,
            done: Arc::default(),
            tally: Mutex::new(EngineCounts::default()),
            held: Mutex::new(Vec::new()),
        });
        let item = WorkItem {
            host: Arc::new(HostState {
                target: Target {
                    host: "192.0.2.1".into(),
                    address: "192.0.2.1".parse().unwrap(),
                },
                name: Arc::from("192.0.2.1"),
                domain: None,
                tcp_in_flight: AtomicUsize::new(0),
                udp_in_flight: AtomicUsize::new(0),
                reach: HostReach::default(),
                rtt: crate::rtt::HostRtt::default(),
            }),
            transport: Transport::Tcp,
            port: 9,
        };
        let fut = run_item(shared, Arc::default(), item, None);
        let size = std::mem::size_of_val(&fut);
        eprintln!("probe future: {size} bytes");
        assert!(size <= 1536, "a probe in flight takes {size} bytes");
    }

    fn seen(state: PortState, evidence: &str, elapsed_ms: u64) -> Finding {
        Finding {
            host: Arc::from("192.0.2.1"),
            address: "192.0.2.1".parse().unwrap(),
            port: 445,
            transport: Transport::Tcp,
            state,
            evidence: if evidence.is_empty() {
                vec![]
            } else {
                vec![crate::finding::Evidence::Unreachable {
                    reason: evidence.into(),
                }]
            },
            probe: "tcp-connect",
            elapsed: Duration::from_millis(elapsed_ms),
            attempts: 3,
        }
    }

    /// The host is taken for absent only on a slow host or network unreachable, and only
    /// while nothing of it has answered.
    #[test]
    fn a_host_is_absent_only_when_the_network_says_so_slowly() {
        let slow = Duration::from_secs(1);
        let r = HostReach::default();
        r.observe(&seen(PortState::Filtered, "host unreachable", 5), slow);
        assert!(r.unreachable.get().is_none(), "a rule rejecting one port");
        r.observe(
            &seen(
                PortState::Filtered,
                "blocked by a local firewall rule",
                3000,
            ),
            slow,
        );
        assert!(r.unreachable.get().is_none(), "a local firewall rule");
        r.observe(&seen(PortState::Filtered, "", 3000), slow);
        assert!(r.unreachable.get().is_none(), "silence is no proof");
        r.observe(&seen(PortState::Filtered, "host unreachable", 3000), slow);
        assert_eq!(
            r.unreachable.get().map(String::as_str),
            Some("host unreachable (said for 445/tcp)")
        );

        let r = HostReach::default();
        r.observe(&seen(PortState::NotListening, "", 1), slow);
        r.observe(
            &seen(PortState::Filtered, "network unreachable", 3000),
            slow,
        );
        assert!(r.unreachable.get().is_none(), "the host answered before");
        assert!(!r.silent());
    }
}
