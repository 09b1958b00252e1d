//! `services_file::parse` on arbitrary text, then `search::lookup_services_file`: never
//! panics; every parsed entry is found again by its own port and by its own name; the
//! first line, read as a query, looks up cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_catalog::search::lookup_services_file;
use portq_catalog::services_file;
use portq_catalog::{PortRange, Query};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let entries = services_file::parse(&text);
    for e in entries.iter().take(8) {
        let by_port = Query::Ports {
            range: PortRange::single(e.port),
            transport: None,
        };
        assert!(!lookup_services_file(&by_port, &entries).is_empty());
        let by_name = Query::Text(e.name.clone());
        assert!(!lookup_services_file(&by_name, &entries).is_empty());
    }
    if let Some(first) = text.lines().next()
        && let Ok(q) = Query::parse(first)
    {
        for h in lookup_services_file(&q, &entries) {
            let _ = (h.origin(), h.ports(), h.protocol(), h.service(), h.notes());
        }
    }
});
