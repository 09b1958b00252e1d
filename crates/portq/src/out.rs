//! Writing the output: to stdout without panicking when the reader goes away
//! (`portq ports | head`), or, with `-o FILE`, to a file that appears whole or not at all.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// `-o FILE`: the output goes to a temporary file beside FILE, renamed over it only when
/// the command ends well, so a failed run leaves an existing FILE as it was.
struct FileSink {
    file: std::fs::File,
    tmp: PathBuf,
    target: PathBuf,
}

static SINK: Mutex<Option<FileSink>> = Mutex::new(None);

fn sink() -> std::sync::MutexGuard<'static, Option<FileSink>> {
    SINK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends the output to `target` instead of stdout. Refuses an existing file unless
/// `force`, and a directory always.
pub fn to_file(target: &Path, force: bool) -> Result<(), String> {
    if target.is_dir() {
        return Err(format!("-o {}: is a directory", target.display()));
    }
    if target.exists() && !force {
        return Err(format!(
            "-o {}: the file exists; give --force to replace it",
            target.display()
        ));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("-o {}: not a file name", target.display()))?;
    let tmp = dir.join(format!(".{name}.portq-{}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| format!("-o {}: {e}", target.display()))?;
    *sink() = Some(FileSink {
        file,
        tmp,
        target: target.to_path_buf(),
    });
    Ok(())
}

/// Ends `-o FILE`: on success the written file replaces FILE; otherwise the temporary
/// file is removed and FILE is left as it was. Nothing to do without `-o`.
pub fn finish(ok: bool) -> io::Result<()> {
    let Some(s) = sink().take() else {
        return Ok(());
    };
    let done = if ok {
        s.file
            .sync_all()
            .and_then(|()| std::fs::rename(&s.tmp, &s.target))
    } else {
        Ok(())
    };
    if !ok || done.is_err() {
        let _ = std::fs::remove_file(&s.tmp);
    }
    done
}

/// Writes bytes to the output: the `-o` file, or stdout.
fn emit(bytes: &[u8]) -> io::Result<()> {
    if let Some(s) = sink().as_mut() {
        return s.file.write_all(bytes);
    }
    let mut out = io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush())
}

/// Writes text to the output; a closed pipe ends the write quietly.
pub fn print(text: &str) -> io::Result<()> {
    match emit(text.as_bytes()) {
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
        let r = emit(&self.buf);
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
