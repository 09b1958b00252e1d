//! The whole check, as every front end runs it: "what does role X (services Y, ports
//! Z) need on these hosts, and is it so?"
//!
//! roles, services and port specs → a labelled [`CheckPlan`] (pure: the catalogue is
//! consulted once, every port knows its services, roles and directions) → the first
//! pass → the follow-up pass (each host's RPC dynamic ports, found through its endpoint
//! mapper; the Kerberos ports once the host has named its domain) → labelled findings
//! ([`Checked`]) as they arrive → a verdict ([`CheckSummary`]).
//!
//! `portq check`, the console's "Check a host", `portq rpc --check` and the Prometheus
//! exporter all run this, so one question gets one answer everywhere.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portq_probe::pipeline::{CheckBuilder, Event};
//!
//! let plan = CheckBuilder::new()
//!     .target("dc01.example.test")
//!     .role("domain-controller")
//!     .plan()?;
//! let mut run = plan.start().await?;
//! while let Some(event) = run.next().await {
//!     if let Event::Finding(c) = event {
//!         println!("{}/{} {} {}", c.finding.port, c.finding.transport, c.finding.state, c.label.text);
//!     }
//! }
//! let summary = run.finish().await;
//! for line in summary.verdict_lines() {
//!     println!("{line}");
//! }
//! # Ok(()) }
//! ```
//!
//! With no targets, the domain controllers come from DNS: [`CheckBuilder::discover`]
//! takes a [`DcLocator`]; [`CheckPlan::start`] asks the DC locator's SRV records, checks
//! every controller found, and reports each record (present, missing, pointing to a host
//! that does not answer) in [`Event::Discovery`] and [`CheckSummary::discovery`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portq_probe::discovery::DcLocator;
//! use portq_probe::pipeline::CheckBuilder;
//!
//! let locator = DcLocator::new("example.test")?.with_dns_server("10.200.0.2:53".parse()?);
//! let report = CheckBuilder::new()
//!     .discover(locator)
//!     .role("domain-controller")
//!     .plan()?
//!     .run()
//!     .await?;
//! for line in report.summary.verdict_lines() {
//!     println!("{line}");
//! }
//! # Ok(()) }
//! ```

mod label;
mod plan;
mod run;
mod summary;

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;

pub use label::{Need, PortLabel, ServiceTag};
pub use plan::{CheckPlan, DynamicRange, SkippedRange};
pub use run::{CheckReport, PipelineProgress, PipelineRun, Registrations, check_registered};
pub use summary::{
    AddressState, CheckSummary, DiscoveryReport, HostSummary, MAX_HOST_SUMMARIES, MAX_UNMET,
    MAX_VERDICT_LINE, Note, Outcome, PortVerdict, SrvCheck, SrvVerdict, StateCounts, Strictness,
    Unmet,
};

use crate::discovery::{DcLocator, Discovery, DiscoveryError};
use crate::engine::CheckOptions;
use crate::finding::Finding;
use crate::portspec::PortSpecError;
use crate::target::{ResolvedTargets, TargetError};
use portq_catalog::roles::RoleError;

/// A finding with what its port means for this check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// What the port did and what answered.
    pub finding: Finding,
    /// The services, roles and need behind the port (shared by every finding on it).
    pub label: Arc<PortLabel>,
}

impl Checked {
    /// Puts labelled findings in the one order every output uses: by host, address,
    /// protocol, port (the order of [`Finding::sort_key`]).
    pub fn sort(all: &mut [Checked]) {
        all.sort_by(|a, b| a.finding.sort_key().cmp(&b.finding.sort_key()));
    }
}

/// What a running check yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// One port of one host, labelled.
    Finding(Box<Checked>),
    /// Something said besides findings (an endpoint mapper that did not answer, ...).
    Note(Note),
    /// What DNS discovery found (first, before any finding, when the targets came
    /// from the DC locator records).
    Discovery(Arc<Discovery>),
}

/// Whether application probes (LDAP, SMB, HTTP, ...) run after a TCP connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AppProbes {
    /// On for role and service checks, off for port sweeps.
    #[default]
    Auto,
    /// Always.
    On,
    /// Never (connect checks only; UDP still speaks each port's protocol).
    Off,
}

/// Whether a role's RPC dynamic range is followed up through the endpoint mapper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RpcFollowUp {
    /// Ask each host's endpoint mapper and check the ports it lists.
    #[default]
    Auto,
    /// Leave the dynamic range out.
    Off,
}

/// Whether targets may come from `@file` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TargetFiles {
    /// Read them (the CLI).
    #[default]
    Allowed,
    /// Refuse them (a web console must not read the server's files).
    Refused,
}

/// Whether more than 65,536 target addresses are accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LargeTargets {
    /// Refused (the default).
    #[default]
    Refused,
    /// Accepted (the CLI's `--yes`).
    Allowed,
}

/// Which resolved addresses a check may send to (a console or exporter reachable from
/// the network checks only the networks its operator allowed).
#[derive(Clone)]
pub struct AddressPolicy(Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

impl AddressPolicy {
    /// A policy that allows an address when `allow` says so.
    pub fn new(allow: impl Fn(IpAddr) -> bool + Send + Sync + 'static) -> Self {
        AddressPolicy(Arc::new(allow))
    }

    /// True when the address may be checked.
    pub fn allows(&self, address: IpAddr) -> bool {
        (self.0)(address)
    }
}

impl std::fmt::Debug for AddressPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressPolicy(..)")
    }
}

/// How the pipeline runs. Build with [`PipelineOptions::default`] and the `with_`
/// methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// Timeouts, retries, concurrency, limits, SNMP community, domain, probe overrides.
    /// `app_probes` is set from [`PipelineOptions::app_probes`].
    pub engine: CheckOptions,
    /// Application probes.
    pub app_probes: AppProbes,
    /// The endpoint-mapper follow-up.
    pub rpc_follow_up: RpcFollowUp,
    /// `@file` targets.
    pub target_files: TargetFiles,
    /// More than 65,536 addresses.
    pub large_target_sets: LargeTargets,
    /// Addresses allowed after names are looked up (`None`: all).
    pub address_policy: Option<AddressPolicy>,
    /// The endpoint mapper's TCP port (135; another only for a mapper moved elsewhere
    /// or a test's fake).
    pub epm_port: u16,
    /// The whole run's time, from [`CheckPlan::start`] (names looked up, discovery) to
    /// the verdict; `None`: no limit. See [`PipelineOptions::with_deadline`].
    pub deadline: Option<std::time::Duration>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            engine: CheckOptions::default(),
            app_probes: AppProbes::default(),
            rpc_follow_up: RpcFollowUp::default(),
            target_files: TargetFiles::default(),
            large_target_sets: LargeTargets::default(),
            address_policy: None,
            epm_port: 135,
            deadline: None,
        }
    }
}

impl PipelineOptions {
    /// Sets the engine options.
    pub fn with_engine(mut self, engine: CheckOptions) -> Self {
        self.engine = engine;
        self
    }

    /// Sets when application probes run.
    pub fn with_app_probes(mut self, p: AppProbes) -> Self {
        self.app_probes = p;
        self
    }

    /// Sets the endpoint-mapper follow-up.
    pub fn with_rpc_follow_up(mut self, f: RpcFollowUp) -> Self {
        self.rpc_follow_up = f;
        self
    }

    /// Allows or refuses `@file` targets.
    pub fn with_target_files(mut self, t: TargetFiles) -> Self {
        self.target_files = t;
        self
    }

    /// Allows or refuses more than 65,536 addresses.
    pub fn with_large_target_sets(mut self, l: LargeTargets) -> Self {
        self.large_target_sets = l;
        self
    }

    /// Restricts the addresses checked.
    pub fn with_address_policy(mut self, p: AddressPolicy) -> Self {
        self.address_policy = Some(p);
        self
    }

    /// Bounds the whole run (the console's 10 minutes, a Prometheus scrape's timeout). At
    /// the deadline the probes in flight are dropped and the verdict so far is marked
    /// interrupted (never a pass); a deadline that passes while names are looked up is
    /// [`StartError::Deadline`]. The engine's waits are fitted into it when the plan is
    /// made: each attempt at most a third of it shared over the attempts (the first pass,
    /// the follow-up and the probes all fit), each application probe at most a third.
    pub fn with_deadline(mut self, d: std::time::Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Asks the endpoint mapper on another TCP port than 135.
    pub fn with_epm_port(mut self, port: u16) -> Self {
        self.epm_port = port;
        self
    }
}

/// Why a check could not be planned (nothing was sent).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A target could not be parsed (or there are too many addresses).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A port specification could not be parsed.
    #[error(transparent)]
    Ports(#[from] PortSpecError),
    /// A role (or role option) is unknown.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// No catalogue service has that name.
    #[error("unknown service '{name}'{}", suggestion.map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_else(|| " (see `portq services`)".to_owned()))]
    UnknownService {
        /// The name given.
        name: String,
        /// The closest service name, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A port number where a service name was expected.
    #[error("a service name was expected, not a port: '{name}'")]
    NotAServiceName {
        /// The text given.
        name: String,
    },
    /// Neither ports, roles nor services were given.
    #[error("give ports with -p, or --role / --service")]
    NothingToCheck,
    /// The roles and services have no port that can be checked (only ICMP, GRE, ...).
    #[error("the roles and services given have no TCP or UDP port to check")]
    NoPorts,
    /// Targets were given and discovery asked for: the targets would be ignored.
    #[error("give targets or discover them from the domain, not both")]
    TargetsAndDiscovery,
    /// `@file` targets are refused here.
    #[error("target files are not accepted here: '{target}'")]
    TargetFileRefused {
        /// The target given.
        target: String,
    },
}

/// Why a planned check could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StartError {
    /// A name did not resolve.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// DNS discovery could not run (its resolver could not be set up).
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// An address is outside what the [`AddressPolicy`] allows.
    #[error("{host} ({address}) is outside the networks this check may reach")]
    AddressRefused {
        /// Host as given.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The deadline passed before the targets were looked up.
    #[error("the deadline passed while the targets were looked up")]
    Deadline,
}

/// Collects a check request and validates it into a [`CheckPlan`] in one place.
#[derive(Debug, Clone, Default)]
pub struct CheckBuilder {
    targets: Vec<String>,
    roles: Vec<String>,
    services: Vec<String>,
    ports: Vec<String>,
    rpc_ranges: Vec<portq_catalog::PortRange>,
    discovery: Option<DcLocator>,
    options: PipelineOptions,
}

impl CheckBuilder {
    /// An empty request.
    pub fn new() -> Self {
        CheckBuilder::default()
    }

    /// Adds a target: a name, an address, a CIDR block, a range, or `@file`.
    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.targets.push(t.into());
        self
    }

    /// Adds targets.
    pub fn targets<I, S>(mut self, ts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.targets.extend(ts.into_iter().map(Into::into));
        self
    }

    /// Adds a role (`domain-controller`, `dc:no-gc`).
    pub fn role(mut self, r: impl Into<String>) -> Self {
        self.roles.push(r.into());
        self
    }

    /// Adds roles.
    pub fn roles<I, S>(mut self, rs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles.extend(rs.into_iter().map(Into::into));
        self
    }

    /// Adds a catalogue service (short name, id, friendly name or alias).
    pub fn service(mut self, s: impl Into<String>) -> Self {
        self.services.push(s.into());
        self
    }

    /// Adds services.
    pub fn services<I, S>(mut self, ss: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.services.extend(ss.into_iter().map(Into::into));
        self
    }

    /// Adds a port specification (`53,88,135`, `tcp:1-1024,udp:53`, `all`).
    pub fn ports(mut self, spec: impl Into<String>) -> Self {
        self.ports.push(spec.into());
        self
    }

    /// Also checks the TCP ports the hosts' endpoint mappers list inside this range
    /// (as a role's RPC dynamic range is checked).
    pub fn rpc_range(mut self, range: portq_catalog::PortRange) -> Self {
        self.rpc_ranges.push(range);
        self
    }

    /// Finds the targets in DNS when the check starts: the domain controllers the DC
    /// locator's SRV records name (give no target then). The domain is also the
    /// Kerberos realm and CLDAP domain asked, unless the engine options name one.
    pub fn discover(mut self, locator: DcLocator) -> Self {
        self.discovery = Some(locator);
        self
    }

    /// Sets the options.
    pub fn options(mut self, o: PipelineOptions) -> Self {
        self.options = o;
        self
    }

    /// Validates everything (targets, roles, services, ports) and plans the check.
    /// Sends nothing and looks no name up.
    pub fn plan(self) -> Result<CheckPlan, PlanError> {
        plan::build(plan::Request {
            targets: &self.targets,
            roles: &self.roles,
            services: &self.services,
            ports: &self.ports,
            rpc_ranges: &self.rpc_ranges,
            discovery: self.discovery,
            options: self.options,
        })
    }
}

impl CheckPlan {
    /// Looks the names up (or, for a discovery plan, asks DNS for the domain
    /// controllers), applies the address policy, and starts the check in the background
    /// of the current tokio runtime.
    pub async fn start(&self) -> Result<PipelineRun, StartError> {
        let deadline = self
            .options
            .deadline
            .map(|d| tokio::time::Instant::now() + d);
        let look_up = async {
            if let Some(locator) = &self.discovery {
                let found = crate::discovery::discover(locator).await?;
                let targets = ResolvedTargets::from_targets(found.targets());
                return Ok::<_, StartError>((targets, Some(Arc::new(found))));
            }
            Ok((self.targets().resolve().await?, None))
        };
        let (targets, found) = match deadline {
            Some(at) => tokio::time::timeout_at(at, look_up)
                .await
                .map_err(|_| StartError::Deadline)??,
            None => look_up.await?,
        };
        self.allowed(&targets)?;
        Ok(run::launch(self, targets, found, deadline))
    }

    /// Starts the check on targets already looked up (the policy still applies; the
    /// deadline counts from here).
    pub fn start_resolved(&self, targets: ResolvedTargets) -> Result<PipelineRun, StartError> {
        self.allowed(&targets)?;
        let deadline = self
            .options
            .deadline
            .map(|d| tokio::time::Instant::now() + d);
        Ok(run::launch(self, targets, None, deadline))
    }

    /// Refuses targets outside the address policy.
    fn allowed(&self, targets: &ResolvedTargets) -> Result<(), StartError> {
        if let Some(policy) = &self.options.address_policy
            && let Some(t) = targets.iter().find(|t| !policy.allows(t.address))
        {
            return Err(StartError::AddressRefused {
                host: t.host,
                address: t.address,
            });
        }
        Ok(())
    }

    /// Runs the check to the end: every finding (sorted) and the verdict.
    pub async fn run(&self) -> Result<CheckReport, StartError> {
        Ok(self.start().await?.collect().await)
    }
}

/// Serializable view of a label for front ends that stream findings as JSON.
#[derive(Debug, Serialize)]
pub struct LabelView<'a> {
    /// The one-line label (`service` in portq's JSON).
    pub service: &'a str,
    /// Service ids.
    pub services: ServiceIds<'a>,
    /// Role ids.
    pub roles: &'a [&'static str],
    /// Why the port is checked.
    pub need: Need,
    /// Interfaces of a registered RPC port.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub rpc_interfaces: &'a [String],
}

/// The ids of a label's services, serialised as a list without collecting them first
/// (one JSON line per finding allocates nothing for its label).
#[derive(Debug, Clone, Copy)]
pub struct ServiceIds<'a>(pub &'a [ServiceTag]);

impl Serialize for ServiceIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| t.id))
    }
}

impl<'a> From<&'a PortLabel> for LabelView<'a> {
    fn from(l: &'a PortLabel) -> Self {
        LabelView {
            service: &l.text,
            services: ServiceIds(&l.services),
            roles: &l.roles,
            need: l.need,
            rpc_interfaces: &l.rpc_interfaces,
        }
    }
}
