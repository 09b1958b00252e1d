//! Server-side HTML: the page layout and the tables the pages share. Every value from
//! the catalogue or the request goes through [`esc`].

use crate::views::lookup::Row;
use axum::response::Html;

pub use crate::render::html::escape as esc;

const LAYOUT: &str = include_str!("assets/layout.html");

/// The main navigation: path, label, page id.
const NAV: &[(&str, &str, &str)] = &[
    ("/", "Search", "search"),
    ("/services", "By service", "services"),
    ("/ports", "By port", "ports"),
    ("/roles", "Roles & rules", "roles"),
    ("/rpc", "RPC interfaces", "rpc"),
    ("/check", "Check a host", "check"),
];

fn nav(page: &str) -> String {
    NAV.iter()
        .map(|(href, label, id)| {
            let current = if *id == page {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<li><a href=\"{href}\"{current}>{}</a></li>", esc(label))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The footer: which documents the facts come from and the newest one's date, the list
/// folded away. Built once.
fn footer() -> &'static str {
    static FOOTER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FOOTER.get_or_init(|| {
        let docs = portq_catalog::documents();
        let newest = portq_catalog::newest_document_date();
        let mut items: Vec<String> = docs
            .iter()
            .map(|d| format!("<li>{} ({})</li>", esc(&d.full_title()), esc(d.date_text())))
            .collect();
        items.sort();
        format!(
            "<details class=\"sources\"><summary>portq console · facts from {} Microsoft documents, compiled in, the newest dated {} · this page loads nothing from elsewhere</summary>\n<ul>{}</ul></details>",
            docs.len(),
            esc(newest),
            items.join("")
        )
    })
}

/// The layout before and after the main content. The template is filled in one pass, so
/// text put into it is never itself searched for `{{...}}` markers.
pub fn layout(title: &str, page: &str) -> (String, String) {
    let mut head = String::with_capacity(LAYOUT.len() + 512);
    let mut tail = String::new();
    let mut rest = LAYOUT;
    let mut out = &mut head;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        match &after[..end] {
            "title" => out.push_str(&esc(title)),
            "page" => out.push_str(&esc(page)),
            "nav" => out.push_str(&nav(page)),
            "footer" => out.push_str(footer()),
            "main" => out = &mut tail,
            other => {
                out.push_str("{{");
                out.push_str(other);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    (head, tail)
}

/// A whole page around `main` (already escaped HTML).
pub fn page(title: &str, page: &str, main: &str) -> Html<String> {
    let (head, tail) = layout(title, page);
    Html(format!("{head}{main}{tail}"))
}

/// The columns of the answer tables.
pub struct Columns {
    /// FROM and ROLES (role requirements).
    pub roles: bool,
    /// SOURCE (when some rows are not from the catalogue).
    pub source: bool,
}

impl Columns {
    /// The columns the rows need.
    pub fn for_rows(rows: &[Row]) -> Columns {
        Columns {
            roles: rows.iter().any(|r| !r.roles.is_empty()),
            source: rows.iter().any(|r| r.source != "catalog"),
        }
    }
}

/// The upper-case protocol label (`TCP`, `UDP`, `GRE`...).
pub fn proto(row: &Row) -> String {
    row.protocol.to_uppercase()
}

/// A table of lookup rows; services link to their place in the "by service" view.
pub fn rows_table(rows: &[Row], cols: &Columns, caption: &str) -> String {
    let mut out = String::from("<div class=\"table-wrap\"><table class=\"answers\">\n");
    if !caption.is_empty() {
        out.push_str(&format!(
            "<caption class=\"sr-only\">{}</caption>\n",
            esc(caption)
        ));
    }
    out.push_str("<thead><tr><th scope=\"col\">Port</th><th scope=\"col\">Proto</th><th scope=\"col\">Service</th><th scope=\"col\">Service name</th><th scope=\"col\">Application protocol</th><th scope=\"col\">Notes</th>");
    if cols.roles {
        out.push_str("<th scope=\"col\">From</th><th scope=\"col\">Roles</th>");
    }
    if cols.source {
        out.push_str("<th scope=\"col\">Source</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let service = match r.service_id {
            Some(id) => format!(
                "<a href=\"/services#svc-{}\">{}</a>",
                esc(id),
                esc(&r.service)
            ),
            None => esc(&r.service),
        };
        let notes = notes_html(r);
        out.push_str(&format!(
            "<tr><td class=\"port\">{}</td><td>{}</td><td>{service}</td><td>{}</td><td>{}</td><td class=\"notes\">{notes}</td>",
            esc(&r.port_text()),
            esc(&proto(r)),
            esc(&r.service_name),
            esc(&r.application_protocol),
        ));
        if cols.roles {
            out.push_str(&format!(
                "<td>{}</td><td>{}</td>",
                esc(&r.directions.join(", ")),
                esc(&r.roles.join(", "))
            ));
        }
        if cols.source {
            out.push_str(&format!("<td>{}</td>", esc(r.source)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// The notes cell: qualifiers as tags, then the notes.
pub fn notes_html(r: &Row) -> String {
    let mut parts: Vec<String> = Vec::new();
    if r.rpc_dynamic {
        parts.push("<span class=\"tag\">RPC dynamic range</span>".to_owned());
    }
    for q in r.qualifiers.iter().filter(|q| **q != "rpc-dynamic") {
        parts.push(format!("<span class=\"tag\">{}</span>", esc(q)));
    }
    if let Some(d) = r.disagreement {
        parts.push(format!(
            "<span class=\"tag\">{}: {}</span>",
            esc(d.topic),
            if d.current { "current" } else { "superseded" }
        ));
    }
    // Short notes show; long ones fold away with the sources, so that a row stays at
    // most three lines high until it is opened.
    let long = r.notes.chars().count() > NOTE_INLINE;
    if !r.notes.is_empty() && !long {
        parts.push(esc(&r.notes));
    }
    let mut html = parts.join(" ");
    if long || !r.citations.is_empty() {
        let label = match (long, r.citations.len()) {
            (true, 0) => "notes".to_owned(),
            (true, n) => format!("notes · {}", count(n, "source", "sources")),
            (false, n) => count(n, "source", "sources"),
        };
        html.push_str(&format!(
            "<details class=\"cites\"><summary>{label}</summary>"
        ));
        if long {
            html.push_str(&format!("<p>{}</p>", esc(&r.notes)));
        }
        for c in &r.citations {
            html.push_str(&format!("<small class=\"cite\">{}</small>", esc(&c.text)));
        }
        html.push_str("</details>");
    }
    html
}

/// Notes up to this many characters show in the row; longer ones fold away.
pub const NOTE_INLINE: usize = 90;

/// Catalogue prose as HTML: escaped, with `code` spans (the data files' only markup)
/// rendered as `<code>`; an unpaired backtick stays as it is.
pub fn prose_html(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return esc(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(p))
            } else {
                esc(p)
            }
        })
        .collect()
}

/// `1 answer`, `2 answers`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_renders_code_spans_and_escapes_the_rest() {
        assert_eq!(
            prose_html("use `dc:no-gc` <now>"),
            "use <code>dc:no-gc</code> &lt;now&gt;"
        );
        assert_eq!(prose_html("one ` tick"), "one ` tick");
    }

    #[test]
    fn layout_is_filled_once() {
        let (head, tail) = layout("{{main}} <b>", "search");
        assert!(head.contains("<title>{{main}} &lt;b&gt; · portq</title>"));
        assert!(head.contains("aria-current=\"page\">Search<"));
        assert!(tail.contains("</html>"));
        assert!(!head.contains("{{nav}}") && !tail.contains("{{"));
    }
}
