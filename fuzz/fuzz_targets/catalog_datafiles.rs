//! The build script's data-file parser (`crates/portq-catalog/src/datafile.rs`, included
//! here exactly as `build.rs` includes it) on arbitrary text. The input is split on NUL
//! bytes into services.toml, requirements.csv, roles.toml, rpc-interfaces.csv,
//! rpc-services.csv, iana-service-ports.csv and documents.toml (missing parts are empty). Never
//! panics; whatever it returns is consistent enough to generate code from: every index
//! points into its table, IANA text slices lie inside the text, and rows are sorted.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/portq-catalog/src/datafile.rs"]
mod datafile;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0).map(String::from_utf8_lossy);
    let mut next = || parts.next().unwrap_or_default();
    let (services, requirements, roles) = (next(), next(), next());
    let (rpc_interfaces, rpc_services, iana) = (next(), next(), next());
    let documents = next();
    let (c, errors) = datafile::parse_all(&datafile::Sources {
        services: &services,
        requirements: &requirements,
        roles: &roles,
        rpc_interfaces: &rpc_interfaces,
        rpc_services: &rpc_services,
        iana: &iana,
        documents: &documents,
    });
    for e in &errors {
        assert!(!e.is_empty());
    }
    for r in &c.requirements {
        assert!(r.service < c.services.len());
        if let Some((a, b)) = r.ports {
            assert!(a >= 1 && a <= b);
        }
        assert_eq!(r.ports.is_some(), matches!(r.transport, "Tcp" | "Udp"));
        for cite in &r.citations {
            assert!(cite.document < c.documents.len());
        }
    }
    for role in &c.roles {
        for rr in &role.requirements {
            assert!(rr.requirement < c.requirements.len());
        }
    }
    for w in c.rpc.windows(2) {
        assert!((w[0].uuid, w[0].version) <= (w[1].uuid, w[1].version));
    }
    for r in &c.rpc {
        assert!(r.service.is_none_or(|s| s < c.services.len()));
    }
    let text = &c.iana.text;
    for (a, b, _, name, desc) in &c.iana.rows {
        assert!(a <= b);
        for (off, len) in [name, desc] {
            let start = *off as usize;
            assert!(text.get(start..start + usize::from(*len)).is_some());
        }
    }
    for w in c.iana.rows.windows(2) {
        assert!((w[0].0, w[0].1, w[0].2) <= (w[1].0, w[1].1, w[1].2));
    }
});
