//! HTTP (80, 5985) and HTTPS (443, 5986, after [`super::tls`]): `GET /`, read the
//! status line and the `Server` header; the body is never read.

use std::net::IpAddr;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::io::{clean_text, read_until};
use super::{ProbeContext, ProbeError};
use crate::finding::Evidence;

/// The most read of the response head.
pub(crate) const HEAD_CAP: usize = 16 * 1024;

fn host_header(ctx: &ProbeContext, default_port: u16) -> String {
    let host = match ctx.host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ctx.host.clone(),
    };
    if ctx.port == default_port {
        host
    } else {
        format!("{host}:{}", ctx.port)
    }
}

pub(crate) async fn probe<S>(
    mut s: S,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
    default_port: u16,
) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let req = format!(
        "GET / HTTP/1.0\r\nHost: {}\r\nUser-Agent: portq\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        host_header(ctx, default_port)
    );
    s.write_all(req.as_bytes()).await?;
    let head = read_until(&mut s, HEAD_CAP, |b| {
        b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
    })
    .await?;
    let result = parse_head(&head).map(|(status, server)| {
        ev.push(Evidence::Http { status, server });
    });
    let _ = s.shutdown().await;
    result
}

/// Status code and `Server` header of a response head.
pub(crate) fn parse_head(head: &[u8]) -> Result<(u16, Option<String>), ProbeError> {
    let mut lines = head.split(|&b| b == b'\n');
    let status_line = lines.next().unwrap_or(&[]);
    let text = String::from_utf8_lossy(status_line);
    let mut parts = text.split_whitespace();
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") || code.len() != 3 {
        return Err(ProbeError::Protocol(format!(
            "not an HTTP response: {:?}",
            clean_text(status_line, 60)
        )));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| ProbeError::Protocol(format!("bad HTTP status {code:?}")))?;
    let server = lines.find_map(|l| {
        let l = String::from_utf8_lossy(l);
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("server")
            .then(|| clean_text(value.as_bytes(), 200))
    });
    Ok((status, server.filter(|s| !s.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let (s, srv) = parse_head(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: x\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(s, 404);
        assert_eq!(srv.as_deref(), Some("Microsoft-HTTPAPI/2.0"));
        assert_eq!(parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap(), (200, None));
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 2000 x\r\n").is_err());
        assert!(parse_head(b"").is_err());
    }
}
