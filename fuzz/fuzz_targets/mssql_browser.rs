//! SQL Server Browser replies on arbitrary bytes: `mssql::decode` never panics, nor do
//! the summary and instance formatting; instance-name requests build or refuse cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::mssql;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = mssql::decode(data) {
        assert!(r.instances.len() <= mssql::MAX_INSTANCES);
        let _ = (r.summary(), format!("{r:?}"));
        for i in &r.instances {
            let _ = i.to_string();
            let _ = mssql::ucast_inst_request(&i.instance_name);
        }
    }
    if let Ok(name) = std::str::from_utf8(data)
        && let Ok(req) = mssql::ucast_inst_request(name)
    {
        assert_eq!(req.first(), Some(&mssql::CLNT_UCAST_INST));
    }
});
