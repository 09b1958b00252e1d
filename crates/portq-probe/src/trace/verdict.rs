//! From what came back to what it means: a trace's answers per probe become the hops
//! and one verdict per port (reached, rejected by a router, silent after a hop). Pure.

use crate::finding::Transport;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::wire::unreachable_meaning;

/// How one probe was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Answer {
    /// ICMP time exceeded: the router at that hop.
    TimeExceeded,
    /// ICMP destination unreachable with its code.
    Unreachable(u8),
    /// The target accepted the SYN.
    SynAck,
    /// The target reset it (closed, but there).
    Rst,
    /// The target answered the UDP request.
    UdpReply,
}

impl Answer {
    fn token(self) -> &'static str {
        match self {
            Answer::TimeExceeded => "time_exceeded",
            Answer::Unreachable(_) => "unreachable",
            Answer::SynAck => "syn_ack",
            Answer::Rst => "rst",
            Answer::UdpReply => "udp_reply",
        }
    }
}

/// One answer as the receiver matched it to a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The answered probe's TTL; `None` for a UDP answer, which quotes no probe.
    pub ttl: Option<u8>,
    /// Who answered.
    pub from: Ipv4Addr,
    /// What it said.
    pub answer: Answer,
    /// Time from the probe to the answer (`None` when the probe is not known).
    pub rtt: Option<Duration>,
}

/// Everything one traced port's probes got back.
#[derive(Debug, Clone)]
pub struct FlowLog {
    /// The target.
    pub target: Ipv4Addr,
    /// TCP or UDP.
    pub transport: Transport,
    /// Probes sent per TTL.
    pub sent: BTreeMap<u8, u32>,
    /// The answers, one per probe at most (and a bounded few UDP answers).
    pub observations: Vec<Observation>,
    /// Later answers to an already answered probe from another address.
    pub conflicts: u32,
}

/// What the target said when it was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetAnswer {
    /// SYN-ACK: something listens.
    SynAck,
    /// RST: the host is there, the port closed.
    Rst,
    /// A UDP answer.
    UdpReply,
    /// ICMP port unreachable from the host itself: the UDP port is closed.
    PortUnreachable,
}

impl TargetAnswer {
    /// For people: `SYN-ACK`.
    pub fn text(self) -> &'static str {
        match self {
            TargetAnswer::SynAck => "SYN-ACK",
            TargetAnswer::Rst => "RST",
            TargetAnswer::UdpReply => "UDP answer",
            TargetAnswer::PortUnreachable => "ICMP port unreachable from the host",
        }
    }
}

/// Where one port's probes ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The target itself answered, `hop` hops away.
    Reached {
        /// The hop count to the target.
        hop: u8,
        /// What it answered.
        answer: TargetAnswer,
        /// The fastest answer's round trip, in milliseconds.
        rtt_ms: Option<f64>,
        /// True when the hop is inferred (a UDP answer quotes no probe: one past the last
        /// router that said time-exceeded).
        hop_inferred: bool,
    },
    /// A router (or the host's own filter) sent ICMP destination unreachable.
    Rejected {
        /// The rejecting router's hop (where it said time-exceeded, else the first
        /// probe it rejected).
        hop: u8,
        /// Its address.
        router: IpAddr,
        /// Its PTR name, when asked and known.
        #[serde(skip_serializing_if = "Option::is_none")]
        router_name: Option<String>,
        /// The ICMP code.
        icmp_code: u8,
        /// What the code usually means.
        meaning: &'static str,
    },
    /// Nothing answered past `last_hop`.
    Silent {
        /// The last hop that answered time-exceeded (`None`: not even the first).
        last_hop: Option<u8>,
        /// Its router.
        last_router: Option<IpAddr>,
        /// Its PTR name, when asked and known.
        #[serde(skip_serializing_if = "Option::is_none")]
        last_router_name: Option<String>,
        /// The first hop that stayed silent.
        first_silent_hop: u8,
        /// Why this may not be the drop's place, when the answers suggest so.
        #[serde(skip_serializing_if = "Option::is_none")]
        uncertain: Option<String>,
    },
    /// Not traced (IPv6, or the trace could not send).
    NotTraced {
        /// Why.
        reason: String,
    },
}

fn addr_text(a: IpAddr, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} ({a})"),
        None => a.to_string(),
    }
}

impl Verdict {
    /// The short token: `reached`, `rejected`, `silent`, `not_traced`.
    pub fn token(&self) -> &'static str {
        match self {
            Verdict::Reached { .. } => "reached",
            Verdict::Rejected { .. } => "rejected",
            Verdict::Silent { .. } => "silent",
            Verdict::NotTraced { .. } => "not_traced",
        }
    }

    /// One line for people: `silent after hop 2 (10.201.241.2)`.
    pub fn text(&self) -> String {
        match self {
            Verdict::Reached {
                hop,
                answer,
                rtt_ms,
                ..
            } => match rtt_ms {
                Some(ms) => format!("reached at hop {hop} ({}, {ms:.3} ms)", answer.text()),
                None => format!("reached at hop {hop} ({})", answer.text()),
            },
            Verdict::Rejected {
                hop,
                router,
                router_name,
                icmp_code,
                meaning,
            } => format!(
                "rejected at hop {hop} by {}: ICMP unreachable code {icmp_code}, {meaning}",
                addr_text(*router, router_name.as_deref())
            ),
            Verdict::Silent {
                last_hop,
                last_router,
                last_router_name,
                first_silent_hop,
                uncertain,
            } => {
                let mut s = match (last_hop, last_router) {
                    (Some(h), Some(r)) => format!(
                        "silent after hop {h} at {}; hop {first_silent_hop} on never answered",
                        addr_text(*r, last_router_name.as_deref())
                    ),
                    _ => format!("silent from hop {first_silent_hop}: no router answered"),
                };
                if let Some(u) = uncertain {
                    s.push_str("; uncertain: ");
                    s.push_str(u);
                }
                s
            }
            Verdict::NotTraced { reason } => format!("not traced: {reason}"),
        }
    }

    /// The router a FILTERED port's probes were last seen at or rejected by.
    pub fn dropped_after(&self) -> Option<(u8, IpAddr)> {
        match self {
            Verdict::Rejected { hop, router, .. } => Some((*hop, *router)),
            Verdict::Silent {
                last_hop: Some(h),
                last_router: Some(r),
                ..
            } => Some((*h, *r)),
            _ => None,
        }
    }
}

/// One address that answered at one hop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HopReply {
    /// Who answered.
    pub address: IpAddr,
    /// Its PTR name, when asked and known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `time_exceeded`, `unreachable`, `syn_ack`, `rst` or `udp_reply`.
    pub answer: &'static str,
    /// The ICMP code of an unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// How many probes it answered.
    pub count: u32,
    /// Fastest, average and slowest round trip, in milliseconds.
    pub rtt_ms: [f64; 3],
}

/// Milliseconds rounded to the microsecond (what a clock read after a socket read can
/// tell).
fn micros(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// One TTL: how many probes went, who answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    /// The TTL (the hop number).
    pub ttl: u8,
    /// Probes sent with it.
    pub sent: u32,
    /// Who answered (empty: `*`).
    pub replies: Vec<HopReply>,
}

impl Hop {
    fn answered(&self) -> u32 {
        self.replies.iter().map(|r| r.count).sum()
    }
}

/// The hops of a log, every TTL sent up to `until`.
fn hops(log: &FlowLog, until: u8) -> Vec<Hop> {
    let mut out = Vec::new();
    for (&ttl, &sent) in log.sent.range(..=until) {
        let mut groups: BTreeMap<(Ipv4Addr, Answer), Vec<Duration>> = BTreeMap::new();
        for o in log.observations.iter().filter(|o| o.ttl == Some(ttl)) {
            groups.entry((o.from, o.answer)).or_default().extend(o.rtt);
        }
        let mut replies: Vec<HopReply> = groups
            .into_iter()
            .map(|((from, answer), rtts)| {
                let ms: Vec<f64> = rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
                let count = log
                    .observations
                    .iter()
                    .filter(|o| o.ttl == Some(ttl) && o.from == from && o.answer == answer)
                    .count();
                let (min, max) = ms
                    .iter()
                    .fold((f64::INFINITY, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
                let avg = if ms.is_empty() {
                    0.0
                } else {
                    ms.iter().sum::<f64>() / ms.len() as f64
                };
                HopReply {
                    address: IpAddr::V4(from),
                    name: None,
                    answer: answer.token(),
                    icmp_code: match answer {
                        Answer::Unreachable(c) => Some(c),
                        _ => None,
                    },
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    rtt_ms: if ms.is_empty() {
                        [0.0; 3]
                    } else {
                        [min, avg, max].map(micros)
                    },
                }
            })
            .collect();
        replies.sort_by(|a, b| b.count.cmp(&a.count).then(a.address.cmp(&b.address)));
        out.push(Hop { ttl, sent, replies });
    }
    out
}

/// The verdict, the hops that show it, and whether answers at one hop came from more
/// than one address (load balancing, or a path that changed between probes).
pub fn decide(log: &FlowLog) -> (Verdict, Vec<Hop>, bool) {
    let target = log.target;
    let udp = log.transport == Transport::Udp;
    let from_target = |o: &&Observation| o.from == target;
    let min_rtt = |it: &mut dyn Iterator<Item = &Observation>| {
        it.filter_map(|o| o.rtt)
            .min()
            .map(|d| micros(d.as_secs_f64() * 1000.0))
    };
    let last_te = log
        .observations
        .iter()
        .filter(|o| o.answer == Answer::TimeExceeded && o.from != target)
        .filter_map(|o| o.ttl)
        .max();
    let max_sent = log.sent.keys().next_back().copied().unwrap_or(0);
    let first_sent = log.sent.keys().next().copied().unwrap_or(1);

    // Reached: the target's own answer.
    let reached: Vec<&Observation> = log
        .observations
        .iter()
        .filter(from_target)
        .filter(|o| match o.answer {
            Answer::SynAck | Answer::Rst | Answer::UdpReply => true,
            Answer::Unreachable(3) => udp,
            _ => false,
        })
        .collect();
    // Rejected: an unreachable from a router, or from the host for anything but a
    // closed UDP port.
    let rejected: Vec<&Observation> = log
        .observations
        .iter()
        .filter(|o| match o.answer {
            Answer::Unreachable(3) => !(udp && o.from == target),
            Answer::Unreachable(_) => true,
            _ => false,
        })
        .collect();
    let varies_between = !reached.is_empty() && !rejected.is_empty();

    let (verdict, until) = if !reached.is_empty() {
        let timed = reached.iter().filter_map(|o| o.ttl).min();
        let (hop, inferred) = match timed {
            Some(h) => (h, false),
            None => (last_te.map_or(first_sent, |t| t.saturating_add(1)), true),
        };
        let best = reached
            .iter()
            .min_by_key(|o| (o.ttl.is_none(), o.ttl, o.rtt))
            .map(|o| o.answer);
        let answer = match best {
            Some(Answer::SynAck) => TargetAnswer::SynAck,
            Some(Answer::Rst) => TargetAnswer::Rst,
            Some(Answer::UdpReply) => TargetAnswer::UdpReply,
            _ => TargetAnswer::PortUnreachable,
        };
        let rtt_ms = min_rtt(&mut reached.iter().copied());
        (
            Verdict::Reached {
                hop,
                answer,
                rtt_ms,
                hop_inferred: inferred,
            },
            hop,
        )
    } else if let Some(first) = rejected.iter().filter_map(|o| o.ttl).min().map(|t| {
        // The earliest rejection names the router.
        rejected
            .iter()
            .filter(|o| o.ttl == Some(t))
            .min_by_key(|o| o.from)
            .copied()
    }) {
        let first = first.copied().unwrap_or(Observation {
            ttl: None,
            from: target,
            answer: Answer::Unreachable(0),
            rtt: None,
        });
        let reject_ttl = first.ttl.unwrap_or(max_sent);
        let seen_at = log
            .observations
            .iter()
            .filter(|o| o.from == first.from && o.answer == Answer::TimeExceeded)
            .filter_map(|o| o.ttl)
            .min();
        let code = match first.answer {
            Answer::Unreachable(c) => c,
            _ => 0,
        };
        (
            Verdict::Rejected {
                hop: seen_at.unwrap_or(reject_ttl).min(reject_ttl),
                router: IpAddr::V4(first.from),
                router_name: None,
                icmp_code: code,
                meaning: unreachable_meaning(code),
            },
            reject_ttl,
        )
    } else {
        let hops_now = hops(log, max_sent);
        let last_router = last_te.and_then(|t| {
            hops_now
                .iter()
                .find(|h| h.ttl == t)
                .and_then(|h| h.replies.first())
                .map(|r| r.address)
        });
        let first_silent = last_te.map_or(first_sent, |t| t.saturating_add(1));
        let mut uncertain = None;
        if last_te.is_some() && last_te == Some(max_sent) {
            uncertain = Some(format!(
                "hop {max_sent} was the last probed: raise --max-ttl"
            ));
        } else if let Some(h) = hops_now
            .iter()
            .filter(|h| last_te.is_some_and(|t| h.ttl <= t))
            .find(|h| h.answered() > 0 && h.answered() < h.sent)
        {
            uncertain = Some(format!(
                "hop {} answered {} of {} probes, so a router limits its ICMP there and \
                 the silence from hop {first_silent} may be such a limit too",
                h.ttl,
                h.answered(),
                h.sent
            ));
        }
        (
            Verdict::Silent {
                last_hop: last_te,
                last_router,
                last_router_name: None,
                first_silent_hop: first_silent,
                uncertain,
            },
            first_silent.min(max_sent),
        )
    };
    let hops = hops(log, until);
    let varies = varies_between
        || log.conflicts > 0
        || hops.iter().any(|h| {
            let mut addrs: Vec<IpAddr> = h.replies.iter().map(|r| r.address).collect();
            addrs.dedup();
            addrs.len() > 1
        });
    (verdict, hops, varies)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Ipv4Addr = Ipv4Addr::new(10, 201, 243, 2);
    const R1: Ipv4Addr = Ipv4Addr::new(10, 201, 240, 1);
    const R2: Ipv4Addr = Ipv4Addr::new(10, 201, 241, 2);
    const R3: Ipv4Addr = Ipv4Addr::new(10, 201, 242, 2);

    fn log(transport: Transport, max: u8, obs: &[(Option<u8>, Ipv4Addr, Answer)]) -> FlowLog {
        FlowLog {
            target: T,
            transport,
            sent: (1..=max).map(|t| (t, 3)).collect(),
            observations: obs
                .iter()
                .map(|&(ttl, from, answer)| Observation {
                    ttl,
                    from,
                    answer,
                    rtt: Some(Duration::from_micros(300)),
                })
                .collect(),
            conflicts: 0,
        }
    }

    fn te(ttl: u8, r: Ipv4Addr) -> [(Option<u8>, Ipv4Addr, Answer); 3] {
        [(Some(ttl), r, Answer::TimeExceeded); 3]
    }

    #[test]
    fn reached_rejected_silent() {
        let mut obs: Vec<_> = [te(1, R1), te(2, R2), te(3, R3)].concat();
        obs.push((Some(4), T, Answer::SynAck));
        obs.push((Some(5), T, Answer::SynAck));
        let (v, hops, varies) = decide(&log(Transport::Tcp, 8, &obs));
        assert!(
            matches!(
                v,
                Verdict::Reached {
                    hop: 4,
                    answer: TargetAnswer::SynAck,
                    hop_inferred: false,
                    ..
                }
            ),
            "{v:?}"
        );
        assert_eq!(hops.len(), 4);
        assert!(!varies);

        let mut obs: Vec<_> = [te(1, R1), te(2, R2), te(3, R3)].concat();
        obs.push((Some(4), R3, Answer::Unreachable(13)));
        let (v, _, _) = decide(&log(Transport::Tcp, 8, &obs));
        assert!(
            matches!(v, Verdict::Rejected { hop: 3, icmp_code: 13, router, .. } if router == IpAddr::V4(R3)),
            "{v:?}"
        );

        let obs: Vec<_> = [te(1, R1), te(2, R2)].concat();
        let (v, hops, _) = decide(&log(Transport::Tcp, 8, &obs));
        assert!(
            matches!(&v, Verdict::Silent { last_hop: Some(2), first_silent_hop: 3, uncertain: None, last_router: Some(r), .. } if *r == IpAddr::V4(R2)),
            "{v:?}"
        );
        assert_eq!(hops.last().map(|h| (h.ttl, h.replies.len())), Some((3, 0)));
        assert!(
            v.text().contains("silent after hop 2 at 10.201.241.2"),
            "{}",
            v.text()
        );
    }

    #[test]
    fn a_partial_hop_makes_silence_uncertain_but_names_no_other_router() {
        let mut obs: Vec<_> = te(2, R2).to_vec();
        obs.push((Some(1), R1, Answer::TimeExceeded));
        let (v, _, _) = decide(&log(Transport::Tcp, 8, &obs));
        let Verdict::Silent {
            last_router,
            uncertain,
            ..
        } = v
        else {
            panic!()
        };
        assert_eq!(last_router, Some(IpAddr::V4(R2)));
        assert!(uncertain.is_some_and(|u| u.contains("hop 1 answered 1 of 3")));
    }

    #[test]
    fn udp_answers_infer_their_hop_and_closed_is_reached() {
        let mut obs: Vec<_> = [te(1, R1), te(2, R2)].concat();
        obs.push((None, T, Answer::UdpReply));
        let (v, _, _) = decide(&log(Transport::Udp, 8, &obs));
        assert!(
            matches!(
                v,
                Verdict::Reached {
                    hop: 3,
                    hop_inferred: true,
                    answer: TargetAnswer::UdpReply,
                    ..
                }
            ),
            "{v:?}"
        );
        let obs = [(Some(3), T, Answer::Unreachable(3))];
        let (v, _, _) = decide(&log(Transport::Udp, 8, &obs));
        assert!(matches!(
            v,
            Verdict::Reached {
                hop: 3,
                answer: TargetAnswer::PortUnreachable,
                ..
            }
        ));
        // A host firewall's port-unreachable for TCP is a rejection by the host.
        let (v, _, _) = decide(&log(Transport::Tcp, 8, &obs));
        assert!(matches!(v, Verdict::Rejected { icmp_code: 3, .. }));
    }

    #[test]
    fn two_routers_at_one_hop_say_the_path_varies() {
        let mut obs: Vec<_> = te(1, R1).to_vec();
        obs.push((Some(2), R2, Answer::TimeExceeded));
        obs.push((Some(2), R3, Answer::TimeExceeded));
        let (_, hops, varies) = decide(&log(Transport::Tcp, 4, &obs));
        assert!(varies);
        assert_eq!(hops[1].replies.len(), 2);
    }

    #[test]
    fn silence_from_the_first_hop() {
        let (v, hops, _) = decide(&log(Transport::Tcp, 4, &[]));
        assert!(matches!(
            v,
            Verdict::Silent {
                last_hop: None,
                first_silent_hop: 1,
                ..
            }
        ));
        assert_eq!(hops.len(), 1);
    }
}
