//! The servers' web config file (`portq exporter --web-config`, `portq serve
//! --web-config`), in the style of Prometheus' exporter-toolkit:
//! `basic_auth_users` maps user names to bcrypt hashes (`htpasswd -nBC 10 USER`).
//!
//! ```yaml
//! basic_auth_users:
//!   prometheus: $2y$10$X0kP...   # bcrypt
//! ```
//!
//! `tls_server_config` serves HTTPS, as exporter-toolkit does (see [`crate::tls`]):
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/portq/tls/server.crt
//!   key_file: /etc/portq/tls/server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: /etc/portq/tls/clients-ca.crt
//!   min_version: TLS12
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use serde::Deserialize;

/// Largest web config file read.
const MAX_BYTES: u64 = 64 * 1024;
/// Credentials remembered after a successful bcrypt check (bcrypt is slow on purpose).
const CACHE: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    tls_server_config: Option<crate::tls::TlsSettings>,
}

/// Who may use the exporter.
#[derive(Debug, Default)]
pub struct WebConfig {
    users: BTreeMap<String, String>,
    verified: Mutex<Vec<(String, String)>>,
    tls: Option<crate::tls::TlsSettings>,
}

impl WebConfig {
    /// Reads and checks a web config file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read --web-config {}: {e}", path.display()))?;
        if meta.len() > MAX_BYTES {
            return Err(format!("--web-config {} is too large", path.display()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --web-config {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("--web-config {}: {e}", path.display()))
    }

    /// Parses web config text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = serde_yaml_ng::from_str(text).map_err(|e| {
            e.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        for (user, hash) in &file.basic_auth_users {
            if user.is_empty() || user.contains(':') {
                return Err(format!("basic_auth_users: invalid user name '{user}'"));
            }
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                return Err(format!(
                    "basic_auth_users: the password of '{user}' must be a bcrypt hash ($2y$...)"
                ));
            }
        }
        if let Some(t) = &file.tls_server_config {
            t.check().map_err(|e| format!("tls_server_config: {e}"))?;
        }
        Ok(WebConfig {
            users: file.basic_auth_users,
            verified: Mutex::new(Vec::new()),
            tls: file.tls_server_config,
        })
    }

    /// The TLS settings, when the exporter serves HTTPS.
    pub fn tls(&self) -> Option<&crate::tls::TlsSettings> {
        self.tls.as_ref()
    }

    /// True when no users are configured, or the request carries valid credentials.
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = basic_credentials(headers) else {
            return false;
        };
        let Some(hash) = self.users.get(&user) else {
            return false;
        };
        let key = (user, password);
        {
            let cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if cache.contains(&key) {
                return true;
            }
        }
        // bcrypt is slow on purpose (tens of milliseconds): on a multi-threaded runtime
        // the worker hands its other tasks on while it hashes, so wrong passwords do not
        // stall every request.
        let verify = || bcrypt::verify(&key.1, hash).unwrap_or(false);
        let ok = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(verify)
            }
            _ => verify(),
        };
        if !ok {
            return false;
        }
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE {
            cache.remove(0);
        }
        cache.push(key);
        true
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || rest.len() > 1024 {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(user: &str, password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
        );
        h
    }

    #[test]
    fn the_contrib_example_is_a_valid_web_config() {
        let text = include_str!("../../../contrib/prometheus/web-config.yml");
        let w = WebConfig::parse(text).expect("contrib/prometheus/web-config.yml");
        assert!(w.tls().is_some_and(|t| t.check().is_ok()));
    }

    #[test]
    fn basic_auth_checks_bcrypt_hashes() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let w = WebConfig::parse(&format!("basic_auth_users:\n  prom: '{hash}'\n")).unwrap();
        assert!(w.authorized(&with_auth("prom", "s3cret")));
        assert!(w.authorized(&with_auth("prom", "s3cret")), "cached");
        assert!(!w.authorized(&with_auth("prom", "wrong")));
        assert!(!w.authorized(&with_auth("other", "s3cret")));
        assert!(!w.authorized(&HeaderMap::new()));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(!w.authorized(&h));
        assert!(WebConfig::default().authorized(&HeaderMap::new()));
    }

    #[test]
    fn bad_web_configs_are_refused() {
        assert!(WebConfig::parse("basic_auth_users:\n  prom: plaintext\n").is_err());
        // A TLS section needs both files, and checks its names.
        assert!(WebConfig::parse("tls_server_config:\n  cert_file: x\n").is_err());
        assert!(
            WebConfig::parse("tls_server_config:\n  cert_file: c\n  key_file: k\n")
                .is_ok_and(|w| w.tls().is_some())
        );
        assert!(
            WebConfig::parse(
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS11\n"
            )
            .is_err()
        );
        assert!(WebConfig::parse("basic_auth_users: [1]\n").is_err());
    }
}
