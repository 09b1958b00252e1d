//! The build's data-file validation (`src/datafile.rs`, included as `build.rs` includes
//! it): the real files pass, and each rule about sources, disagreements and role options
//! rejects a file that breaks it.

#[allow(dead_code)]
#[path = "../src/datafile.rs"]
mod datafile;

use datafile::{Errors, Sources, parse_all};

const SERVICES: &str = include_str!("../data/services.toml");
const REQUIREMENTS: &str = include_str!("../data/requirements.csv");
const ROLES: &str = include_str!("../data/roles.toml");
const RPC_INTERFACES: &str = include_str!("../data/rpc-interfaces.csv");
const RPC_SERVICES: &str = include_str!("../data/rpc-services.csv");
const DOCUMENTS: &str = include_str!("../data/documents.toml");

/// Validates the real files with some of them replaced (the IANA table is left empty).
fn errors(requirements: &str, roles: &str, documents: &str) -> Errors {
    parse_all(&Sources {
        services: SERVICES,
        requirements,
        roles,
        rpc_interfaces: RPC_INTERFACES,
        rpc_services: RPC_SERVICES,
        iana: "service_name,port,protocol,description\n",
        documents,
    })
    .1
}

fn has(errors: &Errors, needle: &str) -> bool {
    errors.iter().any(|e| e.contains(needle))
}

#[test]
fn the_real_files_are_valid() {
    let e = errors(REQUIREMENTS, ROLES, DOCUMENTS);
    assert!(e.is_empty(), "{e:?}");
}

#[test]
fn a_row_without_a_source_is_rejected() {
    let bad = REQUIREMENTS.replace(
        "sshd,22,TCP,SSH,,rule OpenSSH-Server-In-TCP is created and enabled at install,,openssh-install#install=OpenSSH Server,",
        "sshd,22,TCP,SSH,,rule OpenSSH-Server-In-TCP is created and enabled at install,,,",
    );
    assert_ne!(bad, REQUIREMENTS, "the test row exists");
    let e = errors(&bad, ROLES, DOCUMENTS);
    assert!(has(&e, "every row needs a source"), "{e:?}");
    // ... and the document it was the only citation of is now cited by nothing.
    assert!(
        has(&e, "document openssh-install is cited by no row"),
        "{e:?}"
    );
}

#[test]
fn unknown_documents_and_sections_are_rejected() {
    let bad = REQUIREMENTS.replace("openssh-install#install=", "openssh-install#nowhere=");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "has no section \"nowhere\""
    ));
    let bad = REQUIREMENTS.replace("openssh-install#install=", "no-such-doc#install=");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "unknown document \"no-such-doc\""
    ));
}

#[test]
fn a_document_needs_a_real_date_or_a_reason() {
    let bad = DOCUMENTS.replace("date = \"2026-02-12\"", "date = \"2026-02-30\"");
    assert!(has(&errors(REQUIREMENTS, ROLES, &bad), "is not YYYY-MM-DD"));
    let bad = DOCUMENTS.replace("date_note = \"the stored copy carries no ms.date\"\n", "");
    assert!(has(
        &errors(REQUIREMENTS, ROLES, &bad),
        "needs a date, or a date_note"
    ));
}

#[test]
fn a_disagreement_keeps_one_current_and_one_superseded_fact() {
    let bad = REQUIREMENTS.replace("cluster-137:superseded", "cluster-137:current");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "disagreement cluster-137 needs one current row and at least one superseded row (has 2 and 0)"
    ));
    let bad = REQUIREMENTS.replace("cluster-137:superseded", "cluster-137:maybe");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "must end in :current or :superseded"
    ));
}

#[test]
fn every_role_option_switches_existing_rows_on() {
    // An option no requirement uses.
    let bad = ROLES.replace(
        "    { id = \"udp\", description = \"the UDP transport on 3391\", default = true },",
        "    { id = \"udp\", description = \"the UDP transport on 3391\", default = true },\n    { id = \"unused\", description = \"nothing\", default = false },",
    );
    assert_ne!(bad, ROLES);
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "role rd-gateway, option \"unused\" switches no requirement on"
    ));
    // An option whose rows do not exist.
    let bad = ROLES.replace("ports = [\"3391/udp\"]", "ports = [\"3392/udp\"]");
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "3392/udp matches no current, inbound catalogue requirement"
    ));
}

#[test]
fn roles_never_take_outbound_or_superseded_rows() {
    // entra-connect's only 5671 row is outbound: a role cannot select it.
    let bad = ROLES.replace(
        "[[role]]\nid = \"openssh-server\"",
        "[[role]]\nid = \"bad-outbound\"\nname = \"x\"\ndescription = \"x\"\n[[role.allow]]\nservice = \"entra-connect\"\nports = [\"5671/tcp\"]\ndirection = \"clients\"\n\n[[role]]\nid = \"openssh-server\"",
    );
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "role bad-outbound, service entra-connect: 5671/tcp matches no current, inbound"
    ));
    // clussvc 137/tcp is the superseded side of cluster-137.
    let bad = ROLES.replace(
        "ports = [\"3343/udp\", \"3343/tcp\", \"445/tcp\", \"137/udp\", \"icmp\"]",
        "ports = [\"3343/udp\", \"3343/tcp\", \"445/tcp\", \"137/tcp\", \"icmp\"]",
    );
    assert_ne!(bad, ROLES);
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "137/tcp matches no current"
    ));
}

#[test]
fn outbound_rows_say_so_in_their_notes() {
    let bad = REQUIREMENTS.replace(
        "outbound;optional,\"outbound: Connect Health agent",
        "outbound;optional,\"Connect Health agent",
    );
    assert_ne!(bad, REQUIREMENTS);
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "an outbound row's notes must start"
    ));
}

// ------------------------------------------------------------------ quotes --

#[allow(dead_code)]
#[path = "../src/quotefile.rs"]
mod quotefile;

const QUOTES: &str = include_str!("../data/quotes.csv");
const SHINGLES: &str = include_str!("fixtures/section-shingles.tsv");

/// A text's words as the fingerprints read them: lower case, runs of letters and digits,
/// markdown link targets dropped (scripts/section-shingles.py does the same).
fn words(text: &str) -> Vec<String> {
    let mut t = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        t.push_str(&rest[..=i]);
        rest = &rest[i + 2..];
        rest = rest.find(')').map_or("", |j| &rest[j + 1..]);
    }
    t.push_str(rest);
    t.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// FNV-1a 64, the first 12 hex digits.
fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")[..12].to_owned()
}

/// The fingerprint of one section: the run length and the hashes of its runs.
type Print = (usize, std::collections::BTreeSet<String>);

/// The fingerprints: (document, section) -> the section's runs of k words, hashed.
fn fingerprints() -> std::collections::BTreeMap<(String, String), Print> {
    SHINGLES
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut p = l.split('\t');
            let (d, s, k, h) = (p.next()?, p.next()?, p.next()?, p.next()?);
            Some((
                (d.to_owned(), s.to_owned()),
                (k.parse().ok()?, h.split(' ').map(str::to_owned).collect()),
            ))
        })
        .collect()
}

/// Why a quote does not stand in the section it cites, if it does not.
fn check_quote(
    prints: &std::collections::BTreeMap<(String, String), Print>,
    document: &str,
    section: &str,
    quote: &str,
) -> Result<(), String> {
    let Some((k, set)) = prints.get(&(document.to_owned(), section.to_owned())) else {
        return Err(format!("no fingerprint of {document}#{section}"));
    };
    let w = words(quote);
    if w.len() < *k || *k == 0 {
        return Err(format!(
            "{document}#{section}: a quote of {} words",
            w.len()
        ));
    }
    let missing: Vec<String> = w
        .windows(*k)
        .filter(|w| !set.contains(&fnv(&w.join(" "))))
        .map(|w| w.join(" "))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{document}#{section}: not in the section: {missing:?}"
        ))
    }
}

#[derive(serde::Deserialize)]
struct QuoteRow {
    document: String,
    section: String,
    port: String,
    protocol: String,
    quote: String,
}

fn quote_rows() -> Vec<QuoteRow> {
    csv::Reader::from_reader(QUOTES.as_bytes())
        .deserialize()
        .map(|r| r.expect("quotes.csv row"))
        .collect()
}

/// Issue 23: every citation quote is verbatim in a pinned fingerprint of the section it
/// cites (a paraphrase, a wrong section or a wrong document fails), contains its port,
/// and is carried by the compiled catalogue.
#[test]
fn quotes_are_verbatim_in_their_sections() {
    let prints = fingerprints();
    let rows = quote_rows();
    assert!(rows.len() >= 60, "{} quotes", rows.len());
    let mut wrong = Vec::new();
    for q in &rows {
        if let Err(e) = check_quote(&prints, &q.document, &q.section, &q.quote) {
            wrong.push(format!("{}/{}: {e}", q.port, q.protocol));
        }
        let first: u16 = q
            .port
            .split('-')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        assert!(quotefile::has_number(&q.quote, first), "{}", q.quote);
        let carried = portq_catalog::requirements()
            .iter()
            .flat_map(|r| r.citations.iter())
            .any(|c| c.quote == q.quote.trim() && c.document().id == q.document);
        assert!(carried, "not in the catalogue: {}", q.quote);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!(
        "{} quotes checked against {} sections",
        rows.len(),
        prints.len()
    );
}

/// The check can fail: a quote with one word changed, a quote put under another section
/// of the same document, and the 4-word runs of a quote from another document are all
/// refused.
#[test]
fn the_quote_check_refuses_a_wrong_citation() {
    let prints = fingerprints();
    let rows = quote_rows();
    let q = rows
        .iter()
        .find(|q| words(&q.quote).len() >= 6)
        .expect("a quote of 6 words");
    assert!(check_quote(&prints, &q.document, &q.section, &q.quote).is_ok());
    // A paraphrase: one word changed.
    let mut w = words(&q.quote);
    w[1] = format!("{}x", w[1]);
    assert!(check_quote(&prints, &q.document, &q.section, &w.join(" ")).is_err());
    // Another section of the same document (or, failing that, another document).
    let other = prints
        .keys()
        .find(|(d, s)| d == &q.document && s != &q.section)
        .or_else(|| prints.keys().find(|(d, _)| d != &q.document))
        .expect("another section");
    assert!(check_quote(&prints, &other.0, &other.1, &q.quote).is_err());
    // A section never fingerprinted.
    assert!(check_quote(&prints, "kb832017", "no-such-section", &q.quote).is_err());
}
