//! Bounded reads for application probes: nothing reads more than its cap, and a
//! length from the wire is checked before anything is read for it.

use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::ProbeError;

/// Reads until `complete` finds the end of the answer (returns its length), the peer
/// closes, or `cap` bytes are read. Returns what was read (possibly incomplete at EOF).
pub(crate) async fn read_until<S, F>(
    s: &mut S,
    cap: usize,
    complete: F,
) -> Result<Vec<u8>, ProbeError>
where
    S: AsyncRead + Unpin,
    F: Fn(&[u8]) -> Option<usize>,
{
    let mut buf = Vec::with_capacity(cap.min(4096));
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = complete(&buf) {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= cap {
            return Ok(buf);
        }
        let want = (cap - buf.len()).min(chunk.len());
        let n = s.read(&mut chunk[..want]).await?;
        if n == 0 {
            if buf.is_empty() {
                return Err(ProbeError::Closed);
            }
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads one length-framed message: `header` bytes first, then `frame_len(header)`
/// bytes in total (header included), refusing frames above `cap`.
pub(crate) async fn read_frame<S, F>(
    s: &mut S,
    header: usize,
    cap: usize,
    frame_len: F,
) -> Result<Vec<u8>, ProbeError>
where
    S: AsyncRead + Unpin,
    F: Fn(&[u8]) -> Result<usize, ProbeError>,
{
    let mut buf = vec![0u8; header];
    read_exact(s, &mut buf).await?;
    let total = frame_len(&buf)?;
    if total > cap {
        return Err(ProbeError::TooLarge(cap));
    }
    if total < header {
        return Err(ProbeError::Protocol(format!(
            "frame length {total} is shorter than its {header}-byte header"
        )));
    }
    buf.resize(total, 0);
    read_exact(s, &mut buf[header..]).await?;
    Ok(buf)
}

async fn read_exact<S: AsyncRead + Unpin>(s: &mut S, buf: &mut [u8]) -> Result<(), ProbeError> {
    match s.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(ProbeError::Closed),
        Err(e) => Err(e.into()),
    }
}

/// Printable text of a greeting or header line: control characters become spaces,
/// whitespace runs collapse, at most `max` characters.
pub(crate) fn clean_text(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut space = false;
    for c in text.chars() {
        if out.chars().count() >= max {
            break;
        }
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}
