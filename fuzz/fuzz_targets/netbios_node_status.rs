//! NBNS node status replies on arbitrary bytes: `decode_node_status` never panics, nor
//! do its accessors; first-level name encoding round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::netbios;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = netbios::decode_node_status(data) {
        let _ = (s.summary(), s.mac(), s.computer_name(), s.domain());
        let _ = (s.is_domain_controller(), format!("{s:?}"));
        for n in &s.names {
            let _ = (n.to_string(), n.group(), n.active(), n.conflict());
            let _ = (n.node_type(), n.meaning());
        }
    }
    // The encoded question name sits at offset 13 of a reply (after the header and
    // its length octet); any 32 bytes are a candidate.
    for chunk in [data.get(13..45), data.get(..32)].into_iter().flatten() {
        if let Ok(raw) = netbios::first_level_decode(chunk) {
            let enc = netbios::first_level_encode(&raw);
            assert_eq!(netbios::first_level_decode(&enc).ok(), Some(raw));
        }
    }
});
