//! Comparing what listens here with what the expected roles need.

use super::{Inventory, LocalListener};
use portq_catalog::roles::RoleEntry;
use portq_catalog::{PortRange, Transport};
use serde::Serialize;
use std::collections::BTreeMap;

/// The verdict on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// Required and listening.
    Ok,
    /// Required but nothing listens (on a non-loopback address).
    Missing,
    /// Listening, reachable from the network, and required by none of the roles.
    Unexpected,
    /// Optional for the roles and not listening: fine.
    OptionalMissing,
    /// Listening on loopback only: not exposed.
    LocalOnly,
}

impl AuditStatus {
    /// True for the verdicts that make the audit fail.
    pub fn is_problem(self) -> bool {
        matches!(self, AuditStatus::Missing | AuditStatus::Unexpected)
    }
}

/// One line of the audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// The verdict.
    pub status: AuditStatus,
    /// TCP or UDP.
    pub transport: Transport,
    /// The port.
    pub port: u16,
    /// The listener, when something listens.
    pub listener: Option<LocalListener>,
    /// The catalogue services that need this port (empty for unexpected listeners).
    pub services: Vec<&'static str>,
    /// The roles that need it.
    pub roles: Vec<&'static str>,
}

/// The whole audit.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// Rows, sorted by transport, port and status.
    pub rows: Vec<AuditRow>,
    /// True when nothing is missing and nothing unexpected listens.
    pub matches: bool,
}

#[derive(Default)]
struct Need {
    services: Vec<&'static str>,
    roles: Vec<&'static str>,
    optional: bool,
}

fn add_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Audits an inventory against the union of role requirements.
pub fn audit(inv: &Inventory, entries: &[RoleEntry]) -> Audit {
    let mut singles: BTreeMap<(Transport, u16), Need> = BTreeMap::new();
    let mut ranges: Vec<(Transport, PortRange, &'static str, Vec<&'static str>)> = Vec::new();
    for e in entries {
        let r = e.requirement;
        let Some(p) = r.ports else { continue };
        if !r.transport.has_ports() {
            continue;
        }
        if p.start == p.end {
            let need = singles
                .entry((r.transport, p.start))
                .or_insert_with(|| Need {
                    optional: true,
                    ..Need::default()
                });
            add_unique(&mut need.services, r.service().name);
            for role in &e.roles {
                add_unique(&mut need.roles, *role);
            }
            need.optional &= e.optional;
        } else {
            ranges.push((r.transport, p, r.service().name, e.roles.clone()));
        }
    }
    let exposed = |l: &&LocalListener| !l.loopback_only();
    let mut rows = Vec::new();
    let mut claimed = vec![false; inv.listeners.len()];
    for ((t, port), need) in &singles {
        let mut found = false;
        for (i, l) in inv.listeners.iter().enumerate() {
            if l.transport == *t && l.address.port() == *port && exposed(&l) {
                found = true;
                claimed[i] = true;
                rows.push(AuditRow {
                    status: AuditStatus::Ok,
                    transport: *t,
                    port: *port,
                    listener: Some(l.clone()),
                    services: need.services.clone(),
                    roles: need.roles.clone(),
                });
            }
        }
        if !found {
            rows.push(AuditRow {
                status: if need.optional {
                    AuditStatus::OptionalMissing
                } else {
                    AuditStatus::Missing
                },
                transport: *t,
                port: *port,
                listener: None,
                services: need.services.clone(),
                roles: need.roles.clone(),
            });
        }
    }
    for (i, l) in inv.listeners.iter().enumerate() {
        if claimed[i] {
            continue;
        }
        let port = l.address.port();
        let in_range: Vec<&(Transport, PortRange, &'static str, Vec<&'static str>)> = ranges
            .iter()
            .filter(|(t, r, _, _)| *t == l.transport && r.contains(port))
            .collect();
        let (status, services, roles) = if l.loopback_only() {
            (AuditStatus::LocalOnly, Vec::new(), Vec::new())
        } else if !in_range.is_empty() {
            let mut s = Vec::new();
            let mut ro = Vec::new();
            for (_, _, name, roles) in in_range {
                add_unique(&mut s, *name);
                for r in roles {
                    add_unique(&mut ro, *r);
                }
            }
            (AuditStatus::Ok, s, ro)
        } else {
            (AuditStatus::Unexpected, Vec::new(), Vec::new())
        };
        rows.push(AuditRow {
            status,
            transport: l.transport,
            port,
            listener: Some(l.clone()),
            services,
            roles,
        });
    }
    rows.sort_by_key(|r| (r.transport, r.port, r.status));
    let matches = !rows.iter().any(|r| r.status.is_problem());
    Audit { rows, matches }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Owner;
    use portq_catalog::roles::{expand, parse_selection};

    fn l(t: Transport, a: &str) -> LocalListener {
        LocalListener {
            transport: t,
            address: a.parse().unwrap(),
            owner: Some(Owner {
                pid: 1,
                name: "x".into(),
                path: String::new(),
                services: vec![],
            }),
        }
    }

    #[test]
    fn missing_unexpected_and_fine() {
        let inv = Inventory::new(
            vec![
                l(Transport::Tcp, "0.0.0.0:3389"),
                l(Transport::Udp, "0.0.0.0:3389"),
                l(Transport::Tcp, "0.0.0.0:22"),
                l(Transport::Tcp, "127.0.0.1:631"),
            ],
            vec![],
        );
        let rdsh = expand(&[parse_selection("rdsh").unwrap()]);
        let a = audit(&inv, &rdsh);
        let status = |t: Transport, p: u16| {
            a.rows
                .iter()
                .find(|r| r.transport == t && r.port == p)
                .map(|r| r.status)
        };
        assert_eq!(status(Transport::Tcp, 3389), Some(AuditStatus::Ok));
        assert_eq!(status(Transport::Tcp, 22), Some(AuditStatus::Unexpected));
        assert_eq!(status(Transport::Tcp, 631), Some(AuditStatus::LocalOnly));
        assert!(!a.matches);

        let only = Inventory::new(
            vec![
                l(Transport::Tcp, "0.0.0.0:3389"),
                l(Transport::Udp, "[::]:3389"),
                // WinRM for administration (Ports used by RDS, RD Session Host).
                l(Transport::Tcp, "0.0.0.0:5985"),
            ],
            vec![],
        );
        assert!(audit(&only, &rdsh).matches);

        let none = Inventory::new(vec![l(Transport::Tcp, "127.0.0.1:3389")], vec![]);
        let a = audit(&none, &rdsh);
        assert!(
            a.rows
                .iter()
                .any(|r| r.status == AuditStatus::Missing && r.port == 3389)
        );
        assert!(!a.matches);
    }

    #[test]
    fn dynamic_range_listeners_are_expected_for_rpc_roles() {
        let dc = expand(&[parse_selection("dc").unwrap()]);
        let inv = Inventory::new(vec![l(Transport::Tcp, "10.0.0.1:49153")], vec![]);
        let a = audit(&inv, &dc);
        let row = a.rows.iter().find(|r| r.port == 49153).unwrap();
        assert_eq!(row.status, AuditStatus::Ok);
        assert!(
            row.services
                .contains(&"Active Directory (local security authority)")
        );
        assert!(
            a.rows
                .iter()
                .any(|r| r.status == AuditStatus::Missing && r.port == 88)
        );
    }
}
