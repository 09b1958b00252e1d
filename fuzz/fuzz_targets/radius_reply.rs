//! `radius::decode` on arbitrary bytes: never panics, and the code name of whatever
//! code it reads is a name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::radius;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = radius::decode(data) {
        let _ = (radius::code_name(h.code), format!("{h:?}"));
        assert!(usize::from(h.length) <= data.len());
    }
});
