//! `ept_lookup` stubs on arbitrary bytes, in either integer order: never panics, and
//! a decoded response re-encodes to one that decodes equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::epm::{EPT_MAX_ANNOTATION_SIZE, LookupRequest, LookupResponse};
use portq_wire::ndr::IntRep;

fuzz_target!(|data: &[u8]| {
    let Some((&flag, stub)) = data.split_first() else {
        return;
    };
    let rep = if flag & 1 == 0 {
        IntRep::LittleEndian
    } else {
        IntRep::BigEndian
    };
    let _ = LookupRequest::decode(stub, rep);
    if let Ok(resp) = LookupResponse::decode(stub, rep) {
        // Encoding cuts annotations to the IDL size; compare only when none is cut.
        if resp
            .entries
            .iter()
            .all(|e| e.annotation.len() < EPT_MAX_ANNOTATION_SIZE)
        {
            let again = LookupResponse::decode(&resp.encode_with(rep), rep)
                .expect("a re-encoded response decodes");
            assert_eq!(again, resp);
        }
    }
});
