//! NTP (123/udp): a client-mode request; a server answers in server mode.

use portq_wire::{WireError, ntp};

use super::{ProbeContext, UdpProbe};
use crate::finding::Evidence;

pub(crate) struct Ntp;

impl UdpProbe for Ntp {
    fn protocol(&self) -> &'static str {
        "NTP"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        ntp::client_request(u64::from(ctx.nonce) << 16)
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let r = ntp::decode(reply)?;
        if !matches!(r.mode, ntp::Mode::Server | ntp::Mode::SymmetricPassive) {
            // An echo of our own request, or something else that is not a server reply.
            return Err(WireError::Unexpected {
                what: "NTP server reply",
                got: format!("mode {}", r.mode),
            });
        }
        Ok(Evidence::Ntp {
            version: r.version,
            stratum: r.stratum,
            reference_id: r.reference_id.to_string(),
        })
    }
    fn always_answers(&self) -> bool {
        true
    }
}
