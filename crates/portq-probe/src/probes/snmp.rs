//! SNMP (161/udp): an SNMPv2c GET of sysDescr.0 and sysName.0 with the configured
//! community. An agent drops a request with a wrong community silently, so silence
//! is "listening or filtered".

use portq_wire::{WireError, snmp};

use super::{ProbeContext, UdpProbe};
use crate::finding::Evidence;

pub(crate) struct Snmp;

impl UdpProbe for Snmp {
    fn protocol(&self) -> &'static str {
        "SNMP"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        let id = (ctx.nonce & 0x7fff_ffff) as i32;
        snmp::system_get_request(snmp::Version::V2c, ctx.snmp_community.as_bytes(), id)
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let m = snmp::decode(reply)?;
        let sys_descr = m
            .get(snmp::SYS_DESCR)
            .filter(|v| matches!(v, snmp::Value::OctetString(_)))
            .map(|v| super::io::clean_text(v.to_string().as_bytes(), 200));
        Ok(Evidence::Snmp { sys_descr })
    }
    fn always_answers(&self) -> bool {
        false
    }
}
