//! `ntp::decode` on arbitrary bytes: never panics, nor do the summary and the
//! timestamp conversions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::ntp;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = ntp::decode(data) {
        let _ = (
            r.summary(),
            format!("{r:?}"),
            r.mode.to_string(),
            r.leap.to_string(),
        );
        let _ = r.reference_id.to_string();
        for t in [r.reference, r.origin, r.receive, r.transmit] {
            let _ = (t.seconds(), t.unix_seconds());
        }
    }
});
