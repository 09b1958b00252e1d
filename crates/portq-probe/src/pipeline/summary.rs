//! The verdict of a check: counts per state and per host, and every port that should
//! listen and does not, with what it is for.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use portq_catalog::Transport;
use serde::{Serialize, Serializer};

use super::Checked;
use super::label::Need;
use crate::discovery::{Discovery, RecordState, SrvRecord, SrvService, SrvTarget};
use crate::engine::{LocalFailure, MAX_KEPT_FAILURES, RunSummary};
use crate::finding::PortState;

/// At most this many hosts get a summary of their own (all are counted in the totals).
pub const MAX_HOST_SUMMARIES: usize = 4096;
/// At most this many unmet ports are listed (all are counted).
pub const MAX_UNMET: usize = 10_000;

/// Findings per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// LISTENING.
    pub listening: u64,
    /// NOT LISTENING.
    pub not_listening: u64,
    /// FILTERED.
    pub filtered: u64,
    /// LISTENING OR FILTERED.
    pub listening_or_filtered: u64,
}

impl StateCounts {
    fn add(&mut self, s: PortState) {
        match s {
            PortState::Listening => self.listening += 1,
            PortState::NotListening => self.not_listening += 1,
            PortState::Filtered => self.filtered += 1,
            PortState::ListeningOrFiltered => self.listening_or_filtered += 1,
        }
    }

    /// The count of one state.
    pub fn get(&self, s: PortState) -> u64 {
        match s {
            PortState::Listening => self.listening,
            PortState::NotListening => self.not_listening,
            PortState::Filtered => self.filtered,
            PortState::ListeningOrFiltered => self.listening_or_filtered,
        }
    }

    /// All findings counted.
    pub fn total(&self) -> u64 {
        self.listening + self.not_listening + self.filtered + self.listening_or_filtered
    }
}

/// A port that should be LISTENING (required by a role or service, or registered with
/// the endpoint mapper) and is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmet {
    /// Host as given.
    pub host: String,
    /// Address checked.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Transport (`protocol` in JSON, as in findings).
    #[serde(rename = "protocol")]
    pub transport: Transport,
    /// What it did.
    pub state: PortState,
    /// Required or registered.
    pub need: Need,
    /// What it is for: the catalogue's application protocols.
    pub protocols: Vec<&'static str>,
    /// Friendly names of the services it is for.
    pub services: Vec<&'static str>,
    /// Roles that need it.
    pub roles: Vec<&'static str>,
    /// For a registered RPC port: its interfaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rpc_interfaces: Vec<String>,
}

/// One host's part of the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSummary {
    /// Host as given (shared with its findings).
    pub host: Arc<str>,
    /// Address checked.
    pub address: IpAddr,
    /// Findings per state.
    pub states: StateCounts,
    /// Ports that should listen (required or registered).
    pub expected: u64,
    /// Of those, how many are LISTENING.
    pub expected_listening: u64,
}

/// Something the check says besides findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Note {
    /// The endpoint mapper (135/tcp) did not answer, so the RPC dynamic range of this
    /// host was not checked.
    EpmUnavailable {
        /// Host as given.
        host: String,
        /// Address.
        address: IpAddr,
        /// What went wrong.
        error: String,
    },
    /// 135/tcp is not LISTENING, so the endpoint mapper could not be asked.
    EpmNotListening {
        /// Host as given.
        host: String,
        /// Address.
        address: IpAddr,
        /// What 135/tcp did.
        state: PortState,
    },
    /// The endpoint mapper lists no TCP port inside the RPC dynamic ranges.
    NoDynamicPorts {
        /// Host as given.
        host: String,
        /// Address.
        address: IpAddr,
    },
    /// The endpoint mapper's list ended early (the server repeated a page).
    EpmTruncated {
        /// Host as given.
        host: String,
        /// Address.
        address: IpAddr,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::EpmUnavailable { host, error, .. } => write!(
                f,
                "{host}: RPC dynamic range not checked: the endpoint mapper did not answer ({error})"
            ),
            Note::EpmNotListening { host, state, .. } => write!(
                f,
                "{host}: RPC dynamic range not checked: the endpoint mapper port 135/tcp is {state}"
            ),
            Note::NoDynamicPorts { host, .. } => write!(
                f,
                "{host}: the endpoint mapper lists no TCP port in the RPC dynamic range"
            ),
            Note::EpmTruncated { host, .. } => write!(
                f,
                "{host}: the endpoint mapper's list is incomplete (the server repeated a page)"
            ),
        }
    }
}

/// How the whole check went: the verdict, per host and overall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckSummary {
    /// True when roles or services were asked for.
    pub role_check: bool,
    /// Findings per state, all hosts.
    pub states: StateCounts,
    /// Ports that should listen (required or registered), all hosts.
    pub expected: u64,
    /// Of those, how many are LISTENING.
    pub expected_listening: u64,
    /// The first [`MAX_UNMET`] ports that should listen and do not.
    pub unmet: Vec<Unmet>,
    /// Per host (the first [`MAX_HOST_SUMMARIES`] hosts), in host order.
    pub hosts: Vec<HostSummary>,
    /// Hosts with findings.
    pub host_count: u64,
    /// What else happened (endpoint mapper not answering, ...).
    pub notes: Vec<Note>,
    /// Checks planned (both passes).
    pub planned: u64,
    /// Checks finished.
    pub completed: u64,
    /// Checks that failed on this machine's side (no finding).
    pub local_failures: u64,
    /// The first of those failures.
    pub failures: Vec<LocalFailure>,
    /// Wall time (milliseconds in JSON).
    #[serde(rename = "elapsed_ms", serialize_with = "ms")]
    pub elapsed: Duration,
    /// True when the check was stopped before the end.
    pub interrupted: bool,
    /// The DC locator records and how their targets fared, when the targets came from
    /// DNS. Not in this struct's JSON: front ends put it beside the summary
    /// (`portq check`'s `discovery` field).
    #[serde(skip)]
    pub discovery: Option<DiscoveryReport>,
}

/// How an SRV record's target fared in the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SrvVerdict {
    /// Its port is LISTENING on at least one of its addresses.
    Answers,
    /// Its port was checked on its addresses and is LISTENING on none.
    NotAnswering,
    /// The target host has no address: nothing can reach it.
    NoAddress,
    /// Its port is not among the ports checked.
    NotChecked,
}

/// What the advertised port did on one address of an SRV target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressState {
    /// The address.
    pub address: IpAddr,
    /// The port's state there (`None`: not checked).
    pub state: Option<PortState>,
}

/// One target of one SRV record, checked: the DNS record combined with what the host
/// did on the advertised port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvCheck {
    /// The record name.
    pub record: String,
    /// What the record advertises.
    pub service: SrvService,
    /// The target host.
    pub host: String,
    /// The port advertised (TCP).
    pub port: u16,
    /// The verdict.
    pub verdict: SrvVerdict,
    /// The port's state on each address of the host.
    pub states: Vec<AddressState>,
}

/// DNS discovery's part of the verdict: what was found, and each record target checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveryReport {
    /// What DNS said: the records, their targets, the controllers found (and checked).
    #[serde(flatten)]
    pub found: Discovery,
    /// Every record target, with its verdict, in record order.
    pub checks: Vec<SrvCheck>,
}

impl DiscoveryReport {
    /// True when every record is present, at least one controller was found, and no
    /// target is unreachable (no address, or its port checked and not LISTENING).
    pub fn all_good(&self) -> bool {
        !self.found.controllers.is_empty()
            && self
                .found
                .records
                .iter()
                .all(|r| r.state == RecordState::Present)
            && self
                .checks
                .iter()
                .all(|c| matches!(c.verdict, SrvVerdict::Answers | SrvVerdict::NotChecked))
    }

    /// One line per problem (a record missing or failing, a target with no address or
    /// not answering), then one line of totals with the controllers found.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let d = &self.found;
        for r in &d.records {
            if r.state != RecordState::Present {
                lines.push(format!("DNS {}: {}", r.query.name, r.state));
            }
        }
        for c in &self.checks {
            let what = match c.verdict {
                SrvVerdict::Answers | SrvVerdict::NotChecked => continue,
                SrvVerdict::NoAddress => "the host has no address".to_owned(),
                SrvVerdict::NotAnswering => {
                    let states: Vec<String> = c
                        .states
                        .iter()
                        .filter_map(|a| a.state.map(|s| format!("{s} on {}", a.address)))
                        .collect();
                    format!("does not answer ({}/tcp {})", c.port, states.join(", "))
                }
            };
            lines.push(format!("DNS {} -> {}:{}: {what}", c.record, c.host, c.port));
        }
        let present = d
            .records
            .iter()
            .filter(|r| r.state == RecordState::Present)
            .count();
        let dcs: Vec<String> = d
            .controllers
            .iter()
            .map(|dc| {
                let addrs: Vec<String> = dc.addresses.iter().map(|a| a.to_string()).collect();
                let site = dc
                    .site
                    .as_deref()
                    .map(|s| format!(", site {s}"))
                    .unwrap_or_default();
                format!(
                    "{} ({}; priority {}, weight {}{site})",
                    dc.host,
                    if addrs.is_empty() {
                        "no address".to_owned()
                    } else {
                        addrs.join(", ")
                    },
                    dc.priority,
                    dc.weight
                )
            })
            .collect();
        lines.push(if dcs.is_empty() {
            format!(
                "DNS {}: {present} of {} DC locator records present; no domain controller found",
                d.domain,
                d.records.len()
            )
        } else {
            format!(
                "DNS {}: {present} of {} DC locator records present; {} domain controller{} found: {}",
                d.domain,
                d.records.len(),
                dcs.len(),
                if dcs.len() == 1 { "" } else { "s" },
                dcs.join(", ")
            )
        });
        lines
    }
}

/// Follows the advertised ports of SRV targets as findings pass by.
#[derive(Debug)]
struct SrvTracker {
    found: Arc<Discovery>,
    /// (host, address, port) of every record target → its state once checked.
    states: BTreeMap<(Arc<str>, IpAddr, u16), Option<PortState>>,
}

impl SrvTracker {
    fn new(found: Arc<Discovery>) -> Self {
        let mut states = BTreeMap::new();
        for t in found.records.iter().flat_map(|r| &r.targets) {
            for a in &t.addresses {
                states.insert((Arc::from(t.host.as_str()), *a, t.port), None);
            }
        }
        SrvTracker { found, states }
    }

    fn add(&mut self, f: &crate::finding::Finding) {
        if f.transport != Transport::Tcp {
            return;
        }
        if let Some(s) = self
            .states
            .get_mut(&(Arc::clone(&f.host), f.address, f.port))
        {
            *s = Some(f.state);
        }
    }

    fn check(&self, record: &SrvRecord, t: &SrvTarget) -> SrvCheck {
        let states: Vec<AddressState> = t
            .addresses
            .iter()
            .map(|a| AddressState {
                address: *a,
                state: self
                    .states
                    .get(&(Arc::from(t.host.as_str()), *a, t.port))
                    .copied()
                    .flatten(),
            })
            .collect();
        let verdict = if states.is_empty() {
            SrvVerdict::NoAddress
        } else if states.iter().any(|a| a.state == Some(PortState::Listening)) {
            SrvVerdict::Answers
        } else if states.iter().any(|a| a.state.is_some()) {
            SrvVerdict::NotAnswering
        } else {
            SrvVerdict::NotChecked
        };
        SrvCheck {
            record: record.query.name.clone(),
            service: record.query.service,
            host: t.host.clone(),
            port: t.port,
            verdict,
            states,
        }
    }

    fn finish(self) -> DiscoveryReport {
        let checks = self
            .found
            .records
            .iter()
            .flat_map(|r| r.targets.iter().map(move |t| (r, t)))
            .map(|(r, t)| self.check(r, t))
            .collect();
        DiscoveryReport {
            found: Arc::unwrap_or_clone(self.found),
            checks,
        }
    }
}

fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl CheckSummary {
    /// True when every port that should listen is LISTENING (and there was one).
    pub fn expected_all_listening(&self) -> bool {
        self.expected > 0 && self.expected_listening == self.expected
    }

    /// True unless DNS discovery found a problem (a DC locator record missing or
    /// failing, no controller, a target with no address or not answering).
    pub fn discovery_good(&self) -> bool {
        self.discovery
            .as_ref()
            .is_none_or(DiscoveryReport::all_good)
    }

    /// True when every finding is LISTENING (PortQry's strict sense).
    pub fn all_listening(&self) -> bool {
        self.states.total() > 0 && self.states.listening == self.states.total()
    }

    /// The verdict in one line per host that has unmet ports, or one line for all:
    /// `2 of 21 required ports not listening on dc1 (10.0.0.5): 9389/tcp Active
    /// Directory Web Services (domain-controller), 123/udp Windows Time`.
    pub fn verdict_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(d) = &self.discovery {
            lines.extend(d.lines());
        }
        if !self.role_check && self.expected == 0 {
            let t = self.states;
            lines.push(format!(
                "{} checked on {} host{}: {} listening, {} not listening, {} filtered, {} listening or filtered",
                t.total(),
                self.host_count,
                if self.host_count == 1 { "" } else { "s" },
                t.listening,
                t.not_listening,
                t.filtered,
                t.listening_or_filtered
            ));
            lines.extend(self.interrupted_line());
            return lines;
        }
        let mut by_host: BTreeMap<(&str, IpAddr), Vec<&Unmet>> = BTreeMap::new();
        for u in &self.unmet {
            by_host
                .entry((u.host.as_str(), u.address))
                .or_default()
                .push(u);
        }
        for h in &self.hosts {
            let who = host_label(&h.host, h.address);
            match by_host.get(&(&*h.host, h.address)) {
                None if h.expected > 0 => lines.push(format!(
                    "all {} required port{} listening on {who}",
                    h.expected,
                    if h.expected == 1 { "" } else { "s" }
                )),
                None => {}
                Some(list) => {
                    let items: Vec<String> = list.iter().map(|u| unmet_text(u)).collect();
                    lines.push(format!(
                        "{} of {} required port{} not listening on {who}: {}",
                        h.expected - h.expected_listening,
                        h.expected,
                        if h.expected == 1 { "" } else { "s" },
                        items.join(", ")
                    ));
                }
            }
        }
        if self.host_count as usize > self.hosts.len() {
            lines.push(format!(
                "{} of {} required ports listening on {} hosts",
                self.expected_listening, self.expected, self.host_count
            ));
        }
        lines.extend(self.interrupted_line());
        lines
    }

    /// "interrupted: N of M checks done", when the run was stopped.
    fn interrupted_line(&self) -> Option<String> {
        self.interrupted.then(|| {
            format!(
                "interrupted: {} of {} checks done",
                self.completed, self.planned
            )
        })
    }
}

fn host_label(host: &str, address: IpAddr) -> String {
    if host == address.to_string() {
        host.to_owned()
    } else {
        format!("{host} ({address})")
    }
}

/// `9389/tcp Active Directory Web Services (ADWS) [Active Directory (local security
/// authority); domain-controller] NOT LISTENING`.
fn unmet_text(u: &Unmet) -> String {
    let mut s = format!("{}/{}", u.port, u.transport.as_str());
    let mut who: Vec<&str> = Vec::new();
    if !u.rpc_interfaces.is_empty() {
        s.push_str(&format!(" RPC {}", u.rpc_interfaces.join(", ")));
    } else if let Some(first) = u.protocols.first() {
        s.push(' ');
        s.push_str(first);
        who.extend(u.services.iter().copied());
    } else {
        who.extend(u.services.iter().copied());
    }
    let who = who.join(", ");
    let roles = u.roles.join(", ");
    match (who.is_empty(), roles.is_empty()) {
        (false, false) => s.push_str(&format!(" [{who}; {roles}]")),
        (false, true) => s.push_str(&format!(" [{who}]")),
        (true, false) => s.push_str(&format!(" [{roles}]")),
        (true, true) => {}
    }
    s.push_str(&format!(" {}", u.state));
    s
}

/// Builds a [`CheckSummary`] as findings pass by; keeps counts, not findings.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    role_check: bool,
    states: StateCounts,
    expected: u64,
    expected_listening: u64,
    unmet: Vec<Unmet>,
    /// By address first (cheap to compare), then the name.
    hosts: BTreeMap<(IpAddr, Arc<str>), HostSummary>,
    host_count: u64,
    notes: Vec<Note>,
    planned: u64,
    completed: u64,
    local_failures: u64,
    failures: Vec<LocalFailure>,
    aborted: bool,
    srv: Option<SrvTracker>,
}

impl Tally {
    pub(crate) fn new(role_check: bool, host_count: u64) -> Self {
        Tally {
            role_check,
            host_count,
            ..Tally::default()
        }
    }

    /// Follows the SRV targets of what discovery found.
    pub(crate) fn discovered(&mut self, found: Arc<Discovery>) {
        self.srv = Some(SrvTracker::new(found));
    }

    pub(crate) fn add(&mut self, c: &Checked) {
        let f = &c.finding;
        if let Some(srv) = &mut self.srv {
            srv.add(f);
        }
        self.states.add(f.state);
        let expected = c.label.need.is_expected();
        let listening = f.state == PortState::Listening;
        if expected {
            self.expected += 1;
            if listening {
                self.expected_listening += 1;
            } else {
                if self.unmet.len() < MAX_UNMET {
                    self.unmet.push(Unmet {
                        host: f.host.to_string(),
                        address: f.address,
                        port: f.port,
                        transport: f.transport,
                        state: f.state,
                        need: c.label.need,
                        protocols: c.label.protocols.clone(),
                        services: c.label.service_names(),
                        roles: c.label.roles.clone(),
                        rpc_interfaces: c.label.rpc_interfaces.clone(),
                    });
                }
            }
        }
        let key = (f.address, Arc::clone(&f.host));
        let known = self.hosts.len();
        let entry = match self.hosts.get_mut(&key) {
            Some(e) => Some(e),
            None if known < MAX_HOST_SUMMARIES => {
                Some(self.hosts.entry(key).or_insert_with(|| HostSummary {
                    host: Arc::clone(&f.host),
                    address: f.address,
                    states: StateCounts::default(),
                    expected: 0,
                    expected_listening: 0,
                }))
            }
            None => None,
        };
        if let Some(h) = entry {
            h.states.add(f.state);
            if expected {
                h.expected += 1;
                h.expected_listening += u64::from(listening);
            }
        }
    }

    pub(crate) fn note(&mut self, n: Note) {
        self.notes.push(n);
    }

    pub(crate) fn pass(&mut self, s: &RunSummary) {
        self.planned += s.planned;
        self.completed += s.completed;
        self.local_failures += s.failure_count;
        for f in &s.failures {
            if self.failures.len() < MAX_KEPT_FAILURES {
                self.failures.push(f.clone());
            }
        }
        self.aborted |= s.aborted;
    }

    pub(crate) fn interrupted(&mut self) {
        self.aborted = true;
    }

    pub(crate) fn finish(mut self, elapsed: Duration) -> CheckSummary {
        self.unmet.sort_by(|a, b| {
            (&a.host, a.address, a.transport, a.port).cmp(&(
                &b.host,
                b.address,
                b.transport,
                b.port,
            ))
        });
        CheckSummary {
            role_check: self.role_check,
            states: self.states,
            expected: self.expected,
            expected_listening: self.expected_listening,
            unmet: self.unmet,
            hosts: {
                let mut hosts: Vec<HostSummary> = self.hosts.into_values().collect();
                hosts.sort_by(|a, b| (&a.host, a.address).cmp(&(&b.host, b.address)));
                hosts
            },
            host_count: self.host_count,
            notes: self.notes,
            planned: self.planned,
            completed: self.completed,
            local_failures: self.local_failures,
            failures: self.failures,
            elapsed,
            interrupted: self.aborted,
            discovery: self.srv.map(SrvTracker::finish),
        }
    }
}
