//! IKE replies on arbitrary bytes: `ike::decode` never panics, nor do the summary,
//! version, transform text and the notify and vendor-ID name tables.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::ike;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = ike::decode(data) else {
        return;
    };
    assert!(r.payloads.len() <= ike::MAX_PAYLOADS);
    assert!(r.vendor_ids.len() <= ike::MAX_VENDOR_IDS);
    let _ = (r.summary(), r.version(), r.transform_text(), r.to_string());
    let _ = (r.header.exchange_name(), format!("{r:?}"));
    for n in &r.notifies {
        let _ = ike::notify_name(r.header.major, n.notify_type);
    }
    for v in &r.vendor_ids {
        assert!(v.len() <= ike::MAX_VENDOR_ID_LEN);
        let _ = ike::vendor_id_name(v);
    }
});
