//! Kerberos replies on arbitrary bytes: `decode` (UDP), `decode_tcp` (length-prefixed)
//! and `decode_kpasswd_reply` never panic; summaries never panic; the TCP framing
//! round-trips (payload -> frame -> payload).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::kerberos;

fn look(r: &kerberos::KdcReply) {
    let _ = (r.summary(), format!("{r:?}"));
    if let kerberos::KdcReply::Error(e) = r {
        let _ = (e.summary(), e.error_code.name(), e.error_code.to_string());
        let _ = (
            e.stime.unix_seconds(),
            e.ctime.as_ref().map(|t| t.unix_seconds()),
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = kerberos::decode(data) {
        look(&r);
        // The same message framed for TCP decodes the same.
        let framed = kerberos::tcp_frame(data);
        assert_eq!(kerberos::decode_tcp(&framed).ok(), Some(r));
    }
    let _ = kerberos::decode_krb_error(data);
    if let Ok(r) = kerberos::decode_tcp(data) {
        look(&r);
    }
    if let Ok(Some(n)) = kerberos::tcp_record_len(data) {
        assert!(n >= 4);
    }
    if let Ok(p) = kerberos::tcp_payload(data) {
        let framed = kerberos::tcp_frame(p);
        assert_eq!(kerberos::tcp_payload(&framed).ok(), Some(p));
    }
    if let Ok(k) = kerberos::decode_kpasswd_reply(data) {
        let _ = (k.summary(), format!("{k:?}"));
    }
});
