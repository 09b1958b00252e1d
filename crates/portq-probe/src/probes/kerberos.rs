//! Kerberos (88/udp and 88/tcp): an AS-REQ without pre-authentication for a user
//! that does not exist. A KDC always answers it with a KRB-ERROR (usually
//! `KDC_ERR_C_PRINCIPAL_UNKNOWN`, or `KDC_ERR_WRONG_REALM` when the realm guess is
//! wrong), which names its realm.

use portq_wire::{WireError, kerberos};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::io::read_frame;
use super::{ProbeContext, ProbeError, TCP_READ_CAP, UdpProbe};
use crate::finding::Evidence;

/// The client principal asked for; not expected to exist.
const CLIENT: &str = "portq-probe";
/// The realm asked for when neither the options nor the host name suggest one.
const FALLBACK_REALM: &str = "PORTQ.INVALID";

fn realm(ctx: &ProbeContext) -> String {
    ctx.domain
        .as_deref()
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| FALLBACK_REALM.to_string())
}

fn request(ctx: &ProbeContext) -> Vec<u8> {
    kerberos::as_req(&realm(ctx), CLIENT, ctx.nonce)
}

/// The reply as evidence, with the realm that was asked kept apart from the KDC's.
fn evidence(reply: kerberos::KdcReply, ctx: &ProbeContext) -> Evidence {
    let asked_realm = realm(ctx);
    let asked_realm_origin = if ctx.domain.is_some() {
        ctx.domain_origin
    } else {
        crate::finding::DomainOrigin::Placeholder
    };
    match reply {
        kerberos::KdcReply::Error(e) => Evidence::Kerberos {
            error_code: i32::try_from(e.error_code.0).unwrap_or(i32::MAX),
            error_name: e.error_code.name().to_string(),
            realm: (!e.realm.is_empty()).then_some(e.realm),
            asked_realm,
            asked_realm_origin,
        },
        kerberos::KdcReply::AsRep(r) => Evidence::Kerberos {
            error_code: 0,
            error_name: "AS-REP".to_string(),
            realm: (!r.crealm.is_empty()).then_some(r.crealm),
            asked_realm,
            asked_realm_origin,
        },
    }
}

pub(crate) struct Kerberos;

impl UdpProbe for Kerberos {
    fn protocol(&self) -> &'static str {
        "Kerberos"
    }
    fn request(&self, ctx: &ProbeContext) -> Vec<u8> {
        request(ctx)
    }
    fn decode(&self, reply: &[u8], ctx: &ProbeContext) -> Result<Evidence, WireError> {
        kerberos::decode(reply).map(|r| evidence(r, ctx))
    }
    fn always_answers(&self) -> bool {
        true
    }
}

/// The same AS-REQ over TCP, with the 4-byte length prefix.
pub(crate) async fn probe_tcp<S>(
    mut s: S,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    s.write_all(&kerberos::tcp_frame(&request(ctx))).await?;
    let reply = read_frame(&mut s, 4, TCP_READ_CAP, |h| {
        kerberos::tcp_record_len(h)?
            .ok_or_else(|| ProbeError::Protocol("short Kerberos record header".into()))
    })
    .await?;
    ev.push(evidence(kerberos::decode_tcp(&reply)?, ctx));
    let _ = s.shutdown().await;
    Ok(())
}

/// kpasswd (464/udp): a well-framed change-password request with stand-in
/// AP-REQ/KRB-PRIV; the server answers with a KRB-ERROR.
pub(crate) struct Kpasswd;

impl UdpProbe for Kpasswd {
    fn protocol(&self) -> &'static str {
        "kpasswd"
    }
    fn request(&self, _ctx: &ProbeContext) -> Vec<u8> {
        kerberos::kpasswd_probe_request()
    }
    fn decode(&self, reply: &[u8], _ctx: &ProbeContext) -> Result<Evidence, WireError> {
        Ok(match kerberos::decode_kpasswd_reply(reply)? {
            kerberos::KpasswdReply::Error { error, result, .. } => Evidence::Kpasswd {
                result_code: result.as_ref().map(|(code, _)| code.0),
                result_name: result.as_ref().map(|(code, _)| code.name().to_owned()),
                error_code: Some(i32::try_from(error.error_code.0).unwrap_or(i32::MAX)),
                error_name: Some(error.error_code.name().to_owned()),
            },
            kerberos::KpasswdReply::Reply { .. } => Evidence::Kpasswd {
                result_code: None,
                result_name: None,
                error_code: None,
                error_name: None,
            },
        })
    }
    fn always_answers(&self) -> bool {
        false
    }
}
