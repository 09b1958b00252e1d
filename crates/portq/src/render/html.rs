//! Self-contained HTML: every value escaped, no scripts, no external assets.

use super::Grid;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A `<table>` of the grid.
pub fn table(grid: &Grid) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for h in &grid.headers {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &grid.rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", escape(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A complete page around `body` (already escaped HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>{t}</title><style>{css}</style></head>\n<body>\n<h1>{t}</h1>\n{body}</body></html>\n",
        t = escape(title),
        css = CSS
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}\
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}\
th{background:#f3f5f7}td.listening{background:#c9f2d0}td.not_listening{background:#f8c9c9}\
td.filtered{background:#f3e3a6}td.listening_or_filtered{background:#e3ecf9}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
    }
}
