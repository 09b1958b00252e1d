//! The probe for UDP ports without a protocol of their own: an empty datagram.

use portq_wire::WireError;

use super::{ProbeContext, UdpProbe};
use crate::finding::Evidence;

/// An empty datagram; any reply proves the port listening.
pub(crate) struct Empty;

impl UdpProbe for Empty {
    fn protocol(&self) -> &'static str {
        "UDP"
    }
    fn request(&self, _ctx: &ProbeContext) -> Vec<u8> {
        Vec::new()
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        Ok(Evidence::UdpReply { bytes: reply.len() })
    }
    fn always_answers(&self) -> bool {
        false
    }
}
