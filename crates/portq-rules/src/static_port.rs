//! Services that can be pinned to a fixed RPC port, and `--static-port SERVICE=PORT`.

use crate::RulesError;
use serde::Serialize;

/// A service whose RPC port can be fixed instead of taken from the dynamic range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StaticService {
    /// AD replication and directory RPC (NTDS `TCP/IP Port`).
    Ntds,
    /// Netlogon on DCs (`DCTcpipPort`).
    Netlogon,
    /// The legacy File Replication Service (`RPC TCP/IP Port Assignment`).
    Frs,
    /// DFS Replication (`dfsrdiag StaticRPC`).
    Dfsr,
    /// WMI in its own host process (`winmgmt /standalonehost`), which listens on TCP 24158.
    Wmi,
}

/// The port WMI listens on once it runs as a standalone host.
pub const WMI_FIXED_PORT: u16 = 24158;

impl StaticService {
    /// Every pinnable service.
    pub const ALL: [StaticService; 5] = [
        StaticService::Ntds,
        StaticService::Netlogon,
        StaticService::Frs,
        StaticService::Dfsr,
        StaticService::Wmi,
    ];

    /// The token used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StaticService::Ntds => "ntds",
            StaticService::Netlogon => "netlogon",
            StaticService::Frs => "frs",
            StaticService::Dfsr => "dfsr",
            StaticService::Wmi => "wmi",
        }
    }

    /// The catalogue service whose dynamic RPC port this pins.
    pub fn catalog_service(self) -> &'static str {
        match self {
            StaticService::Ntds => "lsass",
            StaticService::Netlogon => "netlogon",
            StaticService::Frs => "ntfrs",
            StaticService::Dfsr => "dfsr",
            StaticService::Wmi => "winmgmt",
        }
    }
}

/// A service pinned to a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StaticPort {
    /// The service.
    pub service: StaticService,
    /// Its fixed TCP port.
    pub port: u16,
}

impl StaticPort {
    /// Parses `ntds=38901` (service names are case-insensitive); `wmi` alone means
    /// WMI's fixed port 24158, the only one `winmgmt /standalonehost` uses.
    pub fn parse(text: &str) -> Result<StaticPort, RulesError> {
        let bad = |reason: String| RulesError::BadStaticPort {
            text: text.to_owned(),
            reason,
        };
        if text.trim().eq_ignore_ascii_case("wmi") {
            return Ok(StaticPort {
                service: StaticService::Wmi,
                port: WMI_FIXED_PORT,
            });
        }
        let (name, port) = text
            .split_once('=')
            .ok_or_else(|| bad("expected SERVICE=PORT, e.g. ntds=38901".into()))?;
        let name = name.trim().to_ascii_lowercase();
        let service = StaticService::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                bad(format!(
                    "unknown service '{name}' (expected ntds, netlogon, frs, dfsr or wmi)"
                ))
            })?;
        let port: u16 = port
            .trim()
            .parse()
            .ok()
            .filter(|p| (1024..=65535).contains(p))
            .ok_or_else(|| bad("the port must be a number from 1024 to 65535".into()))?;
        if service == StaticService::Wmi && port != WMI_FIXED_PORT {
            return Err(bad(format!(
                "WMI's standalone host always listens on {WMI_FIXED_PORT}: write wmi or wmi={WMI_FIXED_PORT}"
            )));
        }
        Ok(StaticPort { service, port })
    }
}

/// Checks a set of static ports: each service at most once, no two on the same port.
pub fn check_distinct(ports: &[StaticPort]) -> Result<(), RulesError> {
    for (i, a) in ports.iter().enumerate() {
        for b in &ports[..i] {
            if a.service == b.service {
                return Err(RulesError::BadStaticPort {
                    text: format!("{}={}", a.service.as_str(), a.port),
                    reason: format!("{} is given twice", a.service.as_str()),
                });
            }
            if a.port == b.port {
                return Err(RulesError::StaticCollision {
                    port: a.port,
                    service: a.service.as_str(),
                    other: format!("the static port of {}", b.service.as_str()),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            StaticPort::parse("NTDS=38901"),
            Ok(StaticPort {
                service: StaticService::Ntds,
                port: 38901
            })
        );
        assert!(StaticPort::parse("ntds").is_err());
        assert!(StaticPort::parse("bogus=1").is_err());
        assert!(StaticPort::parse("ntds=80").is_err());
        assert!(StaticPort::parse("ntds=70000").is_err());
        assert_eq!(StaticPort::parse("WMI").map(|s| s.port), Ok(WMI_FIXED_PORT));
        assert!(StaticPort::parse("wmi=24158").is_ok());
        assert!(StaticPort::parse("wmi=24159").is_err());
        let a = StaticPort::parse("ntds=38901").unwrap();
        let b = StaticPort::parse("netlogon=38901").unwrap();
        assert!(matches!(
            check_distinct(&[a, b]),
            Err(RulesError::StaticCollision { .. })
        ));
        assert!(check_distinct(&[a, StaticPort::parse("netlogon=38902").unwrap()]).is_ok());
    }
}
