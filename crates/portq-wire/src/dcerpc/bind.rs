//! Association set-up PDUs: bind, bind_ack, bind_nak, alter_context and
//! alter_context_resp (C706 12.6.4.3 to 12.6.4.6).

use crate::WireError;
use crate::dcerpc::header::{
    self, DataRep, HEADER_LEN, MAX_FRAG_LENGTH, PacketType, Start, expect_ptype, pfc,
};
use crate::dcerpc::syntax::{
    CONTEXT_ELEM_MIN_LEN, CONTEXT_RESULT_LEN, ContextResult, PresentationContext, SYNTAX_ID_LEN,
    SyntaxId,
};
use crate::ndr::NdrReader;

/// Default fragment sizes portq offers (the value Windows clients use).
pub const DEFAULT_MAX_FRAG: u16 = 4280;

/// A bind PDU: proposes presentation contexts for a new association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Call identifier.
    pub call_id: u32,
    /// `pfc_flags`.
    pub pfc_flags: u8,
    /// Data representation (encode honours its integer order).
    pub drep: DataRep,
    /// Largest fragment the client sends.
    pub max_xmit_frag: u16,
    /// Largest fragment the client accepts.
    pub max_recv_frag: u16,
    /// Association group (0 = new group).
    pub assoc_group_id: u32,
    /// Offered presentation contexts. At most 255 are encoded, and only as many as
    /// fit in one 65535-byte fragment.
    pub contexts: Vec<PresentationContext>,
}

impl Bind {
    /// A single-fragment little-endian bind with default fragment sizes.
    pub fn new(call_id: u32, contexts: Vec<PresentationContext>) -> Self {
        Bind {
            call_id,
            pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
            drep: DataRep::LITTLE_ENDIAN,
            max_xmit_frag: DEFAULT_MAX_FRAG,
            max_recv_frag: DEFAULT_MAX_FRAG,
            assoc_group_id: 0,
            contexts,
        }
    }

    /// Encodes the PDU.
    pub fn encode(&self) -> Vec<u8> {
        encode_bind_like(self, PacketType::Bind)
    }

    /// Decodes one complete bind fragment.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_bind_like(buf, PacketType::Bind)
    }
}

/// An alter_context PDU: same layout as [`Bind`], on an existing association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterContext(pub Bind);

impl AlterContext {
    /// Encodes the PDU.
    pub fn encode(&self) -> Vec<u8> {
        encode_bind_like(&self.0, PacketType::AlterContext)
    }

    /// Decodes one complete alter_context fragment.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_bind_like(buf, PacketType::AlterContext).map(AlterContext)
    }
}

/// Size of bind's fixed part after the header: frag sizes, group, count + padding.
const BIND_FIXED_LEN: usize = 2 + 2 + 4 + 4;

fn encode_bind_like(b: &Bind, ptype: PacketType) -> Vec<u8> {
    // Keep only what the u8 counts and the u16 frag_length can describe.
    let mut total = HEADER_LEN + BIND_FIXED_LEN;
    let mut fitted: Vec<(&PresentationContext, usize)> = Vec::new();
    for ctx in b.contexts.iter().take(usize::from(u8::MAX)) {
        if total + CONTEXT_ELEM_MIN_LEN > MAX_FRAG_LENGTH {
            break;
        }
        let room = (MAX_FRAG_LENGTH - total - CONTEXT_ELEM_MIN_LEN) / SYNTAX_ID_LEN;
        let n_ts = ctx
            .transfer_syntaxes
            .len()
            .min(usize::from(u8::MAX))
            .min(room);
        total += CONTEXT_ELEM_MIN_LEN + n_ts * SYNTAX_ID_LEN;
        fitted.push((ctx, n_ts));
    }

    let mut w = header::start(&Start {
        ptype,
        pfc_flags: b.pfc_flags,
        drep: b.drep,
        call_id: b.call_id,
    });
    w.u16(b.max_xmit_frag);
    w.u16(b.max_recv_frag);
    w.u32(b.assoc_group_id);
    w.u8(fitted.len() as u8);
    w.u8(0);
    w.u16(0);
    for (ctx, n_ts) in fitted {
        w.u16(ctx.context_id);
        w.u8(n_ts as u8);
        w.u8(0);
        ctx.abstract_syntax.write(&mut w);
        for ts in ctx.transfer_syntaxes.iter().take(n_ts) {
            ts.write(&mut w);
        }
    }
    header::finish(w)
}

fn decode_bind_like(buf: &[u8], ptype: PacketType) -> Result<Bind, WireError> {
    let header::Frame { header, mut body } = header::frame(buf)?;
    expect_ptype(header.ptype, ptype)?;
    let max_xmit_frag = body.u16("max_xmit_frag")?;
    let max_recv_frag = body.u16("max_recv_frag")?;
    let assoc_group_id = body.u32("assoc_group_id")?;
    let n_ctx = usize::from(body.u8("n_context_elem")?);
    body.skip(3, "p_context_elem reserved")?;
    // Each element needs at least CONTEXT_ELEM_MIN_LEN bytes: check before allocating.
    if n_ctx * CONTEXT_ELEM_MIN_LEN > body.remaining() {
        return Err(WireError::Truncated {
            what: "p_context_elem",
            needed: n_ctx * CONTEXT_ELEM_MIN_LEN,
            available: body.remaining(),
        });
    }
    let mut contexts = Vec::with_capacity(n_ctx);
    for _ in 0..n_ctx {
        contexts.push(read_context(&mut body)?);
    }
    Ok(Bind {
        call_id: header.call_id,
        pfc_flags: header.pfc_flags,
        drep: header.drep,
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        contexts,
    })
}

fn read_context(body: &mut NdrReader<'_>) -> Result<PresentationContext, WireError> {
    let context_id = body.u16("p_cont_id")?;
    let n_ts = usize::from(body.u8("n_transfer_syn")?);
    body.skip(1, "p_cont_elem reserved")?;
    let abstract_syntax = SyntaxId::read(body, "abstract_syntax")?;
    if n_ts * SYNTAX_ID_LEN > body.remaining() {
        return Err(WireError::Truncated {
            what: "transfer_syntaxes",
            needed: n_ts * SYNTAX_ID_LEN,
            available: body.remaining(),
        });
    }
    let mut transfer_syntaxes = Vec::with_capacity(n_ts);
    for _ in 0..n_ts {
        transfer_syntaxes.push(SyntaxId::read(body, "transfer_syntax")?);
    }
    Ok(PresentationContext {
        context_id,
        abstract_syntax,
        transfer_syntaxes,
    })
}

/// A bind_ack PDU: the server accepted the association; per-context results follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    /// Call identifier (echoes the bind's).
    pub call_id: u32,
    /// `pfc_flags`.
    pub pfc_flags: u8,
    /// Data representation.
    pub drep: DataRep,
    /// Largest fragment the server sends.
    pub max_xmit_frag: u16,
    /// Largest fragment the server accepts.
    pub max_recv_frag: u16,
    /// Association group assigned by the server.
    pub assoc_group_id: u32,
    /// Raw `sec_addr.port_spec` bytes (the server's port as a NUL-terminated string,
    /// e.g. `b"135\0"`; empty on alter_context_resp). Encoding cuts it to what fits.
    pub secondary_address: Vec<u8>,
    /// One result per offered context, in order. At most 255 are encoded.
    pub results: Vec<ContextResult>,
}

impl BindAck {
    /// The secondary address up to its NUL, as text (lossy).
    pub fn secondary_address_str(&self) -> String {
        let end = self
            .secondary_address
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.secondary_address.len());
        String::from_utf8_lossy(self.secondary_address.get(..end).unwrap_or_default()).into_owned()
    }

    /// Encodes the PDU.
    pub fn encode(&self) -> Vec<u8> {
        encode_ack_like(self, PacketType::BindAck)
    }

    /// Decodes one complete bind_ack fragment.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_ack_like(buf, PacketType::BindAck)
    }
}

/// An alter_context_resp PDU: same layout as [`BindAck`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterContextResp(pub BindAck);

impl AlterContextResp {
    /// Encodes the PDU.
    pub fn encode(&self) -> Vec<u8> {
        encode_ack_like(&self.0, PacketType::AlterContextResp)
    }

    /// Decodes one complete alter_context_resp fragment.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        decode_ack_like(buf, PacketType::AlterContextResp).map(AlterContextResp)
    }
}

/// Bytes of bind_ack's fixed part after the header, up to the secondary address.
const ACK_FIXED_LEN: usize = 2 + 2 + 4 + 2;

fn encode_ack_like(a: &BindAck, ptype: PacketType) -> Vec<u8> {
    // Keep what the counts and the u16 frag_length can describe: up to 255 results,
    // and as much of the secondary address as still fits.
    let results = a.results.iter().take(usize::from(u8::MAX));
    let fixed = HEADER_LEN + ACK_FIXED_LEN + 3 + 4 + results.len() * CONTEXT_RESULT_LEN;
    let addr_len = a
        .secondary_address
        .len()
        .min(MAX_FRAG_LENGTH.saturating_sub(fixed));
    let addr = a.secondary_address.get(..addr_len).unwrap_or_default();
    let mut w = header::start(&Start {
        ptype,
        pfc_flags: a.pfc_flags,
        drep: a.drep,
        call_id: a.call_id,
    });
    w.u16(a.max_xmit_frag);
    w.u16(a.max_recv_frag);
    w.u32(a.assoc_group_id);
    w.u16(addr_len as u16);
    w.bytes(addr);
    w.align(4);
    w.u8(results.len() as u8);
    w.u8(0);
    w.u16(0);
    for r in results {
        r.write(&mut w);
    }
    header::finish(w)
}

fn decode_ack_like(buf: &[u8], ptype: PacketType) -> Result<BindAck, WireError> {
    let header::Frame { header, mut body } = header::frame(buf)?;
    expect_ptype(header.ptype, ptype)?;
    let max_xmit_frag = body.u16("max_xmit_frag")?;
    let max_recv_frag = body.u16("max_recv_frag")?;
    let assoc_group_id = body.u32("assoc_group_id")?;
    let addr_len = usize::from(body.u16("sec_addr.length")?);
    let secondary_address = body.take(addr_len, "sec_addr.port_spec")?.to_vec();
    body.align(4, "bind_ack padding")?;
    let n_results = usize::from(body.u8("n_results")?);
    body.skip(3, "p_result_list reserved")?;
    if n_results * CONTEXT_RESULT_LEN > body.remaining() {
        return Err(WireError::Truncated {
            what: "p_results",
            needed: n_results * CONTEXT_RESULT_LEN,
            available: body.remaining(),
        });
    }
    let mut results = Vec::with_capacity(n_results);
    for _ in 0..n_results {
        results.push(ContextResult::read(&mut body)?);
    }
    Ok(BindAck {
        call_id: header.call_id,
        pfc_flags: header.pfc_flags,
        drep: header.drep,
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        secondary_address,
        results,
    })
}

/// `p_reject_reason_t`: why a bind was refused (C706 plus [MS-RPCE] 2.2.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// 0: reason not specified.
    NotSpecified,
    /// 1: temporary congestion.
    TemporaryCongestion,
    /// 2: local limit exceeded.
    LocalLimitExceeded,
    /// 3: called presentation address unknown.
    CalledPaddrUnknown,
    /// 4: protocol version not supported.
    ProtocolVersionNotSupported,
    /// 5: default context not supported.
    DefaultContextNotSupported,
    /// 6: user data not readable.
    UserDataNotReadable,
    /// 7: no PSAP available.
    NoPsapAvailable,
    /// 8: authentication type not recognized ([MS-RPCE]).
    AuthenticationTypeNotRecognized,
    /// 9: invalid checksum ([MS-RPCE]).
    InvalidChecksum,
    /// Any other value.
    Other(u16),
}

impl RejectReason {
    /// Maps the wire value.
    pub fn from_u16(v: u16) -> Self {
        use RejectReason::*;
        match v {
            0 => NotSpecified,
            1 => TemporaryCongestion,
            2 => LocalLimitExceeded,
            3 => CalledPaddrUnknown,
            4 => ProtocolVersionNotSupported,
            5 => DefaultContextNotSupported,
            6 => UserDataNotReadable,
            7 => NoPsapAvailable,
            8 => AuthenticationTypeNotRecognized,
            9 => InvalidChecksum,
            other => Other(other),
        }
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        use RejectReason::*;
        match self {
            NotSpecified => 0,
            TemporaryCongestion => 1,
            LocalLimitExceeded => 2,
            CalledPaddrUnknown => 3,
            ProtocolVersionNotSupported => 4,
            DefaultContextNotSupported => 5,
            UserDataNotReadable => 6,
            NoPsapAvailable => 7,
            AuthenticationTypeNotRecognized => 8,
            InvalidChecksum => 9,
            Other(v) => v,
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use RejectReason::*;
        let s = match self {
            NotSpecified => "reason not specified",
            TemporaryCongestion => "temporary congestion",
            LocalLimitExceeded => "local limit exceeded",
            CalledPaddrUnknown => "called presentation address unknown",
            ProtocolVersionNotSupported => "protocol version not supported",
            DefaultContextNotSupported => "default context not supported",
            UserDataNotReadable => "user data not readable",
            NoPsapAvailable => "no PSAP available",
            AuthenticationTypeNotRecognized => "authentication type not recognized",
            InvalidChecksum => "invalid checksum",
            Other(v) => return write!(f, "reject reason {v}"),
        };
        f.write_str(s)
    }
}

/// A bind_nak PDU: the server refused the association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindNak {
    /// Call identifier.
    pub call_id: u32,
    /// `pfc_flags`.
    pub pfc_flags: u8,
    /// Data representation.
    pub drep: DataRep,
    /// Why the bind was refused.
    pub reason: RejectReason,
    /// Protocol versions (major, minor) the server supports; may be absent on the
    /// wire, which decodes as empty. At most 255 are encoded.
    pub versions: Vec<(u8, u8)>,
}

impl BindNak {
    /// Encodes the PDU.
    pub fn encode(&self) -> Vec<u8> {
        let versions = self.versions.iter().take(usize::from(u8::MAX));
        let mut w = header::start(&Start {
            ptype: PacketType::BindNak,
            pfc_flags: self.pfc_flags,
            drep: self.drep,
            call_id: self.call_id,
        });
        w.u16(self.reason.to_u16());
        w.u8(versions.len() as u8);
        for (major, minor) in versions {
            w.u8(*major);
            w.u8(*minor);
        }
        header::finish(w)
    }

    /// Decodes one complete bind_nak fragment. Bytes after the version list
    /// ([MS-RPCE] signature and extended error data) are ignored.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let header::Frame { header, mut body } = header::frame(buf)?;
        expect_ptype(header.ptype, PacketType::BindNak)?;
        let reason = RejectReason::from_u16(body.u16("provider_reject_reason")?);
        let mut versions = Vec::new();
        if !body.is_empty() {
            let n = usize::from(body.u8("n_protocols")?);
            let pairs = body.take(n * 2, "p_protocols")?;
            versions = pairs
                .chunks_exact(2)
                .filter_map(|p| match p {
                    [major, minor] => Some((*major, *minor)),
                    _ => None,
                })
                .collect();
        }
        Ok(BindNak {
            call_id: header.call_id,
            pfc_flags: header.pfc_flags,
            drep: header.drep,
            reason,
            versions,
        })
    }
}
