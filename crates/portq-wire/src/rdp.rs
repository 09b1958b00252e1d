//! RDP connection initiation ([MS-RDPBCGR] 2.2.1.1 / 2.2.1.2): the X.224 Connection
//! Request inside a TPKT (RFC 1006) carrying an RDP Negotiation Request, and the decoder
//! of the server's Connection Confirm with its negotiation response or failure.

use std::fmt;

use crate::WireError;
use crate::reader::Reader;

/// TPKT version.
pub const TPKT_VERSION: u8 = 3;
/// X.224 Connection Request TPDU code.
pub const X224_CR: u8 = 0xE0;
/// X.224 Connection Confirm TPDU code.
pub const X224_CC: u8 = 0xD0;
/// RDP_NEG_REQ type.
pub const TYPE_RDP_NEG_REQ: u8 = 0x01;
/// RDP_NEG_RSP type.
pub const TYPE_RDP_NEG_RSP: u8 = 0x02;
/// RDP_NEG_FAILURE type.
pub const TYPE_RDP_NEG_FAILURE: u8 = 0x03;

/// Standard RDP security.
pub const PROTOCOL_RDP: u32 = 0x0000_0000;
/// TLS.
pub const PROTOCOL_SSL: u32 = 0x0000_0001;
/// CredSSP (NLA).
pub const PROTOCOL_HYBRID: u32 = 0x0000_0002;
/// RDSTLS.
pub const PROTOCOL_RDSTLS: u32 = 0x0000_0004;
/// CredSSP with Early User Authorization Result PDU.
pub const PROTOCOL_HYBRID_EX: u32 = 0x0000_0008;
/// RDS AAD authentication.
pub const PROTOCOL_RDSAAD: u32 = 0x0000_0010;

/// The Connection Request the probe sends: no cookie, RDP_NEG_REQ asking for
/// TLS | CredSSP | CredSSP EX (19 bytes).
pub fn connection_request() -> Vec<u8> {
    connection_request_with(PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX)
}

/// A Connection Request asking for `requested_protocols` (PROTOCOL_* bits).
pub fn connection_request_with(requested_protocols: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(19);
    out.extend_from_slice(&[TPKT_VERSION, 0x00, 0x00, 19]); // TPKT, total length 19
    out.push(14); // X.224 length indicator: 6 fixed octets + 8 of RDP_NEG_REQ
    out.push(X224_CR);
    out.extend_from_slice(&[0x00, 0x00]); // DST-REF
    out.extend_from_slice(&[0x00, 0x00]); // SRC-REF
    out.push(0x00); // class 0
    out.push(TYPE_RDP_NEG_REQ);
    out.push(0x00); // flags
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&requested_protocols.to_le_bytes());
    out
}

/// The security protocol the server selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectedProtocol {
    /// Standard RDP security.
    Rdp,
    /// TLS.
    Tls,
    /// CredSSP (NLA).
    CredSsp,
    /// RDSTLS.
    RdsTls,
    /// CredSSP with Early User Authorization Result.
    CredSspEx,
    /// RDS AAD authentication.
    RdsAad,
    /// Any other value.
    Other(u32),
}

impl SelectedProtocol {
    /// Maps the selectedProtocol field.
    pub fn from_u32(v: u32) -> SelectedProtocol {
        match v {
            PROTOCOL_RDP => SelectedProtocol::Rdp,
            PROTOCOL_SSL => SelectedProtocol::Tls,
            PROTOCOL_HYBRID => SelectedProtocol::CredSsp,
            PROTOCOL_RDSTLS => SelectedProtocol::RdsTls,
            PROTOCOL_HYBRID_EX => SelectedProtocol::CredSspEx,
            PROTOCOL_RDSAAD => SelectedProtocol::RdsAad,
            n => SelectedProtocol::Other(n),
        }
    }
}

impl fmt::Display for SelectedProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectedProtocol::Rdp => f.write_str("standard RDP security"),
            SelectedProtocol::Tls => f.write_str("TLS"),
            SelectedProtocol::CredSsp => f.write_str("CredSSP (NLA)"),
            SelectedProtocol::RdsTls => f.write_str("RDSTLS"),
            SelectedProtocol::CredSspEx => f.write_str("CredSSP EX (NLA)"),
            SelectedProtocol::RdsAad => f.write_str("RDS AAD"),
            SelectedProtocol::Other(n) => write!(f, "protocol {n:#x}"),
        }
    }
}

/// Why the server refused the negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    /// 1: the server requires TLS.
    SslRequiredByServer,
    /// 2: the server does not allow TLS.
    SslNotAllowedByServer,
    /// 3: the server has no certificate for TLS.
    SslCertNotOnServer,
    /// 4: inconsistent flags.
    InconsistentFlags,
    /// 5: the server requires CredSSP.
    HybridRequiredByServer,
    /// 6: the server requires TLS with user authentication.
    SslWithUserAuthRequiredByServer,
    /// Any other value.
    Other(u32),
}

impl FailureCode {
    /// Maps the failureCode field.
    pub fn from_u32(v: u32) -> FailureCode {
        match v {
            1 => FailureCode::SslRequiredByServer,
            2 => FailureCode::SslNotAllowedByServer,
            3 => FailureCode::SslCertNotOnServer,
            4 => FailureCode::InconsistentFlags,
            5 => FailureCode::HybridRequiredByServer,
            6 => FailureCode::SslWithUserAuthRequiredByServer,
            n => FailureCode::Other(n),
        }
    }

    /// The [MS-RDPBCGR] constant name.
    pub fn name(self) -> &'static str {
        match self {
            FailureCode::SslRequiredByServer => "SSL_REQUIRED_BY_SERVER",
            FailureCode::SslNotAllowedByServer => "SSL_NOT_ALLOWED_BY_SERVER",
            FailureCode::SslCertNotOnServer => "SSL_CERT_NOT_ON_SERVER",
            FailureCode::InconsistentFlags => "INCONSISTENT_FLAGS",
            FailureCode::HybridRequiredByServer => "HYBRID_REQUIRED_BY_SERVER",
            FailureCode::SslWithUserAuthRequiredByServer => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
            FailureCode::Other(_) => "UNKNOWN_FAILURE",
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCode::Other(n) => write!(f, "failure code {n}"),
            other => f.write_str(other.name()),
        }
    }
}

/// The negotiation part of a Connection Confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// No negotiation data: a pre-Windows Server 2003 SP1 style server, standard RDP security.
    None,
    /// RDP_NEG_RSP.
    Response {
        /// RDP_NEG_RSP flags (EXTENDED_CLIENT_DATA_SUPPORTED, DYNVC_GFX, RESTRICTED_ADMIN, ...).
        flags: u8,
        /// The selected protocol.
        selected: SelectedProtocol,
    },
    /// RDP_NEG_FAILURE.
    Failure(FailureCode),
}

/// A decoded X.224 Connection Confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionConfirm {
    /// DST-REF.
    pub dst_ref: u16,
    /// SRC-REF.
    pub src_ref: u16,
    /// Class option octet.
    pub class: u8,
    /// Negotiation result.
    pub negotiation: Negotiation,
}

impl ConnectionConfirm {
    /// Evidence line, e.g. `X.224 CC, selected CredSSP (NLA)`.
    pub fn summary(&self) -> String {
        match self.negotiation {
            Negotiation::None => "X.224 CC without negotiation (standard RDP security)".into(),
            Negotiation::Response { selected, .. } => format!("X.224 CC, selected {selected}"),
            Negotiation::Failure(code) => format!("X.224 CC, negotiation failure {code}"),
        }
    }
}

/// Decodes the server's reply to [`connection_request`].
pub fn decode_connection_confirm(buf: &[u8]) -> Result<ConnectionConfirm, WireError> {
    let mut r = Reader::new(buf);
    let version = r.u8("TPKT version")?;
    if version != TPKT_VERSION {
        return Err(WireError::Unexpected {
            what: "TPKT",
            got: format!("version {version}"),
        });
    }
    r.skip(1, "TPKT reserved")?;
    let total = usize::from(r.u16_be("TPKT length")?);
    if total < 4 + 7 {
        return Err(WireError::invalid(
            "TPKT length",
            format!("{total} is too short for an X.224 TPDU"),
        ));
    }
    let mut t = Reader::new(r.take(total - 4, "TPKT payload")?);
    let li = usize::from(t.u8("X.224 length indicator")?);
    if li < 6 {
        return Err(WireError::invalid(
            "X.224 length indicator",
            format!("{li}"),
        ));
    }
    let mut h = Reader::new(t.take(li, "X.224 header")?);
    let code = h.u8("X.224 TPDU code")?;
    if code & 0xF0 != X224_CC {
        return Err(WireError::Unexpected {
            what: "X.224 Connection Confirm",
            got: format!("TPDU code {code:#04x}"),
        });
    }
    let dst_ref = h.u16_be("X.224 DST-REF")?;
    let src_ref = h.u16_be("X.224 SRC-REF")?;
    let class = h.u8("X.224 class")?;
    let negotiation = if h.is_empty() {
        Negotiation::None
    } else {
        let kind = h.u8("RDP negotiation type")?;
        let flags = h.u8("RDP negotiation flags")?;
        let len = h.u16_le("RDP negotiation length")?;
        if len != 8 {
            return Err(WireError::invalid(
                "RDP negotiation length",
                format!("{len}"),
            ));
        }
        let value = h.u32_le("RDP negotiation value")?;
        match kind {
            TYPE_RDP_NEG_RSP => Negotiation::Response {
                flags,
                selected: SelectedProtocol::from_u32(value),
            },
            TYPE_RDP_NEG_FAILURE => Negotiation::Failure(FailureCode::from_u32(value)),
            other => {
                return Err(WireError::Unexpected {
                    what: "RDP negotiation",
                    got: format!("type {other:#04x}"),
                });
            }
        }
    };
    Ok(ConnectionConfirm {
        dst_ref,
        src_ref,
        class,
        negotiation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Connection Confirm as Windows Server sends it when it picks CredSSP.
    fn cc_hybrid() -> Vec<u8> {
        vec![
            0x03, 0x00, 0x00, 0x13, // TPKT: version 3, length 19
            0x0E, // X.224 LI 14
            0xD0, // CC
            0x00, 0x00, // DST-REF
            0x12, 0x34, // SRC-REF
            0x00, // class 0
            0x02, // RDP_NEG_RSP
            0x1F, // flags: extended data, gfx, reserved, restricted admin, redirected auth
            0x08, 0x00, // length 8
            0x02, 0x00, 0x00, 0x00, // PROTOCOL_HYBRID
        ]
    }

    #[test]
    fn request_bytes() {
        let q = connection_request();
        assert_eq!(
            q,
            vec![
                0x03, 0x00, 0x00, 0x13, 0x0E, 0xE0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x08, 0x00, 0x0B,
                0x00, 0x00, 0x00
            ]
        );
        assert_eq!(usize::from(q[3]), q.len());
        assert_eq!(usize::from(q[4]) + 5, q.len());
    }

    #[test]
    fn decodes_hybrid() {
        let c = decode_connection_confirm(&cc_hybrid()).unwrap();
        assert_eq!(c.src_ref, 0x1234);
        assert_eq!(
            c.negotiation,
            Negotiation::Response {
                flags: 0x1F,
                selected: SelectedProtocol::CredSsp
            }
        );
        assert_eq!(c.summary(), "X.224 CC, selected CredSSP (NLA)");
    }

    #[test]
    fn decodes_failure_and_legacy() {
        let mut m = cc_hybrid();
        m[11] = 0x03; // RDP_NEG_FAILURE
        m[12] = 0x00;
        m[15] = 0x05; // HYBRID_REQUIRED_BY_SERVER
        let c = decode_connection_confirm(&m).unwrap();
        assert_eq!(
            c.negotiation,
            Negotiation::Failure(FailureCode::HybridRequiredByServer)
        );
        assert_eq!(
            c.summary(),
            "X.224 CC, negotiation failure HYBRID_REQUIRED_BY_SERVER"
        );
        // legacy: TPKT 11, LI 6, no negotiation data
        let legacy = [0x03, 0x00, 0x00, 0x0B, 0x06, 0xD0, 0, 0, 0, 0, 0];
        let c = decode_connection_confirm(&legacy).unwrap();
        assert_eq!(c.negotiation, Negotiation::None);
        // selected protocol names
        for (v, name) in [
            (0, "standard RDP security"),
            (1, "TLS"),
            (4, "RDSTLS"),
            (8, "CredSSP EX (NLA)"),
        ] {
            assert_eq!(SelectedProtocol::from_u32(v).to_string(), name);
        }
    }

    #[test]
    fn rejects_other_tpdus() {
        let mut m = cc_hybrid();
        m[5] = 0x80; // disconnect request
        assert!(matches!(
            decode_connection_confirm(&m),
            Err(WireError::Unexpected { .. })
        ));
        let mut m = cc_hybrid();
        m[0] = 0x16; // a TLS record
        assert!(decode_connection_confirm(&m).is_err());
        let mut m = cc_hybrid();
        m[4] = 0x20; // LI past the TPKT
        assert!(decode_connection_confirm(&m).is_err());
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let m = cc_hybrid();
        for i in 0..m.len() {
            assert!(decode_connection_confirm(&m[..i]).is_err());
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_connection_confirm(&buf);
        }
    }
}
