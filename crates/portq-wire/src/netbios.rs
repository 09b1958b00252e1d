//! NetBIOS over TCP/IP (RFC 1001/1002): the name service node status (NBSTAT) query on
//! UDP 137, and the session service on TCP 139 (session request, its replies, and the
//! 4-byte session-message framing also used in front of SMB on TCP 445).

use std::fmt;
use std::net::Ipv4Addr;

use crate::WireError;
use crate::dns::{self, Header};
use crate::reader::{Reader, check_cap};

/// QTYPE/RR type NBSTAT (node status).
pub const QTYPE_NBSTAT: u16 = 0x0021;
/// QCLASS IN.
pub const QCLASS_IN: u16 = 0x0001;
/// Length of one NODE_NAME entry in a node status reply.
pub const NODE_NAME_LEN: usize = 18;
/// Length of an encoded name on the wire: length octet, 32 letters, root label.
pub const ENCODED_NAME_LEN: usize = 34;

/// Session packet type: session message (carries SMB).
pub const SESSION_MESSAGE: u8 = 0x00;
/// Session packet type: session request.
pub const SESSION_REQUEST: u8 = 0x81;
/// Session packet type: positive session response.
pub const POSITIVE_SESSION_RESPONSE: u8 = 0x82;
/// Session packet type: negative session response.
pub const NEGATIVE_SESSION_RESPONSE: u8 = 0x83;
/// Session packet type: retarget session response.
pub const RETARGET_SESSION_RESPONSE: u8 = 0x84;
/// Session packet type: session keep-alive.
pub const SESSION_KEEP_ALIVE: u8 = 0x85;
/// Largest payload [`session_message`] frames (the 17-bit length of RFC 1002, which
/// both TCP 139 and TCP 445 accept).
pub const MAX_SESSION_PAYLOAD: usize = 0x1_FFFF;

/// The 16 raw octets of a NetBIOS name: 15 name octets padded with spaces, then the
/// suffix octet. The wildcard `*` is padded with NULs instead, as RFC 1002 requires.
pub fn raw_name(name: &str, suffix: u8) -> Result<[u8; 16], WireError> {
    let bytes = name.as_bytes();
    check_cap("NetBIOS name length", bytes.len(), 15)?;
    if bytes.iter().any(|b| b.is_ascii_control()) {
        return Err(WireError::invalid("NetBIOS name", "control character"));
    }
    let pad = if name == "*" { 0x00 } else { b' ' };
    let mut raw = [pad; 16];
    for (slot, b) in raw.iter_mut().zip(bytes) {
        *slot = b.to_ascii_uppercase();
    }
    raw[15] = suffix;
    Ok(raw)
}

/// First-level encoding: each nibble becomes a letter `A`..`P`, giving 32 letters.
pub fn first_level_encode(raw: &[u8; 16]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(raw) {
        pair[0] = b'A' + (b >> 4);
        pair[1] = b'A' + (b & 0x0F);
    }
    out
}

/// Reverses [`first_level_encode`].
pub fn first_level_decode(encoded: &[u8]) -> Result<[u8; 16], WireError> {
    if encoded.len() != 32 {
        return Err(WireError::invalid(
            "NetBIOS encoded name",
            format!("{} letters instead of 32", encoded.len()),
        ));
    }
    let mut raw = [0u8; 16];
    for (slot, pair) in raw.iter_mut().zip(encoded.chunks_exact(2)) {
        let nib = |c: u8| -> Result<u8, WireError> {
            if (b'A'..=b'P').contains(&c) {
                Ok(c - b'A')
            } else {
                Err(WireError::invalid(
                    "NetBIOS encoded name",
                    "letter outside A-P",
                ))
            }
        };
        let (hi, lo) = match pair {
            [hi, lo] => (nib(*hi)?, nib(*lo)?),
            _ => return Err(WireError::invalid("NetBIOS encoded name", "odd length")),
        };
        *slot = (hi << 4) | lo;
    }
    Ok(raw)
}

/// A name in wire form: 0x20, the 32 encoded letters, and the empty root label (no scope).
pub fn encode_name(name: &str, suffix: u8) -> Result<[u8; ENCODED_NAME_LEN], WireError> {
    let letters = first_level_encode(&raw_name(name, suffix)?);
    let mut out = [0u8; ENCODED_NAME_LEN];
    out[0] = 0x20;
    out[1..33].copy_from_slice(&letters);
    Ok(out)
}

/// The node status request for the wildcard name `*`, with transaction ID `id`.
pub fn node_status_request(id: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x00, 0x00]); // opcode query, no flags
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT 1
    let mut letters = [0u8; ENCODED_NAME_LEN];
    letters[0] = 0x20;
    let mut raw = [0u8; 16];
    raw[0] = b'*';
    letters[1..33].copy_from_slice(&first_level_encode(&raw));
    out.extend_from_slice(&letters);
    out.extend_from_slice(&QTYPE_NBSTAT.to_be_bytes());
    out.extend_from_slice(&QCLASS_IN.to_be_bytes());
    out
}

/// What a registered name suffix conventionally means on Windows networks.
pub fn suffix_meaning(suffix: u8, group: bool) -> &'static str {
    match (suffix, group) {
        (0x00, false) => "Workstation Service",
        (0x00, true) => "Domain/Workgroup Name",
        (0x01, true) => "Master Browser",
        (0x01, false) | (0x03, _) => "Messenger Service",
        (0x06, _) => "RAS Server Service",
        (0x1B, _) => "Domain Master Browser",
        (0x1C, true) => "Domain Controllers",
        (0x1C, false) => "Domain Controller",
        (0x1D, _) => "Master Browser",
        (0x1E, _) => "Browser Service Elections",
        (0x1F, _) => "NetDDE Service",
        (0x20, _) => "File Server Service",
        (0x21, _) => "RAS Client Service",
        (0xBE, _) => "Network Monitor Agent",
        (0xBF, _) => "Network Monitor Application",
        _ => "Unknown Service",
    }
}

/// One entry of a node status reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName {
    /// The 15-octet name with trailing spaces/NULs removed (non-printable octets as `\xNN`).
    pub name: String,
    /// The 16th octet.
    pub suffix: u8,
    /// NAME_FLAGS as sent.
    pub flags: u16,
}

impl NodeName {
    /// Group name (G bit) rather than unique.
    pub fn group(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The name is active (ACT bit).
    pub fn active(&self) -> bool {
        self.flags & 0x0400 != 0
    }

    /// The name is in conflict (CNF bit).
    pub fn conflict(&self) -> bool {
        self.flags & 0x0800 != 0
    }

    /// Owner node type: B, P, M or H.
    pub fn node_type(&self) -> char {
        match (self.flags >> 13) & 0x3 {
            0 => 'B',
            1 => 'P',
            2 => 'M',
            _ => 'H',
        }
    }

    /// See [`suffix_meaning`].
    pub fn meaning(&self) -> &'static str {
        suffix_meaning(self.suffix, self.group())
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}<{:02x}> {} ({})",
            self.name,
            self.suffix,
            if self.group() { "GROUP" } else { "UNIQUE" },
            self.meaning()
        )
    }
}

/// A decoded node status reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// Transaction ID.
    pub id: u16,
    /// Registered names.
    pub names: Vec<NodeName>,
    /// The unit ID (MAC address; Samba sends zeros).
    pub unit_id: [u8; 6],
}

impl NodeStatus {
    /// The unit ID as `aa:bb:cc:dd:ee:ff`.
    pub fn mac(&self) -> String {
        self.unit_id
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The computer name: the first unique `<00>` name.
    pub fn computer_name(&self) -> Option<&str> {
        self.names
            .iter()
            .find(|n| n.suffix == 0x00 && !n.group())
            .map(|n| n.name.as_str())
    }

    /// The domain or workgroup: the first group `<00>` name.
    pub fn domain(&self) -> Option<&str> {
        self.names
            .iter()
            .find(|n| n.suffix == 0x00 && n.group())
            .map(|n| n.name.as_str())
    }

    /// True when the node registered the `<1C>` domain controllers group.
    pub fn is_domain_controller(&self) -> bool {
        self.names.iter().any(|n| n.suffix == 0x1C && n.group())
    }

    /// Evidence line, e.g. `DC1 in EXAMPLE, 6 names, DC, MAC 52:54:00:12:34:56`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} in {}, {} names",
            self.computer_name().unwrap_or("?"),
            self.domain().unwrap_or("?"),
            self.names.len()
        );
        if self.is_domain_controller() {
            s.push_str(", DC");
        }
        s.push_str(", MAC ");
        s.push_str(&self.mac());
        s
    }
}

fn name_text(raw: &[u8]) -> String {
    let end = raw
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |p| p + 1);
    let mut s = String::new();
    for &b in raw.get(..end).unwrap_or_default() {
        if (0x20..0x7F).contains(&b) && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Decodes the reply to [`node_status_request`].
pub fn decode_node_status(msg: &[u8]) -> Result<NodeStatus, WireError> {
    let mut r = Reader::new(msg);
    let header = Header::read(&mut r)?;
    if !header.qr {
        return Err(WireError::Unexpected {
            what: "NBSTAT response",
            got: "a request".into(),
        });
    }
    if header.rcode.code() != 0 {
        return Err(WireError::Unexpected {
            what: "NBSTAT response",
            got: format!("error rcode {}", header.rcode.code()),
        });
    }
    if header.ancount == 0 {
        return Err(WireError::Unexpected {
            what: "NBSTAT response",
            got: "no answer record".into(),
        });
    }
    for _ in 0..header.qdcount {
        dns::read_name_at(msg, &mut r)?;
        r.skip(4, "NBSTAT question")?;
    }
    dns::read_name_at(msg, &mut r)?;
    let rtype = r.u16_be("NBSTAT RR type")?;
    if rtype != QTYPE_NBSTAT {
        return Err(WireError::Unexpected {
            what: "NBSTAT record",
            got: format!("record type {rtype:#06x}"),
        });
    }
    r.skip(2 + 4, "NBSTAT RR class and TTL")?;
    let rdlength = usize::from(r.u16_be("NBSTAT RDLENGTH")?);
    let mut rd = Reader::new(r.take(rdlength, "NBSTAT RDATA")?);
    let count = usize::from(rd.u8("NBSTAT NUM_NAMES")?);
    let needed = count * NODE_NAME_LEN + 6;
    if needed > rd.remaining() {
        return Err(WireError::Truncated {
            what: "NBSTAT node names",
            needed,
            available: rd.remaining(),
        });
    }
    let mut names = Vec::with_capacity(count);
    for _ in 0..count {
        let raw = rd.take(15, "NBSTAT name")?;
        names.push(NodeName {
            name: name_text(raw),
            suffix: rd.u8("NBSTAT name suffix")?,
            flags: rd.u16_be("NBSTAT name flags")?,
        });
    }
    let unit_id = rd.array::<6>("NBSTAT unit ID")?;
    Ok(NodeStatus {
        id: header.id,
        names,
        unit_id,
    })
}

/// A SESSION REQUEST packet calling `called<called_suffix>` from `calling<calling_suffix>`.
pub fn session_request(
    called: &str,
    called_suffix: u8,
    calling: &str,
    calling_suffix: u8,
) -> Result<Vec<u8>, WireError> {
    let called = encode_name(called, called_suffix)?;
    let calling = encode_name(calling, calling_suffix)?;
    let mut out = Vec::with_capacity(4 + 2 * ENCODED_NAME_LEN);
    out.push(SESSION_REQUEST);
    out.push(0);
    out.extend_from_slice(&((2 * ENCODED_NAME_LEN) as u16).to_be_bytes());
    out.extend_from_slice(&called);
    out.extend_from_slice(&calling);
    Ok(out)
}

/// A SESSION REQUEST to `*SMBSERVER<20>`, the name any SMB server on TCP 139 accepts.
pub fn smbserver_session_request(calling: &str) -> Result<Vec<u8>, WireError> {
    session_request("*SMBSERVER", 0x20, calling, 0x00)
}

/// Why a NEGATIVE SESSION RESPONSE refused the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeReason {
    /// 0x80: not listening on the called name.
    NotListeningOnCalledName,
    /// 0x81: not listening for the calling name.
    NotListeningForCallingName,
    /// 0x82: called name not present.
    CalledNameNotPresent,
    /// 0x83: called name present, but insufficient resources.
    InsufficientResources,
    /// 0x8F: unspecified error.
    Unspecified,
    /// Any other code.
    Other(u8),
}

impl NegativeReason {
    /// Maps the error code octet.
    pub fn from_code(code: u8) -> NegativeReason {
        match code {
            0x80 => NegativeReason::NotListeningOnCalledName,
            0x81 => NegativeReason::NotListeningForCallingName,
            0x82 => NegativeReason::CalledNameNotPresent,
            0x83 => NegativeReason::InsufficientResources,
            0x8F => NegativeReason::Unspecified,
            c => NegativeReason::Other(c),
        }
    }

    /// The error code octet.
    pub fn code(self) -> u8 {
        match self {
            NegativeReason::NotListeningOnCalledName => 0x80,
            NegativeReason::NotListeningForCallingName => 0x81,
            NegativeReason::CalledNameNotPresent => 0x82,
            NegativeReason::InsufficientResources => 0x83,
            NegativeReason::Unspecified => 0x8F,
            NegativeReason::Other(c) => c,
        }
    }
}

impl fmt::Display for NegativeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            NegativeReason::NotListeningOnCalledName => "not listening on called name",
            NegativeReason::NotListeningForCallingName => "not listening for calling name",
            NegativeReason::CalledNameNotPresent => "called name not present",
            NegativeReason::InsufficientResources => {
                "called name present, but insufficient resources"
            }
            NegativeReason::Unspecified => "unspecified error",
            NegativeReason::Other(_) => "unknown error",
        };
        write!(f, "{text} ({:#04x})", self.code())
    }
}

/// A session service packet received in reply to a session request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionReply {
    /// 0x82: the session is established.
    Positive,
    /// 0x83: refused, with the reason.
    Negative(NegativeReason),
    /// 0x84: try again at another address and port.
    Retarget {
        /// Address to call.
        addr: Ipv4Addr,
        /// Port to call.
        port: u16,
    },
    /// 0x85: keep-alive.
    KeepAlive,
    /// 0x00: a session message of `len` bytes.
    Message {
        /// Payload length.
        len: usize,
    },
}

impl fmt::Display for SessionReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionReply::Positive => f.write_str("positive session response"),
            SessionReply::Negative(r) => write!(f, "negative session response: {r}"),
            SessionReply::Retarget { addr, port } => {
                write!(f, "retarget session response to {addr}:{port}")
            }
            SessionReply::KeepAlive => f.write_str("session keep-alive"),
            SessionReply::Message { len } => write!(f, "session message of {len} bytes"),
        }
    }
}

/// The session packet header: type and payload length.
///
/// For session messages (type 0x00) the length is the 24-bit form used on TCP 445 (on
/// TCP 139 only 17 bits are ever set); for the other types the flags octet may only carry
/// the length-extension bit.
pub fn session_header(prefix: &[u8]) -> Result<(u8, usize), WireError> {
    let mut r = Reader::new(prefix);
    let kind = r.u8("NetBIOS session type")?;
    let flags = r.u8("NetBIOS session flags")?;
    let low = usize::from(r.u16_be("NetBIOS session length")?);
    if kind != SESSION_MESSAGE && flags & 0xFE != 0 {
        return Err(WireError::invalid(
            "NetBIOS session flags",
            format!("reserved bits set in {flags:#04x}"),
        ));
    }
    Ok((kind, (usize::from(flags) << 16) | low))
}

/// Decodes the reply to a [`session_request`].
pub fn decode_session_reply(buf: &[u8]) -> Result<SessionReply, WireError> {
    let (kind, len) = session_header(buf)?;
    let mut r = Reader::new(buf);
    r.skip(4, "NetBIOS session header")?;
    let mut body = Reader::new(r.take(len, "NetBIOS session packet")?);
    let expect_len = |n: usize| {
        if len == n {
            Ok(())
        } else {
            Err(WireError::invalid(
                "NetBIOS session length",
                format!("{len} for packet type {kind:#04x}"),
            ))
        }
    };
    Ok(match kind {
        POSITIVE_SESSION_RESPONSE => {
            expect_len(0)?;
            SessionReply::Positive
        }
        NEGATIVE_SESSION_RESPONSE => {
            expect_len(1)?;
            SessionReply::Negative(NegativeReason::from_code(
                body.u8("negative response code")?,
            ))
        }
        RETARGET_SESSION_RESPONSE => {
            expect_len(6)?;
            SessionReply::Retarget {
                addr: Ipv4Addr::from(body.array::<4>("retarget address")?),
                port: body.u16_be("retarget port")?,
            }
        }
        SESSION_KEEP_ALIVE => {
            expect_len(0)?;
            SessionReply::KeepAlive
        }
        SESSION_MESSAGE => SessionReply::Message { len },
        other => {
            return Err(WireError::Unexpected {
                what: "NetBIOS session reply",
                got: format!("packet type {other:#04x}"),
            });
        }
    })
}

/// Wraps `payload` (an SMB message) in the 4-byte session-message header.
pub fn session_message(payload: &[u8]) -> Result<Vec<u8>, WireError> {
    let len = check_cap(
        "NetBIOS session payload",
        payload.len(),
        MAX_SESSION_PAYLOAD,
    )?;
    let mut out = Vec::with_capacity(len + 4);
    out.push(SESSION_MESSAGE);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Takes the payload of the session message at the start of `buf` (type 0x00 only).
pub fn session_message_payload(buf: &[u8]) -> Result<&[u8], WireError> {
    let (kind, len) = session_header(buf)?;
    if kind != SESSION_MESSAGE {
        return Err(WireError::Unexpected {
            what: "NetBIOS session message",
            got: format!("packet type {kind:#04x}"),
        });
    }
    let mut r = Reader::new(buf);
    r.skip(4, "NetBIOS session header")?;
    r.take(len, "NetBIOS session message")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(out: &mut Vec<u8>, name: &str, suffix: u8, flags: u16) {
        let mut raw = [b' '; 15];
        raw[..name.len()].copy_from_slice(name.as_bytes());
        out.extend_from_slice(&raw); // 15-octet name padded with spaces
        out.push(suffix); // suffix
        out.extend_from_slice(&flags.to_be_bytes()); // NAME_FLAGS
    }

    /// A node status reply shaped like Samba's nmbd for DC1 in EXAMPLE.
    fn samba_reply() -> Vec<u8> {
        let mut m = vec![
            0x41, 0x42, // transaction id
            0x84, 0x00, // response, opcode query, AA
            0x00, 0x00, // qdcount
            0x00, 0x01, // ancount
            0x00, 0x00, 0x00, 0x00, // nscount, arcount
        ];
        m.push(0x20); // RR_NAME: "*" first-level encoded
        m.extend_from_slice(b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        m.push(0x00);
        m.extend_from_slice(&[0x00, 0x21]); // RR_TYPE NBSTAT
        m.extend_from_slice(&[0x00, 0x01]); // RR_CLASS IN
        m.extend_from_slice(&[0, 0, 0, 0]); // TTL
        let rdlength = 1 + 6 * NODE_NAME_LEN + 46;
        m.extend_from_slice(&(rdlength as u16).to_be_bytes()); // RDLENGTH
        m.push(6); // NUM_NAMES
        node(&mut m, "DC1", 0x00, 0x0400); // unique, active
        node(&mut m, "DC1", 0x20, 0x0400);
        node(&mut m, "EXAMPLE", 0x00, 0x8400); // group, active
        node(&mut m, "EXAMPLE", 0x1C, 0x8400);
        node(&mut m, "EXAMPLE", 0x1B, 0x0400);
        node(&mut m, "EXAMPLE", 0x1E, 0x8400);
        m.extend_from_slice(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]); // UNIT_ID
        m.extend_from_slice(&[0u8; 40]); // rest of the statistics
        m
    }

    #[test]
    fn request_bytes() {
        let q = node_status_request(0x4142);
        assert_eq!(q.len(), 50);
        assert_eq!(&q[..12], &[0x41, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(q[12], 0x20);
        assert_eq!(&q[13..45], b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(&q[45..], &[0x00, 0x00, 0x21, 0x00, 0x01]);
        // the DNS decoder reads the question back
        let m = crate::dns::decode(&q).unwrap();
        assert_eq!(m.questions[0].qtype.0, QTYPE_NBSTAT);
        let raw = first_level_decode(m.questions[0].name.as_bytes()).unwrap();
        assert_eq!(raw, *b"*\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn decodes_samba_reply() {
        let s = decode_node_status(&samba_reply()).unwrap();
        assert_eq!(s.id, 0x4142);
        assert_eq!(s.names.len(), 6);
        assert_eq!(s.names[0].name, "DC1");
        assert_eq!(s.names[0].suffix, 0x00);
        assert!(!s.names[0].group() && s.names[0].active());
        assert_eq!(s.names[0].meaning(), "Workstation Service");
        assert_eq!(s.names[1].meaning(), "File Server Service");
        assert!(s.names[2].group());
        assert_eq!(s.names[2].meaning(), "Domain/Workgroup Name");
        assert_eq!(s.names[3].meaning(), "Domain Controllers");
        assert_eq!(s.names[4].meaning(), "Domain Master Browser");
        assert_eq!(s.names[5].meaning(), "Browser Service Elections");
        assert_eq!(s.names[3].node_type(), 'B');
        assert_eq!(s.computer_name(), Some("DC1"));
        assert_eq!(s.domain(), Some("EXAMPLE"));
        assert!(s.is_domain_controller());
        assert_eq!(s.mac(), "52:54:00:12:34:56");
        assert_eq!(
            s.summary(),
            "DC1 in EXAMPLE, 6 names, DC, MAC 52:54:00:12:34:56"
        );
        assert_eq!(
            s.names[3].to_string(),
            "EXAMPLE<1c> GROUP (Domain Controllers)"
        );
    }

    #[test]
    fn msbrowse_name_is_escaped() {
        let mut m = samba_reply();
        let first = 12 + 34 + 10 + 1;
        m[first..first + 15].copy_from_slice(b"\x01\x02__MSBROWSE__\x02");
        m[first + 15] = 0x01;
        let s = decode_node_status(&m).unwrap();
        assert_eq!(s.names[0].name, "\\x01\\x02__MSBROWSE__\\x02");
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let m = samba_reply();
        for i in 0..m.len() {
            assert!(decode_node_status(&m[..i]).is_err(), "prefix {i}");
        }
    }

    #[test]
    fn name_count_255_with_few_bytes() {
        let mut m = samba_reply()[..54].to_vec();
        m.extend_from_slice(&[0x00, 0x20]); // RDLENGTH 32
        m.push(255); // NUM_NAMES
        m.extend_from_slice(&[0u8; 31]);
        assert!(matches!(
            decode_node_status(&m),
            Err(WireError::Truncated {
                what: "NBSTAT node names",
                ..
            })
        ));
    }

    #[test]
    fn negative_rcode_and_wrong_type() {
        let mut m = samba_reply();
        m[3] = 0x03;
        assert!(decode_node_status(&m).is_err());
        let mut m = samba_reply();
        m[12 + 34 + 1] = 0x20; // NB instead of NBSTAT
        assert!(matches!(
            decode_node_status(&m),
            Err(WireError::Unexpected { .. })
        ));
    }

    #[test]
    fn session_request_bytes() {
        let p = smbserver_session_request("PORTQ").unwrap();
        assert_eq!(p.len(), 72);
        assert_eq!(&p[..4], &[0x81, 0x00, 0x00, 0x44]);
        assert_eq!(p[4], 0x20);
        assert_eq!(
            first_level_decode(&p[5..37]).unwrap(),
            *b"*SMBSERVER     \x20"
        );
        assert_eq!(p[37], 0x00);
        assert_eq!(p[38], 0x20);
        assert_eq!(
            first_level_decode(&p[39..71]).unwrap(),
            *b"PORTQ          \x00"
        );
        assert_eq!(p[71], 0x00);
        // "*SMBSERVER" encodes as in RFC 1001 examples: '*' = 0x2A -> "CK", ' ' -> "CA"
        assert_eq!(&p[5..7], b"CK");
        assert_eq!(&p[35..37], b"CA");
        assert!(session_request("A-NAME-LONGER-THAN-15", 0x20, "X", 0).is_err());
        // lower case is folded
        let p = session_request("dc1", 0x20, "portq", 0).unwrap();
        assert_eq!(first_level_decode(&p[5..37]).unwrap()[..3], *b"DC1");
    }

    #[test]
    fn session_replies() {
        assert_eq!(
            decode_session_reply(&[0x82, 0, 0, 0]).unwrap(),
            SessionReply::Positive
        );
        let neg = [0x83, 0, 0, 1, 0x82]; // type, flags, length 1, error code
        let r = decode_session_reply(&neg).unwrap();
        assert_eq!(
            r,
            SessionReply::Negative(NegativeReason::CalledNameNotPresent)
        );
        assert_eq!(
            r.to_string(),
            "negative session response: called name not present (0x82)"
        );
        let ret = [0x84, 0, 0, 6, 192, 0, 2, 7, 0x01, 0xBD]; // 192.0.2.7:445
        assert_eq!(
            decode_session_reply(&ret).unwrap(),
            SessionReply::Retarget {
                addr: Ipv4Addr::new(192, 0, 2, 7),
                port: 445
            }
        );
        assert_eq!(
            decode_session_reply(&[0x85, 0, 0, 0]).unwrap(),
            SessionReply::KeepAlive
        );
        assert!(decode_session_reply(&[0x82, 0, 0, 1, 0]).is_err());
        assert!(decode_session_reply(&[0x86, 0, 0, 0]).is_err());
        assert!(decode_session_reply(&[0x83, 0x02, 0, 1, 0x80]).is_err());
        for full in [&neg[..], &ret[..], &[0x82, 0, 0, 0][..]] {
            for i in 0..full.len() {
                assert!(decode_session_reply(&full[..i]).is_err());
            }
        }
    }

    #[test]
    fn session_message_framing() {
        let f = session_message(&[1, 2, 3]).unwrap();
        assert_eq!(f, vec![0x00, 0x00, 0x00, 0x03, 1, 2, 3]);
        assert_eq!(session_message_payload(&f).unwrap(), &[1, 2, 3]);
        let big = vec![0u8; 0x1_0005];
        let f = session_message(&big).unwrap();
        assert_eq!(&f[..4], &[0x00, 0x01, 0x00, 0x05]);
        assert_eq!(session_header(&f).unwrap(), (0x00, 0x1_0005));
        assert_eq!(session_message_payload(&f).unwrap().len(), 0x1_0005);
        assert!(session_message(&vec![0u8; MAX_SESSION_PAYLOAD + 1]).is_err());
        assert!(session_message_payload(&[0x00, 0x00, 0x00, 0x05, 1]).is_err());
    }

    proptest! {
        #[test]
        fn decoders_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_node_status(&buf);
            let _ = decode_session_reply(&buf);
            let _ = session_message_payload(&buf);
            let _ = first_level_decode(&buf);
        }

        #[test]
        fn first_level_round_trip(raw in any::<[u8; 16]>()) {
            prop_assert_eq!(first_level_decode(&first_level_encode(&raw)).unwrap(), raw);
        }
    }
}
