//! Parsing and validation of the catalogue data files under `data/`.
//!
//! Pure functions from the files' text to typed values plus a list of errors: no file
//! I/O and no panic on any input. Not a module of the library: `build.rs` includes this
//! file (`#[path = "src/datafile.rs"] mod datafile;`) to compile the catalogue, and the
//! `catalog_datafiles` fuzz target includes it the same way, so the fuzzer exercises
//! exactly the build's parser.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The text of every data file.
pub struct Sources<'a> {
    /// `services.toml`.
    pub services: &'a str,
    /// `requirements.csv`.
    pub requirements: &'a str,
    /// `roles.toml`.
    pub roles: &'a str,
    /// `rpc-interfaces.csv`.
    pub rpc_interfaces: &'a str,
    /// `rpc-services.csv`.
    pub rpc_services: &'a str,
    /// `iana-service-ports.csv`.
    pub iana: &'a str,
    /// `documents.toml`.
    pub documents: &'a str,
}

/// The whole catalogue, validated. Indices refer to positions in the vectors here.
pub struct Catalog {
    /// The cited documents in file order.
    pub documents: Vec<Document>,
    /// Services in file order.
    pub services: Vec<Service>,
    /// Requirements in file order; `service` indexes `services`.
    pub requirements: Vec<Req>,
    /// Roles in file order.
    pub roles: Vec<Role>,
    /// RPC interface names, sorted by uuid and version.
    pub rpc: Vec<RpcInterface>,
    /// uuids that rpc-services.csv names but rpc-interfaces.csv lacks, sorted.
    pub rpc_unnamed: Vec<u128>,
    /// The IANA fallback table.
    pub iana: Iana,
}

/// One `[[service]]` of services.toml.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable slug.
    pub id: String,
    /// Friendly name.
    pub name: String,
    /// Windows service short name.
    pub service_name: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Our own summary.
    pub description: String,
}

/// One `[[document]]` of documents.toml: a source the catalogue cites.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Stable slug cited as `id#section`.
    pub id: String,
    /// The document's title.
    pub title: String,
    /// Microsoft KB number, when it has one.
    #[serde(default)]
    pub kb: String,
    /// Where the copy was read: `repository:path`.
    pub path: String,
    /// The stored version read (short commit), when known.
    #[serde(default)]
    pub commit: String,
    /// The document's own date, `YYYY-MM-DD`; empty only with a `date_note`.
    pub date: String,
    /// Why there is no date.
    #[serde(default)]
    pub date_note: String,
    /// Section id -> heading.
    pub sections: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct DocumentsFile {
    document: Vec<Document>,
}

#[derive(serde::Deserialize)]
struct ServicesFile {
    service: Vec<Service>,
}

#[derive(serde::Deserialize)]
struct RequirementIn {
    service: String,
    port: String,
    protocol: String,
    application_protocol: String,
    qualifiers: String,
    notes: String,
    listed_as: String,
    sources: String,
    disagreement: String,
}

/// One row of requirements.csv, validated; the strings are Rust variant names.
pub struct Req {
    /// Index into [`Catalog::services`].
    pub service: usize,
    /// First and last port (none for ICMP and IP protocols).
    pub ports: Option<(u16, u16)>,
    /// `Transport` variant.
    pub transport: &'static str,
    /// Application protocol.
    pub app: String,
    /// `Qualifier` variants.
    pub qualifiers: Vec<&'static str>,
    /// Notes.
    pub notes: String,
    /// Labels the article lists the row under.
    pub listed_as: Vec<String>,
    /// Where the row comes from, at least one.
    pub citations: Vec<Cite>,
    /// The disagreement the row belongs to: (topic, true when this is the current fact).
    pub disagreement: Option<(String, bool)>,
}

/// A citation of a requirement: a document section, and the label the document uses.
pub struct Cite {
    /// Index into [`Catalog::documents`].
    pub document: usize,
    /// The section's heading.
    pub section: String,
    /// The name the document gives the service for this row (empty: the service's own).
    pub label: String,
}

#[derive(serde::Deserialize)]
struct RolesFile {
    role: Vec<RoleIn>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleIn {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    description: String,
    #[serde(default)]
    options: Vec<RoleOption>,
    #[serde(default)]
    allow: Vec<AllowIn>,
    /// What the role's server opens outward: outbound rows only, never opened inbound.
    #[serde(default)]
    connects: Vec<ConnectIn>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectIn {
    service: String,
    /// Selectors as in [`AllowIn::ports`]; each must match an outbound row.
    ports: Vec<String>,
}

/// One option of a role.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleOption {
    /// Option id.
    pub id: String,
    /// What it means.
    pub description: String,
    /// On unless switched off.
    pub default: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowIn {
    service: String,
    /// `389/tcp`, `49152-65535/tcp`, `icmp`, or `*` (every requirement of the service).
    ports: Vec<String>,
    direction: String,
    #[serde(default)]
    option: Option<String>,
}

/// One role of roles.toml, its selectors resolved to requirements.
pub struct Role {
    /// Role id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// What the role is.
    pub description: String,
    /// Options.
    pub options: Vec<RoleOption>,
    /// Requirements in selector order, each (requirement, direction) once.
    pub requirements: Vec<RoleReq>,
    /// Outbound requirements the role's server opens (indices, each once).
    pub outbound: Vec<usize>,
}

/// A requirement a role needs.
pub struct RoleReq {
    /// Index into [`Catalog::requirements`].
    pub requirement: usize,
    /// `Direction` variant.
    pub direction: &'static str,
    /// The option that switches it on, if any.
    pub option: Option<String>,
}

#[derive(serde::Deserialize)]
struct RpcIn {
    uuid: String,
    version: String,
    name: String,
    service: String,
}

#[derive(serde::Deserialize)]
struct RpcServiceIn {
    uuid: String,
    short_name: String,
    service: String,
}

/// One RPC interface name.
pub struct RpcInterface {
    /// Interface uuid.
    pub uuid: u128,
    /// Major and minor version, when the source gives one.
    pub version: Option<(u16, u16)>,
    /// Name.
    pub name: String,
    /// The binary that serves it.
    pub binary: String,
    /// Short name from rpc-services.csv (empty when none).
    pub short_name: String,
    /// Index into [`Catalog::services`], from rpc-services.csv.
    pub service: Option<usize>,
}

#[derive(serde::Deserialize)]
struct IanaIn {
    service_name: String,
    port: String,
    protocol: String,
    description: String,
}

/// A slice of [`Iana::text`]: byte offset and length.
pub type TextRef = (u32, u16);

/// The IANA table: every distinct string once in `text`, rows pointing into it.
pub struct Iana {
    /// Concatenated, de-duplicated names and descriptions.
    pub text: String,
    /// (first port, last port, protocol code, name, description), sorted.
    pub rows: Vec<(u16, u16, u8, TextRef, TextRef)>,
}

/// Error messages, each naming the file and row.
pub type Errors = Vec<String>;

/// Parses and validates every file; the catalogue is usable only when no error is returned.
pub fn parse_all(src: &Sources<'_>) -> (Catalog, Errors) {
    let mut errors = Errors::new();
    let documents = documents(src.documents, &mut errors);
    let services = services(src.services, &mut errors);
    let index: HashMap<String, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let requirements = requirements(src.requirements, &index, &documents, &mut errors);
    let roles = roles(src.roles, &index, &requirements, &mut errors);
    let (rpc, rpc_unnamed) = rpc(src.rpc_interfaces, src.rpc_services, &index, &mut errors);
    let iana = iana(src.iana, &mut errors);
    let catalog = Catalog {
        documents,
        services,
        requirements,
        roles,
        rpc,
        rpc_unnamed,
        iana,
    };
    (catalog, errors)
}

fn csv_rows<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    errors: &mut Errors,
) -> Vec<(usize, T)> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, r) in rdr.deserialize().enumerate() {
        match r {
            Ok(v) => rows.push((i + 2, v)),
            Err(e) => errors.push(format!("{file}: row {}: {e}", i + 2)),
        }
    }
    rows
}

/// True for a real calendar date written `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if s.bytes().filter(u8::is_ascii_digit).count() != 8 {
        return false;
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1990..=2100).contains(&y) && (1..=days).contains(&d)
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn documents(text: &str, errors: &mut Errors) -> Vec<Document> {
    let file: DocumentsFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(format!("documents.toml: {e}"));
            return Vec::new();
        }
    };
    let mut ids = BTreeSet::new();
    for d in &file.document {
        let at = format!("documents.toml: document {:?}", d.id);
        if !is_slug(&d.id) {
            errors.push(format!(
                "{at}: id must be lower-case letters, digits and '-'"
            ));
        }
        if !ids.insert(d.id.clone()) {
            errors.push(format!("{at}: duplicate id"));
        }
        if d.title.trim().is_empty() {
            errors.push(format!("{at}: needs a title"));
        }
        if !d.path.contains(':') {
            errors.push(format!("{at}: path must be repository:path"));
        }
        if d.date.is_empty() {
            if d.date_note.trim().is_empty() {
                errors.push(format!("{at}: needs a date, or a date_note saying why not"));
            }
        } else if !is_date(&d.date) {
            errors.push(format!("{at}: date {:?} is not YYYY-MM-DD", d.date));
        }
        if d.sections.is_empty() {
            errors.push(format!("{at}: needs at least one section"));
        }
        for (id, heading) in &d.sections {
            if !is_slug(id) || heading.trim().is_empty() {
                errors.push(format!("{at}: bad section {id:?}"));
            }
        }
    }
    file.document
}

/// Parses the `sources` cell: `doc#section` or `doc#section=Label`, separated by `;`.
fn citations(cell: &str, docs: &[Document], at: &str, errors: &mut Errors) -> Vec<Cite> {
    let mut out: Vec<Cite> = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (place, label) = part.split_once('=').unwrap_or((part, ""));
        let Some((doc, section)) = place.split_once('#') else {
            errors.push(format!("{at}: source {part:?} is not document#section"));
            continue;
        };
        let Some(di) = docs.iter().position(|d| d.id == doc) else {
            errors.push(format!("{at}: unknown document {doc:?}"));
            continue;
        };
        let Some(heading) = docs[di].sections.get(section) else {
            errors.push(format!("{at}: document {doc} has no section {section:?}"));
            continue;
        };
        if out
            .iter()
            .any(|c| c.document == di && c.section == *heading && c.label == label)
        {
            errors.push(format!("{at}: source {part:?} given twice"));
            continue;
        }
        out.push(Cite {
            document: di,
            section: heading.clone(),
            label: label.trim().to_owned(),
        });
    }
    if out.is_empty() {
        errors.push(format!(
            "{at}: every row needs a source (document#section in the sources column)"
        ));
    }
    out
}

fn services(text: &str, errors: &mut Errors) -> Vec<Service> {
    let file: ServicesFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(format!("services.toml: {e}"));
            return Vec::new();
        }
    };
    let mut ids = BTreeSet::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for s in &file.service {
        if !is_slug(&s.id) {
            errors.push(format!(
                "services.toml: id {:?} must be lower-case letters, digits and '-'",
                s.id
            ));
        }
        if !ids.insert(s.id.clone()) {
            errors.push(format!("services.toml: duplicate id {}", s.id));
        }
        if s.name.trim().is_empty() || s.description.trim().len() < 20 {
            errors.push(format!(
                "services.toml: {} needs a name and a description",
                s.id
            ));
        }
        for n in std::iter::once(&s.name).chain(&s.aliases) {
            if let Some(other) = names.insert(n.to_lowercase(), s.id.clone())
                && other != s.id
            {
                errors.push(format!(
                    "services.toml: name or alias {n:?} used by both {other} and {}",
                    s.id
                ));
            }
        }
    }
    file.service
}

fn transport(s: &str) -> Option<&'static str> {
    Some(match s {
        "TCP" => "Tcp",
        "UDP" => "Udp",
        "ICMP" => "Icmp",
        "GRE" => "Gre",
        "ESP" => "Esp",
        "AH" => "Ah",
        _ => return None,
    })
}

fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| format!("bad port {s:?}"))?;
    let b: u16 = b.parse().map_err(|_| format!("bad port {s:?}"))?;
    if a == 0 || a > b {
        return Err(format!("bad port range {s:?}"));
    }
    Ok((a, b))
}

fn qualifier(q: &str) -> Option<&'static str> {
    Some(match q {
        "ssl" => "Ssl",
        "global-catalog" => "GlobalCatalog",
        "rpc-dynamic" => "RpcDynamic",
        "rpc-legacy-range" => "RpcLegacyRange",
        "rpc-endpoint-mapper" => "RpcEndpointMapper",
        "optional" => "Optional",
        "outbound" => "Outbound",
        "convention" => "Convention",
        _ => return None,
    })
}

/// Parses the `disagreement` cell: `topic:current` or `topic:superseded`.
fn disagreement(cell: &str) -> Result<Option<(String, bool)>, String> {
    if cell.trim().is_empty() {
        return Ok(None);
    }
    let (topic, standing) = cell.split_once(':').ok_or_else(|| {
        format!("disagreement {cell:?} must be topic:current or topic:superseded")
    })?;
    if !is_slug(topic) {
        return Err(format!("disagreement topic {topic:?} must be a slug"));
    }
    match standing {
        "current" => Ok(Some((topic.to_owned(), true))),
        "superseded" => Ok(Some((topic.to_owned(), false))),
        _ => Err(format!(
            "disagreement {cell:?} must end in :current or :superseded"
        )),
    }
}

/// Every disagreement keeps both facts: exactly one current row and at least one
/// superseded row per topic, each cited.
fn check_disagreements(reqs: &[Req], errors: &mut Errors) {
    let mut topics: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in reqs {
        if let Some((t, current)) = &r.disagreement {
            let e = topics.entry(t.as_str()).or_default();
            if *current {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    for (t, (current, superseded)) in topics {
        if current != 1 || superseded == 0 {
            errors.push(format!(
                "requirements.csv: disagreement {t} needs one current row and at least one superseded row (has {current} and {superseded})"
            ));
        }
    }
}

fn requirements(
    text: &str,
    index: &HashMap<String, usize>,
    docs: &[Document],
    errors: &mut Errors,
) -> Vec<Req> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, r) in csv_rows::<RequirementIn>("requirements.csv", text, errors) {
        let at = format!("requirements.csv:{line}");
        let Some(&service) = index.get(&r.service) else {
            errors.push(format!("{at}: unknown service {:?}", r.service));
            continue;
        };
        let Some(t) = transport(&r.protocol) else {
            errors.push(format!("{at}: unknown protocol {:?}", r.protocol));
            continue;
        };
        let ports = if matches!(t, "Tcp" | "Udp") {
            match parse_port_range(&r.port) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(format!("{at}: {e}"));
                    continue;
                }
            }
        } else {
            if !r.port.is_empty() {
                errors.push(format!("{at}: {} has no port numbers", r.protocol));
            }
            None
        };
        let mut qualifiers = Vec::new();
        for q in r.qualifiers.split(';').filter(|q| !q.is_empty()) {
            match qualifier(q) {
                Some(v) => qualifiers.push(v),
                None => errors.push(format!("{at}: unknown qualifier {q:?}")),
            }
        }
        if qualifiers.contains(&"RpcDynamic") && ports.is_some_and(|(a, b)| a == b) {
            errors.push(format!("{at}: an RPC dynamic requirement must be a range"));
        }
        let citations = citations(&r.sources, docs, &at, errors);
        let disagreement = match disagreement(&r.disagreement) {
            Ok(d) => d,
            Err(e) => {
                errors.push(format!("{at}: {e}"));
                None
            }
        };
        if qualifiers.contains(&"Outbound") && !r.notes.starts_with("outbound") {
            errors.push(format!(
                "{at}: an outbound row's notes must start with \"outbound\""
            ));
        }
        let key = (service, ports, t, r.application_protocol.to_lowercase());
        if !seen.insert(key) {
            errors.push(format!(
                "{at}: duplicate row for {} {} {}",
                r.service, r.port, r.protocol
            ));
        }
        out.push(Req {
            service,
            ports,
            transport: t,
            app: r.application_protocol,
            qualifiers,
            notes: r.notes,
            listed_as: r
                .listed_as
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            citations,
            disagreement,
        });
    }
    check_disagreements(&out, errors);
    for (i, d) in docs.iter().enumerate() {
        if !out
            .iter()
            .any(|r| r.citations.iter().any(|c| c.document == i))
        {
            errors.push(format!(
                "documents.toml: document {} is cited by no row of requirements.csv",
                d.id
            ));
        }
    }
    out
}

/// A parsed allow selector: the port range (none for ICMP and IP protocols) and the
/// transport; `None` for `*`.
pub type Selector = Option<(Option<(u16, u16)>, &'static str)>;

/// Parses an allow selector: `389/tcp`, `49152-65535/tcp`, `icmp`, `gre`, or `*`.
pub fn selector(s: &str) -> Result<Selector, String> {
    if s == "*" {
        return Ok(None);
    }
    if let Some((p, t)) = s.split_once('/') {
        let t = transport(&t.to_uppercase()).ok_or_else(|| format!("bad transport in {s:?}"))?;
        return Ok(Some((Some(parse_port_range(p)?), t)));
    }
    let t = transport(&s.to_uppercase()).ok_or_else(|| format!("bad selector {s:?}"))?;
    Ok(Some((None, t)))
}

fn direction(d: &str) -> Option<&'static str> {
    Some(match d {
        "clients" => "Clients",
        "peers" => "Peers",
        "management" => "Management",
        _ => return None,
    })
}

fn roles(
    text: &str,
    index: &HashMap<String, usize>,
    reqs: &[Req],
    errors: &mut Errors,
) -> Vec<Role> {
    let file: RolesFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(format!("roles.toml: {e}"));
            return Vec::new();
        }
    };
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for role in file.role {
        for n in std::iter::once(&role.id).chain(&role.aliases) {
            if !names.insert(n.to_lowercase()) {
                errors.push(format!(
                    "roles.toml: role name or alias {n:?} is used twice"
                ));
            }
        }
        let option_ids: BTreeSet<&str> = role.options.iter().map(|o| o.id.as_str()).collect();
        for o in &role.options {
            if !role
                .allow
                .iter()
                .any(|a| a.option.as_deref() == Some(o.id.as_str()))
            {
                errors.push(format!(
                    "roles.toml: role {}, option {:?} switches no requirement on",
                    role.id, o.id
                ));
            }
        }

        let mut requirements = Vec::new();
        let mut chosen: BTreeSet<(usize, &str)> = BTreeSet::new();
        for a in &role.allow {
            let at = format!("roles.toml: role {}, service {}", role.id, a.service);
            let Some(&svc) = index.get(&a.service) else {
                errors.push(format!("{at}: unknown service"));
                continue;
            };
            let Some(dir) = direction(&a.direction) else {
                errors.push(format!("{at}: unknown direction {:?}", a.direction));
                continue;
            };
            if let Some(o) = &a.option
                && !option_ids.contains(o.as_str())
            {
                errors.push(format!("{at}: unknown option {o:?}"));
            }
            for sel in &a.ports {
                let parsed = match selector(sel) {
                    Ok(s) => s,
                    Err(e) => {
                        errors.push(format!("{at}: {e}"));
                        continue;
                    }
                };
                let mut matched = 0;
                for (ri, r) in reqs.iter().enumerate() {
                    if r.service != svc {
                        continue;
                    }
                    if let Some((ports, t)) = parsed
                        && (r.transport != t || (ports.is_some() && r.ports != ports))
                    {
                        continue;
                    }
                    // A role lists what its server accepts, by today's documents: rows
                    // the server opens outward and facts another document supersedes
                    // are never part of one.
                    if r.qualifiers.contains(&"Outbound")
                        || r.disagreement.as_ref().is_some_and(|d| !d.1)
                    {
                        continue;
                    }
                    matched += 1;
                    if chosen.insert((ri, dir)) {
                        requirements.push(RoleReq {
                            requirement: ri,
                            direction: dir,
                            option: a.option.clone(),
                        });
                    }
                }
                if matched == 0 {
                    errors.push(format!(
                        "{at}: {sel} matches no current, inbound catalogue requirement of that service"
                    ));
                }
            }
        }
        let mut outbound = Vec::new();
        for c in &role.connects {
            let at = format!("roles.toml: role {}, connects to {}", role.id, c.service);
            let Some(&svc) = index.get(&c.service) else {
                errors.push(format!("{at}: unknown service"));
                continue;
            };
            for sel in &c.ports {
                let parsed = match selector(sel) {
                    Ok(s) => s,
                    Err(e) => {
                        errors.push(format!("{at}: {e}"));
                        continue;
                    }
                };
                let before = outbound.len();
                for (ri, r) in reqs.iter().enumerate() {
                    let fits = r.service == svc
                        && parsed.is_none_or(|(ports, t)| {
                            r.transport == t && (ports.is_none() || r.ports == ports)
                        });
                    if fits && r.qualifiers.contains(&"Outbound") && !outbound.contains(&ri) {
                        outbound.push(ri);
                    }
                }
                if outbound.len() == before {
                    errors.push(format!(
                        "{at}: {sel} matches no outbound row of that service"
                    ));
                }
            }
        }
        if requirements.is_empty() && outbound.is_empty() {
            errors.push(format!(
                "roles.toml: role {} lists nothing it accepts or connects to",
                role.id
            ));
        }
        out.push(Role {
            id: role.id,
            name: role.name,
            aliases: role.aliases,
            description: role.description,
            options: role.options,
            requirements,
            outbound,
        });
    }
    out
}

/// Parses a uuid in its canonical 8-4-4-4-12 hex form.
fn parse_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let d = char::from(c).to_digit(16)?;
        v = (v << 4) | u128::from(d);
    }
    Some(v)
}

fn parse_version(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn rpc(
    interfaces: &str,
    services: &str,
    index: &HashMap<String, usize>,
    errors: &mut Errors,
) -> (Vec<RpcInterface>, Vec<u128>) {
    let mut rows = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, r) in csv_rows::<RpcIn>("rpc-interfaces.csv", interfaces, errors) {
        let at = format!("rpc-interfaces.csv:{line}");
        let Some(uuid) = parse_uuid(&r.uuid) else {
            errors.push(format!("{at}: bad uuid {:?}", r.uuid));
            continue;
        };
        let version = if r.version.is_empty() {
            None
        } else {
            match parse_version(&r.version) {
                Some(v) => Some(v),
                None => {
                    errors.push(format!("{at}: bad version {:?}", r.version));
                    continue;
                }
            }
        };
        if !seen.insert((uuid, version)) {
            errors.push(format!("{at}: duplicate {} {}", r.uuid, r.version));
        }
        rows.push((uuid, version, r.name, r.service));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let mut short: BTreeMap<u128, (String, usize)> = BTreeMap::new();
    for (line, r) in csv_rows::<RpcServiceIn>("rpc-services.csv", services, errors) {
        let at = format!("rpc-services.csv:{line}");
        let Some(uuid) = parse_uuid(&r.uuid) else {
            errors.push(format!("{at}: bad uuid {:?}", r.uuid));
            continue;
        };
        let Some(&svc) = index.get(&r.service) else {
            errors.push(format!("{at}: unknown service {:?}", r.service));
            continue;
        };
        if short.insert(uuid, (r.short_name, svc)).is_some() {
            errors.push(format!("{at}: duplicate uuid"));
        }
    }
    let unnamed = short
        .keys()
        .filter(|u| !rows.iter().any(|r| r.0 == **u))
        .copied()
        .collect();
    let out = rows
        .into_iter()
        .map(|(uuid, version, name, binary)| {
            let (short_name, service) = match short.get(&uuid) {
                Some((n, s)) => (n.clone(), Some(*s)),
                None => (String::new(), None),
            };
            RpcInterface {
                uuid,
                version,
                name,
                binary,
                short_name,
                service,
            }
        })
        .collect();
    (out, unnamed)
}

fn iana_protocol(p: &str) -> Option<u8> {
    Some(match p {
        "tcp" => 1,
        "udp" => 2,
        "sctp" => 3,
        "dccp" => 4,
        "" => 0,
        _ => return None,
    })
}

/// Appends each distinct string to one text once; hands out (offset, length).
#[derive(Default)]
struct Interner {
    text: String,
    offsets: HashMap<String, TextRef>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Option<TextRef> {
        if let Some(v) = self.offsets.get(s) {
            return Some(*v);
        }
        let v = (
            u32::try_from(self.text.len()).ok()?,
            u16::try_from(s.len()).ok()?,
        );
        self.text.push_str(s);
        self.offsets.insert(s.to_owned(), v);
        Some(v)
    }
}

fn iana(text: &str, errors: &mut Errors) -> Iana {
    let mut interner = Interner::default();
    let mut rows = Vec::new();
    for (line, r) in csv_rows::<IanaIn>("iana-service-ports.csv", text, errors) {
        let at = format!("iana-service-ports.csv:{line}");
        let (a, b) = r.port.split_once('-').unwrap_or((&r.port, &r.port));
        let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) else {
            errors.push(format!("{at}: bad port {:?}", r.port));
            continue;
        };
        if a > b {
            errors.push(format!("{at}: inverted range"));
            continue;
        }
        let Some(proto) = iana_protocol(&r.protocol) else {
            errors.push(format!("{at}: unknown protocol {:?}", r.protocol));
            continue;
        };
        let (Some(n), Some(d)) = (
            interner.intern(&r.service_name),
            interner.intern(&r.description),
        ) else {
            errors.push(format!("{at}: text too long"));
            continue;
        };
        rows.push((a, b, proto, n, d));
    }
    rows.sort_by_key(|r| (r.0, r.1, r.2));
    Iana {
        text: interner.text,
        rows,
    }
}
