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
}

/// The whole catalogue, validated. Indices refer to positions in the vectors here.
pub struct Catalog {
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
    tables: String,
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
    /// `Source` variants.
    pub sources: Vec<&'static str>,
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
    allow: Vec<AllowIn>,
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
    let services = services(src.services, &mut errors);
    let index: HashMap<String, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let requirements = requirements(src.requirements, &index, &mut errors);
    let roles = roles(src.roles, &index, &requirements, &mut errors);
    let (rpc, rpc_unnamed) = rpc(src.rpc_interfaces, src.rpc_services, &index, &mut errors);
    let iana = iana(src.iana, &mut errors);
    let catalog = Catalog {
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
        let ok_id = !s.id.is_empty()
            && s.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok_id {
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
        _ => return None,
    })
}

fn source(s: &str) -> Option<&'static str> {
    Some(match s {
        "services" => "ServiceTable",
        "ports" => "PortTable",
        "text" => "ArticleText",
        "rules" => "RuleGroups",
        _ => return None,
    })
}

fn requirements(text: &str, index: &HashMap<String, usize>, errors: &mut Errors) -> Vec<Req> {
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
        let mut sources = Vec::new();
        for s in r.tables.split('+') {
            match source(s) {
                Some(v) => sources.push(v),
                None => errors.push(format!("{at}: unknown table {s:?}")),
            }
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
            sources,
        });
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
                        "{at}: {sel} matches no catalogue requirement of that service"
                    ));
                }
            }
        }
        out.push(Role {
            id: role.id,
            name: role.name,
            aliases: role.aliases,
            description: role.description,
            options: role.options,
            requirements,
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
