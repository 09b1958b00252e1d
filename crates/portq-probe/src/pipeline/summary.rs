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
use crate::engine::{EngineSummary, LocalFailure, MAX_KEPT_FAILURES};
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

/// What one port's state means for a port that should listen: the only place where a
/// state becomes pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PortVerdict {
    /// LISTENING: something answered.
    Met,
    /// NOT LISTENING or FILTERED: the probes prove it cannot be reached from here (a reset,
    /// an ICMP error, or no answer from a port whose probe always gets one).
    Unmet,
    /// LISTENING OR FILTERED: a UDP port whose service never answers a probe (138/udp,
    /// a silent 500/udp). No probe can prove it either way, so it is never a failure.
    Unconfirmed,
}

impl PortVerdict {
    /// The verdict on a port in `state`.
    pub fn of(state: PortState) -> Self {
        match state {
            PortState::Listening => PortVerdict::Met,
            PortState::NotListening | PortState::Filtered => PortVerdict::Unmet,
            PortState::ListeningOrFiltered => PortVerdict::Unconfirmed,
        }
    }
}

/// Which ports the pass/fail rule holds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strictness {
    /// The ports that should listen: required by the roles and services asked for, or
    /// registered with the endpoint mapper. A port list alone (a sweep) passes whatever
    /// it finds.
    Expected,
    /// Every port checked must not be unmet (`--strict`, an exporter module of ports).
    EveryPort,
}

/// The one pass/fail answer of a check, which every front end renders: the CLI's exit
/// code, the exporter's `probe_success`, the console's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing the rule holds to is unmet.
    Passed,
    /// Something is unmet: a port, a DNS locator record, the endpoint mapper, or a check
    /// that could not run on this machine's side.
    Failed,
    /// The check was stopped before the end: no verdict.
    Interrupted,
}

impl Outcome {
    /// True for [`Outcome::Passed`].
    pub fn passed(self) -> bool {
        self == Outcome::Passed
    }
}

/// A port that should be LISTENING (required by a role or service, or registered with
/// the endpoint mapper) and is not: unmet, or, in [`CheckSummary::unconfirmed`], not
/// provable either way.
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
    /// The port's label as tables show it (`ADWS`, `RPC dynamic: lsarpc`).
    pub label: String,
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
    /// Of those, how many are unconfirmed (LISTENING OR FILTERED).
    pub expected_unconfirmed: u64,
    /// True when the network said the host cannot be reached (a host or network
    /// unreachable) and nothing on it answered.
    pub unreachable: bool,
    /// The first host or network unreachable seen, kept to decide [`Self::unreachable`].
    #[serde(skip)]
    unreachable_reason: Option<String>,
}

impl HostSummary {
    /// Expected ports that fail.
    pub fn unmet(&self) -> u64 {
        self.expected - self.expected_listening - self.expected_unconfirmed
    }
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
    /// The network said the host cannot be reached and nothing on it answered: every
    /// port of it is FILTERED (or LISTENING OR FILTERED).
    HostUnreachable {
        /// Host as given.
        host: String,
        /// Address.
        address: IpAddr,
        /// What the network said (`host unreachable`, `network unreachable`).
        reason: String,
        /// Ports checked on it.
        ports: u64,
    },
}

impl Note {
    /// True when the note alone fails a check: the endpoint mapper answered nothing
    /// usable, or lists no dynamic port although a role needs them. The others explain
    /// ports that are unmet anyway, or say something was partial.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Note::EpmUnavailable { .. } | Note::NoDynamicPorts { .. }
        )
    }
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
            Note::HostUnreachable {
                host,
                address,
                reason,
                ports,
            } => write!(
                f,
                "{}: {reason}: no port answered ({ports} checked)",
                host_label(host, *address)
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
    /// Of those, how many are unconfirmed (LISTENING OR FILTERED, never a failure).
    pub expected_unconfirmed: u64,
    /// The first [`MAX_UNMET`] ports that should listen and provably do not.
    pub unmet: Vec<Unmet>,
    /// The first [`MAX_UNMET`] ports that should listen and that no probe could prove
    /// either way (UDP, LISTENING OR FILTERED).
    pub unconfirmed: Vec<Unmet>,
    /// The verdict by the default rule ([`Strictness::Expected`]).
    pub outcome: Outcome,
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
    /// Ports that should listen and provably do not (all of them, also past
    /// [`MAX_UNMET`]).
    pub fn unmet_count(&self) -> u64 {
        self.expected - self.expected_listening - self.expected_unconfirmed
    }

    /// The pass/fail rule, the only one: the CLI's exit code, the exporter's
    /// `probe_success`, the console's verdict and `portq rpc --check` all come from here.
    ///
    /// Failed when a port the rule holds to is unmet ([`PortVerdict::Unmet`]; never for
    /// an unconfirmed one), a check could not run on this machine's side, DNS discovery
    /// found a problem, or a note is a failure ([`Note::is_failure`]). Interrupted when
    /// stopped before the end.
    pub fn outcome(&self, strictness: Strictness) -> Outcome {
        if self.interrupted {
            return Outcome::Interrupted;
        }
        let ports_ok = match strictness {
            Strictness::Expected => self.unmet_count() == 0,
            Strictness::EveryPort => {
                self.states.total() > 0
                    && self.states.not_listening == 0
                    && self.states.filtered == 0
            }
        };
        if ports_ok
            && self.local_failures == 0
            && self.discovery_good()
            && !self.notes.iter().any(Note::is_failure)
        {
            Outcome::Passed
        } else {
            Outcome::Failed
        }
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

    /// The verdict, short: one line per host (unmet ports grouped by state, then the
    /// unconfirmed ones; an unreachable host in a few words), or one line for a sweep.
    /// Each line stays under [`MAX_VERDICT_LINE`] characters: the full lists are in
    /// [`Self::unmet`] and [`Self::unconfirmed`].
    ///
    /// `2 of 19 required ports not reachable on dc1 (10.0.0.5): not listening 9389/tcp
    /// ADWS, 123/udp W32Time; unconfirmed 138/udp Netlogon`.
    pub fn verdict_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(d) = &self.discovery {
            lines.extend(d.lines());
        }
        let unreachable: BTreeMap<(&str, IpAddr), &str> = self
            .notes
            .iter()
            .filter_map(|n| match n {
                Note::HostUnreachable {
                    host,
                    address,
                    reason,
                    ..
                } => Some(((host.as_str(), *address), reason.as_str())),
                _ => None,
            })
            .collect();
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
            if !unreachable.is_empty() {
                lines.push(clip(
                    "unreachable: ".to_owned(),
                    unreachable
                        .iter()
                        .map(|((h, a), r)| format!("{} ({r})", host_label(h, *a))),
                ));
            }
            lines.extend(self.silent_hosts_hint());
            lines.extend(self.interrupted_line());
            return lines;
        }
        let mut unmet: BTreeMap<(&str, IpAddr), Vec<&Unmet>> = BTreeMap::new();
        for u in &self.unmet {
            unmet
                .entry((u.host.as_str(), u.address))
                .or_default()
                .push(u);
        }
        let mut unconfirmed: BTreeMap<(&str, IpAddr), Vec<&Unmet>> = BTreeMap::new();
        for u in &self.unconfirmed {
            unconfirmed
                .entry((u.host.as_str(), u.address))
                .or_default()
                .push(u);
        }
        for h in &self.hosts {
            let who = host_label(&h.host, h.address);
            let key = (&*h.host, h.address);
            let plural = |n: u64| if n == 1 { "" } else { "s" };
            if let Some(reason) = unreachable.get(&key) {
                lines.push(format!(
                    "{who} unreachable ({reason}): {} required port{} not reachable",
                    h.expected,
                    plural(h.expected)
                ));
                continue;
            }
            let maybe = unconfirmed.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            let maybe_text = |prefix: &str| -> Vec<String> {
                if maybe.is_empty() {
                    Vec::new()
                } else {
                    vec![format!("{prefix}unconfirmed {}", port_list(maybe))]
                }
            };
            match unmet.get(&key) {
                None if h.expected > 0 => {
                    let head = if h.expected_unconfirmed == 0 {
                        format!(
                            "all {} required port{} listening on {who}",
                            h.expected_listening,
                            plural(h.expected_listening)
                        )
                    } else {
                        // Some required ports cannot be proven either way: none fails.
                        format!(
                            "no required port unmet on {who}: {} listening, {} unconfirmed",
                            h.expected_listening, h.expected_unconfirmed
                        )
                    };
                    let mut parts = vec![head];
                    parts.extend(maybe_text(""));
                    lines.push(clip_parts(parts));
                }
                None => {}
                Some(list) => {
                    let mut parts = vec![format!(
                        "{} of {} required port{} not reachable on {who}",
                        h.unmet(),
                        h.expected,
                        plural(h.expected)
                    )];
                    for state in [PortState::NotListening, PortState::Filtered] {
                        let of: Vec<&Unmet> =
                            list.iter().copied().filter(|u| u.state == state).collect();
                        if !of.is_empty() {
                            parts.push(format!(
                                "{} {}",
                                state.token().replace('_', " "),
                                port_list(&of)
                            ));
                        }
                    }
                    parts.extend(maybe_text(""));
                    lines.push(clip_parts(parts));
                }
            }
        }
        lines.extend(self.silent_hosts_hint());
        if self.host_count as usize > self.hosts.len() {
            lines.push(format!(
                "{} of {} required ports listening on {} hosts",
                self.expected_listening, self.expected, self.host_count
            ));
        }
        lines.extend(self.interrupted_line());
        lines
    }

    /// For hosts where no probe got any answer (every port FILTERED, none refused, the
    /// network said nothing): what FILTERED means and what to try. One line.
    fn silent_hosts_hint(&self) -> Option<String> {
        let silent: Vec<String> = self
            .hosts
            .iter()
            .filter(|h| {
                !h.unreachable
                    && h.states.filtered > 0
                    && h.states.listening == 0
                    && h.states.not_listening == 0
            })
            .map(|h| host_label(&h.host, h.address))
            .collect();
        if silent.is_empty() {
            return None;
        }
        const HEAD: &str = "nothing answered on ";
        const TAIL: &str = ": FILTERED means no reply at all within the timeout, so a firewall drops the probes or the host is down; try --timeout 5s, a check from the host's own subnet, or portq local on the host";
        // The names fit what the line has left, with room for " and N more".
        let room = MAX_VERDICT_LINE.saturating_sub(HEAD.len() + TAIL.len() + 16);
        let mut who = String::new();
        let mut named = 0;
        for s in &silent {
            let sep = if named > 0 { 2 } else { 0 };
            if who.chars().count() + sep + s.chars().count() > room {
                break;
            }
            if named > 0 {
                who.push_str(", ");
            }
            who.push_str(s);
            named += 1;
        }
        if named == 0 {
            // One name longer than the room: its start.
            who = silent[0]
                .chars()
                .take(room.saturating_sub(1))
                .collect::<String>()
                + "…";
            named = 1;
        }
        if named < silent.len() {
            who.push_str(&format!(" and {} more", silent.len() - named));
        }
        Some(format!("{HEAD}{who}{TAIL}"))
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

/// The longest verdict line: the full lists are in the JSON and the report.
pub const MAX_VERDICT_LINE: usize = 300;

/// `9389/tcp ADWS, 123/udp W32Time`: each port with its label, clipped.
fn port_list(list: &[&Unmet]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|u| {
            let mut label: String = u.label.chars().take(24).collect();
            if label.len() < u.label.len() {
                label.push('…');
            }
            if label.is_empty() {
                format!("{}/{}", u.port, u.transport.as_str())
            } else {
                format!("{}/{} {label}", u.port, u.transport.as_str())
            }
        })
        .collect();
    items.join(", ")
}

/// Joins the parts of a verdict line with `: ` then `; `, and clips it to
/// [`MAX_VERDICT_LINE`] characters at an item boundary, saying how much was left out.
fn clip_parts(parts: Vec<String>) -> String {
    let mut it = parts.into_iter();
    let head = it.next().unwrap_or_default();
    let rest: Vec<String> = it.collect();
    if rest.is_empty() {
        return head;
    }
    clip(
        format!("{head}: "),
        rest.join("; ").split(", ").map(str::to_owned),
    )
}

/// `head` followed by `items` joined with `, `, as many as fit in
/// [`MAX_VERDICT_LINE`] characters, then `… and N more (see --format json)`.
fn clip(head: String, items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let mut out = head;
    // " … and 65535 more (see --format json)" fits in this.
    let tail_room = 40;
    for (i, item) in items.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        if out.chars().count() + sep.len() + item.chars().count() + tail_room > MAX_VERDICT_LINE
            && i + 1 < items.len()
            || out.chars().count() + sep.len() + item.chars().count() > MAX_VERDICT_LINE
        {
            out.push_str(&format!(
                " … and {} more (see --format json)",
                items.len() - i
            ));
            return out;
        }
        out.push_str(sep);
        out.push_str(item);
    }
    out
}

/// Builds a [`CheckSummary`] as findings pass by; keeps counts, not findings.
#[derive(Debug, Default)]
pub(crate) struct VerdictTally {
    role_check: bool,
    states: StateCounts,
    expected: u64,
    expected_listening: u64,
    expected_unconfirmed: u64,
    unmet: Vec<Unmet>,
    unconfirmed: Vec<Unmet>,
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

impl VerdictTally {
    pub(crate) fn new(role_check: bool, host_count: u64) -> Self {
        VerdictTally {
            role_check,
            host_count,
            ..VerdictTally::default()
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
        let need = c.label.need;
        let expected = need.is_expected();
        let verdict = PortVerdict::of(f.state);
        let entry = || Unmet {
            host: f.host.to_string(),
            address: f.address,
            port: f.port,
            transport: f.transport,
            state: f.state,
            need,
            protocols: c.label.protocols.clone(),
            services: c.label.service_names(),
            roles: c.label.roles.clone(),
            rpc_interfaces: c.label.rpc_interfaces.clone(),
            label: c.label.text.clone(),
        };
        if expected {
            self.expected += 1;
            match verdict {
                PortVerdict::Met => self.expected_listening += 1,
                PortVerdict::Unmet if self.unmet.len() < MAX_UNMET => self.unmet.push(entry()),
                PortVerdict::Unconfirmed => self.expected_unconfirmed += 1,
                PortVerdict::Unmet => {}
            }
        }
        // Optional ports are never failures, but one that cannot be proven is said.
        if verdict == PortVerdict::Unconfirmed
            && (expected || need == Need::Optional)
            && self.unconfirmed.len() < MAX_UNMET
        {
            self.unconfirmed.push(entry());
        }
        let key = (f.address, Arc::clone(&f.host));
        let known = self.hosts.len();
        let host = match self.hosts.get_mut(&key) {
            Some(e) => Some(e),
            None if known < MAX_HOST_SUMMARIES => {
                Some(self.hosts.entry(key).or_insert_with(|| HostSummary {
                    host: Arc::clone(&f.host),
                    address: f.address,
                    states: StateCounts::default(),
                    expected: 0,
                    expected_listening: 0,
                    expected_unconfirmed: 0,
                    unreachable: false,
                    unreachable_reason: None,
                }))
            }
            None => None,
        };
        if let Some(h) = host {
            h.states.add(f.state);
            if expected {
                h.expected += 1;
                h.expected_listening += u64::from(verdict == PortVerdict::Met);
                h.expected_unconfirmed += u64::from(verdict == PortVerdict::Unconfirmed);
            }
            if h.unreachable_reason.is_none() {
                h.unreachable_reason = f.host_unreachable().map(str::to_owned);
            }
        }
    }

    pub(crate) fn note(&mut self, n: Note) {
        self.notes.push(n);
    }

    pub(crate) fn pass(&mut self, s: &EngineSummary) {
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
        self.unconfirmed.sort_by(|a, b| {
            (&a.host, a.address, a.transport, a.port).cmp(&(
                &b.host,
                b.address,
                b.transport,
                b.port,
            ))
        });
        let mut hosts: Vec<HostSummary> = self.hosts.into_values().collect();
        hosts.sort_by(|a, b| (&a.host, a.address).cmp(&(&b.host, b.address)));
        // A host the network said cannot be reached, where nothing answered: said once.
        for h in &mut hosts {
            let answered = h.states.listening + h.states.not_listening > 0;
            if let (false, Some(reason)) = (answered, &h.unreachable_reason) {
                h.unreachable = true;
                self.notes.push(Note::HostUnreachable {
                    host: h.host.to_string(),
                    address: h.address,
                    reason: reason.clone(),
                    ports: h.states.total(),
                });
            }
        }
        let mut summary = CheckSummary {
            role_check: self.role_check,
            states: self.states,
            expected: self.expected,
            expected_listening: self.expected_listening,
            expected_unconfirmed: self.expected_unconfirmed,
            unmet: self.unmet,
            unconfirmed: self.unconfirmed,
            outcome: Outcome::Passed,
            hosts,
            host_count: self.host_count,
            notes: self.notes,
            planned: self.planned,
            completed: self.completed,
            local_failures: self.local_failures,
            failures: self.failures,
            elapsed,
            interrupted: self.aborted,
            discovery: self.srv.map(SrvTracker::finish),
        };
        summary.outcome = summary.outcome(Strictness::Expected);
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmet(port: u16, state: PortState) -> Unmet {
        Unmet {
            host: "dc01.corp.example.test".into(),
            address: "10.0.0.5".parse().unwrap(),
            port,
            transport: Transport::Tcp,
            state,
            need: Need::Required,
            protocols: vec!["RPC"],
            services: vec!["Active Directory (local security authority)"],
            roles: vec!["domain-controller"],
            rpc_interfaces: Vec::new(),
            label: "LSASS, Group Policy, Netlogon".into(),
        }
    }

    /// Issue 21: a verdict line of 1,600 characters; it stays at 300 at most, however
    /// many ports fail, and says how many it left out.
    #[test]
    fn verdict_lines_stay_short() {
        for n in [1u16, 5, 40, 2000] {
            let list: Vec<Unmet> = (0..n)
                .map(|i| {
                    let state = if i % 2 == 0 {
                        PortState::NotListening
                    } else {
                        PortState::Filtered
                    };
                    unmet(1000 + i, state)
                })
                .collect();
            let s = CheckSummary {
                role_check: true,
                states: StateCounts::default(),
                expected: u64::from(n) + 10,
                expected_listening: 10,
                expected_unconfirmed: 0,
                unmet: list,
                unconfirmed: Vec::new(),
                outcome: Outcome::Failed,
                hosts: vec![HostSummary {
                    host: Arc::from("dc01.corp.example.test"),
                    address: "10.0.0.5".parse().unwrap(),
                    states: StateCounts::default(),
                    expected: u64::from(n) + 10,
                    expected_listening: 10,
                    expected_unconfirmed: 0,
                    unreachable: false,
                    unreachable_reason: None,
                }],
                host_count: 1,
                notes: Vec::new(),
                planned: 0,
                completed: 0,
                local_failures: 0,
                failures: Vec::new(),
                elapsed: Duration::ZERO,
                interrupted: false,
                discovery: None,
            };
            let lines = s.verdict_lines();
            assert_eq!(lines.len(), 1, "{lines:?}");
            let line = &lines[0];
            assert!(line.chars().count() <= MAX_VERDICT_LINE, "{n}: {line}");
            assert!(
                line.starts_with(&format!("{n} of {} required ports not reachable", n + 10)),
                "{line}"
            );
            if n >= 40 {
                assert!(line.contains("more (see --format json)"), "{line}");
            } else {
                assert!(line.contains("not listening 1000/tcp"), "{line}");
            }
        }
    }

    /// A required UDP port no probe can prove is said, and is no failure.
    #[test]
    fn unconfirmed_required_ports_are_said_not_failed() {
        let mut u = unmet(1812, PortState::ListeningOrFiltered);
        u.transport = Transport::Udp;
        u.label = "IAS".into();
        let s = CheckSummary {
            role_check: true,
            states: StateCounts::default(),
            expected: 2,
            expected_listening: 1,
            expected_unconfirmed: 1,
            unmet: Vec::new(),
            unconfirmed: vec![u],
            outcome: Outcome::Passed,
            hosts: vec![HostSummary {
                host: Arc::from("dc01.corp.example.test"),
                address: "10.0.0.5".parse().unwrap(),
                states: StateCounts::default(),
                expected: 2,
                expected_listening: 1,
                expected_unconfirmed: 1,
                unreachable: false,
                unreachable_reason: None,
            }],
            host_count: 1,
            notes: Vec::new(),
            planned: 2,
            completed: 2,
            local_failures: 0,
            failures: Vec::new(),
            elapsed: Duration::ZERO,
            interrupted: false,
            discovery: None,
        };
        assert_eq!(s.outcome(Strictness::Expected), Outcome::Passed);
        assert_eq!(
            s.verdict_lines(),
            vec![
                "no required port unmet on dc01.corp.example.test (10.0.0.5): 1 listening, 1 unconfirmed: unconfirmed 1812/udp IAS"
            ]
        );
    }

    /// A host where no probe got any answer is told what FILTERED means; a host that
    /// refused one port (it is up, and answers) is not.
    #[test]
    fn a_silent_host_gets_the_filtered_hint_and_an_answering_one_does_not() {
        let host = |name: &str, filtered: u64, not_listening: u64| HostSummary {
            host: Arc::from(name),
            address: "10.0.0.5".parse().unwrap(),
            states: StateCounts {
                filtered,
                not_listening,
                ..StateCounts::default()
            },
            expected: 0,
            expected_listening: 0,
            expected_unconfirmed: 0,
            unreachable: false,
            unreachable_reason: None,
        };
        let mut s = CheckSummary {
            role_check: true,
            states: StateCounts::default(),
            expected: 0,
            expected_listening: 0,
            expected_unconfirmed: 0,
            unmet: Vec::new(),
            unconfirmed: Vec::new(),
            outcome: Outcome::Passed,
            hosts: vec![
                host("silent.example.test", 3, 0),
                host("up.example.test", 2, 1),
            ],
            host_count: 2,
            notes: Vec::new(),
            planned: 6,
            completed: 6,
            local_failures: 0,
            failures: Vec::new(),
            elapsed: Duration::ZERO,
            interrupted: false,
            discovery: None,
        };
        let hint = s.silent_hosts_hint().expect("a hint");
        assert!(
            hint.starts_with("nothing answered on silent.example.test (10.0.0.5): FILTERED means"),
            "{hint}"
        );
        assert!(!hint.contains("up.example.test"), "{hint}");
        assert!(s.verdict_lines().contains(&hint));
        // Many hosts, short or long names, one name longer than the line: always one
        // line within the limit.
        for name in [
            "h{}.example.test",
            "a-rather-long-host-name-{}.branch-office.corp.example.test",
        ] {
            s.hosts = (0..40)
                .map(|i| host(&name.replace("{}", &i.to_string()), 1, 0))
                .collect();
            let hint = s.silent_hosts_hint().expect("a hint");
            assert!(hint.contains(" and "), "{hint}");
            assert!(
                hint.chars().count() <= MAX_VERDICT_LINE,
                "{} > {MAX_VERDICT_LINE}: {hint}",
                hint.chars().count()
            );
        }
        s.hosts = vec![host(&"x".repeat(400), 1, 0)];
        let hint = s.silent_hosts_hint().expect("a hint");
        assert!(hint.chars().count() <= MAX_VERDICT_LINE, "{hint}");
        s.hosts = vec![host("up.example.test", 2, 1)];
        assert_eq!(s.silent_hosts_hint(), None);
    }
}
