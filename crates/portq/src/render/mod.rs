//! Output renderers: the same rows as an aligned table, CSV, Markdown or HTML.
//! JSON is written by each command from its serde types.

pub mod html;

use crate::out::TableStyle;
use clap::ValueEnum;
use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};

/// Output formats a command may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table (the default).
    Table,
    /// A JSON array.
    Json,
    /// One JSON object per line, written as results arrive.
    Ndjson,
    /// CSV with a header row.
    Csv,
    /// A Markdown table.
    Markdown,
    /// A self-contained HTML report.
    Html,
}

/// The colour of a cell that is a port state or audit verdict, on a terminal.
fn state_color(text: &str) -> Option<Color> {
    match text {
        "LISTENING" | "OK" => Some(Color::Green),
        "NOT LISTENING" | "MISSING" => Some(Color::Red),
        "FILTERED" | "LISTENING OR FILTERED" | "UNEXPECTED" => Some(Color::Yellow),
        _ => None,
    }
}

/// Rows of text cells under a header, renderable in several formats.
#[derive(Debug, Default)]
pub struct Grid {
    /// Column headers.
    pub headers: Vec<&'static str>,
    /// Rows; each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    /// A grid with these headers and no rows.
    pub fn new(headers: Vec<&'static str>) -> Self {
        Grid {
            headers,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// An aligned table for this stdout (see [`TableStyle::detect`]).
    pub fn to_table(&self) -> String {
        self.to_table_with(TableStyle::detect())
    }

    /// An aligned table fitted to `style.width`: cells wrap at word boundaries, and no
    /// column is made narrower than its longest word (up to 24 characters), so names such as
    /// `TermServLicensing` are never cut. A rule under the header; bold headers in colour.
    pub fn to_table_with(&self, style: TableStyle) -> String {
        let mut t = Table::new();
        // Only a rule under the header: compact, and easy to read and to grep.
        t.load_preset(if style.terminal {
            "     ─             "
        } else {
            "     -             "
        });
        if !style.color {
            t.force_no_tty();
        } else {
            t.enforce_styling();
        }
        t.set_header(self.headers.iter().map(|h| {
            let c = Cell::new(h);
            if style.color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        }));
        for r in &self.rows {
            if style.color {
                t.add_row(r.iter().map(|c| {
                    let cell = Cell::new(c);
                    match state_color(c) {
                        Some(col) => cell.fg(col),
                        None => cell,
                    }
                }));
            } else {
                t.add_row(r.clone());
            }
        }
        match style.width {
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
            Some(w) => {
                let floors: Vec<u16> = (0..self.headers.len())
                    .map(|i| {
                        let longest = std::iter::once(self.headers[i])
                            .chain(
                                self.rows
                                    .iter()
                                    .filter_map(|r| r.get(i).map(String::as_str)),
                            )
                            .flat_map(str::split_whitespace)
                            .map(|w| w.chars().count())
                            .max()
                            .unwrap_or(1)
                            .min(24);
                        u16::try_from(longest).unwrap_or(24)
                    })
                    .collect();
                // Never narrower than the longest words: a table wider than the terminal
                // beats names cut in the middle.
                let need: u16 = floors.iter().map(|f| f + 2).sum();
                t.set_content_arrangement(ContentArrangement::Dynamic);
                let available = if w > 0 {
                    w
                } else {
                    t.width().unwrap_or(crate::out::PIPE_WIDTH)
                };
                t.set_width(available.max(need));
                t.set_constraints(
                    floors
                        .into_iter()
                        .map(|f| ColumnConstraint::LowerBoundary(Width::Fixed(f + 2))),
                );
            }
        }
        let mut s = String::new();
        for line in t.to_string().lines() {
            s.push_str(line.trim_end());
            s.push('\n');
        }
        s
    }

    /// CSV with a header row.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail; a failure would only drop output, never panic.
        let _ = w.write_record(&self.headers);
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A GitHub-flavoured Markdown table.
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = format!("| {} |\n", self.headers.join(" | "));
        out.push_str(&format!("|{}\n", "---|".repeat(self.headers.len())));
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| esc(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    /// Renders in a text format; `None` for formats the grid cannot produce (JSON).
    pub fn render(&self, format: Format, title: &str) -> Option<String> {
        match format {
            Format::Table => Some(self.to_table()),
            Format::Csv => Some(self.to_csv()),
            Format::Markdown => Some(self.to_markdown()),
            Format::Html => Some(html::page(title, &html::table(self))),
            Format::Json | Format::Ndjson => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        let mut g = Grid::new(vec!["PORT", "STATE", "SERVICE NAME"]);
        g.push(vec![
            "3389".into(),
            "LISTENING".into(),
            "TermServLicensing".into(),
        ]);
        g.push(vec![
            "135".into(),
            "NOT LISTENING".into(),
            "a long note that has to wrap somewhere in a narrow table".into(),
        ]);
        g
    }

    #[test]
    fn colour_only_when_the_style_says_so() {
        let plain = TableStyle::from_parts(false, false, None, false, false);
        assert!(!grid().to_table_with(plain).contains('\u{1b}'));
        let colour = TableStyle {
            color: true,
            terminal: true,
            width: Some(100),
        };
        let text = grid().to_table_with(colour);
        assert!(text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn narrow_tables_wrap_between_words_only() {
        let style = TableStyle::from_parts(false, false, Some("40"), false, false);
        let text = grid().to_table_with(style);
        assert!(text.contains("TermServLicensing"), "{text}");
        for word in ["somewhere", "narrow", "LISTENING"] {
            assert!(text.contains(word), "{word} cut: {text}");
        }
        let wide = TableStyle::from_parts(false, true, None, false, false);
        assert_eq!(grid().to_table_with(wide).lines().count(), 4);
    }
}
