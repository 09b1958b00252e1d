//! Call PDUs: request, response and fault (C706 12.6.4.9, 12.6.4.10, 12.6.4.7).

use uuid::Uuid;

use crate::WireError;
use crate::dcerpc::fault::fault_status_name;
use crate::dcerpc::header::{
    self, DataRep, HEADER_LEN, MAX_FRAG_LENGTH, PacketType, Start, expect_ptype, pfc,
};

/// Bytes of a request's fixed part after the header (alloc_hint, context, opnum).
const REQUEST_FIXED_LEN: usize = 8;
/// Bytes of an object UUID in a request.
const OBJECT_UUID_LEN: usize = 16;
/// Bytes of a response's fixed part after the header.
const RESPONSE_FIXED_LEN: usize = 8;
/// Bytes of a fault's fixed part after the header (incl. status and reserved).
const FAULT_FIXED_LEN: usize = 16;

/// A request PDU (one fragment, or a whole call after reassembly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Call identifier.
    pub call_id: u32,
    /// `pfc_flags` without [`pfc::OBJECT_UUID`], which `object` implies.
    pub pfc_flags: u8,
    /// Data representation of the header fields and the stub.
    pub drep: DataRep,
    /// Hint of the total stub size.
    pub alloc_hint: u32,
    /// Presentation context id from the bind.
    pub context_id: u16,
    /// Operation number in the bound interface.
    pub opnum: u16,
    /// Object UUID, sent when present (sets [`pfc::OBJECT_UUID`]).
    pub object: Option<Uuid>,
    /// NDR-encoded arguments.
    pub stub: Vec<u8>,
}

impl Request {
    /// A single-call little-endian request with `alloc_hint` set to the stub size.
    pub fn new(call_id: u32, context_id: u16, opnum: u16, stub: Vec<u8>) -> Self {
        Request {
            call_id,
            pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
            drep: DataRep::LITTLE_ENDIAN,
            alloc_hint: u32::try_from(stub.len()).unwrap_or(u32::MAX),
            context_id,
            opnum,
            object: None,
            stub,
        }
    }

    fn overhead(&self) -> usize {
        HEADER_LEN
            + REQUEST_FIXED_LEN
            + if self.object.is_some() {
                OBJECT_UUID_LEN
            } else {
                0
            }
    }

    /// Encodes the request. A stub too large for one 65535-byte fragment is split,
    /// and the fragments are returned back to back.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_fragments(MAX_FRAG_LENGTH).concat()
    }

    /// Encodes the request as fragments of at most `max_frag_length` bytes (clamped
    /// to what the header allows), setting first/last-fragment flags.
    pub fn encode_fragments(&self, max_frag_length: usize) -> Vec<Vec<u8>> {
        let flags = self.pfc_flags & !pfc::OBJECT_UUID;
        split_stub(&self.stub, self.overhead(), max_frag_length, flags)
            .into_iter()
            .map(|(chunk, flags, remaining)| {
                let object_flag = if self.object.is_some() {
                    pfc::OBJECT_UUID
                } else {
                    0
                };
                let mut w = header::start(&Start {
                    ptype: PacketType::Request,
                    pfc_flags: flags | object_flag,
                    drep: self.drep,
                    call_id: self.call_id,
                });
                w.u32(if remaining == self.stub.len() {
                    self.alloc_hint
                } else {
                    u32::try_from(remaining).unwrap_or(u32::MAX)
                });
                w.u16(self.context_id);
                w.u16(self.opnum);
                if let Some(object) = &self.object {
                    w.uuid(object);
                }
                w.bytes(chunk);
                header::finish(w)
            })
            .collect()
    }

    /// Decodes one complete request fragment.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let header::Frame { header, mut body } = header::frame(buf)?;
        expect_ptype(header.ptype, PacketType::Request)?;
        let alloc_hint = body.u32("alloc_hint")?;
        let context_id = body.u16("p_cont_id")?;
        let opnum = body.u16("opnum")?;
        let object = if header.pfc_flags & pfc::OBJECT_UUID != 0 {
            Some(body.uuid("object")?)
        } else {
            None
        };
        Ok(Request {
            call_id: header.call_id,
            pfc_flags: header.pfc_flags & !pfc::OBJECT_UUID,
            drep: header.drep,
            alloc_hint,
            context_id,
            opnum,
            object,
            stub: body.rest().to_vec(),
        })
    }
}

/// A response PDU (one fragment, or a whole call after reassembly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Call identifier (echoes the request's).
    pub call_id: u32,
    /// `pfc_flags`.
    pub pfc_flags: u8,
    /// Data representation of the header fields and the stub.
    pub drep: DataRep,
    /// Hint of the total stub size.
    pub alloc_hint: u32,
    /// Presentation context id.
    pub context_id: u16,
    /// Number of cancels the server received.
    pub cancel_count: u8,
    /// NDR-encoded results.
    pub stub: Vec<u8>,
}

impl Response {
    /// A single-fragment little-endian response with `alloc_hint` set to the stub size.
    pub fn new(call_id: u32, context_id: u16, stub: Vec<u8>) -> Self {
        Response {
            call_id,
            pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
            drep: DataRep::LITTLE_ENDIAN,
            alloc_hint: u32::try_from(stub.len()).unwrap_or(u32::MAX),
            context_id,
            cancel_count: 0,
            stub,
        }
    }

    /// Encodes the response; a stub too large for one fragment is split, and the
    /// fragments are returned back to back.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_fragments(MAX_FRAG_LENGTH).concat()
    }

    /// Encodes the response as fragments of at most `max_frag_length` bytes (clamped
    /// to what the header allows), setting first/last-fragment flags.
    pub fn encode_fragments(&self, max_frag_length: usize) -> Vec<Vec<u8>> {
        split_stub(
            &self.stub,
            HEADER_LEN + RESPONSE_FIXED_LEN,
            max_frag_length,
            self.pfc_flags,
        )
        .into_iter()
        .map(|(chunk, flags, remaining)| {
            let mut w = header::start(&Start {
                ptype: PacketType::Response,
                pfc_flags: flags,
                drep: self.drep,
                call_id: self.call_id,
            });
            w.u32(if remaining == self.stub.len() {
                self.alloc_hint
            } else {
                u32::try_from(remaining).unwrap_or(u32::MAX)
            });
            w.u16(self.context_id);
            w.u8(self.cancel_count);
            w.u8(0);
            w.bytes(chunk);
            header::finish(w)
        })
        .collect()
    }

    /// Decodes one complete response fragment.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let header::Frame { header, mut body } = header::frame(buf)?;
        expect_ptype(header.ptype, PacketType::Response)?;
        let alloc_hint = body.u32("alloc_hint")?;
        let context_id = body.u16("p_cont_id")?;
        let cancel_count = body.u8("cancel_count")?;
        body.skip(1, "response reserved")?;
        Ok(Response {
            call_id: header.call_id,
            pfc_flags: header.pfc_flags,
            drep: header.drep,
            alloc_hint,
            context_id,
            cancel_count,
            stub: body.rest().to_vec(),
        })
    }
}

/// A fault PDU: the call failed with a status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Call identifier.
    pub call_id: u32,
    /// `pfc_flags` (e.g. [`pfc::DID_NOT_EXECUTE`]).
    pub pfc_flags: u8,
    /// Data representation.
    pub drep: DataRep,
    /// Hint of the stub size.
    pub alloc_hint: u32,
    /// Presentation context id.
    pub context_id: u16,
    /// Number of cancels the server received.
    pub cancel_count: u8,
    /// The reserved octet after `cancel_count` ([MS-RPCE]: 0x01 = extended error info).
    pub flags: u8,
    /// The fault status; see [`crate::dcerpc::fault`].
    pub status: u32,
    /// Optional stub data after the status (extended error info).
    /// Encoding truncates it to what fits in one fragment.
    pub stub: Vec<u8>,
}

impl Fault {
    /// A single-fragment little-endian fault.
    pub fn new(call_id: u32, status: u32) -> Self {
        Fault {
            call_id,
            pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
            drep: DataRep::LITTLE_ENDIAN,
            alloc_hint: 0,
            context_id: 0,
            cancel_count: 0,
            flags: 0,
            status,
            stub: Vec::new(),
        }
    }

    /// The conventional name of the status, when known.
    pub fn status_name(&self) -> Option<&'static str> {
        fault_status_name(self.status)
    }

    /// Encodes the fault.
    pub fn encode(&self) -> Vec<u8> {
        let room = MAX_FRAG_LENGTH - HEADER_LEN - FAULT_FIXED_LEN;
        let stub = self
            .stub
            .get(..self.stub.len().min(room))
            .unwrap_or_default();
        let mut w = header::start(&Start {
            ptype: PacketType::Fault,
            pfc_flags: self.pfc_flags,
            drep: self.drep,
            call_id: self.call_id,
        });
        w.u32(self.alloc_hint);
        w.u16(self.context_id);
        w.u8(self.cancel_count);
        w.u8(self.flags);
        w.u32(self.status);
        w.u32(0); // reserved
        w.bytes(stub);
        header::finish(w)
    }

    /// Decodes one complete fault fragment. The reserved word after the status is
    /// optional (some stacks end the PDU at the status).
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let header::Frame { header, mut body } = header::frame(buf)?;
        expect_ptype(header.ptype, PacketType::Fault)?;
        let alloc_hint = body.u32("alloc_hint")?;
        let context_id = body.u16("p_cont_id")?;
        let cancel_count = body.u8("cancel_count")?;
        let flags = body.u8("fault flags")?;
        let status = body.u32("status")?;
        if body.remaining() >= 4 {
            body.skip(4, "fault reserved")?;
        }
        Ok(Fault {
            call_id: header.call_id,
            pfc_flags: header.pfc_flags,
            drep: header.drep,
            alloc_hint,
            context_id,
            cancel_count,
            flags,
            status,
            stub: body.rest().to_vec(),
        })
    }
}

/// Splits `stub` into chunks that fit in fragments of `max_frag_length` bytes given
/// `overhead` bytes of header, and computes each fragment's flags.
///
/// Returns `(chunk, pfc_flags, stub bytes remaining from this chunk on)`. A stub that
/// fits in one fragment keeps `flags` unchanged. Chunks other than the last are a
/// multiple of 8 bytes, as NDR alignment across fragments expects.
fn split_stub(
    stub: &[u8],
    overhead: usize,
    max_frag_length: usize,
    flags: u8,
) -> Vec<(&[u8], u8, usize)> {
    let max_frag = max_frag_length.clamp(overhead + 8, MAX_FRAG_LENGTH);
    let per_frag = ((max_frag - overhead) / 8 * 8).max(8);
    if stub.len() <= max_frag - overhead {
        return vec![(stub, flags, stub.len())];
    }
    let chunks: Vec<&[u8]> = stub.chunks(per_frag).collect();
    let last = chunks.len().saturating_sub(1);
    let mut remaining = stub.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let base = flags & !(pfc::FIRST_FRAG | pfc::LAST_FRAG);
            let f = base
                | if i == 0 { pfc::FIRST_FRAG } else { 0 }
                | if i == last { pfc::LAST_FRAG } else { 0 };
            let out = (chunk, f, remaining);
            remaining -= chunk.len();
            out
        })
        .collect()
}
