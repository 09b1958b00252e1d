//! The IANA service-name and port-number registry, compiled in compactly.
//!
//! The registry's names and descriptions live in one interned text blob; each row is
//! a few integers pointing into it. It answers for ports the Windows catalogue does
//! not know, and its answers are labelled as coming from IANA.

use crate::model::{PortRange, Transport};

/// One packed registry row: start, end, protocol code, name (offset, length),
/// description (offset, length). Protocol codes: 0 none, 1 tcp, 2 udp, 3 sctp, 4 dccp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IanaRow(
    pub(crate) u16,
    pub(crate) u16,
    pub(crate) u8,
    pub(crate) u32,
    pub(crate) u16,
    pub(crate) u32,
    pub(crate) u16,
);

/// A registry entry, unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IanaEntry {
    /// The registered port or range.
    pub ports: PortRange,
    /// `tcp`, `udp`, `sctp`, `dccp`, or empty for reserved ports listed without one.
    pub protocol: &'static str,
    /// The IANA service name (may be empty for reserved rows).
    pub name: &'static str,
    /// The first line of IANA's description.
    pub description: &'static str,
}

fn text(off: u32, len: u16) -> &'static str {
    let start = off as usize;
    crate::generated::IANA_TEXT
        .get(start..start + usize::from(len))
        .unwrap_or("")
}

fn unpack(r: &IanaRow) -> IanaEntry {
    IanaEntry {
        ports: PortRange {
            start: r.0,
            end: r.1,
        },
        protocol: match r.2 {
            1 => "tcp",
            2 => "udp",
            3 => "sctp",
            4 => "dccp",
            _ => "",
        },
        name: text(r.3, r.4),
        description: text(r.5, r.6),
    }
}

fn transport_code(t: Transport) -> Option<u8> {
    match t {
        Transport::Tcp => Some(1),
        Transport::Udp => Some(2),
        _ => None,
    }
}

/// Number of registry rows compiled in.
pub fn len() -> usize {
    crate::generated::IANA_ROWS.len()
}

/// Entries overlapping `range`, optionally only for one transport, in port order.
pub fn by_range(range: PortRange, transport: Option<Transport>) -> Vec<IanaEntry> {
    let code = transport.map(transport_code);
    crate::generated::IANA_ROWS
        .iter()
        .filter(|r| r.0 <= range.end && r.1 >= range.start)
        .filter(|r| match code {
            None => true,
            Some(c) => Some(r.2) == c,
        })
        .map(unpack)
        .collect()
}

/// Entries whose service name equals `name` (case-insensitive).
pub fn by_name(name: &str) -> Vec<IanaEntry> {
    crate::generated::IANA_ROWS
        .iter()
        .filter(|r| text(r.3, r.4).eq_ignore_ascii_case(name))
        .map(unpack)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_row_is_compiled_in() {
        assert_eq!(len(), 12_558);
    }

    #[test]
    fn finds_ssh() {
        let hits = by_range(PortRange::single(22), Some(Transport::Tcp));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].name, "ssh");
        assert_eq!(hits[0].protocol, "tcp");
        assert!(hits[0].description.contains("SSH"));
        assert!(by_name("SSH").iter().any(|e| e.ports.start == 22));
    }

    #[test]
    fn ranges_overlap() {
        // 225-241 is a reserved range without a protocol.
        let hits = by_range(PortRange::single(230), None);
        assert!(hits.iter().any(|e| e.ports
            == PortRange {
                start: 225,
                end: 241
            }));
    }
}
