//! X.224 Connection Confirm on arbitrary bytes: `decode_connection_confirm` never
//! panics, nor do the summary and the protocol and failure-code names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::rdp::{self, FailureCode, Negotiation, SelectedProtocol};

fuzz_target!(|data: &[u8]| {
    let Ok(c) = rdp::decode_connection_confirm(data) else {
        return;
    };
    let _ = (c.summary(), format!("{c:?}"));
    match c.negotiation {
        Negotiation::Response { selected, .. } => {
            let _ = selected.to_string();
            if let SelectedProtocol::Other(n) = selected {
                assert_eq!(SelectedProtocol::from_u32(n), selected);
            }
        }
        Negotiation::Failure(code) => {
            let _ = (code.name(), code.to_string());
            if let FailureCode::Other(n) = code {
                assert_eq!(FailureCode::from_u32(n), code);
            }
        }
        Negotiation::None => {}
    }
});
