//! Port specifications: which ports, on which transport.
//!
//! Grammar (items separated by commas, whitespace around items ignored):
//!
//! - `53`, `1-1024`, `60000-` (to 65535), `-1024` (from 1), `-` or `all` (1-65535);
//! - a prefix `tcp:`/`udp:` (or `t:`/`u:`) sets the transport for its item and every
//!   following item until the next prefix: `tcp:1-1024,udp:53,137` is TCP 1-1024 and
//!   UDP 53 and 137; without a prefix, TCP;
//! - a suffix `/tcp` or `/udp` sets the transport of its item only: `53/udp`.
//!
//! The result is sorted, merged ranges per transport; nothing is expanded.

use std::fmt;

use thiserror::Error;

pub use portq_catalog::PortRange;
use portq_catalog::Transport;

/// Why a port specification was refused. Each variant carries the offending item.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PortSpecError {
    /// The whole specification is empty.
    #[error("empty port specification")]
    Empty,
    /// An empty item between commas (or a trailing comma).
    #[error("empty item #{position} in the port specification")]
    EmptyItem {
        /// 1-based position of the item.
        position: usize,
    },
    /// A transport prefix with no ports after it (`tcp:`).
    #[error("{prefix:?} is followed by no ports")]
    EmptyPrefix {
        /// The prefix as written.
        prefix: String,
    },
    /// A prefix or suffix that is not `tcp`, `udp`, `t` or `u`.
    #[error("unknown transport in {item:?} (use tcp or udp)")]
    UnknownTransport {
        /// The offending item.
        item: String,
    },
    /// Both a prefix and a different suffix (`tcp:53/udp`).
    #[error("conflicting transports in {item:?}")]
    ConflictingTransport {
        /// The offending item.
        item: String,
    },
    /// Something that is not a port number.
    #[error("{item:?} is not a port number")]
    NotANumber {
        /// The offending item.
        item: String,
    },
    /// Port 0.
    #[error("port 0 in {item:?}: ports are 1-65535")]
    PortZero {
        /// The offending item.
        item: String,
    },
    /// A port above 65535.
    #[error("port out of range in {item:?}: ports are 1-65535")]
    OutOfRange {
        /// The offending item.
        item: String,
    },
    /// A transport without port numbers (ICMP, GRE, ESP, AH): nothing to probe by port.
    #[error("{transport} has no ports to probe")]
    NotProbeable {
        /// The transport given.
        transport: Transport,
    },
    /// A range whose end is below its start (`5-3`).
    #[error("inverted range {item:?}: {start} is above {end}")]
    Inverted {
        /// The offending item.
        item: String,
        /// The start as given.
        start: u16,
        /// The end as given.
        end: u16,
    },
}

/// A set of ports per transport, kept as sorted, merged ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSpec {
    tcp: Vec<PortRange>,
    udp: Vec<PortRange>,
}

impl std::str::FromStr for PortSpec {
    type Err = PortSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PortSpec::parse(s)
    }
}

impl PortSpec {
    /// Parses a port specification (see the module documentation for the grammar).
    pub fn parse(text: &str) -> Result<Self, PortSpecError> {
        if text.trim().is_empty() {
            return Err(PortSpecError::Empty);
        }
        let mut spec = PortSpec::default();
        let mut current = Transport::Tcp;
        for (i, raw) in text.split(',').enumerate() {
            let item = raw.trim();
            if item.is_empty() {
                return Err(PortSpecError::EmptyItem { position: i + 1 });
            }
            let mut body = item;
            if let Some((prefix, rest)) = item.split_once(':') {
                current = transport_word(prefix.trim()).ok_or_else(|| {
                    PortSpecError::UnknownTransport {
                        item: item.to_string(),
                    }
                })?;
                body = rest.trim();
                if body.is_empty() {
                    return Err(PortSpecError::EmptyPrefix {
                        prefix: format!("{}:", prefix.trim()),
                    });
                }
            }
            let mut transport = current;
            if let Some((ports, suffix)) = body.rsplit_once('/') {
                let t = transport_word(suffix.trim()).ok_or_else(|| {
                    PortSpecError::UnknownTransport {
                        item: item.to_string(),
                    }
                })?;
                if item.contains(':') && t != current {
                    return Err(PortSpecError::ConflictingTransport {
                        item: item.to_string(),
                    });
                }
                transport = t;
                body = ports.trim();
            }
            let range = parse_range(item, body)?;
            spec.list_mut(transport)?.push(range);
        }
        spec.normalize();
        Ok(spec)
    }

    /// TCP 1-65535 (what `all` means).
    pub fn all_tcp() -> Self {
        PortSpec {
            tcp: vec![PortRange {
                start: 1,
                end: u16::MAX,
            }],
            udp: Vec::new(),
        }
    }

    /// A spec from individual ports (for example a role's port list from the catalogue).
    pub fn from_ports(
        ports: impl IntoIterator<Item = (Transport, u16)>,
    ) -> Result<Self, PortSpecError> {
        let mut spec = PortSpec::default();
        for (t, p) in ports {
            if p == 0 {
                return Err(PortSpecError::PortZero {
                    item: format!("{p}/{}", t.as_str()),
                });
            }
            spec.list_mut(t)?.push(PortRange { start: p, end: p });
        }
        spec.normalize();
        Ok(spec)
    }

    /// Adds every port of `other`.
    pub fn merge(&mut self, other: &PortSpec) {
        self.tcp.extend_from_slice(&other.tcp);
        self.udp.extend_from_slice(&other.udp);
        self.normalize();
    }

    /// The sorted, merged ranges of one transport (none for a transport without ports).
    pub fn ranges(&self, transport: Transport) -> &[PortRange] {
        match transport {
            Transport::Tcp => &self.tcp,
            Transport::Udp => &self.udp,
            _ => &[],
        }
    }

    /// Number of (transport, port) pairs.
    pub fn count(&self) -> u32 {
        self.tcp.iter().chain(&self.udp).map(PortRange::len).sum()
    }

    /// True when no port is selected.
    pub fn is_empty(&self) -> bool {
        self.tcp.is_empty() && self.udp.is_empty()
    }

    /// True when the port is selected on that transport.
    pub fn contains(&self, transport: Transport, port: u16) -> bool {
        self.ranges(transport)
            .binary_search_by(|r| {
                if r.end < port {
                    std::cmp::Ordering::Less
                } else if r.start > port {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    /// Every (transport, port), TCP first, ascending; owns its data (a copy of this spec).
    pub fn iter(&self) -> PortIter {
        Self::iter_shared(&std::sync::Arc::new(self.clone()))
    }

    /// Like [`PortSpec::iter`] over a shared spec, without copying it: the engine walks
    /// one spec for every target of a sweep.
    pub fn iter_shared(spec: &std::sync::Arc<PortSpec>) -> PortIter {
        PortIter {
            spec: std::sync::Arc::clone(spec),
            udp: false,
            idx: 0,
            next: None,
        }
    }

    /// The list of a transport that can be probed; the checked conversion from the
    /// catalogue's transports (ICMP, GRE, ESP and AH have no ports).
    fn list_mut(&mut self, t: Transport) -> Result<&mut Vec<PortRange>, PortSpecError> {
        match t {
            Transport::Tcp => Ok(&mut self.tcp),
            Transport::Udp => Ok(&mut self.udp),
            other => Err(PortSpecError::NotProbeable { transport: other }),
        }
    }

    fn normalize(&mut self) {
        merge_ranges(&mut self.tcp);
        merge_ranges(&mut self.udp);
    }
}

impl fmt::Display for PortSpec {
    /// The canonical form, e.g. `tcp:1-1024,3268,udp:53`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in [Transport::Tcp, Transport::Udp] {
            for (i, r) in self.ranges(t).iter().enumerate() {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                if i == 0 {
                    write!(f, "{}:", t.as_str())?;
                }
                if r.start == r.end {
                    write!(f, "{}", r.start)?;
                } else {
                    write!(f, "{}-{}", r.start, r.end)?;
                }
            }
        }
        Ok(())
    }
}

fn transport_word(w: &str) -> Option<Transport> {
    match w.to_ascii_lowercase().as_str() {
        "tcp" | "t" => Some(Transport::Tcp),
        "udp" | "u" => Some(Transport::Udp),
        _ => None,
    }
}

fn parse_range(item: &str, body: &str) -> Result<PortRange, PortSpecError> {
    if body.eq_ignore_ascii_case("all") || body == "-" {
        return Ok(PortRange {
            start: 1,
            end: u16::MAX,
        });
    }
    if body.is_empty() {
        return Err(PortSpecError::NotANumber {
            item: item.to_string(),
        });
    }
    let (start, end) = match body.split_once('-') {
        None => {
            let p = parse_port(item, body)?;
            (p, p)
        }
        Some((a, b)) => {
            let a = a.trim();
            let b = b.trim();
            let start = if a.is_empty() {
                1
            } else {
                parse_port(item, a)?
            };
            let end = if b.is_empty() {
                u16::MAX
            } else {
                parse_port(item, b)?
            };
            (start, end)
        }
    };
    if start > end {
        return Err(PortSpecError::Inverted {
            item: item.to_string(),
            start,
            end,
        });
    }
    Ok(PortRange { start, end })
}

fn parse_port(item: &str, s: &str) -> Result<u16, PortSpecError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortSpecError::NotANumber {
            item: item.to_string(),
        });
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 5 {
        return Err(PortSpecError::OutOfRange {
            item: item.to_string(),
        });
    }
    let v: u32 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| PortSpecError::NotANumber {
            item: item.to_string(),
        })?
    };
    match u16::try_from(v) {
        Ok(0) => Err(PortSpecError::PortZero {
            item: item.to_string(),
        }),
        Ok(p) => Ok(p),
        Err(_) => Err(PortSpecError::OutOfRange {
            item: item.to_string(),
        }),
    }
}

fn merge_ranges(v: &mut Vec<PortRange>) {
    v.sort_unstable();
    let mut out: Vec<PortRange> = Vec::with_capacity(v.len());
    for r in v.drain(..) {
        match out.last_mut() {
            Some(last) if u32::from(r.start) <= u32::from(last.end) + 1 => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    *v = out;
}

/// Iterator over the (transport, port) pairs of a [`PortSpec`].
#[derive(Debug, Clone)]
pub struct PortIter {
    spec: std::sync::Arc<PortSpec>,
    /// Walking the UDP ranges (the TCP ones are done).
    udp: bool,
    idx: usize,
    next: Option<u16>,
}

impl Iterator for PortIter {
    type Item = (Transport, u16);

    fn next(&mut self) -> Option<(Transport, u16)> {
        loop {
            let (t, list) = if self.udp {
                (Transport::Udp, &self.spec.udp)
            } else {
                (Transport::Tcp, &self.spec.tcp)
            };
            let Some(r) = list.get(self.idx) else {
                if self.udp {
                    return None;
                }
                self.udp = true;
                self.idx = 0;
                self.next = None;
                continue;
            };
            let port = self.next.unwrap_or(r.start);
            if port >= r.end {
                self.idx += 1;
                self.next = None;
            } else {
                self.next = Some(port + 1);
            }
            return Some((t, port));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<PortSpec, PortSpecError> {
        PortSpec::parse(s)
    }

    #[test]
    fn lists_ranges_and_prefixes() {
        let s = p("135,53,88,53").unwrap();
        assert_eq!(s.to_string(), "tcp:53,88,135");
        assert_eq!(s.count(), 3);
        let s = p("tcp:1-1024,udp:53,137").unwrap();
        assert_eq!(s.to_string(), "tcp:1-1024,udp:53,137");
        assert!(s.contains(Transport::Udp, 137));
        assert!(!s.contains(Transport::Tcp, 1025));
        assert!(!s.contains(Transport::Udp, 54));
        assert!(s.contains(Transport::Tcp, 1024));
        assert_eq!(s.count(), 1026);
        assert_eq!(p("all").unwrap(), PortSpec::all_tcp());
        assert_eq!(p("-").unwrap(), PortSpec::all_tcp());
        assert_eq!(p("1-65535").unwrap().count(), 65_535);
        assert_eq!(p("u:all").unwrap().ranges(Transport::Udp).len(), 1);
        assert_eq!(p("60000-").unwrap().count(), 5536);
        assert_eq!(p("-10").unwrap().count(), 10);
        assert_eq!(
            p("53/udp, 88, 389/udp, udp:123").unwrap().to_string(),
            "tcp:88,udp:53,123,389"
        );
        assert_eq!(p("1-10,5-20,21").unwrap().to_string(), "tcp:1-21");
        assert_eq!(p("T:80,U:53").unwrap().to_string(), "tcp:80,udp:53");
    }

    #[test]
    fn bad_specs_are_typed_errors() {
        assert_eq!(p(""), Err(PortSpecError::Empty));
        assert_eq!(p("  "), Err(PortSpecError::Empty));
        assert!(matches!(p("0"), Err(PortSpecError::PortZero { .. })));
        assert!(matches!(p("0-10"), Err(PortSpecError::PortZero { .. })));
        assert!(matches!(
            p("1-70000"),
            Err(PortSpecError::OutOfRange { .. })
        ));
        assert!(matches!(p("65536"), Err(PortSpecError::OutOfRange { .. })));
        assert!(matches!(
            p("99999999999999999999"),
            Err(PortSpecError::OutOfRange { .. })
        ));
        assert!(matches!(p("tcp:"), Err(PortSpecError::EmptyPrefix { .. })));
        assert!(matches!(
            p("tcp:,udp:53"),
            Err(PortSpecError::EmptyPrefix { .. })
        ));
        assert_eq!(
            p("5-3"),
            Err(PortSpecError::Inverted {
                item: "5-3".into(),
                start: 5,
                end: 3
            })
        );
        assert!(matches!(p("abc"), Err(PortSpecError::NotANumber { .. })));
        assert!(matches!(
            p("abc/tcp"),
            Err(PortSpecError::NotANumber { .. })
        ));
        assert!(matches!(p("+53"), Err(PortSpecError::NotANumber { .. })));
        assert!(matches!(p("1-2-3"), Err(PortSpecError::NotANumber { .. })));
        assert_eq!(p("53,,88"), Err(PortSpecError::EmptyItem { position: 2 }));
        assert_eq!(p("53,"), Err(PortSpecError::EmptyItem { position: 2 }));
        assert!(matches!(
            p("sctp:53"),
            Err(PortSpecError::UnknownTransport { .. })
        ));
        assert!(matches!(
            p("53/icmp"),
            Err(PortSpecError::UnknownTransport { .. })
        ));
        assert!(matches!(
            p("tcp:53/udp"),
            Err(PortSpecError::ConflictingTransport { .. })
        ));
        assert!(matches!(
            PortSpec::from_ports([(Transport::Tcp, 0)]),
            Err(PortSpecError::PortZero { .. })
        ));
    }

    #[test]
    fn iteration_is_tcp_first_and_ascending() {
        let s = p("udp:53,tcp:65534-65535,1").unwrap();
        let v: Vec<_> = s.iter().collect();
        assert_eq!(
            v,
            [
                (Transport::Tcp, 1),
                (Transport::Tcp, 65534),
                (Transport::Tcp, 65535),
                (Transport::Udp, 53)
            ]
        );
        assert_eq!(PortSpec::all_tcp().iter().count(), 65_535);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = PortSpec::parse(&s);
        }

        #[test]
        fn canonical_form_round_trips(ports in proptest::collection::vec((any::<bool>(), 1u16..), 1..50)) {
            let spec = PortSpec::from_ports(ports.iter().map(|(u, p)| {
                (if *u { Transport::Udp } else { Transport::Tcp }, *p)
            })).unwrap();
            let again = PortSpec::parse(&spec.to_string()).unwrap();
            prop_assert_eq!(&again, &spec);
            prop_assert_eq!(again.iter().count() as u32, spec.count());
        }
    }
}
