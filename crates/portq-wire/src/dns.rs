//! DNS (RFC 1035): a one-question query builder and a message decoder.
//!
//! Names are decompressed under strict bounds: every compression pointer must point
//! strictly backwards (so no loop is possible), at most [`MAX_POINTER_JUMPS`] pointers
//! and [`MAX_LABELS`] labels are followed, and the uncompressed name may not exceed
//! [`MAX_NAME_LEN`] octets. The same name reader is used for the RFC 1035 style names
//! inside NetBIOS and CLDAP netlogon replies.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::WireError;
use crate::reader::{Reader, check_cap};

/// Longest name accepted, in wire octets including length octets and the root label.
pub const MAX_NAME_LEN: usize = 255;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTER_JUMPS: usize = 128;
/// Most labels in one name.
pub const MAX_LABELS: usize = 128;
/// Length of the fixed DNS header.
pub const HEADER_LEN: usize = 12;
/// QCLASS/CLASS IN.
pub const CLASS_IN: u16 = 1;

/// A record or query type (QTYPE/TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// IPv4 host address.
    pub const A: RecordType = RecordType(1);
    /// Authoritative name server.
    pub const NS: RecordType = RecordType(2);
    /// Canonical name.
    pub const CNAME: RecordType = RecordType(5);
    /// Start of a zone of authority.
    pub const SOA: RecordType = RecordType(6);
    /// Domain name pointer.
    pub const PTR: RecordType = RecordType(12);
    /// Mail exchange.
    pub const MX: RecordType = RecordType(15);
    /// Text strings.
    pub const TXT: RecordType = RecordType(16);
    /// IPv6 host address.
    pub const AAAA: RecordType = RecordType(28);
    /// Service locator.
    pub const SRV: RecordType = RecordType(33);
    /// EDNS(0) pseudo-record.
    pub const OPT: RecordType = RecordType(41);
    /// Any type.
    pub const ANY: RecordType = RecordType(255);

    /// The mnemonic, if the type is one portq knows.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "A",
            2 => "NS",
            5 => "CNAME",
            6 => "SOA",
            12 => "PTR",
            15 => "MX",
            16 => "TXT",
            28 => "AAAA",
            33 => "SRV",
            41 => "OPT",
            255 => "ANY",
            _ => return None,
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

/// Response code (the four RCODE bits of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// 0: no error.
    NoError,
    /// 1: the server could not interpret the query.
    FormErr,
    /// 2: server failure.
    ServFail,
    /// 3: the name does not exist.
    NxDomain,
    /// 4: the kind of query is not implemented.
    NotImp,
    /// 5: refused by policy.
    Refused,
    /// 6: a name exists that should not (dynamic update).
    YxDomain,
    /// 7: an RR set exists that should not (dynamic update).
    YxRrSet,
    /// 8: an RR set that should exist does not (dynamic update).
    NxRrSet,
    /// 9: not authoritative / not authorized.
    NotAuth,
    /// 10: name not in zone.
    NotZone,
    /// Any other value.
    Other(u8),
}

impl Rcode {
    /// Maps the four RCODE bits to a value.
    pub fn from_bits(v: u8) -> Rcode {
        match v {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            6 => Rcode::YxDomain,
            7 => Rcode::YxRrSet,
            8 => Rcode::NxRrSet,
            9 => Rcode::NotAuth,
            10 => Rcode::NotZone,
            n => Rcode::Other(n),
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::YxDomain => 6,
            Rcode::YxRrSet => 7,
            Rcode::NxRrSet => 8,
            Rcode::NotAuth => 9,
            Rcode::NotZone => 10,
            Rcode::Other(n) => n,
        }
    }

    /// The conventional upper-case mnemonic ("NOERROR", "NXDOMAIN", ...).
    pub fn name(self) -> &'static str {
        match self {
            Rcode::NoError => "NOERROR",
            Rcode::FormErr => "FORMERR",
            Rcode::ServFail => "SERVFAIL",
            Rcode::NxDomain => "NXDOMAIN",
            Rcode::NotImp => "NOTIMP",
            Rcode::Refused => "REFUSED",
            Rcode::YxDomain => "YXDOMAIN",
            Rcode::YxRrSet => "YXRRSET",
            Rcode::NxRrSet => "NXRRSET",
            Rcode::NotAuth => "NOTAUTH",
            Rcode::NotZone => "NOTZONE",
            Rcode::Other(_) => "RCODE",
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::Other(n) => write!(f, "RCODE{n}"),
            other => f.write_str(other.name()),
        }
    }
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Transaction ID.
    pub id: u16,
    /// True for a response.
    pub qr: bool,
    /// Operation code (0 QUERY, 4 NOTIFY, 5 UPDATE, ...).
    pub opcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// Response code.
    pub rcode: Rcode,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// The opcode's mnemonic.
    pub fn opcode_name(&self) -> &'static str {
        match self.opcode {
            0 => "QUERY",
            1 => "IQUERY",
            2 => "STATUS",
            4 => "NOTIFY",
            5 => "UPDATE",
            _ => "OPCODE?",
        }
    }

    /// Decodes the header at the reader's position.
    pub fn read(r: &mut Reader<'_>) -> Result<Header, WireError> {
        let id = r.u16_be("DNS id")?;
        let hi = r.u8("DNS flags")?;
        let lo = r.u8("DNS flags")?;
        Ok(Header {
            id,
            qr: hi & 0x80 != 0,
            opcode: (hi >> 3) & 0x0F,
            aa: hi & 0x04 != 0,
            tc: hi & 0x02 != 0,
            rd: hi & 0x01 != 0,
            ra: lo & 0x80 != 0,
            rcode: Rcode::from_bits(lo & 0x0F),
            qdcount: r.u16_be("DNS qdcount")?,
            ancount: r.u16_be("DNS ancount")?,
            nscount: r.u16_be("DNS nscount")?,
            arcount: r.u16_be("DNS arcount")?,
        })
    }
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Queried name ("." for the root).
    pub name: String,
    /// Queried type.
    pub qtype: RecordType,
    /// Queried class (1 = IN).
    pub qclass: u16,
}

/// Decoded record data for the types portq shows; other types keep only their length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Name server.
    Ns(String),
    /// Canonical name.
    Cname(String),
    /// Pointer.
    Ptr(String),
    /// Start of authority.
    Soa {
        /// Primary name server.
        mname: String,
        /// Responsible mailbox.
        rname: String,
        /// Zone serial number.
        serial: u32,
        /// Refresh interval (s).
        refresh: u32,
        /// Retry interval (s).
        retry: u32,
        /// Expiry (s).
        expire: u32,
        /// Negative-caching TTL (s).
        minimum: u32,
    },
    /// Service location.
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host.
        target: String,
    },
    /// Any other type: only the RDATA length is kept.
    Other {
        /// RDATA length.
        len: usize,
    },
}

impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Ns(n) | RData::Cname(n) | RData::Ptr(n) => f.write_str(n),
            RData::Soa {
                mname,
                rname,
                serial,
                ..
            } => write!(f, "{mname} {rname} serial {serial}"),
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => write!(f, "{priority} {weight} {port} {target}"),
            RData::Other { len } => write!(f, "({len} bytes)"),
        }
    }
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// Type.
    pub rtype: RecordType,
    /// Class (for OPT, the UDP payload size).
    pub class: u16,
    /// Time to live.
    pub ttl: u32,
    /// Decoded data.
    pub data: RData,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.rtype, self.data)
    }
}

/// A decoded DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Header.
    pub header: Header,
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
}

impl Message {
    /// Evidence line: response code, flags and the answers, e.g.
    /// `NOERROR aa; 1 answer: example.test SOA dc1.example.test ...`.
    pub fn summary(&self) -> String {
        let mut s = self.header.rcode.to_string();
        if self.header.aa {
            s.push_str(" aa");
        }
        if self.header.tc {
            s.push_str(" tc");
        }
        let n = self.answers.len();
        s.push_str(&format!("; {n} answer{}", if n == 1 { "" } else { "s" }));
        for (i, rec) in self.answers.iter().take(4).enumerate() {
            s.push_str(if i == 0 { ": " } else { ", " });
            s.push_str(&rec.to_string());
        }
        if n > 4 {
            s.push_str(", ...");
        }
        s
    }
}

fn push_label(out: &mut String, label: &[u8]) {
    match std::str::from_utf8(label) {
        Ok(text) => {
            for c in text.chars() {
                match c {
                    '.' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() || c == ' ' => {
                        out.push_str(&format!("\\{:03}", u32::from(c) & 0xFF));
                    }
                    c => out.push(c),
                }
            }
        }
        Err(_) => {
            for &b in label {
                match b {
                    b'.' | b'\\' => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    0x21..=0x7E => out.push(char::from(b)),
                    _ => out.push_str(&format!("\\{b:03}")),
                }
            }
        }
    }
}

/// Reads a possibly compressed name starting at `offset` in `msg`.
///
/// Returns the name as dotted text (empty for the root; `.` and `\` inside labels and
/// non-printable octets are escaped) and the offset just past the name where it started,
/// i.e. where the next field begins. Compression pointers are offsets from the start of
/// `msg`, which is the DNS message or, for CLDAP, the netlogon blob.
pub fn read_name(msg: &[u8], offset: usize) -> Result<(String, usize), WireError> {
    let mut text = String::new();
    let mut pos = offset;
    let mut resume: Option<usize> = None;
    let mut jumps = 0usize;
    let mut labels = 0usize;
    let mut wire_len = 1usize;
    loop {
        let mut r = Reader::new(msg);
        r.skip(pos, "DNS name")?;
        let len = r.u8("DNS label length")?;
        match len & 0xC0 {
            0xC0 => {
                let low = r.u8("DNS compression pointer")?;
                let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                if resume.is_none() {
                    resume = Some(r.position());
                }
                jumps += 1;
                check_cap("DNS compression pointers", jumps, MAX_POINTER_JUMPS)?;
                if target >= pos {
                    return Err(WireError::invalid(
                        "DNS compression pointer",
                        format!("pointer at {pos} to {target} does not point backwards"),
                    ));
                }
                pos = target;
            }
            0x00 => {
                if len == 0 {
                    let end = resume.unwrap_or(r.position());
                    return Ok((text, end));
                }
                let label = r.take(usize::from(len), "DNS label")?;
                labels += 1;
                check_cap("DNS labels", labels, MAX_LABELS)?;
                wire_len += 1 + usize::from(len);
                check_cap("DNS name length", wire_len, MAX_NAME_LEN)?;
                if !text.is_empty() {
                    text.push('.');
                }
                push_label(&mut text, label);
                pos = r.position();
            }
            _ => {
                return Err(WireError::invalid(
                    "DNS label type",
                    format!("label type bits {:#04x} are not supported", len & 0xC0),
                ));
            }
        }
    }
}

/// Reads a name at the position of `r`, which must be a reader over `msg` from its start.
pub(crate) fn read_name_at(msg: &[u8], r: &mut Reader<'_>) -> Result<String, WireError> {
    let start = r.position();
    let (name, end) = read_name(msg, start)?;
    r.skip(end.saturating_sub(start), "DNS name")?;
    Ok(name)
}

fn display_name(name: String) -> String {
    if name.is_empty() {
        ".".to_string()
    } else {
        name
    }
}

/// Encodes a dotted name as uncompressed labels (a trailing dot is optional; "" and "."
/// are the root). Escapes are not interpreted.
pub fn encode_name(name: &str) -> Result<Vec<u8>, WireError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let mut out = Vec::with_capacity(trimmed.len() + 2);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            let len = label.len();
            if len == 0 {
                return Err(WireError::invalid("DNS name", "empty label"));
            }
            check_cap("DNS label length", len, 63)?;
            out.push(len as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    check_cap("DNS name length", out.len(), MAX_NAME_LEN)?;
    Ok(out)
}

/// Builds a standard query with one question of class IN.
pub fn query(
    id: u16,
    name: &str,
    qtype: RecordType,
    recursion_desired: bool,
) -> Result<Vec<u8>, WireError> {
    let qname = encode_name(name)?;
    let mut out = Vec::with_capacity(HEADER_LEN + qname.len() + 4);
    out.extend_from_slice(&id.to_be_bytes());
    out.push(if recursion_desired { 0x01 } else { 0x00 });
    out.push(0x00);
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&qname);
    out.extend_from_slice(&qtype.0.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

fn read_rdata(msg: &[u8], rtype: RecordType, start: usize, len: usize) -> Result<RData, WireError> {
    let end = start
        .checked_add(len)
        .ok_or_else(|| WireError::invalid("DNS RDATA", "length overflows"))?;
    let mut r = Reader::new(msg);
    r.skip(start, "DNS RDATA")?;
    let name = |r: &mut Reader<'_>| -> Result<String, WireError> {
        let n = read_name_at(msg, r)?;
        if r.position() > end {
            return Err(WireError::invalid("DNS RDATA", "name runs past RDLENGTH"));
        }
        Ok(display_name(n))
    };
    let data = match rtype {
        RecordType::A => RData::A(Ipv4Addr::from(r.array::<4>("A address")?)),
        RecordType::AAAA => RData::Aaaa(Ipv6Addr::from(r.array::<16>("AAAA address")?)),
        RecordType::NS => RData::Ns(name(&mut r)?),
        RecordType::CNAME => RData::Cname(name(&mut r)?),
        RecordType::PTR => RData::Ptr(name(&mut r)?),
        RecordType::SOA => RData::Soa {
            mname: name(&mut r)?,
            rname: name(&mut r)?,
            serial: r.u32_be("SOA serial")?,
            refresh: r.u32_be("SOA refresh")?,
            retry: r.u32_be("SOA retry")?,
            expire: r.u32_be("SOA expire")?,
            minimum: r.u32_be("SOA minimum")?,
        },
        RecordType::SRV => RData::Srv {
            priority: r.u16_be("SRV priority")?,
            weight: r.u16_be("SRV weight")?,
            port: r.u16_be("SRV port")?,
            target: name(&mut r)?,
        },
        _ => return Ok(RData::Other { len }),
    };
    if r.position() != end {
        return Err(WireError::invalid(
            "DNS RDATA",
            format!("{rtype} data does not fill RDLENGTH {len}"),
        ));
    }
    Ok(data)
}

fn read_record(msg: &[u8], r: &mut Reader<'_>) -> Result<Record, WireError> {
    let name = display_name(read_name_at(msg, r)?);
    let rtype = RecordType(r.u16_be("DNS record type")?);
    let class = r.u16_be("DNS record class")?;
    let ttl = r.u32_be("DNS record TTL")?;
    let len = usize::from(r.u16_be("DNS RDLENGTH")?);
    let start = r.position();
    r.skip(len, "DNS RDATA")?;
    let data = read_rdata(msg, rtype, start, len)?;
    Ok(Record {
        name,
        rtype,
        class,
        ttl,
        data,
    })
}

fn read_records(msg: &[u8], r: &mut Reader<'_>, count: u16) -> Result<Vec<Record>, WireError> {
    // Each record needs at least 11 bytes; refuse counts the message cannot hold
    // before reserving anything.
    let count = usize::from(count);
    if count.saturating_mul(11) > r.remaining() {
        return Err(WireError::Truncated {
            what: "DNS records",
            needed: count * 11,
            available: r.remaining(),
        });
    }
    (0..count).map(|_| read_record(msg, r)).collect()
}

/// Decodes a DNS message (normally a response to [`query`]).
///
/// Every section must hold as many entries as the header counts.
pub fn decode(msg: &[u8]) -> Result<Message, WireError> {
    let mut r = Reader::new(msg);
    let header = Header::read(&mut r)?;
    let qd = usize::from(header.qdcount);
    if qd.saturating_mul(5) > r.remaining() {
        return Err(WireError::Truncated {
            what: "DNS questions",
            needed: qd * 5,
            available: r.remaining(),
        });
    }
    let mut questions = Vec::with_capacity(qd);
    for _ in 0..qd {
        let name = display_name(read_name_at(msg, &mut r)?);
        questions.push(Question {
            name,
            qtype: RecordType(r.u16_be("DNS QTYPE")?),
            qclass: r.u16_be("DNS QCLASS")?,
        });
    }
    let answers = read_records(msg, &mut r, header.ancount)?;
    let authority = read_records(msg, &mut r, header.nscount)?;
    let additional = read_records(msg, &mut r, header.arcount)?;
    Ok(Message {
        header,
        questions,
        answers,
        authority,
        additional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SOA answer for example.test with compression, as a Windows or Samba DC sends it.
    fn soa_response() -> Vec<u8> {
        let mut m = vec![
            0x12, 0x34, // id
            0x85, 0x80, // QR, opcode 0, AA, RD | RA, NOERROR
            0x00, 0x01, // qdcount
            0x00, 0x01, // ancount
            0x00, 0x00, // nscount
            0x00, 0x00, // arcount
        ];
        // question at offset 12: example.test SOA IN
        m.extend_from_slice(b"\x07example\x04test\x00");
        m.extend_from_slice(&[0x00, 0x06, 0x00, 0x01]);
        // answer: name = pointer to 12
        m.extend_from_slice(&[0xC0, 0x0C]);
        m.extend_from_slice(&[0x00, 0x06]); // type SOA
        m.extend_from_slice(&[0x00, 0x01]); // class IN
        m.extend_from_slice(&[0x00, 0x00, 0x0E, 0x10]); // ttl 3600
        m.extend_from_slice(&[0x00, 39]); // rdlength
        m.extend_from_slice(b"\x03dc1\xC0\x0C"); // mname dc1.example.test
        m.extend_from_slice(b"\x0ahostmaster\xC0\x0C"); // rname
        m.extend_from_slice(&2024010101u32.to_be_bytes()); // serial
        m.extend_from_slice(&900u32.to_be_bytes()); // refresh
        m.extend_from_slice(&600u32.to_be_bytes()); // retry
        m.extend_from_slice(&86400u32.to_be_bytes()); // expire
        m.extend_from_slice(&3600u32.to_be_bytes()); // minimum
        m
    }

    /// SRV answer for _ldap._tcp.dc._msdcs.example.test plus the target's A and AAAA.
    fn srv_response() -> Vec<u8> {
        let mut m = vec![
            0xBE, 0xEF, // id
            0x85, 0x00, // QR AA, no RD
            0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
        ];
        // question at 12
        m.extend_from_slice(b"\x05_ldap\x04_tcp\x02dc\x06_msdcs\x07example\x04test\x00");
        m.extend_from_slice(&[0x00, 0x21, 0x00, 0x01]);
        // answer
        m.extend_from_slice(&[0xC0, 0x0C, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58]);
        m.extend_from_slice(&[0x00, 12]); // rdlength: 6 + "dc1" label (4) + pointer (2)
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x64, 0x01, 0x85]); // prio 0 weight 100 port 389
        // target dc1 + pointer to "example.test" at 12 + 6 + 5 + 3 + 7 = 33
        m.extend_from_slice(&[0x03, b'd', b'c', b'1', 0xC0, 33]);
        let target = m.len() - 6;
        // additional: A for dc1.example.test
        m.extend_from_slice(&[0xC0, target as u8, 0x00, 0x01, 0x00, 0x01, 0, 0, 0x0E, 0x10]);
        m.extend_from_slice(&[0x00, 0x04, 192, 0, 2, 10]);
        // additional: AAAA 2001:db8::a
        m.extend_from_slice(&[0xC0, target as u8, 0x00, 0x1C, 0x00, 0x01, 0, 0, 0x0E, 0x10]);
        m.extend_from_slice(&[
            0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
        ]);
        m
    }

    #[test]
    fn query_bytes() {
        let q = query(0x1234, "example.test", RecordType::SOA, true).unwrap();
        let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x07example\x04test\x00\x00\x06\x00\x01");
        assert_eq!(q, want);
        let m = decode(&q).unwrap();
        assert!(!m.header.qr && m.header.rd);
        assert_eq!(m.questions[0].name, "example.test");
        assert_eq!(m.questions[0].qtype, RecordType::SOA);
        assert_eq!(m.questions[0].qclass, CLASS_IN);

        let q = query(1, "example.test.", RecordType::A, false).unwrap();
        assert_eq!(q[2], 0x00);
        assert!(query(1, "a..b", RecordType::A, false).is_err());
        assert!(query(1, &"a".repeat(64), RecordType::A, false).is_err());
    }

    #[test]
    fn decodes_soa_response() {
        let m = decode(&soa_response()).unwrap();
        assert_eq!(m.header.id, 0x1234);
        assert!(m.header.qr && m.header.aa && m.header.rd && m.header.ra && !m.header.tc);
        assert_eq!(m.header.rcode, Rcode::NoError);
        assert_eq!(m.answers.len(), 1);
        let a = &m.answers[0];
        assert_eq!(a.name, "example.test");
        assert_eq!(a.ttl, 3600);
        assert_eq!(
            a.data,
            RData::Soa {
                mname: "dc1.example.test".into(),
                rname: "hostmaster.example.test".into(),
                serial: 2024010101,
                refresh: 900,
                retry: 600,
                expire: 86400,
                minimum: 3600,
            }
        );
        assert_eq!(
            m.summary(),
            "NOERROR aa; 1 answer: example.test SOA dc1.example.test hostmaster.example.test serial 2024010101"
        );
    }

    #[test]
    fn decodes_srv_response() {
        let m = decode(&srv_response()).unwrap();
        assert_eq!(m.questions[0].name, "_ldap._tcp.dc._msdcs.example.test");
        assert_eq!(
            m.answers[0].data,
            RData::Srv {
                priority: 0,
                weight: 100,
                port: 389,
                target: "dc1.example.test".into()
            }
        );
        assert_eq!(m.additional[0].name, "dc1.example.test");
        assert_eq!(m.additional[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 10)));
        assert_eq!(
            m.additional[1].data,
            RData::Aaaa("2001:db8::a".parse().unwrap())
        );
    }

    #[test]
    fn nxdomain_and_other_types() {
        let mut m = vec![0, 7, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x04nope\x04test\x00\x00\x01\x00\x01");
        let d = decode(&m).unwrap();
        assert_eq!(d.header.rcode, Rcode::NxDomain);
        assert_eq!(d.header.rcode.to_string(), "NXDOMAIN");
        assert!(d.answers.is_empty());
        // a TXT answer is kept as its length
        let mut m = vec![0, 7, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 3, 2, b'h', b'i']);
        let d = decode(&m).unwrap();
        assert_eq!(d.answers[0].name, ".");
        assert_eq!(d.answers[0].data, RData::Other { len: 3 });
        assert_eq!(Rcode::from_bits(12).to_string(), "RCODE12");
    }

    #[test]
    fn rdata_length_must_match() {
        // A record with RDLENGTH 5
        let mut m = vec![0, 7, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
        assert!(decode(&m).is_err());
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        for msg in [soa_response(), srv_response()] {
            for i in 0..msg.len() {
                assert!(decode(&msg[..i]).is_err(), "prefix {i} decoded");
            }
        }
    }

    #[test]
    fn compression_loops_are_rejected() {
        // the question name is a pointer to itself
        let mut m = vec![
            0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1,
        ];
        assert!(matches!(decode(&m), Err(WireError::Invalid { .. })));
        // two pointers pointing at each other
        m.truncate(12);
        m.extend_from_slice(&[0xC0, 0x0E, 0xC0, 0x0C, 0, 1, 0, 1]);
        assert!(decode(&m).is_err());
        // a chain of 130 backward pointers exceeds the jump cap
        let mut m = vec![0u8];
        for i in 0..130u16 {
            let target = if i == 0 { 0 } else { (i - 1) * 2 + 1 };
            m.extend_from_slice(&(0xC000 | target).to_be_bytes());
        }
        let last = m.len() - 2;
        assert!(matches!(
            read_name(&m, last),
            Err(WireError::TooLarge {
                what: "DNS compression pointers",
                ..
            })
        ));
        // a chain of 100 is fine and ends at the root
        assert_eq!(read_name(&m, 199).unwrap(), (String::new(), 201));
    }

    #[test]
    fn long_names_are_rejected() {
        let mut m = Vec::new();
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.push(0);
        assert!(matches!(
            read_name(&m, 0),
            Err(WireError::TooLarge {
                what: "DNS name length",
                ..
            })
        ));
        assert!(encode_name(&vec!["a".repeat(63); 5].join(".")).is_err());
        // extended label types
        assert!(read_name(&[0x41, 0], 0).is_err());
    }

    #[test]
    fn escapes_odd_labels() {
        let (n, end) = read_name(b"\x03a.b\x02\x00\xff\x00", 0).unwrap();
        assert_eq!(n, "a\\.b.\\000\\255");
        assert_eq!(end, 8);
    }

    fn arb_name() -> impl Strategy<Value = String> {
        proptest::collection::vec("[a-z0-9_-]{1,63}", 0..8)
            .prop_filter("fits", |labels| {
                labels.iter().map(|l| l.len() + 1).sum::<usize>() < MAX_NAME_LEN
            })
            .prop_map(|labels| labels.join("."))
    }

    proptest! {
        #[test]
        fn name_round_trip(name in arb_name(), prefix in "[a-z]{1,10}") {
            let enc = encode_name(&name).unwrap();
            let (back, end) = read_name(&enc, 0).unwrap();
            prop_assert_eq!(&back, &name);
            prop_assert_eq!(end, enc.len());
            // the same name reached through a pointer after a prefix label
            let mut m = enc.clone();
            m.push(prefix.len() as u8);
            m.extend_from_slice(prefix.as_bytes());
            m.extend_from_slice(&[0xC0, 0x00]);
            let want = if name.is_empty() { prefix.clone() } else { format!("{prefix}.{name}") };
            let got = read_name(&m, enc.len());
            if want.len() + 2 <= MAX_NAME_LEN {
                prop_assert_eq!(got, Ok((want, m.len())));
            } else {
                prop_assert!(got.is_err());
            }
        }

        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&buf);
            let _ = read_name(&buf, 0);
        }

        #[test]
        fn query_round_trip(id in any::<u16>(), name in arb_name(), t in any::<u16>()) {
            let q = query(id, &name, RecordType(t), true).unwrap();
            let m = decode(&q).unwrap();
            prop_assert_eq!(m.header.id, id);
            let want = if name.is_empty() { ".".to_string() } else { name };
            prop_assert_eq!(&m.questions[0].name, &want);
            prop_assert_eq!(m.questions[0].qtype, RecordType(t));
        }
    }
}
