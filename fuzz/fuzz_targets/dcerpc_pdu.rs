//! `Pdu::decode` on arbitrary bytes: never panics, and whatever decodes re-encodes
//! to bytes that decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::dcerpc::{Pdu, frag_length_of};

fuzz_target!(|data: &[u8]| {
    let _ = frag_length_of(data);
    if let Ok(pdu) = Pdu::decode(data) {
        let bytes = pdu.encode();
        let again = Pdu::decode(&bytes).expect("a re-encoded PDU decodes");
        assert_eq!(again, pdu);
    }
});
