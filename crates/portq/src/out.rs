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

/// Serialises a value as pretty JSON followed by a newline.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    s.push('\n');
    print(&s)
}
