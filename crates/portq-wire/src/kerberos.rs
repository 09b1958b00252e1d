//! Kerberos V5 (RFC 4120) as a port probe: an AS-REQ without pre-authentication that any
//! KDC on port 88 answers (normally with a KRB-ERROR), the decoders for KRB-ERROR and
//! AS-REP, the 4-byte length framing of Kerberos over TCP, and the kpasswd (RFC 3244,
//! port 464) probe that draws a decodable error from a password-change server.

use std::fmt;

use crate::WireError;
use crate::ber::{self, Ber, Class, Tag};
use crate::reader::{Reader, check_cap};

/// protocol version number.
pub const PVNO: i64 = 5;
/// msg-type of AS-REQ.
pub const MSG_AS_REQ: i64 = 10;
/// msg-type of AS-REP.
pub const MSG_AS_REP: i64 = 11;
/// msg-type of KRB-ERROR.
pub const MSG_KRB_ERROR: i64 = 30;
/// The `till` time of the probe's AS-REQ.
pub const TILL: &str = "20370913024805Z";
/// Encryption types offered: aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, rc4-hmac.
pub const ETYPES: [i64; 3] = [18, 17, 23];
/// KDC options of the probe: forwardable, renewable, canonicalize, renewable-ok.
pub const KDC_OPTIONS: u32 = 0x4081_0010;
/// Most name components kept from a PrincipalName.
pub const MAX_NAME_COMPONENTS: usize = 16;
/// Largest Kerberos-over-TCP record [`tcp_record_len`] accepts.
pub const MAX_TCP_RECORD: usize = 1 << 20;

/// A PrincipalName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalName {
    /// name-type (1 = NT-PRINCIPAL, 2 = NT-SRV-INST, ...).
    pub name_type: i64,
    /// name-string components.
    pub components: Vec<String>,
}

impl PrincipalName {
    fn encode(&self) -> Vec<u8> {
        let parts: Vec<u8> = self
            .components
            .iter()
            .flat_map(|c| ber::general_string(c))
            .collect();
        ber::sequence(
            &[
                ber::explicit(0, &ber::integer(self.name_type)),
                ber::explicit(1, &ber::sequence(&parts)),
            ]
            .concat(),
        )
    }
}

impl fmt::Display for PrincipalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.components.join("/"))
    }
}

/// A KerberosTime (GeneralizedTime text, `YYYYMMDDHHMMSSZ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosTime(pub String);

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Days since 1970-01-01 in the proleptic Gregorian calendar.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl KerberosTime {
    /// Unix time in seconds, if the text is a well-formed `YYYYMMDDHHMMSSZ`.
    pub fn unix_seconds(&self) -> Option<i64> {
        let b = self.0.as_bytes();
        if b.len() != 15 || b.last() != Some(&b'Z') {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            let digits = b.get(from..to)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                digits
                    .iter()
                    .fold(0i64, |n, d| n * 10 + i64::from(d - b'0')),
            )
        };
        let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
        let (hour, min, sec) = (num(8, 10)?, num(10, 12)?, num(12, 14)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || min > 59
            || sec > 60
        {
            return None;
        }
        Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
    }
}

impl fmt::Display for KerberosTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A KRB-ERROR error-code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// KDC_ERR_C_PRINCIPAL_UNKNOWN: the KDC does not know the client.
    pub const C_PRINCIPAL_UNKNOWN: ErrorCode = ErrorCode(6);
    /// KDC_ERR_PREAUTH_REQUIRED: the client exists and needs pre-authentication.
    pub const PREAUTH_REQUIRED: ErrorCode = ErrorCode(25);
    /// KDC_ERR_WRONG_REALM: the KDC serves another realm.
    pub const WRONG_REALM: ErrorCode = ErrorCode(68);

    /// The RFC 4120 / RFC 4556 / RFC 6113 constant name.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "KDC_ERR_NONE",
            1 => "KDC_ERR_NAME_EXP",
            2 => "KDC_ERR_SERVICE_EXP",
            3 => "KDC_ERR_BAD_PVNO",
            4 => "KDC_ERR_C_OLD_MAST_KVNO",
            5 => "KDC_ERR_S_OLD_MAST_KVNO",
            6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
            7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
            8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
            9 => "KDC_ERR_NULL_KEY",
            10 => "KDC_ERR_CANNOT_POSTDATE",
            11 => "KDC_ERR_NEVER_VALID",
            12 => "KDC_ERR_POLICY",
            13 => "KDC_ERR_BADOPTION",
            14 => "KDC_ERR_ETYPE_NOSUPP",
            15 => "KDC_ERR_SUMTYPE_NOSUPP",
            16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
            17 => "KDC_ERR_TRTYPE_NOSUPP",
            18 => "KDC_ERR_CLIENT_REVOKED",
            19 => "KDC_ERR_SERVICE_REVOKED",
            20 => "KDC_ERR_TGT_REVOKED",
            21 => "KDC_ERR_CLIENT_NOTYET",
            22 => "KDC_ERR_SERVICE_NOTYET",
            23 => "KDC_ERR_KEY_EXPIRED",
            24 => "KDC_ERR_PREAUTH_FAILED",
            25 => "KDC_ERR_PREAUTH_REQUIRED",
            26 => "KDC_ERR_SERVER_NOMATCH",
            27 => "KDC_ERR_MUST_USE_USER2USER",
            28 => "KDC_ERR_PATH_NOT_ACCEPTED",
            29 => "KDC_ERR_SVC_UNAVAILABLE",
            31 => "KRB_AP_ERR_BAD_INTEGRITY",
            32 => "KRB_AP_ERR_TKT_EXPIRED",
            33 => "KRB_AP_ERR_TKT_NYV",
            34 => "KRB_AP_ERR_REPEAT",
            35 => "KRB_AP_ERR_NOT_US",
            36 => "KRB_AP_ERR_BADMATCH",
            37 => "KRB_AP_ERR_SKEW",
            38 => "KRB_AP_ERR_BADADDR",
            39 => "KRB_AP_ERR_BADVERSION",
            40 => "KRB_AP_ERR_MSG_TYPE",
            41 => "KRB_AP_ERR_MODIFIED",
            42 => "KRB_AP_ERR_BADORDER",
            44 => "KRB_AP_ERR_BADKEYVER",
            45 => "KRB_AP_ERR_NOKEY",
            46 => "KRB_AP_ERR_MUT_FAIL",
            47 => "KRB_AP_ERR_BADDIRECTION",
            48 => "KRB_AP_ERR_METHOD",
            49 => "KRB_AP_ERR_BADSEQ",
            50 => "KRB_AP_ERR_INAPP_CKSUM",
            51 => "KRB_AP_PATH_NOT_ACCEPTED",
            52 => "KRB_ERR_RESPONSE_TOO_BIG",
            60 => "KRB_ERR_GENERIC",
            61 => "KRB_ERR_FIELD_TOOLONG",
            62 => "KDC_ERR_CLIENT_NOT_TRUSTED",
            63 => "KDC_ERR_KDC_NOT_TRUSTED",
            64 => "KDC_ERR_INVALID_SIG",
            65 => "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED",
            66 => "KDC_ERR_CERTIFICATE_MISMATCH",
            67 => "KRB_AP_ERR_NO_TGT",
            68 => "KDC_ERR_WRONG_REALM",
            69 => "KRB_AP_ERR_USER_TO_USER_REQUIRED",
            70 => "KDC_ERR_CANT_VERIFY_CERTIFICATE",
            71 => "KDC_ERR_INVALID_CERTIFICATE",
            72 => "KDC_ERR_REVOKED_CERTIFICATE",
            73 => "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
            74 => "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
            75 => "KDC_ERR_CLIENT_NAME_MISMATCH",
            76 => "KDC_ERR_KDC_NAME_MISMATCH",
            90 => "KDC_ERR_PREAUTH_EXPIRED",
            91 => "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
            92 => "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
            93 => "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
            _ => "UNKNOWN_ERROR",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// A decoded KRB-ERROR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbError {
    /// pvno (5).
    pub pvno: i64,
    /// ctime, if echoed.
    pub ctime: Option<KerberosTime>,
    /// cusec, if echoed.
    pub cusec: Option<i64>,
    /// stime: the KDC's clock.
    pub stime: KerberosTime,
    /// susec.
    pub susec: i64,
    /// error-code.
    pub error_code: ErrorCode,
    /// crealm, if present.
    pub crealm: Option<String>,
    /// cname, if present.
    pub cname: Option<PrincipalName>,
    /// realm of the server.
    pub realm: String,
    /// sname of the server.
    pub sname: PrincipalName,
    /// e-text, if present.
    pub e_text: Option<String>,
    /// e-data, if present (METHOD-DATA for PREAUTH_REQUIRED; a kpasswd result).
    pub e_data: Option<Vec<u8>>,
}

impl KrbError {
    /// Evidence line, e.g. `KRB-ERROR KDC_ERR_C_PRINCIPAL_UNKNOWN (6) from krbtgt/EXAMPLE.TEST@EXAMPLE.TEST, KDC time 20240101120000Z`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "KRB-ERROR {} from {}@{}, KDC time {}",
            self.error_code, self.sname, self.realm, self.stime
        );
        if let Some(t) = &self.e_text {
            s.push_str(&format!(", e-text {t:?}"));
        }
        s
    }
}

/// The parts of an AS-REP a probe shows (the ticket and encrypted part are not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsRep {
    /// pvno.
    pub pvno: i64,
    /// crealm.
    pub crealm: String,
    /// cname.
    pub cname: PrincipalName,
}

/// What a KDC answered on port 88.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KdcReply {
    /// KRB-ERROR.
    Error(KrbError),
    /// AS-REP (the probe's user exists and does not need pre-authentication).
    AsRep(AsRep),
}

impl KdcReply {
    /// Evidence line.
    pub fn summary(&self) -> String {
        match self {
            KdcReply::Error(e) => e.summary(),
            KdcReply::AsRep(r) => format!("AS-REP for {}@{}", r.cname, r.crealm),
        }
    }
}

/// The probe's AS-REQ for `client@realm` with no pre-authentication.
///
/// The nonce is masked to 31 bits because some KDCs treat it as a signed Int32.
pub fn as_req(realm: &str, client: &str, nonce: u32) -> Vec<u8> {
    let cname = PrincipalName {
        name_type: 1,
        components: vec![client.to_string()],
    };
    let sname = PrincipalName {
        name_type: 2,
        components: vec!["krbtgt".to_string(), realm.to_string()],
    };
    let etypes: Vec<u8> = ETYPES.iter().flat_map(|&e| ber::integer(e)).collect();
    let body = ber::sequence(
        &[
            ber::explicit(0, &ber::bit_string(0, &KDC_OPTIONS.to_be_bytes())),
            ber::explicit(1, &cname.encode()),
            ber::explicit(2, &ber::general_string(realm)),
            ber::explicit(3, &sname.encode()),
            ber::explicit(5, &ber::generalized_time(TILL)),
            ber::explicit(7, &ber::unsigned(u64::from(nonce & 0x7FFF_FFFF))),
            ber::explicit(8, &ber::sequence(&etypes)),
        ]
        .concat(),
    );
    ber::application(
        MSG_AS_REQ as u32,
        true,
        &ber::sequence(
            &[
                ber::explicit(1, &ber::integer(PVNO)),
                ber::explicit(2, &ber::integer(MSG_AS_REQ)),
                ber::explicit(4, &body),
            ]
            .concat(),
        ),
    )
}

/// Prefixes `msg` with the 4-byte big-endian length Kerberos uses over TCP.
pub fn tcp_frame(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 4);
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(msg);
    out
}

/// Total bytes (prefix included) of the TCP record starting at `prefix`; `None` until
/// four bytes are present. The reserved top bit and records over [`MAX_TCP_RECORD`] are
/// errors.
pub fn tcp_record_len(prefix: &[u8]) -> Result<Option<usize>, WireError> {
    let mut r = Reader::new(prefix);
    let Ok(len) = r.u32_be("Kerberos TCP length") else {
        return Ok(None);
    };
    if len & 0x8000_0000 != 0 {
        return Err(WireError::invalid(
            "Kerberos TCP length",
            "reserved high bit set",
        ));
    }
    let len = check_cap("Kerberos TCP record", len as usize, MAX_TCP_RECORD)?;
    Ok(Some(len + 4))
}

/// The message inside one TCP record (the 4-byte length must fit the bytes present).
pub fn tcp_payload(buf: &[u8]) -> Result<&[u8], WireError> {
    let mut r = Reader::new(buf);
    let len = r.u32_be("Kerberos TCP length")?;
    if len & 0x8000_0000 != 0 {
        return Err(WireError::invalid(
            "Kerberos TCP length",
            "reserved high bit set",
        ));
    }
    r.take(len as usize, "Kerberos TCP record")
}

fn kerberos_string(b: &mut Ber<'_>, what: &'static str) -> Result<String, WireError> {
    let tlv = b.read()?;
    let string_type = tlv.tag.class == Class::Universal
        && !tlv.tag.constructed
        && matches!(tlv.tag.number, 12 | 19 | 22 | 27);
    if !string_type {
        return Err(WireError::Unexpected {
            what,
            got: tlv.tag.to_string(),
        });
    }
    Ok(tlv.as_text())
}

fn kerberos_time(b: &mut Ber<'_>, what: &'static str) -> Result<KerberosTime, WireError> {
    let tlv = b.expect(Tag::GENERALIZED_TIME, what)?;
    Ok(KerberosTime(tlv.as_text()))
}

fn principal_name(b: &mut Ber<'_>) -> Result<PrincipalName, WireError> {
    let mut seq = b.sequence("PrincipalName")?;
    let name_type = seq.explicit(0, "name-type")?.integer("name-type")?;
    let mut parts = seq.explicit(1, "name-string")?.sequence("name-string")?;
    let mut components = Vec::new();
    while !parts.is_empty() {
        check_cap(
            "PrincipalName components",
            components.len() + 1,
            MAX_NAME_COMPONENTS,
        )?;
        components.push(kerberos_string(&mut parts, "KerberosString")?);
    }
    Ok(PrincipalName {
        name_type,
        components,
    })
}

fn decode_krb_error_body(seq: &mut Ber<'_>) -> Result<KrbError, WireError> {
    let pvno = seq.explicit(0, "pvno")?.integer("pvno")?;
    let msg_type = seq.explicit(1, "msg-type")?.integer("msg-type")?;
    if msg_type != MSG_KRB_ERROR {
        return Err(WireError::invalid(
            "KRB-ERROR msg-type",
            format!("{msg_type}"),
        ));
    }
    let ctime = match seq.optional_explicit(2)? {
        Some(mut b) => Some(kerberos_time(&mut b, "ctime")?),
        None => None,
    };
    let cusec = match seq.optional_explicit(3)? {
        Some(mut b) => Some(b.integer("cusec")?),
        None => None,
    };
    let stime = kerberos_time(&mut seq.explicit(4, "stime")?, "stime")?;
    let susec = seq.explicit(5, "susec")?.integer("susec")?;
    let error_code = ErrorCode(seq.explicit(6, "error-code")?.integer("error-code")?);
    let crealm = match seq.optional_explicit(7)? {
        Some(mut b) => Some(kerberos_string(&mut b, "crealm")?),
        None => None,
    };
    let cname = match seq.optional_explicit(8)? {
        Some(mut b) => Some(principal_name(&mut b)?),
        None => None,
    };
    let realm = kerberos_string(&mut seq.explicit(9, "realm")?, "realm")?;
    let sname = principal_name(&mut seq.explicit(10, "sname")?)?;
    let e_text = match seq.optional_explicit(11)? {
        Some(mut b) => Some(kerberos_string(&mut b, "e-text")?),
        None => None,
    };
    let e_data = match seq.optional_explicit(12)? {
        Some(mut b) => Some(b.octet_string("e-data")?.to_vec()),
        None => None,
    };
    Ok(KrbError {
        pvno,
        ctime,
        cusec,
        stime,
        susec,
        error_code,
        crealm,
        cname,
        realm,
        sname,
        e_text,
        e_data,
    })
}

fn decode_as_rep_body(seq: &mut Ber<'_>) -> Result<AsRep, WireError> {
    let pvno = seq.explicit(0, "pvno")?.integer("pvno")?;
    let msg_type = seq.explicit(1, "msg-type")?.integer("msg-type")?;
    if msg_type != MSG_AS_REP {
        return Err(WireError::invalid("AS-REP msg-type", format!("{msg_type}")));
    }
    seq.optional_explicit(2)?;
    let crealm = kerberos_string(&mut seq.explicit(3, "crealm")?, "crealm")?;
    let cname = principal_name(&mut seq.explicit(4, "cname")?)?;
    Ok(AsRep {
        pvno,
        crealm,
        cname,
    })
}

/// Decodes a KRB-ERROR (`[APPLICATION 30]`) and nothing else.
pub fn decode_krb_error(buf: &[u8]) -> Result<KrbError, WireError> {
    let mut top = Ber::new(buf);
    let app = top.expect(Tag::application(30, true), "KRB-ERROR")?;
    decode_krb_error_body(&mut app.contents()?.sequence("KRB-ERROR")?)
}

/// Decodes a KDC's reply to [`as_req`] (UDP datagram, or a TCP record after
/// [`tcp_payload`]).
pub fn decode(buf: &[u8]) -> Result<KdcReply, WireError> {
    let mut top = Ber::new(buf);
    let app = top.read()?;
    if app.tag.class != Class::Application || !app.tag.constructed {
        return Err(WireError::Unexpected {
            what: "Kerberos message",
            got: app.tag.to_string(),
        });
    }
    let mut seq = app.contents()?.sequence("Kerberos message")?;
    match app.tag.number {
        30 => decode_krb_error_body(&mut seq).map(KdcReply::Error),
        11 => decode_as_rep_body(&mut seq).map(KdcReply::AsRep),
        n => Err(WireError::Unexpected {
            what: "KRB-ERROR or AS-REP",
            got: format!("[APPLICATION {n}]"),
        }),
    }
}

/// Decodes a reply read from TCP port 88 (4-byte length prefix, then the message).
pub fn decode_tcp(buf: &[u8]) -> Result<KdcReply, WireError> {
    decode(tcp_payload(buf)?)
}

// ---------------------------------------------------------------------------------------
// kpasswd (RFC 3244)
// ---------------------------------------------------------------------------------------

/// kpasswd protocol version of a change-password request (RFC 3244 compatible).
pub const KPASSWD_VERSION_CHANGE: u16 = 0x0001;
/// kpasswd protocol version of a set-password request (RFC 3244).
pub const KPASSWD_VERSION_SET: u16 = 0xFF80;

/// A kpasswd request whose AP-REQ and KRB-PRIV are minimal, unauthenticated stand-ins.
///
/// The framing is valid (message length, version 1, AP-REQ length, both parts
/// non-empty), so a password server parses it, fails to accept the AP-REQ and answers
/// with a KRB-ERROR — proof that the service is there, without any credential.
pub fn kpasswd_probe_request() -> Vec<u8> {
    let ap_req = ber::application(
        14,
        true,
        &ber::sequence(
            &[
                ber::explicit(0, &ber::integer(PVNO)),
                ber::explicit(1, &ber::integer(14)),
            ]
            .concat(),
        ),
    );
    let krb_priv = ber::application(
        21,
        true,
        &ber::sequence(
            &[
                ber::explicit(0, &ber::integer(PVNO)),
                ber::explicit(1, &ber::integer(21)),
            ]
            .concat(),
        ),
    );
    let total = 6 + ap_req.len() + krb_priv.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&KPASSWD_VERSION_CHANGE.to_be_bytes());
    out.extend_from_slice(&(ap_req.len() as u16).to_be_bytes());
    out.extend_from_slice(&ap_req);
    out.extend_from_slice(&krb_priv);
    out
}

/// A kpasswd result code (RFC 3244 section 2, carried in KRB-ERROR e-data on failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpasswdResult(pub u16);

impl KpasswdResult {
    /// The constant name, e.g. `KRB5_KPASSWD_HARDERROR`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "KRB5_KPASSWD_SUCCESS",
            1 => "KRB5_KPASSWD_MALFORMED",
            2 => "KRB5_KPASSWD_HARDERROR",
            3 => "KRB5_KPASSWD_AUTHERROR",
            4 => "KRB5_KPASSWD_SOFTERROR",
            5 => "KRB5_KPASSWD_ACCESSDENIED",
            6 => "KRB5_KPASSWD_BAD_VERSION",
            7 => "KRB5_KPASSWD_INITIAL_FLAG_NEEDED",
            _ => "KRB5_KPASSWD_UNKNOWN",
        }
    }
}

impl fmt::Display for KpasswdResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// What a kpasswd server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpasswdReply {
    /// A KRB-ERROR, inside the kpasswd framing or bare.
    Error {
        /// The kpasswd version field, when framed.
        version: Option<u16>,
        /// The error.
        error: Box<KrbError>,
        /// Result code and string from e-data, when it holds one.
        result: Option<(KpasswdResult, String)>,
    },
    /// A framed reply with an AP-REP and a KRB-PRIV (cannot be read without the key).
    Reply {
        /// The kpasswd version field.
        version: u16,
        /// AP-REP length.
        ap_rep_len: usize,
        /// KRB-PRIV length.
        priv_len: usize,
    },
}

impl KpasswdReply {
    /// Evidence line.
    pub fn summary(&self) -> String {
        match self {
            KpasswdReply::Error { error, result, .. } => match result {
                // Samba puts the kpasswd result code in error-code too; naming it as a
                // KDC error would mislead, so show the kpasswd result instead.
                Some((code, text)) if error.error_code.0 == i64::from(code.0) => {
                    let mut s = format!(
                        "kpasswd KRB-ERROR with result {code} from {}@{}, KDC time {}",
                        error.sname, error.realm, error.stime
                    );
                    if !text.is_empty() {
                        s.push_str(&format!(" {text:?}"));
                    }
                    s
                }
                Some((code, text)) => {
                    let mut s = format!("kpasswd {}, result {code}", error.summary());
                    if !text.is_empty() {
                        s.push_str(&format!(" {text:?}"));
                    }
                    s
                }
                None => format!("kpasswd {}", error.summary()),
            },
            KpasswdReply::Reply {
                version,
                ap_rep_len,
                priv_len,
            } => format!(
                "kpasswd reply version {version:#06x}, AP-REP {ap_rep_len} bytes, KRB-PRIV {priv_len} bytes"
            ),
        }
    }
}

fn kpasswd_result(error: &KrbError) -> Option<(KpasswdResult, String)> {
    let data = error.e_data.as_deref()?;
    let mut r = Reader::new(data);
    let code = r.u16_be("kpasswd result code").ok()?;
    if code > 0xFF {
        return None;
    }
    let text = String::from_utf8_lossy(r.rest())
        .trim_end_matches('\0')
        .to_string();
    Some((KpasswdResult(code), text))
}

/// Decodes a kpasswd reply: either the RFC 3244 framing (length, version, AP-REP length,
/// AP-REP, then KRB-PRIV or KRB-ERROR) or a bare KRB-ERROR.
pub fn decode_kpasswd_reply(buf: &[u8]) -> Result<KpasswdReply, WireError> {
    if buf.first() == Some(&0x7E) {
        let error = Box::new(decode_krb_error(buf)?);
        let result = kpasswd_result(&error);
        return Ok(KpasswdReply::Error {
            version: None,
            error,
            result,
        });
    }
    let mut r = Reader::new(buf);
    let len = usize::from(r.u16_be("kpasswd message length")?);
    if len < 6 {
        return Err(WireError::invalid(
            "kpasswd message length",
            format!("{len}"),
        ));
    }
    let mut m = Reader::new(r.take(len - 2, "kpasswd message")?);
    let version = m.u16_be("kpasswd version")?;
    let ap_rep_len = usize::from(m.u16_be("kpasswd AP-REP length")?);
    if ap_rep_len == 0 {
        let error = Box::new(decode_krb_error(m.rest())?);
        let result = kpasswd_result(&error);
        return Ok(KpasswdReply::Error {
            version: Some(version),
            error,
            result,
        });
    }
    let ap_rep = m.take(ap_rep_len, "kpasswd AP-REP")?;
    if ap_rep.first() != Some(&0x6F) {
        return Err(WireError::Unexpected {
            what: "AP-REP",
            got: format!("first octet {:#04x?}", ap_rep.first()),
        });
    }
    let priv_part = m.rest();
    match priv_part.first() {
        Some(0x75) => Ok(KpasswdReply::Reply {
            version,
            ap_rep_len,
            priv_len: priv_part.len(),
        }),
        Some(0x7E) => {
            let error = Box::new(decode_krb_error(priv_part)?);
            let result = kpasswd_result(&error);
            Ok(KpasswdReply::Error {
                version: Some(version),
                error,
                result,
            })
        }
        other => Err(WireError::Unexpected {
            what: "KRB-PRIV",
            got: format!("first octet {other:#04x?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// KRB-ERROR KDC_ERR_C_PRINCIPAL_UNKNOWN as a Samba AD DC sends it.
    fn principal_unknown() -> Vec<u8> {
        let mut m = vec![
            0x7E, 0x72, // [APPLICATION 30], 114 bytes
            0x30, 0x70, // SEQUENCE, 112 bytes
            0xA0, 0x03, 0x02, 0x01, 0x05, // [0] pvno 5
            0xA1, 0x03, 0x02, 0x01, 0x1E, // [1] msg-type 30
            0xA4, 0x11, 0x18, 0x0F, // [4] stime GeneralizedTime, 15 chars
        ];
        m.extend_from_slice(b"20240101120000Z");
        m.extend_from_slice(&[
            0xA5, 0x05, 0x02, 0x03, 0x01, 0xE2, 0x40, // [5] susec 123456
            0xA6, 0x03, 0x02, 0x01, 0x06, // [6] error-code 6
            0xA9, 0x0E, 0x1B, 0x0C, // [9] realm GeneralString, 12 chars
        ]);
        m.extend_from_slice(b"EXAMPLE.TEST");
        m.extend_from_slice(&[
            0xAA, 0x21, 0x30, 0x1F, // [10] sname PrincipalName
            0xA0, 0x03, 0x02, 0x01, 0x02, // name-type 2 NT-SRV-INST
            0xA1, 0x18, 0x30, 0x16, // name-string
            0x1B, 0x06, b'k', b'r', b'b', b't', b'g', b't', // "krbtgt"
            0x1B, 0x0C, // "EXAMPLE.TEST"
        ]);
        m.extend_from_slice(b"EXAMPLE.TEST");
        m.extend_from_slice(&[0xAB, 0x12, 0x1B, 0x10]); // [11] e-text, 16 chars
        m.extend_from_slice(b"CLIENT_NOT_FOUND");
        m
    }

    /// The kpasswd error reply Samba sends for a garbage AP-REQ.
    fn kpasswd_error() -> Vec<u8> {
        let mut m = vec![
            0x00, 0x6F, // message length 111
            0x00, 0x01, // version 1
            0x00, 0x00, // AP-REP length 0
            0x7E, 0x67, // KRB-ERROR, 103 bytes
            0x30, 0x65, // SEQUENCE, 101 bytes
            0xA0, 0x03, 0x02, 0x01, 0x05, // pvno
            0xA1, 0x03, 0x02, 0x01, 0x1E, // msg-type 30
            0xA4, 0x11, 0x18, 0x0F, // stime
        ];
        m.extend_from_slice(b"20240101120000Z");
        m.extend_from_slice(&[
            0xA5, 0x03, 0x02, 0x01, 0x00, // susec 0
            0xA6, 0x03, 0x02, 0x01, 0x02, // error-code 2 (kpasswd HARDERROR)
            0xA9, 0x0E, 0x1B, 0x0C, // realm
        ]);
        m.extend_from_slice(b"EXAMPLE.TEST");
        m.extend_from_slice(&[
            0xAA, 0x1D, 0x30, 0x1B, // sname
            0xA0, 0x03, 0x02, 0x01, 0x01, // name-type 1
            0xA1, 0x14, 0x30, 0x12, // name-string
            0x1B, 0x06, b'k', b'a', b'd', b'm', b'i', b'n', // "kadmin"
            0x1B, 0x08, b'c', b'h', b'a', b'n', b'g', b'e', b'p', b'w', // "changepw"
            0xAC, 0x0D, 0x04, 0x0B, // [12] e-data OCTET STRING, 11 bytes
            0x00, 0x02, // result code HARDERROR
        ]);
        m.extend_from_slice(b"HARDERROR");
        assert_eq!(m.len(), 0x6F);
        m
    }

    fn as_rep() -> Vec<u8> {
        let mut m = vec![
            0x6B, 0x34, // [APPLICATION 11], 52 bytes
            0x30, 0x32, // SEQUENCE, 50 bytes
            0xA0, 0x03, 0x02, 0x01, 0x05, // pvno
            0xA1, 0x03, 0x02, 0x01, 0x0B, // msg-type 11
            0xA3, 0x0E, 0x1B, 0x0C, // crealm
        ];
        m.extend_from_slice(b"EXAMPLE.TEST");
        m.extend_from_slice(&[
            0xA4, 0x12, 0x30, 0x10, // cname
            0xA0, 0x03, 0x02, 0x01, 0x01, // name-type 1
            0xA1, 0x09, 0x30, 0x07, 0x1B, 0x05, b'a', b'l', b'i', b'c', b'e', // "alice"
            0xA5, 0x02, 0x61, 0x00, // ticket (stand-in)
        ]);
        m
    }

    #[test]
    fn as_req_bytes() {
        let q = as_req("EXAMPLE.TEST", "portq-probe-5f3a", 0x8123_4567);
        assert_eq!(q[0], 0x6A); // [APPLICATION 10]
        let mut top = Ber::new(&q);
        let app = top.expect(Tag::application(10, true), "AS-REQ").unwrap();
        assert!(top.is_empty());
        let mut seq = app.contents().unwrap().sequence("KDC-REQ").unwrap();
        assert_eq!(seq.explicit(1, "pvno").unwrap().integer("pvno").unwrap(), 5);
        assert_eq!(
            seq.explicit(2, "type").unwrap().integer("type").unwrap(),
            10
        );
        assert_eq!(seq.peek_tag(), Some(Tag::context(4, true))); // no padata
        let mut body = seq.explicit(4, "body").unwrap().sequence("body").unwrap();
        let opts = body.explicit(0, "opts").unwrap().read().unwrap();
        assert_eq!(opts.tag, Tag::BIT_STRING);
        assert_eq!(opts.value, &[0x00, 0x40, 0x81, 0x00, 0x10]);
        let cname = principal_name(&mut body.explicit(1, "cname").unwrap()).unwrap();
        assert_eq!(cname.name_type, 1);
        assert_eq!(cname.components, vec!["portq-probe-5f3a"]);
        assert_eq!(
            kerberos_string(&mut body.explicit(2, "realm").unwrap(), "realm").unwrap(),
            "EXAMPLE.TEST"
        );
        let sname = principal_name(&mut body.explicit(3, "sname").unwrap()).unwrap();
        assert_eq!(sname.to_string(), "krbtgt/EXAMPLE.TEST");
        let till = kerberos_time(&mut body.explicit(5, "till").unwrap(), "till").unwrap();
        assert_eq!(till.0, TILL);
        assert_eq!(till.unix_seconds(), Some(2_136_422_885));
        let nonce = body
            .explicit(7, "nonce")
            .unwrap()
            .read()
            .unwrap()
            .as_u64()
            .unwrap();
        assert_eq!(nonce, 0x0123_4567);
        let mut et = body
            .explicit(8, "etype")
            .unwrap()
            .sequence("etype")
            .unwrap();
        let etypes: Vec<i64> = (0..3).map(|_| et.integer("e").unwrap()).collect();
        assert_eq!(etypes, vec![18, 17, 23]);
        assert!(et.is_empty() && body.is_empty());
    }

    #[test]
    fn decodes_principal_unknown() {
        let KdcReply::Error(e) = decode(&principal_unknown()).unwrap() else {
            panic!("not an error")
        };
        assert_eq!(e.pvno, 5);
        assert_eq!(e.error_code, ErrorCode::C_PRINCIPAL_UNKNOWN);
        assert_eq!(e.error_code.name(), "KDC_ERR_C_PRINCIPAL_UNKNOWN");
        assert_eq!(e.stime.0, "20240101120000Z");
        assert_eq!(e.stime.unix_seconds(), Some(1_704_110_400));
        assert_eq!(e.susec, 123_456);
        assert_eq!(e.realm, "EXAMPLE.TEST");
        assert_eq!(e.sname.components, vec!["krbtgt", "EXAMPLE.TEST"]);
        assert_eq!(e.e_text.as_deref(), Some("CLIENT_NOT_FOUND"));
        assert_eq!(e.ctime, None);
        assert_eq!(e.crealm, None);
        assert_eq!(
            e.summary(),
            "KRB-ERROR KDC_ERR_C_PRINCIPAL_UNKNOWN (6) from krbtgt/EXAMPLE.TEST@EXAMPLE.TEST, KDC time 20240101120000Z, e-text \"CLIENT_NOT_FOUND\""
        );
        assert_eq!(ErrorCode(25).name(), "KDC_ERR_PREAUTH_REQUIRED");
        assert_eq!(ErrorCode(68).to_string(), "KDC_ERR_WRONG_REALM (68)");
    }

    #[test]
    fn decodes_as_rep_and_tcp_framing() {
        let KdcReply::AsRep(r) = decode(&as_rep()).unwrap() else {
            panic!("not AS-REP")
        };
        assert_eq!(r.crealm, "EXAMPLE.TEST");
        assert_eq!(r.cname.to_string(), "alice");
        let framed = tcp_frame(&principal_unknown());
        assert_eq!(&framed[..4], &[0, 0, 0, 0x74]);
        assert_eq!(tcp_record_len(&framed[..3]).unwrap(), None);
        assert_eq!(tcp_record_len(&framed).unwrap(), Some(framed.len()));
        assert!(matches!(decode_tcp(&framed).unwrap(), KdcReply::Error(_)));
        assert!(tcp_record_len(&[0x80, 0, 0, 1]).is_err());
        assert!(tcp_record_len(&[0x7F, 0, 0, 1]).is_err());
        for i in 0..framed.len() {
            assert!(decode_tcp(&framed[..i]).is_err());
        }
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        for m in [principal_unknown(), as_rep()] {
            for i in 0..m.len() {
                assert!(decode(&m[..i]).is_err(), "prefix {i}");
            }
        }
        let k = kpasswd_error();
        for i in 0..k.len() {
            assert!(decode_kpasswd_reply(&k[..i]).is_err(), "kpasswd prefix {i}");
        }
        let bare = &k[6..];
        for i in 0..bare.len() {
            assert!(decode_kpasswd_reply(&bare[..i]).is_err(), "bare prefix {i}");
        }
    }

    #[test]
    fn rejects_other_messages() {
        // TGS-REP tag
        let mut m = as_rep();
        m[0] = 0x6D;
        assert!(matches!(decode(&m), Err(WireError::Unexpected { .. })));
        // KRB-ERROR with msg-type 31
        let mut m = principal_unknown();
        m[13] = 0x1F;
        assert!(decode(&m).is_err());
        assert!(decode(&[0x30, 0x00]).is_err());
    }

    #[test]
    fn kpasswd_request_bytes() {
        let q = kpasswd_probe_request();
        let total = usize::from(u16::from_be_bytes([q[0], q[1]]));
        assert_eq!(total, q.len());
        assert_eq!(&q[2..4], &[0x00, 0x01]); // version 1
        let ap_len = usize::from(u16::from_be_bytes([q[4], q[5]]));
        assert!(ap_len > 0 && 6 + ap_len < total); // what Samba checks
        assert_eq!(q[6], 0x6E); // [APPLICATION 14] AP-REQ
        assert_eq!(q[6 + ap_len], 0x75); // [APPLICATION 21] KRB-PRIV
        let mut b = Ber::new(&q[6..6 + ap_len]);
        let app = b.expect(Tag::application(14, true), "AP-REQ").unwrap();
        let mut s = app.contents().unwrap().sequence("AP-REQ").unwrap();
        assert_eq!(s.explicit(0, "pvno").unwrap().integer("pvno").unwrap(), 5);
        assert_eq!(s.explicit(1, "type").unwrap().integer("type").unwrap(), 14);
        assert!(b.is_empty());
        let mut p = Ber::new(&q[6 + ap_len..]);
        p.expect(Tag::application(21, true), "KRB-PRIV").unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn decodes_kpasswd_replies() {
        let r = decode_kpasswd_reply(&kpasswd_error()).unwrap();
        let KpasswdReply::Error {
            version,
            error,
            result,
        } = &r
        else {
            panic!("not an error")
        };
        assert_eq!(*version, Some(1));
        assert_eq!(error.sname.to_string(), "kadmin/changepw");
        assert_eq!(
            result.clone(),
            Some((KpasswdResult(2), "HARDERROR".to_string()))
        );
        assert_eq!(
            r.summary(),
            "kpasswd KRB-ERROR with result KRB5_KPASSWD_HARDERROR (2) from \
kadmin/changepw@EXAMPLE.TEST, KDC time 20240101120000Z \"HARDERROR\""
        );
        // bare KRB-ERROR (e.g. MIT when the framing is refused)
        let bare = decode_kpasswd_reply(&principal_unknown()).unwrap();
        assert!(matches!(
            bare,
            KpasswdReply::Error {
                version: None,
                result: None,
                ..
            }
        ));
        // framed AP-REP + KRB-PRIV
        let ok = [
            0x00, 0x0C, 0x00, 0x01, 0x00, 0x02, 0x6F, 0x00, 0x75, 0x02, 0x30, 0x00,
        ];
        assert_eq!(
            decode_kpasswd_reply(&ok).unwrap(),
            KpasswdReply::Reply {
                version: 1,
                ap_rep_len: 2,
                priv_len: 4
            }
        );
        assert!(decode_kpasswd_reply(&[0x00, 0x04, 0x00, 0x01]).is_err());
        assert!(decode_kpasswd_reply(&[0x00, 0x08, 0x00, 0x01, 0x00, 0x01, 0x30, 0x00]).is_err());
    }

    #[test]
    fn times() {
        assert_eq!(
            KerberosTime("19700101000000Z".into()).unix_seconds(),
            Some(0)
        );
        assert_eq!(
            KerberosTime("20000229235960Z".into()).unix_seconds(),
            Some(951_868_800)
        );
        assert_eq!(KerberosTime("2024010112000Z".into()).unix_seconds(), None);
        assert_eq!(KerberosTime("20241301120000Z".into()).unix_seconds(), None);
        assert_eq!(KerberosTime("2024010112000aZ".into()).unix_seconds(), None);
    }

    proptest! {
        #[test]
        fn decoders_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(r) = decode(&buf) {
                let _ = r.summary();
            }
            let _ = decode_tcp(&buf);
            let _ = decode_kpasswd_reply(&buf);
            let _ = tcp_record_len(&buf);
        }

        #[test]
        fn mutated_error_never_panics(pos in 0usize..116, val in any::<u8>()) {
            let mut m = principal_unknown();
            m[pos] = val;
            let _ = decode(&m);
        }

        #[test]
        fn as_req_is_well_formed(realm in "[A-Z.]{1,30}", user in "[a-z0-9-]{1,30}", nonce in any::<u32>()) {
            let q = as_req(&realm, &user, nonce);
            prop_assert_eq!(crate::ber::element_len(&q).unwrap(), Some(q.len()));
            prop_assert!(decode(&q).is_err()); // an AS-REQ is neither reply
        }
    }
}
