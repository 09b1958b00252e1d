//! LDAP messages on arbitrary bytes: `decode_message`, `decode_messages`,
//! `decode_search_reply`, `decode_rootdse_reply` and `decode_netlogon_ping_reply` never
//! panic; the length prefix agrees with the decoder; a SearchRequest re-encodes to one
//! with the same base and attributes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::ldap::{self, Filter, ProtocolOp, Scope};

fuzz_target!(|data: &[u8]| {
    let len = ldap::ldap_message_len_checked(data);
    assert_eq!(ldap::ldap_message_len(data), len.clone().ok().flatten());
    if let Ok((m, used)) = ldap::decode_message(data) {
        assert_eq!(len.ok(), Some(Some(used)));
        if let ProtocolOp::SearchRequest { base, attributes } = &m.op
            && let Ok(id) = i32::try_from(m.id)
        {
            let attrs: Vec<&str> = attributes.iter().map(String::as_str).collect();
            let filter = Filter::Present("objectClass".into());
            let bytes = ldap::search_request(id, base, Scope::BaseObject, &filter, &attrs);
            let (again, n) = ldap::decode_message(&bytes).expect("a re-encoded request decodes");
            assert_eq!(n, bytes.len());
            assert_eq!(again, m);
        }
    }
    if let Ok(all) = ldap::decode_messages(data) {
        assert!(all.len() <= ldap::MAX_MESSAGES);
        let _ = format!("{all:?}");
    }
    if let Ok(r) = ldap::decode_search_reply(data) {
        for e in &r.entries {
            for a in &e.attributes {
                let _ = a.texts();
            }
            let _ = e.first_text("dnsHostName");
        }
        let _ = (r.done.code.name(), r.done.code.to_string());
    }
    if let Ok(root) = ldap::decode_rootdse_reply(data) {
        let _ = (root.summary(), format!("{root:?}"));
    }
    if let Ok(n) = ldap::decode_netlogon_ping_reply(data, ldap::PROBE_NT_VERSION) {
        let _ = (n.summary(), n.flag_names());
    }
});
