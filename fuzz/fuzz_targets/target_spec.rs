//! `TargetSpec::parse` on arbitrary text: never panics, nor does `count`; addresses,
//! blocks and names print to text that parses back to the same spec. Only the parser
//! runs: nothing is resolved and no file is read (`@file` inputs are skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_probe::TargetSpec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.starts_with('@') || text.trim_start().starts_with('@') {
        return;
    }
    let Ok(spec) = TargetSpec::parse(text) else {
        return;
    };
    assert!(spec.count() >= 1);
    let printed = match &spec {
        TargetSpec::Address(ip) => ip.to_string(),
        TargetSpec::Block { first, last } => {
            assert_eq!(first.is_ipv4(), last.is_ipv4());
            format!("{first}-{last}")
        }
        TargetSpec::Name(n) => n.clone(),
    };
    assert_eq!(TargetSpec::parse(&printed).ok(), Some(spec), "{printed}");
});
