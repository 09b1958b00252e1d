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
th{background:#f3f5f7}td.listening,span.listening{background:#c9f2d0}td.not_listening,span.not_listening{background:#f8c9c9}\
td.filtered,span.filtered{background:#f3e3a6}td.listening_or_filtered,span.listening_or_filtered{background:#e3ecf9}\
.box{overflow-x:auto;max-width:100%;border:1px solid #d0d7de;margin:.5rem 0}.box table{border:0}\
table.matrix th:first-child{position:sticky;left:0;z-index:1}table.matrix thead th{white-space:nowrap}\
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.meta dt{font-weight:600}\
ul.legend{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}ul.legend span{display:inline-block;width:1rem;height:1rem;margin-right:.3rem;vertical-align:middle;border:1px solid #d0d7de}\
ul.verdict li.bad{color:#a40e26}ul.verdict li.good{color:#1a7f37}\
@media print{body{margin:0;font-size:10pt}.box{overflow:visible;border:0}table{font-size:8pt;page-break-inside:auto}tr{page-break-inside:avoid}\
td.listening,td.not_listening,td.filtered,td.listening_or_filtered{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

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
