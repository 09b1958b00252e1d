//! RADIUS authentication (1812/udp, legacy 1645/udp): portq's stand-in Access-Request.
//! A server that takes requests from this address answers (an Access-Reject, most
//! likely: portq has no shared secret); one that does not know this address drops it
//! silently, so silence is "listening or filtered", never a failure.

use portq_wire::{WireError, radius};

use super::{ProbeContext, UdpProbe};
use crate::finding::Evidence;

pub(crate) struct Radius;

impl UdpProbe for Radius {
    fn protocol(&self) -> &'static str {
        "RADIUS"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        let n = ctx.nonce.to_be_bytes();
        let mut authenticator = [0u8; 16];
        for (i, b) in authenticator.iter_mut().enumerate() {
            *b = n[i % 4] ^ (i as u8).wrapping_mul(0x9d);
        }
        radius::access_request(n[3], authenticator, "portq-probe")
    }
    fn decode(&self, reply: &[u8], ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let h = radius::decode(reply)?;
        let asked = ctx.nonce.to_be_bytes()[3];
        if h.identifier != asked || h.code == radius::ACCESS_REQUEST {
            return Err(WireError::Unexpected {
                what: "RADIUS reply to portq's request",
                got: format!("code {} identifier {}", h.code, h.identifier),
            });
        }
        Ok(Evidence::Radius {
            code: h.code,
            code_name: radius::code_name(h.code).to_owned(),
        })
    }
    fn always_answers(&self) -> bool {
        false
    }
}
