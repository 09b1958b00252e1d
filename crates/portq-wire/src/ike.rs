//! IKE on UDP 500 (ISAKMP, RFC 2408/2409, and IKEv2, RFC 7296): an IKEv1 Main Mode first
//! message that any responder answers (with its chosen SA, or with a notification such
//! as NO-PROPOSAL-CHOSEN), and a decoder of the reply's header, payload chain, notify
//! types, vendor IDs and (IKEv1) chosen transform.

use std::fmt;

use crate::WireError;
use crate::reader::{Reader, check_cap};

/// ISAKMP header length.
pub const HEADER_LEN: usize = 28;
/// Most payloads walked in one message.
pub const MAX_PAYLOADS: usize = 64;
/// Most vendor IDs kept.
pub const MAX_VENDOR_IDS: usize = 16;
/// Most bytes kept of one vendor ID.
pub const MAX_VENDOR_ID_LEN: usize = 64;
/// Most transform attributes kept.
pub const MAX_ATTRIBUTES: usize = 16;

/// IKEv1 payload type: Security Association.
pub const V1_SA: u8 = 1;
/// IKEv1 payload type: Proposal.
pub const V1_PROPOSAL: u8 = 2;
/// IKEv1 payload type: Transform.
pub const V1_TRANSFORM: u8 = 3;
/// IKEv1 payload type: Notification.
pub const V1_NOTIFY: u8 = 11;
/// IKEv1 payload type: Vendor ID.
pub const V1_VENDOR_ID: u8 = 13;
/// IKEv2 payload type: Notify.
pub const V2_NOTIFY: u8 = 41;
/// IKEv2 payload type: Vendor ID.
pub const V2_VENDOR_ID: u8 = 43;
/// IKEv2 payload type: Encrypted and Authenticated.
pub const V2_ENCRYPTED: u8 = 46;
/// IKEv1 exchange type Identity Protection (Main Mode).
pub const EXCHANGE_MAIN_MODE: u8 = 2;

/// One IKEv1 transform: (encryption, key length or 0, hash, auth method, DH group).
const TRANSFORMS: [(u16, u16, u16, u16, u16); 4] = [
    (7, 256, 4, 3, 14), // AES-CBC-256, SHA2-256, RSA signature, MODP-2048
    (7, 128, 2, 1, 14), // AES-CBC-128, SHA1, pre-shared key, MODP-2048
    (7, 128, 2, 3, 2),  // AES-CBC-128, SHA1, RSA signature, MODP-1024
    (5, 0, 2, 1, 2),    // 3DES-CBC, SHA1, pre-shared key, MODP-1024
];

fn tv(out: &mut Vec<u8>, attr: u16, value: u16) {
    out.extend_from_slice(&(0x8000 | attr).to_be_bytes());
    out.extend_from_slice(&value.to_be_bytes());
}

/// The first message of an IKEv1 Main Mode exchange: one ISAKMP proposal offering
/// AES/3DES with SHA1/SHA2-256, PSK or RSA signatures, MODP-1024/2048, 8-hour lifetime.
pub fn main_mode_request(initiator_cookie: [u8; 8]) -> Vec<u8> {
    let mut transforms = Vec::new();
    for (i, &(enc, key_len, hash, auth, group)) in TRANSFORMS.iter().enumerate() {
        let mut attrs = Vec::new();
        tv(&mut attrs, 1, enc);
        if key_len != 0 {
            tv(&mut attrs, 14, key_len);
        }
        tv(&mut attrs, 2, hash);
        tv(&mut attrs, 3, auth);
        tv(&mut attrs, 4, group);
        tv(&mut attrs, 11, 1); // life type: seconds
        tv(&mut attrs, 12, 28_800); // life duration
        let last = i + 1 == TRANSFORMS.len();
        transforms.push(if last { 0 } else { V1_TRANSFORM });
        transforms.push(0);
        transforms.extend_from_slice(&((8 + attrs.len()) as u16).to_be_bytes());
        transforms.push((i + 1) as u8); // transform number
        transforms.push(1); // KEY_IKE
        transforms.extend_from_slice(&[0, 0]);
        transforms.extend_from_slice(&attrs);
    }
    let mut proposal = vec![0, 0];
    proposal.extend_from_slice(&((8 + transforms.len()) as u16).to_be_bytes());
    proposal.push(1); // proposal number
    proposal.push(1); // PROTO_ISAKMP
    proposal.push(0); // SPI size
    proposal.push(TRANSFORMS.len() as u8);
    proposal.extend_from_slice(&transforms);
    let mut sa = vec![0, 0];
    sa.extend_from_slice(&((12 + proposal.len()) as u16).to_be_bytes());
    sa.extend_from_slice(&1u32.to_be_bytes()); // DOI IPSEC
    sa.extend_from_slice(&1u32.to_be_bytes()); // SIT_IDENTITY_ONLY
    sa.extend_from_slice(&proposal);
    let mut out = Vec::with_capacity(HEADER_LEN + sa.len());
    out.extend_from_slice(&initiator_cookie);
    out.extend_from_slice(&[0; 8]); // responder cookie
    out.push(V1_SA);
    out.push(0x10); // version 1.0
    out.push(EXCHANGE_MAIN_MODE);
    out.push(0); // flags
    out.extend_from_slice(&0u32.to_be_bytes()); // message ID
    out.extend_from_slice(&((HEADER_LEN + sa.len()) as u32).to_be_bytes());
    out.extend_from_slice(&sa);
    out
}

/// The ISAKMP / IKE header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Initiator cookie (IKEv1) or SPI (IKEv2).
    pub initiator_spi: [u8; 8],
    /// Responder cookie or SPI.
    pub responder_spi: [u8; 8],
    /// First payload type.
    pub next_payload: u8,
    /// Major version (1 or 2).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Exchange type.
    pub exchange_type: u8,
    /// Flags.
    pub flags: u8,
    /// Message ID.
    pub message_id: u32,
    /// Length of the whole message.
    pub length: u32,
}

impl Header {
    /// Name of the exchange type.
    pub fn exchange_name(&self) -> &'static str {
        match (self.major, self.exchange_type) {
            (_, 1) => "Base",
            (_, 2) => "Identity Protection (Main Mode)",
            (_, 3) => "Authentication Only",
            (_, 4) => "Aggressive",
            (_, 5) => "Informational",
            (_, 32) => "Quick Mode",
            (_, 33) => "New Group Mode",
            (2, 34) => "IKE_SA_INIT",
            (2, 35) => "IKE_AUTH",
            (2, 36) => "CREATE_CHILD_SA",
            (2, 37) => "INFORMATIONAL",
            (2, 38) => "IKE_SESSION_RESUME",
            _ => "unknown exchange",
        }
    }
}

/// Name of a notify message type for IKE major version `major`.
pub fn notify_name(major: u8, notify_type: u16) -> &'static str {
    if major >= 2 {
        match notify_type {
            1 => "UNSUPPORTED_CRITICAL_PAYLOAD",
            4 => "INVALID_IKE_SPI",
            5 => "INVALID_MAJOR_VERSION",
            7 => "INVALID_SYNTAX",
            9 => "INVALID_MESSAGE_ID",
            11 => "INVALID_SPI",
            14 => "NO_PROPOSAL_CHOSEN",
            17 => "INVALID_KE_PAYLOAD",
            24 => "AUTHENTICATION_FAILED",
            34 => "SINGLE_PAIR_REQUIRED",
            35 => "NO_ADDITIONAL_SAS",
            36 => "INTERNAL_ADDRESS_FAILURE",
            37 => "FAILED_CP_REQUIRED",
            38 => "TS_UNACCEPTABLE",
            39 => "INVALID_SELECTORS",
            43 => "TEMPORARY_FAILURE",
            44 => "CHILD_SA_NOT_FOUND",
            16384 => "INITIAL_CONTACT",
            16385 => "SET_WINDOW_SIZE",
            16388 => "NAT_DETECTION_SOURCE_IP",
            16389 => "NAT_DETECTION_DESTINATION_IP",
            16390 => "COOKIE",
            16404 => "MULTIPLE_AUTH_SUPPORTED",
            16430 => "IKEV2_FRAGMENTATION_SUPPORTED",
            16431 => "SIGNATURE_HASH_ALGORITHMS",
            _ => "unknown notify",
        }
    } else {
        match notify_type {
            1 => "INVALID-PAYLOAD-TYPE",
            2 => "DOI-NOT-SUPPORTED",
            3 => "SITUATION-NOT-SUPPORTED",
            4 => "INVALID-COOKIE",
            5 => "INVALID-MAJOR-VERSION",
            6 => "INVALID-MINOR-VERSION",
            7 => "INVALID-EXCHANGE-TYPE",
            8 => "INVALID-FLAGS",
            9 => "INVALID-MESSAGE-ID",
            10 => "INVALID-PROTOCOL-ID",
            11 => "INVALID-SPI",
            12 => "INVALID-TRANSFORM-ID",
            13 => "ATTRIBUTES-NOT-SUPPORTED",
            14 => "NO-PROPOSAL-CHOSEN",
            15 => "BAD-PROPOSAL-SYNTAX",
            16 => "PAYLOAD-MALFORMED",
            17 => "INVALID-KEY-INFORMATION",
            18 => "INVALID-ID-INFORMATION",
            19 => "INVALID-CERT-ENCODING",
            20 => "INVALID-CERTIFICATE",
            21 => "CERT-TYPE-UNSUPPORTED",
            22 => "INVALID-CERT-AUTHORITY",
            23 => "INVALID-HASH-INFORMATION",
            24 => "AUTHENTICATION-FAILED",
            25 => "INVALID-SIGNATURE",
            26 => "ADDRESS-NOTIFICATION",
            27 => "NOTIFY-SA-LIFETIME",
            28 => "CERTIFICATE-UNAVAILABLE",
            29 => "UNSUPPORTED-EXCHANGE-TYPE",
            30 => "UNEQUAL-PAYLOAD-LENGTHS",
            16384 => "CONNECTED",
            24576 => "RESPONDER-LIFETIME",
            24577 => "REPLAY-STATUS",
            24578 => "INITIAL-CONTACT",
            _ => "unknown notify",
        }
    }
}

/// A known name for a vendor ID, if any.
pub fn vendor_id_name(vid: &[u8]) -> Option<String> {
    const MS_NT5: [u8; 16] = [
        0x1E, 0x2B, 0x51, 0x69, 0x05, 0x99, 0x1C, 0x7D, 0x7C, 0x96, 0xFC, 0xBF, 0xB5, 0x87, 0xE4,
        0x61,
    ];
    const KNOWN: [([u8; 16], &str); 6] = [
        (
            [
                0x4A, 0x13, 0x1C, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5C, 0x57, 0x28, 0xF2, 0x0E, 0x95,
                0x45, 0x2F,
            ],
            "RFC 3947 NAT-T",
        ),
        (
            [
                0x90, 0xCB, 0x80, 0x91, 0x3E, 0xBB, 0x69, 0x6E, 0x08, 0x63, 0x81, 0xB5, 0xEC, 0x42,
                0x7B, 0x1F,
            ],
            "draft-ietf-ipsec-nat-t-ike-02",
        ),
        (
            [
                0x40, 0x48, 0xB7, 0xD5, 0x6E, 0xBC, 0xE8, 0x85, 0x25, 0xE7, 0xDE, 0x7F, 0x00, 0xD6,
                0xC2, 0xD3,
            ],
            "IKE Fragmentation",
        ),
        (
            [
                0xAF, 0xCA, 0xD7, 0x13, 0x68, 0xA1, 0xF1, 0xC9, 0x6B, 0x86, 0x96, 0xFC, 0x77, 0x57,
                0x01, 0x00,
            ],
            "Dead Peer Detection",
        ),
        (
            [
                0xFB, 0x1D, 0xE3, 0xCD, 0xF3, 0x41, 0xB7, 0xEA, 0x16, 0xB7, 0xE5, 0xBE, 0x08, 0x55,
                0xF1, 0x20,
            ],
            "MS-Negotiation Discovery Capable",
        ),
        (
            [
                0xE3, 0xA5, 0x96, 0x6A, 0x76, 0x37, 0x9F, 0xE7, 0x07, 0x22, 0x82, 0x31, 0xE5, 0xCE,
                0x86, 0x52,
            ],
            "IKE CGA version 1",
        ),
    ];
    if let Some(rest) = vid.strip_prefix(&MS_NT5[..]) {
        let mut r = Reader::new(rest);
        return Some(match r.u32_be("MS version") {
            Ok(v) => format!("MS NT5 ISAKMPOAKLEY version {v}"),
            Err(_) => "MS NT5 ISAKMPOAKLEY".to_string(),
        });
    }
    KNOWN
        .iter()
        .find(|(id, _)| vid.starts_with(id))
        .map(|(_, n)| n.to_string())
}

/// A notification found in the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Protocol ID.
    pub protocol_id: u8,
    /// Notify message type.
    pub notify_type: u16,
    /// Length of the notification data.
    pub data_len: usize,
}

/// A decoded IKE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeReply {
    /// Header.
    pub header: Header,
    /// Payload types in order.
    pub payloads: Vec<u8>,
    /// Notifications.
    pub notifies: Vec<Notify>,
    /// Vendor IDs (at most [`MAX_VENDOR_ID_LEN`] bytes each).
    pub vendor_ids: Vec<Vec<u8>>,
    /// IKEv1: attributes (type, value) of the first transform of the SA, if one came back.
    pub transform: Vec<(u16, u16)>,
    /// The rest of the message is encrypted (IKEv1 E flag or IKEv2 SK payload).
    pub encrypted: bool,
}

impl IkeReply {
    /// "IKEv1" or "IKEv2" (or the raw version).
    pub fn version(&self) -> String {
        match self.header.major {
            1 => "IKEv1".into(),
            2 => "IKEv2".into(),
            m => format!("IKE version {m}.{}", self.header.minor),
        }
    }

    /// The chosen transform as text, e.g. `Enc=3DES Hash=SHA1 Group=2 Auth=PSK`.
    pub fn transform_text(&self) -> Option<String> {
        if self.transform.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .transform
            .iter()
            .filter_map(|&(t, v)| {
                Some(match t {
                    1 => format!(
                        "Enc={}",
                        match v {
                            1 => "DES".into(),
                            5 => "3DES".into(),
                            7 => "AES".into(),
                            n => n.to_string(),
                        }
                    ),
                    14 => format!("KeyLength={v}"),
                    2 => format!(
                        "Hash={}",
                        match v {
                            1 => "MD5".into(),
                            2 => "SHA1".into(),
                            4 => "SHA2-256".into(),
                            5 => "SHA2-384".into(),
                            6 => "SHA2-512".into(),
                            n => n.to_string(),
                        }
                    ),
                    3 => format!(
                        "Auth={}",
                        match v {
                            1 => "PSK".into(),
                            3 => "RSA-Sig".into(),
                            65001 => "Kerberos".into(),
                            n => n.to_string(),
                        }
                    ),
                    4 => format!("Group={v}"),
                    _ => return None,
                })
            })
            .collect();
        Some(parts.join(" "))
    }

    /// Evidence line: version, exchange, notifications, transform, vendor IDs.
    pub fn summary(&self) -> String {
        let mut s = format!("{} {}", self.version(), self.header.exchange_name());
        for n in &self.notifies {
            s.push_str(&format!(
                ", notify {} ({})",
                notify_name(self.header.major, n.notify_type),
                n.notify_type
            ));
        }
        if let Some(t) = self.transform_text() {
            s.push_str(", SA ");
            s.push_str(&t);
        }
        for v in &self.vendor_ids {
            match vendor_id_name(v) {
                Some(n) => s.push_str(&format!(", VID {n}")),
                None => {
                    let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
                    s.push_str(&format!(", VID {hex}"));
                }
            }
        }
        if self.encrypted {
            s.push_str(", encrypted payloads");
        }
        s
    }
}

fn read_v1_transform(body: &[u8]) -> Result<Vec<(u16, u16)>, WireError> {
    // SA body: DOI, situation, then the first proposal and its first transform.
    let mut r = Reader::new(body);
    r.skip(8, "ISAKMP SA DOI and situation")?;
    r.skip(4, "ISAKMP proposal header")?;
    r.skip(2, "ISAKMP proposal number and protocol")?;
    let spi_size = usize::from(r.u8("ISAKMP proposal SPI size")?);
    r.skip(1 + spi_size, "ISAKMP proposal SPI")?;
    r.skip(2, "ISAKMP transform header")?;
    let t_len = usize::from(r.u16_be("ISAKMP transform length")?);
    let t_body = r.take(
        t_len
            .checked_sub(4)
            .ok_or_else(|| WireError::invalid("ISAKMP transform length", format!("{t_len}")))?,
        "ISAKMP transform",
    )?;
    let mut t = Reader::new(t_body);
    t.skip(4, "ISAKMP transform number and ID")?;
    let mut attrs = Vec::new();
    while !t.is_empty() {
        let kind = t.u16_be("ISAKMP attribute type")?;
        if kind & 0x8000 != 0 {
            let value = t.u16_be("ISAKMP attribute value")?;
            if attrs.len() < MAX_ATTRIBUTES {
                attrs.push((kind & 0x7FFF, value));
            }
        } else {
            let len = usize::from(t.u16_be("ISAKMP attribute length")?);
            t.skip(len, "ISAKMP attribute value")?;
        }
    }
    Ok(attrs)
}

/// Decodes an IKE message (normally the reply to [`main_mode_request`]).
///
/// The header's length must be at least 28 and fit in the datagram; bytes after it are
/// ignored. Payloads are walked until the chain ends or an encrypted part starts.
pub fn decode(buf: &[u8]) -> Result<IkeReply, WireError> {
    let mut r = Reader::new(buf);
    let initiator_spi = r.array::<8>("IKE initiator SPI")?;
    let responder_spi = r.array::<8>("IKE responder SPI")?;
    let next_payload = r.u8("IKE next payload")?;
    let version = r.u8("IKE version")?;
    let header = Header {
        initiator_spi,
        responder_spi,
        next_payload,
        major: version >> 4,
        minor: version & 0x0F,
        exchange_type: r.u8("IKE exchange type")?,
        flags: r.u8("IKE flags")?,
        message_id: r.u32_be("IKE message ID")?,
        length: r.u32_be("IKE length")?,
    };
    if header.major != 1 && header.major != 2 {
        return Err(WireError::Unexpected {
            what: "IKE message",
            got: format!("version {version:#04x}"),
        });
    }
    let length = usize::try_from(header.length).unwrap_or(usize::MAX);
    if length < HEADER_LEN {
        return Err(WireError::invalid("IKE length", format!("{length}")));
    }
    let mut body = Reader::new(r.take(length - HEADER_LEN, "IKE message")?);
    let v1 = header.major == 1;
    let mut reply = IkeReply {
        header,
        payloads: Vec::new(),
        notifies: Vec::new(),
        vendor_ids: Vec::new(),
        transform: Vec::new(),
        encrypted: false,
    };
    if v1 && reply.header.flags & 0x01 != 0 {
        reply.encrypted = true;
        return Ok(reply);
    }
    let mut next = reply.header.next_payload;
    while next != 0 {
        check_cap("IKE payloads", reply.payloads.len() + 1, MAX_PAYLOADS)?;
        let kind = next;
        reply.payloads.push(kind);
        next = body.u8("IKE payload next")?;
        body.skip(1, "IKE payload reserved")?;
        let len = usize::from(body.u16_be("IKE payload length")?);
        let content = body.take(
            len.checked_sub(4)
                .ok_or_else(|| WireError::invalid("IKE payload length", format!("{len}")))?,
            "IKE payload",
        )?;
        let mut p = Reader::new(content);
        match (v1, kind) {
            (true, V1_NOTIFY) => {
                p.skip(4, "ISAKMP notify DOI")?;
                reply.notifies.push(read_notify(&mut p)?);
            }
            (false, V2_NOTIFY) => reply.notifies.push(read_notify(&mut p)?),
            (true, V1_VENDOR_ID) | (false, V2_VENDOR_ID)
                if reply.vendor_ids.len() < MAX_VENDOR_IDS =>
            {
                let keep = content.len().min(MAX_VENDOR_ID_LEN);
                reply
                    .vendor_ids
                    .push(p.take(keep, "IKE vendor ID")?.to_vec());
            }
            (true, V1_SA) if reply.transform.is_empty() => {
                reply.transform = read_v1_transform(content)?;
            }
            (false, V2_ENCRYPTED) => {
                reply.encrypted = true;
                break;
            }
            _ => {}
        }
    }
    Ok(reply)
}

fn read_notify(p: &mut Reader<'_>) -> Result<Notify, WireError> {
    let protocol_id = p.u8("notify protocol ID")?;
    let spi_size = usize::from(p.u8("notify SPI size")?);
    let notify_type = p.u16_be("notify type")?;
    p.skip(spi_size, "notify SPI")?;
    Ok(Notify {
        protocol_id,
        notify_type,
        data_len: p.remaining(),
    })
}

impl fmt::Display for IkeReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ICOOKIE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

    /// Main Mode message 2 from a Windows responder: chosen 3DES/SHA1/MODP-1024/PSK and
    /// two vendor IDs.
    fn windows_mm2() -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&ICOOKIE); // initiator cookie
        m.extend_from_slice(&[0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18]); // responder cookie
        m.push(0x01); // next payload: SA
        m.push(0x10); // version 1.0
        m.push(0x02); // exchange: Main Mode
        m.push(0x00); // flags
        m.extend_from_slice(&[0, 0, 0, 0]); // message ID
        m.extend_from_slice(&[0, 0, 0, 128]); // length 128
        // SA payload: next VID, length 56
        m.extend_from_slice(&[0x0D, 0x00, 0x00, 0x38]);
        m.extend_from_slice(&[0, 0, 0, 1]); // DOI IPSEC
        m.extend_from_slice(&[0, 0, 0, 1]); // situation identity only
        // proposal: last, length 44, #1, ISAKMP, SPI size 0, 1 transform
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x2C, 0x01, 0x01, 0x00, 0x01]);
        // transform: last, length 36, #4, KEY_IKE
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x24, 0x04, 0x01, 0x00, 0x00]);
        m.extend_from_slice(&[0x80, 0x01, 0x00, 0x05]); // enc 3DES
        m.extend_from_slice(&[0x80, 0x02, 0x00, 0x02]); // hash SHA1
        m.extend_from_slice(&[0x80, 0x03, 0x00, 0x01]); // auth PSK
        m.extend_from_slice(&[0x80, 0x04, 0x00, 0x02]); // group 2
        m.extend_from_slice(&[0x80, 0x0B, 0x00, 0x01]); // life type seconds
        m.extend_from_slice(&[0x00, 0x0C, 0x00, 0x04, 0x00, 0x00, 0x70, 0x80]); // life 28800 (TLV)
        // VID: next VID, length 24, MS NT5 ISAKMPOAKLEY version 9
        m.extend_from_slice(&[0x0D, 0x00, 0x00, 0x18]);
        m.extend_from_slice(&[
            0x1E, 0x2B, 0x51, 0x69, 0x05, 0x99, 0x1C, 0x7D, 0x7C, 0x96, 0xFC, 0xBF, 0xB5, 0x87,
            0xE4, 0x61, 0x00, 0x00, 0x00, 0x09,
        ]);
        // VID: last, length 20, RFC 3947 NAT-T
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x14]);
        m.extend_from_slice(&[
            0x4A, 0x13, 0x1C, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5C, 0x57, 0x28, 0xF2, 0x0E, 0x95,
            0x45, 0x2F,
        ]);
        m
    }

    /// IKEv1 Informational NO-PROPOSAL-CHOSEN.
    fn v1_no_proposal() -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&ICOOKIE); // initiator cookie
        m.extend_from_slice(&[0; 8]); // responder cookie
        m.extend_from_slice(&[0x0B, 0x10, 0x05, 0x00]); // next Notify, v1.0, Informational, flags
        m.extend_from_slice(&[0x5A, 0x5A, 0x5A, 0x5A]); // message ID
        m.extend_from_slice(&[0, 0, 0, 40]); // length 40
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x0C]); // Notify: last, length 12
        m.extend_from_slice(&[0, 0, 0, 1]); // DOI
        m.extend_from_slice(&[0x01, 0x00, 0x00, 0x0E]); // protocol ISAKMP, SPI size 0, type 14
        m
    }

    /// IKEv2 IKE_SA_INIT response with INVALID_KE_PAYLOAD asking for group 14.
    fn v2_invalid_ke() -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&ICOOKIE); // initiator SPI
        m.extend_from_slice(&[0; 8]); // responder SPI
        m.extend_from_slice(&[0x29, 0x20, 0x22, 0x20]); // next Notify, v2.0, IKE_SA_INIT, Response
        m.extend_from_slice(&[0, 0, 0, 0]); // message ID
        m.extend_from_slice(&[0, 0, 0, 38]); // length 38
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x0A]); // Notify: last, length 10
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x11]); // protocol 0, SPI size 0, type 17
        m.extend_from_slice(&[0x00, 0x0E]); // accepted DH group 14
        m
    }

    #[test]
    fn request_bytes() {
        let q = main_mode_request(ICOOKIE);
        assert_eq!(&q[..8], &ICOOKIE);
        assert_eq!(&q[8..16], &[0; 8]);
        assert_eq!(&q[16..20], &[0x01, 0x10, 0x02, 0x00]);
        assert_eq!(&q[24..28], &(q.len() as u32).to_be_bytes());
        assert_eq!(q.len(), 188);
        // SA payload covers the rest of the message
        assert_eq!(
            usize::from(u16::from_be_bytes([q[30], q[31]])),
            q.len() - 28
        );
        assert_eq!(&q[32..40], &[0, 0, 0, 1, 0, 0, 0, 1]); // DOI, situation
        assert_eq!(&q[44..48], &[0x01, 0x01, 0x00, 0x04]); // proposal 1, ISAKMP, 4 transforms
        // our own decoder walks it and reads the first transform
        let d = decode(&q).unwrap();
        assert_eq!(d.payloads, vec![V1_SA]);
        assert_eq!(
            d.transform_text().unwrap(),
            "Enc=AES KeyLength=256 Hash=SHA2-256 Auth=RSA-Sig Group=14"
        );
    }

    #[test]
    fn decodes_windows_main_mode() {
        let d = decode(&windows_mm2()).unwrap();
        assert_eq!(d.version(), "IKEv1");
        assert_eq!(d.header.exchange_name(), "Identity Protection (Main Mode)");
        assert_eq!(d.header.responder_spi[0], 0xA1);
        assert_eq!(d.payloads, vec![V1_SA, V1_VENDOR_ID, V1_VENDOR_ID]);
        assert_eq!(
            d.transform_text().unwrap(),
            "Enc=3DES Hash=SHA1 Auth=PSK Group=2"
        );
        assert_eq!(d.vendor_ids.len(), 2);
        assert_eq!(
            d.summary(),
            "IKEv1 Identity Protection (Main Mode), SA Enc=3DES Hash=SHA1 Auth=PSK Group=2, \
VID MS NT5 ISAKMPOAKLEY version 9, VID RFC 3947 NAT-T"
        );
    }

    #[test]
    fn decodes_notifications() {
        let d = decode(&v1_no_proposal()).unwrap();
        assert_eq!(d.header.message_id, 0x5A5A_5A5A);
        assert_eq!(d.notifies[0].notify_type, 14);
        assert_eq!(
            d.summary(),
            "IKEv1 Informational, notify NO-PROPOSAL-CHOSEN (14)"
        );
        let d = decode(&v2_invalid_ke()).unwrap();
        assert_eq!(d.version(), "IKEv2");
        assert_eq!(d.notifies[0].data_len, 2);
        assert_eq!(
            d.summary(),
            "IKEv2 IKE_SA_INIT, notify INVALID_KE_PAYLOAD (17)"
        );
    }

    #[test]
    fn encrypted_and_hostile() {
        let mut m = v1_no_proposal();
        m[19] = 0x01; // E flag
        assert!(decode(&m).unwrap().encrypted);
        let mut m = v1_no_proposal();
        m[31] = 0x02; // payload length 2 < 4
        assert!(decode(&m).is_err());
        let mut m = v1_no_proposal();
        m[27] = 20; // length < header
        assert!(decode(&m).is_err());
        let mut m = v1_no_proposal();
        m[17] = 0x30; // version 3
        assert!(decode(&m).is_err());
        let mut m = v1_no_proposal();
        m.extend_from_slice(&[0xFF; 4]); // bytes past the length are ignored
        assert!(decode(&m).is_ok());
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        for m in [windows_mm2(), v1_no_proposal(), v2_invalid_ke()] {
            for i in 0..m.len() {
                assert!(decode(&m[..i]).is_err(), "prefix {i}");
            }
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(d) = decode(&buf) {
                let _ = d.summary();
            }
        }

        #[test]
        fn mutated_reply_never_panics(pos in 0usize..128, val in any::<u8>()) {
            let mut m = windows_mm2();
            m[pos] = val;
            if let Ok(d) = decode(&m) {
                let _ = d.summary();
            }
        }
    }
}
