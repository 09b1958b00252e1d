//! The read-only pages, rendered on the server: each works with plain GET forms, and the
//! script (assets/app.js) only makes them answer as you type.

use super::api::{self, Build, LookupAnswer};
use super::params::{self, Params};
use super::view::{self, Columns, esc};
use crate::views::lookup::Row;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use portq_catalog::Requirement;
use portq_rules::RuleFormat;

/// A page, or the same page with an error shown and status 400.
fn respond(status: StatusCode, title: &str, page: &str, main: &str) -> Response {
    (status, view::page(title, page, main)).into_response()
}

fn error_html(message: &str) -> String {
    format!("<p class=\"error\" role=\"alert\">{}</p>", esc(message))
}

fn checked(on: bool) -> &'static str {
    if on { " checked" } else { "" }
}

// ---------------------------------------------------------------- search

const EXAMPLES: &[&str] = &[
    "445",
    "135/tcp",
    "49668",
    "3268-3269",
    "kerberos",
    "spooler",
    "global catalog",
];

/// The status line above the answers.
fn lookup_status(a: &LookupAnswer) -> String {
    let mut s = match &a.did_you_mean {
        Some(fix) => format!(
            "No match for “{}”; did you mean “{}”? {}.",
            a.query,
            fix,
            view::count(a.total, "answer", "answers")
        ),
        None if a.total == 0 => format!("Nothing known about “{}”.", a.query),
        None => format!(
            "{} for “{}”.",
            view::count(a.total, "answer", "answers"),
            a.query
        ),
    };
    if a.truncated {
        s.push_str(&format!(" The first {} are shown.", a.rows.len()));
    }
    if a.ranges_left_out > 0 {
        s.push_str(&format!(
            " {} also contain it (RPC dynamic and the like): tick “wide ranges” to list them.",
            view::count(a.ranges_left_out, "wide range", "wide ranges")
        ));
    }
    s
}

/// `GET /?q=QUERY`: search the catalogue.
pub async fn search(uri: Uri) -> Response {
    let (p, mut error) = match Params::from_uri(&uri) {
        Ok(p) => (p, None),
        Err(e) => (Params::default(), Some(e)),
    };
    let q = p.get("q").unwrap_or("");
    let (ranges, iana) = (p.flag("ranges"), p.flag("iana"));
    let mut status = String::from("Type a port, a range, a service or an application protocol.");
    let mut results = String::new();
    if error.is_none() && !q.trim().is_empty() {
        match api::search(q, ranges, iana) {
            Ok(a) => {
                status = lookup_status(&a);
                if !a.rows.is_empty() {
                    results = view::rows_table(&a.rows, &Columns::for_rows(&a.rows), "Answers");
                }
            }
            Err(e) => error = Some(format!("Cannot look up “{q}”: {e}")),
        }
    }
    let examples: Vec<String> = EXAMPLES
        .iter()
        .map(|e| {
            format!(
                "<a href=\"/?{}\">{}</a>",
                esc(&params::query(&[("q", e)])),
                esc(e)
            )
        })
        .collect();
    let (status_class, status_text) = match &error {
        Some(e) => (" error", e.clone()),
        None => ("", status),
    };
    let main = format!(
        r#"<h1>What uses this port?</h1>
<form id="search-form" class="search" method="get" action="/" role="search">
<label for="q">Port, range, service or protocol</label>
<div class="field-row">
<input id="q" name="q" type="search" value="{q}" maxlength="200" autocomplete="off" spellcheck="false" autocapitalize="off" placeholder="445, 135/tcp, 49152-65535, spooler, global catalog" aria-describedby="q-help">
<button type="submit">Look up</button>
</div>
<p id="q-help" class="help">A port (445), a port and transport (135/tcp), a range (49152-65535), a Windows service name (Spooler) or words (global catalog). Near misses are corrected. Try: {examples}</p>
<div class="options">
<label class="check"><input type="checkbox" name="ranges" value="1"{ranges}> Also list wide ranges that contain a port</label>
<label class="check"><input type="checkbox" name="iana" value="1"{iana}> Add IANA registry answers</label>
</div>
</form>
<p id="status" class="status{status_class}" role="status" aria-live="polite">{status_text}</p>
<div id="results">{results}</div>
"#,
        q = esc(q),
        examples = examples.join(", "),
        ranges = checked(ranges),
        iana = checked(iana),
        status_text = esc(&status_text),
    );
    let code = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(code, "Search", "search", &main)
}

// ---------------------------------------------------------------- catalogue views

const FILTER_HINT: &str = "<p class=\"help no-js\">Use your browser’s find (Ctrl+F) to jump to a name or port, or the <a href=\"/\">search</a>.</p>";

/// `GET /services`: the catalogue by service.
pub async fn services() -> Response {
    let mut all: Vec<_> = portq_catalog::services().iter().collect();
    all.sort_by_key(|s| s.name.to_lowercase());
    let mut toc = String::from("<nav class=\"toc\" aria-label=\"Services\"><ul>\n");
    let mut body = String::new();
    for s in &all {
        let mut reqs: Vec<&'static Requirement> = s.requirements().collect();
        reqs.sort_by_key(|r| (r.ports.map(|p| (p.start, p.end)), r.transport));
        let rows: Vec<Row> = reqs.into_iter().map(Row::from_requirement).collect();
        toc.push_str(&format!(
            "<li><a href=\"#svc-{}\">{}</a></li>\n",
            esc(s.id),
            esc(s.name)
        ));
        let short = if s.service_name.is_empty() {
            String::new()
        } else {
            format!(" <span class=\"muted mono\">{}</span>", esc(s.service_name))
        };
        body.push_str(&format!(
            "<section class=\"service filterable\" id=\"svc-{id}\" aria-labelledby=\"h-{id}\">\n<h2 id=\"h-{id}\">{name}{short}</h2>\n<p>{desc}</p>\n{table}</section>\n",
            id = esc(s.id),
            name = esc(s.name),
            desc = view::prose_html(s.description),
            table = service_table(&rows),
        ));
    }
    toc.push_str("</ul></nav>\n");
    let main = format!(
        "<h1>Services and the ports they use</h1>\n<p class=\"lead\">{} of the catalogue, each with every port it listens on.</p>\n<div id=\"filter-slot\"></div>\n{FILTER_HINT}\n<details class=\"toc-box\"><summary>All services</summary>\n{toc}</details>\n<div id=\"filter-items\">\n{body}</div>\n",
        view::count(all.len(), "service", "services")
    );
    respond(StatusCode::OK, "By service", "services", &main)
}

fn service_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"answers compact\"><thead><tr><th scope=\"col\">Port</th><th scope=\"col\">Proto</th><th scope=\"col\">Application protocol</th><th scope=\"col\">Notes</th></tr></thead><tbody>\n",
    );
    for r in rows {
        out.push_str(&format!(
            "<tr><td class=\"port\">{}</td><td>{}</td><td>{}</td><td class=\"notes\">{}</td></tr>\n",
            esc(&r.port_text()),
            esc(&view::proto(r)),
            esc(&r.application_protocol),
            view::notes_html(r)
        ));
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// `GET /ports`: the catalogue sorted by port.
pub async fn ports() -> Response {
    let rows: Vec<Row> = portq_catalog::requirements_by_port()
        .into_iter()
        .map(Row::from_requirement)
        .collect();
    let main = format!(
        "<h1>Ports and protocols</h1>\n<p class=\"lead\">{} of the catalogue, sorted by port, like the article’s summary table.</p>\n<div id=\"filter-slot\"></div>\n{FILTER_HINT}\n<div id=\"filter-items\">\n{}</div>\n",
        view::count(rows.len(), "row", "rows"),
        view::rows_table(
            &rows,
            &Columns::for_rows(&rows),
            "Every port of the catalogue"
        )
    );
    respond(StatusCode::OK, "By port", "ports", &main)
}

// ---------------------------------------------------------------- role builder

/// `GET /roles`: tick roles, give sources, get requirements and rules.
pub async fn roles(uri: Uri) -> Response {
    let p = Params::from_uri(&uri);
    let (p, mut error) = match p {
        Ok(p) => (p, None),
        Err(e) => (Params::default(), Some(e)),
    };
    let build = match Build::from_params(&p) {
        Ok(b) => b,
        Err(e) => {
            error.get_or_insert(e);
            None
        }
    };
    let submitted = p.flag("opts");
    let chosen: Vec<&str> = p.all("role").collect();
    let ticked: Vec<&str> = p.all("opt").collect();

    let mut boxes = String::new();
    for r in portq_catalog::roles() {
        let on = chosen.iter().any(|c| {
            let name = c.split(':').next().unwrap_or("").trim().to_lowercase();
            name == r.id || r.aliases.contains(&name.as_str())
        });
        let aliases = if r.aliases.is_empty() {
            String::new()
        } else {
            format!(" · {}", esc(&r.aliases.join(", ")))
        };
        boxes.push_str(&format!(
            "<div class=\"role\">\n<label class=\"check\"><input type=\"checkbox\" name=\"role\" value=\"{id}\" aria-describedby=\"d-{id}\"{on}> <span><strong>{name}</strong> <span class=\"ids muted mono\">{id}{aliases}</span></span></label>\n<p class=\"help\" id=\"d-{id}\">{desc}</p>\n",
            id = esc(r.id),
            name = esc(r.name),
            desc = view::prose_html(r.description),
            on = checked(on),
        ));
        if !r.options.is_empty() {
            boxes.push_str(&format!(
                "<fieldset class=\"role-options\"><legend class=\"sr-only\">Options of {}</legend>\n",
                esc(r.name)
            ));
            for o in r.options {
                let key = format!("{}:{}", r.id, o.id);
                let is_on = if submitted {
                    ticked.contains(&key.as_str())
                } else {
                    o.default
                };
                boxes.push_str(&format!(
                    "<label class=\"check small\"><input type=\"checkbox\" name=\"opt\" value=\"{key}\"{on}> <span class=\"mono\">{id}</span> — {desc}</label>\n",
                    key = esc(&key),
                    id = esc(o.id),
                    desc = view::prose_html(o.description),
                    on = checked(is_on),
                ));
            }
            boxes.push_str("</fieldset>\n");
        }
        boxes.push_str("</div>\n");
    }

    let field = |name: &str| esc(&p.all(name).collect::<Vec<_>>().join(", "));
    let ticked_profiles: Vec<String> = p.items("profile").map(|s| s.to_ascii_lowercase()).collect();
    let mut profile_boxes = String::new();
    for name in ["domain", "private", "public"] {
        profile_boxes.push_str(&format!(
            "<label class=\"check small\"><input type=\"checkbox\" name=\"profile\" value=\"{name}\"{}> {name}</label>\n",
            checked(ticked_profiles.iter().any(|t| t == name))
        ));
    }
    let preview_name = p.text("preview").unwrap_or("powershell");
    let preview_format = api::parse_format(preview_name).ok();
    let mut preview_options = String::new();
    for f in RuleFormat::ALL {
        let (name, label) = (f.name(), f.label());
        let selected = if Some(f) == preview_format {
            " selected"
        } else {
            ""
        };
        preview_options.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            esc(name),
            esc(label)
        ));
    }

    // The answer: requirements, downloads and a preview. The download links are always
    // there (hidden until there is something to download) so the script can update them.
    let mut status = String::from("Tick at least one role.");
    let mut table = String::new();
    let mut preview = String::new();
    let query = build.as_ref().map(Build::query).unwrap_or_default();
    let mut downloads = String::new();
    for f in RuleFormat::ALL {
        let (name, label, file) = (f.name(), f.label(), f.file_name());
        let q = if query.is_empty() {
            format!("format={name}")
        } else {
            format!("{query}&format={name}")
        };
        downloads.push_str(&format!(
            "<li><a class=\"download\" data-format=\"{name}\" href=\"/api/rules?{q}\" download=\"{file}\">{label}</a> <span class=\"muted mono\">{file}</span></li>\n",
            name = esc(name),
            q = esc(&q),
            file = esc(file),
            label = esc(label),
        ));
    }
    if let Some(b) = &build {
        let rows = b.requirements();
        status = format!(
            "{} for {}.",
            view::count(rows.len(), "requirement", "requirements"),
            b.roles.join(" + ")
        );
        table = view::rows_table(&rows, &Columns::for_rows(&rows), "Requirements");
        if !b.has_sources() {
            status.push_str(
                " Give the clients\u{2019} addresses in From (or any, for every address) to write the rules.",
            );
        } else if let Some(f) = preview_format {
            match b.rules(f) {
                Ok(text) => preview = esc(&text),
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
    }
    if error.is_none() && preview_format.is_none() {
        error = api::parse_format(preview_name).err();
    }
    let error_block = error.as_deref().map(error_html).unwrap_or_default();
    let hidden = if build.as_ref().is_some_and(api::Build::has_sources) && error.is_none() {
        ""
    } else {
        " hidden"
    };
    let main = format!(
        r##"<h1>What does this role need?</h1>
<p class="lead">Tick the server’s roles and say who may connect: the console lists what the roles need and writes the firewall rules that open exactly that.</p>
<form id="builder" class="builder" method="get" action="/roles">
<input type="hidden" name="opts" value="1">
<fieldset class="roles"><legend>Server roles</legend>
<div class="role-grid">
{boxes}</div>
</fieldset>
<div class="pair">
<fieldset><legend>Who may connect</legend>
<label for="from">Clients <span class="muted">(addresses or CIDRs, comma-separated; empty means any)</span></label>
<input id="from" name="from" value="{from}" placeholder="10.0.0.0/8, 2001:db8::/32" autocomplete="off" spellcheck="false">
<label for="peers">Other servers of the role <span class="muted">(replication, failover; default: the clients)</span></label>
<input id="peers" name="peers" value="{peers}" placeholder="10.0.1.0/24" autocomplete="off" spellcheck="false">
<label for="management">Management hosts <span class="muted">(SSH, RDP and WinRM stay open to them; default for the roles’ management traffic: the clients)</span></label>
<input id="management" name="management" value="{management}" placeholder="10.0.9.0/24" autocomplete="off" spellcheck="false">
<label class="check"><input type="checkbox" name="no_management_access" value="1"{no_mgmt}> No management access rules (I keep access another way)</label>
<label for="to">Servers, for a firewall or security group in front of them <span class="muted">(optional: address, CIDR or range; empty means rules for the servers themselves)</span></label>
<input id="to" name="to" value="{to}" placeholder="10.0.1.10-10.0.1.11" autocomplete="off" spellcheck="false">
</fieldset>
<fieldset><legend>RPC and output</legend>
<label for="rpc_range">RPC dynamic range the servers are set to <span class="muted">(optional)</span></label>
<input id="rpc_range" name="rpc_range" value="{rpc_range}" placeholder="5000-5100" autocomplete="off" spellcheck="false">
<label for="static_port">Services pinned to static ports <span class="muted">(optional: ntds, netlogon, frs, dfsr)</span></label>
<input id="static_port" name="static_port" value="{static_port}" placeholder="ntds=38901, netlogon=38902" autocomplete="off" spellcheck="false">
<label class="check"><input type="checkbox" name="no_default_drop" value="1"{no_drop}> Keep the input policy at accept (nftables, iptables)</label>
<fieldset class="inline"><legend>Windows Firewall profiles <span class="muted">(none ticked: any)</span></legend>
{profile_boxes}</fieldset>
<label for="policy_store">Group Policy object to write into <span class="muted">(PowerShell, optional: DOMAIN\GPO-NAME)</span></label>
<input id="policy_store" name="policy_store" value="{policy_store}" placeholder="example.test\DC Firewall" autocomplete="off" spellcheck="false">
<label class="check"><input type="checkbox" name="log_blocked" value="1"{log_blocked}> Log dropped packets (Windows)</label>
<label for="preview">Preview format</label>
<select id="preview" name="preview">{preview_options}</select>
</fieldset>
</div>
<div class="builder-bar">
<button type="submit">Show requirements and rules</button>
<span id="bar-status" class="muted" aria-hidden="true">{status}</span>
<a href="#answer">Go to the result</a>
</div>
</form>
<section id="answer" class="answer" aria-labelledby="answer-h">
<h2 id="answer-h">What the roles need</h2>
<div id="answer-error">{error_block}</div>
<p id="req-status" class="status" role="status" aria-live="polite">{status}</p>
<div id="rules-box"{hidden}>
<h3>Download the rules</h3>
<ul id="downloads" class="downloads">
{downloads}</ul>
</div>
<div id="req-table">{table}</div>
<div id="preview-box"{hidden}>
<h3>Preview</h3>
<pre id="preview-text" class="preview" tabindex="0" aria-label="Rules preview">{preview}</pre>
</div>
</section>
"##,
        from = field("from"),
        peers = field("peers"),
        management = field("management"),
        rpc_range = field("rpc_range"),
        static_port = field("static_port"),
        no_drop = checked(p.flag("no_default_drop")),
        no_mgmt = checked(p.flag("no_management_access")),
        to = field("to"),
        policy_store = field("policy_store"),
        log_blocked = checked(p.flag("log_blocked")),
        status = esc(&status),
    );
    // A page opened with roles (a shared link, or the form sent without the script) shows
    // the answer first, above the role chooser; the chooser stays below to change it.
    let main = match (
        &build,
        main.find("<section id=\"answer\""),
        main.find("<form id=\"builder\""),
    ) {
        (Some(_), Some(answer), Some(form)) => {
            let end = main[answer..]
                .find("</section>\n")
                .map_or(main.len(), |e| answer + e + "</section>\n".len());
            format!(
                "{}{}{}{}",
                &main[..form],
                &main[answer..end],
                &main[form..answer],
                &main[end..]
            )
        }
        _ => main,
    };
    let code = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(code, "Roles & rules", "roles", &main)
}

// ---------------------------------------------------------------- RPC interfaces

/// `GET /rpc?q=UUID or words`: name an RPC interface.
pub async fn rpc(uri: Uri) -> Response {
    let (p, mut error) = match Params::from_uri(&uri) {
        Ok(p) => (p, None),
        Err(e) => (Params::default(), Some(e)),
    };
    let q = p.get("q").or_else(|| p.get("uuid")).unwrap_or("");
    let mut status = String::from(
        "Give an interface UUID (from a capture or `portq rpc`), or words of its name.",
    );
    let mut table = String::new();
    if error.is_none() && !q.trim().is_empty() {
        match api::rpc_search(q, false) {
            Ok(a) => {
                status = if a.total == 0 {
                    format!("No interface known for “{q}”.")
                } else if a.truncated {
                    format!(
                        "{} for “{q}”; the first {} are shown.",
                        view::count(a.total, "interface", "interfaces"),
                        a.interfaces.len()
                    )
                } else {
                    format!(
                        "{} for “{q}”.",
                        view::count(a.total, "interface", "interfaces")
                    )
                };
                if !a.interfaces.is_empty() {
                    table = rpc_table(&a.interfaces);
                }
            }
            Err(e) => error = Some(e),
        }
    }
    let (status_class, status_text) = match &error {
        Some(e) => (" error", e.clone()),
        None => ("", status),
    };
    let examples: Vec<String> = [
        "12345778-1234-abcd-ef00-0123456789ac",
        "e1af8308-5d1f-11c9-91a4-08002b14a0fa",
        "netlogon",
        "drsuapi",
    ]
    .iter()
    .map(|e| {
        format!(
            "<a class=\"mono\" href=\"/rpc?{}\">{}</a>",
            esc(&params::query(&[("q", e)])),
            esc(e)
        )
    })
    .collect();
    let main = format!(
        r#"<h1>Which RPC interface is that?</h1>
<form class="search" method="get" action="/rpc" role="search">
<label for="rq">Interface UUID or name</label>
<div class="field-row">
<input id="rq" name="q" type="search" value="{q}" maxlength="200" autocomplete="off" spellcheck="false" aria-describedby="rq-help">
<button type="submit">Look up</button>
</div>
<p id="rq-help" class="help">Try: {examples}</p>
</form>
<p class="status{status_class}" role="status">{status_text}</p>
{table}"#,
        q = esc(q),
        examples = examples.join(", "),
        status_text = esc(&status_text),
    );
    let code = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(code, "RPC interfaces", "rpc", &main)
}

fn rpc_table(rows: &[api::RpcRow]) -> String {
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"answers\"><thead><tr><th scope=\"col\">UUID</th><th scope=\"col\">Version</th><th scope=\"col\">Short name</th><th scope=\"col\">Interface</th><th scope=\"col\">Binary</th><th scope=\"col\">Service</th></tr></thead><tbody>\n",
    );
    for r in rows {
        let service = match (r.service_id, r.service) {
            (Some(id), Some(name)) => {
                format!("<a href=\"/services#svc-{}\">{}</a>", esc(id), esc(name))
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{service}</td></tr>\n",
            esc(&r.uuid),
            esc(r.version.as_deref().unwrap_or("")),
            esc(r.short_name),
            esc(r.name),
            esc(r.binary),
        ));
    }
    out.push_str("</tbody></table></div>\n");
    out
}
