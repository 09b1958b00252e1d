//! NetBIOS session-service packets on arbitrary bytes: `decode_session_reply`,
//! `session_header` and `session_message_payload` never panic, and a session message
//! payload re-wraps to one that unwraps to the same payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::netbios;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = netbios::decode_session_reply(data) {
        let _ = (r.to_string(), format!("{r:?}"));
        if let netbios::SessionReply::Negative(reason) = r {
            assert_eq!(netbios::NegativeReason::from_code(reason.code()), reason);
        }
    }
    let _ = netbios::session_header(data);
    if let Ok(p) = netbios::session_message_payload(data)
        && p.len() <= netbios::MAX_SESSION_PAYLOAD
    {
        let wrapped = netbios::session_message(p).expect("a payload under the cap wraps");
        assert_eq!(netbios::session_message_payload(&wrapped).ok(), Some(p));
    }
});
