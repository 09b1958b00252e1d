//! LDAP (389, 3268; over TLS on 636, 3269): an anonymous rootDSE search, which
//! every directory answers, and CLDAP (389/udp): the netlogon "LDAP ping" a domain
//! controller answers with its domain, forest, host name and site.

use portq_wire::{WireError, ldap};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::{ProbeContext, ProbeError, TCP_READ_CAP, UdpProbe};
use crate::finding::Evidence;

/// Reads LDAP messages until SearchResultDone; returns them concatenated. Several
/// messages may arrive in one read, so parsing works on one growing buffer.
async fn read_search_reply<S: AsyncRead + Unpin>(s: &mut S) -> Result<Vec<u8>, ProbeError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut pos = 0;
    let mut messages = 0;
    loop {
        while let Some(total) = ldap::ldap_message_len_checked(buf.get(pos..).unwrap_or(&[]))? {
            if pos.saturating_add(total) > TCP_READ_CAP {
                return Err(ProbeError::TooLarge(TCP_READ_CAP));
            }
            let Some(msg) = buf.get(pos..pos + total) else {
                break;
            };
            let (m, _) = ldap::decode_message(msg)?;
            pos += total;
            messages += 1;
            match m.op {
                ldap::ProtocolOp::SearchResultDone(_) => {
                    buf.truncate(pos);
                    return Ok(buf);
                }
                ldap::ProtocolOp::ExtendedResponse { result, .. } => {
                    return Err(ProbeError::Protocol(format!(
                        "the server ended the session: {} {}",
                        result.code, result.diagnostic
                    )));
                }
                _ => {}
            }
            if messages >= ldap::MAX_MESSAGES {
                return Err(ProbeError::Protocol(format!(
                    "no SearchResultDone within {} messages",
                    ldap::MAX_MESSAGES
                )));
            }
        }
        let room = TCP_READ_CAP.saturating_sub(buf.len()).min(chunk.len());
        if room == 0 {
            return Err(ProbeError::TooLarge(TCP_READ_CAP));
        }
        let n = s.read(&mut chunk[..room]).await?;
        if n == 0 {
            return Err(ProbeError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub(crate) async fn probe<S>(
    mut s: S,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let id = i32::try_from(ctx.nonce & 0x7fff).unwrap_or(1).max(1);
    s.write_all(&ldap::rootdse_request(id)).await?;
    let reply = read_search_reply(&mut s).await?;
    let root = ldap::decode_rootdse_reply(&reply)?;
    ev.push(Evidence::Ldap {
        naming_context: root.default_naming_context,
        dns_host_name: root.dns_host_name,
        naming_contexts: root.naming_contexts,
        vendor_name: root.vendor_name,
    });
    let _ = s.shutdown().await;
    Ok(())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub(crate) struct Cldap;

impl UdpProbe for Cldap {
    fn protocol(&self) -> &'static str {
        "CLDAP"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        let id = i32::try_from(ctx.nonce & 0x7fff).unwrap_or(1).max(1);
        ldap::netlogon_ping_request(id, ctx.domain.as_deref(), ldap::PROBE_NT_VERSION)
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        let r = ldap::decode_netlogon_ping_reply(reply, ldap::PROBE_NT_VERSION)?;
        Ok(Evidence::Cldap {
            domain: non_empty(r.dns_domain_name),
            forest: non_empty(r.dns_forest_name),
            dc_name: non_empty(r.dns_host_name),
            netbios_domain: non_empty(r.netbios_domain_name),
            site: non_empty(r.dc_site_name),
        })
    }
    fn always_answers(&self) -> bool {
        true
    }
}
