//! Catalogue answers as rows: what `lookup`, `services`, `ports`, the console and the
//! rules' explanations show for a requirement, a search hit or a role entry.

use portq_catalog::roles::RoleEntry;
use portq_catalog::search::Hit;
use portq_catalog::{Disagreement, Requirement};
use serde::Serialize;

/// One answer, as JSON and CSV present it.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Friendly service name (IANA or services-file name for fallbacks).
    pub service: String,
    /// Windows service short name; empty when there is none.
    pub service_name: String,
    /// Catalogue service id; null for fallbacks.
    pub service_id: Option<&'static str>,
    /// First port; null for ICMP, GRE, ESP and AH.
    pub port_start: Option<u16>,
    /// Last port (equal to port_start for a single port).
    pub port_end: Option<u16>,
    /// `tcp`, `udp`, `icmp`, `gre`, `esp`, `ah` (IANA may also say `sctp`, `dccp`).
    pub protocol: String,
    /// The application protocol (the IANA description for IANA rows).
    pub application_protocol: String,
    /// `ssl`, `global-catalog`, `rpc-dynamic`, `rpc-legacy-range`, `rpc-endpoint-mapper`, `optional`.
    pub qualifiers: Vec<&'static str>,
    /// True when the port range is the RPC dynamic range.
    pub rpc_dynamic: bool,
    /// Remarks and conditions.
    pub notes: String,
    /// Labels of the article's summary table for this row.
    pub listed_as: Vec<&'static str>,
    /// `catalog`, `iana` or `services-file`.
    pub source: &'static str,
    /// Where a catalogue row's fact comes from (empty for IANA and services-file rows).
    pub citations: Vec<CitationView>,
    /// When two documents disagree about this fact: the topic, and whether this row is current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<Disagreement>,
    /// With --role: who connects (`clients`, `peers`, `management`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directions: Vec<&'static str>,
    /// With --role: the roles that need it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<&'static str>,
    /// With --role: every catalogue service that needs this port and transport.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_ids: Vec<&'static str>,
    /// True when the entry is a wide range that merely contains the port asked about
    /// (context, not an answer of the port's own).
    pub in_range: bool,
}

/// One citation of a row, as JSON presents it.
#[derive(Debug, Clone, Serialize)]
pub struct CitationView {
    /// The document's id in `portq lookup --sources`.
    pub document: &'static str,
    /// The document's title.
    pub title: &'static str,
    /// The Microsoft KB number; empty when it has none.
    pub kb: &'static str,
    /// The section's heading.
    pub section: &'static str,
    /// The document's date (`YYYY-MM-DD`); empty when it carries none.
    pub date: &'static str,
    /// The name the document gives the service for this fact; empty when it is the service's own.
    pub label: &'static str,
    /// Where the document was read: `repository:path`.
    pub path: &'static str,
    /// The same, as one link-free line.
    pub text: String,
    /// The sentence or table cells of the section that state the fact (null where none
    /// is recorded yet).
    pub quote: Option<&'static str>,
}

impl CitationView {
    /// The view of a catalogue citation.
    pub fn new(c: &portq_catalog::Citation) -> CitationView {
        let d = c.document();
        CitationView {
            document: d.id,
            title: d.title,
            kb: d.kb,
            section: c.section,
            date: d.date,
            label: c.label,
            path: d.path,
            text: c.text(),
            quote: (!c.quote.is_empty()).then_some(c.quote),
        }
    }
}

impl Row {
    /// The SOURCE cell of `--explain`: the citations, or the origin for fallbacks.
    pub fn source_text(&self) -> String {
        if self.citations.is_empty() {
            return self.source.to_owned();
        }
        let mut s = self
            .citations
            .iter()
            .map(|c| match c.quote {
                Some(q) => format!("{}: \u{201c}{q}\u{201d}", c.text),
                None => c.text.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        if let Some(d) = self.disagreement {
            s.push_str(&format!(
                " [{}: {}]",
                d.topic,
                if d.current { "current" } else { "superseded" }
            ));
        }
        s
    }

    /// The row of a catalogue requirement.
    pub fn from_requirement(r: &'static Requirement) -> Row {
        let s = r.service();
        Row {
            service: s.name.to_owned(),
            service_name: s.service_name.to_owned(),
            service_id: Some(s.id),
            port_start: r.ports.map(|p| p.start),
            port_end: r.ports.map(|p| p.end),
            protocol: r.transport.as_str().to_owned(),
            application_protocol: r.application_protocol.to_owned(),
            qualifiers: r.qualifiers.iter().map(|q| q.as_str()).collect(),
            rpc_dynamic: r.has(portq_catalog::Qualifier::RpcDynamic),
            notes: r.notes.to_owned(),
            listed_as: r.listed_as.to_vec(),
            source: "catalog",
            citations: r.citations.iter().map(CitationView::new).collect(),
            disagreement: r.disagreement,
            directions: Vec::new(),
            roles: Vec::new(),
            service_ids: Vec::new(),
            in_range: false,
        }
    }

    /// The row of a search hit (catalogue, IANA or services file).
    pub fn from_hit(h: &Hit) -> Row {
        if let Hit::Catalog(r) = h {
            return Row::from_requirement(r);
        }
        let ports = h.ports();
        Row {
            service: h.service().to_owned(),
            service_name: String::new(),
            service_id: None,
            port_start: ports.map(|p| p.start),
            port_end: ports.map(|p| p.end),
            protocol: h.protocol().to_owned(),
            application_protocol: h.application_protocol().to_owned(),
            qualifiers: Vec::new(),
            rpc_dynamic: false,
            notes: h.notes(),
            listed_as: Vec::new(),
            source: h.origin().as_str(),
            citations: Vec::new(),
            disagreement: None,
            directions: Vec::new(),
            roles: Vec::new(),
            service_ids: Vec::new(),
            in_range: false,
        }
    }

    /// The row of a role requirement, with who connects and which roles need it.
    pub fn from_role_entry(e: &RoleEntry) -> Row {
        let mut row = Row::from_requirement(e.requirement);
        row.directions = e.directions.iter().map(|d| d.as_str()).collect();
        row.roles = e.roles.clone();
        row.service_ids = row.service_id.into_iter().collect();
        row
    }

    /// Folds another row of the same port and transport into this one: every service,
    /// application protocol, note, qualifier, direction and role once.
    pub fn absorb(&mut self, other: Row) {
        fn add(into: &mut String, text: &str) {
            if !text.is_empty() && !into.split("; ").any(|t| t == text) {
                if !into.is_empty() {
                    into.push_str("; ");
                }
                into.push_str(text);
            }
        }
        fn union<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
            for x in from {
                if !into.contains(&x) {
                    into.push(x);
                }
            }
        }
        add(&mut self.service, &other.service);
        add(&mut self.service_name, &other.service_name);
        add(&mut self.application_protocol, &other.application_protocol);
        add(&mut self.notes, &other.notes);
        union(&mut self.qualifiers, other.qualifiers);
        union(&mut self.listed_as, other.listed_as);
        union(&mut self.directions, other.directions);
        self.directions.sort_by_key(|d| {
            ["clients", "peers", "management"]
                .iter()
                .position(|x| x == d)
        });
        union(&mut self.roles, other.roles);
        union(&mut self.service_ids, other.service_ids);
        self.rpc_dynamic |= other.rpc_dynamic;
    }

    /// What makes two rows the same answer (the same fact found by two questions).
    pub fn identity(
        &self,
    ) -> (
        String,
        Option<u16>,
        Option<u16>,
        String,
        String,
        &'static str,
    ) {
        (
            self.service.clone(),
            self.port_start,
            self.port_end,
            self.protocol.clone(),
            self.application_protocol.clone(),
            self.source,
        )
    }

    /// The port or range as text (`445`, `49152-65535`, `IP 47`, `-`).
    pub fn port_text(&self) -> String {
        match (self.port_start, self.port_end) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => match self.protocol.as_str() {
                "gre" => "IP 47".into(),
                "esp" => "IP 50".into(),
                "ah" => "IP 51".into(),
                _ => "-".into(),
            },
        }
    }
}
