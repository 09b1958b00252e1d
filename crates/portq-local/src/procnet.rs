//! Parsing Linux `/proc/net/{tcp,tcp6,udp,udp6}`: every local socket of the current
//! network namespace, whether or not its owning process can be seen.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One socket line: local address, socket inode, and the kernel's state code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSocket {
    /// Local address and port.
    pub local: SocketAddr,
    /// Whether the remote end is unset (`0.0.0.0:0` or `[::]:0`).
    pub unconnected: bool,
    /// The kernel state (0x0A = TCP LISTEN, 0x07 = closed/unconnected UDP).
    pub state: u8,
    /// Socket inode, to match against `/proc/PID/fd`.
    pub inode: u64,
}

/// TCP LISTEN state in /proc/net/tcp.
pub const TCP_LISTEN: u8 = 0x0A;

fn parse_v4(hex: &str) -> Option<Ipv4Addr> {
    // The kernel prints the address as a host-order u32 (little-endian on x86).
    let n = u32::from_str_radix(hex, 16).ok()?;
    Some(Ipv4Addr::from(n.to_ne_bytes()))
}

fn parse_v6(hex: &str) -> Option<Ipv6Addr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(4).enumerate() {
        let word = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

fn parse_addr(field: &str, v6: bool) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = if v6 {
        IpAddr::V6(parse_v6(ip)?)
    } else {
        IpAddr::V4(parse_v4(ip)?)
    };
    Some(SocketAddr::new(ip, port))
}

/// Parses one `/proc/net/*` file; lines that do not parse are skipped.
pub fn parse(text: &str, v6: bool) -> Vec<ProcSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = parse_addr(f.get(1)?, v6)?;
            let remote = parse_addr(f.get(2)?, v6)?;
            let state = u8::from_str_radix(f.get(3)?, 16).ok()?;
            let inode = f.get(9)?.parse().ok()?;
            Some(ProcSocket {
                local,
                unconnected: remote.port() == 0 && remote.ip().is_unspecified(),
                state,
                inode,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines as the kernel prints them (x86_64): 127.0.0.1:631 LISTEN, 0.0.0.0:445 LISTEN,
    // an established connection, and a header.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20117 1 0000000000000000 100 0 0 10 0\n\
   1: 00000000:01BD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0\n\
   2: 0200C80A:0016 0100C80A:D2F0 01 00000000:00000000 02:000A7F2B 00000000     0        0 42424 4 0000000000000000 20 4 29 10 -1\n\
   garbage line\n";

    #[test]
    fn parses_ipv4_lines() {
        let s = parse(TCP, false);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].local, "127.0.0.1:631".parse().unwrap());
        assert_eq!(s[0].state, TCP_LISTEN);
        assert_eq!(s[1].local, "0.0.0.0:445".parse().unwrap());
        assert_eq!(s[1].inode, 31337);
        assert!(s[1].unconnected);
        assert_eq!(s[2].local, "10.200.0.2:22".parse().unwrap());
        assert!(!s[2].unconnected);
    }

    #[test]
    fn parses_ipv6_lines() {
        let udp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5555 2 0000000000000000 0\n";
        let s = parse(udp6, true);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].local, "[::1]:53".parse().unwrap());
        assert_eq!(s[0].state, 0x07);
    }
}
