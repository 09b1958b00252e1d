//! NetBIOS name service (137/udp): a node status request for `*`, answered with the
//! registered names and the adapter's MAC address.

use portq_wire::{WireError, netbios};

use super::{ProbeContext, UdpProbe};
use crate::finding::{Evidence, NetBiosName};

pub(crate) struct Nbns;

impl UdpProbe for Nbns {
    fn protocol(&self) -> &'static str {
        "NetBIOS name service"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        netbios::node_status_request(ctx.nonce as u16)
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let s = netbios::decode_node_status(reply)?;
        let mac = if s.unit_id == [0u8; 6] {
            None
        } else {
            Some(s.mac())
        };
        Ok(Evidence::NetBios {
            names: s
                .names
                .iter()
                .map(|n| NetBiosName {
                    name: n.name.clone(),
                    suffix: n.suffix,
                    group: n.group(),
                })
                .collect(),
            mac,
        })
    }
    fn always_answers(&self) -> bool {
        true
    }
}
