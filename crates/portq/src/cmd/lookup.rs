//! `portq lookup`, `portq services`, `portq ports`: questions answered from the catalogue.

use crate::exit::{Failure, Status};
use crate::out;
use crate::render::{Format, Grid};
pub use crate::views::lookup::Row;
use portq_catalog::Query;
use portq_catalog::roles::{self, RoleEntry};
use portq_catalog::search::{self, SearchOptions};
use portq_catalog::services_file;
use serde::Serialize;
use std::path::PathBuf;

/// Formats the lookup views offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LookupFormat {
    /// An aligned table.
    Table,
    /// A JSON array (fields documented in docs/json.md).
    Json,
    /// CSV with a header row.
    Csv,
    /// A Markdown table.
    Markdown,
}

impl From<LookupFormat> for Format {
    fn from(f: LookupFormat) -> Format {
        match f {
            LookupFormat::Table => Format::Table,
            LookupFormat::Json => Format::Json,
            LookupFormat::Csv => Format::Csv,
            LookupFormat::Markdown => Format::Markdown,
        }
    }
}

/// Arguments of `portq lookup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ports (445), ports with transport (135/tcp), ranges (49152-65535), service names
    /// (Spooler), or words (global catalog). Words next to each other are one question,
    /// quoted or not; several ports are answered together.
    #[arg(value_name = "QUERY")]
    pub queries: Vec<String>,
    /// Also list what these server roles need (repeatable; `ROLE[:OPTION,no-OPTION]`, see `portq roles`).
    #[arg(long = "role", short = 'r', value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: LookupFormat,
    /// Add IANA registry answers even for ports the Windows catalogue knows.
    #[arg(long)]
    pub iana: bool,
    /// For a single port, also list the wide ranges (RPC dynamic, ISA/TMG...) that contain it.
    #[arg(long)]
    pub ranges: bool,
    /// Also search the machine's services file (or the one given); it is read on its own
    /// only when neither the catalogue nor IANA knows the answer.
    #[arg(long, value_name = "PATH")]
    pub services_file: Option<Option<PathBuf>>,
    /// Add a SOURCE column: where each fact comes from (document, section, date).
    #[arg(long)]
    pub explain: bool,
    /// List the documents the catalogue is built from, with their dates, and exit.
    #[arg(long, conflicts_with_all = ["queries", "roles", "explain"])]
    pub sources: bool,
    /// List every match of words, not only the best answers (JSON and CSV always list
    /// every match unless --limit says otherwise).
    #[arg(long)]
    pub all: bool,
    /// At most this many answers per question, in every format; the number left out is
    /// said on stderr.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

/// The questions of a `lookup` command line: a port, port/transport or range stands on
/// its own; consecutive words are one question (`portq lookup global catalog` asks what
/// `portq lookup "global catalog"` asks).
pub fn questions(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut words = String::new();
    for a in args {
        // A port stands alone; so does an empty argument, which is refused as one.
        let is_port = matches!(Query::parse(a), Ok(Query::Ports { .. }));
        if is_port || a.trim().is_empty() {
            if !words.is_empty() {
                out.push(std::mem::take(&mut words));
            }
            out.push(a.clone());
        } else {
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(a.trim());
        }
    }
    if !words.is_empty() {
        out.push(words);
    }
    out
}

/// Arguments of the `services` and `ports` views.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: LookupFormat,
}

/// Renders rows in the chosen format; `explain` adds the SOURCE column with citations.
pub fn render_rows(
    rows: &[Row],
    format: LookupFormat,
    title: &str,
    explain: bool,
) -> Result<(), Failure> {
    let with_source = explain || rows.iter().any(|r| r.source != "catalog");
    let with_roles = rows.iter().any(|r| !r.roles.is_empty());
    let write = match Format::from(format) {
        Format::Json => out::json(rows),
        f => {
            let mut headers = vec![
                "PORT",
                "PROTO",
                "SERVICE",
                "SERVICE NAME",
                "APPLICATION PROTOCOL",
                "NOTES",
            ];
            if with_roles {
                headers.extend(["FROM", "ROLES"]);
            }
            if with_source || f == Format::Csv {
                headers.push("SOURCE");
            }
            let mut grid = Grid::new(headers)
                .keep_whole(&["PORT", "SERVICE"])
                .drop_when_narrow(&["SOURCE", "APPLICATION PROTOCOL"]);
            for r in rows {
                let mut cells = vec![
                    r.port_text(),
                    r.protocol.to_uppercase(),
                    r.service.clone(),
                    r.service_name.clone(),
                    r.application_protocol.clone(),
                    if r.in_range {
                        format!("in range; {}", r.notes)
                            .trim_end_matches("; ")
                            .to_owned()
                    } else {
                        r.notes.clone()
                    },
                ];
                if with_roles {
                    cells.push(r.directions.join(", "));
                    cells.push(r.roles.join(", "));
                }
                if explain {
                    cells.push(r.source_text());
                } else if with_source || f == Format::Csv {
                    cells.push(r.source.to_owned());
                }
                grid.push(cells);
            }
            out::print(&grid.render(f, title).unwrap_or_default())
        }
    };
    write.map_err(Failure::runtime)
}

fn read_services_file(
    path: &std::path::Path,
) -> Result<Vec<services_file::ServicesFileEntry>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read services file {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    file.take(services_file::MAX_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read services file {}: {e}", path.display()))?;
    if buf.len() as u64 > services_file::MAX_SIZE {
        return Err(format!(
            "services file {} is larger than {} bytes",
            path.display(),
            services_file::MAX_SIZE
        ));
    }
    let text = String::from_utf8(buf)
        .map_err(|_| format!("services file {} is not text (UTF-8)", path.display()))?;
    Ok(services_file::parse(&text))
}

/// `portq lookup`.
pub fn run(args: Args) -> Result<Status, Failure> {
    if args.sources {
        return sources(args.format);
    }
    if args.queries.is_empty() && args.roles.is_empty() {
        return Err(Failure::usage(
            "give a port, range, service name or --role to look up",
        ));
    }
    let texts = questions(&args.queries);
    let queries: Vec<Query> = texts
        .iter()
        .map(|q| Query::parse(q))
        .collect::<Result<_, _>>()
        .map_err(Failure::usage)?;
    let selections: Vec<_> = crate::cmd::parse_roles(&args.roles)?;

    let explicit_file = args
        .services_file
        .as_ref()
        .map(|p| p.clone().unwrap_or_else(services_file::default_path));
    let explicit_entries = match &explicit_file {
        Some(p) => Some(read_services_file(p).map_err(Failure::usage)?),
        None => None,
    };
    let mut implicit_entries: Option<Vec<services_file::ServicesFileEntry>> = None;

    let opts = SearchOptions {
        always_iana: args.iana,
        with_ranges: args.ranges,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut missing = Vec::new();
    let machine = matches!(args.format, LookupFormat::Json | LookupFormat::Csv);
    for (text, q) in texts.iter().zip(&queries) {
        let mut result = search::lookup(q, opts);
        if let Some(fix) = &result.did_you_mean {
            eprintln!("portq: no match for '{text}'; did you mean '{fix}'?");
        }
        if result.ranges_left_out > 0 {
            eprintln!(
                "portq: {} wide port range(s) also contain {text} (RPC dynamic and the like); add --ranges to list them",
                result.ranges_left_out
            );
        }
        let file_entries = match &explicit_entries {
            Some(e) => Some(e),
            None if result.wants_services_file() => {
                Some(&*implicit_entries.get_or_insert_with(|| {
                    read_services_file(&services_file::default_path()).unwrap_or_default()
                }))
            }
            None => None,
        };
        if let Some(entries) = file_entries {
            result.add_fallbacks(search::lookup_services_file(q, entries));
        }
        if result.hits.is_empty() {
            missing.push(text.clone());
        }
        if result.in_range > 0 && result.in_range == result.hits.len() {
            eprintln!(
                "portq: {text} has no entry of its own; listing the wide range(s) that contain it (marked \"in range\")"
            );
        }
        if let Some(range) = rpc_dynamic_port(q, &result) {
            eprintln!(
                "portq: {text} is in the RPC dynamic range {range}: which service holds it differs per host and per boot; `portq rpc HOST` names it"
            );
        }
        // Machine formats list every match; a table the best, with the rest counted.
        let mut shown = if args.all || machine {
            result.hits.len()
        } else {
            result.shown
        };
        if let Some(limit) = args.limit {
            shown = shown.min(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        if shown < result.hits.len() {
            let how = if args.limit.is_some() {
                "raise --limit"
            } else {
                "--all"
            };
            eprintln!(
                "portq: {} of {} answers for '{text}' shown; {} more: {how}",
                shown,
                result.hits.len(),
                result.hits.len() - shown
            );
        }
        rows.extend(result.hits.iter().enumerate().take(shown).map(|(i, h)| {
            let mut row = Row::from_hit(h);
            row.in_range = result.is_in_range(i);
            row
        }));
    }
    if !selections.is_empty() {
        rows.extend(role_rows(&roles::expand(&selections)));
        // What the roles' servers open outward, after what they accept: `outbound` in
        // DIRECTIONS, never a port any rule or check opens inbound.
        for (r, role_ids) in roles::outbound(&selections) {
            let mut row = Row::from_requirement(r);
            row.directions = vec!["outbound"];
            row.roles = role_ids;
            row.service_ids = row.service_id.into_iter().collect();
            rows.push(row);
        }
    }
    // One row once, however many questions found it.
    let mut seen = std::collections::BTreeSet::new();
    rows.retain(|r| seen.insert(r.identity()));
    for m in &missing {
        eprintln!("portq: nothing known about '{m}'");
    }
    if !rows.is_empty() {
        render_rows(&rows, args.format, "portq lookup", args.explain)?;
    } else if args.format == LookupFormat::Json {
        out::print("[]\n").map_err(Failure::runtime)?;
    }
    Ok(if missing.is_empty() && !rows.is_empty() {
        Status::Ok
    } else {
        Status::NotAsExpected
    })
}

/// The RPC dynamic range a single-port question falls in, when that is all the
/// catalogue knows of the port.
fn rpc_dynamic_port(q: &Query, result: &search::SearchResult) -> Option<String> {
    let Query::Ports { range, .. } = q else {
        return None;
    };
    if range.start != range.end {
        return None;
    }
    // A port without entries of its own is answered with the wide ranges that contain it
    // (the search lists them then): no second search is needed to find the RPC range.
    let own = result
        .hits
        .iter()
        .enumerate()
        .any(|(i, h)| !result.is_in_range(i) && h.origin() == search::Origin::Catalog);
    if own {
        return None;
    }
    result.hits.iter().find_map(|h| match h {
        search::Hit::Catalog(r) if r.has(portq_catalog::Qualifier::RpcDynamic) => r
            .ports
            .map(|p| format!("{}-{}/{}", p.start, p.end, r.transport.as_str())),
        _ => None,
    })
}

/// A role union's rows: each (port, transport) once, with every service and role that needs it.
fn role_rows(entries: &[RoleEntry]) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for e in entries {
        let row = Row::from_role_entry(e);
        let key = (row.port_start, row.port_end, row.protocol.clone());
        match out
            .iter_mut()
            .find(|r| (r.port_start, r.port_end, r.protocol.clone()) == key)
        {
            Some(r) => r.absorb(row),
            None => out.push(row),
        }
    }
    out
}

/// One service with its requirements, for `portq services --format json`.
#[derive(Debug, Serialize)]
struct ServiceView {
    id: &'static str,
    service: &'static str,
    service_name: &'static str,
    description: &'static str,
    aliases: &'static [&'static str],
    rpc_dynamic: bool,
    requirements: Vec<Row>,
}

/// `portq services`: the catalogue by service.
pub fn services(args: ViewArgs) -> Result<Status, Failure> {
    let all = portq_catalog::services();
    let write = match args.format {
        LookupFormat::Json => {
            let view: Vec<ServiceView> = all
                .iter()
                .map(|s| ServiceView {
                    id: s.id,
                    service: s.name,
                    service_name: s.service_name,
                    description: s.description,
                    aliases: s.aliases,
                    rpc_dynamic: s.rpc_dynamic,
                    requirements: s.requirements().map(Row::from_requirement).collect(),
                })
                .collect();
            out::json(&view)
        }
        f => {
            let mut sorted: Vec<_> = all.iter().collect();
            sorted.sort_by_key(|s| s.name.to_lowercase());
            let mut grid = Grid::new(vec![
                "SERVICE",
                "SERVICE NAME",
                "PORT",
                "PROTO",
                "APPLICATION PROTOCOL",
                "NOTES",
            ]);
            for s in sorted {
                for (i, r) in s.requirements().enumerate() {
                    let row = Row::from_requirement(r);
                    let first = i == 0 || f != LookupFormat::Table;
                    grid.push(vec![
                        if first {
                            s.name.to_owned()
                        } else {
                            String::new()
                        },
                        if first {
                            s.service_name.to_owned()
                        } else {
                            String::new()
                        },
                        row.port_text(),
                        row.protocol.to_uppercase(),
                        row.application_protocol,
                        row.notes,
                    ]);
                }
            }
            out::print(&grid.render(f.into(), "portq services").unwrap_or_default())
        }
    };
    write.map_err(Failure::runtime)?;
    Ok(Status::Ok)
}

/// `portq ports`: the catalogue sorted by port.
pub fn ports(args: ViewArgs) -> Result<Status, Failure> {
    let rows: Vec<Row> = portq_catalog::requirements_by_port()
        .into_iter()
        .map(Row::from_requirement)
        .collect();
    render_rows(&rows, args.format, "portq ports", false)?;
    Ok(Status::Ok)
}

/// One document of `portq lookup --sources`.
#[derive(Debug, Serialize)]
struct DocumentView {
    id: &'static str,
    title: &'static str,
    kb: &'static str,
    date: &'static str,
    date_note: &'static str,
    path: &'static str,
    commit: &'static str,
    /// How many catalogue rows cite it.
    rows: usize,
    #[serde(skip)]
    doc: &'static portq_catalog::Document,
}

/// `portq lookup --sources`: the documents the catalogue is built from, newest first.
fn sources(format: LookupFormat) -> Result<Status, Failure> {
    let reqs = portq_catalog::requirements();
    let mut docs: Vec<DocumentView> = portq_catalog::documents()
        .iter()
        .map(|d| DocumentView {
            id: d.id,
            title: d.title,
            kb: d.kb,
            date: d.date,
            date_note: d.date_note,
            path: d.path,
            commit: d.commit,
            rows: reqs
                .iter()
                .filter(|r| r.citations.iter().any(|c| std::ptr::eq(c.document(), d)))
                .count(),
            doc: d,
        })
        .collect();
    docs.sort_by(|a, b| b.date.cmp(a.date).then(a.id.cmp(b.id)));
    let write = match Format::from(format) {
        Format::Json => out::json(&docs),
        f => {
            let mut grid = Grid::new(vec!["DATE", "DOCUMENT", "TITLE", "ROWS", "READ FROM"]);
            for d in &docs {
                let title = d.doc.full_title();
                let date = d.doc.date_text().to_owned();
                let from = if d.commit.is_empty() {
                    d.path.to_owned()
                } else {
                    format!("{} @ {}", d.path, d.commit)
                };
                grid.push(vec![date, d.id.to_owned(), title, d.rows.to_string(), from]);
            }
            out::print(&grid.render(f, "portq lookup --sources").unwrap_or_default())
        }
    };
    write.map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
