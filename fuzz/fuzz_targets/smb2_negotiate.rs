//! SMB2 NEGOTIATE replies on arbitrary bytes: `decode_negotiate_response` (framed) and
//! `decode_negotiate_payload` never panic, nor do the summaries and name tables; the
//! payload wrapped in a session header decodes the same as the bare payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::{netbios, smb2};

fn look(r: &smb2::NegotiateReply) {
    let _ = (r.summary(), format!("{r:?}"));
    if let smb2::NegotiateReply::Smb2(n) = r {
        let _ = (
            n.summary(),
            n.signing_enabled(),
            n.signing_required(),
            n.cipher(),
        );
        let _ = (n.dialect.name(), n.dialect.to_string());
        assert_eq!(smb2::Dialect::from_u16(n.dialect.code()), n.dialect);
        let _ = smb2::capability_names(n.capabilities);
        for c in &n.contexts {
            let _ = c.type_name();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = smb2::decode_negotiate_response(data) {
        look(&r);
    }
    if let Ok(r) = smb2::decode_negotiate_payload(data) {
        look(&r);
        if data.len() <= netbios::MAX_SESSION_PAYLOAD {
            let framed = netbios::session_message(data).expect("a payload under the cap wraps");
            assert_eq!(smb2::decode_negotiate_response(&framed).ok(), Some(r));
        }
    }
});
