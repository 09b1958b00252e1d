//! Decoding the Windows IP Helper socket tables (`GetExtendedTcpTable` and
//! `GetExtendedUdpTable` with the `*_OWNER_PID` classes) from their raw bytes.
//!
//! The OS module (`local::winapi`, Windows only) copies each table into a byte buffer;
//! this module, free of `unsafe` and of any Windows dependency, turns the bytes into
//! sockets. It is tested on every platform with constructed tables, and under Wine with
//! the real ones.
//!
//! Layouts (all fields 32-bit little-endian words unless noted; each table starts with
//! a 32-bit row count, rows follow at offset 4):
//!
//! | table | row | bytes |
//! |---|---|---|
//! | `MIB_TCPTABLE_OWNER_PID` | state, local addr, local port, remote addr, remote port, pid | 24 |
//! | `MIB_TCP6TABLE_OWNER_PID` | local addr (16 bytes), scope, local port, remote addr (16), scope, remote port, state, pid | 56 |
//! | `MIB_UDPTABLE_OWNER_PID` | local addr, local port, pid | 12 |
//! | `MIB_UDP6TABLE_OWNER_PID` | local addr (16 bytes), scope, local port, pid | 28 |
//!
//! Addresses are stored in network byte order (the octets in order); a port is the
//! first two bytes of its word, in network byte order.

use portq_catalog::Transport;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `MIB_TCP_STATE_LISTEN`.
pub const TCP_STATE_LISTEN: u32 = 2;

/// Which of the four tables a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `MIB_TCPTABLE_OWNER_PID`.
    Tcp4,
    /// `MIB_TCP6TABLE_OWNER_PID`.
    Tcp6,
    /// `MIB_UDPTABLE_OWNER_PID`.
    Udp4,
    /// `MIB_UDP6TABLE_OWNER_PID`.
    Udp6,
}

impl Table {
    /// All four, in the order the inventory reads them.
    pub const ALL: [Table; 4] = [Table::Tcp4, Table::Tcp6, Table::Udp4, Table::Udp6];

    /// TCP or UDP.
    pub fn transport(self) -> Transport {
        match self {
            Table::Tcp4 | Table::Tcp6 => Transport::Tcp,
            Table::Udp4 | Table::Udp6 => Transport::Udp,
        }
    }

    /// True for the IPv6 tables.
    pub fn is_v6(self) -> bool {
        matches!(self, Table::Tcp6 | Table::Udp6)
    }

    fn row_len(self) -> usize {
        match self {
            Table::Tcp4 => 24,
            Table::Tcp6 => 56,
            Table::Udp4 => 12,
            Table::Udp6 => 28,
        }
    }
}

/// One row of a table: a socket and the process id that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// TCP or UDP.
    pub transport: Transport,
    /// Local address and port (IPv6 scope ids are left out, as the listeners crate does).
    pub local: SocketAddr,
    /// TCP state (`MIB_TCP_STATE_*`); 0 for UDP, which has none.
    pub state: u32,
    /// Owning process id (0 when the system does not say).
    pub pid: u32,
}

impl Row {
    /// True for the sockets `portq local` lists: TCP in LISTEN, every bound UDP socket.
    pub fn is_listening(&self) -> bool {
        match self.transport {
            Transport::Tcp => self.state == TCP_STATE_LISTEN,
            _ => true,
        }
    }
}

fn word(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(w))
}

fn port(b: &[u8], at: usize) -> Option<u16> {
    let p: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(u16::from_be_bytes(p))
}

fn v4(b: &[u8], at: usize) -> Option<IpAddr> {
    let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(a)))
}

fn v6(b: &[u8], at: usize) -> Option<IpAddr> {
    let a: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

/// Decodes a table. Rows the buffer is too short for are dropped (the count is not
/// trusted beyond the bytes present), so any input is safe.
pub fn decode(table: Table, bytes: &[u8]) -> Vec<Row> {
    let Some(count) = word(bytes, 0) else {
        return Vec::new();
    };
    let len = table.row_len();
    let present = bytes.len().saturating_sub(4) / len;
    let count = usize::try_from(count).unwrap_or(usize::MAX).min(present);
    let transport = table.transport();
    (0..count)
        .filter_map(|i| {
            let r = bytes.get(4 + i * len..4 + (i + 1) * len)?;
            let (addr, port, state, pid) = match table {
                Table::Tcp4 => (v4(r, 4)?, port(r, 8)?, word(r, 0)?, word(r, 20)?),
                Table::Tcp6 => (v6(r, 0)?, port(r, 20)?, word(r, 48)?, word(r, 52)?),
                Table::Udp4 => (v4(r, 0)?, port(r, 4)?, 0, word(r, 8)?),
                Table::Udp6 => (v6(r, 0)?, port(r, 20)?, 0, word(r, 24)?),
            };
            Some(Row {
                transport,
                local: SocketAddr::new(addr, port),
                state,
                pid,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a table the way Windows lays it out, for the tests here and in `local`.
    pub(crate) fn build(table: Table, rows: &[Row]) -> Vec<u8> {
        let mut b = (rows.len() as u32).to_le_bytes().to_vec();
        for r in rows {
            let mut row = vec![0u8; table.row_len()];
            let mut put = |at: usize, v: &[u8]| row[at..at + v.len()].copy_from_slice(v);
            let ip = |a: IpAddr| match a {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            };
            // A port word: network order in the low two bytes, junk above (Windows leaves
            // the upper half undefined), which must be ignored.
            let pw = |p: u16| {
                let [h, l] = p.to_be_bytes();
                [h, l, 0xAB, 0xCD]
            };
            match table {
                Table::Tcp4 => {
                    put(0, &r.state.to_le_bytes());
                    put(4, &ip(r.local.ip()));
                    put(8, &pw(r.local.port()));
                    put(12, &[10, 0, 0, 9]);
                    put(16, &pw(50_000));
                    put(20, &r.pid.to_le_bytes());
                }
                Table::Tcp6 => {
                    put(0, &ip(r.local.ip()));
                    put(16, &7u32.to_le_bytes());
                    put(20, &pw(r.local.port()));
                    put(44, &pw(50_000));
                    put(48, &r.state.to_le_bytes());
                    put(52, &r.pid.to_le_bytes());
                }
                Table::Udp4 => {
                    put(0, &ip(r.local.ip()));
                    put(4, &pw(r.local.port()));
                    put(8, &r.pid.to_le_bytes());
                }
                Table::Udp6 => {
                    put(0, &ip(r.local.ip()));
                    put(16, &7u32.to_le_bytes());
                    put(20, &pw(r.local.port()));
                    put(24, &r.pid.to_le_bytes());
                }
            }
            b.extend(row);
        }
        b
    }

    fn row(t: Transport, a: &str, state: u32, pid: u32) -> Row {
        Row {
            transport: t,
            local: a.parse().unwrap(),
            state,
            pid,
        }
    }

    #[test]
    fn decodes_each_table() {
        let cases = [
            (
                Table::Tcp4,
                vec![
                    row(Transport::Tcp, "0.0.0.0:445", TCP_STATE_LISTEN, 4),
                    row(Transport::Tcp, "192.168.1.5:49733", 5, 1234),
                ],
            ),
            (
                Table::Tcp6,
                vec![row(Transport::Tcp, "[::]:135", TCP_STATE_LISTEN, 1040)],
            ),
            (
                Table::Udp4,
                vec![
                    row(Transport::Udp, "0.0.0.0:123", 0, 1500),
                    row(Transport::Udp, "127.0.0.1:1900", 0, 0),
                ],
            ),
            (
                Table::Udp6,
                vec![row(Transport::Udp, "[fe80::1]:546", 0, 2000)],
            ),
        ];
        for (t, rows) in cases {
            assert_eq!(decode(t, &build(t, &rows)), rows, "{t:?}");
        }
    }

    #[test]
    fn only_listening_tcp_counts() {
        let rows = decode(
            Table::Tcp4,
            &build(
                Table::Tcp4,
                &[
                    row(Transport::Tcp, "0.0.0.0:445", TCP_STATE_LISTEN, 4),
                    row(Transport::Tcp, "10.0.0.5:49733", 5, 9),
                ],
            ),
        );
        let listening: Vec<u16> = rows
            .iter()
            .filter(|r| r.is_listening())
            .map(|r| r.local.port())
            .collect();
        assert_eq!(listening, vec![445]);
        assert!(row(Transport::Udp, "0.0.0.0:53", 0, 1).is_listening());
    }

    #[test]
    fn short_or_lying_buffers_are_safe() {
        assert!(decode(Table::Tcp4, &[]).is_empty());
        assert!(decode(Table::Udp6, &[1, 0]).is_empty());
        // Claims a million rows, holds one.
        let mut b = build(Table::Udp4, &[row(Transport::Udp, "0.0.0.0:53", 0, 7)]);
        b[..4].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(decode(Table::Udp4, &b).len(), 1);
        // A truncated last row is dropped.
        b.pop();
        assert!(decode(Table::Udp4, &b).is_empty());
    }
}
