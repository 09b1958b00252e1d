//! Parsing and validation of `data/abbreviations.csv`, the words administrators use for
//! catalogue entries (`adws`, `ldaps`, `kpasswd`, `zone transfer`).
//!
//! Not a module of the library: `build.rs` includes this file next to `datafile.rs`
//! (whose selectors and requirements it uses) and compiles the validated rows in.

use crate::datafile::{Req, Service, selector};
use std::collections::BTreeSet;

/// One validated row: a term and the catalogue requirements it stands for.
pub struct Abbrev {
    /// The term, lower case, words separated by single spaces.
    pub term: String,
    /// Indices into the requirements.
    pub requirements: Vec<usize>,
    /// What the term means, in a few words.
    pub meaning: String,
}

#[derive(serde::Deserialize)]
struct Row {
    term: String,
    service: String,
    ports: String,
    meaning: String,
}

/// True when the term is lower-case words of letters, digits, `-` and `.`, one space apart.
fn well_formed(term: &str) -> bool {
    !term.is_empty()
        && term.split(' ').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        })
}

/// Parses the file; every problem is reported as `abbreviations.csv: line N: ...`.
pub fn parse(
    text: &str,
    services: &[Service],
    reqs: &[Req],
    errors: &mut Vec<String>,
) -> Vec<Abbrev> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    for (i, row) in rdr.deserialize::<Row>().enumerate() {
        let at = format!("abbreviations.csv: line {}", i + 2);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                continue;
            }
        };
        if !well_formed(&row.term) {
            errors.push(format!(
                "{at}: term {:?} must be lower-case words (a-z, 0-9, '-', '.') one space apart",
                row.term
            ));
            continue;
        }
        if row.meaning.trim().is_empty() {
            errors.push(format!("{at}: term {:?} has no meaning", row.term));
        }
        let Some(service) = services.iter().position(|s| s.id == row.service) else {
            errors.push(format!("{at}: unknown service {:?}", row.service));
            continue;
        };
        if !seen.insert((row.term.clone(), service)) {
            errors.push(format!(
                "{at}: term {:?} is listed twice for service {:?}",
                row.term, row.service
            ));
            continue;
        }
        let mut requirements = Vec::new();
        for sel in row.ports.split(';') {
            let matched: Vec<usize> = match selector(sel.trim()) {
                Ok(Some((ports, transport))) => reqs
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        r.service == service && r.ports == ports && r.transport == transport
                    })
                    .map(|(i, _)| i)
                    .collect(),
                Ok(None) => {
                    errors.push(format!("{at}: '*' is not allowed; name the ports"));
                    continue;
                }
                Err(e) => {
                    errors.push(format!("{at}: {e}"));
                    continue;
                }
            };
            if matched.is_empty() {
                errors.push(format!(
                    "{at}: service {:?} has no requirement {sel:?}",
                    row.service
                ));
            }
            requirements.extend(matched);
        }
        requirements.sort_unstable();
        requirements.dedup();
        out.push(Abbrev {
            term: row.term,
            requirements,
            meaning: row.meaning,
        });
    }
    out
}
