//! From role requirements to a deduplicated list of firewall rules.

use crate::RulesError;
use crate::addr::{aggregate, covers};
use crate::static_port::{StaticPort, check_distinct};
use crate::windows;
use ipnet::IpNet;
use portq_catalog::roles::RoleEntry;
use portq_catalog::{Direction, PortRange, Qualifier, Transport};
use serde::Serialize;
use std::collections::BTreeMap;

/// Smallest RPC range accepted for rules (KB 154596 asks for about 100 ports at least).
pub const MIN_RPC_RANGE: u32 = 100;

/// How the user narrowed where RPC services listen, and who may connect.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    /// Sources allowed for client traffic. Empty is refused ([`RulesError::NoSources`])
    /// unless [`RuleOptions::any_source`] says every address.
    pub from: Vec<IpNet>,
    /// The user asked for every source (`--from any`): an empty `from` then means any.
    pub any_source: bool,
    /// Sources for traffic from other servers of the role; defaults to `from`.
    pub peers: Option<Vec<IpNet>>,
    /// Sources for management traffic; defaults to `from`.
    pub management: Option<Vec<IpNet>>,
    /// The RPC dynamic range the servers are configured with (`--rpc-range`).
    pub rpc_range: Option<PortRange>,
    /// Services pinned to static RPC ports (`--static-port`).
    pub static_ports: Vec<StaticPort>,
    /// The servers, for a firewall in the path (`--to`); empty: rules for the host itself.
    pub to: Vec<IpNet>,
    /// Do not add the management access rules (SSH, RDP, WinRM) that `management` otherwise opens.
    pub no_management_access: bool,
}

/// Administrative access kept open from `--management` so that rules cannot lock out
/// the people who load them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Admin {
    /// SSH to a Linux host (host-mode Linux formats only).
    Ssh,
    /// RDP and WinRM to Windows servers (Windows formats and network mode).
    Windows,
}

/// What a rule opens, in the terms Windows Firewall uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "ports")]
pub enum PortSet {
    /// Listed ports and ranges.
    Ports(Vec<PortRange>),
    /// The RPC dynamic ports of the scoped program (Windows keyword `RPC`).
    Rpc,
    /// The RPC endpoint mapper (Windows keyword `RPCEPMap`, netsh `RPC-EPMap`).
    RpcEpMap,
    /// ICMP echo request (ping).
    IcmpEcho,
    /// A whole IP protocol with no ports (GRE, ESP, AH).
    IpProtocol,
}

/// One firewall rule, independent of the firewall it is written for.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Fixed, non-localised name with the `portq-` prefix.
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// Catalogue service id (or `rpc-epmap`, `icmp`, `gre`, `esp`, `ah` for shared rules).
    pub service_id: &'static str,
    /// Friendly service name.
    pub service: &'static str,
    /// Every service the rule serves: `service`, then those whose rule it absorbed
    /// (Netlogon's RPC port is lsass.exe's, like NTDS's).
    pub services: Vec<&'static str>,
    /// Transport or IP protocol.
    pub transport: Transport,
    /// The ports a firewall that cannot resolve RPC (Linux, network) must open; empty for ICMP/GRE/ESP/AH.
    pub ports: Vec<PortRange>,
    /// What Windows Firewall opens.
    pub windows: PortSet,
    /// Allowed sources; empty means any.
    pub remote: Vec<IpNet>,
    /// Who connects.
    pub directions: Vec<Direction>,
    /// Roles that need the rule.
    pub roles: Vec<&'static str>,
    /// Windows program the built-in rules scope to, when they do.
    pub program: Option<&'static str>,
    /// Windows service (inside svchost) the built-in rules scope to, when they do.
    pub windows_service: Option<&'static str>,
    /// The servers a firewall in the path protects (`--to`); empty for host rules.
    pub destinations: Vec<IpNet>,
    /// Set on the management access rules `--management` adds, for the platform they fit.
    pub management_access: Option<Admin>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ports,
    Rpc,
    EpMap,
    Icmp,
    IpProto,
}

struct Group {
    service_id: &'static str,
    service: &'static str,
    transport: Transport,
    kind: Kind,
    remote: Vec<IpNet>,
    ports: Vec<PortRange>,
    static_port: Option<u16>,
    directions: Vec<Direction>,
    roles: Vec<&'static str>,
}

/// The sources of a requirement: its directions' option, `--from` by default. Every
/// address (an empty list) only when the user said `--from any`.
fn scope(opts: &RuleOptions, directions: &[Direction]) -> Result<Vec<IpNet>, RulesError> {
    let mut out: Vec<IpNet> = Vec::new();
    for d in directions {
        let s = match d {
            Direction::Clients => &opts.from,
            Direction::Peers => opts.peers.as_ref().unwrap_or(&opts.from),
            Direction::Management => opts.management.as_ref().unwrap_or(&opts.from),
        };
        if s.is_empty() {
            return if opts.any_source {
                Ok(Vec::new())
            } else {
                Err(RulesError::NoSources)
            };
        }
        out.extend(s.iter().copied());
    }
    Ok(aggregate(&out))
}

/// Validates an RPC range for firewall rules.
pub fn check_rpc_range(range: PortRange, min: u32, why: &'static str) -> Result<(), RulesError> {
    if range.start < 1025 {
        return Err(RulesError::RangeTooLow(range.to_string()));
    }
    if range.len() < min {
        return Err(RulesError::RangeTooSmall {
            range: range.to_string(),
            ports: range.len(),
            min,
            why,
        });
    }
    Ok(())
}

/// Merges overlapping and adjacent ranges.
pub fn normalize(mut ports: Vec<PortRange>) -> Vec<PortRange> {
    ports.sort();
    let mut out: Vec<PortRange> = Vec::new();
    for p in ports {
        match out.last_mut() {
            Some(last) if u32::from(p.start) <= u32::from(last.end) + 1 => {
                last.end = last.end.max(p.end);
            }
            _ => out.push(p),
        }
    }
    out
}

/// Turns the union of role requirements into rules: one per service, transport and
/// scope, with the endpoint mapper and ICMP as shared rules, and the RPC dynamic
/// range narrowed by `--rpc-range` and `--static-port`.
pub fn plan(entries: &[RoleEntry], opts: &RuleOptions) -> Result<Vec<Rule>, RulesError> {
    if entries.is_empty() {
        return Err(RulesError::NoRoles);
    }
    check_distinct(&opts.static_ports)?;
    if let Some(r) = opts.rpc_range {
        check_rpc_range(r, MIN_RPC_RANGE, " (KB 154596)")?;
    }
    // A static port must not be a port the roles already use for something else.
    for sp in &opts.static_ports {
        if let Some(e) = entries.iter().find(|e| {
            let r = e.requirement;
            !r.has(Qualifier::RpcDynamic) && r.ports.is_some_and(|p| p.contains(sp.port))
        }) {
            return Err(RulesError::StaticCollision {
                port: sp.port,
                service: sp.service.as_str(),
                other: format!(
                    "{} {} of {}",
                    e.requirement.application_protocol,
                    e.requirement.transport,
                    e.requirement.service().name
                ),
            });
        }
    }

    let mut groups: Vec<Group> = Vec::new();
    let mut index: BTreeMap<(&'static str, Transport, Kind, Vec<IpNet>), usize> = BTreeMap::new();
    for e in entries {
        let r = e.requirement;
        let svc = r.service();
        let (service_id, service, kind) =
            if r.has(Qualifier::RpcEndpointMapper) && r.ports == Some(PortRange::single(135)) {
                ("rpc-epmap", "RPC Endpoint Mapper", Kind::EpMap)
            } else if r.has(Qualifier::RpcDynamic) {
                (svc.id, svc.name, Kind::Rpc)
            } else {
                match r.transport {
                    Transport::Tcp | Transport::Udp => (svc.id, svc.name, Kind::Ports),
                    Transport::Icmp => ("icmp", "ICMP echo request (ping)", Kind::Icmp),
                    Transport::Gre => ("gre", "GRE (IP protocol 47)", Kind::IpProto),
                    Transport::Esp => ("esp", "IPsec ESP (IP protocol 50)", Kind::IpProto),
                    Transport::Ah => ("ah", "IPsec AH (IP protocol 51)", Kind::IpProto),
                }
            };
        let remote = scope(opts, &e.directions)?;
        let key = (service_id, r.transport, kind, remote.clone());
        let gi = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                service_id,
                service,
                transport: r.transport,
                kind,
                remote,
                ports: Vec::new(),
                static_port: None,
                directions: Vec::new(),
                roles: Vec::new(),
            });
            groups.len() - 1
        });
        let g = &mut groups[gi];
        if kind == Kind::Rpc {
            let pinned = opts
                .static_ports
                .iter()
                .find(|sp| sp.service.catalog_service() == svc.id && r.transport == Transport::Tcp);
            match (pinned, opts.rpc_range) {
                (Some(sp), _) => {
                    g.static_port = Some(sp.port);
                    g.ports.push(PortRange::single(sp.port));
                }
                (None, Some(range)) => g.ports.push(range),
                (None, None) => g.ports.extend(r.ports),
            }
        } else {
            g.ports.extend(r.ports);
        }
        for d in &e.directions {
            if !g.directions.contains(d) {
                g.directions.push(*d);
            }
        }
        for role in &e.roles {
            if !g.roles.contains(role) {
                g.roles.push(role);
            }
        }
    }

    // Names: portq-SERVICE-PROTO[-rpc], with the directions added when one service and
    // transport needs rules for several scopes.
    let base = |g: &Group| {
        let suffix = if g.kind == Kind::Rpc { "-rpc" } else { "" };
        match g.kind {
            Kind::Icmp | Kind::IpProto => format!("portq-{}", g.service_id),
            _ => format!("portq-{}-{}{suffix}", g.service_id, g.transport.as_str()),
        }
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for g in &groups {
        *counts.entry(base(g)).or_default() += 1;
    }
    let mut rules = Vec::new();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for mut g in groups {
        g.directions.sort();
        let mut name = base(&g);
        let split = counts.get(&name).copied().unwrap_or(0) > 1;
        if split {
            let dirs: Vec<&str> = g.directions.iter().map(|d| d.as_str()).collect();
            name = format!("{name}-{}", dirs.join("-"));
        }
        let n = used.entry(name.clone()).or_default();
        *n += 1;
        let nth = *n;
        if nth > 1 {
            name = format!("{name}-{nth}");
        }
        // Display names are unique too: the scope is added where one service and
        // transport has several rules.
        let scope_note = if split {
            let dirs: Vec<&str> = g.directions.iter().map(|d| d.as_str()).collect();
            let n = if nth > 1 {
                format!(" {nth}")
            } else {
                String::new()
            };
            format!(" - from {}{n}", dirs.join(", "))
        } else {
            String::new()
        };
        let ports = normalize(g.ports);
        let proto = g.transport.to_string();
        let (windows, display_name, host) = match g.kind {
            Kind::Ports => (
                PortSet::Ports(ports.clone()),
                format!("portq - {} ({proto})", g.service),
                windows::host(g.service_id)
                    .filter(|h| h.service.is_none() || g.transport == Transport::Tcp),
            ),
            Kind::Rpc => match g.static_port {
                Some(p) => (
                    PortSet::Ports(vec![PortRange::single(p)]),
                    format!("portq - {} (static RPC {proto})", g.service),
                    windows::host(g.service_id),
                ),
                None => (
                    PortSet::Rpc,
                    format!("portq - {} (RPC dynamic {proto})", g.service),
                    windows::host(g.service_id),
                ),
            },
            Kind::EpMap => (
                PortSet::RpcEpMap,
                "portq - RPC Endpoint Mapper (TCP)".to_owned(),
                Some(windows::EPMAP),
            ),
            Kind::Icmp => (PortSet::IcmpEcho, format!("portq - {}", g.service), None),
            Kind::IpProto => (PortSet::IpProtocol, format!("portq - {}", g.service), None),
        };
        // A port-list rule scoped to a program would miss ports other programs serve
        // (SMB 445 is the kernel's, not lsass.exe's), so only RPC rules take a program.
        let host = if matches!(windows, PortSet::Rpc | PortSet::RpcEpMap) || g.static_port.is_some()
        {
            host
        } else {
            None
        };
        rules.push(Rule {
            name,
            display_name: format!("{display_name}{scope_note}"),
            service_id: g.service_id,
            service: g.service,
            services: vec![g.service],
            transport: g.transport,
            ports,
            windows,
            remote: g.remote,
            directions: g.directions,
            roles: g.roles,
            program: host.map(|h| h.program),
            windows_service: host.and_then(|h| h.service),
            destinations: Vec::new(),
            management_access: None,
        });
    }
    if let (Some(m), false) = (&opts.management, opts.no_management_access) {
        rules.extend(management_rules(&aggregate(m)));
    }
    let to = aggregate(&opts.to);
    for r in &mut rules {
        r.destinations = to.clone();
    }
    Ok(dedupe(rules))
}

/// The rules that keep administrators in: SSH for Linux hosts, RDP and WinRM for Windows.
fn management_rules(remote: &[IpNet]) -> Vec<Rule> {
    [
        ("ssh", "SSH", PortRange::single(22), Admin::Ssh),
        (
            "rdp",
            "Remote Desktop",
            PortRange::single(3389),
            Admin::Windows,
        ),
        (
            "winrm",
            "WinRM (PowerShell remoting)",
            PortRange {
                start: 5985,
                end: 5986,
            },
            Admin::Windows,
        ),
    ]
    .into_iter()
    .map(|(id, service, ports, admin)| Rule {
        name: format!("portq-mgmt-{id}-tcp"),
        display_name: format!("portq - Management: {service} (TCP)"),
        service_id: id,
        service,
        services: vec![service],
        transport: Transport::Tcp,
        ports: vec![ports],
        windows: PortSet::Ports(vec![ports]),
        remote: remote.to_vec(),
        directions: vec![Direction::Management],
        roles: vec!["management-access"],
        program: None,
        windows_service: None,
        destinations: Vec::new(),
        management_access: Some(admin),
    })
    .collect()
}

/// Removes what Windows would open twice: ports an earlier port-list rule with the same
/// transport and sources already opens, and RPC rules for the same program, service and
/// sources (Netlogon's dynamic port lives in lsass.exe, like NTDS's).
fn dedupe(rules: Vec<Rule>) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    let mut opened = Opened::default();
    for mut r in rules {
        if r.windows == PortSet::Rpc
            && let Some(same) = out.iter_mut().find(|o| {
                o.windows == PortSet::Rpc
                    && o.transport == r.transport
                    && o.program == r.program
                    && o.windows_service == r.windows_service
                    && o.remote == r.remote
            })
        {
            same.ports = normalize([same.ports.clone(), r.ports].concat());
            for s in r.services {
                if !same.services.contains(&s) {
                    same.services.push(s);
                }
            }
            for role in r.roles {
                if !same.roles.contains(&role) {
                    same.roles.push(role);
                }
            }
            for d in r.directions {
                if !same.directions.contains(&d) {
                    same.directions.push(d);
                }
            }
            same.directions.sort();
            continue;
        }
        // The same keyword rule (endpoint mapper, RPC of one program, ICMP, an IP
        // protocol) from sources an earlier one already admits opens nothing new.
        if !matches!(r.windows, PortSet::Ports(_))
            && let Some(same) = out.iter_mut().find(|o| {
                o.windows == r.windows
                    && o.transport == r.transport
                    && o.service_id == r.service_id
                    && o.program == r.program
                    && o.windows_service == r.windows_service
                    && covers(&o.remote, &r.remote)
            })
        {
            for role in r.roles {
                if !same.roles.contains(&role) {
                    same.roles.push(role);
                }
            }
            continue;
        }
        if let PortSet::Ports(ports) = &r.windows
            && r.program.is_none()
        {
            let (fresh, _) = opened.take(r.transport, &r.remote, ports, r.management_access);
            if fresh.is_empty() {
                continue;
            }
            r.ports = fresh.clone();
            r.windows = PortSet::Ports(fresh);
        }
        out.push(r);
    }
    out
}

/// Ports one rule opened.
struct Open {
    transport: Transport,
    remote: Vec<IpNet>,
    /// The platform restriction of the rule (a management rule covers only its own kind).
    admin: Option<Admin>,
    ports: Vec<PortRange>,
}

/// Ports already opened, per transport and sources, to find what a later rule adds.
#[derive(Default)]
struct Opened {
    entries: Vec<Open>,
}

impl Opened {
    /// The ranges of `ports` that no earlier rule with the same transport and covering
    /// sources opens (those are recorded as opened by the next rule), and the indexes
    /// of the rules that already open the others.
    fn take(
        &mut self,
        transport: Transport,
        remote: &[IpNet],
        ports: &[PortRange],
        admin: Option<Admin>,
    ) -> (Vec<PortRange>, Vec<usize>) {
        let mut fresh = Vec::new();
        let mut by = Vec::new();
        for p in ports {
            let opener = self.entries.iter().position(|o| {
                o.transport == transport
                    && (o.admin.is_none() || o.admin == admin)
                    && covers(&o.remote, remote)
                    && o.ports.iter().any(|s| s.start <= p.start && p.end <= s.end)
            });
            match opener {
                Some(i) => {
                    if !by.contains(&i) {
                        by.push(i);
                    }
                }
                None => fresh.push(*p),
            }
        }
        if !fresh.is_empty() {
            self.entries.push(Open {
                transport,
                remote: remote.to_vec(),
                admin,
                ports: fresh.clone(),
            });
        }
        (fresh, by)
    }
}

/// A rule as a firewall that matches ports only (Linux, network, cloud) writes it.
#[derive(Debug, Clone)]
pub struct PortRule<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// The ports it opens that no earlier rule opens; empty for ICMP and IP protocols.
    pub ports: Vec<PortRange>,
    /// Every service these ports serve: the rule's own, then those of later rules whose
    /// ports it already opens (the RPC dynamic range serves many).
    pub services: Vec<&'static str>,
}

/// For firewalls that match ports only (Linux, network): each rule with the ports that
/// earlier rules of the same transport and covering sources do not already open. Rules
/// left with nothing to open are dropped, so no port is opened twice; the services they
/// serve are added to the rule that opens their ports.
pub fn port_rules<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Vec<PortRule<'a>> {
    let mut opened = Opened::default();
    let mut at: Vec<usize> = Vec::new(); // opened entry -> index in out
    let mut out: Vec<PortRule<'a>> = Vec::new();
    let add = |services: &mut Vec<&'static str>, new: &[&'static str]| {
        for s in new {
            if !services.contains(s) {
                services.push(s);
            }
        }
    };
    for r in rules {
        if r.ports.is_empty() {
            let same = out.iter_mut().find(|o| {
                o.rule.ports.is_empty()
                    && o.rule.transport == r.transport
                    && o.rule.service_id == r.service_id
                    && covers(&o.rule.remote, &r.remote)
            });
            match same {
                Some(o) => add(&mut o.services, &r.services),
                None => out.push(PortRule {
                    rule: r,
                    ports: Vec::new(),
                    services: r.services.clone(),
                }),
            }
            continue;
        }
        let (fresh, by) = opened.take(r.transport, &r.remote, &r.ports, r.management_access);
        for i in by {
            if let Some(o) = at.get(i).and_then(|&j| out.get_mut(j)) {
                add(&mut o.services, &r.services);
            }
        }
        if !fresh.is_empty() {
            at.push(out.len());
            out.push(PortRule {
                rule: r,
                ports: fresh,
                services: r.services.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use portq_catalog::roles::{expand, parse_selection};

    fn dc() -> Vec<RoleEntry> {
        expand(&[parse_selection("dc").unwrap()])
    }

    /// Every source, as `--from any` says.
    fn any() -> RuleOptions {
        RuleOptions {
            any_source: true,
            ..Default::default()
        }
    }

    /// Issue 22: without --from the rules would open the role to every address; refused
    /// unless the user said `any`, whatever the format.
    #[test]
    fn no_sources_is_refused_unless_any_was_said() {
        assert_eq!(
            plan(&dc(), &RuleOptions::default()).unwrap_err(),
            RulesError::NoSources
        );
        // --peers and --management alone do not stand in for the clients.
        let partial = RuleOptions {
            peers: Some(vec!["10.0.1.0/24".parse().unwrap()]),
            management: Some(vec!["10.0.9.0/24".parse().unwrap()]),
            ..Default::default()
        };
        assert_eq!(plan(&dc(), &partial).unwrap_err(), RulesError::NoSources);
        let rules = plan(&dc(), &any()).unwrap();
        assert!(rules.iter().all(|r| r.remote.is_empty()));
        let (nets, any) = crate::addr::parse_from(&["ANY"]).unwrap();
        assert!(nets.is_empty() && any);
        let (nets, any) = crate::addr::parse_from(&["10.0.0.0/8"]).unwrap();
        assert!(!nets.is_empty() && !any);
        assert!(crate::addr::parse_from(&["any,10.0.0.0/33"]).is_err());
    }

    /// Issue 22: an empty value (`--to ""`, an unset shell variable) turned network rules
    /// into host rules without a word.
    #[test]
    fn empty_address_values_are_errors() {
        for bad in [&[""][..], &["  "], &["10.0.0.0/8,"], &[",10.0.0.1"]] {
            assert_eq!(
                crate::addr::parse_destinations(bad).unwrap_err(),
                RulesError::EmptyAddress,
                "{bad:?}"
            );
            assert_eq!(
                crate::addr::parse_sources(bad).unwrap_err(),
                RulesError::EmptyAddress,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let rules = plan(&dc(), &any()).unwrap();
        let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert!(names.iter().all(|n| n.starts_with("portq-")));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len());
        assert!(rules.iter().any(|r| r.windows == PortSet::RpcEpMap));
        let rpc: Vec<&Rule> = rules.iter().filter(|r| r.windows == PortSet::Rpc).collect();
        assert!(!rpc.is_empty());
        assert!(rpc.iter().all(|r| r.program.is_some()));
        // The endpoint mapper is one shared rule, not one per service.
        assert_eq!(
            rules
                .iter()
                .filter(|r| r.windows == PortSet::RpcEpMap)
                .count(),
            1
        );
        // Netlogon's RPC port is served by lsass.exe too: one rule, not two.
        assert_eq!(
            rules
                .iter()
                .filter(|r| r.program == Some("%SystemRoot%\\System32\\lsass.exe"))
                .count(),
            1
        );
        // No port-list rule repeats a port of another with the same transport.
        let mut seen: Vec<(Transport, PortRange)> = Vec::new();
        for r in &rules {
            if let PortSet::Ports(p) = &r.windows {
                for p in p {
                    assert!(
                        !seen.iter().any(|(t, s)| *t == r.transport && s.overlaps(p)),
                        "{} repeats {p}",
                        r.name
                    );
                    seen.push((r.transport, *p));
                }
            }
        }
    }

    #[test]
    fn rpc_range_and_static_ports_narrow_the_dynamic_range() {
        let opts = RuleOptions {
            rpc_range: Some(PortRange {
                start: 5000,
                end: 5100,
            }),
            static_ports: vec![
                StaticPort::parse("ntds=38901").unwrap(),
                StaticPort::parse("netlogon=38902").unwrap(),
            ],
            ..any()
        };
        let rules = plan(&dc(), &opts).unwrap();
        let lsass = rules
            .iter()
            .find(|r| r.name == "portq-lsass-tcp-rpc")
            .unwrap();
        assert_eq!(lsass.ports, vec![PortRange::single(38901)]);
        assert_eq!(
            lsass.windows,
            PortSet::Ports(vec![PortRange::single(38901)])
        );
        let dfsr = rules.iter().find(|r| r.service_id == "dfsr").unwrap();
        assert_eq!(
            dfsr.ports,
            vec![PortRange {
                start: 5000,
                end: 5100
            }]
        );
        assert!(
            port_rules(&rules)
                .iter()
                .all(|p| p.ports.iter().all(|p| p.end < 49152))
        );
    }

    #[test]
    fn bad_options_are_errors() {
        let small = RuleOptions {
            rpc_range: Some(PortRange {
                start: 5000,
                end: 5010,
            }),
            ..Default::default()
        };
        assert!(matches!(
            plan(&dc(), &small),
            Err(RulesError::RangeTooSmall { .. })
        ));
        let low = RuleOptions {
            rpc_range: Some(PortRange {
                start: 500,
                end: 5000,
            }),
            ..Default::default()
        };
        assert!(matches!(plan(&dc(), &low), Err(RulesError::RangeTooLow(_))));
        let clash = RuleOptions {
            static_ports: vec![StaticPort::parse("ntds=3268").unwrap()],
            ..Default::default()
        };
        assert!(matches!(
            plan(&dc(), &clash),
            Err(RulesError::StaticCollision { .. })
        ));
        assert_eq!(
            plan(&[], &RuleOptions::default()).unwrap_err(),
            RulesError::NoRoles
        );
    }

    #[test]
    fn scopes_split_rules() {
        let opts = RuleOptions {
            from: vec!["10.0.0.0/8".parse().unwrap()],
            peers: Some(vec!["10.1.0.0/24".parse().unwrap()]),
            ..Default::default()
        };
        let rules = plan(&dc(), &opts).unwrap();
        let dfsr = rules.iter().find(|r| r.service_id == "dfsr").unwrap();
        assert_eq!(dfsr.remote, vec!["10.1.0.0/24".parse::<IpNet>().unwrap()]);
        assert!(rules.iter().any(|r| r.name.ends_with("-peers")));
    }

    #[test]
    fn port_rules_never_open_a_port_twice() {
        let rules = plan(&dc(), &any()).unwrap();
        let pr = port_rules(&rules);
        let mut seen: Vec<(Transport, PortRange)> = Vec::new();
        for PortRule { rule: r, ports, .. } in pr {
            for p in ports {
                assert!(
                    !seen
                        .iter()
                        .any(|(t, s)| *t == r.transport && s.overlaps(&p)),
                    "{p} twice"
                );
                seen.push((r.transport, p));
            }
        }
    }

    #[test]
    fn display_names_are_unique_when_scopes_split() {
        let opts = RuleOptions {
            from: vec!["10.0.0.0/8".parse().unwrap()],
            peers: Some(vec!["192.168.1.0/24".parse().unwrap()]),
            management: Some(vec!["172.16.9.0/24".parse().unwrap()]),
            ..Default::default()
        };
        let rules = plan(&dc(), &opts).unwrap();
        for key in [|r: &Rule| r.name.clone(), |r: &Rule| r.display_name.clone()] {
            let mut all: Vec<String> = rules.iter().map(key).collect();
            let n = all.len();
            all.sort();
            all.dedup();
            assert_eq!(n, all.len(), "{all:?}");
        }
        // --management adds SSH (Linux) and RDP/WinRM (Windows) from the management hosts.
        let admin: Vec<&Rule> = rules
            .iter()
            .filter(|r| r.management_access.is_some())
            .collect();
        assert_eq!(admin.len(), 3);
        assert!(
            admin
                .iter()
                .all(|r| r.remote == vec!["172.16.9.0/24".parse::<IpNet>().unwrap()])
        );
        let none = RuleOptions {
            no_management_access: true,
            ..opts
        };
        assert!(
            plan(&dc(), &none)
                .unwrap()
                .iter()
                .all(|r| r.management_access.is_none())
        );
    }

    #[test]
    fn destinations_and_covered_sources() {
        let opts = RuleOptions {
            from: vec!["10.0.0.0/8".parse().unwrap()],
            peers: Some(vec!["10.0.1.0/24".parse().unwrap()]),
            to: vec![
                "10.0.1.10/32".parse().unwrap(),
                "10.0.1.11/32".parse().unwrap(),
            ],
            ..Default::default()
        };
        let rules = plan(&dc(), &opts).unwrap();
        assert!(
            rules
                .iter()
                .all(|r| r.destinations == vec!["10.0.1.10/31".parse::<IpNet>().unwrap()])
        );
        // Peers inside the clients' block add no second endpoint mapper rule.
        assert_eq!(
            rules
                .iter()
                .filter(|r| r.windows == PortSet::RpcEpMap)
                .count(),
            1
        );
        // The dynamic range is opened once and names every service it serves.
        let pr = port_rules(&rules);
        let dynamic: Vec<&PortRule> = pr
            .iter()
            .filter(|p| p.ports.iter().any(|r| r.start == 49152))
            .collect();
        assert_eq!(dynamic.len(), 1);
        assert!(
            dynamic[0].services.contains(&"Net Logon"),
            "{:?}",
            dynamic[0].services
        );
        assert!(dynamic[0].services.len() >= 3, "{:?}", dynamic[0].services);
    }
}
