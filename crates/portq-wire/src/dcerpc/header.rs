//! The 16-byte common header of every connection-oriented PDU (C706 12.6.3.1).

use crate::WireError;
use crate::ndr::{IntRep, NdrReader, NdrWriter};
use crate::reader::Reader;

/// Length of the common header.
pub const HEADER_LEN: usize = 16;
/// Largest value the 16-bit `frag_length` field can hold.
pub const MAX_FRAG_LENGTH: usize = u16::MAX as usize;
/// `rpc_vers`: connection-oriented DCE/RPC is version 5.
pub const RPC_VERS: u8 = 5;
/// `rpc_vers_minor` portq sends (5.0; Windows also accepts and sends 5.1).
pub const RPC_VERS_MINOR: u8 = 0;
/// Length of the `sec_trailer` in front of an auth verifier's `auth_value`.
pub const SEC_TRAILER_LEN: usize = 8;

/// `pfc_flags` bits (C706 12.6.3.1, [MS-RPCE] 2.2.2.3).
pub mod pfc {
    /// First fragment of a call.
    pub const FIRST_FRAG: u8 = 0x01;
    /// Last fragment of a call.
    pub const LAST_FRAG: u8 = 0x02;
    /// Cancel was pending at sender (on bind: MS "support header signing").
    pub const PENDING_CANCEL: u8 = 0x04;
    /// Supports concurrent multiplexing of a single connection.
    pub const CONC_MPX: u8 = 0x10;
    /// On a fault: the call did not execute.
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    /// `maybe` call semantics requested.
    pub const MAYBE: u8 = 0x40;
    /// A request carries an object UUID after `opnum`.
    pub const OBJECT_UUID: u8 = 0x80;
}

/// The PDU type (`PTYPE`) octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0: request.
    Request,
    /// 1: ping (connectionless only).
    Ping,
    /// 2: response.
    Response,
    /// 3: fault.
    Fault,
    /// 4: working (connectionless only).
    Working,
    /// 5: nocall (connectionless only).
    Nocall,
    /// 6: reject (connectionless only).
    Reject,
    /// 7: ack (connectionless only).
    Ack,
    /// 8: cl_cancel (connectionless only).
    ClCancel,
    /// 9: fack (connectionless only).
    Fack,
    /// 10: cancel_ack (connectionless only).
    CancelAck,
    /// 11: bind.
    Bind,
    /// 12: bind_ack.
    BindAck,
    /// 13: bind_nak.
    BindNak,
    /// 14: alter_context.
    AlterContext,
    /// 15: alter_context_resp.
    AlterContextResp,
    /// 16: rpc_auth_3 ([MS-RPCE]).
    Auth3,
    /// 17: shutdown.
    Shutdown,
    /// 18: co_cancel.
    CoCancel,
    /// 19: orphaned.
    Orphaned,
    /// 20: rts (RPC over HTTP, [MS-RPCH]).
    Rts,
    /// Any other value.
    Unknown(u8),
}

impl PacketType {
    /// Maps the wire octet to a packet type (total: unknown values are kept).
    pub fn from_u8(v: u8) -> Self {
        use PacketType::*;
        match v {
            0 => Request,
            1 => Ping,
            2 => Response,
            3 => Fault,
            4 => Working,
            5 => Nocall,
            6 => Reject,
            7 => Ack,
            8 => ClCancel,
            9 => Fack,
            10 => CancelAck,
            11 => Bind,
            12 => BindAck,
            13 => BindNak,
            14 => AlterContext,
            15 => AlterContextResp,
            16 => Auth3,
            17 => Shutdown,
            18 => CoCancel,
            19 => Orphaned,
            20 => Rts,
            other => Unknown(other),
        }
    }

    /// The wire octet.
    pub fn to_u8(self) -> u8 {
        use PacketType::*;
        match self {
            Request => 0,
            Ping => 1,
            Response => 2,
            Fault => 3,
            Working => 4,
            Nocall => 5,
            Reject => 6,
            Ack => 7,
            ClCancel => 8,
            Fack => 9,
            CancelAck => 10,
            Bind => 11,
            BindAck => 12,
            BindNak => 13,
            AlterContext => 14,
            AlterContextResp => 15,
            Auth3 => 16,
            Shutdown => 17,
            CoCancel => 18,
            Orphaned => 19,
            Rts => 20,
            Unknown(v) => v,
        }
    }
}

impl std::fmt::Display for PacketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketType::Unknown(v) => write!(f, "ptype {v}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The packed data representation label (`drep`, 4 octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataRep(pub [u8; 4]);

impl Default for DataRep {
    fn default() -> Self {
        DataRep::LITTLE_ENDIAN
    }
}

impl DataRep {
    /// Little-endian integers, ASCII characters, IEEE floats: what portq sends.
    pub const LITTLE_ENDIAN: DataRep = DataRep([0x10, 0, 0, 0]);
    /// Big-endian integers, ASCII characters, IEEE floats.
    pub const BIG_ENDIAN: DataRep = DataRep([0x00, 0, 0, 0]);

    /// The integer byte order, or an error for a value C706 does not define.
    pub fn int_rep(&self) -> Result<IntRep, WireError> {
        match self.0[0] >> 4 {
            0 => Ok(IntRep::BigEndian),
            1 => Ok(IntRep::LittleEndian),
            other => Err(WireError::invalid(
                "drep integer representation",
                format!("{other} is neither big-endian (0) nor little-endian (1)"),
            )),
        }
    }

    /// The drep whose integer order is `rep` (ASCII, IEEE).
    pub fn for_rep(rep: IntRep) -> DataRep {
        match rep {
            IntRep::LittleEndian => DataRep::LITTLE_ENDIAN,
            IntRep::BigEndian => DataRep::BIG_ENDIAN,
        }
    }
}

/// The decoded common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `rpc_vers_minor` (0 or 1).
    pub rpc_vers_minor: u8,
    /// The PDU type.
    pub ptype: PacketType,
    /// `pfc_flags`, see [`pfc`].
    pub pfc_flags: u8,
    /// The sender's data representation.
    pub drep: DataRep,
    /// Total length of this fragment, header included.
    pub frag_length: u16,
    /// Length of the `auth_value` at the end of the fragment (0 without auth).
    pub auth_length: u16,
    /// Call identifier.
    pub call_id: u32,
}

impl Header {
    /// Decodes and validates the first 16 bytes of `buf` (version, drep, frag_length ≥ 16).
    pub fn decode(buf: &[u8]) -> Result<Header, WireError> {
        let mut r = Reader::new(buf);
        let vers = r.u8("rpc_vers")?;
        let minor = r.u8("rpc_vers_minor")?;
        if vers != RPC_VERS {
            return Err(WireError::invalid(
                "rpc_vers",
                format!("{vers}.{minor} is not connection-oriented DCE/RPC 5.x"),
            ));
        }
        if minor > 1 {
            return Err(WireError::invalid(
                "rpc_vers_minor",
                format!("5.{minor} is not 5.0 or 5.1"),
            ));
        }
        let ptype = PacketType::from_u8(r.u8("ptype")?);
        let pfc_flags = r.u8("pfc_flags")?;
        let drep = DataRep(r.array("drep")?);
        let rep = drep.int_rep()?;
        let mut n = NdrReader::new(r.rest(), rep);
        let frag_length = n.u16_unaligned("frag_length")?;
        let auth_length = n.u16_unaligned("auth_length")?;
        let call_id = n.u32_unaligned("call_id")?;
        if usize::from(frag_length) < HEADER_LEN {
            return Err(WireError::invalid(
                "frag_length",
                format!("{frag_length} is shorter than the {HEADER_LEN}-byte header"),
            ));
        }
        Ok(Header {
            rpc_vers_minor: minor,
            ptype,
            pfc_flags,
            drep,
            frag_length,
            auth_length,
            call_id,
        })
    }

    /// The integer byte order of this PDU (already validated by [`Header::decode`]).
    pub fn int_rep(&self) -> IntRep {
        self.drep.int_rep().unwrap_or_default()
    }
}

/// Reads the `frag_length` from the first 16 bytes of a fragment after validating the
/// header, so a stream reader knows exactly how many more bytes make up the fragment.
///
/// Errors when fewer than 16 bytes are given, the version or drep is invalid, or the
/// length is below 16 (0 included).
pub fn frag_length_of(header_bytes: &[u8]) -> Result<usize, WireError> {
    Header::decode(header_bytes).map(|h| usize::from(h.frag_length))
}

/// Common fields every PDU type carries besides its body.
pub(crate) struct Start {
    pub ptype: PacketType,
    pub pfc_flags: u8,
    pub drep: DataRep,
    pub call_id: u32,
}

/// Starts a PDU: writes the header with a zero `frag_length` to be patched by [`finish`].
pub(crate) fn start(s: &Start) -> NdrWriter {
    let drep = if s.drep.int_rep().is_ok() {
        s.drep
    } else {
        DataRep::LITTLE_ENDIAN
    };
    let mut w = NdrWriter::new(drep.int_rep().unwrap_or_default());
    w.u8(RPC_VERS);
    w.u8(RPC_VERS_MINOR);
    w.u8(s.ptype.to_u8());
    w.u8(s.pfc_flags);
    w.bytes(&drep.0);
    w.u16(0); // frag_length, patched in finish()
    w.u16(0); // auth_length: portq never sends an auth verifier
    w.u32(s.call_id);
    w
}

/// Patches `frag_length` and returns the PDU bytes.
pub(crate) fn finish(mut w: NdrWriter) -> Vec<u8> {
    let len = u16::try_from(w.position()).unwrap_or(u16::MAX);
    w.patch_u16(8, len);
    w.into_bytes()
}

/// A validated fragment: its header and a reader over the body (auth verifier and
/// auth padding excluded), positioned just after the header.
pub(crate) struct Frame<'a> {
    pub header: Header,
    pub body: NdrReader<'a>,
}

/// Validates that `buf` is exactly one fragment and locates its body.
pub(crate) fn frame(buf: &[u8]) -> Result<Frame<'_>, WireError> {
    let header = Header::decode(buf)?;
    let frag_len = usize::from(header.frag_length);
    if buf.len() < frag_len {
        return Err(WireError::Truncated {
            what: "fragment",
            needed: frag_len,
            available: buf.len(),
        });
    }
    if buf.len() > frag_len {
        return Err(WireError::invalid(
            "fragment",
            format!("{} bytes given but frag_length is {frag_len}", buf.len()),
        ));
    }
    let body_end = body_end(buf, &header)?;
    let region = buf.get(..body_end).ok_or(WireError::Truncated {
        what: "fragment body",
        needed: body_end,
        available: buf.len(),
    })?;
    let mut body = NdrReader::new(region, header.int_rep());
    body.skip(HEADER_LEN, "header")?;
    Ok(Frame { header, body })
}

/// Where the body ends: before the `sec_trailer` and the auth padding when
/// `auth_length > 0`, else at `frag_length`. All arithmetic is checked.
fn body_end(buf: &[u8], header: &Header) -> Result<usize, WireError> {
    let frag_len = usize::from(header.frag_length);
    let auth_len = usize::from(header.auth_length);
    if auth_len == 0 {
        return Ok(frag_len);
    }
    let trailer_start = frag_len
        .checked_sub(auth_len + SEC_TRAILER_LEN)
        .filter(|start| *start >= HEADER_LEN)
        .ok_or_else(|| {
            WireError::invalid(
                "auth_length",
                format!("{auth_len} + {SEC_TRAILER_LEN}-byte trailer does not fit in frag_length {frag_len}"),
            )
        })?;
    let trailer = buf.get(trailer_start..).ok_or(WireError::Truncated {
        what: "sec_trailer",
        needed: trailer_start,
        available: buf.len(),
    })?;
    let mut r = Reader::new(trailer);
    let _auth_type = r.u8("auth_type")?;
    let _auth_level = r.u8("auth_level")?;
    let pad = usize::from(r.u8("auth_pad_length")?);
    trailer_start
        .checked_sub(pad)
        .filter(|end| *end >= HEADER_LEN)
        .ok_or_else(|| {
            WireError::invalid(
                "auth_pad_length",
                format!("{pad} bytes of padding do not fit in the body"),
            )
        })
}

/// Errors unless a decoded packet type is the one the caller decodes.
pub(crate) fn expect_ptype(got: PacketType, want: PacketType) -> Result<(), WireError> {
    if got == want {
        Ok(())
    } else {
        Err(WireError::Unexpected {
            what: match want {
                PacketType::Bind => "bind PDU",
                PacketType::AlterContext => "alter_context PDU",
                PacketType::BindAck => "bind_ack PDU",
                PacketType::AlterContextResp => "alter_context_resp PDU",
                PacketType::BindNak => "bind_nak PDU",
                PacketType::Request => "request PDU",
                PacketType::Response => "response PDU",
                PacketType::Fault => "fault PDU",
                _ => "PDU type",
            },
            got: got.to_string(),
        })
    }
}
