//! Greeting lines (FTP 21, SMTP 25, POP3 110, IMAP 143): the server speaks first;
//! read one line, at most [`BANNER_CAP`] bytes.

use tokio::io::AsyncRead;

use super::ProbeError;
use super::io::{clean_text, read_until};
use crate::finding::Evidence;

/// The most read of a greeting.
pub(crate) const BANNER_CAP: usize = 1024;

pub(crate) async fn probe<S: AsyncRead + Unpin>(
    mut s: S,
    ev: &mut Vec<Evidence>,
) -> Result<(), ProbeError> {
    let line = read_until(&mut s, BANNER_CAP, |b| {
        b.iter().position(|&c| c == b'\n').map(|i| i + 1)
    })
    .await?;
    let text = clean_text(&line, 200);
    if text.is_empty() {
        return Err(ProbeError::Protocol("empty greeting".into()));
    }
    ev.push(Evidence::Banner { text });
    Ok(())
}
