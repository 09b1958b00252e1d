//! IKE (500/udp): the first message of an IKEv1 Main Mode. A responder answers with
//! its chosen proposal or a notification (e.g. NO_PROPOSAL_CHOSEN); it may also stay
//! silent on a proposal it dislikes, so silence is "listening or filtered".

use portq_wire::{WireError, ike};

use super::{ProbeContext, UdpProbe};
use crate::finding::Evidence;

pub(crate) struct Ike;

impl UdpProbe for Ike {
    fn protocol(&self) -> &'static str {
        "IKE"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        let mut cookie = [0u8; 8];
        cookie[..4].copy_from_slice(&ctx.nonce.to_be_bytes());
        cookie[4..].copy_from_slice(&super::nonce().to_be_bytes());
        ike::main_mode_request(cookie)
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let r = ike::decode(reply)?;
        let mut detail = r.header.exchange_name().to_string();
        let notes: Vec<&str> = r
            .notifies
            .iter()
            .map(|n| ike::notify_name(r.header.major, n.notify_type))
            .collect();
        if !notes.is_empty() {
            detail.push_str(": ");
            detail.push_str(&notes.join(", "));
        } else if let Some(t) = r.transform_text() {
            detail.push_str(", ");
            detail.push_str(&t);
        }
        Ok(Evidence::Ike {
            version: r.header.major,
            detail,
        })
    }
    fn always_answers(&self) -> bool {
        false
    }
}
