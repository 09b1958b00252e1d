//! Writing to stdout without panicking when the reader goes away (`portq ports | head`).

use std::io::{self, Write};

/// Writes text to stdout; a closed pipe ends the write quietly.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Streamed output (NDJSON, CSV rows) written in blocks: flushed when [`Stream::FLUSH_BYTES`]
/// have gathered or [`Stream::FLUSH_EVERY`] has passed, and at the end, so a stream read
/// live stays live without one `write` per line. A closed pipe ends the output quietly.
#[derive(Debug)]
pub struct Stream {
    buf: Vec<u8>,
    last: std::time::Instant,
    closed: bool,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            buf: Vec::with_capacity(Self::FLUSH_BYTES + 4096),
            last: std::time::Instant::now(),
            closed: false,
        }
    }
}

impl Stream {
    /// Bytes gathered before a write.
    pub const FLUSH_BYTES: usize = 64 * 1024;
    /// Longest time a finished line waits in the buffer.
    pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

    /// The buffer to append to; call [`Stream::wrote`] after appending.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes the buffer if it is full or has waited long enough.
    pub fn wrote(&mut self) -> io::Result<()> {
        if self.buf.len() >= Self::FLUSH_BYTES || self.last.elapsed() >= Self::FLUSH_EVERY {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Writes whatever is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.last = std::time::Instant::now();
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.closed {
            self.buf.clear();
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let r = out.write_all(&self.buf).and_then(|()| out.flush());
        self.buf.clear();
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        self.wrote()?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Stream::flush(self)
    }
}

/// Serialises a value as pretty JSON followed by a newline.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    s.push('\n');
    print(&s)
}

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--wide`: tables as wide as their content.
static WIDE: AtomicBool = AtomicBool::new(false);

/// Width of a table on stdout when it is not a terminal and `$COLUMNS` is unset.
pub const PIPE_WIDTH: u16 = 100;

/// Records `--wide` for every table of this run.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

/// How tables are laid out on this stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStyle {
    /// The width to fit, or `None` to use the content's width (`--wide`).
    pub width: Option<u16>,
    /// True for colour (and box lines): stdout is a terminal and `NO_COLOR` is not set.
    pub color: bool,
    /// True when stdout is a terminal.
    pub terminal: bool,
}

impl TableStyle {
    /// The style for this process's stdout, `--wide`, `$COLUMNS` and `$NO_COLOR`.
    pub fn detect() -> TableStyle {
        let terminal = io::stdout().is_terminal();
        TableStyle::from_parts(
            terminal,
            WIDE.load(Ordering::Relaxed),
            std::env::var("COLUMNS").ok().as_deref(),
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            std::env::var("TERM").is_ok_and(|t| t == "dumb"),
        )
    }

    /// The style from its inputs (testable without a terminal).
    pub fn from_parts(
        terminal: bool,
        wide: bool,
        columns: Option<&str>,
        no_color: bool,
        dumb: bool,
    ) -> TableStyle {
        let columns = columns
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c >= 20);
        let width = if wide {
            None
        } else if terminal {
            // comfy-table asks the terminal itself; $COLUMNS is only a fallback.
            Some(columns.unwrap_or(0))
        } else {
            Some(columns.unwrap_or(PIPE_WIDTH))
        };
        TableStyle {
            width,
            color: terminal && !no_color && !dumb,
            terminal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TableStyle;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let s = |t, nc, dumb| TableStyle::from_parts(t, false, None, nc, dumb);
        assert!(s(true, false, false).color);
        assert!(!s(false, false, false).color);
        assert!(!s(true, true, false).color);
        assert!(!s(true, false, true).color);
    }

    #[test]
    fn width_on_a_pipe_is_100_or_columns_and_wide_is_unbounded() {
        assert_eq!(
            TableStyle::from_parts(false, false, None, false, false).width,
            Some(100)
        );
        assert_eq!(
            TableStyle::from_parts(false, false, Some("132"), false, false).width,
            Some(132)
        );
        assert_eq!(
            TableStyle::from_parts(false, false, Some("junk"), false, false).width,
            Some(100)
        );
        assert_eq!(
            TableStyle::from_parts(false, true, None, false, false).width,
            None
        );
        assert_eq!(
            TableStyle::from_parts(true, false, None, false, false).width,
            Some(0)
        );
    }
}
