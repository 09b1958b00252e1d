//! The JSON API, and the answers it shares with the server-rendered pages: lookups,
//! roles, role requirements, rules in every `portq rules` format, RPC interface names.
//! Bad input is a 400 with `{"error": "..."}`, never a 500.

use super::params::{self, Params};
use crate::views::lookup::Row;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use portq_catalog::query::{MAX_QUERY_LEN, parse_range};
use portq_catalog::roles::{self, RoleSelection};
use portq_catalog::rpc::{self, RpcInterface};
use portq_catalog::search::{self, SearchOptions};
use portq_catalog::{PortRange, Query};
use portq_rules::addr::parse_item;
use portq_rules::render::render;
use portq_rules::{Context, Profile, RuleFormat, RuleOptions, RulesError, StaticPort, plan};
use serde::Serialize;
use serde_json::json;

/// Most rows one lookup answer carries (a wide range with `iana` can match thousands).
pub const MAX_ROWS: usize = 500;
/// Most roles in one selection.
const MAX_ROLES: usize = 32;
/// Most addresses or networks in one source list.
const MAX_CIDRS: usize = 64;
/// Most RPC interface rows in one answer.
pub const MAX_RPC_ROWS: usize = 100;

/// `{"error": message}` with a status.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn bad_request(message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, message)
}

// ---------------------------------------------------------------- lookup

/// One answered lookup.
#[derive(Debug, Serialize)]
pub struct LookupAnswer {
    /// The query as given.
    pub query: String,
    /// The corrected query when nothing matched as typed.
    pub did_you_mean: Option<String>,
    /// Wide ranges (RPC dynamic...) containing the port, left out unless `ranges` is set.
    pub ranges_left_out: usize,
    /// Rows found (before truncation).
    pub total: usize,
    /// True when more than [`MAX_ROWS`] matched and the rest were left out.
    pub truncated: bool,
    /// The answers, as `portq lookup --format json` gives them.
    pub rows: Vec<Row>,
}

/// Looks up one query in the catalogue (IANA as fallback).
pub fn search(q: &str, ranges: bool, iana: bool) -> Result<LookupAnswer, String> {
    let query = Query::parse(q).map_err(|e| e.to_string())?;
    let result = search::lookup(
        &query,
        SearchOptions {
            always_iana: iana,
            with_ranges: ranges,
        },
    );
    let total = result.hits.len();
    Ok(LookupAnswer {
        query: q.to_owned(),
        did_you_mean: result.did_you_mean.clone(),
        ranges_left_out: result.ranges_left_out,
        total,
        truncated: total > MAX_ROWS,
        rows: result
            .hits
            .iter()
            .take(MAX_ROWS)
            .map(Row::from_hit)
            .collect(),
    })
}

/// `GET /api/lookup?q=QUERY[&ranges=1][&iana=1]`.
pub async fn lookup(uri: Uri) -> Response {
    let p = match Params::from_uri(&uri) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let Some(q) = p.get("q") else {
        return bad_request(
            "give a query: /api/lookup?q=445 (a port, range, service name or words)",
        );
    };
    match search(q, p.flag("ranges"), p.flag("iana")) {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": e, "query": q })),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------- roles

/// `GET /api/roles`: the roles, as `portq roles --format json` lists them.
pub async fn roles() -> Response {
    Json(crate::views::roles::views()).into_response()
}

// ---------------------------------------------------------------- role builder

/// A role selection with rule options, as the builder form or the API gives it.
#[derive(Debug)]
pub struct Build {
    /// The selections in `ROLE:OPTION,no-OPTION` form, every option spelt out when the form set them.
    pub roles: Vec<String>,
    selections: Vec<RoleSelection>,
    opts: RuleOptions,
    no_default_drop: bool,
    profiles: Vec<Profile>,
    policy_store: Option<String>,
    log_blocked: bool,
    /// The source fields as given, for links.
    from: Vec<String>,
    peers: Vec<String>,
    management: Vec<String>,
    to: Vec<String>,
    rpc_range: Option<String>,
    static_ports: Vec<String>,
}

fn cidrs(p: &Params, name: &str) -> Result<(Vec<IpNet>, Vec<String>), String> {
    let items: Vec<&str> = p.items(name).collect();
    if items.len() > MAX_CIDRS {
        return Err(format!(
            "too many addresses in '{name}' (the limit is {MAX_CIDRS})"
        ));
    }
    let mut nets = Vec::new();
    for s in items
        .iter()
        .filter(|s| !(name == "from" && portq_rules::addr::is_any(s)))
    {
        let n = parse_item(s).ok_or_else(|| {
            if name == "to" {
                RulesError::BadDestination((*s).to_owned()).to_string()
            } else {
                RulesError::BadCidr((*s).to_owned()).to_string()
            }
        })?;
        nets.extend(n);
    }
    if nets.len() > MAX_CIDRS {
        return Err(format!(
            "too many addresses in '{name}' (the limit is {MAX_CIDRS})"
        ));
    }
    Ok((nets, items.into_iter().map(str::to_owned).collect()))
}

/// The Windows profiles ticked (`profile=domain`, repeatable or comma-separated).
fn profiles(p: &Params) -> Result<Vec<Profile>, String> {
    p.items("profile")
        .map(|s| match s.trim().to_ascii_lowercase().as_str() {
            "domain" => Ok(Profile::Domain),
            "private" => Ok(Profile::Private),
            "public" => Ok(Profile::Public),
            "any" => Ok(Profile::Any),
            other => Err(format!(
                "unknown profile '{other}' (expected domain, private, public or any)"
            )),
        })
        .collect()
}

/// The role selections: `role=ROLE[:OPTION,...]` as on the command line; with `opts=1`
/// (the builder form), a bare role's options are exactly the `opt=ROLE:OPTION` boxes ticked.
fn selection_texts(p: &Params) -> Result<Vec<String>, String> {
    let from_form = p.flag("opts");
    let ticked: Vec<&str> = p.all("opt").collect();
    let mut out: Vec<String> = Vec::new();
    for raw in p.all("role").map(str::trim).filter(|s| !s.is_empty()) {
        if out.len() == MAX_ROLES {
            return Err(format!("too many roles (the limit is {MAX_ROLES})"));
        }
        if from_form && !raw.contains(':') {
            let role = roles::find(raw).map_err(|e| e.to_string())?;
            let options: Vec<String> = role
                .options
                .iter()
                .map(|o| {
                    let key = format!("{}:{}", role.id, o.id);
                    if ticked.contains(&key.as_str()) {
                        o.id.to_owned()
                    } else {
                        format!("no-{}", o.id)
                    }
                })
                .collect();
            out.push(if options.is_empty() {
                role.id.to_owned()
            } else {
                format!("{}:{}", role.id, options.join(","))
            });
        } else {
            out.push(raw.to_owned());
        }
    }
    Ok(out)
}

impl Build {
    /// Reads the builder parameters; `None` when no role is given.
    pub fn from_params(p: &Params) -> Result<Option<Build>, String> {
        let texts = selection_texts(p)?;
        if texts.is_empty() {
            return Ok(None);
        }
        let selections = texts
            .iter()
            .map(|t| roles::parse_selection(t).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let any_source = p.items("from").any(portq_rules::addr::is_any);
        let (from_nets, from) = cidrs(p, "from")?;
        let (peer_nets, peers) = cidrs(p, "peers")?;
        let (mgmt_nets, management) = cidrs(p, "management")?;
        let (to_nets, to) = cidrs(p, "to")?;
        let policy_store = p.text("policy_store").map(str::trim).map(str::to_owned);
        if let Some(store) = &policy_store
            && (store.len() > 256
                || store.chars().any(char::is_control)
                || !store
                    .split_once('\\')
                    .is_some_and(|(d, n)| !d.trim().is_empty() && !n.trim().is_empty()))
        {
            return Err(RulesError::BadPolicyStore(store.clone()).to_string());
        }
        let rpc_range = p.text("rpc_range").map(str::to_owned);
        let range = match &rpc_range {
            Some(r) => Some(
                parse_range(r)
                    .map_err(|_| RulesError::BadRange(r.clone()).to_string())
                    .and_then(|range| check_range(r, range))?,
            ),
            None => None,
        };
        let static_ports: Vec<String> = p.items("static_port").map(str::to_owned).collect();
        if static_ports.len() > 8 {
            return Err("too many static ports (the limit is 8)".to_owned());
        }
        let statics = static_ports
            .iter()
            .map(|s| StaticPort::parse(s).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Build {
            roles: texts,
            selections,
            opts: RuleOptions {
                from: from_nets,
                any_source,
                peers: (!peer_nets.is_empty()).then_some(peer_nets),
                management: (!mgmt_nets.is_empty()).then_some(mgmt_nets),
                rpc_range: range,
                static_ports: statics,
                to: to_nets,
                no_management_access: p.flag("no_management_access"),
            },
            no_default_drop: p.flag("no_default_drop"),
            profiles: profiles(p)?,
            policy_store,
            log_blocked: p.flag("log_blocked"),
            from,
            peers,
            management,
            to,
            rpc_range,
            static_ports,
        }))
    }

    /// True when client sources were given (`any` included): rules can be written.
    pub fn has_sources(&self) -> bool {
        !self.opts.from.is_empty() || self.opts.any_source
    }

    /// What the roles need, each requirement once, with who connects.
    pub fn requirements(&self) -> Vec<Row> {
        roles::expand(&self.selections)
            .iter()
            .map(Row::from_role_entry)
            .collect()
    }

    /// The rules in a format.
    pub fn rules(&self, format: RuleFormat) -> Result<String, String> {
        let rules =
            plan(&roles::expand(&self.selections), &self.opts).map_err(|e| e.to_string())?;
        // Windows-only settings are ignored by the other formats, so that one form
        // gives every download.
        let ctx = Context {
            roles: self.roles.clone(),
            default_drop: !self.no_default_drop,
            no_management_access: self.opts.no_management_access,
            profiles: self.profiles.clone(),
            policy_store: self
                .policy_store
                .clone()
                .filter(|_| format == RuleFormat::Powershell),
            log_blocked: self.log_blocked,
            exclusive: false,
            azure_load_balancer: false,
        };
        render(&rules, format, &ctx).map_err(|e| e.to_string())
    }

    /// The query string that gives the same selection to `/api/rules` and `/api/requirements`.
    pub fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> =
            self.roles.iter().map(|r| ("role", r.clone())).collect();
        for (name, list) in [
            ("from", &self.from),
            ("peers", &self.peers),
            ("management", &self.management),
            ("to", &self.to),
        ] {
            if !list.is_empty() {
                pairs.push((name, list.join(",")));
            }
        }
        if let Some(r) = &self.rpc_range {
            pairs.push(("rpc_range", r.clone()));
        }
        if !self.static_ports.is_empty() {
            pairs.push(("static_port", self.static_ports.join(",")));
        }
        if self.no_default_drop {
            pairs.push(("no_default_drop", "1".to_owned()));
        }
        if self.opts.no_management_access {
            pairs.push(("no_management_access", "1".to_owned()));
        }
        if !self.profiles.is_empty() {
            let names: Vec<String> = self
                .profiles
                .iter()
                .map(|p| p.as_str().to_ascii_lowercase())
                .collect();
            pairs.push(("profile", names.join(",")));
        }
        if let Some(store) = &self.policy_store {
            pairs.push(("policy_store", store.clone()));
        }
        if self.log_blocked {
            pairs.push(("log_blocked", "1".to_owned()));
        }
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        params::query(&refs)
    }
}

/// An RPC range in the bounds `portq rules` accepts.
fn check_range(text: &str, range: PortRange) -> Result<PortRange, String> {
    portq_rules::plan::check_rpc_range(range, portq_rules::plan::MIN_RPC_RANGE, " (KB 154596)")
        .map(|()| range)
        .map_err(|e| match e {
            RulesError::BadRange(_) => RulesError::BadRange(text.to_owned()).to_string(),
            other => other.to_string(),
        })
}

/// `GET /api/requirements?role=ROLE[:OPTIONS]...`: what the roles need.
pub async fn requirements(uri: Uri) -> Response {
    let build = match Params::from_uri(&uri).and_then(|p| Build::from_params(&p)) {
        Ok(Some(b)) => b,
        Ok(None) => return bad_request(NO_ROLE),
        Err(e) => return bad_request(&e),
    };
    #[derive(Serialize)]
    struct Answer {
        roles: Vec<String>,
        rows: Vec<Row>,
    }
    let rows = build.requirements();
    Json(Answer {
        roles: build.roles,
        rows,
    })
    .into_response()
}

const NO_ROLE: &str =
    "give at least one role: role=domain-controller (see /api/roles for the list)";

/// A format by its `portq rules --format` name.
pub fn parse_format(name: &str) -> Result<RuleFormat, String> {
    RuleFormat::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = RuleFormat::ALL.iter().map(|f| f.name()).collect();
        format!(
            "unknown format '{name}' (expected one of {})",
            names.join(", ")
        )
    })
}

/// `GET /api/rules?role=...&format=FORMAT`: the rules file, as a download.
pub async fn rules(uri: Uri) -> Response {
    let p = match Params::from_uri(&uri) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let format = match parse_format(p.text("format").unwrap_or("json")) {
        Ok(f) => f,
        Err(e) => return bad_request(&e),
    };
    let build = match Build::from_params(&p) {
        Ok(Some(b)) => b,
        Ok(None) => return bad_request(NO_ROLE),
        Err(e) => return bad_request(&e),
    };
    let text = match build.rules(format) {
        Ok(t) => t,
        Err(e) => return bad_request(&e),
    };
    let mut response = text.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", format.file_name()))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

// ---------------------------------------------------------------- RPC interfaces

/// One RPC interface row.
#[derive(Debug, Serialize)]
pub struct RpcRow {
    /// The interface UUID.
    pub uuid: String,
    /// `MAJOR.MINOR`, when the source gives one.
    pub version: Option<String>,
    /// The protocol or interface title.
    pub name: &'static str,
    /// Short name administrators know (`samr`), or empty.
    pub short_name: &'static str,
    /// Hosting binary, or empty.
    pub binary: &'static str,
    /// Catalogue service id, when known.
    pub service_id: Option<&'static str>,
    /// Catalogue service friendly name, when known.
    pub service: Option<&'static str>,
}

impl RpcRow {
    fn new(i: &'static RpcInterface) -> RpcRow {
        let service = i.service();
        RpcRow {
            uuid: i.uuid_string(),
            version: i.version.map(|(a, b)| format!("{a}.{b}")),
            name: i.name,
            short_name: i.short_name,
            binary: i.binary,
            service_id: service.map(|s| s.id),
            service: service.map(|s| s.name),
        }
    }
}

/// One answered RPC interface query.
#[derive(Debug, Serialize)]
pub struct RpcAnswer {
    /// The query as given.
    pub query: String,
    /// Rows found (before truncation).
    pub total: usize,
    /// True when more than [`MAX_RPC_ROWS`] matched.
    pub truncated: bool,
    /// The interfaces.
    pub interfaces: Vec<RpcRow>,
}

/// Finds RPC interfaces by UUID, or (unless `uuid_only`) by words of their names.
pub fn rpc_search(text: &str, uuid_only: bool) -> Result<RpcAnswer, String> {
    let len = text.chars().count();
    if len > MAX_QUERY_LEN {
        return Err(format!(
            "query too long ({len} characters; the limit is {MAX_QUERY_LEN})"
        ));
    }
    let t = text.trim();
    if t.is_empty() {
        return Err(
            "empty query: give an interface UUID such as 12345778-1234-abcd-ef00-0123456789ac"
                .to_owned(),
        );
    }
    let found: Vec<&'static RpcInterface> = match rpc::parse_uuid(t) {
        Some(uuid) => rpc::by_uuid(uuid).iter().collect(),
        None if uuid_only => {
            return Err(format!(
                "invalid UUID '{t}' (expected 8-4-4-4-12 hex digits, e.g. 12345778-1234-abcd-ef00-0123456789ac)"
            ));
        }
        None => {
            let words: Vec<String> = t.split_whitespace().map(str::to_lowercase).collect();
            rpc::interfaces()
                .iter()
                .filter(|i| {
                    let service = i.service().map(|s| s.name).unwrap_or("");
                    let hay = format!(
                        "{} {} {} {} {}",
                        i.short_name,
                        i.name,
                        i.binary,
                        i.uuid_string(),
                        service
                    )
                    .to_lowercase();
                    words.iter().all(|w| hay.contains(w.as_str()))
                })
                .collect()
        }
    };
    let total = found.len();
    Ok(RpcAnswer {
        query: text.to_owned(),
        total,
        truncated: total > MAX_RPC_ROWS,
        interfaces: found
            .into_iter()
            .take(MAX_RPC_ROWS)
            .map(RpcRow::new)
            .collect(),
    })
}

/// `GET /api/rpc?uuid=UUID` (or `?q=UUID or words`).
pub async fn rpc(uri: Uri) -> Response {
    let p = match Params::from_uri(&uri) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let answer = match (p.get("uuid"), p.get("q")) {
        (Some(u), _) => rpc_search(u, true),
        (None, Some(q)) => rpc_search(q, false),
        (None, None) => {
            return bad_request(
                "give an interface UUID: /api/rpc?uuid=12345778-1234-abcd-ef00-0123456789ac",
            );
        }
    };
    match answer {
        Ok(a) => Json(a).into_response(),
        Err(e) => bad_request(&e),
    }
}
