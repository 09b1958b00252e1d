//! Parsing and validation of `data/quotes.csv`: for a cited fact, the sentence or table
//! cells of the source that state it (issue 23: every fact with the sentence that states
//! it). One row: `document,section,port,protocol,quote`, the document and section as the
//! requirements cite them (`id`, section id), the port (or range) and protocol of the
//! requirement rows it backs.
//!
//! Not a module of the library: `build.rs` includes this file next to `datafile.rs` and
//! attaches each quote to the citations it belongs to. The build refuses a quote longer
//! than 25 words, one that does not contain its port number, and one no citation uses.

use crate::datafile::{Document, Req};

/// The longest quote, in words.
pub const MAX_WORDS: usize = 25;

#[derive(serde::Deserialize)]
struct Row {
    document: String,
    section: String,
    port: String,
    protocol: String,
    quote: String,
}

/// True when `text` holds `n` as a number of its own (not inside a longer one).
pub fn has_number(text: &str, n: u16) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|d| !d.is_empty() && d.parse::<u32>().ok() == Some(u32::from(n)))
}

/// Attaches every quote to the citations it backs: `quotes[requirement][citation]`.
pub fn attach(
    text: &str,
    docs: &[Document],
    reqs: &[Req],
    errors: &mut Vec<String>,
) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = reqs
        .iter()
        .map(|r| vec![String::new(); r.citations.len()])
        .collect();
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    for (i, row) in rdr.deserialize::<Row>().enumerate() {
        let at = format!("quotes.csv: line {}", i + 2);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                continue;
            }
        };
        let quote = row.quote.trim();
        let words = quote.split_whitespace().count();
        if words == 0 || words > MAX_WORDS {
            errors.push(format!(
                "{at}: a quote has 1 to {MAX_WORDS} words ({words} given)"
            ));
            continue;
        }
        let Some(di) = docs.iter().position(|d| d.id == row.document) else {
            errors.push(format!("{at}: unknown document {:?}", row.document));
            continue;
        };
        let Some(heading) = docs[di].sections.get(&row.section) else {
            errors.push(format!(
                "{at}: document {} has no section {:?}",
                row.document, row.section
            ));
            continue;
        };
        let ports = match row.port.split_once('-') {
            Some((a, b)) => a
                .trim()
                .parse::<u16>()
                .ok()
                .zip(b.trim().parse::<u16>().ok()),
            None => row.port.trim().parse::<u16>().ok().map(|p| (p, p)),
        };
        let Some((first, last)) = ports else {
            errors.push(format!("{at}: port {:?} is not a port or range", row.port));
            continue;
        };
        if !has_number(quote, first) {
            errors.push(format!(
                "{at}: the quote does not contain its port number {first}"
            ));
            continue;
        }
        let transport = match row.protocol.to_ascii_uppercase().as_str() {
            "TCP" => "Tcp",
            "UDP" => "Udp",
            other => {
                errors.push(format!("{at}: protocol {other:?} is not TCP or UDP"));
                continue;
            }
        };
        let mut used = false;
        for (ri, r) in reqs.iter().enumerate() {
            if r.ports != Some((first, last)) || r.transport != transport {
                continue;
            }
            for (ci, c) in r.citations.iter().enumerate() {
                if c.document == di && &c.section == heading {
                    out[ri][ci] = quote.to_owned();
                    used = true;
                }
            }
        }
        if !used {
            errors.push(format!(
                "{at}: no requirement on {}/{} cites {}#{}",
                row.port, row.protocol, row.document, row.section
            ));
        }
    }
    out
}
