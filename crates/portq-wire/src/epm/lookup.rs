//! `ept_lookup` (opnum 2) request and response stubs (C706 Appendix O).
//!
//! ```text
//! void ept_lookup([in] handle_t h, [in] unsigned32 inquiry_type,
//!                 [in] uuid_p_t object, [in] rpc_if_id_p_t interface_id,
//!                 [in] unsigned32 vers_option,
//!                 [in, out] ept_lookup_handle_t *entry_handle,
//!                 [in] unsigned32 max_ents, [out] unsigned32 *num_ents,
//!                 [out, length_is(*num_ents), size_is(max_ents)] ept_entry_t entries[],
//!                 [out] error_status_t *status);
//! ```
//!
//! `ept_entry_t` is `{ uuid_t object; twr_t *tower; [string] char annotation[64]; }`:
//! the annotation is an embedded varying array (offset, actual_count, bytes), and the
//! towers are deferred after the whole entry array as conformant `twr_t` structures.

use std::collections::HashMap;

use uuid::Uuid;

use crate::WireError;
use crate::dcerpc::SyntaxId;
use crate::epm::tower::Tower;
use crate::ndr::{ContextHandle, IntRep, NdrReader, NdrWriter};
use crate::reader::check_cap;

/// `ept_lookup`'s operation number.
pub const EPT_LOOKUP_OPNUM: u16 = 2;
/// `inquiry_type` asking for every element.
pub const RPC_C_EP_ALL_ELTS: u32 = 0;
/// `vers_option` matching every interface version.
pub const RPC_C_VERS_ALL: u32 = 1;
/// `ept_s_not_registered`: no (more) entries. Samba answers with it on the call after
/// a page that held every entry.
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;
/// `ept_max_annotation_size` from the IDL (terminator included).
pub const EPT_MAX_ANNOTATION_SIZE: usize = 64;
/// Annotation length accepted on decode (lenient: 16 times the IDL size).
pub const MAX_ANNOTATION_LEN: usize = 1024;
/// Largest `tower_length` accepted on decode.
pub const MAX_TOWER_LEN: usize = 8192;
/// Most entries accepted in one response.
pub const MAX_ENTRIES_PER_RESPONSE: usize = 16_384;
/// Smallest wire size of an inline `ept_entry_t`: UUID, pointer, offset, count.
const ENTRY_MIN_LEN: usize = 16 + 4 + 4 + 4;

/// The `[in]` arguments of `ept_lookup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupRequest {
    /// What to match ([`RPC_C_EP_ALL_ELTS`] for everything).
    pub inquiry_type: u32,
    /// Object UUID filter (`None` = NULL pointer).
    pub object: Option<Uuid>,
    /// Interface filter (`None` = NULL pointer).
    pub interface: Option<SyntaxId>,
    /// Version matching rule ([`RPC_C_VERS_ALL`]).
    pub vers_option: u32,
    /// Enumeration context: all zero on the first call, then the returned handle.
    pub entry_handle: ContextHandle,
    /// Most entries the server may return in this call.
    pub max_ents: u32,
}

impl LookupRequest {
    /// "Everything, every version" with the given handle and page size.
    pub fn all(entry_handle: ContextHandle, max_ents: u32) -> Self {
        LookupRequest {
            inquiry_type: RPC_C_EP_ALL_ELTS,
            object: None,
            interface: None,
            vers_option: RPC_C_VERS_ALL,
            entry_handle,
            max_ents,
        }
    }

    /// Encodes the request stub in little-endian NDR.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(IntRep::LittleEndian)
    }

    /// Encodes the request stub in the given integer order.
    pub fn encode_with(&self, rep: IntRep) -> Vec<u8> {
        let mut w = NdrWriter::new(rep);
        w.u32(self.inquiry_type);
        if let Some(object) = &self.object {
            w.pointer(true);
            w.uuid(object);
        } else {
            w.pointer(false);
        }
        if let Some(iface) = &self.interface {
            w.pointer(true);
            w.uuid(&iface.uuid);
            w.u16(iface.major);
            w.u16(iface.minor);
        } else {
            w.pointer(false);
        }
        w.u32(self.vers_option);
        w.context_handle(&self.entry_handle);
        w.u32(self.max_ents);
        w.into_bytes()
    }

    /// Decodes a request stub (used by test servers and the fuzzers).
    pub fn decode(stub: &[u8], rep: IntRep) -> Result<Self, WireError> {
        let mut r = NdrReader::new(stub, rep);
        let inquiry_type = r.u32("inquiry_type")?;
        let object = match r.pointer("object pointer")? {
            Some(_) => Some(r.uuid("object")?),
            None => None,
        };
        let interface = match r.pointer("interface pointer")? {
            Some(_) => {
                let uuid = r.uuid("interface uuid")?;
                let major = r.u16("interface vers_major")?;
                let minor = r.u16("interface vers_minor")?;
                Some(SyntaxId::new(uuid, major, minor))
            }
            None => None,
        };
        let vers_option = r.u32("vers_option")?;
        let entry_handle = r.context_handle("entry_handle")?;
        let max_ents = r.u32("max_ents")?;
        Ok(LookupRequest {
            inquiry_type,
            object,
            interface,
            vers_option,
            entry_handle,
            max_ents,
        })
    }
}

/// One endpoint-map entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EptEntry {
    /// Object UUID (often nil).
    pub object: Uuid,
    /// The tower; `None` for a NULL tower pointer.
    pub tower: Option<Tower>,
    /// Free-text annotation (up to the first NUL, lossy UTF-8). Encoding writes at
    /// most 63 bytes plus the terminator, as the IDL allows.
    pub annotation: String,
}

/// The `[out]` arguments of `ept_lookup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupResponse {
    /// Handle to pass to the next call; all zero when the enumeration is complete.
    pub entry_handle: ContextHandle,
    /// The entries of this page (`num_ents` of them).
    pub entries: Vec<EptEntry>,
    /// 0 on success, [`EPT_S_NOT_REGISTERED`] when nothing (more) matched.
    pub status: u32,
}

impl LookupResponse {
    /// Encodes the response stub in little-endian NDR.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(IntRep::LittleEndian)
    }

    /// Encodes the response stub in the given integer order.
    pub fn encode_with(&self, rep: IntRep) -> Vec<u8> {
        let mut w = NdrWriter::new(rep);
        let n = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        let entries = self.entries.iter().take(n as usize);
        w.context_handle(&self.entry_handle);
        w.u32(n);
        w.conformant_varying(n, 0, n);
        let mut towers = Vec::new();
        for e in entries {
            w.uuid(&e.object);
            w.pointer(e.tower.is_some());
            if let Some(t) = &e.tower {
                towers.push(t.encode());
            }
            w.varying_bytes(&annotation_bytes(&e.annotation));
        }
        for t in towers {
            let len = u32::try_from(t.len()).unwrap_or(u32::MAX);
            w.u32(len); // conformance (size_is(tower_length))
            w.u32(len); // tower_length
            w.bytes(&t);
        }
        w.u32(self.status);
        w.into_bytes()
    }

    /// Decodes a response stub. `num_ents` must equal the array's `actual_count`,
    /// which is checked against [`MAX_ENTRIES_PER_RESPONSE`] and the bytes present
    /// before anything is allocated; each `tower_length` is checked against
    /// [`MAX_TOWER_LEN`] and the bytes present.
    pub fn decode(stub: &[u8], rep: IntRep) -> Result<Self, WireError> {
        let mut r = NdrReader::new(stub, rep);
        let entry_handle = r.context_handle("entry_handle")?;
        let num_ents = r.u32("num_ents")?;
        let bounds = r.conformant_varying("entries", MAX_ENTRIES_PER_RESPONSE, ENTRY_MIN_LEN)?;
        if num_ents as usize != bounds.actual_count {
            return Err(WireError::invalid(
                "num_ents",
                format!(
                    "{num_ents} but the entry array carries {}",
                    bounds.actual_count
                ),
            ));
        }
        let mut inline = Vec::with_capacity(bounds.actual_count);
        for _ in 0..bounds.actual_count {
            let object = r.uuid("ept_entry.object")?;
            let tower_ref = r.pointer("ept_entry.tower")?;
            let annotation = annotation_text(r.varying_bytes("annotation", MAX_ANNOTATION_LEN)?);
            inline.push((object, tower_ref, annotation));
        }
        // Deferred towers, in entry order; a repeated full-pointer referent id refers
        // to a tower already transmitted.
        let mut seen: HashMap<u32, Tower> = HashMap::new();
        let mut entries = Vec::with_capacity(inline.len());
        for (object, tower_ref, annotation) in inline {
            let tower = match tower_ref {
                None => None,
                Some(id) => match seen.get(&id) {
                    Some(t) => Some(t.clone()),
                    None => {
                        let t = read_twr(&mut r)?;
                        seen.insert(id, t.clone());
                        Some(t)
                    }
                },
            };
            entries.push(EptEntry {
                object,
                tower,
                annotation,
            });
        }
        let status = r.u32("status")?;
        Ok(LookupResponse {
            entry_handle,
            entries,
            status,
        })
    }
}

/// Reads one `twr_t`: conformance, `tower_length`, then the octet string.
fn read_twr(r: &mut NdrReader<'_>) -> Result<Tower, WireError> {
    let max_count = r.conformance("twr_t conformance", MAX_TOWER_LEN, 1)?;
    let len = r.u32("tower_length")? as usize;
    check_cap("tower_length", len, MAX_TOWER_LEN)?;
    if len != max_count {
        return Err(WireError::invalid(
            "tower_length",
            format!("{len} differs from the array size {max_count}"),
        ));
    }
    let bytes = r.take(len, "tower_octet_string")?;
    Tower::decode(bytes)
}

fn annotation_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

/// The annotation as sent: at most 63 bytes (cut on a character boundary) + NUL.
fn annotation_bytes(s: &str) -> Vec<u8> {
    let text = s.split('\0').next().unwrap_or_default();
    let mut end = text.len().min(EPT_MAX_ANNOTATION_SIZE - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut v = text.as_bytes().get(..end).unwrap_or_default().to_vec();
    v.push(0);
    v
}
