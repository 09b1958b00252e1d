//! `PortSpec::parse` on arbitrary text: never panics; a parsed spec is sorted,
//! non-overlapping ranges of ports 1-65535, its canonical form parses back equal, and
//! its count, membership test and iterator agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_probe::{PortSpec, Transport};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = PortSpec::parse(text) else {
        return;
    };
    assert!(!spec.is_empty());
    let mut total = 0u32;
    for t in [Transport::Tcp, Transport::Udp] {
        let ranges = spec.ranges(t);
        for r in ranges {
            assert!(r.start >= 1 && r.start <= r.end);
            assert!(spec.contains(t, r.start) && spec.contains(t, r.end));
            total += r.len();
        }
        for w in ranges.windows(2) {
            assert!(w[0].end < w[1].start, "unsorted or overlapping: {spec:?}");
        }
    }
    assert_eq!(spec.count(), total);
    let canonical = spec.to_string();
    assert_eq!(
        PortSpec::parse(&canonical).ok(),
        Some(spec.clone()),
        "{canonical}"
    );
    if total <= 4096 {
        assert_eq!(spec.iter().count(), total as usize);
    }
});
