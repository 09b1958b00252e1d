//! The trace's packets as bytes, and nothing else: the probes portq sends (an IPv4
//! header with the probe's TTL, then a TCP SYN or the port's own UDP request) and the
//! replies it reads (ICMP time-exceeded and destination-unreachable with the packet
//! they quote, TCP SYN-ACK or RST, UDP answers). Pure, so the fuzz targets reach it.
//!
//! Hand-written, not trippy-packet's views: `Ipv4Packet::payload` (0.13) slices by the
//! header-length field without checking it against the buffer, so a reply whose
//! quoted header claims 60 bytes in a 24-byte quote panics. Every read here is bounded
//! by the bytes received.

use std::net::Ipv4Addr;

/// IPv4 protocol numbers the trace sends or reads.
pub const PROTO_ICMP: u8 = 1;
/// TCP.
pub const PROTO_TCP: u8 = 6;
/// UDP.
pub const PROTO_UDP: u8 = 17;

/// The fields of one probe's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeHeader {
    /// This machine's address on the route to the target.
    pub src: Ipv4Addr,
    /// The target.
    pub dst: Ipv4Addr,
    /// The probe's time to live: the hop it is meant to expire at.
    pub ttl: u8,
    /// The IPv4 identification (the UDP probe's key: a quote always carries it).
    pub ip_id: u16,
    /// The flow's source port (one per traced port, kept for every probe).
    pub src_port: u16,
    /// The traced port.
    pub dst_port: u16,
}

/// The Internet checksum (RFC 1071) of `parts`, as one byte string.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ip_header(h: &ProbeHeader, proto: u8, payload_len: usize) -> [u8; 20] {
    let total = u16::try_from(20 + payload_len).unwrap_or(u16::MAX);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&h.ip_id.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = h.ttl;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&h.src.octets());
    ip[16..20].copy_from_slice(&h.dst.octets());
    let sum = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip
}

fn pseudo_header(h: &ProbeHeader, proto: u8, len: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[0..4].copy_from_slice(&h.src.octets());
    p[4..8].copy_from_slice(&h.dst.octets());
    p[9] = proto;
    p[10..12].copy_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    p
}

/// A TCP SYN probe, IPv4 header included: sequence number `seq` (the probe's key, the
/// quote's bytes 4-8), window 1024, one MSS option as real stacks send.
pub fn tcp_syn(h: &ProbeHeader, seq: u32) -> Vec<u8> {
    let mut tcp = [0u8; 24];
    tcp[0..2].copy_from_slice(&h.src_port.to_be_bytes());
    tcp[2..4].copy_from_slice(&h.dst_port.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = 6 << 4; // 24-byte header
    tcp[13] = 0x02; // SYN
    tcp[14..16].copy_from_slice(&1024u16.to_be_bytes());
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let sum = checksum(&[&pseudo_header(h, PROTO_TCP, tcp.len()), &tcp]);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut out = ip_header(h, PROTO_TCP, tcp.len()).to_vec();
    out.extend_from_slice(&tcp);
    out
}

/// A UDP probe carrying `payload` (the port's own request), IPv4 header included.
pub fn udp(h: &ProbeHeader, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut udp = Vec::with_capacity(len);
    udp.extend_from_slice(&h.src_port.to_be_bytes());
    udp.extend_from_slice(&h.dst_port.to_be_bytes());
    udp.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut sum = checksum(&[&pseudo_header(h, PROTO_UDP, len), &udp]);
    if sum == 0 {
        sum = 0xffff;
    }
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut out = ip_header(h, PROTO_UDP, len).to_vec();
    out.extend_from_slice(&udp);
    out
}

/// What an ICMP error says happened to the packet it quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpKind {
    /// Type 11 code 0: the TTL ran out at the sender (a router on the path).
    TimeExceeded,
    /// Type 3 with its code: the sender refused to deliver or forward it.
    Unreachable(u8),
}

/// The packet an ICMP error quotes: its IPv4 header and the first 8 bytes after it
/// (RFC 792 promises no more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// The quoted packet's source.
    pub src: Ipv4Addr,
    /// The quoted packet's destination.
    pub dst: Ipv4Addr,
    /// Its protocol.
    pub proto: u8,
    /// Its IPv4 identification.
    pub ip_id: u16,
    /// Its source port.
    pub src_port: u16,
    /// Its destination port.
    pub dst_port: u16,
    /// Bytes 4-8 of the transport header: the TCP sequence number.
    pub word: u32,
}

/// One packet a trace may care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// An ICMP error from `from` about the quoted packet.
    Icmp {
        /// The ICMP message's source: the router or host that sent it.
        from: Ipv4Addr,
        /// Time exceeded or unreachable.
        kind: IcmpKind,
        /// The packet it is about.
        quote: Quote,
    },
    /// A TCP segment to this machine.
    Tcp {
        /// Its source address.
        from: Ipv4Addr,
        /// Its source port.
        src_port: u16,
        /// Its destination port.
        dst_port: u16,
        /// Its acknowledgement number.
        ack: u32,
        /// SYN and ACK set.
        syn_ack: bool,
        /// RST set.
        rst: bool,
    },
    /// A UDP datagram to this machine.
    Udp {
        /// Its source address.
        from: Ipv4Addr,
        /// Its source port.
        src_port: u16,
        /// Its destination port.
        dst_port: u16,
    },
}

/// An IPv4 header's fields, bounded by the bytes given: (source, destination, protocol,
/// identification, the bytes after the header).
fn ipv4(buf: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, u16, &[u8])> {
    let first = *buf.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || buf.len() < ihl {
        return None;
    }
    let addr = |at: usize| Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
    let id = u16::from_be_bytes([buf[4], buf[5]]);
    Some((addr(12), addr(16), buf[9], id, &buf[ihl..]))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Reads one IPv4 datagram as a raw socket hands it over (header included). `None`
/// for anything a trace does not use or cannot read whole: other ICMP types, quotes
/// shorter than a header and 8 bytes, truncated segments.
pub fn parse(datagram: &[u8]) -> Option<Reply> {
    let (from, _to, proto, _id, body) = ipv4(datagram)?;
    match proto {
        PROTO_ICMP => {
            let kind = match (*body.first()?, *body.get(1)?) {
                (11, 0) => IcmpKind::TimeExceeded,
                (3, code) => IcmpKind::Unreachable(code),
                _ => return None,
            };
            let (src, dst, qproto, ip_id, qbody) = ipv4(body.get(8..)?)?;
            let quote = Quote {
                src,
                dst,
                proto: qproto,
                ip_id,
                src_port: be16(qbody, 0)?,
                dst_port: be16(qbody, 2)?,
                word: be32(qbody, 4)?,
            };
            Some(Reply::Icmp { from, kind, quote })
        }
        PROTO_TCP => {
            let flags = *body.get(13)?;
            Some(Reply::Tcp {
                from,
                src_port: be16(body, 0)?,
                dst_port: be16(body, 2)?,
                ack: be32(body, 8)?,
                syn_ack: flags & 0x12 == 0x12,
                rst: flags & 0x04 != 0,
            })
        }
        PROTO_UDP => Some(Reply::Udp {
            from,
            src_port: be16(body, 0)?,
            dst_port: be16(body, 2)?,
        }),
        _ => None,
    }
}

/// What an ICMP destination-unreachable code usually means, for the verdict.
pub fn unreachable_meaning(code: u8) -> &'static str {
    match code {
        0 => "network unreachable: the sender has no route onward",
        1 => "host unreachable: the last router could not reach the host",
        2 => "protocol unreachable",
        3 => "port unreachable: nothing listens (UDP), or a firewall rejects as if closed",
        4 => "fragmentation needed",
        9 | 10 => "administratively prohibited (old code): a filter rejects it",
        13 => "communication administratively prohibited: a firewall rule rejects it",
        _ => "unreachable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ProbeHeader {
        ProbeHeader {
            src: Ipv4Addr::new(10, 201, 240, 2),
            dst: Ipv4Addr::new(10, 201, 243, 2),
            ttl: 3,
            ip_id: 0x1234,
            src_port: 40000,
            dst_port: 445,
        }
    }

    /// An ICMP error from `from` quoting the first 28 bytes of `probe`.
    fn icmp_error(from: Ipv4Addr, t: u8, code: u8, probe: &[u8]) -> Vec<u8> {
        let mut icmp = vec![t, code, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&probe[..28]);
        let mut ip = ip_header(
            &ProbeHeader {
                src: from,
                dst: Ipv4Addr::new(10, 201, 240, 2),
                ttl: 64,
                ip_id: 1,
                src_port: 0,
                dst_port: 0,
            },
            PROTO_ICMP,
            icmp.len(),
        )
        .to_vec();
        ip.extend_from_slice(&icmp);
        ip
    }

    #[test]
    fn checksums_verify() {
        let p = tcp_syn(&header(), 7);
        assert_eq!(checksum(&[&p[..20]]), 0, "IPv4 header checksum");
        let h = header();
        assert_eq!(checksum(&[&pseudo_header(&h, PROTO_TCP, 24), &p[20..]]), 0);
        let u = udp(&h, b"abc");
        assert_eq!(checksum(&[&pseudo_header(&h, PROTO_UDP, 11), &u[20..]]), 0);
        assert_eq!(u.len(), 31);
    }

    #[test]
    fn a_time_exceeded_names_the_quoted_probe() {
        let probe = tcp_syn(&header(), 0xdead_beef);
        let router = Ipv4Addr::new(10, 201, 241, 2);
        let r = parse(&icmp_error(router, 11, 0, &probe));
        let Some(Reply::Icmp { from, kind, quote }) = r else {
            panic!("{r:?}")
        };
        assert_eq!((from, kind), (router, IcmpKind::TimeExceeded));
        assert_eq!(quote.dst, header().dst);
        assert_eq!((quote.src_port, quote.dst_port), (40000, 445));
        assert_eq!(quote.word, 0xdead_beef);
        assert_eq!(quote.ip_id, 0x1234);
        let r = parse(&icmp_error(router, 3, 13, &probe));
        assert!(matches!(
            r,
            Some(Reply::Icmp {
                kind: IcmpKind::Unreachable(13),
                ..
            })
        ));
        // Echo replies, redirects, TE code 1 (reassembly) are not a trace's business.
        assert_eq!(parse(&icmp_error(router, 11, 1, &probe)), None);
        assert_eq!(parse(&icmp_error(router, 5, 0, &probe)), None);
    }

    #[test]
    fn short_or_lying_headers_are_refused_not_sliced() {
        let probe = tcp_syn(&header(), 1);
        let good = icmp_error(Ipv4Addr::new(10, 0, 0, 1), 11, 0, &probe);
        for cut in 0..good.len() {
            // Every prefix shorter than the whole quote reads as nothing or whole.
            let _ = parse(&good[..cut]);
        }
        assert_eq!(parse(&good[..good.len() - 1]), None, "a quote cut short");
        let mut lying = good.clone();
        lying[28] = 0x4f; // the quoted header claims 60 bytes of 28
        assert_eq!(parse(&lying), None);
        let mut outer = good;
        outer[0] = 0x4f;
        assert_eq!(parse(&outer), None);
        assert_eq!(parse(&[0x45]), None);
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn segments_and_datagrams() {
        let mut syn_ack = tcp_syn(
            &ProbeHeader {
                src: header().dst,
                dst: header().src,
                ..header()
            },
            9,
        );
        syn_ack[20 + 8..20 + 12].copy_from_slice(&8u32.to_be_bytes());
        syn_ack[20 + 13] = 0x12;
        let Some(Reply::Tcp {
            from,
            ack,
            syn_ack: sa,
            rst,
            ..
        }) = parse(&syn_ack)
        else {
            panic!()
        };
        assert_eq!((from, ack, sa, rst), (header().dst, 8, true, false));
        let d = udp(&header(), b"x");
        assert!(matches!(parse(&d), Some(Reply::Udp { dst_port: 445, .. })));
    }
}
