//! From a question ("what role X needs on host Y", services, port specs) to a labelled
//! plan. Pure: nothing is sent and no name is looked up; the catalogue is consulted
//! here, once, and every planned port carries its [`PortLabel`].

use std::collections::BTreeMap;
use std::sync::Arc;

use portq_catalog::roles::{self, RoleEntry, RoleSelection};
use portq_catalog::{Direction, PortRange, Qualifier, Query, Requirement, Transport};

use super::label::{Need, PortLabel};
use super::{PipelineOptions, PlanError};
use crate::discovery::DcLocator;
use crate::engine::{CheckOptions, EnginePlan, PlannedCheck};
use crate::portspec::PortSpec;
use crate::target::{TargetLimits, TargetSet};

/// A role's RPC dynamic range: not swept; the host's endpoint mapper is asked which of
/// its ports are registered, and those are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicRange {
    /// The range (TCP).
    pub range: PortRange,
    /// Who needs it: the services and roles of the requirements that name it.
    pub label: Arc<PortLabel>,
}

/// A range of the request that is neither checked port by port nor through the endpoint
/// mapper (ISA/TMG client ranges, FTP passive data): said, not swept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRange {
    /// Transport of the range.
    pub transport: Transport,
    /// The range.
    pub range: PortRange,
    /// Who names it.
    pub label: Arc<PortLabel>,
}

/// A validated, labelled check: targets × ports, the label of every port, the RPC
/// dynamic ranges to ask the endpoint mapper about, and the options. Made by
/// [`super::CheckBuilder::plan`]; run with [`CheckPlan::start`].
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub(super) plan: EnginePlan,
    pub(super) labels: BTreeMap<(Transport, u16), Arc<PortLabel>>,
    pub(super) requested: Arc<PortLabel>,
    pub(super) dynamic: Vec<DynamicRange>,
    pub(super) skipped: Vec<SkippedRange>,
    pub(super) engine: CheckOptions,
    pub(super) options: PipelineOptions,
    pub(super) role_check: bool,
    pub(super) discovery: Option<DcLocator>,
}

impl CheckPlan {
    /// The DC locator the targets come from when the check starts (no target given).
    pub fn discovery(&self) -> Option<&DcLocator> {
        self.discovery.as_ref()
    }

    /// The targets (names not yet looked up; empty for a discovery plan).
    pub fn targets(&self) -> &TargetSet {
        self.plan.targets()
    }

    /// The ports of the first pass (the RPC dynamic ports come later, per host).
    pub fn ports(&self) -> &PortSpec {
        self.plan.ports()
    }

    /// Checks of the first pass: addresses × ports (a name counts as one address).
    pub fn total(&self) -> u64 {
        self.plan.total()
    }

    /// The label of a port of the first pass.
    pub fn label(&self, transport: Transport, port: u16) -> &Arc<PortLabel> {
        self.labels
            .get(&(transport, port))
            .unwrap_or(&self.requested)
    }

    /// The RPC dynamic ranges the endpoint mapper is asked about.
    pub fn dynamic_ranges(&self) -> &[DynamicRange] {
        &self.dynamic
    }

    /// Ranges of the request that are not checked.
    pub fn skipped_ranges(&self) -> &[SkippedRange] {
        &self.skipped
    }

    /// True when roles or services were asked for (their ports are required).
    pub fn is_role_check(&self) -> bool {
        self.role_check
    }

    /// The engine options every pass runs with.
    pub fn engine_options(&self) -> &CheckOptions {
        &self.engine
    }

    /// The options of the pipeline.
    pub fn options(&self) -> &PipelineOptions {
        &self.options
    }

    /// Every check of the first pass, lazily, with its probe (for `--dry-run`).
    pub fn entries(&self) -> impl Iterator<Item = PlannedCheck> + '_ {
        self.plan.entries(&self.engine)
    }
}

/// What the builder collected, validated into a plan.
pub(super) struct Request<'a> {
    pub targets: &'a [String],
    pub roles: &'a [String],
    pub services: &'a [String],
    pub ports: &'a [String],
    pub rpc_ranges: &'a [PortRange],
    pub discovery: Option<DcLocator>,
    pub options: PipelineOptions,
}

/// One thing that needs a port: a requirement, with the roles and directions that want it.
struct Wanted {
    requirement: &'static Requirement,
    roles: Vec<&'static str>,
    directions: Vec<Direction>,
    /// Needed only in some set-ups ([`RoleEntry::optional`]).
    optional: bool,
}

pub(super) fn build(req: Request<'_>) -> Result<CheckPlan, PlanError> {
    let selections: Vec<RoleSelection> = req
        .roles
        .iter()
        .map(|r| roles::parse_selection(r))
        .collect::<Result<_, _>>()?;
    let mut wanted: Vec<Wanted> = roles::expand(&selections)
        .into_iter()
        .map(|e: RoleEntry| Wanted {
            requirement: e.requirement,
            roles: e.roles,
            directions: e.directions,
            optional: e.optional,
        })
        .collect();
    for name in req.services {
        wanted.extend(service_requirements(name)?.map(|requirement| Wanted {
            requirement,
            roles: Vec::new(),
            directions: Vec::new(),
            optional: requirement.has(Qualifier::Optional),
        }));
    }
    let role_check = !wanted.is_empty();

    let mut requested = PortSpec::default();
    for p in req.ports {
        requested.merge(&PortSpec::parse(p)?);
    }

    let mut required: BTreeMap<(Transport, u16), PortLabel> = BTreeMap::new();
    let mut dynamic: BTreeMap<PortRange, PortLabel> = BTreeMap::new();
    let mut skipped: BTreeMap<(Transport, PortRange), PortLabel> = BTreeMap::new();
    for w in &wanted {
        let r = w.requirement;
        let Some(range) = r.ports else { continue };
        if !r.transport.has_ports() {
            continue;
        }
        // A port is optional only when everything that wants it wants it optionally.
        let need = if w.optional {
            Need::Optional
        } else {
            Need::Required
        };
        let label = if r.has(Qualifier::RpcDynamic) && r.transport == Transport::Tcp {
            dynamic
                .entry(range)
                .or_insert_with(|| PortLabel::unknown(need))
        } else if range.start != range.end {
            skipped
                .entry((r.transport, range))
                .or_insert_with(|| PortLabel::unknown(need))
        } else {
            required
                .entry((r.transport, range.start))
                .or_insert_with(|| PortLabel::unknown(need))
        };
        if need == Need::Required {
            label.need = Need::Required;
        }
        label.add_service(r.service());
        label.add_protocol(r.application_protocol);
        label.add_roles(&w.roles, &w.directions);
    }
    for r in req.rpc_ranges {
        dynamic
            .entry(*r)
            .or_insert_with(|| PortLabel::unknown(Need::Registered));
    }
    // The endpoint mapper is asked for the dynamic ports, so 135 is always checked with them.
    let follow_up = req.options.rpc_follow_up == super::RpcFollowUp::Auto && !dynamic.is_empty();
    let epm = req.options.epm_port;
    if epm == 0 {
        return Err(PlanError::Ports(crate::portspec::PortSpecError::PortZero {
            item: "endpoint mapper port 0".to_owned(),
        }));
    }
    if follow_up && !required.contains_key(&(Transport::Tcp, epm)) {
        let mut l = PortLabel::unknown(Need::Required);
        if let Some(rpcss) = portq_catalog::services().iter().find(|s| s.id == "rpcss") {
            l.add_service(rpcss);
        }
        required.insert((Transport::Tcp, epm), l);
    }

    let mut ports = requested.clone();
    let required_spec = PortSpec::from_ports(required.keys().copied())?;
    ports.merge(&required_spec);
    if ports.is_empty() {
        return Err(if role_check {
            PlanError::NoPorts
        } else {
            PlanError::NothingToCheck
        });
    }

    // Ports asked for by number get the catalogue's services for that exact port:
    // one pass over the catalogue, not one search per finding.
    let mut labels: BTreeMap<(Transport, u16), PortLabel> = BTreeMap::new();
    for r in portq_catalog::requirements() {
        let Some(range) = r.ports else { continue };
        if range.start != range.end
            || !r.transport.has_ports()
            || !requested.contains(r.transport, range.start)
            || required.contains_key(&(r.transport, range.start))
        {
            continue;
        }
        labels
            .entry((r.transport, range.start))
            .or_insert_with(|| PortLabel::unknown(Need::Requested));
        if let Some(l) = labels.get_mut(&(r.transport, range.start)) {
            l.add_service(r.service());
            l.add_protocol(r.application_protocol);
        }
    }
    labels.extend(required);

    let limits = TargetLimits {
        allow_large: req.options.large_target_sets == super::LargeTargets::Allowed,
        ..TargetLimits::default()
    };
    if req.options.target_files == super::TargetFiles::Refused
        && let Some(t) = req.targets.iter().find(|t| t.trim().starts_with('@'))
    {
        return Err(PlanError::TargetFileRefused { target: t.clone() });
    }
    let targets = match &req.discovery {
        Some(_) if !req.targets.is_empty() => return Err(PlanError::TargetsAndDiscovery),
        Some(_) => TargetSet::default(),
        None => TargetSet::parse_with(req.targets, limits)?,
    };

    let mut engine = req.options.engine.clone();
    if let Some(locator) = &req.discovery
        && engine.domain.is_none()
    {
        engine.domain = Some(locator.domain.clone());
    }
    if let Some(budget) = req.options.deadline {
        // Every wait fits in the deadline: the attempts of the first pass, of the
        // follow-up and the probes after a connect (a third each).
        let per_attempt = budget.div_f64(f64::from(engine.attempts.max(1)) * 3.0);
        engine.timeout = engine
            .timeout
            .min(per_attempt)
            .max(std::time::Duration::from_millis(10));
        engine.probe_timeout = engine.probe_timeout.min(budget.div_f64(3.0));
    }
    engine.app_probes = match req.options.app_probes {
        super::AppProbes::Auto => role_check,
        super::AppProbes::On => true,
        super::AppProbes::Off => false,
    };
    Ok(CheckPlan {
        plan: EnginePlan::new(targets, ports),
        labels: labels.into_iter().map(|(k, l)| (k, l.finish())).collect(),
        requested: PortLabel::unknown(Need::Requested).finish(),
        dynamic: if follow_up {
            dynamic
                .into_iter()
                .map(|(range, l)| DynamicRange {
                    range,
                    label: l.finish(),
                })
                .collect()
        } else {
            Vec::new()
        },
        skipped: skipped
            .into_iter()
            .map(|((transport, range), l)| SkippedRange {
                transport,
                range,
                label: l.finish(),
            })
            .collect(),
        engine,
        options: req.options,
        role_check,
        discovery: req.discovery,
    })
}

/// The requirements of a service named by short name, id, friendly name or alias.
fn service_requirements(
    name: &str,
) -> Result<impl Iterator<Item = &'static Requirement>, PlanError> {
    let text = match Query::parse(name) {
        Ok(Query::Text(text)) => text,
        _ => {
            return Err(PlanError::NotAServiceName {
                name: name.to_owned(),
            });
        }
    };
    // As for roles: a superseded fact (WinRM 1.1's 80/443) or a connection the service
    // opens elsewhere (outbound) is no port it listens on.
    let named: Vec<&'static portq_catalog::Service> = portq_catalog::services()
        .iter()
        .filter(|s| s.is_named(&text))
        .collect();
    let found: Vec<&'static Requirement> = named
        .iter()
        .flat_map(|s| s.requirements())
        .filter(|r| !r.has(Qualifier::Outbound) && r.disagreement.is_none_or(|d| d.current))
        .collect();
    if named.is_empty() {
        return Err(PlanError::UnknownService {
            name: name.to_owned(),
            suggestion: portq_catalog::closest_service_name(&text),
        });
    }
    Ok(found.into_iter())
}
