//! `dns::decode` on arbitrary bytes: never panics, the summary never panics, every
//! unescaped name re-encodes and reads back equal, and a single-question message
//! re-encodes (as a query) to one with the same id and question.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::dns;

fn name_round_trip(name: &str) {
    // read_name escapes '.', '\' and non-printable octets; encode_name takes text as is.
    if name.contains('\\') {
        return;
    }
    let wire = dns::encode_name(name).expect("a decoded name encodes");
    let (back, end) = dns::read_name(&wire, 0).expect("an encoded name reads back");
    // Messages show the root as "."; read_name returns it as "".
    assert_eq!(back, if name == "." { "" } else { name });
    assert_eq!(end, wire.len());
}

fuzz_target!(|data: &[u8]| {
    let _ = dns::read_name(data, 0);
    let Ok(m) = dns::decode(data) else {
        return;
    };
    let _ = (m.summary(), format!("{m:?}"), m.header.opcode_name());
    let records = m.answers.iter().chain(&m.authority).chain(&m.additional);
    for r in records {
        let _ = r.to_string();
        name_round_trip(&r.name);
    }
    for q in &m.questions {
        name_round_trip(&q.name);
    }
    if let [q] = &m.questions[..]
        && q.qclass == dns::CLASS_IN
        && !q.name.contains('\\')
    {
        let bytes = dns::query(m.header.id, &q.name, q.qtype, m.header.rd)
            .expect("a decoded question encodes");
        let again = dns::decode(&bytes).expect("a re-encoded query decodes");
        assert_eq!(again.header.id, m.header.id);
        assert_eq!(again.header.rd, m.header.rd);
        assert_eq!(again.questions, m.questions);
    }
});
