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

/// How many answers a text query shows before "N more".
pub const TEXT_CAP: usize = 10;

/// What a lookup found.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    /// The answers, best first. A port's own entries (or IANA's answer) come first, the
    /// wide ranges that merely contain it last (see [`SearchResult::in_range`]); a text
    /// query's answers are ranked by how well they match.
    pub hits: Vec<Hit>,
    /// How many of `hits`, from the front, are the answers to show; the rest are weaker
    /// matches, listed only when asked for everything.
    pub shown: usize,
    /// How many of `hits`, from the back, are wide ranges that merely contain the port
    /// (context, not an answer of the port's own).
    pub in_range: usize,
    /// Set when nothing matched as typed and a corrected query was used instead.
    pub did_you_mean: Option<String>,
    /// Wide ranges that contain the port but were left out (see [`SearchOptions::with_ranges`]).
    pub ranges_left_out: usize,
}

impl SearchResult {
    /// True when neither the catalogue nor IANA knew the port (or words) as such, so the
    /// services file may help.
    pub fn wants_services_file(&self) -> bool {
        self.hits.len() == self.in_range
    }

    /// True when hit `i` is a wide range that merely contains the port.
    pub fn is_in_range(&self, i: usize) -> bool {
        i >= self.hits.len() - self.in_range.min(self.hits.len())
    }

    /// Adds fallback answers (services-file lines) after the port's own answers and
    /// before the ranges that merely contain it.
    pub fn add_fallbacks(&mut self, extra: Vec<Hit>) {
        let at = self.hits.len() - self.in_range;
        let n = extra.len();
        self.hits.splice(at..at, extra);
        if self.shown >= at {
            self.shown += n;
        }
    }

    /// The answers to show: the strong ones, at most [`TEXT_CAP`] for words.
    pub fn best(&self) -> &[Hit] {
        &self.hits[..self.shown.min(self.hits.len())]
    }

    /// How many answers are left out when only the shown ones are listed.
    pub fn more(&self) -> usize {
        self.hits.len() - self.shown
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

/// The query with each word the catalogue does not know replaced by the closest one it
/// does; `None` when nothing needed (or could get) a correction.
fn corrected(text: &str) -> Option<String> {
    let vocabulary: BTreeSet<String> = crate::requirements()
        .iter()
        .flat_map(haystack)
        .chain(
            crate::abbrev::abbreviations()
                .iter()
                .flat_map(|a| words(a.term)),
        )
        .collect();
    let mut changed = false;
    let mut out = Vec::new();
    for w in words(text) {
        if STOP_WORDS.contains(&w.as_str()) || vocabulary.iter().any(|v| v.starts_with(&w)) {
            out.push(w);
        } else {
            out.push(closest_word(&w, &vocabulary)?);
            changed = true;
        }
    }
    changed.then(|| out.join(" "))
}

fn port_hits(range: PortRange, transport: Option<Transport>) -> Vec<&'static Requirement> {
    crate::requirements()
        .iter()
        .filter(|r| r.ports.is_some_and(|p| p.overlaps(&range)))
        .filter(|r| transport.is_none_or(|t| r.transport == t))
        .collect()
}

fn sorted(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by_key(Hit::sort_key);
    hits
}

/// Answers a port or range: for a single port its own entries first (or, when the
/// catalogue has none, IANA's answer), then — as context — the wide ranges containing it.
fn lookup_ports(
    range: PortRange,
    transport: Option<Transport>,
    opts: SearchOptions,
) -> SearchResult {
    let mut result = SearchResult::default();
    let all = port_hits(range, transport);
    let iana = || {
        sorted(
            iana::by_range(range, transport)
                .into_iter()
                .map(Hit::Iana)
                .collect(),
        )
    };
    if range.start != range.end {
        result.hits = sorted(all.into_iter().map(Hit::Catalog).collect());
        if result.hits.is_empty() || opts.always_iana {
            result.hits.extend(iana());
        }
    } else {
        let (own, containing): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|r| r.ports == Some(range));
        // The narrowest range first: the RPC dynamic range before ISA's 1024-65535.
        let mut containing: Vec<Hit> = containing.into_iter().map(Hit::Catalog).collect();
        containing.sort_by_key(|h| (h.ports().map(|p| p.len()), h.sort_key()));
        let has_own = !own.is_empty();
        result.hits = sorted(own.into_iter().map(Hit::Catalog).collect());
        if !has_own || opts.always_iana {
            result.hits.extend(iana());
        }
        if has_own && !opts.with_ranges {
            result.ranges_left_out = containing.len();
        } else {
            result.in_range = containing.len();
            result.hits.extend(containing);
        }
    }
    result.shown = result.hits.len();
    result
}

/// Words that carry no meaning in a lookup ("what port does the kdc use").
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "by", "do", "does", "for", "from", "i", "in", "is", "my", "need",
    "needed", "needs", "of", "on", "over", "port", "ports", "the", "to", "traffic", "use", "used",
    "uses", "using", "via", "what", "which", "with",
];

/// Words administrators shorten, read as the catalogue spells them.
const SYNONYMS: &[(&str, &[&str])] = &[("ad", &["active", "directory"]), ("tls", &["ssl"])];

/// The query's words in canonical form, with [`SYNONYMS`] spelled out.
fn query_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(text) {
        match SYNONYMS.iter().find(|(s, _)| *s == w) {
            Some((_, long)) => out.extend(long.iter().map(|l| (*l).to_owned())),
            None => out.push(norm(&w)),
        }
    }
    out
}

/// A word's canonical form: a plural `s` dropped.
fn norm(w: &str) -> String {
    match w.strip_suffix('s') {
        Some(stem) if stem.len() >= 5 && !stem.ends_with('s') => stem.to_owned(),
        _ => w.to_owned(),
    }
}

/// One text a requirement can be found by, with how much a match in it counts.
struct Field {
    words: Vec<String>,
    weight: u32,
    /// A maintained abbreviation: naming it whole points straight at the entry.
    term: bool,
}

fn field(text: &str, weight: u32) -> Field {
    Field {
        words: query_words(text),
        weight,
        term: false,
    }
}

/// The fields of every requirement, in catalogue order.
fn fields() -> Vec<Vec<Field>> {
    let reqs = crate::requirements();
    let mut out: Vec<Vec<Field>> = reqs
        .iter()
        .map(|r| {
            let s = r.service();
            let mut f = vec![
                field(s.name, 3),
                field(s.id, 4),
                field(r.application_protocol, 4),
                field(r.transport.as_str(), 2),
                field(r.notes, 1),
            ];
            f.extend(s.service_name.split(';').map(|n| field(n, 4)));
            f.extend(s.aliases.iter().map(|a| field(a, 3)));
            f.extend(r.qualifiers.iter().map(|q| field(q.as_str(), 3)));
            f.extend(r.listed_as.iter().map(|l| field(l, 2)));
            f
        })
        .collect();
    for role in crate::roles() {
        let mut done: BTreeSet<usize> = BTreeSet::new();
        for rr in role.requirements {
            if let Some(f) = out.get_mut(rr.requirement)
                && done.insert(rr.requirement)
            {
                f.push(field(role.name, 2));
                f.extend(role.aliases.iter().map(|a| field(a, 2)));
            }
        }
    }
    for a in crate::abbrev::abbreviations() {
        for &i in a.requirements {
            if let Some(f) = out.get_mut(usize::from(i)) {
                let mut t = field(a.term, 6);
                t.term = true;
                f.push(t);
            }
        }
    }
    out
}

/// True when `needle` occurs in `hay` as consecutive words.
fn contains_run(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// How well one requirement matches: (query words matched, score).
fn score(query: &[String], whole: &str, r: &Requirement, fields: &[Field]) -> (usize, u32) {
    let mut matched = 0;
    let mut total = 0;
    for q in query {
        let mut best = 0;
        for f in fields {
            for w in &f.words {
                let quality = if w == q {
                    10
                } else if q.len() >= 3 && w.starts_with(q.as_str()) {
                    6
                } else if w.len() >= 4
                    && q.strip_prefix(w.as_str()).is_some_and(|rest| {
                        ["s", "es", "ing", "ed", "er", "ers", "ion"].contains(&rest)
                    })
                {
                    // "printing" finds "Print Server", "clustering" finds "Cluster".
                    5
                } else {
                    0
                };
                // A word of a multi-word term counts like any other word; the whole term
                // counts below.
                let weight = if f.term && f.words.len() > 1 {
                    3
                } else {
                    f.weight
                };
                best = best.max(quality * weight);
            }
        }
        if best > 0 {
            matched += 1;
            total += best;
        }
    }
    for f in fields {
        if f.words.is_empty() {
            continue;
        }
        if contains_run(query, &f.words) {
            // The query names the whole field: "global catalog", "dns server", "adws".
            let n = u32::try_from(f.words.len()).unwrap_or(u32::MAX);
            total += f.weight * 5 * n + if f.term { 60 } else { 0 };
        } else if query.len() >= 2 && contains_run(&f.words, query) {
            total += f.weight * 3 * u32::try_from(query.len()).unwrap_or(u32::MAX);
        }
    }
    if r.service().is_named(whole) {
        total += 40;
    }
    (matched, total)
}

/// How much of its score a row keeps: a current default keeps it all; an optional or
/// compatibility row (off unless configured) and a superseded one (an older version's
/// port) rank below the default that answers the same words.
fn standing(r: &Requirement, score: u32) -> u32 {
    let superseded = r.disagreement.is_some_and(|d| !d.current);
    match (superseded, r.has(crate::Qualifier::Optional)) {
        (true, _) => score / 2,
        (false, true) => score * 7 / 8,
        _ => score,
    }
}

/// Among equally good matches, what comes first: a required single port the article's
/// summary table lists, before optional rows, wide ranges and ICMP.
fn prominence(r: &Requirement) -> u8 {
    let mut p = 0;
    // What a role's clients connect to, by default, before what only its management
    // hosts or peers use (a management point's 10123 and 80/443 before the site
    // server's SMB and RPC to it).
    if client_facing().contains(&(r as *const Requirement as usize)) {
        p += 8;
    }
    if !r.has(crate::Qualifier::Optional) {
        p += 4;
    }
    if r.ports.is_some_and(|p| p.start == p.end) {
        p += 2;
    }
    if !r.listed_as.is_empty() {
        p += 1;
    }
    p
}

/// The requirements (by address) some role serves to its clients without an option.
fn client_facing() -> &'static BTreeSet<usize> {
    static SET: std::sync::OnceLock<BTreeSet<usize>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        crate::roles()
            .iter()
            .flat_map(|role| role.requirements.iter())
            .filter(|rr| rr.direction == crate::Direction::Clients && rr.option.is_none())
            .filter_map(|rr| crate::requirements().get(rr.requirement))
            .map(|r| r as *const Requirement as usize)
            .collect()
    })
}

/// Ranks every requirement against the words; best first, with the number of strong
/// answers and whether the best ones matched every word of the query.
fn text_hits(text: &str) -> (Vec<&'static Requirement>, usize, bool) {
    let all: Vec<String> = query_words(text);
    let content: Vec<String> = all
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    let query = if content.is_empty() { all } else { content };
    let whole = text.trim();
    let fields = fields();
    let mut scored: Vec<(usize, u32, &'static Requirement)> = crate::requirements()
        .iter()
        .zip(&fields)
        .map(|(r, f)| {
            let (m, s) = score(&query, whole, r, f);
            (m, standing(r, s), r)
        })
        .filter(|(m, _, r)| (*m > 0 && 2 * m >= query.len()) || r.service().is_named(whole))
        .collect();
    let Some(best_matched) = scored.iter().map(|(m, _, _)| *m).max() else {
        return (Vec::new(), 0, false);
    };
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(prominence(b.2).cmp(&prominence(a.2)))
            .then_with(|| {
                Hit::Catalog(a.2)
                    .sort_key()
                    .cmp(&Hit::Catalog(b.2).sort_key())
            })
    });
    let top = scored.first().map(|(_, s, _)| *s).unwrap_or(0);
    let strong = scored
        .iter()
        .take_while(|(m, s, _)| *m == best_matched && 2 * s >= top)
        .count();
    let full = best_matched >= query.len();
    let hits = scored
        .into_iter()
        .filter(|(m, _, _)| *m == best_matched)
        .map(|(_, _, r)| r)
        .collect();
    (hits, strong, full)
}

/// The ranked answer to words, and whether the best answers matched every word.
fn text_result(text: &str) -> Option<(SearchResult, bool)> {
    let (hits, strong, full) = text_hits(text);
    (!hits.is_empty()).then(|| {
        let r = SearchResult {
            shown: strong.min(TEXT_CAP),
            hits: hits.into_iter().map(Hit::Catalog).collect(),
            ..SearchResult::default()
        };
        (r, full)
    })
}

/// Answers one query from the catalogue, falling back to IANA as documented:
/// a single port gets its own entries, else IANA's answer, then the wide ranges that
/// contain it as context; text is ranked across names, aliases, application protocols,
/// qualifiers, roles and the abbreviation list, then tried as an IANA service name, then
/// as a "did you mean" correction.
pub fn lookup(query: &Query, opts: SearchOptions) -> SearchResult {
    let text = match query {
        Query::Ports { range, transport } => return lookup_ports(*range, *transport, opts),
        Query::Text(text) => text,
    };
    let found = text_result(text);
    // A name IANA registers exactly (amqp, mqtt) answers before a word that merely
    // occurs in a Windows row's application protocol; a catalogue service or maintained
    // term of that name keeps the catalogue first.
    let registered = iana::by_name(text.trim());
    if !registered.is_empty() && !named_in_catalog(text) {
        let mut hits = sorted(registered.into_iter().map(Hit::Iana).collect());
        let first = hits.len();
        let (more, more_shown) = found.map(|(r, _)| (r.hits, r.shown)).unwrap_or_default();
        hits.extend(more);
        return SearchResult {
            shown: first + more_shown,
            hits,
            ..SearchResult::default()
        };
    }
    if let Some((result, true)) = found {
        return result;
    }
    if found.is_none() {
        let iana = iana::by_name(text);
        if !iana.is_empty() {
            let hits = sorted(iana.into_iter().map(Hit::Iana).collect());
            return SearchResult {
                shown: hits.len(),
                hits,
                ..SearchResult::default()
            };
        }
    }
    if let Some(fixed) = corrected(text)
        && let Some((better, true)) = text_result(&fixed)
    {
        return SearchResult {
            did_you_mean: Some(fixed),
            ..better
        };
    }
    found.map(|(r, _)| r).unwrap_or_default()
}

/// True when a catalogue service is called `text` (its id, name or an alias, or those
/// words inside its name: "smtp" in "Simple Mail Transfer Protocol (SMTP)"), or a
/// maintained abbreviation is exactly `text`.
fn named_in_catalog(text: &str) -> bool {
    let text = text.trim();
    let words = query_words(text);
    crate::services().iter().any(|s| {
        s.is_named(text)
            || contains_run(&query_words(s.name), &words)
            || s.aliases
                .iter()
                .any(|a| contains_run(&query_words(a), &words))
    }) || crate::abbrev::abbreviations()
        .iter()
        .any(|a| a.term.eq_ignore_ascii_case(text))
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
                .best()
                .iter()
                .all(|h| h.service_name() == "Spooler")
        );
        assert!(
            q("lsass")
                .best()
                .iter()
                .all(|h| h.service_name() == "LSASS")
        );
        let gc = q("global catalog");
        assert!(!gc.best().is_empty());
        assert!(
            gc.best()
                .iter()
                .all(|h| h.application_protocol() == "Global Catalog")
        );
        let k = q("kerberos");
        assert!(
            k.best()
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

    #[test]
    fn a_port_without_entries_gets_iana_then_ranges_in_range() {
        let r = q("5432");
        assert_eq!(r.hits[0].origin(), Origin::Iana);
        assert!(r.in_range > 0);
        assert!(!r.is_in_range(0));
        assert!(r.is_in_range(r.hits.len() - 1));
        assert!(
            r.hits[r.hits.len() - r.in_range..]
                .iter()
                .all(|h| h.origin() == Origin::Catalog)
        );
        let mut with_file = r.clone();
        let entries = crate::services_file::parse("mydb 5432/tcp\n");
        with_file.add_fallbacks(lookup_services_file(
            &Query::parse("5432").unwrap(),
            &entries,
        ));
        let first_range = with_file.hits.len() - with_file.in_range;
        assert_eq!(
            with_file.hits[first_range - 1].origin(),
            Origin::ServicesFile
        );
    }

    #[test]
    fn words_rank_the_entry_they_name_first() {
        let top = |s: &str| -> Vec<(Option<PortRange>, &'static str)> {
            q(s).best()
                .iter()
                .take(3)
                .map(|h| {
                    (
                        h.ports(),
                        match h {
                            Hit::Catalog(r) => r.service().id,
                            _ => "",
                        },
                    )
                })
                .collect()
        };
        assert!(top("adws").contains(&(Some(PortRange::single(9389)), "adws")));
        assert!(top("ldaps").contains(&(Some(PortRange::single(636)), "lsass")));
        assert!(top("kerberos password change").contains(&(Some(PortRange::single(464)), "kdc")));
        assert!(top("dns zone transfer").contains(&(Some(PortRange::single(53)), "dns")));
        // Optional NetBIOS rows come after the port that matters.
        assert_eq!(
            top("file and printer sharing")[0],
            (Some(PortRange::single(445)), "lanmanserver")
        );
        assert!(q("lsass").more() > 0 && q("lsass").best().len() <= TEXT_CAP);
    }
}
