//! DNS (53/udp): a non-recursive query for the SOA of the AD domain when known, else
//! of the root zone. Every DNS server answers it (if only with REFUSED or FORMERR),
//! and the answer never needs recursion.

use portq_wire::{WireError, dns};

use super::{ProbeContext, UdpProbe};
use crate::finding::Evidence;

pub(crate) struct Dns;

impl UdpProbe for Dns {
    fn protocol(&self) -> &'static str {
        "DNS"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        let id = ctx.nonce as u16;
        dns::query(id, asked(ctx), dns::RecordType::SOA, false)
            .ok()
            // The root name always encodes; the empty fallback cannot happen.
            .or_else(|| dns::query(id, ".", dns::RecordType::SOA, false).ok())
            .unwrap_or_default()
    }
    fn decode(&self, reply: &[u8], ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let m = dns::decode(reply)?;
        if !m.header.qr {
            return Err(WireError::Unexpected {
                what: "DNS response",
                got: "a query".into(),
            });
        }
        Ok(Evidence::Dns {
            rcode: m.header.rcode.code(),
            rcode_name: m.header.rcode.name().to_string(),
            answers: m.header.ancount,
            asked: asked(ctx).to_owned(),
        })
    }
    fn always_answers(&self) -> bool {
        true
    }
}

/// The zone whose SOA is asked: the AD domain when known (a DC's DNS serves it), else
/// the root. A name that does not encode falls back to the root, and says so.
fn asked(ctx: &ProbeContext) -> &str {
    match ctx.domain.as_deref() {
        Some(d) if dns::query(0, d, dns::RecordType::SOA, false).is_ok() => d,
        _ => ".",
    }
}
