//! Exporter modules: what a `/probe?module=NAME` checks, from the YAML config file, and
//! a built-in module for every role.
//!
//! ```yaml
//! modules:
//!   dc:
//!     roles: [domain-controller]
//!     timeout: 1.5          # seconds per attempt
//!     retries: 2
//!     patient: false        # true: every UDP attempt waits the whole timeout
//!   kerberos:
//!     ports: "tcp:88,udp:88,udp:464"
//!     probes: on            # auto (default) | on | off
//!   dns-and-time:
//!     services: [dns, w32time]
//!     rpc_follow_up: false
//!   dc-paths:
//!     roles: [domain-controller]
//!     trace_filtered: true  # where each FILTERED port stops (needs CAP_NET_RAW)
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use portq_probe::CheckOptions;
use portq_probe::pipeline::{AppProbes, CheckBuilder, PipelineOptions, RpcFollowUp};
use serde::Deserialize;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Most modules in one file.
const MAX_MODULES: usize = 1000;

/// What one module checks, and how.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Roles (`domain-controller`, `dc:no-gc`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Catalogue services (`kdc`, `w32time`).
    #[serde(default)]
    pub services: Vec<String>,
    /// A port specification (`tcp:88,389,udp:53`).
    #[serde(default)]
    pub ports: Option<String>,
    /// Seconds one attempt waits (default 1).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Attempts per port (default 2).
    #[serde(default)]
    pub retries: Option<u8>,
    /// Every UDP attempt waits the whole timeout (default false: windows from the
    /// host's measured round-trip times, inside the scrape timeout).
    #[serde(default)]
    pub patient: Option<bool>,
    /// Application probes: `auto` (on for roles and services), `on`, `off`.
    #[serde(default)]
    pub probes: Option<String>,
    /// Ask the endpoint mapper for the RPC dynamic ports (default true).
    #[serde(default)]
    pub rpc_follow_up: Option<bool>,
    /// The AD domain for the Kerberos realm and the CLDAP ping.
    #[serde(default)]
    pub domain: Option<String>,
    /// SNMP community for 161/udp.
    #[serde(default)]
    pub snmp_community: Option<String>,
    /// Trace every FILTERED port after the check (`portq_port_filtered_after_hop`);
    /// needs CAP_NET_RAW (default false).
    #[serde(default)]
    pub trace_filtered: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    modules: BTreeMap<String, Module>,
}

/// Every module the exporter knows: the file's, then one per role that accepts something
/// (`domain-controller`, `dns-server`, ...) unless the file names a module the same.
#[derive(Debug, Clone)]
pub struct Modules {
    modules: BTreeMap<String, Module>,
}

impl Modules {
    /// The built-in modules only.
    pub fn builtin() -> Self {
        let mut modules = BTreeMap::new();
        // A role that only connects out (Arc's agent) has nothing to probe: no module.
        for r in portq_catalog::roles()
            .iter()
            .filter(|r| !r.requirements.is_empty())
        {
            modules.insert(
                r.id.to_owned(),
                Module {
                    roles: vec![r.id.to_owned()],
                    ..Module::default()
                },
            );
        }
        Modules { modules }
    }

    /// Reads a config file; every module is validated (planned once) before the
    /// exporter starts.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read --config {}: {e}", path.display()))?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(format!(
                "--config {} is larger than {MAX_CONFIG_BYTES} bytes",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --config {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("--config {}: {e}", path.display()))
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = if text.trim().is_empty() {
            File {
                modules: BTreeMap::new(),
            }
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| one_line(&e.to_string()))?
        };
        if file.modules.len() > MAX_MODULES {
            return Err(format!("more than {MAX_MODULES} modules"));
        }
        let mut all = Self::builtin();
        for (name, m) in file.modules {
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "module name '{name}': use letters, digits, '-' and '_' (at most 64)"
                ));
            }
            m.options()
                .and_then(|o| m.builder("192.0.2.1", o).plan().map_err(|e| e.to_string()))
                .map_err(|e| format!("module '{name}': {e}"))?;
            all.modules.insert(name, m);
        }
        Ok(all)
    }

    /// The module of that name.
    pub fn get(&self, name: &str) -> Option<&Module> {
        self.modules.get(name)
    }

    /// The names of the modules that trace their FILTERED ports.
    pub fn tracing(&self) -> Vec<&str> {
        self.modules
            .iter()
            .filter(|(_, m)| m.trace_filtered == Some(true))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// Module names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }
}

impl Module {
    /// The pipeline options of this module.
    pub fn options(&self) -> Result<PipelineOptions, String> {
        let timeout = self.timeout.unwrap_or(1.0);
        if !(0.01..=60.0).contains(&timeout) {
            return Err("timeout must be between 0.01 and 60 seconds".into());
        }
        let retries = self.retries.unwrap_or(2);
        if !(1..=10).contains(&retries) {
            return Err("retries must be from 1 to 10".into());
        }
        let probes = match self.probes.as_deref().unwrap_or("auto") {
            "auto" => AppProbes::Auto,
            "on" | "true" => AppProbes::On,
            "off" | "false" => AppProbes::Off,
            other => return Err(format!("probes '{other}': use auto, on or off")),
        };
        let follow = if self.rpc_follow_up.unwrap_or(true) {
            RpcFollowUp::Auto
        } else {
            RpcFollowUp::Off
        };
        let engine = CheckOptions {
            timeout: Duration::from_secs_f64(timeout),
            attempts: retries,
            udp_windows: if self.patient.unwrap_or(false) {
                portq_probe::rtt::UdpWindows::Fixed
            } else {
                portq_probe::rtt::UdpWindows::Adaptive
            },
            // One scrape's probes in flight; the exporter bounds scrapes in flight.
            concurrency: Some(64),
            domain: self.domain.clone(),
            snmp_community: self
                .snmp_community
                .clone()
                .unwrap_or_else(|| "public".to_owned()),
            ..CheckOptions::default()
        };
        Ok(PipelineOptions::default()
            .with_engine(engine)
            .with_app_probes(probes)
            .with_rpc_follow_up(follow))
    }

    /// The check of this module on one target.
    pub fn builder(&self, target: &str, options: PipelineOptions) -> CheckBuilder {
        let mut b = CheckBuilder::new()
            .target(target)
            .roles(self.roles.iter().cloned())
            .services(self.services.iter().cloned())
            .options(options);
        if let Some(p) = &self.ports {
            b = b.ports(p.clone());
        }
        b
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_a_module_and_files_add_their_own() {
        let m = Modules::parse(
            "modules:\n  kerberos:\n    ports: \"tcp:88,udp:88\"\n    probes: on\n  dc:\n    roles: [dc:no-gc]\n    timeout: 0.5\n",
        )
        .unwrap();
        assert!(m.get("domain-controller").is_some());
        assert!(m.get("dns-server").is_some());
        assert_eq!(
            m.get("kerberos").unwrap().ports.as_deref(),
            Some("tcp:88,udp:88")
        );
        assert_eq!(m.get("dc").unwrap().timeout, Some(0.5));
        assert!(
            Modules::parse("")
                .unwrap()
                .get("domain-controller")
                .is_some()
        );
    }

    #[test]
    fn bad_modules_are_refused_with_their_name() {
        for (text, want) in [
            ("modules:\n  x:\n    roles: [nope]\n", "module 'x'"),
            ("modules:\n  x:\n    ports: \"tcp:0\"\n", "module 'x'"),
            ("modules:\n  x: {}\n", "module 'x'"),
            (
                "modules:\n  x:\n    ports: \"80\"\n    timeout: 0\n",
                "timeout",
            ),
            (
                "modules:\n  x:\n    ports: \"80\"\n    probes: maybe\n",
                "probes",
            ),
            (
                "modules:\n  x:\n    ports: \"80\"\n    bogus: 1\n",
                "unknown field",
            ),
            ("modules:\n  \"a b\":\n    ports: \"80\"\n", "module name"),
            ("modules: [1, 2]\n", "modules"),
            (": : :\n", ""),
        ] {
            let e = Modules::parse(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
