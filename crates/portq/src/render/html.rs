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

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24;max-width:100%}\
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f5f7}td{overflow-wrap:anywhere}\
table.ports,table.problems{width:100%}table.ports td:nth-child(5),table.problems td:last-child{width:55%}\
td.listening,span.listening{background:#c9f2d0}td.not_listening,span.not_listening{background:#f8c9c9}\
td.filtered,span.filtered{background:#f3e3a6}td.listening_or_filtered,span.listening_or_filtered{background:#e3ecf9}\
tr.problem td:first-child{border-left:4px solid #a40e26}:target{outline:3px solid #0969da}\
td a{color:inherit}\
.box{overflow:auto;max-width:100%;max-height:70vh;border:1px solid #d0d7de;margin:.5rem 0}.box table{border:0;margin:0}\
table.matrix thead th{position:sticky;top:0;z-index:2;white-space:nowrap}table.matrix tbody th{position:sticky;left:0;z-index:1;white-space:nowrap}\
table.matrix thead th:first-child{left:0;z-index:3}table.matrix td{white-space:nowrap;overflow-wrap:normal}\
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;font-size:.9rem;color:#57606a}dl.meta dt{font-weight:600}dl.meta dd{margin:0}\
ul.legend{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}ul.legend span{display:inline-block;width:1rem;height:1rem;margin-right:.3rem;vertical-align:middle;border:1px solid #d0d7de}\
section.verdict{border-left:6px solid;padding:.3rem 1rem;margin:1rem 0}section.verdict h2{margin:.2rem 0}\
section.verdict.passed{border-color:#1a7f37;background:#eefbf1}section.verdict.passed h2{color:#1a7f37}\
section.verdict.failed{border-color:#a40e26;background:#fff0f0}section.verdict.failed h2{color:#a40e26}\
@page{size:A4;margin:12mm}\
@media print{body{margin:0;font-size:9pt}.box{overflow:visible;max-height:none;border:0}table{font-size:7.5pt;page-break-inside:auto}tr{page-break-inside:avoid}\
table.matrix th,table.matrix td{position:static}\
td,span,section.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

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
