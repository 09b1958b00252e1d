//! `roles::parse_selection` on arbitrary text (one `--role` value per line), then
//! `roles::expand` on what parsed: never panics; every expanded entry points at a
//! catalogue requirement and names the roles and directions that need it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_catalog::roles;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut selections = Vec::new();
    for line in text.split('\n').take(8) {
        let _ = roles::find(line);
        match roles::parse_selection(line) {
            Ok(s) => {
                for o in &s.options {
                    assert!(s.role.options.iter().any(|ro| ro.id == *o));
                }
                selections.push(s);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let reqs = portq_catalog::requirements();
    for e in roles::expand(&selections) {
        assert!(e.index < reqs.len());
        assert!(std::ptr::eq(e.requirement, &reqs[e.index]));
        assert!(!e.roles.is_empty() && !e.directions.is_empty());
    }
});
