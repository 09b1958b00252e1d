//! Choosing roles by name (with options) and expanding them into requirements.

use crate::model::{Direction, Requirement, Role};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why a role selection could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RoleError {
    /// No role has that name or alias.
    #[error("unknown role '{name}'{}", suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    Unknown {
        /// What was asked for.
        name: String,
        /// The closest role id, if one is close.
        suggestion: Option<String>,
    },
    /// The role has no such option.
    #[error("role '{role}' has no option '{option}' (options: {valid})")]
    UnknownOption {
        /// The role.
        role: &'static str,
        /// The option asked for.
        option: String,
        /// The options it has.
        valid: String,
    },
    /// No role was given.
    #[error("no role given: name at least one (see `portq roles`)")]
    Empty,
}

/// A role together with the options switched on for it.
#[derive(Debug, Clone)]
pub struct RoleSelection {
    /// The role.
    pub role: &'static Role,
    /// The ids of the options that are on.
    pub options: Vec<&'static str>,
    /// The ids of the options the user turned on by name (`dc:netbios`), not by default.
    pub asked: Vec<&'static str>,
}

/// Finds a role by id or alias (case-insensitive).
pub fn find(name: &str) -> Result<&'static Role, RoleError> {
    let want = name.trim().to_lowercase();
    let roles = crate::roles();
    if let Some(r) = roles
        .iter()
        .find(|r| r.id == want || r.aliases.iter().any(|a| *a == want))
    {
        return Ok(r);
    }
    let suggestion = roles
        .iter()
        .flat_map(|r| {
            std::iter::once(r.id)
                .chain(r.aliases.iter().copied())
                .map(move |n| (n, r.id))
        })
        .map(|(n, id)| (strsim::jaro_winkler(&want, n), id))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id.to_owned());
    Err(RoleError::Unknown {
        name: name.to_owned(),
        suggestion,
    })
}

/// Parses `ROLE[:OPTION,...]`, where an option is `ID` (on) or `no-ID` (off).
pub fn parse_selection(text: &str) -> Result<RoleSelection, RoleError> {
    let (name, opts) = match text.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (text, None),
    };
    if name.trim().is_empty() {
        return Err(RoleError::Empty);
    }
    let role = find(name)?;
    let mut on: Vec<&'static str> = role
        .options
        .iter()
        .filter(|o| o.default)
        .map(|o| o.id)
        .collect();
    let mut asked: Vec<&'static str> = Vec::new();
    for raw in opts.into_iter().flat_map(|o| o.split(',')) {
        let raw = raw.trim().to_lowercase();
        if raw.is_empty() {
            continue;
        }
        let (id, enable) = match raw.strip_prefix("no-") {
            Some(id) => (id.to_owned(), false),
            None => (raw.clone(), true),
        };
        let Some(opt) = role.options.iter().find(|o| o.id == id) else {
            let valid: Vec<&str> = role.options.iter().map(|o| o.id).collect();
            return Err(RoleError::UnknownOption {
                role: role.id,
                option: raw,
                valid: if valid.is_empty() {
                    "none".to_owned()
                } else {
                    valid.join(", ")
                },
            });
        };
        on.retain(|o| *o != opt.id);
        asked.retain(|o| *o != opt.id);
        if enable {
            on.push(opt.id);
            asked.push(opt.id);
        }
    }
    Ok(RoleSelection {
        role,
        options: on,
        asked,
    })
}

/// A requirement in the union of several roles.
#[derive(Debug, Clone)]
pub struct RoleEntry {
    /// Index into [`crate::requirements`].
    pub index: usize,
    /// The catalogue requirement.
    pub requirement: &'static Requirement,
    /// Who connects to it (one or more).
    pub directions: Vec<Direction>,
    /// The ids of the roles that need it.
    pub roles: Vec<&'static str>,
    /// True when every role brings it only as optional: the catalogue marks the
    /// requirement `optional` (KB 832017's NetBIOS footnote, DAC, compatibility
    /// listeners) and no role's option that brings it was asked for by name. An optional
    /// port that does not listen is no failure, in every front end.
    pub optional: bool,
}

/// The union of the selected roles' requirements, each once, sorted by port.
pub fn expand(selections: &[RoleSelection]) -> Vec<RoleEntry> {
    let mut by_index: BTreeMap<usize, RoleEntry> = BTreeMap::new();
    for sel in selections {
        for rr in sel.role.requirements {
            if rr.option.is_some_and(|opt| !sel.options.contains(&opt)) {
                continue;
            }
            let requirement = rr.requirement();
            let optional = requirement.has(crate::model::Qualifier::Optional)
                && !rr.option.is_some_and(|opt| sel.asked.contains(&opt));
            let entry = by_index.entry(rr.requirement).or_insert_with(|| RoleEntry {
                index: rr.requirement,
                requirement,
                directions: Vec::new(),
                roles: Vec::new(),
                optional: true,
            });
            entry.optional &= optional;
            if !entry.directions.contains(&rr.direction) {
                entry.directions.push(rr.direction);
                entry.directions.sort();
            }
            if !entry.roles.contains(&sel.role.id) {
                entry.roles.push(sel.role.id);
            }
        }
    }
    let mut out: Vec<RoleEntry> = by_index.into_values().collect();
    out.sort_by_key(|e| {
        let r = e.requirement;
        (
            r.ports.map(|p| (p.start, p.end)).unwrap_or((0, 0)),
            r.transport,
            r.service,
            e.index,
        )
    });
    out
}

/// When the selected roles accept nothing inbound and only connect out: the sentence that
/// says so (for `rules` and `check`, which then have nothing to open or probe).
pub fn outbound_only(selections: &[RoleSelection]) -> Option<String> {
    if selections.is_empty() || !expand(selections).is_empty() {
        return None;
    }
    let out = outbound(selections);
    let ids: Vec<&str> = selections.iter().map(|s| s.role.id).collect();
    let mut ports: Vec<String> = out
        .iter()
        .filter_map(|(r, _)| r.ports.map(|p| format!("{}/{}", p, r.transport.as_str())))
        .collect();
    ports.dedup();
    Some(format!(
        "{} accepts nothing inbound: it only connects out ({}); there is nothing to open or check on it (see `portq lookup --role {}`)",
        ids.join(", "),
        ports.join(", "),
        ids.join(" --role ")
    ))
}

/// What the selected roles' servers open outward (each row once, with the roles), sorted
/// by port: shown beside what they accept, never opened inbound by rules or checks.
pub fn outbound(selections: &[RoleSelection]) -> Vec<(&'static Requirement, Vec<&'static str>)> {
    let mut by_index: BTreeMap<usize, (&'static Requirement, Vec<&'static str>)> = BTreeMap::new();
    for sel in selections {
        for &i in sel.role.outbound {
            let Some(r) = crate::requirements().get(i) else {
                continue;
            };
            let e = by_index.entry(i).or_insert((r, Vec::new()));
            if !e.1.contains(&sel.role.id) {
                e.1.push(sel.role.id);
            }
        }
    }
    let mut out: Vec<_> = by_index.into_values().collect();
    out.sort_by_key(|(r, _)| (r.ports.map(|p| (p.start, p.end)), r.transport));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortRange, Qualifier, Transport};

    fn has(entries: &[RoleEntry], port: u16, t: Transport) -> bool {
        entries.iter().any(|e| {
            e.requirement.transport == t
                && e.requirement
                    .ports
                    .is_some_and(|p| p.contains(port) && p.len() == 1)
        })
    }

    fn optional(entries: &[RoleEntry], port: u16, t: Transport) -> Option<bool> {
        let mut found = entries.iter().filter(|e| {
            e.requirement.transport == t
                && e.requirement
                    .ports
                    .is_some_and(|p| p == PortRange::single(port))
        });
        let first = found.next()?;
        Some(found.fold(first.optional, |acc, e| acc && e.optional))
    }

    /// Issue 21: NetBIOS is optional for a DC (KB 832017's footnote) unless asked for by
    /// name; the same rule for `check`, the exporter, the console and `local --expect`.
    #[test]
    fn netbios_is_optional_unless_asked_for() {
        let dc = expand(&[parse_selection("dc").unwrap()]);
        assert_eq!(optional(&dc, 138, Transport::Udp), Some(true));
        assert_eq!(optional(&dc, 139, Transport::Tcp), Some(true));
        assert_eq!(optional(&dc, 88, Transport::Udp), Some(false));
        let asked = expand(&[parse_selection("dc:netbios").unwrap()]);
        assert_eq!(optional(&asked, 138, Transport::Udp), Some(false));
        let off = expand(&[parse_selection("dc:no-netbios").unwrap()]);
        assert_eq!(optional(&off, 138, Transport::Udp), None);
        // One role asking for it by name makes it required for the union.
        let both = expand(&[
            parse_selection("dc").unwrap(),
            parse_selection("rodc:netbios").unwrap(),
        ]);
        assert_eq!(optional(&both, 138, Transport::Udp), Some(false));
    }

    #[test]
    fn dc_needs_the_well_known_ports() {
        let dc = expand(&[parse_selection("dc").unwrap()]);
        for (p, t) in [
            (53, Transport::Tcp),
            (53, Transport::Udp),
            (88, Transport::Tcp),
            (88, Transport::Udp),
            (135, Transport::Tcp),
            (389, Transport::Tcp),
            (389, Transport::Udp),
            (445, Transport::Tcp),
            (464, Transport::Tcp),
            (464, Transport::Udp),
            (636, Transport::Tcp),
            (3268, Transport::Tcp),
            (3269, Transport::Tcp),
        ] {
            assert!(has(&dc, p, t), "DC lacks {p}/{t}");
        }
        assert!(dc.iter().any(|e| e.requirement.has(Qualifier::RpcDynamic)));
    }

    #[test]
    fn options_switch_requirements() {
        let dc = expand(&[parse_selection("dc:no-gc,no-dns").unwrap()]);
        assert!(!has(&dc, 3268, Transport::Tcp));
        assert!(!has(&dc, 53, Transport::Udp));
        assert!(has(&dc, 389, Transport::Tcp));
    }

    #[test]
    fn union_is_deduplicated() {
        let one = expand(&[parse_selection("dc").unwrap()]);
        let two = expand(&[
            parse_selection("dc").unwrap(),
            parse_selection("domain-controller").unwrap(),
        ]);
        assert_eq!(one.len(), two.len());
        let both = expand(&[
            parse_selection("dc").unwrap(),
            parse_selection("dns").unwrap(),
        ]);
        let dns = both
            .iter()
            .find(|e| {
                e.requirement.service().id == "dns"
                    && e.requirement.ports == Some(crate::PortRange::single(53))
                    && e.requirement.transport == Transport::Udp
            })
            .unwrap();
        assert_eq!(dns.roles, vec!["domain-controller", "dns-server"]);
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        assert_eq!(
            parse_selection("domain-controler").unwrap_err(),
            RoleError::Unknown {
                name: "domain-controler".into(),
                suggestion: Some("domain-controller".into())
            }
        );
        assert!(matches!(
            parse_selection("dc:bogus"),
            Err(RoleError::UnknownOption { .. })
        ));
        assert_eq!(parse_selection("").unwrap_err(), RoleError::Empty);
    }

    #[test]
    fn every_role_resolves_to_catalogue_requirements() {
        for role in crate::roles() {
            let sel = parse_selection(role.id).unwrap();
            let entries = expand(std::slice::from_ref(&sel));
            // A role accepts something, or says it only connects out.
            assert!(
                !entries.is_empty() || outbound_only(&[sel]).is_some(),
                "{} is empty",
                role.id
            );
            for e in entries {
                assert!(std::ptr::eq(e.requirement, &crate::requirements()[e.index]));
            }
        }
    }
}
