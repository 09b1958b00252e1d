//! Running a [`CheckPlan`]: the first pass over the planned ports, then the follow-up
//! pass — the ports of each host's RPC dynamic range that its endpoint mapper lists,
//! and the Kerberos ports once the host has said its domain — every finding labelled,
//! the verdict tallied as findings stream past (nothing is kept but counts).

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portq_catalog::Transport;
use tokio::sync::{mpsc, watch};

use super::label::{Need, PortLabel};
use super::plan::CheckPlan;
use super::summary::{CheckSummary, Note, VerdictTally};
use super::{Checked, Event, RpcFollowUp};
use crate::discovery::Discovery;
use crate::engine::{self, CheckUnit, EngineRun};
use crate::finding::{DomainOrigin, Evidence, Finding, PortState};
use crate::portspec::PortSpec;
use crate::probes::ProbeKind;
use crate::rpc::{EpmOptions, survey};
use crate::target::{ResolvedTargets, Target};

/// Batches of events waiting for the consumer at most (findings travel in the engine's
/// batches, so a slow consumer holds back at most a few thousand).
const EVENT_BATCHES: usize = 8;

/// Live counters of a running check (both passes), cheap to clone and poll.
#[derive(Debug, Clone, Default)]
pub struct PipelineProgress {
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl PipelineProgress {
    /// Checks finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Checks planned so far (grows when the follow-up pass is planned).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// A running check: take [`Event`]s with [`PipelineRun::next`], then the verdict with
/// [`PipelineRun::finish`]. Dropping it stops the probes.
#[derive(Debug)]
pub struct PipelineRun {
    rx: mpsc::Receiver<Vec<Event>>,
    buffered: VecDeque<Event>,
    progress: PipelineProgress,
    control: Arc<watch::Sender<Control>>,
    task: tokio::task::JoinHandle<CheckSummary>,
    /// Aborts the run at the deadline ([`super::PipelineOptions::with_deadline`]).
    timer: Option<tokio::task::JoinHandle<()>>,
    role_check: bool,
    /// What the targets resolved to when the run started.
    targets: ResolvedTargets,
}

impl Drop for PipelineRun {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(t) = &self.timer {
            t.abort();
        }
    }
}

/// Everything a finished check yields, findings sorted (by host, address, transport, port).
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Every finding, labelled.
    pub findings: Vec<Checked>,
    /// The verdict.
    pub summary: CheckSummary,
}

impl PipelineRun {
    /// The next event; `None` when the check has ended.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.buffered.pop_front() {
                return Some(e);
            }
            self.buffered = self.rx.recv().await?.into();
        }
    }

    /// The targets as looked up when the run started (every address checked), so a
    /// front end lists the hosts without looking the names up again.
    pub fn targets(&self) -> &ResolvedTargets {
        &self.targets
    }

    /// The progress counters.
    pub fn progress(&self) -> PipelineProgress {
        self.progress.clone()
    }

    /// Stops starting new checks: probes in flight finish (within their timeouts), the
    /// follow-up pass is not started, and the summary says the run was interrupted.
    pub fn stop(&self) {
        self.control.send_if_modified(|c| {
            let was = *c;
            *c = (*c).max(Control::Stop);
            *c != was
        });
    }

    /// Stops at once: probes in flight are dropped. Findings already made are still
    /// delivered, and [`PipelineRun::finish`] still returns the verdict so far (marked
    /// interrupted).
    pub fn abort(&self) {
        self.control.send_replace(Control::Abort);
    }

    /// Waits for the end (events not yet taken are dropped) and returns the verdict.
    pub async fn finish(mut self) -> CheckSummary {
        self.buffered.clear();
        while self.rx.recv().await.is_some() {}
        let role_check = self.role_check;
        let task = std::mem::replace(&mut self.task, tokio::spawn(async { empty(false) }));
        task.await.unwrap_or_else(|_| empty(role_check))
    }

    /// Runs to the end and returns every finding, sorted, with the verdict.
    pub async fn collect(mut self) -> CheckReport {
        let mut findings = Vec::new();
        while let Some(e) = self.next().await {
            if let Event::Finding(c) = e {
                findings.push(*c);
            }
        }
        Checked::sort(&mut findings);
        let summary = self.finish().await;
        CheckReport { findings, summary }
    }
}

/// What the owner of a run asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Control {
    Run,
    /// Finish what is in flight, start nothing new.
    Stop,
    /// Drop what is in flight.
    Abort,
}

/// The driver's view of [`Control`].
struct Controls(watch::Receiver<Control>);

impl Controls {
    fn get(&self) -> Control {
        *self.0.borrow()
    }

    /// Resolves when the control moves past `seen`.
    async fn changed_from(&mut self, seen: Control) -> Control {
        let changed = self.0.wait_for(|c| *c != seen).await.map(|c| *c);
        match changed {
            Ok(c) => c,
            // The run's owner is gone: nothing will change any more.
            Err(_) => std::future::pending().await,
        }
    }
}

fn empty(role_check: bool) -> CheckSummary {
    let mut t = VerdictTally::new(role_check, 0);
    t.interrupted();
    t.finish(Duration::ZERO)
}

pub(super) fn launch(
    plan: &CheckPlan,
    targets: ResolvedTargets,
    discovery: Option<Arc<Discovery>>,
    deadline: Option<tokio::time::Instant>,
) -> PipelineRun {
    let (tx, rx) = mpsc::channel(EVENT_BATCHES);
    let progress = PipelineProgress::default();
    let (control, controls) = watch::channel(Control::Run);
    let control = Arc::new(control);
    let timer = deadline.map(|at| {
        let control = Arc::downgrade(&control);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            if let Some(c) = control.upgrade() {
                c.send_replace(Control::Abort);
            }
        })
    });
    let mut tally = VerdictTally::new(plan.role_check, targets.count());
    if let Some(d) = &discovery {
        tally.discovered(Arc::clone(d));
    }
    let driver = Driver {
        plan: plan.clone(),
        tx,
        progress: progress.clone(),
        controls: Controls(controls),
        tally,
    };
    let resolved = targets.clone();
    let task = tokio::spawn(driver.run(targets, discovery));
    PipelineRun {
        rx,
        buffered: VecDeque::new(),
        progress,
        control,
        task,
        timer,
        role_check: plan.role_check,
        targets: resolved,
    }
}

/// Which registrations [`check_registered`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrations {
    /// Plain RPC over TCP (`ncacn_ip_tcp`): what the follow-up pass checks.
    TcpOnly,
    /// Also RPC over HTTP (`ncacn_http`, 593 and the like): every TCP endpoint listed.
    TcpAndHttp,
}

/// Checks the TCP ports endpoint mappers listed (what `portq rpc --check` does), each
/// labelled with its interfaces exactly as the follow-up pass labels them.
pub fn check_registered(
    plan: &CheckPlan,
    dumps: &[(Target, &crate::rpc::EpmDump)],
    which: Registrations,
) -> PipelineRun {
    let (tx, rx) = mpsc::channel(EVENT_BATCHES);
    let progress = PipelineProgress::default();
    let (control, controls) = watch::channel(Control::Run);
    let mut units = Vec::new();
    let mut labels = BTreeMap::new();
    for (t, dump) in dumps {
        let (ports, l, _) = registered_ports(t.address, dump, &plan.dynamic, which);
        labels.extend(l);
        if let Ok(spec) = PortSpec::from_ports(ports.into_iter().map(|p| (Transport::Tcp, p)))
            && !spec.is_empty()
        {
            units.push(CheckUnit {
                target: t.clone(),
                ports: Arc::new(spec),
                domain: None,
                unreachable: None,
            });
        }
    }
    let mut driver = Driver {
        plan: plan.clone(),
        tx,
        progress: progress.clone(),
        controls: Controls(controls),
        tally: VerdictTally::new(plan.role_check, dumps.len() as u64),
    };
    let task = tokio::spawn(async move {
        let started = Instant::now();
        if !units.is_empty() {
            let run = engine::start_units(units, driver.plan.engine.clone());
            let _ = driver.pass(run, Some(&labels), None).await;
        }
        driver.tally.finish(started.elapsed())
    });
    PipelineRun {
        rx,
        buffered: VecDeque::new(),
        progress,
        control: Arc::new(control),
        task,
        timer: None,
        role_check: plan.role_check,
        targets: ResolvedTargets::from_targets(dumps.iter().map(|(t, _)| t.clone())),
    }
}

/// What each host said in the first pass, by host and address.
type Facts = BTreeMap<(Arc<str>, IpAddr), HostFacts>;

/// What a host said in the first pass that the follow-up needs.
#[derive(Default)]
struct HostFacts {
    epm: Option<PortState>,
    domain: Option<String>,
    /// Some port answered.
    answered: bool,
    /// The network said the host is unreachable (the engine's words).
    unreachable: Option<String>,
}

struct Driver {
    plan: CheckPlan,
    tx: mpsc::Sender<Vec<Event>>,
    progress: PipelineProgress,
    controls: Controls,
    tally: VerdictTally,
}

/// Why a pass ended early.
enum Ended {
    /// The receiver is gone.
    Dropped,
}

impl Driver {
    async fn run(
        mut self,
        targets: ResolvedTargets,
        discovery: Option<Arc<Discovery>>,
    ) -> CheckSummary {
        let started = Instant::now();
        if let Some(d) = discovery
            && self.tx.send(vec![Event::Discovery(d)]).await.is_err()
        {
            self.tally.interrupted();
            return self.tally.finish(started.elapsed());
        }
        let deferred = self.deferred_ports();
        let first: PortSpec = if deferred.is_empty() {
            self.plan.ports().clone()
        } else {
            PortSpec::from_ports(
                self.plan
                    .ports()
                    .iter()
                    .filter(|(t, p)| !deferred.contains(*t, *p)),
            )
            .unwrap_or_default()
        };
        let follow_up = !self.plan.dynamic.is_empty() || !deferred.is_empty();
        let mut facts: Facts = BTreeMap::new();
        if !first.is_empty() {
            let run = engine::start_resolved(targets.clone(), first, self.plan.engine.clone());
            let learn = follow_up.then_some((&mut facts, self.plan.options.epm_port));
            if self.pass(run, None, learn).await.is_err() {
                return self.tally.finish(started.elapsed());
            }
        }
        if follow_up && self.controls.get() == Control::Run {
            // Asking the endpoint mappers can take a while: a stop request ends it.
            let mut controls = Controls(self.controls.0.clone());
            let asked = tokio::select! {
                u = self.follow_up_units(&targets, &deferred, &facts) => Some(u),
                _ = controls.changed_from(Control::Run) => None,
            };
            let Some((units, labels)) = asked else {
                self.tally.interrupted();
                return self.tally.finish(started.elapsed());
            };
            if !units.is_empty() {
                let run = engine::start_units(units, self.plan.engine.clone());
                let _ = self.pass(run, Some(&labels), None).await;
            }
        } else if follow_up {
            self.tally.interrupted();
        }
        self.tally.finish(started.elapsed())
    }

    /// Kerberos and DNS ports wait for the follow-up when no domain was given and the
    /// first pass can learn it from the host itself (CLDAP or the LDAP rootDSE): the realm
    /// (and the zone) asked is then the one the host named, never a placeholder.
    fn deferred_ports(&self) -> PortSpec {
        let engine = &self.plan.engine;
        if engine.domain.is_some() || self.plan.options.rpc_follow_up == RpcFollowUp::Off {
            return PortSpec::default();
        }
        let ports = self.plan.ports();
        let reveals = |t: Transport, p: u16| {
            ports.contains(t, p)
                && matches!(
                    engine.probe_for(t, p),
                    ProbeKind::Cldap | ProbeKind::Ldap | ProbeKind::Ldaps
                )
        };
        let learnable = reveals(Transport::Udp, 389)
            || reveals(Transport::Tcp, 389)
            || reveals(Transport::Tcp, 3268)
            || reveals(Transport::Tcp, 636);
        if !learnable {
            return PortSpec::default();
        }
        // DNS too: the SOA of the domain the host names is a question its DNS server can
        // answer (issue 21: the root's SOA gave "FORMERR, 0 answers" on a healthy DC).
        let kerberos = [
            (Transport::Tcp, 88),
            (Transport::Udp, 88),
            (Transport::Udp, 464),
            (Transport::Tcp, 464),
            (Transport::Udp, 53),
        ];
        PortSpec::from_ports(kerberos.into_iter().filter(|(t, p)| {
            ports.contains(*t, *p)
                && matches!(
                    engine.probe_for(*t, *p),
                    ProbeKind::Kerberos
                        | ProbeKind::KerberosTcp
                        | ProbeKind::Kpasswd
                        | ProbeKind::Dns
                )
        }))
        .unwrap_or_default()
    }

    /// Forwards one engine run's findings, labelled; tallies them; learns host facts.
    async fn pass(
        &mut self,
        mut run: EngineRun,
        dynamic: Option<&BTreeMap<(IpAddr, u16), Arc<PortLabel>>>,
        mut learn: Option<(&mut Facts, u16)>,
    ) -> Result<(), Ended> {
        self.progress
            .total
            .fetch_add(run.progress().total(), Ordering::Relaxed);
        let mut seen = self.controls.get();
        if seen != Control::Run {
            run.stop();
        }
        loop {
            let next = tokio::select! {
                biased;
                c = self.controls.changed_from(seen), if seen != Control::Abort => {
                    seen = c;
                    match c {
                        Control::Abort => run.abort(),
                        _ => run.stop(),
                    }
                    continue;
                }
                b = run.next_batch() => b,
            };
            let Some(batch) = next else { break };
            let mut events = Vec::with_capacity(batch.len());
            for f in batch {
                if let Some((facts, epm_port)) = learn.as_mut() {
                    learn_from(facts, &f, *epm_port, self.plan.engine.timeout);
                }
                let label = match dynamic.and_then(|d| d.get(&(f.address, f.port))) {
                    Some(l) if f.transport == Transport::Tcp => Arc::clone(l),
                    _ => Arc::clone(self.plan.label(f.transport, f.port)),
                };
                let checked = Checked { finding: f, label };
                self.tally.add(&checked);
                events.push(Event::Finding(Box::new(checked)));
            }
            self.progress
                .done
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            if self.tx.send(events).await.is_err() {
                run.abort();
                self.tally.interrupted();
                return Err(Ended::Dropped);
            }
        }
        let summary = run.finish().await;
        self.progress
            .done
            .fetch_add(summary.failure_count, Ordering::Relaxed);
        self.tally.pass(&summary);
        if seen != Control::Run || summary.aborted {
            self.tally.interrupted();
        }
        Ok(())
    }

    async fn note(&mut self, n: Note) {
        self.tally.note(n.clone());
        let _ = self.tx.send(vec![Event::Note(n)]).await;
    }

    /// The second pass: per host, the deferred Kerberos ports (with the domain the host
    /// named) and the TCP ports its endpoint mapper lists inside the RPC dynamic ranges.
    async fn follow_up_units(
        &mut self,
        targets: &ResolvedTargets,
        deferred: &PortSpec,
        facts: &Facts,
    ) -> (Vec<CheckUnit>, BTreeMap<(IpAddr, u16), Arc<PortLabel>>) {
        let mut dynamic_ports: BTreeMap<(String, IpAddr), Vec<u16>> = BTreeMap::new();
        let mut labels: BTreeMap<(IpAddr, u16), Arc<PortLabel>> = BTreeMap::new();
        if !self.plan.dynamic.is_empty() {
            let mut asked = Vec::new();
            for t in targets.iter() {
                let epm = facts
                    .get(&(Arc::from(t.host.as_str()), t.address))
                    .and_then(|f| f.epm);
                match epm {
                    Some(PortState::Listening) => asked.push(t),
                    Some(state) => {
                        self.note(Note::EpmNotListening {
                            host: t.host,
                            address: t.address,
                            state,
                        })
                        .await;
                    }
                    None => {}
                }
            }
            for (t, result) in self.ask_mappers(asked).await {
                match result {
                    Ok((ports, port_labels, truncated)) => {
                        if truncated {
                            self.note(Note::EpmTruncated {
                                host: t.host.clone(),
                                address: t.address,
                            })
                            .await;
                        }
                        if ports.is_empty() {
                            self.note(Note::NoDynamicPorts {
                                host: t.host.clone(),
                                address: t.address,
                            })
                            .await;
                        }
                        labels.extend(port_labels);
                        dynamic_ports.insert((t.host, t.address), ports);
                    }
                    Err(error) => {
                        self.note(Note::EpmUnavailable {
                            host: t.host,
                            address: t.address,
                            error,
                        })
                        .await;
                    }
                }
            }
        }
        let mut units = Vec::new();
        for t in targets.iter() {
            let key = (t.host.clone(), t.address);
            let registered = dynamic_ports.remove(&key).unwrap_or_default();
            let mut spec = deferred.clone();
            if !registered.is_empty() {
                let Ok(more) =
                    PortSpec::from_ports(registered.into_iter().map(|p| (Transport::Tcp, p)))
                else {
                    continue;
                };
                spec.merge(&more);
            }
            if spec.is_empty() {
                continue;
            }
            let fact = facts.get(&(Arc::from(t.host.as_str()), t.address));
            let domain = fact
                .and_then(|f| f.domain.as_deref())
                .map(|d| (Arc::<str>::from(d), DomainOrigin::Learned));
            // A host the network said is absent is not probed again (its deferred ports
            // come out "not probed" at once).
            let unreachable = fact
                .filter(|f| !f.answered)
                .and_then(|f| f.unreachable.clone());
            units.push(CheckUnit {
                target: t,
                ports: Arc::new(spec),
                domain,
                unreachable,
            });
        }
        (units, labels)
    }

    /// Asks each endpoint mapper (a few at once) for its registrations and keeps the TCP
    /// ports inside the dynamic ranges, each labelled with its interfaces.
    async fn ask_mappers(&self, hosts: Vec<Target>) -> Vec<(Target, MapperAnswer)> {
        let timeout = self.plan.engine.timeout;
        let epm_port = self.plan.options.epm_port;
        // The mapper answered on its port in the first pass, so a slow connect here is
        // a lost SYN, never an absent server: the connect waits out one retransmission
        // (the first comes after the 1 s initial RTO of RFC 6298) and the round trip
        // behind it. With 3 % loss, a 1 s connect lost a DC's RPC ports in one run in
        // about 30.
        let opts = EpmOptions {
            connect_timeout: timeout.max(EPM_CONNECT_FLOOR),
            read_timeout: timeout.max(Duration::from_secs(2)),
            deadline: timeout.max(Duration::from_secs(1)) * 10,
            ..EpmOptions::default()
        };
        survey(hosts, epm_port, &opts)
            .await
            .into_iter()
            .map(|(t, r)| {
                let answer = r
                    .map(|dump| {
                        registered_ports(
                            t.address,
                            &dump,
                            &self.plan.dynamic,
                            Registrations::TcpOnly,
                        )
                    })
                    .map_err(|e| e.to_string());
                (t, answer)
            })
            .collect()
    }
}

/// The shortest connect to an endpoint mapper that already answered: one SYN
/// retransmission (after 1 s) and a round trip of up to 2 s.
const EPM_CONNECT_FLOOR: Duration = Duration::from_secs(3);

/// Labels of registered ports, by address and port.
type PortLabels = BTreeMap<(IpAddr, u16), Arc<PortLabel>>;

/// The ports an endpoint mapper listed (sorted), their labels, and whether the list was cut.
type MapperAnswer = Result<(Vec<u16>, PortLabels, bool), String>;

fn registered_ports(
    address: IpAddr,
    dump: &crate::rpc::EpmDump,
    dynamic: &[super::plan::DynamicRange],
    which: Registrations,
) -> (Vec<u16>, PortLabels, bool) {
    let mut building: BTreeMap<u16, PortLabel> = BTreeMap::new();
    for e in &dump.entries {
        let Some(p) = e.tower.port() else { continue };
        let wanted = matches!(
            (e.tower.protseq(), which),
            (Some("ncacn_ip_tcp"), _) | (Some("ncacn_http"), Registrations::TcpAndHttp)
        );
        if !wanted {
            continue;
        }
        let ranges: Vec<&super::plan::DynamicRange> =
            dynamic.iter().filter(|r| r.range.contains(p)).collect();
        if ranges.is_empty() {
            continue;
        }
        let label = building
            .entry(p)
            .or_insert_with(|| PortLabel::unknown(Need::Registered));
        for r in &ranges {
            label.add_roles(&r.label.roles, &r.label.directions);
        }
        let known = e
            .tower
            .interface()
            .and_then(|i| portq_catalog::rpc::lookup(i.uuid.as_u128(), i.major, i.minor));
        if let Some(s) = known.and_then(|k| k.service()) {
            label.add_service(s);
        }
        // Short names first (lsarpc, samr), then the server's annotation, then the title.
        let name = [
            known.map(|k| k.short_name).unwrap_or(""),
            e.annotation.as_str(),
            known.map(|k| k.name).unwrap_or(""),
        ]
        .into_iter()
        .find(|l| !l.is_empty())
        .unwrap_or("");
        if !name.is_empty() && !label.rpc_interfaces.iter().any(|n| n == name) {
            label.rpc_interfaces.push(name.to_owned());
        }
    }
    let ports: Vec<u16> = building.keys().copied().collect();
    let labels = building
        .into_iter()
        .map(|(p, l)| {
            let mut l = l;
            if l.rpc_interfaces.is_empty() {
                l.rpc_interfaces.push("(unnamed)".to_owned());
            }
            ((address, p), l.finish())
        })
        .collect();
    (ports, labels, dump.truncated)
}

/// Notes what the first pass tells the follow-up: the state of 135/tcp, the
/// domain the host named over CLDAP or LDAP, and whether the host answered at all or the
/// network said it is unreachable (after `slow` or more, as the engine judges it).
fn learn_from(facts: &mut Facts, f: &Finding, epm_port: u16, slow: Duration) {
    let entry = facts.entry((Arc::clone(&f.host), f.address)).or_default();
    if f.transport == Transport::Tcp && f.port == epm_port {
        entry.epm = Some(f.state);
    }
    if matches!(f.state, PortState::Listening | PortState::NotListening) {
        entry.answered = true;
    }
    if entry.unreachable.is_none() {
        let not_probed = f.evidence.iter().find_map(|e| match e {
            Evidence::NotProbed { reason } => Some(reason.clone()),
            _ => None,
        });
        entry.unreachable = not_probed.or_else(|| {
            f.host_unreachable()
                .filter(|_| f.elapsed >= slow)
                .map(|reason| format!("{reason} (said for {}/{})", f.port, f.transport.as_str()))
        });
    }
    if entry.domain.is_some() {
        return;
    }
    for e in &f.evidence {
        match e {
            Evidence::Cldap {
                domain: Some(d), ..
            } if !d.is_empty() => {
                entry.domain = Some(d.clone());
            }
            Evidence::Ldap {
                naming_context: Some(nc),
                ..
            } => {
                if let Some(d) = domain_of_dn(nc) {
                    entry.domain = Some(d);
                }
            }
            _ => {}
        }
    }
}

/// `DC=example,DC=test` → `example.test` (only a DN made of DC= parts).
fn domain_of_dn(dn: &str) -> Option<String> {
    let mut labels = Vec::new();
    for part in dn.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("dc") || v.trim().is_empty() {
            return None;
        }
        labels.push(v.trim().to_ascii_lowercase());
    }
    (!labels.is_empty()).then(|| labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::domain_of_dn;

    #[test]
    fn domain_from_naming_context() {
        assert_eq!(
            domain_of_dn("DC=example,DC=test").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            domain_of_dn("dc=corp, dc=Example, dc=COM").as_deref(),
            Some("corp.example.com")
        );
        assert_eq!(domain_of_dn("OU=x,DC=example"), None);
        assert_eq!(domain_of_dn(""), None);
        assert_eq!(domain_of_dn("DC="), None);
    }
}
