//! Sans-I/O codecs for the protocols portq speaks.
//!
//! Place in the data flow (ARCHITECTURE.md): inside *run*, the bytes a probe sends and
//! the typed answer it decodes into a finding's evidence.
//!
//! Every message type here is plain data with an `encode` that produces bytes and a
//! `decode` that takes untrusted bytes and returns either the value or a [`WireError`].
//! Nothing in this crate opens a socket, reads a clock or allocates from a length it
//! has not checked against the bytes present and against a sane cap.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod reader;

pub mod dcerpc;
pub mod epm;
pub mod ndr;

pub mod ber;
pub mod dns;
pub mod ike;
pub mod kerberos;
pub mod ldap;
pub mod mssql;
pub mod netbios;
pub mod ntp;
pub mod radius;
pub mod rdp;
pub mod smb2;
pub mod snmp;

pub use error::WireError;
