//! The Windows service and port catalogue, compiled in.
//!
//! Place in the data flow (ARCHITECTURE.md): the facts a *plan* is made of, consulted
//! once per question; no I/O, no decisions about hosts.
//!
//! The facts come from Microsoft's "Service overview and network port requirements for
//! Windows" (KB 832017) and related articles, kept as human-editable files under `data/`
//! and turned into Rust statics by `build.rs`, which validates them. Nothing here does
//! I/O at run time except [`services_file`], which reads the machine's own services file
//! only when asked.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod abbrev;
pub mod addr;
mod generated;
pub mod iana;
pub mod model;
pub mod query;
pub mod roles;
pub mod rpc;
pub mod search;
pub mod services_file;

pub use model::{
    Citation, Direction, Disagreement, Document, DocumentId, PortRange, Qualifier, Requirement,
    Role, RoleOption, RoleRequirement, Service, ServiceId, Transport,
};
pub use query::{Query, QueryError};
pub use search::{Hit, Origin, SearchOptions, SearchResult};

/// The newest date among the documents the catalogue cites (`YYYY-MM-DD`), or
/// `undated`: how fresh the facts are, for `portq version` and the console's footer.
pub fn newest_document_date() -> &'static str {
    documents()
        .iter()
        .map(|d| d.date)
        .filter(|d| !d.is_empty())
        .max()
        .unwrap_or("undated")
}

/// The service id, short name or alias closest to `name` when one is close (a typo of
/// it), for "did you mean" answers.
pub fn closest_service_name(name: &str) -> Option<&'static str> {
    let want = name.trim().to_lowercase();
    services()
        .iter()
        .flat_map(|s| {
            std::iter::once(s.id)
                .chain(s.service_name.split(';'))
                .chain(s.aliases.iter().copied())
        })
        .filter(|n| !n.is_empty())
        .map(|n| (strsim::jaro_winkler(&want, &n.to_lowercase()), n))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// Every document the catalogue cites, in data-file order (`data/documents.toml`).
pub fn documents() -> &'static [Document] {
    generated::DOCUMENTS
}

/// Every service of the catalogue, in data-file order.
pub fn services() -> &'static [Service] {
    generated::SERVICES
}

/// Every requirement (service × port × transport) of the catalogue, in data-file order.
pub fn requirements() -> &'static [Requirement] {
    generated::REQUIREMENTS
}

/// Every requirement sorted by port (then range end, transport and service), the order
/// of the article's "Ports and protocols" table; ICMP and IP protocols come first.
pub fn requirements_by_port() -> Vec<&'static Requirement> {
    let mut reqs: Vec<&'static Requirement> = requirements().iter().collect();
    reqs.sort_by_key(|r| {
        (
            r.ports.map(|p| (p.start, p.end)).unwrap_or((0, 0)),
            r.transport,
            r.service().name.to_lowercase(),
        )
    });
    reqs
}

/// Every server role.
pub fn roles() -> &'static [Role] {
    generated::ROLES
}

/// The documents (shortest form, `KB 832017, 2023-12-26`) that the requirements of a
/// service on one transport, on these ports (any, when empty), cite, each once, joined
/// with `; `; empty for an id that is not a catalogue service. Firewall rules name them
/// in their comments.
pub fn sources_of(service_id: &str, transport: Transport, ports: &[PortRange]) -> String {
    let mut seen: Vec<&'static str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for r in requirements() {
        if r.service().id != service_id || r.transport != transport {
            continue;
        }
        if !ports.is_empty()
            && !r
                .ports
                .is_some_and(|p| ports.iter().any(|q| q.overlaps(&p)))
        {
            continue;
        }
        for c in r.citations {
            let d = c.document();
            if !seen.contains(&d.id) {
                seen.push(d.id);
                out.push(d.short());
            }
        }
    }
    out.join("; ")
}
