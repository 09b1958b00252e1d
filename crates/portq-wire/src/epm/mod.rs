//! The DCE/RPC endpoint mapper (EPM) interface
//! `e1af8308-5d1f-11c9-91a4-08002b14a0fa` v3.0: the `ept_lookup` call portq uses to
//! list registered endpoints, and the protocol towers that describe each endpoint.

mod lookup;
pub mod tower;

#[cfg(test)]
mod tests;

pub use lookup::{
    EPT_LOOKUP_OPNUM, EPT_MAX_ANNOTATION_SIZE, EPT_S_NOT_REGISTERED, EptEntry, LookupRequest,
    LookupResponse, MAX_ANNOTATION_LEN, MAX_ENTRIES_PER_RESPONSE, MAX_TOWER_LEN, RPC_C_EP_ALL_ELTS,
    RPC_C_VERS_ALL,
};
pub use tower::{Floor, MAX_FLOORS, Tower};

use uuid::Uuid;

use crate::dcerpc::SyntaxId;

/// The endpoint mapper interface, v3.0.
pub const EPM_INTERFACE: SyntaxId = SyntaxId::new(
    Uuid::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa),
    3,
    0,
);

/// The well-known endpoint-mapper TCP port.
pub const EPM_TCP_PORT: u16 = 135;

/// A sensible page size for `ept_lookup` (`max_ents`).
pub const DEFAULT_MAX_ENTS: u32 = 500;
