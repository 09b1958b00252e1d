//! TLS for the servers, in the shape of Prometheus' exporter-toolkit: the web config's
//! `tls_server_config` (certificate and key, client certificates, the lowest version,
//! TLS 1.2 cipher suites), served with rustls. The files are read again when they
//! change on disk, so a rotated certificate is served on the next connection without
//! a restart; a change that does not load (a half-written file) keeps the last good
//! configuration and says so once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// `tls_server_config` as exporter-toolkit spells it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The server certificate chain (PEM).
    pub cert_file: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// `NoClientCert` (default), `VerifyClientCertIfGiven` or `RequireAndVerifyClientCert`.
    #[serde(default)]
    pub client_auth_type: Option<String>,
    /// The CAs client certificates must chain to (PEM).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// `TLS12` (default) or `TLS13`; older versions are not offered at all.
    #[serde(default)]
    pub min_version: Option<String>,
    /// `TLS13` (default) or `TLS12`.
    #[serde(default)]
    pub max_version: Option<String>,
    /// TLS 1.2 cipher suites allowed (Go's names); TLS 1.3 suites are always on.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
}

/// Whether client certificates are asked for and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    IfGiven,
    Required,
}

impl TlsSettings {
    /// Checks the settings that need no files: every name known, the combination sane.
    pub fn check(&self) -> Result<(), String> {
        let auth = self.client_auth()?;
        if auth != ClientAuth::None && self.client_ca_file.is_none() {
            return Err("client_auth_type needs client_ca_file".into());
        }
        if auth == ClientAuth::None && self.client_ca_file.is_some() {
            return Err(
                "client_ca_file without client_auth_type would check no client certificate; set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)"
                    .into(),
            );
        }
        let (min, max) = (
            self.version(&self.min_version, 12)?,
            self.version(&self.max_version, 13)?,
        );
        if min > max {
            return Err("min_version is above max_version".into());
        }
        self.provider()?;
        Ok(())
    }

    fn client_auth(&self) -> Result<ClientAuth, String> {
        match self.client_auth_type.as_deref().unwrap_or("NoClientCert") {
            "NoClientCert" => Ok(ClientAuth::None),
            "VerifyClientCertIfGiven" => Ok(ClientAuth::IfGiven),
            "RequireAndVerifyClientCert" => Ok(ClientAuth::Required),
            other @ ("RequestClientCert" | "RequireAnyClientCert") => Err(format!(
                "client_auth_type {other} accepts certificates nobody checked; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )),
            other => Err(format!(
                "client_auth_type '{other}': use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )),
        }
    }

    /// 12 or 13 from `TLS12`/`TLS13`.
    fn version(&self, v: &Option<String>, default: u8) -> Result<u8, String> {
        match v.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(old @ ("TLS10" | "TLS11")) => Err(format!(
                "{old} is not offered: TLS 1.0 and 1.1 are broken (use TLS12 or TLS13)"
            )),
            Some(other) => Err(format!("TLS version '{other}': use TLS12 or TLS13")),
        }
    }

    /// ring's suites: every TLS 1.3 one, and the TLS 1.2 ones `cipher_suites` names (all
    /// when it is empty).
    fn provider(&self) -> Result<CryptoProvider, String> {
        let mut p = rustls::crypto::ring::default_provider();
        if self.cipher_suites.is_empty() {
            return Ok(p);
        }
        let name_of = |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite());
        for want in &self.cipher_suites {
            // Go writes the ChaCha suites without their hash.
            let known = p.cipher_suites.iter().any(|s| {
                let n = name_of(s);
                n == *want || n == format!("{want}_SHA256")
            });
            if !known {
                return Err(format!("cipher suite '{want}' is not available"));
            }
        }
        p.cipher_suites.retain(|s| {
            let n = name_of(s);
            s.version() == &rustls::version::TLS13
                || self
                    .cipher_suites
                    .iter()
                    .any(|w| n == *w || n == format!("{w}_SHA256"))
        });
        Ok(p)
    }

    /// The files whose changes make the configuration load again.
    fn files(&self) -> Vec<&Path> {
        let mut v = vec![self.cert_file.as_path(), self.key_file.as_path()];
        if let Some(ca) = &self.client_ca_file {
            v.push(ca);
        }
        v
    }

    /// Reads the files and builds the rustls configuration.
    fn load(&self) -> Result<ServerConfig, String> {
        let provider = Arc::new(self.provider()?);
        let versions: &[&'static rustls::SupportedProtocolVersion] = match (
            self.version(&self.min_version, 12)?,
            self.version(&self.max_version, 13)?,
        ) {
            (12, 12) => &[&rustls::version::TLS12],
            (13, _) => &[&rustls::version::TLS13],
            _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
        };
        let certs = read_certs(&self.cert_file)?;
        let key = PrivateKeyDer::from_pem_file(&self.key_file)
            .map_err(|e| format!("key_file {}: {e}", self.key_file.display()))?;
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| format!("tls_server_config: {e}"))?;
        let builder = match self.client_auth()? {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let ca = self
                    .client_ca_file
                    .as_ref()
                    .ok_or("client_auth_type needs client_ca_file")?;
                let mut roots = rustls::RootCertStore::empty();
                for c in read_certs(ca)? {
                    roots
                        .add(c)
                        .map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                );
                let verifier = if auth == ClientAuth::IfGiven {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| format!("client_ca_file {}: {e}", ca.display()))?,
                )
            }
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("cert_file and key_file: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Every certificate of a PEM file; at least one.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", path.display()));
    }
    Ok(certs)
}

/// What identifies a file's content cheaply: its modification time and length.
type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &[&Path]) -> Stamp {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// The live TLS configuration of a server: loaded at start (a failure then is fatal),
/// loaded again when its files change.
pub struct TlsServer {
    settings: TlsSettings,
    state: Mutex<Live>,
}

struct Live {
    stamp: Stamp,
    config: Arc<ServerConfig>,
    checked: Instant,
    /// The last reload failure, said once.
    failed: Option<String>,
}

/// Files are looked at no more often than this.
const RECHECK: Duration = Duration::from_millis(500);

impl TlsServer {
    /// Loads the configuration now; an error is the reason it cannot be served.
    pub fn new(settings: TlsSettings) -> Result<Self, String> {
        settings.check()?;
        let stamp = stamp(&settings.files());
        let config = Arc::new(settings.load()?);
        Ok(TlsServer {
            settings,
            state: Mutex::new(Live {
                stamp,
                config,
                checked: Instant::now(),
                failed: None,
            }),
        })
    }

    /// The configuration for a new connection: the files' current content when they
    /// changed and load, else the last good one.
    pub fn current(&self) -> Arc<ServerConfig> {
        let mut live = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if live.checked.elapsed() >= RECHECK {
            live.checked = Instant::now();
            let now = stamp(&self.settings.files());
            if now != live.stamp {
                match self.settings.load() {
                    Ok(c) => {
                        live.config = Arc::new(c);
                        live.stamp = now;
                        live.failed = None;
                        eprintln!("portq: TLS certificate files changed; serving the new ones");
                    }
                    Err(e) => {
                        if live.failed.as_deref() != Some(e.as_str()) {
                            eprintln!(
                                "portq: TLS files changed but do not load ({e}); still serving the previous ones"
                            );
                        }
                        live.failed = Some(e);
                    }
                }
            }
        }
        Arc::clone(&live.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Result<TlsSettings, String> {
        let yaml = format!("cert_file: c.pem\nkey_file: k.pem\n{extra}");
        let s: TlsSettings = serde_yaml_ng::from_str(&yaml).map_err(|e| e.to_string())?;
        s.check().map(|()| s)
    }

    #[test]
    fn exporter_toolkit_names_are_understood_and_weak_choices_refused() {
        assert!(settings("").is_ok());
        assert!(settings("min_version: TLS13\n").is_ok());
        assert!(
            settings("client_auth_type: RequireAndVerifyClientCert\nclient_ca_file: ca.pem\n")
                .is_ok()
        );
        assert!(settings("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]\n").is_ok());
        for bad in [
            "min_version: TLS11\n",
            "min_version: TLS10\n",
            "min_version: SSL3\n",
            "min_version: TLS13\nmax_version: TLS12\n",
            "client_auth_type: RequireAndVerifyClientCert\n",
            "client_ca_file: ca.pem\n",
            "client_auth_type: RequireAnyClientCert\nclient_ca_file: ca.pem\n",
            "client_auth_type: Maybe\n",
            "cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
            "bogus: 1\n",
        ] {
            assert!(settings(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chosen_tls12_suites_are_the_only_tls12_ones() {
        let s = settings("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n").unwrap();
        let p = s.provider().unwrap();
        let tls12: Vec<String> = p
            .cipher_suites
            .iter()
            .filter(|c| c.version() == &rustls::version::TLS12)
            .map(|c| format!("{:?}", c.suite()))
            .collect();
        assert_eq!(tls12, ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]);
        assert!(
            p.cipher_suites
                .iter()
                .any(|c| c.version() == &rustls::version::TLS13)
        );
    }
}
