//! Output renderers: the same rows as an aligned table, CSV, Markdown or HTML.
//! JSON is written by each command from its serde types.

pub mod html;

use crate::out::TableStyle;
use clap::ValueEnum;
use comfy_table::Table;

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

/// The ANSI colour of a cell that is a port state or audit verdict, on a terminal.
fn state_color(text: &str) -> Option<&'static str> {
    match text {
        "LISTENING" | "OK" => Some(GREEN),
        "NOT LISTENING" | "MISSING" => Some(RED),
        "FILTERED" | "LISTENING OR FILTERED" | "UNEXPECTED" => Some(YELLOW),
        _ => None,
    }
}

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// One row of cells (each already wrapped to its width, with an optional ANSI style) as
/// lines: a space, the cell padded to its width, a space, for each column; the line's
/// trailing spaces cut.
fn draw_row(out: &mut String, cells: &[(String, Option<&str>)], widths: &[usize]) {
    let lines: Vec<Vec<&str>> = cells.iter().map(|(c, _)| c.split('\n').collect()).collect();
    let height = lines.iter().map(Vec::len).max().unwrap_or(1);
    for k in 0..height {
        let mut line = String::new();
        for ((cell, (_, paint)), &w) in lines.iter().zip(cells).zip(widths) {
            let part = cell.get(k).copied().unwrap_or("");
            line.push(' ');
            match paint {
                Some(code) if !part.is_empty() => {
                    line.push_str(code);
                    line.push_str(part);
                    line.push_str(RESET);
                }
                _ => line.push_str(part),
            }
            let pad = w.saturating_sub(part.chars().count()) + 1;
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// Rows of text cells under a header, renderable in several formats.
#[derive(Debug, Default)]
pub struct Grid {
    /// Column headers.
    pub headers: Vec<std::borrow::Cow<'static, str>>,
    /// Rows; each as long as `headers`.
    pub rows: Vec<Vec<String>>,
    /// Columns whose words are never broken, even when the table must grow past the
    /// width for it (names, UUIDs, addresses).
    whole: Vec<bool>,
    /// Columns a narrow table leaves out, first to go first, before a word is broken.
    droppable: Vec<usize>,
}

/// How a grid is drawn at some width.
enum Layout {
    /// These columns, these widths.
    Columns(Vec<usize>, Vec<usize>),
    /// One record per row.
    Records,
}

/// Characters after which a word too long for its column may be broken.
const BREAK_AFTER: &[char] = &['-', '_', '.', '/', '\\', ':', ',', ';', '=', '|', ')'];

/// A text column is never made narrower than its longest word up to this many characters;
/// longer words in it are broken at punctuation when the width demands it.
const TEXT_WORD_FLOOR: usize = 32;

impl Grid {
    /// A grid with these headers and no rows.
    pub fn new(headers: Vec<&'static str>) -> Self {
        Grid::with_headers(
            headers
                .into_iter()
                .map(std::borrow::Cow::Borrowed)
                .collect(),
        )
    }

    /// A grid whose headers are made at run time (a trace's ports).
    pub fn with_headers(headers: Vec<std::borrow::Cow<'static, str>>) -> Self {
        let n = headers.len();
        Grid {
            headers,
            rows: Vec::new(),
            whole: vec![false; n],
            droppable: Vec::new(),
        }
    }

    /// Marks columns whose words a table never breaks: they set the column's least width.
    pub fn keep_whole(mut self, columns: &[&str]) -> Self {
        for c in columns {
            if let Some(i) = self.headers.iter().position(|h| h == c) {
                self.whole[i] = true;
            }
        }
        self
    }

    /// Columns a table too narrow for every column leaves out, in this order, before it
    /// breaks a word; the table then says which columns it left out.
    pub fn drop_when_narrow(mut self, columns: &[&str]) -> Self {
        self.droppable = columns
            .iter()
            .filter_map(|c| self.headers.iter().position(|h| h == c))
            .collect();
        self
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// An aligned table for this stdout (see [`TableStyle::detect`]).
    pub fn to_table(&self) -> String {
        self.to_table_with(TableStyle::detect())
    }

    /// The cells of column `i`, header first.
    fn column(&self, i: usize) -> impl Iterator<Item = &str> {
        std::iter::once(self.headers[i].as_ref()).chain(
            self.rows
                .iter()
                .map(move |r| r.get(i).map(String::as_str).unwrap_or("")),
        )
    }

    /// The widest line of column `i`.
    fn natural(&self, i: usize) -> usize {
        self.column(i)
            .flat_map(str::lines)
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The longest word of column `i`.
    fn longest_word(&self, i: usize) -> usize {
        self.column(i)
            .flat_map(str::split_whitespace)
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The longest piece of column `i` when its words are broken after punctuation.
    fn longest_piece(&self, i: usize) -> usize {
        self.column(i)
            .flat_map(str::split_whitespace)
            .flat_map(|w| w.split_inclusive(BREAK_AFTER))
            .map(|p| p.chars().count())
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// How to draw the grid in `width` characters: content width when it fits; else
    /// words whole and the spare width shared out; else low-value columns left out; else
    /// long words of text columns broken at punctuation; and when even that is too wide
    /// (whole-word columns never shrink below their longest word), one record per row.
    fn layout(&self, width: usize) -> Layout {
        let mut shown: Vec<usize> = (0..self.headers.len()).collect();
        let mut dropping = self.droppable.iter();
        // Each column's measures, taken once.
        let natural_of: Vec<usize> = shown.iter().map(|&i| self.natural(i)).collect();
        let word_of: Vec<usize> = shown.iter().map(|&i| self.longest_word(i)).collect();
        loop {
            let overhead = table_overhead(shown.len());
            let room = width.saturating_sub(overhead);
            let natural: Vec<usize> = shown.iter().map(|&i| natural_of[i]).collect();
            if natural.iter().sum::<usize>() <= room {
                return Layout::Columns(shown, natural);
            }
            let floor: Vec<usize> = shown
                .iter()
                .map(|&i| {
                    let word = word_of[i];
                    if self.whole[i] {
                        word
                    } else {
                        word.min(TEXT_WORD_FLOOR)
                    }
                })
                .collect();
            if floor.iter().sum::<usize>() <= room {
                let widths = share(&floor, &natural, room);
                return Layout::Columns(shown, widths);
            }
            match dropping.next() {
                Some(d) if shown.len() > 1 => shown.retain(|i| i != d),
                Some(_) => {}
                None => {
                    // Break long words of text columns after punctuation (never inside
                    // a run of letters and digits); whole-word columns keep theirs.
                    let least: Vec<usize> = shown
                        .iter()
                        .zip(&floor)
                        .map(|(&i, &f)| {
                            if self.whole[i] {
                                f
                            } else {
                                self.longest_piece(i).min(f)
                            }
                        })
                        .collect();
                    if least.iter().sum::<usize>() > room {
                        return Layout::Records;
                    }
                    return Layout::Columns(shown, share(&least, &floor, room));
                }
            }
        }
    }

    /// An aligned table fitted to `style.width` (`None`: content width). Cells wrap
    /// between words; a word is broken only in a text column narrower than it, at
    /// punctuation if it can be. When whole-word columns cannot fit side by side, each
    /// row becomes a record (its first cell, then `HEADER: value` lines), so no line is
    /// wider than the width. A rule under the header; bold headers and coloured states
    /// in colour.
    ///
    /// Drawn here, not by comfy-table (kept for the terminal's width): its own
    /// arrangement breaks words (UUIDs, DNS names, error names) in the middle, and
    /// drawing through it was most of a `portq lookup`'s time.
    pub fn to_table_with(&self, style: TableStyle) -> String {
        let width = match style.width {
            None => usize::MAX,
            Some(0) => usize::from(Table::new().width().unwrap_or(crate::out::PIPE_WIDTH)),
            Some(w) => usize::from(w),
        };
        let (shown, widths) = match style.width {
            None => {
                let all: Vec<usize> = (0..self.headers.len()).collect();
                let w = all.iter().map(|&i| self.natural(i)).collect();
                (all, w)
            }
            Some(_) => match self.layout(width) {
                Layout::Columns(shown, widths) => (shown, widths),
                Layout::Records => return self.to_records(width),
            },
        };
        // Every cell wrapped to its column; a column is then as wide as its widest line.
        let header: Vec<(String, Option<&str>)> = shown
            .iter()
            .zip(&widths)
            .map(|(&i, &w)| (wrap(&self.headers[i], w), style.color.then_some(BOLD)))
            .collect();
        let rows: Vec<Vec<(String, Option<&str>)>> = self
            .rows
            .iter()
            .map(|r| {
                shown
                    .iter()
                    .zip(&widths)
                    .map(|(&i, &w)| {
                        let text = r.get(i).map(String::as_str).unwrap_or("");
                        (wrap(text, w), state_color(text).filter(|_| style.color))
                    })
                    .collect()
            })
            .collect();
        let drawn: Vec<usize> = (0..shown.len())
            .map(|c| {
                std::iter::once(&header)
                    .chain(&rows)
                    .flat_map(|r| r[c].0.split('\n'))
                    .map(|l| l.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        // The header, bold in colour; then only a rule: compact, easy to read and to grep.
        let mut s = String::new();
        draw_row(&mut s, &header, &drawn);
        let rule = if style.terminal { "─" } else { "-" };
        s.push_str(&rule.repeat(drawn.iter().map(|w| w + 2).sum()));
        s.push('\n');
        for r in &rows {
            draw_row(&mut s, r, &drawn);
        }
        if shown.len() < self.headers.len() {
            let left: Vec<&str> = (0..self.headers.len())
                .filter(|i| !shown.contains(i))
                .map(|i| self.headers[i].as_ref())
                .collect();
            let note = format!(
                "(not shown at this width: {}; --wide or --format csv shows every column)",
                left.join(", ")
            );
            s.push_str(&wrap(&note, width.saturating_sub(1)));
            s.push('\n');
        }
        s
    }

    /// One record per row, for widths too narrow for the columns side by side: the
    /// row's first cell, then each other non-empty cell as `HEADER: value`, indented and
    /// wrapped; a blank line between records. Every word of every cell stays whole
    /// unless it alone is wider than the line.
    fn to_records(&self, width: usize) -> String {
        let mut s = String::new();
        // Rows that continue the previous one (an empty first cell) stay in its record.
        for r in &self.rows {
            let first = r.first().map(String::as_str).unwrap_or("");
            if !first.is_empty() {
                if !s.is_empty() {
                    s.push('\n');
                }
                for line in wrap(first, width.saturating_sub(1)).lines() {
                    s.push_str(&format!(" {line}\n"));
                }
            }
            // Short fields share a line; a long one gets its own, wrapped.
            let room = width.saturating_sub(4).max(1);
            let mut line = String::new();
            for (h, cell) in self.headers.iter().zip(r).skip(1) {
                if cell.is_empty() {
                    continue;
                }
                let field = format!("{h}: {cell}");
                let n = field.chars().count();
                if !line.is_empty() && line.chars().count() + 3 + n > room {
                    s.push_str(&format!("   {line}\n"));
                    line.clear();
                }
                if n > room {
                    for (k, part) in wrap(&field, room.saturating_sub(3)).lines().enumerate() {
                        let indent = if k == 0 { "   " } else { "      " };
                        s.push_str(&format!("{indent}{part}\n"));
                    }
                    continue;
                }
                if !line.is_empty() {
                    line.push_str("   ");
                }
                line.push_str(&field);
            }
            if !line.is_empty() {
                s.push_str(&format!("   {line}\n"));
            }
        }
        s
    }

    /// CSV with a header row.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail; a failure would only drop output, never panic.
        let _ = w.write_record(self.headers.iter().map(|h| h.as_bytes()));
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A GitHub-flavoured Markdown table.
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = format!(
            "| {} |\n",
            self.headers
                .iter()
                .map(|h| h.as_ref())
                .collect::<Vec<_>>()
                .join(" | ")
        );
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

/// The characters a table adds around `columns` columns of content (borders, padding).
/// One space of padding each side of a cell; no borders or column lines.
fn table_overhead(columns: usize) -> usize {
    2 * columns
}

/// Widths from `least`, with `room` shared out towards `want`: each round gives every
/// column still short an equal part, so narrow columns are satisfied first.
fn share(least: &[usize], want: &[usize], room: usize) -> Vec<usize> {
    let mut w = least.to_vec();
    let mut spare = room.saturating_sub(least.iter().sum());
    for _ in 0..w.len() {
        let short: Vec<usize> = (0..w.len()).filter(|&i| w[i] < want[i]).collect();
        if short.is_empty() || spare == 0 {
            break;
        }
        let part = (spare / short.len()).max(1);
        for i in short {
            let give = part.min(want[i] - w[i]).min(spare);
            w[i] += give;
            spare -= give;
        }
    }
    w
}

/// A paragraph under a table, wrapped to the table's width (unwrapped with `--wide`),
/// with a final newline.
pub fn prose(text: &str) -> String {
    let style = TableStyle::detect();
    let width = match style.width {
        None => return format!("{text}\n"),
        Some(0) => usize::from(Table::new().width().unwrap_or(crate::out::PIPE_WIDTH)),
        Some(w) => usize::from(w),
    };
    format!("{}\n", wrap(text, width.saturating_sub(1)))
}

/// `text` wrapped to `width` characters a line: between words; a longer word after
/// punctuation where it can, else at the width.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split_whitespace() {
            for (k, piece) in pieces(word, width).into_iter().enumerate() {
                let n = piece.chars().count();
                // A space before a word, none inside a broken one.
                let glue = k == 0;
                if len > 0 && len + usize::from(glue) + n > width {
                    lines.push(std::mem::take(&mut line));
                    len = 0;
                }
                if len > 0 && glue {
                    line.push(' ');
                    len += 1;
                }
                line.push_str(piece);
                len += n;
            }
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// `word` as pieces no wider than `width`: whole when it fits, else cut after
/// punctuation, else every `width` characters.
fn pieces(word: &str, width: usize) -> Vec<&str> {
    if word.chars().count() <= width {
        return vec![word];
    }
    let mut out = Vec::new();
    let mut rest = word;
    while rest.chars().count() > width {
        // The last break point within the width, else a hard cut at the width.
        let limit = rest
            .char_indices()
            .nth(width)
            .map(|(b, _)| b)
            .unwrap_or(rest.len());
        let cut = rest[..limit]
            .char_indices()
            .filter(|(_, c)| BREAK_AFTER.contains(c))
            .map(|(b, c)| b + c.len_utf8())
            .rfind(|&b| b < rest.len())
            .unwrap_or(limit);
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
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

    /// The layout's promise on generated grids: at 80, 100 and 140 columns no line is
    /// wider than the width, every word of a whole-word column is on one line, and a word
    /// of a text column is broken only after punctuation.
    mod generated {
        use super::super::*;
        use proptest::prelude::*;

        /// Words like the tables hold: short words, UUIDs, DNS names, error names.
        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z]{1,9}",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "_[a-z]{3,6}\\._tcp\\.[a-z]{2,12}\\._msdcs\\.[a-z]{3,10}\\.test",
                "[A-Z]{3}_ERR_[A-Z]{1,6}_[A-Z]{4,12}",
                "[a-z]{4,20}",
            ]
        }

        fn cell() -> impl Strategy<Value = String> {
            proptest::collection::vec(word(), 0..6).prop_map(|w| w.join(" "))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn no_line_too_wide_and_no_word_cut(
                columns in 2usize..8,
                rows in proptest::collection::vec(proptest::collection::vec(cell(), 8), 1..12),
                whole in proptest::collection::vec(any::<bool>(), 8),
                width in prop_oneof![Just(80u16), Just(100u16), Just(140u16)],
            ) {
                const NAMES: [&str; 8] = ["ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT"];
                let mut g = Grid::new(NAMES[..columns].to_vec());
                let keep: Vec<&str> = (0..columns).filter(|&i| whole[i]).map(|i| NAMES[i]).collect();
                g = g.keep_whole(&keep).drop_when_narrow(&[NAMES[columns - 1]]);
                for r in &rows {
                    g.push(r[..columns].to_vec());
                }
                let style = TableStyle::from_parts(false, false, Some(&width.to_string()), false, false);
                let text = g.to_table_with(style);
                for line in text.lines() {
                    prop_assert!(line.chars().count() <= usize::from(width), "{} > {width}:\n{text}", line.chars().count());
                }
                let dropped = text.contains("(not shown at this width");
                for r in &rows {
                    for (i, c) in r[..columns].iter().enumerate() {
                        if dropped && i == columns - 1 {
                            continue;
                        }
                        for w in c.split_whitespace() {
                            if whole[i] {
                                // A whole word is a token of its own on some line.
                                prop_assert!(
                                    text.lines().any(|l| l.split_whitespace().any(|t| t == w)),
                                    "{w} cut:\n{text}"
                                );
                            } else {
                                for piece in w.split_inclusive(BREAK_AFTER) {
                                    prop_assert!(text.lines().any(|l| l.contains(piece)), "{piece} of {w} cut:\n{text}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
