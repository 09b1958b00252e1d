//! Judging a saved rule set against server roles, off the host (`portq audit`): for each
//! port the roles need, whether the rules let it in and from which part of the clients'
//! networks; then what the rules open that no role needs, worst first. The verdict per
//! port is the same evaluator's as `portq local --expect` ([`Firewall::evaluate`]).

use super::sources::SourceSet;
use super::{Firewall, Verdict};
use portq_catalog::Transport;
use portq_catalog::roles::RoleEntry;
use serde::Serialize;

/// At most this many openings beyond the roles are listed (all are counted).
pub const MAX_OPENINGS: usize = 200;

/// How well a needed port is let in, for the clients given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cover {
    /// From every client source given (or from anywhere, when none was given).
    Allowed,
    /// From some of the client sources only.
    Partly,
    /// From none of them.
    Blocked,
    /// The rules have a shape the evaluator does not model.
    CannotTell,
}

/// One port the roles need, judged.
#[derive(Debug, Clone, Serialize)]
pub struct Needed {
    /// TCP or UDP (`protocol` in JSON).
    #[serde(rename = "protocol")]
    pub transport: Transport,
    /// The port (the first of a range such as the RPC dynamic range).
    pub port: u16,
    /// The last port, for a range.
    pub port_end: u16,
    /// Needed only in some set-ups (KB 832017's optional rows): never a finding.
    pub optional: bool,
    /// The catalogue services that need it.
    pub services: Vec<&'static str>,
    /// The roles that need it.
    pub roles: Vec<&'static str>,
    /// How well it is let in.
    pub cover: Cover,
    /// The parts of the client sources it is let in from.
    pub allowed_from: Vec<String>,
    /// The parts of the client sources it is not let in from.
    pub missing_from: Vec<String>,
    /// The evaluator's verdict.
    pub verdict: Verdict,
    /// The verdict in words.
    pub verdict_text: String,
}

/// A port range the rules let in that no role needs.
#[derive(Debug, Clone, Serialize)]
pub struct Opening {
    /// TCP or UDP (`protocol` in JSON).
    #[serde(rename = "protocol")]
    pub transport: Transport,
    /// First port.
    pub port: u16,
    /// Last port.
    pub port_end: u16,
    /// Open to every address (0.0.0.0/0, ::/0, `*`, Any, Internet).
    pub world: bool,
    /// Who it is open from (empty: anywhere).
    pub from: Vec<String>,
    /// The verdict in words.
    pub verdict_text: String,
}

/// The whole judgement.
#[derive(Debug, Clone, Serialize)]
pub struct RuleAudit {
    /// What kind of rule set it was.
    pub kind: &'static str,
    /// The client sources judged for (empty: anywhere).
    pub from: Vec<String>,
    /// Every port the roles need.
    pub needed: Vec<Needed>,
    /// What else is let in, worst first (the first [`MAX_OPENINGS`]).
    pub openings: Vec<Opening>,
    /// All openings found.
    pub opening_count: usize,
    /// True when a required port is not let in from every client source, or something
    /// is open to the world that no role needs.
    pub findings: bool,
}

/// The sources a verdict lets in, per family, leaving out names that are not addresses
/// (service tags, security groups: never assumed to hold any address). `None` when it
/// is not an allow.
fn allowed_sets(v: &Verdict) -> Option<(SourceSet, SourceSet)> {
    let Verdict::Allowed { from, except, .. } = v else {
        return None;
    };
    let parse = |texts: &[String], v6: bool| -> (SourceSet, bool) {
        let mut set = SourceSet::empty(v6);
        let mut any = false;
        for t in texts {
            if t == "*" || t.eq_ignore_ascii_case("any") {
                any = true;
            } else if let Ok(n) = t.parse::<ipnet::IpNet>() {
                set = set.union(&SourceSet::net(v6, n));
            } else if let Ok(a) = t.parse::<std::net::IpAddr>() {
                set = set.union(&SourceSet::range(v6, a, a));
            }
        }
        (set, any)
    };
    let mut out = Vec::new();
    for v6 in [false, true] {
        let (f, any) = parse(from, v6);
        let base = if from.is_empty() || any {
            SourceSet::all(v6)
        } else {
            f
        };
        let (e, _) = parse(except, v6);
        out.push(base.minus(&e));
    }
    let v6 = out.pop()?;
    let v4 = out.pop()?;
    Some((v4, v6))
}

fn world(v: &Verdict) -> bool {
    match v {
        Verdict::Allowed { from, except, .. } => {
            (from.is_empty() && except.is_empty())
                || from.iter().any(|f| {
                    f == "0.0.0.0/0"
                        || f == "::/0"
                        || f == "*"
                        || f.eq_ignore_ascii_case("any")
                        || f.starts_with("service tag Internet")
                })
        }
        _ => false,
    }
}

/// Judges `fw` for the roles' requirements and the client sources `from` (empty:
/// anywhere).
pub fn audit(fw: &Firewall, entries: &[RoleEntry], from: &[ipnet::IpNet]) -> RuleAudit {
    let clients = |v6: bool| {
        if from.is_empty() {
            SourceSet::all(v6)
        } else {
            from.iter().fold(SourceSet::empty(v6), |s, n| {
                s.union(&SourceSet::net(v6, *n))
            })
        }
    };
    let (c4, c6) = (clients(false), clients(true));
    let mut needed: Vec<Needed> = Vec::new();
    let mut wanted: Vec<(Transport, u16, u16)> = Vec::new();
    for e in entries {
        let r = e.requirement;
        let Some(range) = r.ports else { continue };
        if !matches!(r.transport, Transport::Tcp | Transport::Udp) {
            continue;
        }
        wanted.push((r.transport, range.start, range.end));
        if let Some(n) = needed.iter_mut().find(|n| {
            n.transport == r.transport && n.port == range.start && n.port_end == range.end
        }) {
            if !n.services.contains(&r.service().name) {
                n.services.push(r.service().name);
            }
            for role in &e.roles {
                if !n.roles.contains(role) {
                    n.roles.push(role);
                }
            }
            n.optional &= e.optional;
            continue;
        }
        // A range is judged at its first port (the RPC dynamic range is opened whole).
        let verdict = fw.evaluate(r.transport, range.start, None);
        let (cover, allowed_from, missing_from) = match allowed_sets(&verdict) {
            None if matches!(verdict, Verdict::CannotTell { .. }) => {
                (Cover::CannotTell, Vec::new(), Vec::new())
            }
            None => (Cover::Blocked, Vec::new(), texts(&c4, &c6)),
            Some((a4, a6)) => {
                let (in4, in6) = (c4.intersect(&a4), c6.intersect(&a6));
                let (out4, out6) = (c4.minus(&a4), c6.minus(&a6));
                // IPv6 counts only when the clients given have IPv6 (or none were given).
                let v6_matters =
                    from.is_empty() || from.iter().any(|n| matches!(n, ipnet::IpNet::V6(_)));
                let v4_matters =
                    from.is_empty() || from.iter().any(|n| matches!(n, ipnet::IpNet::V4(_)));
                let missing = (v4_matters && !out4.is_empty()) || (v6_matters && !out6.is_empty());
                let some = (v4_matters && !in4.is_empty()) || (v6_matters && !in6.is_empty());
                let cover = match (some, missing) {
                    (true, false) => Cover::Allowed,
                    (true, true) => Cover::Partly,
                    (false, _) => Cover::Blocked,
                };
                let pick = |s4: &SourceSet, s6: &SourceSet| {
                    let mut t = Vec::new();
                    if v4_matters {
                        t.extend(s4.texts());
                    }
                    if v6_matters {
                        t.extend(s6.texts());
                    }
                    t
                };
                (cover, pick(&in4, &in6), pick(&out4, &out6))
            }
        };
        needed.push(Needed {
            transport: r.transport,
            port: range.start,
            port_end: range.end,
            optional: e.optional,
            services: vec![r.service().name],
            roles: e.roles.clone(),
            cover,
            allowed_from,
            missing_from,
            verdict_text: verdict.to_string(),
            verdict,
        });
    }
    needed.sort_by_key(|n| (n.transport, n.port, n.port_end));

    // Everything else the rules let in, port by port, merged into ranges.
    let mut openings: Vec<Opening> = Vec::new();
    for t in [Transport::Tcp, Transport::Udp] {
        let mut cur: Option<Opening> = None;
        for port in 1..=u16::MAX {
            let needed_here = wanted
                .iter()
                .any(|(wt, a, b)| *wt == t && (*a..=*b).contains(&port));
            let v = if needed_here {
                None
            } else {
                Some(fw.evaluate(t, port, None))
            };
            let open = v.as_ref().filter(|v| matches!(v, Verdict::Allowed { .. }));
            match (open, &mut cur) {
                (Some(v), Some(o)) if o.port_end + 1 == port && o.verdict_text == v.to_string() => {
                    o.port_end = port;
                }
                (Some(v), _) => {
                    if let Some(o) = cur.take() {
                        openings.push(o);
                    }
                    let from = match v {
                        Verdict::Allowed { from, .. } => from.clone(),
                        _ => Vec::new(),
                    };
                    cur = Some(Opening {
                        transport: t,
                        port,
                        port_end: port,
                        world: world(v),
                        from,
                        verdict_text: v.to_string(),
                    });
                }
                (None, _) => {
                    if let Some(o) = cur.take() {
                        openings.push(o);
                    }
                }
            }
        }
        if let Some(o) = cur.take() {
            openings.push(o);
        }
    }
    // Worst first: open to the world, then the widest ranges.
    openings.sort_by_key(|o| {
        (
            !o.world,
            std::cmp::Reverse(u32::from(o.port_end) - u32::from(o.port)),
            o.transport,
            o.port,
        )
    });
    let opening_count = openings.len();
    openings.truncate(MAX_OPENINGS);
    let findings = needed
        .iter()
        .any(|n| !n.optional && matches!(n.cover, Cover::Partly | Cover::Blocked))
        || openings.iter().any(|o| o.world);
    RuleAudit {
        kind: match fw {
            Firewall::Nft(_) => "nftables",
            Firewall::Windows(_) => "windows",
            Firewall::Aws(_) => "aws",
            Firewall::Azure(_) => "azure",
            Firewall::Unreadable(_) => "unreadable",
        },
        from: from.iter().map(ToString::to_string).collect(),
        needed,
        openings,
        opening_count,
        findings,
    }
}

fn texts(a: &SourceSet, b: &SourceSet) -> Vec<String> {
    let mut t = a.texts();
    t.extend(b.texts());
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use portq_catalog::roles::{expand, parse_selection};
    use serde_json::json;

    #[test]
    fn a_security_group_is_judged_for_the_dc_role() {
        let fw = Firewall::parse(
            &json!({"SecurityGroups": [{"GroupId": "sg-dc", "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 389, "ToPort": 389, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
                {"IpProtocol": "tcp", "FromPort": 88, "ToPort": 88, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
            ]}]})
            .to_string(),
        )
        .unwrap();
        let dc = expand(&[parse_selection("dc").unwrap()]);
        let a = audit(&fw, &dc, &["10.0.0.0/8".parse().unwrap()]);
        let find = |p: u16| {
            a.needed
                .iter()
                .find(|n| n.port == p && n.transport == Transport::Tcp)
                .unwrap()
        };
        assert_eq!(find(389).cover, Cover::Allowed);
        assert_eq!(find(88).cover, Cover::Partly);
        assert_eq!(find(88).allowed_from, vec!["10.1.0.0/16"]);
        assert_eq!(find(9389).cover, Cover::Blocked);
        assert!(a.findings);
        let rdp = &a.openings[0];
        assert!(rdp.world && rdp.port == 3389, "{:?}", a.openings);
    }
}
