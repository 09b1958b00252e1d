//! SNMPv1 / v2c (RFC 1157, RFC 3416): a GetRequest builder and a decoder of the
//! GetResponse, with varbind values rendered as text for evidence.
//!
//! An agent silently drops requests with a community it does not know, so a reply of any
//! kind proves the port is listening; an unanswered probe proves nothing.

use std::fmt;
use std::net::Ipv4Addr;

use crate::WireError;
use crate::ber::{self, Ber, Class, Oid, Tag};
use crate::reader::check_cap;

/// sysDescr.0.
pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
/// sysObjectID.0.
pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
/// sysUpTime.0.
pub const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
/// sysName.0.
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
/// Most varbinds read from one response.
pub const MAX_VARBINDS: usize = 64;

/// Message version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SNMPv1 (version field 0).
    V1,
    /// SNMPv2c (version field 1).
    V2c,
}

impl Version {
    /// The value of the version field.
    pub fn field(self) -> i64 {
        match self {
            Version::V1 => 0,
            Version::V2c => 1,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "SNMPv1",
            Version::V2c => "SNMPv2c",
        })
    }
}

/// PDU types (context tags of the PDU choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduType {
    /// \[0\] GetRequest.
    GetRequest,
    /// \[1\] GetNextRequest.
    GetNextRequest,
    /// \[2\] Response (GetResponse in v1).
    Response,
    /// \[3\] SetRequest.
    SetRequest,
    /// \[4\] v1 Trap.
    TrapV1,
    /// \[5\] GetBulkRequest.
    GetBulkRequest,
    /// \[6\] InformRequest.
    InformRequest,
    /// \[7\] SNMPv2-Trap.
    TrapV2,
    /// \[8\] Report.
    Report,
    /// Anything else.
    Other(u32),
}

impl PduType {
    fn from_number(n: u32) -> PduType {
        match n {
            0 => PduType::GetRequest,
            1 => PduType::GetNextRequest,
            2 => PduType::Response,
            3 => PduType::SetRequest,
            4 => PduType::TrapV1,
            5 => PduType::GetBulkRequest,
            6 => PduType::InformRequest,
            7 => PduType::TrapV2,
            8 => PduType::Report,
            n => PduType::Other(n),
        }
    }
}

/// error-status of a response PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStatus {
    /// 0.
    NoError,
    /// 1.
    TooBig,
    /// 2 (v1: the OID is not available).
    NoSuchName,
    /// 3.
    BadValue,
    /// 4.
    ReadOnly,
    /// 5.
    GenErr,
    /// 6.
    NoAccess,
    /// 7.
    WrongType,
    /// 8.
    WrongLength,
    /// 9.
    WrongEncoding,
    /// 10.
    WrongValue,
    /// 11.
    NoCreation,
    /// 12.
    InconsistentValue,
    /// 13.
    ResourceUnavailable,
    /// 14.
    CommitFailed,
    /// 15.
    UndoFailed,
    /// 16.
    AuthorizationError,
    /// 17.
    NotWritable,
    /// 18.
    InconsistentName,
    /// Any other value.
    Other(i64),
}

impl ErrorStatus {
    /// Maps the numeric error-status.
    pub fn from_i64(v: i64) -> ErrorStatus {
        use ErrorStatus::*;
        match v {
            0 => NoError,
            1 => TooBig,
            2 => NoSuchName,
            3 => BadValue,
            4 => ReadOnly,
            5 => GenErr,
            6 => NoAccess,
            7 => WrongType,
            8 => WrongLength,
            9 => WrongEncoding,
            10 => WrongValue,
            11 => NoCreation,
            12 => InconsistentValue,
            13 => ResourceUnavailable,
            14 => CommitFailed,
            15 => UndoFailed,
            16 => AuthorizationError,
            17 => NotWritable,
            18 => InconsistentName,
            n => Other(n),
        }
    }

    /// The RFC 3416 name, e.g. `noSuchName`.
    pub fn name(self) -> &'static str {
        use ErrorStatus::*;
        match self {
            NoError => "noError",
            TooBig => "tooBig",
            NoSuchName => "noSuchName",
            BadValue => "badValue",
            ReadOnly => "readOnly",
            GenErr => "genErr",
            NoAccess => "noAccess",
            WrongType => "wrongType",
            WrongLength => "wrongLength",
            WrongEncoding => "wrongEncoding",
            WrongValue => "wrongValue",
            NoCreation => "noCreation",
            InconsistentValue => "inconsistentValue",
            ResourceUnavailable => "resourceUnavailable",
            CommitFailed => "commitFailed",
            UndoFailed => "undoFailed",
            AuthorizationError => "authorizationError",
            NotWritable => "notWritable",
            InconsistentName => "inconsistentName",
            Other(_) => "unknownError",
        }
    }
}

impl fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorStatus::Other(n) => write!(f, "error-status {n}"),
            e => f.write_str(e.name()),
        }
    }
}

/// A varbind value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// INTEGER.
    Integer(i64),
    /// OCTET STRING.
    OctetString(Vec<u8>),
    /// NULL (the placeholder in requests, or v1 "no value").
    Null,
    /// OBJECT IDENTIFIER.
    Oid(Oid),
    /// IpAddress (\[APPLICATION 0\]).
    IpAddress(Ipv4Addr),
    /// Counter32 (\[APPLICATION 1\]).
    Counter32(u32),
    /// Gauge32 / Unsigned32 (\[APPLICATION 2\]).
    Gauge32(u32),
    /// TimeTicks in hundredths of a second (\[APPLICATION 3\]).
    TimeTicks(u32),
    /// Opaque (\[APPLICATION 4\]).
    Opaque(Vec<u8>),
    /// Counter64 (\[APPLICATION 6\]).
    Counter64(u64),
    /// v2 exception noSuchObject.
    NoSuchObject,
    /// v2 exception noSuchInstance.
    NoSuchInstance,
    /// v2 exception endOfMibView.
    EndOfMibView,
    /// Any other type: its tag and value length.
    Other {
        /// Tag.
        tag: Tag,
        /// Value length.
        len: usize,
    },
}

fn octets_text(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s)
            if !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t')) =>
        {
            s.to_string()
        }
        _ => {
            let hex: Vec<String> = v.iter().map(|b| format!("{b:02x}")).collect();
            format!("0x{}", hex.join(""))
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer(n) => write!(f, "{n}"),
            Value::OctetString(v) => f.write_str(&octets_text(v)),
            Value::Null => f.write_str("NULL"),
            Value::Oid(o) => write!(f, "{o}"),
            Value::IpAddress(a) => write!(f, "{a}"),
            Value::Counter32(n) | Value::Gauge32(n) => write!(f, "{n}"),
            Value::TimeTicks(t) => {
                let cs = t % 100;
                let secs = t / 100;
                write!(
                    f,
                    "{t} ({}d {:02}:{:02}:{:02}.{cs:02})",
                    secs / 86400,
                    secs / 3600 % 24,
                    secs / 60 % 60,
                    secs % 60
                )
            }
            Value::Opaque(v) => write!(f, "opaque {}", octets_text(v)),
            Value::Counter64(n) => write!(f, "{n}"),
            Value::NoSuchObject => f.write_str("noSuchObject"),
            Value::NoSuchInstance => f.write_str("noSuchInstance"),
            Value::EndOfMibView => f.write_str("endOfMibView"),
            Value::Other { tag, len } => write!(f, "{tag} ({len} bytes)"),
        }
    }
}

/// One variable binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    /// The variable's OID.
    pub oid: Oid,
    /// Its value.
    pub value: Value,
}

/// A decoded SNMPv1/v2c message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Version field (0 = v1, 1 = v2c).
    pub version: i64,
    /// Community string.
    pub community: Vec<u8>,
    /// PDU type.
    pub pdu_type: PduType,
    /// request-id.
    pub request_id: i64,
    /// error-status.
    pub error_status: ErrorStatus,
    /// error-index (1-based varbind index, 0 when no error).
    pub error_index: i64,
    /// Variable bindings.
    pub varbinds: Vec<VarBind>,
}

impl Message {
    /// The value bound to `oid`, if present.
    pub fn get(&self, oid: &str) -> Option<&Value> {
        let oid = Oid::parse(oid).ok()?;
        self.varbinds
            .iter()
            .find(|v| v.oid == oid)
            .map(|v| &v.value)
    }

    /// Evidence line, e.g. `SNMPv2c response noError: 1.3.6.1.2.1.1.5.0 = DC1`.
    pub fn summary(&self) -> String {
        let version = match self.version {
            0 => "SNMPv1".to_string(),
            1 => "SNMPv2c".to_string(),
            n => format!("SNMP version {n}"),
        };
        let binds: Vec<String> = self
            .varbinds
            .iter()
            .map(|v| format!("{} = {}", v.oid, v.value))
            .collect();
        format!(
            "{version} response {}: {}",
            self.error_status,
            binds.join(", ")
        )
    }
}

/// A GetRequest for `oids` with NULL values.
pub fn get_request(version: Version, community: &[u8], request_id: i32, oids: &[Oid]) -> Vec<u8> {
    let mut binds = Vec::new();
    for oid in oids {
        binds.extend_from_slice(&ber::sequence(&[ber::oid(oid), ber::null()].concat()));
    }
    let pdu = [
        ber::integer(i64::from(request_id)),
        ber::integer(0),
        ber::integer(0),
        ber::sequence(&binds),
    ]
    .concat();
    ber::sequence(
        &[
            ber::integer(version.field()),
            ber::octet_string(community),
            ber::context_constructed(0, &pdu),
        ]
        .concat(),
    )
}

/// A GetRequest for sysDescr.0 and sysName.0.
pub fn system_get_request(version: Version, community: &[u8], request_id: i32) -> Vec<u8> {
    let oids: Vec<Oid> = [SYS_DESCR, SYS_NAME]
        .iter()
        .filter_map(|o| Oid::parse(o).ok())
        .collect();
    get_request(version, community, request_id, &oids)
}

fn read_value(tlv: ber::Tlv<'_>) -> Result<Value, WireError> {
    let u32_of = |tlv: &ber::Tlv<'_>| -> Result<u32, WireError> {
        u32::try_from(tlv.as_u64()?)
            .map_err(|_| WireError::invalid("SNMP 32-bit value", "exceeds 32 bits"))
    };
    let tag = tlv.tag;
    if tag.constructed {
        return Ok(Value::Other {
            tag,
            len: tlv.value.len(),
        });
    }
    Ok(match (tag.class, tag.number) {
        (Class::Universal, 2) => Value::Integer(tlv.as_i64()?),
        (Class::Universal, 4) => Value::OctetString(tlv.value.to_vec()),
        (Class::Universal, 5) => Value::Null,
        (Class::Universal, 6) => Value::Oid(tlv.as_oid()?),
        (Class::Application, 0) => {
            let octets: [u8; 4] = tlv
                .value
                .try_into()
                .map_err(|_| WireError::invalid("SNMP IpAddress", "not four octets"))?;
            Value::IpAddress(Ipv4Addr::from(octets))
        }
        (Class::Application, 1) => Value::Counter32(u32_of(&tlv)?),
        (Class::Application, 2) => Value::Gauge32(u32_of(&tlv)?),
        (Class::Application, 3) => Value::TimeTicks(u32_of(&tlv)?),
        (Class::Application, 4) => Value::Opaque(tlv.value.to_vec()),
        (Class::Application, 6) => Value::Counter64(tlv.as_u64()?),
        (Class::Context, 0) => Value::NoSuchObject,
        (Class::Context, 1) => Value::NoSuchInstance,
        (Class::Context, 2) => Value::EndOfMibView,
        _ => Value::Other {
            tag,
            len: tlv.value.len(),
        },
    })
}

/// Decodes any SNMPv1/v2c message (used to read requests back, too).
pub fn decode_message(buf: &[u8]) -> Result<Message, WireError> {
    let mut top = Ber::new(buf);
    let mut msg = top.sequence("SNMP message")?;
    let version = msg.integer("SNMP version")?;
    if version != 0 && version != 1 {
        return Err(WireError::Unexpected {
            what: "SNMPv1/v2c message",
            got: format!("version field {version}"),
        });
    }
    let community = msg.octet_string("SNMP community")?.to_vec();
    let pdu_tlv = msg.read()?;
    if pdu_tlv.tag.class != Class::Context || !pdu_tlv.tag.constructed {
        return Err(WireError::Unexpected {
            what: "SNMP PDU",
            got: pdu_tlv.tag.to_string(),
        });
    }
    let pdu_type = PduType::from_number(pdu_tlv.tag.number);
    if pdu_type == PduType::TrapV1 {
        return Err(WireError::Unexpected {
            what: "SNMP PDU",
            got: "a v1 Trap".into(),
        });
    }
    let mut pdu = pdu_tlv.contents()?;
    let request_id = pdu.integer("SNMP request-id")?;
    let error_status = ErrorStatus::from_i64(pdu.integer("SNMP error-status")?);
    let error_index = pdu.integer("SNMP error-index")?;
    let mut list = pdu.sequence("SNMP varbind list")?;
    let mut varbinds = Vec::new();
    while !list.is_empty() {
        check_cap("SNMP varbinds", varbinds.len() + 1, MAX_VARBINDS)?;
        let mut vb = list.sequence("SNMP varbind")?;
        let oid = vb.oid("SNMP varbind name")?;
        let value = read_value(vb.read()?)?;
        varbinds.push(VarBind { oid, value });
    }
    Ok(Message {
        version,
        community,
        pdu_type,
        request_id,
        error_status,
        error_index,
        varbinds,
    })
}

/// Decodes the agent's Response to a GetRequest.
pub fn decode(buf: &[u8]) -> Result<Message, WireError> {
    let m = decode_message(buf)?;
    if m.pdu_type != PduType::Response {
        return Err(WireError::Unexpected {
            what: "SNMP Response PDU",
            got: format!("{:?}", m.pdu_type),
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// GetResponse from a Windows agent: sysDescr.0 = "Windows DC", sysName.0 = "DC1".
    fn windows_reply() -> Vec<u8> {
        let mut m = vec![
            0x30, 0x42, // Message SEQUENCE, 66 bytes
            0x02, 0x01, 0x01, // version 1 (v2c)
            0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', // community
            0xA2, 0x35, // GetResponse PDU, 53 bytes
            0x02, 0x02, 0x12, 0x34, // request-id 0x1234
            0x02, 0x01, 0x00, // error-status noError
            0x02, 0x01, 0x00, // error-index 0
            0x30, 0x29, // varbind list, 41 bytes
            0x30, 0x16, // varbind, 22 bytes
            0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, // sysDescr.0
            0x04, 0x0A, // OCTET STRING, 10 bytes
        ];
        m.extend_from_slice(b"Windows DC");
        m.extend_from_slice(&[
            0x30, 0x0F, // varbind, 15 bytes
            0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00, // sysName.0
            0x04, 0x03, b'D', b'C', b'1', // OCTET STRING "DC1"
        ]);
        m
    }

    #[test]
    fn request_bytes() {
        let q = system_get_request(Version::V2c, b"public", 0x1234);
        assert_eq!(q[0], 0x30);
        assert_eq!(usize::from(q[1]) + 2, q.len());
        assert_eq!(&q[2..5], &[0x02, 0x01, 0x01]); // version v2c
        assert_eq!(&q[5..13], b"\x04\x06public");
        assert_eq!(q[13], 0xA0); // GetRequest
        let m = decode_message(&q).unwrap();
        assert_eq!(m.pdu_type, PduType::GetRequest);
        assert_eq!(m.request_id, 0x1234);
        assert_eq!(m.varbinds.len(), 2);
        assert_eq!(m.varbinds[0].oid.to_string(), SYS_DESCR);
        assert_eq!(m.varbinds[1].oid.to_string(), SYS_NAME);
        assert_eq!(m.varbinds[1].value, Value::Null);
        assert!(decode(&q).is_err()); // not a response
        let q = system_get_request(Version::V1, b"x", -5);
        let m = decode_message(&q).unwrap();
        assert_eq!((m.version, m.request_id), (0, -5));
    }

    #[test]
    fn decodes_windows_reply() {
        let m = decode(&windows_reply()).unwrap();
        assert_eq!(m.version, 1);
        assert_eq!(m.community, b"public");
        assert_eq!(m.request_id, 0x1234);
        assert_eq!(m.error_status, ErrorStatus::NoError);
        assert_eq!(
            m.get(SYS_DESCR),
            Some(&Value::OctetString(b"Windows DC".to_vec()))
        );
        assert_eq!(m.get(SYS_NAME).unwrap().to_string(), "DC1");
        assert_eq!(
            m.summary(),
            "SNMPv2c response noError: 1.3.6.1.2.1.1.1.0 = Windows DC, 1.3.6.1.2.1.1.5.0 = DC1"
        );
    }

    #[test]
    fn v1_no_such_name() {
        let m = [
            0x30, 0x26, // Message, 38 bytes
            0x02, 0x01, 0x00, // version 0 (v1)
            0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', // community
            0xA2, 0x19, // GetResponse, 25 bytes
            0x02, 0x01, 0x07, // request-id 7
            0x02, 0x01, 0x02, // error-status noSuchName
            0x02, 0x01, 0x01, // error-index 1
            0x30, 0x0E, // varbind list
            0x30, 0x0C, // varbind
            0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00, // sysName.0
            0x05, 0x00, // NULL
        ];
        let d = decode(&m).unwrap();
        assert_eq!(d.error_status, ErrorStatus::NoSuchName);
        assert_eq!(d.error_status.to_string(), "noSuchName");
        assert_eq!(d.error_index, 1);
        assert_eq!(d.varbinds[0].value, Value::Null);
        for i in 0..m.len() {
            assert!(decode(&m[..i]).is_err());
        }
    }

    #[test]
    fn value_types() {
        let val = |tag: Tag, v: &[u8]| read_value(Ber::new(&ber::tlv(tag, v)).read().unwrap());
        let app = |n| Tag::application(n, false);
        assert_eq!(
            val(app(0), &[192, 0, 2, 1]).unwrap(),
            Value::IpAddress(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert!(val(app(0), &[1, 2, 3]).is_err());
        assert_eq!(
            val(app(1), &[0x00, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap(),
            Value::Counter32(u32::MAX)
        );
        assert!(val(app(1), &[0x01, 0x00, 0x00, 0x00, 0x00]).is_err());
        let ticks = val(app(3), &[0x01, 0x23, 0x45, 0x67]).unwrap();
        assert_eq!(ticks.to_string(), "19088743 (2d 05:01:27.43)");
        assert!(val(app(6), &[0x01, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert_eq!(
            val(app(6), &[0x7F, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            Value::Counter64(0x7F << 56)
        );
        assert_eq!(
            val(Tag::context(0, false), &[]).unwrap().to_string(),
            "noSuchObject"
        );
        assert_eq!(
            val(Tag::context(2, false), &[]).unwrap(),
            Value::EndOfMibView
        );
        assert_eq!(val(Tag::INTEGER, &[0xFF]).unwrap(), Value::Integer(-1));
        let oid = Oid::parse("1.3.6.1.4.1.311.1.1.3.1.2").unwrap();
        assert_eq!(
            val(Tag::OID, &oid.encode_value()).unwrap().to_string(),
            "1.3.6.1.4.1.311.1.1.3.1.2"
        );
        assert_eq!(
            val(Tag::OCTET_STRING, &[0x00, 0x1A]).unwrap().to_string(),
            "0x001a"
        );
    }

    #[test]
    fn rejects_other_versions_and_pdus() {
        let mut m = windows_reply();
        m[4] = 3; // SNMPv3
        assert!(decode(&m).is_err());
        let mut m = windows_reply();
        m[13] = 0xA8; // Report
        assert!(matches!(decode(&m), Err(WireError::Unexpected { .. })));
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let m = windows_reply();
        for i in 0..m.len() {
            assert!(decode(&m[..i]).is_err());
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(m) = decode_message(&buf) {
                let _ = m.summary();
            }
        }

        #[test]
        fn request_round_trip(id in any::<i32>(), community in proptest::collection::vec(any::<u8>(), 0..40)) {
            let m = decode_message(&system_get_request(Version::V1, &community, id)).unwrap();
            prop_assert_eq!(m.request_id, i64::from(id));
            prop_assert_eq!(m.community, community);
        }
    }
}
