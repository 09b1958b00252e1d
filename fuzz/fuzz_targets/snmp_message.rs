//! SNMP messages on arbitrary bytes: `decode_message` and `decode` never panic, nor do
//! the summary and value formatting; the message's header and variable names re-encode
//! (as a GetRequest) to one that decodes to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::snmp::{self, PduType, Value, Version};

fuzz_target!(|data: &[u8]| {
    let _ = snmp::decode(data);
    let Ok(m) = snmp::decode_message(data) else {
        return;
    };
    let _ = (m.summary(), format!("{m:?}"), m.get(snmp::SYS_DESCR));
    for v in &m.varbinds {
        let _ = (v.oid.to_string(), v.value.to_string());
    }
    let version = match m.version {
        0 => Version::V1,
        _ => Version::V2c,
    };
    let Ok(id) = i32::try_from(m.request_id) else {
        return;
    };
    let oids: Vec<_> = m.varbinds.iter().map(|v| v.oid.clone()).collect();
    let bytes = snmp::get_request(version, &m.community, id, &oids);
    let again = snmp::decode_message(&bytes).expect("a re-encoded GetRequest decodes");
    assert_eq!(again.version, m.version);
    assert_eq!(again.community, m.community);
    assert_eq!(again.request_id, m.request_id);
    assert_eq!(again.pdu_type, PduType::GetRequest);
    assert!(again.varbinds.iter().all(|v| v.value == Value::Null));
    assert_eq!(
        again.varbinds.iter().map(|v| &v.oid).collect::<Vec<_>>(),
        oids.iter().collect::<Vec<_>>()
    );
    // A GetRequest with only NULL values is exactly what get_request writes.
    if m.pdu_type == PduType::GetRequest
        && m.error_index == 0
        && m.varbinds.iter().all(|v| v.value == Value::Null)
        && again.error_status == m.error_status
    {
        assert_eq!(again, m);
    }
});
