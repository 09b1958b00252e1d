//! SMB (445/tcp, and 139/tcp after a NetBIOS session request): an SMB2 NEGOTIATE
//! offering 2.0.2 to 3.1.1; the reply names the dialect and the signing policy.

use portq_wire::{netbios, smb2};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::io::read_frame;
use super::{ProbeContext, ProbeError, TCP_READ_CAP};
use crate::finding::Evidence;

/// Our NetBIOS calling name on 139.
const CALLING_NAME: &str = "PORTQ";

/// Reads one NetBIOS session packet (4-byte header plus payload).
async fn read_session_packet<S: AsyncRead + Unpin>(s: &mut S) -> Result<Vec<u8>, ProbeError> {
    read_frame(s, 4, TCP_READ_CAP, |h| {
        let (_, len) = netbios::session_header(h)?;
        Ok(len + 4)
    })
    .await
}

pub(crate) async fn probe<S>(
    mut s: S,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
    netbios_session: bool,
) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if netbios_session {
        s.write_all(&netbios::smbserver_session_request(CALLING_NAME)?)
            .await?;
        let reply = read_session_packet(&mut s).await?;
        match netbios::decode_session_reply(&reply)? {
            netbios::SessionReply::Positive => {}
            other => return Err(ProbeError::Protocol(format!("NetBIOS session: {other}"))),
        }
    }
    let guid = uuid::Uuid::from_u128(
        (u128::from(ctx.nonce) << 96) | (u128::from(super::nonce()) << 64) | 0x0050_4f52_5451,
    );
    s.write_all(&smb2::negotiate_request(&guid)).await?;
    let reply = read_session_packet(&mut s).await?;
    let result = match smb2::decode_negotiate_response(&reply)? {
        smb2::NegotiateReply::Smb2(r) => {
            ev.push(Evidence::Smb {
                dialect: r.dialect.name().to_string(),
                signing_required: r.signing_required(),
            });
            Ok(())
        }
        smb2::NegotiateReply::Error { status } => Err(ProbeError::Protocol(format!(
            "SMB2 NEGOTIATE refused with status {status:#010x}"
        ))),
        smb2::NegotiateReply::Smb1 { .. } => Err(ProbeError::Protocol(
            "the server answered SMB2 NEGOTIATE in SMB1: it speaks SMB1 only".into(),
        )),
    };
    let _ = s.shutdown().await;
    result
}
