//! The server roles as JSON presents them (`portq roles --format json`, `GET /api/roles`).

use serde::Serialize;

/// A role option as JSON presents it.
#[derive(Serialize)]
pub struct OptionView {
    id: &'static str,
    description: &'static str,
    default: bool,
}

/// A role as JSON presents it (`portq roles --format json`, `GET /api/roles`).
#[derive(Serialize)]
pub struct RoleView {
    id: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
    description: &'static str,
    options: Vec<OptionView>,
    requirements: usize,
}

/// Every role, for JSON.
pub fn views() -> Vec<RoleView> {
    portq_catalog::roles()
        .iter()
        .map(|r| RoleView {
            id: r.id,
            name: r.name,
            aliases: r.aliases,
            description: r.description,
            options: r
                .options
                .iter()
                .map(|o| OptionView {
                    id: o.id,
                    description: o.description,
                    default: o.default,
                })
                .collect(),
            requirements: r.requirements.len(),
        })
        .collect()
}

/// An option of one role, with the ports it switches on.
#[derive(Serialize)]
pub struct OptionDetail {
    /// The option's token.
    pub id: &'static str,
    /// What it means.
    pub description: &'static str,
    /// On unless switched off.
    pub default: bool,
    /// The ports it brings (`3268/tcp`), each once.
    pub ports: Vec<String>,
}

/// A port one role may need.
#[derive(Serialize)]
pub struct PortDetail {
    /// `389` or `49152-65535`; empty for ICMP and other IP protocols.
    pub port: String,
    /// `tcp`, `udp`, `icmp`, ...
    pub protocol: &'static str,
    /// The catalogue service's name.
    pub service: &'static str,
    /// Who connects: clients, peers or management.
    pub from: &'static str,
    /// The option that brings it; `None` when the role always needs it.
    pub option: Option<&'static str>,
}

/// One role in full (`portq roles ROLE`).
#[derive(Serialize)]
pub struct RoleDetail {
    id: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
    description: &'static str,
    /// Its options and what each switches.
    pub options: Vec<OptionDetail>,
    /// Every port it may need, options included.
    pub ports: Vec<PortDetail>,
    /// What its server connects out to (`445/tcp SMB`), never opened inbound.
    pub outbound: Vec<String>,
}

/// `389/tcp`, or the protocol alone for ICMP and the like.
fn port_text(r: &portq_catalog::Requirement) -> String {
    match r.ports {
        Some(p) => format!("{p}/{}", r.transport.as_str()),
        None => r.transport.as_str().to_owned(),
    }
}

/// One role in full: options with their ports, then every port with its option.
pub fn detail(role: &'static portq_catalog::Role) -> RoleDetail {
    let options = role
        .options
        .iter()
        .map(|o| {
            let mut ports: Vec<String> = Vec::new();
            for rr in role
                .requirements
                .iter()
                .filter(|rr| rr.option == Some(o.id))
            {
                let p = port_text(rr.requirement());
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
            OptionDetail {
                id: o.id,
                description: o.description,
                default: o.default,
                ports,
            }
        })
        .collect();
    let mut ports: Vec<PortDetail> = role
        .requirements
        .iter()
        .map(|rr| {
            let r = rr.requirement();
            PortDetail {
                port: r.ports.map(|p| p.to_string()).unwrap_or_default(),
                protocol: r.transport.as_str(),
                service: r.service().name,
                from: rr.direction.as_str(),
                option: rr.option,
            }
        })
        .collect();
    ports.sort_by_key(|p| {
        (
            p.port.split('-').next().and_then(|n| n.parse::<u16>().ok()),
            p.protocol,
            p.option,
            p.from,
        )
    });
    ports.dedup_by(|a, b| {
        a.port == b.port
            && a.protocol == b.protocol
            && a.service == b.service
            && a.from == b.from
            && a.option == b.option
    });
    let outbound = role
        .outbound
        .iter()
        .map(|&i| {
            let r = &portq_catalog::requirements()[i];
            format!("{} {}", port_text(r), r.service().name)
        })
        .collect();
    RoleDetail {
        id: role.id,
        name: role.name,
        aliases: role.aliases,
        description: role.description,
        options,
        ports,
        outbound,
    }
}
