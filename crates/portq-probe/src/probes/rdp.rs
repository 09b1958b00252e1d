//! RDP (3389/tcp): an X.224 connection request offering TLS and CredSSP; the
//! connection confirm names the security protocol the server selected.

use portq_wire::rdp;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::io::read_frame;
use super::{ProbeError, TCP_READ_CAP};
use crate::finding::Evidence;

pub(crate) async fn probe<S>(mut s: S, ev: &mut Vec<Evidence>) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    s.write_all(&rdp::connection_request()).await?;
    let reply = read_frame(&mut s, 4, TCP_READ_CAP, |h| {
        if h.first() != Some(&rdp::TPKT_VERSION) {
            return Err(ProbeError::Protocol(format!(
                "not a TPKT reply (first byte {:#04x})",
                h.first().copied().unwrap_or(0)
            )));
        }
        Ok(usize::from(u16::from_be_bytes([
            h.get(2).copied().unwrap_or(0),
            h.get(3).copied().unwrap_or(0),
        ])))
    })
    .await?;
    let cc = rdp::decode_connection_confirm(&reply)?;
    ev.push(match cc.negotiation {
        rdp::Negotiation::None => Evidence::Rdp {
            selected_protocol: Some(rdp::SelectedProtocol::Rdp.to_string()),
            failure: None,
        },
        rdp::Negotiation::Response { selected, .. } => Evidence::Rdp {
            selected_protocol: Some(selected.to_string()),
            failure: None,
        },
        rdp::Negotiation::Failure(code) => Evidence::Rdp {
            selected_protocol: None,
            failure: Some(code.to_string()),
        },
    });
    let _ = s.shutdown().await;
    Ok(())
}
