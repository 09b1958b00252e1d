//! Answering lookups: by port, range, service name, words, or a near miss.

use crate::iana::{self, IanaEntry};
use crate::model::{PortRange, Requirement, Transport};
use crate::query::Query;
use crate::services_file::ServicesFileEntry;
use serde::Serialize;
use std::collections::BTreeSet;

/// Where an answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The Windows catalogue (KB 832017 and related).
    Catalog,
    /// The IANA registry fallback.
    Iana,
    /// The machine's services file fallback.
    ServicesFile,
}

impl Origin {
    /// The token used in output (`catalog`, `iana`, `services-file`).
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Catalog => "catalog",
            Origin::Iana => "iana",
            Origin::ServicesFile => "services-file",
        }
    }
}

/// One answer to a lookup.
#[derive(Debug, Clone)]
pub enum Hit {
    /// A requirement of the Windows catalogue.
    Catalog(&'static Requirement),
    /// An IANA registry row.
    Iana(IanaEntry),
    /// A services-file line.
    ServicesFile(ServicesFileEntry),
}

impl Hit {
    /// Where the answer comes from.
    pub fn origin(&self) -> Origin {
        match self {
            Hit::Catalog(_) => Origin::Catalog,
            Hit::Iana(_) => Origin::Iana,
            Hit::ServicesFile(_) => Origin::ServicesFile,
        }
    }

    /// The port range, if the answer has ports.
    pub fn ports(&self) -> Option<PortRange> {
        match self {
            Hit::Catalog(r) => r.ports,
            Hit::Iana(e) => Some(e.ports),
            Hit::ServicesFile(e) => Some(PortRange::single(e.port)),
        }
    }

    /// Lower-case protocol token (`tcp`, `udp`, `icmp`, `gre`, ...; may be empty for IANA reserved rows).
    pub fn protocol(&self) -> &str {
        match self {
            Hit::Catalog(r) => r.transport.as_str(),
            Hit::Iana(e) => e.protocol,
            Hit::ServicesFile(e) => &e.protocol,
        }
    }

    /// The service's friendly name (the IANA or services-file name for fallbacks).
    pub fn service(&self) -> &str {
        match self {
            Hit::Catalog(r) => r.service().name,
            Hit::Iana(e) => e.name,
            Hit::ServicesFile(e) => &e.name,
        }
    }

    /// The Windows service short name (empty for fallbacks and for services without one).
    pub fn service_name(&self) -> &str {
        match self {
            Hit::Catalog(r) => r.service().service_name,
            _ => "",
        }
    }

    /// Application protocol (the IANA description for IANA rows).
    pub fn application_protocol(&self) -> &str {
        match self {
            Hit::Catalog(r) => r.application_protocol,
            Hit::Iana(e) => e.description,
            Hit::ServicesFile(e) => &e.comment,
        }
    }

    /// Notes.
    pub fn notes(&self) -> String {
        match self {
            Hit::Catalog(r) => r.notes.to_owned(),
            Hit::Iana(_) => String::new(),
            Hit::ServicesFile(e) => e.aliases.join(" "),
        }
    }

    fn sort_key(&self) -> (u16, u16, String, String) {
        let p = self.ports().unwrap_or(PortRange { start: 0, end: 0 });
        (
            p.start,
            p.end,
            self.protocol().to_owned(),
            self.service().to_lowercase(),
        )
    }
}

/// Knobs for a lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchOptions {
    /// Add IANA answers even when the catalogue knows the port.
    pub always_iana: bool,
    /// For a single port, also list the wide ranges (RPC dynamic and the like) that
    /// contain it when the port has answers of its own.
    pub with_ranges: bool,
}

/// What a lookup found.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    /// The answers, sorted by port, protocol and service.
    pub hits: Vec<Hit>,
    /// Set when nothing matched as typed and a corrected query was used instead.
    pub did_you_mean: Option<String>,
    /// Wide ranges that contain the port but were left out (see [`SearchOptions::with_ranges`]).
    pub ranges_left_out: usize,
}

impl SearchResult {
    /// True when neither the catalogue nor IANA knew the answer, so the services file may help.
    pub fn wants_services_file(&self) -> bool {
        self.hits.is_empty()
    }
}

/// Splits text into lower-case alphanumeric words.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Every word a requirement can be found by.
fn haystack(r: &Requirement) -> Vec<String> {
    let s = r.service();
    let mut out: Vec<String> = Vec::new();
    for t in [
        s.name,
        s.service_name,
        s.id,
        r.application_protocol,
        r.transport.as_str(),
    ]
    .into_iter()
    .chain(s.aliases.iter().copied())
    .chain(r.listed_as.iter().copied())
    {
        out.extend(words(t));
    }
    out
}

fn word_matches(query_word: &str, hay: &[String]) -> bool {
    if query_word.chars().count() < 2 {
        hay.iter().any(|h| h == query_word)
    } else {
        hay.iter().any(|h| h.starts_with(query_word))
    }
}

fn exact_service(text: &str, r: &Requirement) -> bool {
    r.service().is_named(text)
}

fn text_hits(text: &str) -> Vec<&'static Requirement> {
    let qwords: Vec<String> = words(text).collect();
    crate::requirements()
        .iter()
        .filter(|r| {
            exact_service(text, r)
                || (!qwords.is_empty() && {
                    let hay = haystack(r);
                    qwords.iter().all(|w| word_matches(w, &hay))
                })
        })
        .collect()
}

/// The closest catalogue word to `w`, if close enough to be a typo.
fn closest_word(w: &str, vocabulary: &BTreeSet<String>) -> Option<String> {
    let n = w.chars().count();
    let max = match n {
        0..=3 => return None,
        4..=5 => 1,
        _ => 2,
    };
    vocabulary
        .iter()
        .map(|v| (strsim::damerau_levenshtein(w, v), v))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, v)| (*d, v.len()))
        .map(|(_, v)| v.clone())
}

fn fuzzy(text: &str) -> Option<(String, Vec<&'static Requirement>)> {
    let vocabulary: BTreeSet<String> = crate::requirements().iter().flat_map(haystack).collect();
    let mut changed = false;
    let mut corrected = Vec::new();
    for w in words(text) {
        if vocabulary.iter().any(|v| v.starts_with(&w)) {
            corrected.push(w);
        } else {
            let c = closest_word(&w, &vocabulary)?;
            changed = true;
            corrected.push(c);
        }
    }
    if !changed {
        return None;
    }
    let q = corrected.join(" ");
    let hits = text_hits(&q);
    (!hits.is_empty()).then_some((q, hits))
}

fn port_hits(range: PortRange, transport: Option<Transport>) -> Vec<&'static Requirement> {
    crate::requirements()
        .iter()
        .filter(|r| r.ports.is_some_and(|p| p.overlaps(&range)))
        .filter(|r| transport.is_none_or(|t| r.transport == t))
        .collect()
}

/// Answers one query from the catalogue, falling back to IANA as documented:
/// port queries get IANA answers when the catalogue has none (or always, with
/// [`SearchOptions::always_iana`]); text queries try IANA service names, then a
/// "did you mean" correction.
pub fn lookup(query: &Query, opts: SearchOptions) -> SearchResult {
    let mut result = SearchResult::default();
    match query {
        Query::Ports { range, transport } => {
            let mut hits = port_hits(*range, *transport);
            let single = |r: &&Requirement| r.ports.is_some_and(|p| p.start == p.end);
            if range.start == range.end && !opts.with_ranges && hits.iter().any(single) {
                let before = hits.len();
                hits.retain(single);
                result.ranges_left_out = before - hits.len();
            }
            result.hits = hits.into_iter().map(Hit::Catalog).collect();
            if result.hits.is_empty() || opts.always_iana {
                result.hits.extend(
                    iana::by_range(*range, *transport)
                        .into_iter()
                        .map(Hit::Iana),
                );
            }
        }
        Query::Text(text) => {
            let hits = text_hits(text);
            if !hits.is_empty() {
                result.hits = hits.into_iter().map(Hit::Catalog).collect();
            } else {
                let iana = iana::by_name(text);
                if !iana.is_empty() {
                    result.hits = iana.into_iter().map(Hit::Iana).collect();
                } else if let Some((q, hits)) = fuzzy(text) {
                    result.did_you_mean = Some(q);
                    result.hits = hits.into_iter().map(Hit::Catalog).collect();
                }
            }
        }
    }
    result.hits.sort_by_key(Hit::sort_key);
    result
}

/// Answers a query from services-file entries (the last fallback).
pub fn lookup_services_file(query: &Query, entries: &[ServicesFileEntry]) -> Vec<Hit> {
    let mut out: Vec<Hit> = entries
        .iter()
        .filter(|e| match query {
            Query::Ports { range, transport } => e.matches(*range, *transport),
            Query::Text(t) => {
                e.name.eq_ignore_ascii_case(t)
                    || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(t))
            }
        })
        .cloned()
        .map(Hit::ServicesFile)
        .collect();
    out.sort_by_key(Hit::sort_key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> SearchResult {
        lookup(&Query::parse(s).unwrap(), SearchOptions::default())
    }

    fn services(r: &SearchResult) -> BTreeSet<String> {
        r.hits.iter().map(|h| h.service_name().to_owned()).collect()
    }

    #[test]
    fn port_445_lists_smb_services() {
        let r = q("445");
        assert!(r.hits.iter().all(|h| h.origin() == Origin::Catalog));
        let s = services(&r);
        for name in ["lanmanserver", "Netlogon", "Spooler", "LSASS"] {
            assert!(s.contains(name), "{name} missing from {s:?}");
        }
        assert!(r.hits.iter().all(|h| h.protocol() == "tcp"));
    }

    #[test]
    fn transport_filters() {
        let r = q("389/udp");
        assert!(!r.hits.is_empty());
        assert!(r.hits.iter().all(|h| h.protocol() == "udp"));
    }

    #[test]
    fn a_dynamic_port_finds_the_rpc_range() {
        let r = q("49668");
        assert!(r.hits.iter().any(|h| h.service_name() == "LSASS"));
        assert!(
            r.hits
                .iter()
                .all(|h| matches!(h, Hit::Catalog(req) if req.ports.is_some_and(|p| p.len() > 1)))
        );
    }

    #[test]
    fn wide_ranges_only_when_the_port_has_no_answer_of_its_own() {
        let r = q("3269");
        assert!(
            r.hits
                .iter()
                .all(|h| h.ports() == Some(PortRange::single(3269)))
        );
        assert!(r.ranges_left_out > 0);
        let all = lookup(
            &Query::parse("3269").unwrap(),
            SearchOptions {
                with_ranges: true,
                ..Default::default()
            },
        );
        assert_eq!(all.hits.len(), r.hits.len() + r.ranges_left_out);
    }

    #[test]
    fn range_overlap() {
        let r = q("3268-3269");
        assert!(
            r.hits
                .iter()
                .any(|h| h.ports() == Some(PortRange::single(3269)))
        );
        assert!(!q("49152-65535").hits.is_empty());
    }

    #[test]
    fn names_and_words() {
        assert!(
            q("Spooler")
                .hits
                .iter()
                .all(|h| h.service_name() == "Spooler")
        );
        assert!(q("lsass").hits.iter().all(|h| h.service_name() == "LSASS"));
        let gc = q("global catalog");
        assert!(!gc.hits.is_empty());
        assert!(
            gc.hits
                .iter()
                .all(|h| h.application_protocol() == "Global Catalog")
        );
        let k = q("kerberos");
        assert!(
            k.hits
                .iter()
                .any(|h| h.ports() == Some(PortRange::single(88)) && h.protocol() == "udp")
        );
        assert!(k.did_you_mean.is_none());
    }

    #[test]
    fn near_miss_suggests() {
        let r = q("kerbros");
        assert_eq!(r.did_you_mean.as_deref(), Some("kerberos"));
        assert!(
            r.hits
                .iter()
                .any(|h| h.ports() == Some(PortRange::single(88)))
        );
        assert!(q("zzzzqqqq").hits.is_empty());
    }

    #[test]
    fn unknown_ports_fall_back_to_iana() {
        let r = q("873/tcp");
        assert_eq!(r.hits.len(), 1);
        assert_eq!(r.hits[0].origin(), Origin::Iana);
        assert_eq!(r.hits[0].service(), "rsync");
        let s = q("rsync");
        assert!(s.hits.iter().all(|h| h.origin() == Origin::Iana));
    }

    #[test]
    fn services_file_fallback() {
        let entries = crate::services_file::parse("myapp 40001/tcp # ours\n");
        let hits = lookup_services_file(&Query::parse("40001").unwrap(), &entries);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].origin(), Origin::ServicesFile);
        assert_eq!(hits[0].service(), "myapp");
    }
}
