//! The BER reader walking every TLV of arbitrary bytes, descending into constructed
//! elements up to the depth cap: never panics; every element re-encodes (shortest
//! form) to bytes that read back as the same tag and value; integers, OIDs and
//! booleans that decode re-encode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::ber::{self, Ber, Oid, Tlv};

fn check_element(tlv: &Tlv<'_>) {
    let again = ber::tlv(tlv.tag, tlv.value);
    assert_eq!(ber::element_len(&again).ok().flatten(), Some(again.len()));
    let back = Ber::new(&again)
        .read()
        .expect("a re-encoded element reads back");
    assert_eq!((back.tag, back.value), (tlv.tag, tlv.value));
    let _ = (tlv.tag.to_string(), tlv.as_text(), tlv.as_u64());
    if let Ok(v) = tlv.as_i64() {
        let enc = ber::integer(v);
        assert_eq!(Ber::new(&enc).read().and_then(|t| t.as_i64()).ok(), Some(v));
        let enc = ber::unsigned(v.unsigned_abs());
        let back = Ber::new(&enc).read().and_then(|t| t.as_u64()).ok();
        assert_eq!(back, Some(v.unsigned_abs()));
    }
    if let Ok(b) = tlv.as_bool() {
        let enc = ber::boolean(b);
        assert_eq!(
            Ber::new(&enc).read().and_then(|t| t.as_bool()).ok(),
            Some(b)
        );
    }
    if let Ok(oid) = tlv.as_oid() {
        assert_eq!(
            Oid::decode_value(&oid.encode_value()).ok(),
            Some(oid.clone())
        );
        assert_eq!(Oid::parse(&oid.to_string()).ok(), Some(oid));
    }
}

fn walk(mut r: Ber<'_>, budget: &mut usize) {
    while !r.is_empty() && *budget > 0 {
        *budget -= 1;
        let _ = r.peek_tag();
        let Ok(tlv) = r.read() else {
            return;
        };
        check_element(&tlv);
        if let Ok(inner) = tlv.contents() {
            assert_eq!(inner.depth(), r.depth() + 1);
            walk(inner, budget);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = ber::element_len(data);
    let mut budget = 10_000;
    walk(Ber::new(data), &mut budget);
});
