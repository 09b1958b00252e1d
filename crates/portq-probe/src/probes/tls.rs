//! TLS for probes (LDAPS, HTTPS): the handshake accepts any certificate, because
//! portq reports what a server presents rather than deciding whether to trust it;
//! signatures in the handshake are still checked. The certificate's subject,
//! issuer and expiry become [`Evidence::TlsCertificate`].

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{ProbeContext, ProbeError};
use crate::finding::Evidence;

/// Accepts every certificate; verifies handshake signatures with the provider's algorithms.
#[derive(Debug)]
struct ReportOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ReportOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn config() -> Result<Arc<ClientConfig>, ProbeError> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = Arc::new(ReportOnly {
                algorithms: provider.signature_verification_algorithms,
            });
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| {
                    Arc::new(
                        b.dangerous()
                            .with_custom_certificate_verifier(verifier)
                            .with_no_client_auth(),
                    )
                })
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(ProbeError::Tls)
}

fn server_name(ctx: &ProbeContext) -> ServerName<'static> {
    if ctx.host.parse::<std::net::IpAddr>().is_err()
        && let Ok(name) = ServerName::try_from(ctx.host.clone())
    {
        return name;
    }
    ServerName::IpAddress(ctx.address.into())
}

/// Runs the TLS handshake and records the server certificate.
pub(crate) async fn handshake<S>(
    stream: S,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
) -> Result<TlsStream<S>, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connector = TlsConnector::from(config()?);
    let tls = connector
        .connect(server_name(ctx), stream)
        .await
        .map_err(|e| ProbeError::Tls(format!("handshake failed: {e}")))?;
    let (_, conn) = tls.get_ref();
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(v) => format!("{v:?}"),
        None => "TLS".to_string(),
    };
    match conn.peer_certificates().and_then(|c| c.first()) {
        Some(cert) => ev.push(certificate_evidence(cert.as_ref(), protocol)),
        None => ev.push(Evidence::error(
            crate::finding::ProbeErrorKind::Tls,
            "TLS: the server sent no certificate",
        )),
    }
    Ok(tls)
}

/// Subject, issuer and expiry of a DER certificate (an error evidence if it does not parse).
pub(crate) fn certificate_evidence(der: &[u8], protocol: String) -> Evidence {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let not_after_unix = cert.validity().not_after.timestamp();
            Evidence::TlsCertificate {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_after: crate::finding::rfc3339(not_after_unix),
                not_after_unix,
                protocol,
            }
        }
        Err(e) => Evidence::error(
            crate::finding::ProbeErrorKind::Decode,
            format!("TLS certificate does not parse: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(crate::finding::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(crate::finding::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            crate::finding::rfc3339(1_900_000_000),
            "2030-03-17T17:46:40Z"
        );
        assert_eq!(
            crate::finding::rfc3339(253_402_300_799),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(crate::finding::rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn garbage_certificate_is_an_error_evidence() {
        assert!(certificate_evidence(b"not a certificate", "TLSv1.3".into()).is_error());
    }
}
