//! Connection-oriented DCE/RPC PDUs (C706 chapter 12, [MS-RPCE] 2.2.2).
//!
//! Encoding writes little-endian data representation unless a PDU's `drep` says
//! big-endian; decoding honours the drep integer byte order of the peer. Auth
//! verifiers (`auth_length > 0`) are located with checked arithmetic and skipped:
//! portq binds without authentication.
//!
//! Each PDU type has `encode(&self) -> Vec<u8>` and `decode(&[u8])`, where the input
//! must be exactly one fragment. [`Pdu::decode`] dispatches on the packet type and
//! [`Reassembler`] turns a byte stream into whole PDUs, joining fragmented calls.

mod bind;
mod call;
pub mod fault;
mod header;
mod reassembly;
mod syntax;

#[cfg(test)]
mod tests;

pub use bind::{
    AlterContext, AlterContextResp, Bind, BindAck, BindNak, DEFAULT_MAX_FRAG, RejectReason,
};
pub use call::{Fault, Request, Response};
pub use header::{
    DataRep, HEADER_LEN, Header, MAX_FRAG_LENGTH, PacketType, RPC_VERS, RPC_VERS_MINOR,
    SEC_TRAILER_LEN, frag_length_of, pfc,
};
pub use reassembly::{Reassembler, ReassemblyLimits};
pub use syntax::{
    AckResult, ContextResult, NDR_SYNTAX, NDR64_SYNTAX, PresentationContext, ProviderReason,
    SyntaxId,
};

use crate::WireError;

/// A PDU of a type portq does not model (auth3, shutdown, co_cancel, orphaned, rts,
/// connectionless types, unknown values), kept as raw body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherPdu {
    /// The packet type.
    pub ptype: PacketType,
    /// Call identifier.
    pub call_id: u32,
    /// `pfc_flags`.
    pub pfc_flags: u8,
    /// Data representation.
    pub drep: DataRep,
    /// Everything after the 16-byte header, auth verifier included.
    pub body: Vec<u8>,
}

impl OtherPdu {
    /// Encodes the PDU (with `auth_length` 0; the body is written verbatim and cut
    /// to what fits in one fragment).
    pub fn encode(&self) -> Vec<u8> {
        let room = MAX_FRAG_LENGTH - HEADER_LEN;
        let body = self
            .body
            .get(..self.body.len().min(room))
            .unwrap_or_default();
        let mut w = header::start(&header::Start {
            ptype: self.ptype,
            pfc_flags: self.pfc_flags,
            drep: self.drep,
            call_id: self.call_id,
        });
        w.bytes(body);
        header::finish(w)
    }

    /// Decodes one complete fragment of any type as raw body bytes.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let header = Header::decode(buf)?;
        let frag_len = usize::from(header.frag_length);
        let frag = buf.get(..frag_len).ok_or(WireError::Truncated {
            what: "fragment",
            needed: frag_len,
            available: buf.len(),
        })?;
        if buf.len() > frag_len {
            return Err(WireError::invalid(
                "fragment",
                format!("{} bytes given but frag_length is {frag_len}", buf.len()),
            ));
        }
        Ok(OtherPdu {
            ptype: header.ptype,
            call_id: header.call_id,
            pfc_flags: header.pfc_flags,
            drep: header.drep,
            body: frag.get(HEADER_LEN..).unwrap_or_default().to_vec(),
        })
    }
}

/// Any connection-oriented PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    /// request (0).
    Request(Request),
    /// response (2).
    Response(Response),
    /// fault (3).
    Fault(Fault),
    /// bind (11).
    Bind(Bind),
    /// bind_ack (12).
    BindAck(BindAck),
    /// bind_nak (13).
    BindNak(BindNak),
    /// alter_context (14).
    AlterContext(AlterContext),
    /// alter_context_resp (15).
    AlterContextResp(AlterContextResp),
    /// Any other type, undecoded.
    Other(OtherPdu),
}

impl Pdu {
    /// Decodes exactly one fragment, dispatching on its packet type.
    pub fn decode(buf: &[u8]) -> Result<Pdu, WireError> {
        let header = Header::decode(buf)?;
        Ok(match header.ptype {
            PacketType::Request => Pdu::Request(Request::decode(buf)?),
            PacketType::Response => Pdu::Response(Response::decode(buf)?),
            PacketType::Fault => Pdu::Fault(Fault::decode(buf)?),
            PacketType::Bind => Pdu::Bind(Bind::decode(buf)?),
            PacketType::BindAck => Pdu::BindAck(BindAck::decode(buf)?),
            PacketType::BindNak => Pdu::BindNak(BindNak::decode(buf)?),
            PacketType::AlterContext => Pdu::AlterContext(AlterContext::decode(buf)?),
            PacketType::AlterContextResp => Pdu::AlterContextResp(AlterContextResp::decode(buf)?),
            _ => Pdu::Other(OtherPdu::decode(buf)?),
        })
    }

    /// Encodes the PDU.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Pdu::Request(p) => p.encode(),
            Pdu::Response(p) => p.encode(),
            Pdu::Fault(p) => p.encode(),
            Pdu::Bind(p) => p.encode(),
            Pdu::BindAck(p) => p.encode(),
            Pdu::BindNak(p) => p.encode(),
            Pdu::AlterContext(p) => p.encode(),
            Pdu::AlterContextResp(p) => p.encode(),
            Pdu::Other(p) => p.encode(),
        }
    }

    /// The packet type.
    pub fn ptype(&self) -> PacketType {
        match self {
            Pdu::Request(_) => PacketType::Request,
            Pdu::Response(_) => PacketType::Response,
            Pdu::Fault(_) => PacketType::Fault,
            Pdu::Bind(_) => PacketType::Bind,
            Pdu::BindAck(_) => PacketType::BindAck,
            Pdu::BindNak(_) => PacketType::BindNak,
            Pdu::AlterContext(_) => PacketType::AlterContext,
            Pdu::AlterContextResp(_) => PacketType::AlterContextResp,
            Pdu::Other(p) => p.ptype,
        }
    }

    /// The call identifier.
    pub fn call_id(&self) -> u32 {
        match self {
            Pdu::Request(p) => p.call_id,
            Pdu::Response(p) => p.call_id,
            Pdu::Fault(p) => p.call_id,
            Pdu::Bind(p) => p.call_id,
            Pdu::BindAck(p) => p.call_id,
            Pdu::BindNak(p) => p.call_id,
            Pdu::AlterContext(p) => p.0.call_id,
            Pdu::AlterContextResp(p) => p.0.call_id,
            Pdu::Other(p) => p.call_id,
        }
    }
}
