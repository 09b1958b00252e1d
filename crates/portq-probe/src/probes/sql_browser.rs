//! SQL Server Browser (1434/udp): CLNT_UCAST_EX, answered with every instance.

use portq_wire::{WireError, mssql};

use super::{ProbeContext, UdpProbe};
use crate::finding::{Evidence, SqlInstance};

pub(crate) struct SqlBrowser;

impl UdpProbe for SqlBrowser {
    fn protocol(&self) -> &'static str {
        "SQL Server Browser"
    }
    fn request(&self, _ctx: &ProbeContext) -> Vec<u8> {
        mssql::ucast_ex_request()
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let r = mssql::decode(reply)?;
        Ok(Evidence::SqlBrowser {
            instances: r
                .instances
                .iter()
                .map(|i| SqlInstance {
                    name: i.instance_name.clone(),
                    version: (!i.version.is_empty()).then(|| i.version.clone()),
                    tcp_port: i.tcp_port,
                })
                .collect(),
        })
    }
    fn always_answers(&self) -> bool {
        true
    }
}
