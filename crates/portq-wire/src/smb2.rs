//! SMB2 NEGOTIATE ([MS-SMB2] 2.2.3 / 2.2.4) over the NetBIOS session framing of TCP 445
//! and 139.
//!
//! The request offers dialects 2.0.2 through 3.1.1 with the pre-authentication integrity
//! and encryption negotiate contexts that 3.1.1 requires. The decoder reports the chosen
//! dialect, signing mode, server GUID, capabilities, limits, server time and negotiate
//! contexts; an SMB1 reply (`0xFF 'SMB'`) is recognised and reported as SMB1.

use std::fmt;

use uuid::Uuid;

use crate::WireError;
use crate::netbios;
use crate::reader::{Reader, check_cap};

/// SMB2 protocol identifier.
pub const SMB2_MAGIC: [u8; 4] = [0xFE, b'S', b'M', b'B'];
/// SMB1 protocol identifier.
pub const SMB1_MAGIC: [u8; 4] = [0xFF, b'S', b'M', b'B'];
/// SMB2 header length.
pub const HEADER_LEN: usize = 64;
/// The NEGOTIATE command.
pub const COMMAND_NEGOTIATE: u16 = 0x0000;
/// SecurityMode: signing enabled.
pub const SIGNING_ENABLED: u16 = 0x0001;
/// SecurityMode: signing required.
pub const SIGNING_REQUIRED: u16 = 0x0002;
/// The dialects offered, oldest first.
pub const DIALECTS: [u16; 5] = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];
/// Negotiate context: pre-authentication integrity capabilities.
pub const PREAUTH_INTEGRITY_CAPABILITIES: u16 = 0x0001;
/// Negotiate context: encryption capabilities.
pub const ENCRYPTION_CAPABILITIES: u16 = 0x0002;
/// Negotiate context: signing capabilities.
pub const SIGNING_CAPABILITIES: u16 = 0x0008;
/// Most negotiate contexts read from a response.
pub const MAX_CONTEXTS: usize = 32;
/// Most algorithm IDs kept per negotiate context.
pub const MAX_CONTEXT_IDS: usize = 16;
/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
pub const FILETIME_UNIX_OFFSET: i64 = 11_644_473_600;

/// Capabilities this client announces: DFS, leasing, large MTU, encryption.
const CLIENT_CAPABILITIES: u32 = 0x0000_0001 | 0x0000_0002 | 0x0000_0004 | 0x0000_0040;

fn pad8(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
}

/// The SMB2 NEGOTIATE request (without framing).
///
/// The pre-authentication salt is the client GUID written twice; the server only uses it
/// as input to the preauth hash, which a probe never completes.
pub fn negotiate_request_payload(client_guid: &Uuid) -> Vec<u8> {
    let mut m = Vec::with_capacity(180);
    // header
    m.extend_from_slice(&SMB2_MAGIC);
    m.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    m.extend_from_slice(&0u16.to_le_bytes()); // CreditCharge
    m.extend_from_slice(&0u32.to_le_bytes()); // Status
    m.extend_from_slice(&COMMAND_NEGOTIATE.to_le_bytes()); // Command
    m.extend_from_slice(&1u16.to_le_bytes()); // CreditRequest
    m.extend_from_slice(&0u32.to_le_bytes()); // Flags
    m.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    m.extend_from_slice(&0u64.to_le_bytes()); // MessageId
    m.extend_from_slice(&0x0000_FEFFu32.to_le_bytes()); // Reserved (ProcessId)
    m.extend_from_slice(&0u32.to_le_bytes()); // TreeId
    m.extend_from_slice(&0u64.to_le_bytes()); // SessionId
    m.extend_from_slice(&[0u8; 16]); // Signature
    // NEGOTIATE body
    m.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
    m.extend_from_slice(&(DIALECTS.len() as u16).to_le_bytes()); // DialectCount
    m.extend_from_slice(&SIGNING_ENABLED.to_le_bytes()); // SecurityMode
    m.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    m.extend_from_slice(&CLIENT_CAPABILITIES.to_le_bytes()); // Capabilities
    m.extend_from_slice(&client_guid.to_bytes_le()); // ClientGuid
    let ctx_offset_at = m.len();
    m.extend_from_slice(&0u32.to_le_bytes()); // NegotiateContextOffset (patched below)
    m.extend_from_slice(&2u16.to_le_bytes()); // NegotiateContextCount
    m.extend_from_slice(&0u16.to_le_bytes()); // Reserved2
    for d in DIALECTS {
        m.extend_from_slice(&d.to_le_bytes());
    }
    pad8(&mut m);
    let ctx_offset = m.len() as u32;
    m[ctx_offset_at..ctx_offset_at + 4].copy_from_slice(&ctx_offset.to_le_bytes());
    // SMB2_PREAUTH_INTEGRITY_CAPABILITIES: one hash (SHA-512), 32-byte salt
    m.extend_from_slice(&PREAUTH_INTEGRITY_CAPABILITIES.to_le_bytes());
    m.extend_from_slice(&38u16.to_le_bytes()); // DataLength
    m.extend_from_slice(&0u32.to_le_bytes()); // Reserved
    m.extend_from_slice(&1u16.to_le_bytes()); // HashAlgorithmCount
    m.extend_from_slice(&32u16.to_le_bytes()); // SaltLength
    m.extend_from_slice(&0x0001u16.to_le_bytes()); // SHA-512
    m.extend_from_slice(client_guid.as_bytes());
    m.extend_from_slice(client_guid.as_bytes());
    pad8(&mut m);
    // SMB2_ENCRYPTION_CAPABILITIES: AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM
    let ciphers: [u16; 4] = [0x0002, 0x0001, 0x0004, 0x0003];
    m.extend_from_slice(&ENCRYPTION_CAPABILITIES.to_le_bytes());
    m.extend_from_slice(&((2 + 2 * ciphers.len()) as u16).to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(&(ciphers.len() as u16).to_le_bytes());
    for c in ciphers {
        m.extend_from_slice(&c.to_le_bytes());
    }
    m
}

/// The SMB2 NEGOTIATE request wrapped in the 4-byte NetBIOS session-message header,
/// ready to send on TCP 445 (or on 139 after a positive session response).
pub fn negotiate_request(client_guid: &Uuid) -> Vec<u8> {
    let payload = negotiate_request_payload(client_guid);
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(netbios::SESSION_MESSAGE);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&payload);
    out
}

/// An SMB2 dialect revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// 0x0202.
    Smb202,
    /// 0x0210.
    Smb210,
    /// 0x0300.
    Smb300,
    /// 0x0302.
    Smb302,
    /// 0x0311.
    Smb311,
    /// 0x02FF: the server wants a second, SMB2 negotiate (answer to a multi-protocol SMB1 negotiate).
    Wildcard,
    /// Any other value.
    Other(u16),
}

impl Dialect {
    /// Maps the DialectRevision field.
    pub fn from_u16(v: u16) -> Dialect {
        match v {
            0x0202 => Dialect::Smb202,
            0x0210 => Dialect::Smb210,
            0x0300 => Dialect::Smb300,
            0x0302 => Dialect::Smb302,
            0x0311 => Dialect::Smb311,
            0x02FF => Dialect::Wildcard,
            n => Dialect::Other(n),
        }
    }

    /// The numeric revision.
    pub fn code(self) -> u16 {
        match self {
            Dialect::Smb202 => 0x0202,
            Dialect::Smb210 => 0x0210,
            Dialect::Smb300 => 0x0300,
            Dialect::Smb302 => 0x0302,
            Dialect::Smb311 => 0x0311,
            Dialect::Wildcard => 0x02FF,
            Dialect::Other(n) => n,
        }
    }

    /// Conventional name: "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1", "2.???".
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Smb202 => "2.0.2",
            Dialect::Smb210 => "2.1",
            Dialect::Smb300 => "3.0",
            Dialect::Smb302 => "3.0.2",
            Dialect::Smb311 => "3.1.1",
            Dialect::Wildcard => "2.???",
            Dialect::Other(_) => "unknown",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dialect::Other(n) => write!(f, "dialect {n:#06x}"),
            d => write!(f, "SMB {}", d.name()),
        }
    }
}

/// Names of the SMB2_GLOBAL_CAP_* bits set in `caps`.
pub fn capability_names(caps: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 8] = [
        (0x01, "DFS"),
        (0x02, "LEASING"),
        (0x04, "LARGE_MTU"),
        (0x08, "MULTI_CHANNEL"),
        (0x10, "PERSISTENT_HANDLES"),
        (0x20, "DIRECTORY_LEASING"),
        (0x40, "ENCRYPTION"),
        (0x80, "NOTIFICATIONS"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| caps & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// One negotiate context of a 3.1.1 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateContext {
    /// ContextType.
    pub context_type: u16,
    /// DataLength.
    pub data_len: usize,
    /// For preauth, encryption and signing contexts: the algorithm IDs chosen.
    pub ids: Vec<u16>,
}

impl NegotiateContext {
    /// Name of the context type.
    pub fn type_name(&self) -> &'static str {
        match self.context_type {
            0x0001 => "PREAUTH_INTEGRITY",
            0x0002 => "ENCRYPTION",
            0x0003 => "COMPRESSION",
            0x0005 => "NETNAME",
            0x0006 => "TRANSPORT",
            0x0007 => "RDMA_TRANSFORM",
            0x0008 => "SIGNING",
            _ => "UNKNOWN",
        }
    }
}

/// Name of an encryption cipher ID.
pub fn cipher_name(id: u16) -> &'static str {
    match id {
        0x0001 => "AES-128-CCM",
        0x0002 => "AES-128-GCM",
        0x0003 => "AES-256-CCM",
        0x0004 => "AES-256-GCM",
        0x0000 => "none",
        _ => "unknown",
    }
}

/// A decoded SMB2 NEGOTIATE response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateResponse {
    /// Selected dialect.
    pub dialect: Dialect,
    /// SecurityMode bits.
    pub security_mode: u16,
    /// ServerGuid.
    pub server_guid: Uuid,
    /// Capabilities bits.
    pub capabilities: u32,
    /// MaxTransactSize.
    pub max_transact_size: u32,
    /// MaxReadSize.
    pub max_read_size: u32,
    /// MaxWriteSize.
    pub max_write_size: u32,
    /// SystemTime as Unix seconds (`None` when zero).
    pub system_time: Option<i64>,
    /// ServerStartTime as Unix seconds (`None` when zero, as most servers send).
    pub server_start_time: Option<i64>,
    /// Length of the security buffer (the SPNEGO init token).
    pub security_buffer_len: usize,
    /// NegotiateContextCount (3.1.1 only).
    pub negotiate_context_count: u16,
    /// Decoded negotiate contexts (3.1.1 only).
    pub contexts: Vec<NegotiateContext>,
}

impl NegotiateResponse {
    /// Signing is enabled.
    pub fn signing_enabled(&self) -> bool {
        self.security_mode & SIGNING_ENABLED != 0
    }

    /// Signing is required.
    pub fn signing_required(&self) -> bool {
        self.security_mode & SIGNING_REQUIRED != 0
    }

    /// The encryption cipher chosen in a 3.1.1 encryption context, if any.
    pub fn cipher(&self) -> Option<u16> {
        self.contexts
            .iter()
            .find(|c| c.context_type == ENCRYPTION_CAPABILITIES)
            .and_then(|c| c.ids.first().copied())
    }

    /// Evidence line, e.g. `SMB 3.1.1, signing required, caps DFS|LEASING, ...`.
    pub fn summary(&self) -> String {
        let signing = if self.signing_required() {
            "signing required"
        } else if self.signing_enabled() {
            "signing enabled"
        } else {
            "signing disabled"
        };
        let mut s = format!(
            "{}, {signing}, guid {}, caps {}",
            self.dialect,
            self.server_guid,
            capability_names(self.capabilities).join("|")
        );
        if let Some(c) = self.cipher() {
            s.push_str(", cipher ");
            s.push_str(cipher_name(c));
        }
        if let Some(t) = self.system_time {
            s.push_str(&format!(", server time {t}"));
        }
        s
    }
}

/// What came back for a NEGOTIATE request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiateReply {
    /// A successful SMB2 NEGOTIATE response.
    Smb2(NegotiateResponse),
    /// An SMB2 error response with its NTSTATUS.
    Error {
        /// NTSTATUS from the header.
        status: u32,
    },
    /// An SMB1 reply: the server speaks SMB1 only (or refused with an SMB1 error).
    Smb1 {
        /// SMB1 command code.
        command: u8,
        /// NTSTATUS (or DOS error class/code) from the SMB1 header.
        status: u32,
    },
}

impl NegotiateReply {
    /// Evidence line.
    pub fn summary(&self) -> String {
        match self {
            NegotiateReply::Smb2(r) => r.summary(),
            NegotiateReply::Error { status } => format!("SMB2 error status {status:#010x}"),
            NegotiateReply::Smb1 { command, status } => {
                format!("SMB1 reply (command {command:#04x}, status {status:#010x})")
            }
        }
    }
}

fn filetime_to_unix(ft: u64) -> Option<i64> {
    if ft == 0 {
        return None;
    }
    i64::try_from(ft / 10_000_000)
        .ok()
        .map(|s| s - FILETIME_UNIX_OFFSET)
}

fn read_contexts(
    msg: &[u8],
    offset: usize,
    count: u16,
) -> Result<Vec<NegotiateContext>, WireError> {
    let count = check_cap("SMB2 negotiate contexts", usize::from(count), MAX_CONTEXTS)?;
    let mut r = Reader::new(msg);
    r.skip(offset, "SMB2 negotiate context offset")?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        if i > 0 {
            r.align(8, "SMB2 negotiate context padding")?;
        }
        let context_type = r.u16_le("SMB2 negotiate context type")?;
        let data_len = usize::from(r.u16_le("SMB2 negotiate context length")?);
        r.skip(4, "SMB2 negotiate context reserved")?;
        let mut d = Reader::new(r.take(data_len, "SMB2 negotiate context data")?);
        let ids = match context_type {
            PREAUTH_INTEGRITY_CAPABILITIES => {
                let n = usize::from(d.u16_le("preauth hash count")?);
                d.skip(2, "preauth salt length")?;
                read_ids(&mut d, n)?
            }
            ENCRYPTION_CAPABILITIES | SIGNING_CAPABILITIES => {
                let n = usize::from(d.u16_le("algorithm count")?);
                read_ids(&mut d, n)?
            }
            _ => Vec::new(),
        };
        out.push(NegotiateContext {
            context_type,
            data_len,
            ids,
        });
    }
    Ok(out)
}

fn read_ids(d: &mut Reader<'_>, n: usize) -> Result<Vec<u16>, WireError> {
    let n = check_cap("SMB2 negotiate context IDs", n, MAX_CONTEXT_IDS)?;
    (0..n).map(|_| d.u16_le("algorithm ID")).collect()
}

/// Decodes an unframed SMB message that answers a NEGOTIATE request.
pub fn decode_negotiate_payload(msg: &[u8]) -> Result<NegotiateReply, WireError> {
    let mut r = Reader::new(msg);
    let magic = r.array::<4>("SMB protocol ID")?;
    if magic == SMB1_MAGIC {
        let command = r.u8("SMB1 command")?;
        let status = r.u32_le("SMB1 status")?;
        // the rest of the fixed 32-byte SMB1 header must be present
        r.skip(32 - 9, "SMB1 header")?;
        return Ok(NegotiateReply::Smb1 { command, status });
    }
    if magic != SMB2_MAGIC {
        return Err(WireError::Unexpected {
            what: "SMB reply",
            got: format!("protocol ID {magic:02x?}"),
        });
    }
    let structure = r.u16_le("SMB2 header size")?;
    if usize::from(structure) != HEADER_LEN {
        return Err(WireError::invalid(
            "SMB2 header size",
            format!("{structure}"),
        ));
    }
    r.skip(2, "SMB2 credit charge")?;
    let status = r.u32_le("SMB2 status")?;
    let command = r.u16_le("SMB2 command")?;
    if command != COMMAND_NEGOTIATE {
        return Err(WireError::Unexpected {
            what: "SMB2 NEGOTIATE response",
            got: format!("command {command:#06x}"),
        });
    }
    r.skip(2, "SMB2 credits")?;
    let flags = r.u32_le("SMB2 flags")?;
    if flags & 0x0000_0001 == 0 {
        return Err(WireError::Unexpected {
            what: "SMB2 NEGOTIATE response",
            got: "a request (SERVER_TO_REDIR flag clear)".into(),
        });
    }
    r.skip(HEADER_LEN - 20, "SMB2 header")?;
    if status != 0 {
        // ERROR response body: StructureSize 9 and at least its fixed 8 bytes
        r.skip(8, "SMB2 error response")?;
        return Ok(NegotiateReply::Error { status });
    }
    let structure = r.u16_le("NEGOTIATE response size")?;
    if structure != 65 {
        return Err(WireError::invalid(
            "NEGOTIATE response size",
            format!("{structure}"),
        ));
    }
    let security_mode = r.u16_le("SecurityMode")?;
    let dialect = Dialect::from_u16(r.u16_le("DialectRevision")?);
    let negotiate_context_count = r.u16_le("NegotiateContextCount")?;
    let server_guid = Uuid::from_bytes_le(r.array::<16>("ServerGuid")?);
    let capabilities = r.u32_le("Capabilities")?;
    let max_transact_size = r.u32_le("MaxTransactSize")?;
    let max_read_size = r.u32_le("MaxReadSize")?;
    let max_write_size = r.u32_le("MaxWriteSize")?;
    let system_time = filetime_to_unix(r.u64_le("SystemTime")?);
    let server_start_time = filetime_to_unix(r.u64_le("ServerStartTime")?);
    let sec_offset = usize::from(r.u16_le("SecurityBufferOffset")?);
    let sec_len = usize::from(r.u16_le("SecurityBufferLength")?);
    let ctx_offset = usize::try_from(r.u32_le("NegotiateContextOffset")?).unwrap_or(usize::MAX);
    if sec_len > 0 {
        let mut s = Reader::new(msg);
        s.skip(sec_offset, "SMB2 security buffer offset")?;
        s.skip(sec_len, "SMB2 security buffer")?;
    }
    let contexts = if dialect == Dialect::Smb311 && negotiate_context_count > 0 {
        read_contexts(msg, ctx_offset, negotiate_context_count)?
    } else {
        Vec::new()
    };
    Ok(NegotiateReply::Smb2(NegotiateResponse {
        dialect,
        security_mode,
        server_guid,
        capabilities,
        max_transact_size,
        max_read_size,
        max_write_size,
        system_time,
        server_start_time,
        security_buffer_len: sec_len,
        negotiate_context_count,
        contexts,
    }))
}

/// Decodes a framed reply (4-byte NetBIOS session header, then the SMB message).
pub fn decode_negotiate_response(buf: &[u8]) -> Result<NegotiateReply, WireError> {
    decode_negotiate_payload(netbios::session_message_payload(buf)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GUID: &str = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

    /// A 3.1.1 NEGOTIATE response as Samba sends it, without framing.
    fn samba_response() -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&SMB2_MAGIC); // ProtocolId
        m.extend_from_slice(&[0x40, 0x00]); // StructureSize 64
        m.extend_from_slice(&[0x01, 0x00]); // CreditCharge
        m.extend_from_slice(&[0, 0, 0, 0]); // Status SUCCESS
        m.extend_from_slice(&[0x00, 0x00]); // Command NEGOTIATE
        m.extend_from_slice(&[0x01, 0x00]); // CreditResponse
        m.extend_from_slice(&[0x01, 0, 0, 0]); // Flags SERVER_TO_REDIR
        m.extend_from_slice(&[0, 0, 0, 0]); // NextCommand
        m.extend_from_slice(&[0; 8]); // MessageId
        m.extend_from_slice(&[0; 4]); // Reserved
        m.extend_from_slice(&[0; 4]); // TreeId
        m.extend_from_slice(&[0; 8]); // SessionId
        m.extend_from_slice(&[0; 16]); // Signature
        assert_eq!(m.len(), 64);
        m.extend_from_slice(&[0x41, 0x00]); // StructureSize 65
        m.extend_from_slice(&[0x03, 0x00]); // SecurityMode: enabled | required
        m.extend_from_slice(&[0x11, 0x03]); // DialectRevision 3.1.1
        m.extend_from_slice(&[0x02, 0x00]); // NegotiateContextCount 2
        m.extend_from_slice(&Uuid::parse_str(GUID).unwrap().to_bytes_le()); // ServerGuid
        m.extend_from_slice(&0x0000_0047u32.to_le_bytes()); // Capabilities
        m.extend_from_slice(&0x0080_0000u32.to_le_bytes()); // MaxTransactSize 8 MiB
        m.extend_from_slice(&0x0080_0000u32.to_le_bytes()); // MaxReadSize
        m.extend_from_slice(&0x0080_0000u32.to_le_bytes()); // MaxWriteSize
        m.extend_from_slice(&133_444_736_000_000_000u64.to_le_bytes()); // SystemTime
        m.extend_from_slice(&0u64.to_le_bytes()); // ServerStartTime
        m.extend_from_slice(&128u16.to_le_bytes()); // SecurityBufferOffset
        m.extend_from_slice(&10u16.to_le_bytes()); // SecurityBufferLength
        m.extend_from_slice(&144u32.to_le_bytes()); // NegotiateContextOffset
        assert_eq!(m.len(), 128);
        m.extend_from_slice(&[0x60, 0x08, 0x06, 0x06, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x02]); // SPNEGO
        m.extend_from_slice(&[0; 6]); // padding to 144
        // preauth context: type 1, length 38, hash count 1, salt 32, SHA-512
        m.extend_from_slice(&[
            0x01, 0x00, 38, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0x20, 0x00, 0x01, 0x00,
        ]);
        m.extend_from_slice(&[0xAB; 32]);
        m.extend_from_slice(&[0, 0]); // padding to 192
        // encryption context: type 2, length 4, count 1, AES-128-GCM
        m.extend_from_slice(&[0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0x02, 0x00]);
        m
    }

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x00, 0x00, 0x00, payload.len() as u8];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn request_bytes() {
        let guid = Uuid::parse_str(GUID).unwrap();
        let f = negotiate_request(&guid);
        let p = &f[4..];
        assert_eq!(&f[..4], &[0x00, 0x00, 0x00, p.len() as u8]);
        assert_eq!(p.len(), 178);
        assert_eq!(&p[..4], &SMB2_MAGIC);
        assert_eq!(&p[4..6], &[64, 0]); // header StructureSize
        assert_eq!(&p[12..14], &[0, 0]); // NEGOTIATE
        assert_eq!(&p[64..66], &[36, 0]); // body StructureSize
        assert_eq!(&p[66..68], &[5, 0]); // DialectCount
        assert_eq!(&p[68..70], &[1, 0]); // SecurityMode signing enabled
        assert_eq!(&p[76..92], &guid.to_bytes_le()); // ClientGuid
        assert_eq!(&p[92..96], &112u32.to_le_bytes()); // NegotiateContextOffset
        assert_eq!(&p[96..98], &[2, 0]); // NegotiateContextCount
        assert_eq!(
            &p[100..110],
            &[0x02, 0x02, 0x10, 0x02, 0x00, 0x03, 0x02, 0x03, 0x11, 0x03]
        );
        assert_eq!(&p[112..116], &[0x01, 0x00, 38, 0x00]); // preauth context
        assert_eq!(&p[160..164], &[0x02, 0x00, 10, 0x00]); // encryption context
        assert_eq!(&p[168..170], &[4, 0]); // CipherCount
        // the context walker reads our own contexts back
        let ctxs = read_contexts(p, 112, 2).unwrap();
        assert_eq!(ctxs[0].ids, vec![1]);
        assert_eq!(ctxs[1].ids, vec![2, 1, 4, 3]);
    }

    #[test]
    fn decodes_samba_311() {
        let reply = decode_negotiate_response(&framed(&samba_response())).unwrap();
        let NegotiateReply::Smb2(r) = reply.clone() else {
            panic!("not SMB2: {reply:?}")
        };
        assert_eq!(r.dialect, Dialect::Smb311);
        assert_eq!(r.dialect.name(), "3.1.1");
        assert!(r.signing_enabled() && r.signing_required());
        assert_eq!(r.server_guid, Uuid::parse_str(GUID).unwrap());
        assert_eq!(
            capability_names(r.capabilities),
            vec!["DFS", "LEASING", "LARGE_MTU", "ENCRYPTION"]
        );
        assert_eq!(r.max_read_size, 8 * 1024 * 1024);
        assert_eq!(r.system_time, Some(1_700_000_000));
        assert_eq!(r.server_start_time, None);
        assert_eq!(r.security_buffer_len, 10);
        assert_eq!(r.negotiate_context_count, 2);
        assert_eq!(r.contexts.len(), 2);
        assert_eq!(r.contexts[0].type_name(), "PREAUTH_INTEGRITY");
        assert_eq!(r.cipher(), Some(0x0002));
        assert_eq!(
            reply.summary(),
            format!(
                "SMB 3.1.1, signing required, guid {GUID}, caps DFS|LEASING|LARGE_MTU|ENCRYPTION, cipher AES-128-GCM, server time 1700000000"
            )
        );
    }

    #[test]
    fn decodes_210_without_contexts() {
        let mut m = samba_response();
        m[68..70].copy_from_slice(&[0x10, 0x02]); // 2.1
        m[70..72].copy_from_slice(&[0, 0]);
        m[66..68].copy_from_slice(&[0x01, 0x00]); // signing enabled only
        m.truncate(138);
        let NegotiateReply::Smb2(r) = decode_negotiate_payload(&m).unwrap() else {
            panic!()
        };
        assert_eq!(r.dialect.to_string(), "SMB 2.1");
        assert!(r.signing_enabled() && !r.signing_required());
        assert!(r.contexts.is_empty());
        assert_eq!(Dialect::from_u16(0x02FF).name(), "2.???");
    }

    #[test]
    fn error_and_smb1() {
        let mut m = samba_response()[..64].to_vec();
        m[8..12].copy_from_slice(&0xC000_00BBu32.to_le_bytes()); // STATUS_NOT_SUPPORTED
        m.extend_from_slice(&[0x09, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0]); // ERROR response
        assert_eq!(
            decode_negotiate_payload(&m).unwrap(),
            NegotiateReply::Error {
                status: 0xC000_00BB
            }
        );
        let mut smb1 = vec![0xFF, b'S', b'M', b'B', 0x72, 0x00, 0x00, 0x00, 0x00];
        smb1.extend_from_slice(&[0u8; 23]);
        smb1.extend_from_slice(&[0x11, 0x00, 0x00]); // word count, dialect index...
        let r = decode_negotiate_response(&framed(&smb1)).unwrap();
        assert_eq!(
            r,
            NegotiateReply::Smb1 {
                command: 0x72,
                status: 0
            }
        );
        assert_eq!(r.summary(), "SMB1 reply (command 0x72, status 0x00000000)");
        for i in 0..smb1.len().min(32) {
            assert!(decode_negotiate_payload(&smb1[..i]).is_err());
        }
    }

    #[test]
    fn rejects_bad_offsets() {
        let mut m = samba_response();
        m[120..122].copy_from_slice(&300u16.to_le_bytes()); // security buffer past the end
        assert!(decode_negotiate_payload(&m).is_err());
        let mut m = samba_response();
        m[72 - 2..72].copy_from_slice(&[0xFF, 0x00]); // 255 contexts
        assert!(matches!(
            decode_negotiate_payload(&m),
            Err(WireError::TooLarge { .. })
        ));
        let mut m = samba_response();
        m[16] = 0; // flags without SERVER_TO_REDIR
        assert!(decode_negotiate_payload(&m).is_err());
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let f = framed(&samba_response());
        for i in 0..f.len() {
            assert!(decode_negotiate_response(&f[..i]).is_err(), "prefix {i}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_negotiate_response(&buf);
            let _ = decode_negotiate_payload(&buf);
        }

        #[test]
        fn mutated_reply_never_panics(pos in 0usize..204, val in any::<u8>()) {
            let mut m = samba_response();
            m[pos] = val;
            let _ = decode_negotiate_payload(&m);
        }
    }
}
