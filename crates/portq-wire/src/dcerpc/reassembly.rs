//! Sans-I/O reassembly: bytes in, whole PDUs out.
//!
//! A fragmented request or response (first fragment with `PFC_FIRST_FRAG`, last with
//! `PFC_LAST_FRAG`) comes out as one PDU whose stub is the concatenation of the
//! fragments' stubs. Memory is bounded: the buffer holds only bytes that were pushed
//! and not yet consumed (at most one partial fragment after each push), and a joined
//! stub may not exceed [`ReassemblyLimits::max_stub_len`].

use crate::WireError;
use crate::dcerpc::header::{HEADER_LEN, MAX_FRAG_LENGTH, frag_length_of, pfc};
use crate::dcerpc::{Pdu, Request, Response};

/// Bounds a [`Reassembler`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest accepted `frag_length` (at most 65535, the field's maximum).
    pub max_frag_length: usize,
    /// Largest joined stub of a fragmented call.
    pub max_stub_len: usize,
    /// Most fragments one call may span.
    pub max_fragments: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_frag_length: MAX_FRAG_LENGTH,
            max_stub_len: 4 * 1024 * 1024,
            max_fragments: 2048,
        }
    }
}

/// A call whose first fragment arrived and whose last has not.
#[derive(Debug)]
enum Partial {
    Request(Request, usize),
    Response(Response, usize),
}

/// Turns a byte stream into PDUs; see the module documentation.
///
/// After the first error every later [`Reassembler::push`] returns that error again:
/// a DCE/RPC stream cannot be resynchronised.
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    buf: Vec<u8>,
    partial: Option<Partial>,
    failed: Option<WireError>,
}

impl Reassembler {
    /// A reassembler with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A reassembler with the given limits (`max_frag_length` is clamped to 16..=65535).
    pub fn with_limits(mut limits: ReassemblyLimits) -> Self {
        limits.max_frag_length = limits.max_frag_length.clamp(HEADER_LEN, MAX_FRAG_LENGTH);
        Reassembler {
            limits,
            ..Self::default()
        }
    }

    /// Bytes received but not yet part of a complete fragment.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True while a fragmented call is waiting for more fragments.
    pub fn in_call(&self) -> bool {
        self.partial.is_some()
    }

    /// Feeds bytes as they arrive and returns every PDU they complete.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Pdu>, WireError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.push_inner(data);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.buf = Vec::new();
            self.partial = None;
        }
        result
    }

    fn push_inner(&mut self, data: &[u8]) -> Result<Vec<Pdu>, WireError> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut consumed = 0;
        loop {
            let rest = self.buf.get(consumed..).unwrap_or_default();
            if rest.len() < HEADER_LEN {
                break;
            }
            let frag_len = frag_length_of(rest)?;
            if frag_len > self.limits.max_frag_length {
                return Err(WireError::TooLarge {
                    what: "frag_length",
                    value: frag_len,
                    limit: self.limits.max_frag_length,
                });
            }
            let Some(fragment) = rest.get(..frag_len) else {
                break;
            };
            let pdu = Pdu::decode(fragment)?;
            consumed += frag_len;
            if let Some(done) = self.absorb(pdu)? {
                out.push(done);
            }
        }
        self.buf.drain(..consumed);
        Ok(out)
    }

    /// Adds one decoded fragment; returns a PDU when one is complete.
    fn absorb(&mut self, pdu: Pdu) -> Result<Option<Pdu>, WireError> {
        let limits = self.limits;
        match (self.partial.take(), pdu) {
            (None, Pdu::Request(r)) => {
                check_stub(r.stub.len(), &limits)?;
                match fragment_position(r.pfc_flags)? {
                    Position::Whole => Ok(Some(Pdu::Request(r))),
                    Position::First => {
                        self.partial = Some(Partial::Request(r, 1));
                        Ok(None)
                    }
                }
            }
            (None, Pdu::Response(r)) => {
                check_stub(r.stub.len(), &limits)?;
                match fragment_position(r.pfc_flags)? {
                    Position::Whole => Ok(Some(Pdu::Response(r))),
                    Position::First => {
                        self.partial = Some(Partial::Response(r, 1));
                        Ok(None)
                    }
                }
            }
            (None, other) => Ok(Some(other)),
            (Some(Partial::Request(mut acc, n)), Pdu::Request(next)) => {
                continuation(acc.call_id, next.call_id, next.pfc_flags, n, &limits)?;
                append(&mut acc.stub, &next.stub, &limits)?;
                if next.pfc_flags & pfc::LAST_FRAG != 0 {
                    acc.pfc_flags |= pfc::LAST_FRAG;
                    Ok(Some(Pdu::Request(acc)))
                } else {
                    self.partial = Some(Partial::Request(acc, n + 1));
                    Ok(None)
                }
            }
            (Some(Partial::Response(mut acc, n)), Pdu::Response(next)) => {
                continuation(acc.call_id, next.call_id, next.pfc_flags, n, &limits)?;
                append(&mut acc.stub, &next.stub, &limits)?;
                if next.pfc_flags & pfc::LAST_FRAG != 0 {
                    acc.pfc_flags |= pfc::LAST_FRAG;
                    Ok(Some(Pdu::Response(acc)))
                } else {
                    self.partial = Some(Partial::Response(acc, n + 1));
                    Ok(None)
                }
            }
            // A server may abandon a fragmented call with a fault for that call.
            (Some(partial), Pdu::Fault(fault)) if partial_call_id(&partial) == fault.call_id => {
                Ok(Some(Pdu::Fault(fault)))
            }
            (Some(partial), other) => Err(WireError::invalid(
                "fragment",
                format!(
                    "{} for call {} arrived while call {} was still being reassembled",
                    other.ptype(),
                    other.call_id(),
                    partial_call_id(&partial)
                ),
            )),
        }
    }
}

enum Position {
    Whole,
    First,
}

fn fragment_position(flags: u8) -> Result<Position, WireError> {
    let first = flags & pfc::FIRST_FRAG != 0;
    let last = flags & pfc::LAST_FRAG != 0;
    match (first, last) {
        (true, true) => Ok(Position::Whole),
        (true, false) => Ok(Position::First),
        (false, _) => Err(WireError::invalid(
            "pfc_flags",
            format!("fragment without PFC_FIRST_FRAG (flags {flags:#04x}) starts no call"),
        )),
    }
}

fn continuation(
    call_id: u32,
    next_call_id: u32,
    flags: u8,
    fragments: usize,
    limits: &ReassemblyLimits,
) -> Result<(), WireError> {
    if next_call_id != call_id {
        return Err(WireError::invalid(
            "call_id",
            format!("fragment of call {next_call_id} inside call {call_id}"),
        ));
    }
    if flags & pfc::FIRST_FRAG != 0 {
        return Err(WireError::invalid(
            "pfc_flags",
            format!("PFC_FIRST_FRAG again before call {call_id} ended"),
        ));
    }
    if fragments >= limits.max_fragments {
        return Err(WireError::TooLarge {
            what: "fragment count",
            value: fragments + 1,
            limit: limits.max_fragments,
        });
    }
    Ok(())
}

fn check_stub(len: usize, limits: &ReassemblyLimits) -> Result<(), WireError> {
    if len > limits.max_stub_len {
        return Err(WireError::TooLarge {
            what: "reassembled stub",
            value: len,
            limit: limits.max_stub_len,
        });
    }
    Ok(())
}

fn append(acc: &mut Vec<u8>, more: &[u8], limits: &ReassemblyLimits) -> Result<(), WireError> {
    check_stub(acc.len().saturating_add(more.len()), limits)?;
    acc.extend_from_slice(more);
    Ok(())
}

fn partial_call_id(p: &Partial) -> u32 {
    match p {
        Partial::Request(r, _) => r.call_id,
        Partial::Response(r, _) => r.call_id,
    }
}
