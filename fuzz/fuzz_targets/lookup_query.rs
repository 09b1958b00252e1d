//! `Query::parse` on arbitrary text, then `search::lookup` on the result with default
//! and with all options: never panics; a port query prints back to itself; every hit's
//! accessors work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_catalog::search::{self, SearchOptions};
use portq_catalog::{Query, Transport};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = Query::parse(text) else {
        return;
    };
    if let Query::Ports { range, transport } = &q {
        assert!(range.start >= 1 && range.start <= range.end);
        let printed = match transport {
            Some(t) => format!("{range}/{}", t.as_str()),
            None => range.to_string(),
        };
        assert_eq!(Query::parse(&printed).ok(), Some(q.clone()), "{printed}");
        assert!(matches!(
            transport,
            None | Some(Transport::Tcp | Transport::Udp)
        ));
    }
    let all = SearchOptions {
        always_iana: true,
        with_ranges: true,
    };
    // The options only change port queries; text queries (the slow, fuzzy path) run once.
    let runs = if matches!(q, Query::Ports { .. }) {
        2
    } else {
        1
    };
    for opts in [SearchOptions::default(), all].into_iter().take(runs) {
        let r = search::lookup(&q, opts);
        let _ = (
            r.wants_services_file(),
            r.did_you_mean.as_deref(),
            r.ranges_left_out,
        );
        for h in r.hits.iter().take(64) {
            let _ = (h.origin().as_str(), h.ports(), h.protocol(), h.service());
            let _ = (h.service_name(), h.application_protocol(), h.notes());
        }
    }
});
