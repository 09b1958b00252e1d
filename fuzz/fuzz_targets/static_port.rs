//! `StaticPort::parse` on arbitrary text (one spec per line): never panics; a parsed
//! pin prints as `service=port` and parses back equal; `check_distinct` never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_rules::StaticPort;
use portq_rules::static_port::check_distinct;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut pins = Vec::new();
    for line in text.split('\n').take(16) {
        let Ok(p) = StaticPort::parse(line) else {
            continue;
        };
        assert!(p.port >= 1024);
        let printed = format!("{}={}", p.service.as_str(), p.port);
        assert_eq!(StaticPort::parse(&printed).ok(), Some(p), "{printed}");
        let _ = p.service.catalog_service();
        pins.push(p);
    }
    let _ = check_distinct(&pins);
});
