//! nftables: the JSON of `nft -j list ruleset`, and what its input-hook chains do with a
//! new connection from the network (not from `lo`) to one port.
//!
//! Modelled: base chains hooked on `input` in the `inet`, `ip` and `ip6` families, run in
//! priority order (a drop in any of them is final, an accept only ends its own chain);
//! chain policies; `accept`, `drop`, `reject`, `jump`, `goto`, `return`, `continue`;
//! matches on `meta l4proto`, `meta nfproto`, `ip protocol`, `ip6 nexthdr`,
//! `tcp/udp/th dport` (values, ranges, anonymous and named sets), `ct state` (a new
//! connection is `new`), `ct status` (no bit on a first packet; NAT bits known only when
//! no rule translates addresses), `iifname`/`iif` (the packet does not come in on `lo`) and
//! `ip/ip6 saddr` (kept as a source restriction). iptables-nft rules are the same shapes.
//! Anything else (other matches, `xt` extensions, verdict maps, `limit`, `queue`) is
//! "cannot tell" whenever it could change the answer.

use super::sources::SourceSet;
use super::{FirewallError, Verdict, combine};
use crate::LocalListener;
use portq_catalog::Transport;
use serde_json::Value;
use std::net::IpAddr;

/// A parsed ruleset: its chains and named sets.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    chains: Vec<Chain>,
    sets: Vec<NamedSet>,
    /// Filtering nft cannot show (iptables-legacy tables): only a drop is certain.
    hidden: Option<String>,
}

#[derive(Debug, Clone)]
struct Chain {
    family: String,
    table: String,
    name: String,
    /// `(priority, policy is drop)` for input-hook base chains.
    input_hook: Option<(i64, bool)>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    handle: u64,
    comment: Option<String>,
    expr: Vec<Value>,
}

#[derive(Debug, Clone)]
struct NamedSet {
    family: String,
    table: String,
    name: String,
    elems: Vec<Value>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

impl Ruleset {
    /// Reads the `{"nftables": [...]}` document.
    pub fn from_value(v: &Value) -> Result<Ruleset, FirewallError> {
        let items = v
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or_else(|| FirewallError::Malformed("\"nftables\" is not a list".into()))?;
        let mut rs = Ruleset::default();
        let mut rules = Vec::new();
        for item in items {
            if let Some(c) = item.get("chain") {
                let input_hook =
                    (c.get("hook").and_then(Value::as_str) == Some("input")).then(|| {
                        (
                            c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                            c.get("policy").and_then(Value::as_str) == Some("drop"),
                        )
                    });
                rs.chains.push(Chain {
                    family: text(c, "family"),
                    table: text(c, "table"),
                    name: text(c, "name"),
                    input_hook,
                    rules: Vec::new(),
                });
            } else if let Some(s) = item.get("set").or_else(|| item.get("map")) {
                rs.sets.push(NamedSet {
                    family: text(s, "family"),
                    table: text(s, "table"),
                    name: text(s, "name"),
                    elems: s
                        .get("elem")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                });
            } else if let Some(r) = item.get("rule") {
                let expr = r
                    .get("expr")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| FirewallError::Malformed("a rule without \"expr\"".into()))?;
                rules.push((
                    (text(r, "family"), text(r, "table"), text(r, "chain")),
                    Rule {
                        handle: r.get("handle").and_then(Value::as_u64).unwrap_or(0),
                        comment: r.get("comment").and_then(Value::as_str).map(str::to_owned),
                        expr,
                    },
                ));
            }
        }
        for ((family, table, chain), rule) in rules {
            let c = rs
                .chains
                .iter_mut()
                .find(|c| c.family == family && c.table == table && c.name == chain)
                .ok_or_else(|| {
                    FirewallError::Malformed(format!(
                        "a rule of chain {family} {table} {chain}, which is not listed"
                    ))
                })?;
            c.rules.push(rule);
        }
        Ok(rs)
    }

    /// True when some rule translates addresses (`dnat`, `snat`, `redirect`,
    /// `masquerade`): then a connection's `ct status` NAT bits are not known.
    fn has_nat(&self) -> bool {
        self.chains.iter().any(|c| {
            c.rules.iter().any(|r| {
                r.expr.iter().any(|e| {
                    ["dnat", "snat", "redirect", "masquerade"]
                        .iter()
                        .any(|k| e.get(*k).is_some())
                })
            })
        })
    }

    /// True when some rule holds an iptables extension nft shows only by name (`xt`).
    pub fn has_iptables_extensions(&self) -> bool {
        self.chains.iter().any(|c| {
            c.rules
                .iter()
                .any(|r| r.expr.iter().any(|e| e.get("xt").is_some()))
        })
    }

    /// This ruleset with the chains of every (family, table) that `other` has replaced by
    /// `other`'s: iptables-save's full reading of iptables-nft's tables.
    pub fn with_tables_of(mut self, other: Ruleset) -> Ruleset {
        let tables: Vec<(String, String)> = other
            .chains
            .iter()
            .map(|c| (c.family.clone(), c.table.clone()))
            .collect();
        self.chains
            .retain(|c| !tables.contains(&(c.family.clone(), c.table.clone())));
        self.chains.extend(other.chains);
        self
    }

    /// Marks the ruleset as incomplete: something filters that nft does not show (e.g.
    /// iptables-legacy tables); then only a drop is certain, anything else "cannot tell".
    pub fn with_hidden_filtering(mut self, why: impl Into<String>) -> Ruleset {
        self.hidden = Some(why.into());
        self
    }

    /// The verdict for a new connection from the network to `port`.
    pub fn evaluate(
        &self,
        transport: Transport,
        port: u16,
        listener: Option<&LocalListener>,
    ) -> Verdict {
        let families: &[bool] = match listener.map(|l| l.address.ip()) {
            Some(IpAddr::V4(a)) if !a.is_unspecified() => &[false],
            Some(IpAddr::V6(a)) if !a.is_unspecified() && a.to_ipv4_mapped().is_none() => &[true],
            Some(IpAddr::V4(_)) => &[false],
            _ => &[false, true],
        };
        let views = families
            .iter()
            .map(|&v6| {
                let label = if v6 { "IPv6" } else { "IPv4" };
                let pkt = Packet {
                    v6,
                    transport,
                    port,
                    established: false,
                };
                let v = match (self.connection(pkt), &self.hidden) {
                    (v @ Verdict::Blocked { .. }, _) | (v, None) => v,
                    (_, Some(why)) => Verdict::CannotTell {
                        reason: why.clone(),
                    },
                };
                (label.to_owned(), v)
            })
            .collect();
        combine(views)
    }

    /// Whether a connection gets through: its first packet (`ct state new`) and its
    /// later ones (`established`) must both pass. A rule set that accepts the first and
    /// rejects the rest (no `ct state established accept` before a reject) lets no
    /// connection work, and the kernel oracle says so.
    fn connection(&self, pkt: Packet) -> Verdict {
        let first = self.family(pkt);
        let later = self.family(Packet {
            established: true,
            ..pkt
        });
        match (first, later) {
            (Family::Cannot(why), _) | (_, Family::Cannot(why)) => {
                Verdict::CannotTell { reason: why }
            }
            (Family::Blocked { by, explicit }, _) => Verdict::Blocked { by, explicit },
            (_, Family::Blocked { by, explicit }) => Verdict::Blocked {
                by: format!("{by}, for the connection's later packets"),
                explicit,
            },
            (Family::Open(by), Family::Open(_)) => Verdict::open(by),
            (Family::Open(_), Family::Passed { pop, by })
            | (Family::Passed { pop, by }, Family::Open(_)) => allowed(pop, by),
            (
                Family::Passed { pop, by },
                Family::Passed {
                    pop: later,
                    by: later_by,
                },
            ) => {
                let both = pop.intersect(&later);
                if both.is_empty() {
                    Verdict::Blocked {
                        by: format!("{}, for the connection's later packets", later_by.0),
                        explicit: later_by.1,
                    }
                } else {
                    allowed(both, by)
                }
            }
        }
    }

    fn family(&self, pkt: Packet) -> Family {
        let mut bases: Vec<&Chain> = self
            .chains
            .iter()
            .filter(|c| c.input_hook.is_some())
            .filter(|c| match c.family.as_str() {
                "inet" => true,
                "ip" => !pkt.v6,
                "ip6" => pkt.v6,
                _ => false,
            })
            .collect();
        if bases.is_empty() {
            return Family::Open("no host firewall (no input-hook chain)".to_owned());
        }
        bases.sort_by_key(|c| c.input_hook.map(|h| h.0).unwrap_or(0));
        // The sources still let in: a packet passes every base chain of the hook in
        // priority order; an accept ends only its own chain, a drop is final. So what
        // comes out is the intersection of what each chain accepts.
        let mut pop = SourceSet::all(pkt.v6);
        let mut accepted_by: Option<(String, bool)> = None;
        let mut dropped_by: Option<(String, bool)> = None;
        for c in bases {
            let mut walk = Walk {
                rs: self,
                pkt,
                doubts: Vec::new(),
            };
            let out = match walk.chain(c, pop.clone(), 0) {
                Ok(out) => out,
                Err(why) => return Family::Cannot(why),
            };
            let policy_drop = c.input_hook.is_some_and(|h| h.1);
            let policy = (
                format!(
                    "policy {} of {}",
                    if policy_drop { "drop" } else { "accept" },
                    c.label()
                ),
                false,
            );
            let (accept, drop) = if policy_drop {
                (out.accept.clone(), out.drop.union(&out.cont))
            } else {
                (out.accept.union(&out.cont), out.drop.clone())
            };
            // A rule we cannot read matters only where it could change the outcome.
            for d in &walk.doubts {
                let matters = match d.verb {
                    Doubt::Accept => !d.sources.intersect(&drop).is_empty(),
                    Doubt::Drop => !d.sources.intersect(&accept).is_empty(),
                    Doubt::Any => !d.sources.is_empty(),
                };
                if matters {
                    return Family::Cannot(d.why.clone());
                }
            }
            if !drop.is_empty() && dropped_by.is_none() {
                dropped_by = Some(if out.drop.is_empty() {
                    policy.clone()
                } else {
                    out.drop_by.clone().unwrap_or(policy.clone())
                });
            }
            let by = if out.accept.is_empty() {
                Some(policy)
            } else {
                out.accept_by.clone()
            };
            if !accept.is_empty() {
                match (&accepted_by, by) {
                    (None, Some(b)) => accepted_by = Some(b),
                    (Some((_, false)), Some(b)) if b.1 => accepted_by = Some(b),
                    _ => {}
                }
            }
            if accept.is_empty() {
                let (by, explicit) = if out.drop.is_empty() {
                    (
                        format!(
                            "policy {} of {}",
                            if policy_drop { "drop" } else { "accept" },
                            c.label()
                        ),
                        false,
                    )
                } else if pop.minus(&out.drop).is_empty() {
                    out.drop_by.clone().unwrap_or_default()
                } else {
                    dropped_by.clone().unwrap_or_default()
                };
                return Family::Blocked { by, explicit };
            }
            pop = pop.intersect(&accept);
        }
        Family::Passed {
            pop,
            by: accepted_by.unwrap_or_else(|| ("policy accept".to_owned(), false)),
        }
    }
}

/// What the input-hook chains do with one packet, by source.
enum Family {
    /// No input-hook chain: nothing filters.
    Open(String),
    /// These sources pass every chain; the rule (or policy) that let them in.
    Passed { pop: SourceSet, by: (String, bool) },
    /// No source passes.
    Blocked { by: String, explicit: bool },
    /// A rule we cannot read decides.
    Cannot(String),
}

/// The verdict for the sources in `pop`, in the shorter of "from" and "except" form.
fn allowed(pop: SourceSet, (by, explicit): (String, bool)) -> Verdict {
    let (from, except) = if pop.is_all() {
        (Vec::new(), Vec::new())
    } else {
        let rest = pop.complement();
        if rest.cidrs().len() < pop.cidrs().len() {
            (Vec::new(), rest.texts())
        } else {
            (pop.texts(), Vec::new())
        }
    };
    Verdict::Allowed {
        by,
        explicit,
        from,
        except,
        only_for: Vec::new(),
        only_over: Vec::new(),
    }
}

impl Chain {
    fn label(&self) -> String {
        format!("{} {} {}", self.family, self.table, self.name)
    }
}

/// The packet being followed: a new connection from the network.
#[derive(Debug, Clone, Copy)]
struct Packet {
    v6: bool,
    transport: Transport,
    port: u16,
    /// The connection's later packets (`ct state established`) rather than its first
    /// (`new`): a connection works only if both pass.
    established: bool,
}

/// What a rule's matches say about the packet.
#[derive(Debug)]
enum Cond {
    /// Matches.
    Yes,
    /// Does not match.
    No,
    /// Matches for these sources only.
    From(SourceSet),
    /// Cannot be evaluated.
    Unknown(String),
}

/// What a rule does when it matches.
#[derive(Debug)]
enum Verb {
    Accept,
    Drop,
    Jump(String),
    Goto(String),
    Return,
    /// A verdict we do not model (verdict map, queue).
    Other(String),
}

/// The sources a chain decided for, and those that went on (fell through or returned).
struct Out {
    accept: SourceSet,
    drop: SourceSet,
    cont: SourceSet,
    /// The first rule that accepted some sources, and whether it names the port.
    accept_by: Option<(String, bool)>,
    /// The rule that dropped the most sources (the first of equals), and whether it
    /// names the port: a source-bound zone's reject before the default zone's must not
    /// be named as what blocks everyone.
    drop_by: Option<(String, bool)>,
    /// How many sources `drop_by` dropped.
    drop_size: u128,
}

/// What an unreadable rule would have done had it matched.
#[derive(Debug, Clone, Copy)]
enum Doubt {
    Accept,
    Drop,
    Any,
}

/// An unreadable rule on the way: the sources it might have taken, and why.
struct Doubtful {
    verb: Doubt,
    sources: SourceSet,
    why: String,
}

struct Walk<'a> {
    rs: &'a Ruleset,
    pkt: Packet,
    /// Rules we cannot read, with the sources that reached them.
    doubts: Vec<Doubtful>,
}

const MAX_DEPTH: usize = 16;

impl Walk<'_> {
    /// Follows the sources `pop` through chain `c`: which it accepts, drops, and lets go
    /// on. `Err` when a verdict we do not model decides for some of them.
    fn chain(&mut self, c: &Chain, pop: SourceSet, depth: usize) -> Result<Out, String> {
        if depth > MAX_DEPTH {
            return Err(format!("jumps nested deeper than {MAX_DEPTH}"));
        }
        let v6 = self.pkt.v6;
        let mut out = Out {
            accept: SourceSet::empty(v6),
            drop: SourceSet::empty(v6),
            cont: SourceSet::empty(v6),
            accept_by: None,
            drop_by: None,
            drop_size: 0,
        };
        let mut remaining = pop;
        for rule in &c.rules {
            if remaining.is_empty() {
                break;
            }
            let label = rule_label(c, rule);
            let (cond, verb, named) = self.rule(c, rule);
            let Some(verb) = verb else { continue };
            let matched = match cond {
                Cond::No => continue,
                Cond::Yes => remaining.clone(),
                Cond::From(set) => remaining.intersect(&set),
                Cond::Unknown(why) => {
                    // It may or may not match: followed as if it did not, and kept as a
                    // doubt for the sources that reached it.
                    self.doubts.push(Doubtful {
                        verb: match verb {
                            Verb::Accept => Doubt::Accept,
                            Verb::Drop => Doubt::Drop,
                            _ => Doubt::Any,
                        },
                        sources: remaining.clone(),
                        why: format!("{label}: {why}"),
                    });
                    continue;
                }
            };
            if matched.is_empty() {
                continue;
            }
            remaining = remaining.minus(&matched);
            match verb {
                Verb::Accept => {
                    out.accept = out.accept.union(&matched);
                    out.accept_by.get_or_insert((label, named));
                }
                Verb::Drop => {
                    out.drop = out.drop.union(&matched);
                    if out.drop_by.is_none() || matched.size() > out.drop_size {
                        out.drop_size = matched.size();
                        out.drop_by = Some((label, named));
                    }
                }
                Verb::Return => out.cont = out.cont.union(&matched),
                Verb::Other(what) => return Err(format!("{label}: {what}")),
                Verb::Jump(ref target) | Verb::Goto(ref target) => {
                    let goto = matches!(verb, Verb::Goto(_));
                    let Some(t) =
                        self.rs.chains.iter().find(|x| {
                            x.family == c.family && x.table == c.table && x.name == *target
                        })
                    else {
                        return Err(format!("{label}: jump to unknown chain {target}"));
                    };
                    let sub = self.chain(t, matched, depth + 1)?;
                    out.accept = out.accept.union(&sub.accept);
                    out.drop = out.drop.union(&sub.drop);
                    if out.accept_by.is_none() {
                        out.accept_by = sub.accept_by;
                    }
                    if sub.drop_by.is_some()
                        && (out.drop_by.is_none() || sub.drop_size > out.drop_size)
                    {
                        out.drop_size = sub.drop_size;
                        out.drop_by = sub.drop_by;
                    }
                    if goto {
                        // The end of a goto's chain returns past this one.
                        out.cont = out.cont.union(&sub.cont);
                    } else {
                        remaining = remaining.union(&sub.cont);
                    }
                }
            }
        }
        out.cont = out.cont.union(&remaining);
        Ok(out)
    }

    /// The rule's condition for this packet, its verdict (none: it only counts or logs),
    /// and whether it names the port (a destination-port match or verdict map that matched).
    fn rule(&self, c: &Chain, rule: &Rule) -> (Cond, Option<Verb>, bool) {
        let mut named = false;
        let mut sources: Option<SourceSet> = None;
        let mut unknown = None;
        let mut opaque: Option<String> = None;
        let mut verb = None;
        for e in &rule.expr {
            let Some((key, body)) = e.as_object().and_then(|o| o.iter().next()) else {
                unknown.get_or_insert_with(|| "an expression we do not read".to_owned());
                continue;
            };
            match key.as_str() {
                "match" => match self.matches(c, body) {
                    Cond::No => return (Cond::No, None, false),
                    Cond::Yes => named |= is_dport(body.get("left")),
                    Cond::From(s) => {
                        sources = Some(match sources.take() {
                            Some(prev) => prev.intersect(&s),
                            None => s,
                        })
                    }
                    Cond::Unknown(why) => {
                        unknown.get_or_insert(why);
                    }
                },
                "accept" => verb = Some(Verb::Accept),
                "drop" => verb = Some(Verb::Drop),
                "reject" => verb = Some(Verb::Drop),
                "jump" => verb = Some(Verb::Jump(text(body, "target"))),
                "goto" => verb = Some(Verb::Goto(text(body, "target"))),
                "return" => verb = Some(Verb::Return),
                "vmap" => match self.vmap(c, body) {
                    Ok(Some(v)) => {
                        named |= is_dport(body.get("key"));
                        verb = Some(v);
                    }
                    Ok(None) => {}
                    Err(why) => verb = Some(Verb::Other(why)),
                },
                "queue" => verb = Some(Verb::Other("queued to user space".into())),
                // Statements with no say in the verdict.
                "counter" | "log" | "continue" | "mangle" | "notrack" | "set" | "nftrace" => {}
                // Conditions on rate or count: they narrow when the rule applies.
                "limit" | "quota" | "connlimit" | "meter" => {
                    unknown.get_or_insert_with(|| format!("\"{key}\" condition"));
                }
                // iptables-nft's extensions, opaque in nft's JSON but for their names.
                "xt" => {
                    let name = text(body, "name");
                    match (text(body, "type").as_str(), name.as_str()) {
                        // Terminal targets: a verdict, never "nothing" (issue 22: a REJECT
                        // read as no verdict made a rejected port "allowed").
                        ("target", "REJECT" | "DROP") => verb = Some(Verb::Drop),
                        ("target", "ACCEPT") => verb = Some(Verb::Accept),
                        ("target", "RETURN") => verb = Some(Verb::Return),
                        // Targets that mark, log or count and let the packet go on.
                        (
                            "target",
                            "LOG" | "NFLOG" | "ULOG" | "MARK" | "CONNMARK" | "TRACE" | "CT"
                            | "AUDIT" | "CLASSIFY" | "DSCP" | "TOS" | "NOTRACK",
                        ) => {}
                        // Any other target may end the chain either way.
                        ("target", _) => {
                            verb = Some(Verb::Other(format!("iptables target \"{name}\"")))
                        }
                        // A comment matches every packet.
                        ("match", "comment") => {}
                        _ => {
                            unknown.get_or_insert_with(|| format!("iptables extension \"{name}\""));
                        }
                    }
                }
                other => {
                    unknown.get_or_insert_with(|| format!("\"{other}\" statement"));
                    opaque.get_or_insert_with(|| format!("\"{other}\" statement"));
                }
            }
        }
        // A statement we do not know may itself be a verdict: never read it as none.
        if verb.is_none()
            && let Some(what) = opaque
        {
            verb = Some(Verb::Other(what));
        }
        let cond = match (unknown, sources) {
            (Some(why), _) => Cond::Unknown(why),
            (None, None) => Cond::Yes,
            (None, Some(set)) => Cond::From(set),
        };
        (cond, verb, named)
    }

    /// A verdict map (`tcp dport vmap { 22 : accept }`): the verdict of the entry the
    /// packet matches, none when it matches no entry.
    fn vmap(&self, c: &Chain, body: &Value) -> Result<Option<Verb>, String> {
        let key = body.get("key").ok_or("a verdict map without a key")?;
        let data = body.get("data").ok_or("a verdict map without data")?;
        let entries = match data.as_str() {
            Some(_) => self
                .elements(c, data)
                .map(|e| e.into_iter().cloned().collect()),
            None => data.get("set").and_then(Value::as_array).cloned(),
        }
        .ok_or_else(|| format!("verdict map {} not in the ruleset", describe(data)))?;
        for entry in &entries {
            let (Some(k), Some(v)) = (entry.get(0), entry.get(1)) else {
                return Err("a verdict map entry we do not read".into());
            };
            let m = serde_json::json!({"op": "==", "left": key, "right": k});
            match self.matches(c, &m) {
                Cond::No => {}
                Cond::Yes => {
                    let verb = match v
                        .as_object()
                        .and_then(|o| o.keys().next())
                        .map(String::as_str)
                    {
                        Some("accept") => Verb::Accept,
                        Some("drop") => Verb::Drop,
                        Some("reject") => Verb::Drop,
                        Some("jump") => {
                            Verb::Jump(v.get("jump").map(|j| text(j, "target")).unwrap_or_default())
                        }
                        Some("goto") => {
                            Verb::Goto(v.get("goto").map(|j| text(j, "target")).unwrap_or_default())
                        }
                        Some("return") => Verb::Return,
                        _ => Verb::Other("a verdict map entry we do not read".into()),
                    };
                    return Ok(Some(verb));
                }
                Cond::From(_) | Cond::Unknown(_) => {
                    return Err(format!("a verdict map on {}", describe(key)));
                }
            }
        }
        Ok(None)
    }

    fn matches(&self, c: &Chain, m: &Value) -> Cond {
        let op = m.get("op").and_then(Value::as_str).unwrap_or("==");
        let negate = match op {
            "==" | "in" => false,
            "!=" => true,
            other => return Cond::Unknown(format!("comparison \"{other}\"")),
        };
        let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
            return Cond::Unknown("a match we do not read".into());
        };
        let yes = |b: Option<bool>| match b {
            Some(b) if b != negate => Cond::Yes,
            Some(_) => Cond::No,
            None => Cond::Unknown(format!("set {} not in the ruleset", describe(right))),
        };
        let pkt = self.pkt;
        if let Some(meta) = left.get("meta") {
            return match meta.get("key").and_then(Value::as_str).unwrap_or("") {
                "l4proto" => yes(self.contains(c, right, &|v| proto_is(v, pkt.transport))),
                "nfproto" => yes(self.contains(c, right, &|v| {
                    v.as_str() == Some(if pkt.v6 { "ipv6" } else { "ipv4" })
                })),
                "iifname" | "iif" => {
                    // The packet comes from the network, not on lo; other names depend on
                    // the interface, which we do not know.
                    let all_lo = self.all(c, right, &|v| v.as_str() == Some("lo"));
                    match all_lo {
                        Some(true) => yes(Some(false)),
                        _ => Cond::Unknown(format!("input interface {}", describe(right))),
                    }
                }
                k => Cond::Unknown(format!("meta {k}")),
            };
        }
        // An IPv6 extension header (`rt type 0`, `frag ...`): a connection's packets
        // carry none, so a match on one never matches (and its negation always does).
        if left.get("exthdr").is_some() {
            return yes(Some(false));
        }
        // `fib daddr type local`: a connection to a listener here is addressed to a local
        // unicast address, never multicast or broadcast.
        if let Some(fib) = left.get("fib")
            && fib.get("result").and_then(Value::as_str) == Some("type")
        {
            let flags: Vec<&str> = fib
                .get("flags")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if flags == ["daddr"] {
                return yes(self.contains(c, right, &|v| v.as_str() == Some("local")));
            }
            return Cond::Unknown(format!("fib {}", flags.join(" ")));
        }
        if let Some(ct) = left.get("ct") {
            return match ct.get("key").and_then(Value::as_str).unwrap_or("") {
                "state" => {
                    let state = if pkt.established {
                        "established"
                    } else {
                        "new"
                    };
                    yes(self.contains(c, right, &|v| v.as_str() == Some(state)))
                }
                // The connection's status bits (firewalld's `ct status dnat accept`): a
                // first packet has none set; later ones are confirmed and have seen a
                // reply. Address translation is known only absent: with no NAT statement
                // in the ruleset nothing sets `dnat` or `snat`.
                "status" => {
                    let nat = self.rs.has_nat();
                    let Some(flags) = self.elements(c, right) else {
                        return Cond::Unknown(format!("ct status {}", describe(right)));
                    };
                    let mut hit = false;
                    for f in flags {
                        hit |= match f.as_str() {
                            Some("confirmed" | "seen-reply" | "assured") => pkt.established,
                            Some("expected" | "dying") => false,
                            Some("dnat" | "snat") if !nat => false,
                            _ => return Cond::Unknown(format!("ct status {}", describe(f))),
                        };
                    }
                    yes(Some(hit))
                }
                k => Cond::Unknown(format!("ct {k}")),
            };
        }
        if let Some(p) = left.get("payload") {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
            let field = p.get("field").and_then(Value::as_str).unwrap_or("");
            // The header a match reads implies the protocol (nftables adds that check).
            let header_present = match proto {
                "ip" => !pkt.v6,
                "ip6" => pkt.v6,
                "tcp" => pkt.transport == Transport::Tcp,
                "udp" => pkt.transport == Transport::Udp,
                "th" => true,
                // Other layer-4 headers are never those of a TCP or UDP packet.
                "icmp" | "icmpv6" | "sctp" | "dccp" | "esp" | "ah" | "comp" | "udplite"
                | "igmp" | "gre" => false,
                _ => return Cond::Unknown(format!("{proto} {field}")),
            };
            if !header_present {
                return Cond::No;
            }
            if (proto, field) == ("ip", "saddr") || (proto, field) == ("ip6", "saddr") {
                let Some(els) = self.elements(c, right) else {
                    return Cond::Unknown(format!("set {} not in the ruleset", describe(right)));
                };
                let mut set = SourceSet::empty(pkt.v6);
                for e in els {
                    match source_of(e, pkt.v6) {
                        Some(s) => set = set.union(&s),
                        None => {
                            return Cond::Unknown(format!("source {}", describe(e)));
                        }
                    }
                }
                return Cond::From(if negate { set.complement() } else { set });
            }
            return match (proto, field) {
                ("tcp" | "udp" | "th", "dport") => {
                    yes(self.contains(c, right, &|v| port_in(v, pkt.port)))
                }
                ("ip", "protocol") | ("ip6", "nexthdr") => {
                    yes(self.contains(c, right, &|v| proto_is(v, pkt.transport)))
                }
                _ => Cond::Unknown(format!("{proto} {field}")),
            };
        }
        Cond::Unknown(format!("match on {}", describe(left)))
    }

    /// The elements of a right-hand side: a value, a list, an anonymous set or `@named`.
    fn elements<'v>(&'v self, c: &Chain, right: &'v Value) -> Option<Vec<&'v Value>> {
        if let Some(name) = right.as_str().and_then(|s| s.strip_prefix('@')) {
            let set = self
                .rs
                .sets
                .iter()
                .find(|s| s.family == c.family && s.table == c.table && s.name == name)?;
            return Some(set.elems.iter().map(unwrap_elem).collect());
        }
        if let Some(items) = right
            .get("set")
            .and_then(Value::as_array)
            .or(right.as_array())
        {
            return Some(items.iter().map(unwrap_elem).collect());
        }
        Some(vec![right])
    }

    /// Whether any element satisfies `f`; `None` for a named set the ruleset lacks.
    fn contains(&self, c: &Chain, right: &Value, f: &dyn Fn(&Value) -> bool) -> Option<bool> {
        self.elements(c, right).map(|els| els.into_iter().any(f))
    }

    fn all(&self, c: &Chain, right: &Value, f: &dyn Fn(&Value) -> bool) -> Option<bool> {
        self.elements(c, right).map(|els| els.into_iter().all(f))
    }
}

/// One element of a source match as a set: an address, a prefix, a range.
fn source_of(v: &Value, v6: bool) -> Option<SourceSet> {
    if let Some(t) = v.as_str() {
        let a: IpAddr = t.parse().ok()?;
        return Some(SourceSet::range(v6, a, a));
    }
    if let Some(p) = v.get("prefix") {
        let addr: IpAddr = p.get("addr")?.as_str()?.parse().ok()?;
        let len = u8::try_from(p.get("len")?.as_u64()?).ok()?;
        return Some(SourceSet::net(v6, ipnet::IpNet::new(addr, len).ok()?));
    }
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        let a: IpAddr = r.first()?.as_str()?.parse().ok()?;
        let b: IpAddr = r.get(1)?.as_str()?.parse().ok()?;
        return Some(SourceSet::range(v6, a, b));
    }
    None
}

/// True for `tcp dport`, `udp dport`, `th dport`.
fn is_dport(left: Option<&Value>) -> bool {
    left.and_then(|l| l.get("payload"))
        .and_then(|p| p.get("field"))
        .and_then(Value::as_str)
        == Some("dport")
}

/// `{"elem": {"val": x, ...}}` (elements with counters or timeouts) is just `x`.
fn unwrap_elem(v: &Value) -> &Value {
    v.get("elem").and_then(|e| e.get("val")).unwrap_or(v)
}

fn proto_is(v: &Value, t: Transport) -> bool {
    match (v.as_str(), v.as_u64()) {
        (Some(s), _) => s.eq_ignore_ascii_case(t.as_str()),
        (_, Some(n)) => (n == 6 && t == Transport::Tcp) || (n == 17 && t == Transport::Udp),
        _ => false,
    }
}

fn port_in(v: &Value, port: u16) -> bool {
    if let Some(n) = v.as_u64() {
        return n == u64::from(port);
    }
    if let Some(r) = v.get("range").and_then(Value::as_array)
        && let (Some(a), Some(b)) = (
            r.first().and_then(Value::as_u64),
            r.get(1).and_then(Value::as_u64),
        )
    {
        return (a..=b).contains(&u64::from(port));
    }
    false
}

/// A right-hand side as nft would write it, for the report.
fn describe(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        return s.to_owned();
    }
    if let Some(n) = v.as_u64() {
        return n.to_string();
    }
    if let Some(p) = v.get("prefix") {
        return format!(
            "{}/{}",
            text(p, "addr"),
            p.get("len").and_then(Value::as_u64).unwrap_or(0)
        );
    }
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        return r.iter().map(describe).collect::<Vec<_>>().join("-");
    }
    if let Some(items) = v.get("set").and_then(Value::as_array).or(v.as_array()) {
        return items
            .iter()
            .map(|i| describe(unwrap_elem(i)))
            .collect::<Vec<_>>()
            .join(", ");
    }
    if let Some((k, inner)) = v.as_object().and_then(|o| o.iter().next()) {
        return match inner.get("key").and_then(Value::as_str) {
            Some(key) => format!("{k} {key}"),
            None => match (inner.get("protocol"), inner.get("field")) {
                (Some(p), Some(f)) => {
                    format!("{} {}", p.as_str().unwrap_or(""), f.as_str().unwrap_or(""))
                }
                _ => k.clone(),
            },
        };
    }
    v.to_string()
}

fn rule_label(c: &Chain, r: &Rule) -> String {
    match &r.comment {
        Some(comment) => format!("rule \"{comment}\""),
        None => format!("rule {} handle {}", c.label(), r.handle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Owner;
    use serde_json::json;

    /// Recorded from a throwaway namespace: `nft -f` of the shapes, then `nft -j list ruleset`.
    const SHAPES: &str = include_str!("../../tests/fixtures/firewall/nft-shapes.json");
    /// Recorded the same way from `iptables` (iptables-nft) commands.
    const IPTABLES: &str = include_str!("../../tests/fixtures/firewall/iptables-nft.json");

    /// Recorded in the Samba DC lab's namespace: iptables-nft's empty `ip`/`ip6 filter`
    /// tables (policy accept) next to an `inet filter` table with a drop policy.
    const DC1: &str = include_str!("../../tests/fixtures/firewall/nft-dc1-lab.json");

    fn parse(text: &str) -> Ruleset {
        Ruleset::from_value(&serde_json::from_str(text).unwrap()).unwrap()
    }

    fn v4(port: u16) -> LocalListener {
        LocalListener {
            transport: Transport::Tcp,
            address: format!("10.0.0.1:{port}").parse().unwrap(),
            owner: Some(Owner {
                pid: 1,
                name: "x".into(),
                path: String::new(),
                services: vec![],
            }),
        }
    }

    fn tcp(rs: &Ruleset, port: u16) -> String {
        rs.evaluate(Transport::Tcp, port, Some(&v4(port)))
            .to_string()
    }

    /// A ruleset from base chains `(family, table, chain, prio, policy)`, regular chains
    /// and rules `(family, table, chain, expr)`.
    /// `(family, table, name, Some((priority, policy)) for an input-hook base chain)`.
    type ChainSpec<'a> = (&'a str, &'a str, &'a str, Option<(i64, &'a str)>);

    fn build(
        chains: &[ChainSpec],
        rules: Vec<(&str, &str, &str, Value)>,
        extra: Vec<Value>,
    ) -> Ruleset {
        let mut items = vec![json!({"metainfo": {"json_schema_version": 1}})];
        for (family, table, name, hook) in chains {
            let mut c = json!({"family": family, "table": table, "name": name, "handle": 1});
            if let Some((prio, policy)) = hook {
                c["type"] = json!("filter");
                c["hook"] = json!("input");
                c["prio"] = json!(prio);
                c["policy"] = json!(policy);
            }
            items.push(json!({ "chain": c }));
        }
        items.extend(extra);
        for (i, (family, table, chain, expr)) in rules.into_iter().enumerate() {
            items.push(
                json!({"rule": {"family": family, "table": table, "chain": chain,
                "handle": 100 + i, "expr": expr}}),
            );
        }
        Ruleset::from_value(&json!({ "nftables": items })).unwrap()
    }

    fn dport(proto: &str, right: Value) -> Value {
        json!({"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "dport"}}, "right": right}})
    }

    #[test]
    fn recorded_nft_shapes() {
        let rs = parse(SHAPES);
        assert_eq!(tcp(&rs, 389), "allowed");
        let v = rs.evaluate(Transport::Tcp, 389, Some(&v4(389)));
        assert!(
            matches!(&v, Verdict::Allowed { by, explicit: true, .. } if by == "rule \"kerberos and ldap\""),
            "{v:?}"
        );
        assert_eq!(rs.evaluate(Transport::Udp, 88, None).to_string(), "allowed");
        assert_eq!(tcp(&rs, 445), "blocked (rule inet pqfw input handle 12)");
        assert_eq!(tcp(&rs, 138), "blocked (rule inet pqfw input handle 13)");
        // A port no rule names falls to the policy.
        assert_eq!(tcp(&rs, 12345), "blocked (policy drop of inet pqfw input)");
        assert!(matches!(
            rs.evaluate(Transport::Tcp, 12345, None),
            Verdict::Blocked {
                explicit: false,
                ..
            }
        ));
        // Source restrictions, from a prefix and from a named set.
        assert_eq!(tcp(&rs, 636), "allowed (from 10.200.0.0/16)");
        assert_eq!(tcp(&rs, 3389), "allowed (from 10.0.0.0/8, 192.168.1.5)");
        // `ip saddr` never matches IPv6: without a listener both families count.
        assert_eq!(
            rs.evaluate(Transport::Tcp, 636, None).to_string(),
            "allowed (from 10.200.0.0/16; IPv4 only)"
        );
        // Named port set, th dport with an l4proto set (both TCP and UDP).
        assert_eq!(tcp(&rs, 3268), "allowed");
        assert_eq!(tcp(&rs, 53), "allowed");
        assert_eq!(rs.evaluate(Transport::Udp, 53, None).to_string(), "allowed");
        assert_eq!(
            rs.evaluate(Transport::Udp, 3268, None).to_string(),
            "blocked (policy drop of inet pqfw input)"
        );
        // jump to a chain that accepts some sources, then returns to the policy.
        assert_eq!(tcp(&rs, 5985), "allowed (from 10.1.0.0/16)");
        // Verdict maps on the port.
        assert_eq!(tcp(&rs, 7000), "allowed");
        assert_eq!(tcp(&rs, 7001), "blocked (rule inet pqfw input handle 23)");
        // Shapes we do not model, before a policy drop.
        for (port, why) in [
            (8080, "input interface eth0"),
            (9000, "tcp flags"),
            (2222, "\"limit\" condition"),
        ] {
            let v = tcp(&rs, port);
            assert!(
                v.starts_with("cannot tell (") && v.contains(why),
                "{port}: {v}"
            );
        }
    }

    #[test]
    fn recorded_in_the_lab_namespace() {
        let rs = parse(DC1);
        assert_eq!(tcp(&rs, 389), "allowed");
        assert_eq!(tcp(&rs, 445), "blocked (rule \"no smb\")");
        assert_eq!(tcp(&rs, 88), "blocked (policy drop of inet filter input)");
        assert_eq!(tcp(&rs, 636), "allowed (from 10.200.0.0/24)");
        // Both families pass through the inet table; IPv6 cannot come from 10.200.0.0/24.
        assert_eq!(
            rs.evaluate(Transport::Tcp, 636, None).to_string(),
            "allowed (from 10.200.0.0/24; IPv4 only)"
        );
        assert_eq!(
            rs.evaluate(Transport::Tcp, 9389, None).to_string(),
            "allowed"
        );
    }

    #[test]
    fn recorded_iptables_nft() {
        let rs = parse(IPTABLES);
        // An accept after an xt match we cannot read: the packet is accepted either way.
        assert_eq!(tcp(&rs, 80), "allowed");
        // Before a policy drop, the xt conntrack accept could let it in: cannot tell.
        let v = tcp(&rs, 443);
        assert!(v.contains("cannot tell") && v.contains("conntrack"), "{v}");
        let v = tcp(&rs, 22);
        assert!(v.contains("cannot tell"), "{v}");
        // IPv6 has no input chain here.
        let l6 = LocalListener {
            address: "[fd00::1]:443".parse().unwrap(),
            ..v4(443)
        };
        assert_eq!(
            rs.evaluate(Transport::Tcp, 443, Some(&l6)).to_string(),
            "allowed"
        );
    }

    #[test]
    fn only_rules_that_name_the_port_are_explicit() {
        let from = json!({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}});
        let rs = build(
            &[("inet", "f", "input", Some((0, "drop")))],
            vec![
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(22)), {"accept": null}]),
                ),
                ("inet", "f", "input", json!([from, {"accept": null}])),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("udp", json!(53)), {"counter": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}}, {"accept": null}]),
                ),
            ],
            vec![],
        );
        let explicit = |t, p| match rs.evaluate(t, p, None) {
            Verdict::Allowed { explicit, .. } => explicit,
            v => panic!("{v:?}"),
        };
        assert!(explicit(Transport::Tcp, 22));
        // "everything from 10.0.0.0/8" and "all UDP" are allowances, not holes for a port.
        assert!(!explicit(Transport::Tcp, 80));
        assert!(!explicit(Transport::Udp, 53));
        assert_eq!(
            rs.evaluate(Transport::Tcp, 80, Some(&v4(80))).to_string(),
            "allowed (from 10.0.0.0/8)"
        );
    }

    #[test]
    fn hidden_filtering_leaves_only_drops_certain() {
        let rs = parse(SHAPES).with_hidden_filtering("iptables-legacy tables: filter");
        assert_eq!(tcp(&rs, 445), "blocked (rule inet pqfw input handle 12)");
        assert_eq!(
            tcp(&rs, 389),
            "cannot tell (iptables-legacy tables: filter)"
        );
    }

    #[test]
    fn no_input_chain_means_no_host_firewall() {
        let rs = parse(r#"{"nftables": [{"metainfo": {"json_schema_version": 1}}]}"#);
        let v = rs.evaluate(Transport::Tcp, 22, None);
        assert!(
            matches!(&v, Verdict::Allowed { explicit: false, by, .. } if by.contains("no host firewall")),
            "{v:?}"
        );
        // An output-hook chain does not filter inbound traffic.
        let out = build(&[("inet", "t", "out", None)], vec![], vec![]);
        assert_eq!(tcp(&out, 22), "allowed");
    }

    #[test]
    fn a_drop_in_any_input_chain_is_final_whatever_the_order() {
        for (pa, pb) in [(-10, 10), (10, -10)] {
            let rs = build(
                &[
                    ("inet", "a", "in", Some((pa, "accept"))),
                    ("ip", "b", "INPUT", Some((pb, "accept"))),
                ],
                vec![
                    (
                        "inet",
                        "a",
                        "in",
                        json!([dport("tcp", json!(22)), {"accept": null}]),
                    ),
                    (
                        "ip",
                        "b",
                        "INPUT",
                        json!([dport("tcp", json!(22)), {"drop": null}]),
                    ),
                ],
                vec![],
            );
            assert_eq!(tcp(&rs, 22), "blocked (rule ip b INPUT handle 101)");
            assert_eq!(tcp(&rs, 80), "allowed");
            // The ip table does not see IPv6.
            let l6 = LocalListener {
                address: "[fd00::1]:22".parse().unwrap(),
                ..v4(22)
            };
            assert_eq!(
                rs.evaluate(Transport::Tcp, 22, Some(&l6)).to_string(),
                "allowed"
            );
            assert_eq!(
                rs.evaluate(Transport::Tcp, 22, None).to_string(),
                "allowed (IPv6 only)"
            );
        }
    }

    fn saddr(net: &str) -> Value {
        let (addr, len) = net.split_once('/').unwrap();
        json!({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
            "right": {"prefix": {"addr": addr, "len": len.parse::<u64>().unwrap()}}}})
    }

    /// Issue 22: two input base chains (two tables, or priorities -10 and 10) that each
    /// accept 3268 from their own sources: the kernel lets through only what passes both.
    /// portq used to report the union, "allowed (from 10.241.0.0/24, 10.99.0.0/16)".
    #[test]
    fn two_input_chains_allow_the_intersection_of_their_sources() {
        for (pa, pb, ta, tb) in [(-10, 10, "a", "a"), (10, -10, "a", "b"), (0, 0, "a", "b")] {
            let (ca, cb) = ("in1", "in2");
            let rs = build(
                &[
                    ("inet", ta, ca, Some((pa, "drop"))),
                    ("inet", tb, cb, Some((pb, "drop"))),
                ],
                vec![
                    (
                        "inet",
                        ta,
                        ca,
                        json!([saddr("10.241.0.0/24"), dport("tcp", json!(3268)), {"accept": null}]),
                    ),
                    (
                        "inet",
                        tb,
                        cb,
                        json!([saddr("10.99.0.0/16"), dport("tcp", json!(3268)), {"accept": null}]),
                    ),
                    (
                        "inet",
                        ta,
                        ca,
                        json!([saddr("10.0.0.0/8"), dport("tcp", json!(389)), {"accept": null}]),
                    ),
                    (
                        "inet",
                        tb,
                        cb,
                        json!([saddr("10.99.1.0/24"), dport("tcp", json!(389)), {"accept": null}]),
                    ),
                ],
                vec![],
            );
            let v = rs.evaluate(Transport::Tcp, 3268, Some(&v4(3268)));
            assert!(matches!(v, Verdict::Blocked { .. }), "{pa} {pb}: {v}");
            assert_eq!(tcp(&rs, 389), "allowed (from 10.99.1.0/24)", "{pa} {pb}");
        }
    }

    /// Issue 22: `-A INPUT -p tcp --dport 22 -j REJECT` (iptables-nft) under an accept
    /// policy read "allowed": the REJECT target is an opaque `xt` statement in nft's JSON
    /// and was skipped as if it did nothing.
    #[test]
    fn an_iptables_reject_target_blocks() {
        let reject = json!({"xt": {"type": "target", "name": "REJECT"}});
        let comment = json!({"xt": {"type": "match", "name": "comment"}});
        let rs = build(
            &[("ip", "filter", "INPUT", Some((0, "accept")))],
            vec![(
                "ip",
                "filter",
                "INPUT",
                json!([dport("tcp", json!(22)), comment, {"counter": {"packets": 0, "bytes": 0}}, reject]),
            )],
            vec![],
        );
        assert!(tcp(&rs, 22).starts_with("blocked"), "{}", tcp(&rs, 22));
        assert_eq!(tcp(&rs, 80), "allowed");
        // An extension we cannot read that ends in a terminal target is no verdict of
        // "nothing": it could change the answer.
        let opaque = build(
            &[("ip", "filter", "INPUT", Some((0, "accept")))],
            vec![(
                "ip",
                "filter",
                "INPUT",
                json!([{"xt": {"type": "match", "name": "multiport"}}, {"xt": {"type": "target", "name": "REJECT"}}]),
            )],
            vec![],
        );
        assert!(
            tcp(&opaque, 22).starts_with("cannot tell"),
            "{}",
            tcp(&opaque, 22)
        );
        // An unknown target is never skipped.
        let odd = build(
            &[("ip", "filter", "INPUT", Some((0, "accept")))],
            vec![(
                "ip",
                "filter",
                "INPUT",
                json!([dport("tcp", json!(22)), {"xt": {"type": "target", "name": "TARPIT"}}]),
            )],
            vec![],
        );
        assert!(
            tcp(&odd, 22).starts_with("cannot tell"),
            "{}",
            tcp(&odd, 22)
        );
    }

    #[test]
    fn new_connections_skip_established_and_loopback_rules() {
        let ct = |right: Value| json!({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": right}});
        let lo =
            json!({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}});
        let rs = build(
            &[("inet", "f", "input", Some((0, "drop")))],
            vec![
                (
                    "inet",
                    "f",
                    "input",
                    json!([ct(json!(["established", "related"])), {"accept": null}]),
                ),
                ("inet", "f", "input", json!([lo, {"accept": null}])),
                (
                    "inet",
                    "f",
                    "input",
                    json!([ct(json!("new")), dport("tcp", json!(25)), {"accept": null}]),
                ),
            ],
            vec![],
        );
        assert_eq!(tcp(&rs, 22), "blocked (policy drop of inet f input)");
        assert_eq!(tcp(&rs, 25), "allowed");
        // ICMP rules are not about TCP or UDP ports.
        let icmp = json!({"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": "echo-request"}});
        let rs = build(
            &[("inet", "f", "input", Some((0, "drop")))],
            vec![("inet", "f", "input", json!([icmp, {"accept": null}]))],
            vec![],
        );
        assert_eq!(tcp(&rs, 22), "blocked (policy drop of inet f input)");
        // An interface other than lo: we do not know which one the packet comes in on.
        let rs = build(
            &[("inet", "f", "input", Some((0, "drop")))],
            vec![(
                "inet",
                "f",
                "input",
                json!([{"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, dport("tcp", json!(22)), {"accept": null}]),
            )],
            vec![],
        );
        assert_eq!(tcp(&rs, 22), "allowed");
    }

    #[test]
    fn unknown_rules_only_matter_when_they_could_change_the_answer() {
        let flags = json!({"match": {"op": "in", "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": "syn"}});
        // Unknown drop, then a drop anyway: blocked. Unknown accept, then drop: cannot tell.
        let rs = build(
            &[("inet", "f", "input", Some((0, "drop")))],
            vec![
                (
                    "inet",
                    "f",
                    "input",
                    json!([flags.clone(), dport("tcp", json!(22)), {"drop": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([flags.clone(), dport("tcp", json!(23)), {"accept": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([flags, dport("tcp", json!(24)), {"accept": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(24)), {"accept": null}]),
                ),
            ],
            vec![],
        );
        assert_eq!(tcp(&rs, 22), "blocked (policy drop of inet f input)");
        assert!(tcp(&rs, 23).starts_with("cannot tell (rule inet f input handle 101: tcp flags"));
        assert_eq!(tcp(&rs, 24), "allowed");
        // A rule that only counts decides nothing.
        let rs = build(
            &[("inet", "f", "input", Some((0, "accept")))],
            vec![(
                "inet",
                "f",
                "input",
                json!([{"limit": {"rate": 1}}, {"counter": null}]),
            )],
            vec![],
        );
        assert_eq!(tcp(&rs, 22), "allowed");
    }

    #[test]
    fn jumps_gotos_and_loops() {
        let rs = build(
            &[
                ("inet", "f", "input", Some((0, "accept"))),
                ("inet", "f", "svc", None),
                ("inet", "f", "deny", None),
                ("inet", "f", "loop", None),
            ],
            vec![
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(22)), {"jump": {"target": "svc"}}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(22)), {"drop": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(23)), {"goto": {"target": "svc"}}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(23)), {"drop": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(25)), {"jump": {"target": "deny"}}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(26)), {"jump": {"target": "loop"}}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!(27)), {"jump": {"target": "nowhere"}}]),
                ),
                ("inet", "f", "svc", json!([{"counter": null}])),
                ("inet", "f", "deny", json!([{"reject": null}])),
                ("inet", "f", "loop", json!([{"jump": {"target": "loop"}}])),
            ],
            vec![],
        );
        // jump returns to the caller, which drops.
        assert_eq!(tcp(&rs, 22), "blocked (rule inet f input handle 101)");
        // goto does not return: the base chain's policy decides.
        assert_eq!(tcp(&rs, 23), "allowed");
        assert_eq!(tcp(&rs, 25), "blocked (rule inet f deny handle 108)");
        assert!(tcp(&rs, 26).contains("nested deeper"));
        assert!(tcp(&rs, 27).contains("unknown chain nowhere"));
    }

    #[test]
    fn sets_ranges_and_protocol_numbers() {
        let set = json!({"set": {"family": "inet", "table": "f", "name": "svc", "type": "inet_service",
            "elem": [{"range": [1000, 1010]}, {"elem": {"val": 2000, "counter": {"packets": 0}}}]}});
        let rs = build(
            &[("inet", "f", "input", Some((0, "drop")))],
            vec![
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("tcp", json!("@svc")), {"accept": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([dport("udp", json!("@gone")), {"accept": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": 17}},
                           {"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": {"range": [60000, 60010]}}},
                           {"accept": null}]),
                ),
                (
                    "inet",
                    "f",
                    "input",
                    json!([{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}},
                           dport("tcp", json!(3000)), {"accept": null}]),
                ),
            ],
            vec![set],
        );
        assert_eq!(tcp(&rs, 1005), "allowed");
        assert_eq!(tcp(&rs, 2000), "allowed");
        assert_eq!(tcp(&rs, 1011), "blocked (policy drop of inet f input)");
        assert!(
            rs.evaluate(Transport::Udp, 53, None)
                .to_string()
                .contains("set @gone not in the ruleset")
        );
        let udp = |p| {
            rs.evaluate(
                Transport::Udp,
                p,
                Some(&LocalListener {
                    transport: Transport::Udp,
                    ..v4(p)
                }),
            )
            .to_string()
        };
        // The unresolvable @gone rule could only accept, and the range rule accepts anyway.
        assert_eq!(udp(60005), "allowed");
        assert_eq!(tcp(&rs, 3000), "allowed (except from 10.0.0.0/8)");
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for bad in [
            json!({"nftables": {}}),
            json!({"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "c"}}]}),
            json!({"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "c", "expr": []}}]}),
        ] {
            assert!(Ruleset::from_value(&bad).is_err(), "{bad}");
        }
        // Odd but well-formed shapes give answers, not panics.
        let odd = json!({"nftables": [
            {"chain": {"family": "inet", "table": "t", "name": "c", "hook": "input", "prio": "x", "policy": "drop"}},
            {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [7, {"match": 1}, {"match": {"op": "<"}}, {"accept": null}]}}
        ]});
        let rs = Ruleset::from_value(&odd).unwrap();
        assert!(tcp(&rs, 1).starts_with("cannot tell"));
    }
}
