//! Domain controllers found from the domain name: the DC locator's DNS SRV records
//! (`_ldap._tcp.dc._msdcs.DOMAIN`, `_kerberos._tcp.DOMAIN`, `_gc._tcp.DOMAIN`, and per
//! site `_ldap._tcp.SITE._sites.dc._msdcs.DOMAIN`, `_kerberos._tcp.SITE._sites.DOMAIN`),
//! each record's state (present, missing, error), its targets and their addresses, and
//! the domain controllers they name.
//!
//! Resolution is hickory-resolver's, asked either through the system's configuration
//! or one DNS server ([`DcLocator::with_dns_server`]). Everything is bounded: each query
//! has a timeout and a hard deadline, a record keeps at most [`MAX_TARGETS_PER_RECORD`]
//! targets, at most [`MAX_CONTROLLERS`] hosts are looked up, each with at most
//! [`MAX_ADDRESSES_PER_HOST`] addresses. I/O only: nothing here formats output.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portq_probe::discovery::{DcLocator, discover};
//!
//! let locator = DcLocator::new("example.test")?.with_dns_server("10.200.0.2:53".parse()?);
//! let found = discover(&locator).await?;
//! for r in &found.records {
//!     println!("{} {}", r.query.name, r.state);
//! }
//! for dc in &found.controllers {
//!     println!("{} {:?} priority {} weight {}", dc.host, dc.addresses, dc.priority, dc.weight);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt as _;
use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RData;
use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::target::{Target, TargetSpec};

/// How long one DNS query attempt waits by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per query by default.
pub const DEFAULT_ATTEMPTS: usize = 2;
/// Targets kept per SRV record (the rest are counted as cut).
pub const MAX_TARGETS_PER_RECORD: usize = 64;
/// Hosts looked up and returned as domain controllers, at most.
pub const MAX_CONTROLLERS: usize = 256;
/// Addresses kept per host.
pub const MAX_ADDRESSES_PER_HOST: usize = 8;
/// Address lookups in flight at once.
const LOOKUPS_AT_ONCE: usize = 8;
/// Longest site name accepted (a DNS label).
const MAX_SITE_LEN: usize = 63;

/// Why discovery could not run (a record that is missing or fails is a result, not an
/// error: see [`RecordState`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The domain is not a DNS name.
    #[error("invalid domain {domain:?}: {reason}")]
    InvalidDomain {
        /// The text given.
        domain: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The site is not a single DNS label.
    #[error("invalid site {site:?}: {reason}")]
    InvalidSite {
        /// The text given.
        site: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The DNS server is not an address (`10.0.0.1`, `10.0.0.1:53`, `[2001:db8::1]:53`).
    #[error("invalid DNS server {server:?}: expected an IP address, optionally with :PORT")]
    InvalidDnsServer {
        /// The text given.
        server: String,
    },
    /// The system's resolver configuration could not be read (and no DNS server was given).
    #[error("cannot read the system's DNS configuration: {reason} (give a DNS server)")]
    SystemConfig {
        /// What went wrong.
        reason: String,
    },
}

/// Which DC locator service a record advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SrvService {
    /// `_ldap._tcp` under `dc._msdcs`: the domain controllers.
    Ldap,
    /// `_kerberos._tcp`: the KDCs.
    Kerberos,
    /// `_gc._tcp`: the global catalog servers.
    Gc,
}

impl SrvService {
    /// The TCP port the service is expected on.
    pub fn default_port(self) -> u16 {
        match self {
            SrvService::Ldap => 389,
            SrvService::Kerberos => 88,
            SrvService::Gc => 3268,
        }
    }

    /// `ldap`, `kerberos`, `gc`.
    pub fn token(self) -> &'static str {
        match self {
            SrvService::Ldap => "ldap",
            SrvService::Kerberos => "kerberos",
            SrvService::Gc => "gc",
        }
    }
}

/// One SRV record the locator asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvQuery {
    /// The full record name (no trailing dot).
    pub name: String,
    /// What it advertises.
    pub service: SrvService,
    /// The site of a per-site record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// Where to look: a domain, optionally a site, optionally one DNS server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DcLocator {
    /// The AD DNS domain (lower case, no trailing dot).
    pub domain: String,
    /// The AD site whose records are asked first.
    pub site: Option<String>,
    /// The DNS server asked (`None`: the system's resolvers).
    pub dns_server: Option<SocketAddr>,
    /// How long one query attempt waits.
    pub timeout: Duration,
    /// Attempts per query.
    pub attempts: usize,
}

impl DcLocator {
    /// A locator for a domain (validated as a DNS name).
    pub fn new(domain: &str) -> Result<Self, DiscoveryError> {
        let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let bad = |reason| DiscoveryError::InvalidDomain {
            domain: domain.to_owned(),
            reason,
        };
        match TargetSpec::parse(&d) {
            Ok(TargetSpec::Name(_)) => {}
            Ok(_) => return Err(bad("an address, not a domain name")),
            Err(_) => return Err(bad("not a valid DNS name")),
        }
        if !d.contains('.') {
            return Err(bad(
                "an Active Directory DNS domain has at least two labels",
            ));
        }
        Ok(DcLocator {
            domain: d,
            site: None,
            dns_server: None,
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
        })
    }

    /// Asks the records of this AD site too (`Default-First-Site-Name`, ...).
    pub fn with_site(mut self, site: &str) -> Result<Self, DiscoveryError> {
        let s = site.trim();
        let bad = |reason| DiscoveryError::InvalidSite {
            site: site.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.len() > MAX_SITE_LEN {
            return Err(bad("longer than 63 characters (one DNS label)"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || s.starts_with('-')
            || s.ends_with('-')
        {
            return Err(bad(
                "a site name is one DNS label: letters, digits, '-' and '_'",
            ));
        }
        self.site = Some(s.to_owned());
        Ok(self)
    }

    /// Asks this DNS server instead of the system's resolvers.
    pub fn with_dns_server(mut self, server: SocketAddr) -> Self {
        self.dns_server = Some(server);
        self
    }

    /// Sets how long one query attempt waits (at least 10 ms).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// Sets the attempts per query (1 to 5).
    pub fn with_attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts.clamp(1, 5);
        self
    }

    /// The records asked, in order: the site's first (when a site is given), then the
    /// domain's.
    pub fn queries(&self) -> Vec<SrvQuery> {
        let d = &self.domain;
        let mut out = Vec::new();
        if let Some(s) = &self.site {
            out.push(SrvQuery {
                name: format!("_ldap._tcp.{s}._sites.dc._msdcs.{d}"),
                service: SrvService::Ldap,
                site: Some(s.clone()),
            });
            out.push(SrvQuery {
                name: format!("_kerberos._tcp.{s}._sites.{d}"),
                service: SrvService::Kerberos,
                site: Some(s.clone()),
            });
        }
        out.push(SrvQuery {
            name: format!("_ldap._tcp.dc._msdcs.{d}"),
            service: SrvService::Ldap,
            site: None,
        });
        out.push(SrvQuery {
            name: format!("_kerberos._tcp.{d}"),
            service: SrvService::Kerberos,
            site: None,
        });
        out.push(SrvQuery {
            name: format!("_gc._tcp.{d}"),
            service: SrvService::Gc,
            site: None,
        });
        out
    }
}

/// Parses a DNS server given as `IP` or `IP:PORT` (`[v6]:PORT`); port 53 by default.
pub fn parse_dns_server(text: &str) -> Result<SocketAddr, DiscoveryError> {
    let t = text.trim();
    let bad = || DiscoveryError::InvalidDnsServer {
        server: text.to_owned(),
    };
    let addr = if let Ok(ip) = t.trim_start_matches('[').trim_end_matches(']').parse() {
        SocketAddr::new(ip, 53)
    } else {
        t.parse::<SocketAddr>().map_err(|_| bad())?
    };
    if addr.port() == 0 || addr.ip().is_unspecified() || addr.ip().is_multicast() {
        return Err(bad());
    }
    Ok(addr)
}

/// Why a record (or a host's addresses) was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Missing {
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// The name exists but has no record of the type asked (or the SRV record says the
    /// service is not offered, target `.`).
    NoAnswer,
}

/// Why a query failed (no answer either way).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsFailure {
    /// No reply within the timeout and attempts.
    Timeout,
    /// The server answered with an error code (SERVFAIL, REFUSED, ...).
    Rcode(String),
    /// Anything else (network unreachable, malformed reply, ...).
    Other(String),
}

/// What a DNS query found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordState {
    /// The record exists.
    Present,
    /// The record does not exist.
    Missing(Missing),
    /// The query failed: nothing is known.
    Error(DnsFailure),
}

impl RecordState {
    /// `present`, `missing`, `error`.
    pub fn token(&self) -> &'static str {
        match self {
            RecordState::Present => "present",
            RecordState::Missing(_) => "missing",
            RecordState::Error(_) => "error",
        }
    }

    /// What exactly (`NXDOMAIN`, `no answer`, `timed out`, `SERVFAIL`), if not present.
    pub fn detail(&self) -> Option<String> {
        match self {
            RecordState::Present => None,
            RecordState::Missing(Missing::NxDomain) => Some("NXDOMAIN".into()),
            RecordState::Missing(Missing::NoAnswer) => Some("no answer".into()),
            RecordState::Error(DnsFailure::Timeout) => Some("timed out".into()),
            RecordState::Error(DnsFailure::Rcode(r)) => Some(r.clone()),
            RecordState::Error(DnsFailure::Other(e)) => Some(e.clone()),
        }
    }
}

impl fmt::Display for RecordState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            None => f.write_str(self.token()),
            Some(d) => write!(f, "{} ({d})", self.token()),
        }
    }
}

/// `{"state": "missing", "detail": "NXDOMAIN"}` (flattened into its record).
impl Serialize for RecordState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let detail = self.detail();
        let mut m = s.serialize_map(Some(if detail.is_some() { 2 } else { 1 }))?;
        m.serialize_entry("state", self.token())?;
        if let Some(d) = detail {
            m.serialize_entry("detail", &d)?;
        }
        m.end()
    }
}

/// One target of an SRV record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvTarget {
    /// Host name (lower case, no trailing dot).
    pub host: String,
    /// Port advertised.
    pub port: u16,
    /// Priority (lower is preferred).
    pub priority: u16,
    /// Weight among equal priorities.
    pub weight: u16,
    /// The host's addresses (A and AAAA), sorted.
    pub addresses: Vec<IpAddr>,
    /// What the address lookup found (`present` when there are addresses).
    pub address_lookup: RecordState,
}

/// One SRV record asked, with what the server said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvRecord {
    /// The record name, what it advertises and its site.
    #[serde(flatten)]
    pub query: SrvQuery,
    /// Present, missing or error.
    #[serde(flatten)]
    pub state: RecordState,
    /// Its targets, by priority then weight (descending), at most [`MAX_TARGETS_PER_RECORD`].
    pub targets: Vec<SrvTarget>,
    /// Targets left out above [`MAX_TARGETS_PER_RECORD`].
    #[serde(skip_serializing_if = "is_zero")]
    pub targets_cut: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A domain controller named by the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainController {
    /// Host name (lower case, no trailing dot).
    pub host: String,
    /// Its addresses (empty: the name did not resolve, so it cannot be checked).
    pub addresses: Vec<IpAddr>,
    /// Best (lowest) priority among the records naming it.
    pub priority: u16,
    /// The weight of that record.
    pub weight: u16,
    /// The site asked, when a site record named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The services the records say it offers.
    pub services: Vec<SrvService>,
}

/// Everything discovery found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The domain asked.
    pub domain: String,
    /// The site asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The DNS server asked (`None`: the system's).
    pub dns_server: Option<SocketAddr>,
    /// Every record asked, in the order of [`DcLocator::queries`].
    pub records: Vec<SrvRecord>,
    /// The domain controllers: with a site, those the site's records name (when any
    /// is present, as the DC locator prefers them), else those of the domain's records;
    /// by priority, weight (descending), name.
    pub controllers: Vec<DomainController>,
    /// Hosts left out above [`MAX_CONTROLLERS`].
    #[serde(skip_serializing_if = "is_zero")]
    pub controllers_cut: usize,
}

impl Discovery {
    /// The addresses to check: every address of every controller, named by its host.
    pub fn targets(&self) -> Vec<Target> {
        self.controllers
            .iter()
            .flat_map(|dc| {
                dc.addresses.iter().map(|a| Target {
                    host: dc.host.clone(),
                    address: *a,
                })
            })
            .collect()
    }
}

/// Asks the DC locator records of the domain (and site), then the targets' addresses.
pub async fn discover(locator: &DcLocator) -> Result<Discovery, DiscoveryError> {
    let resolver = resolver(locator)?;
    // A hard bound on each lookup, whatever the resolver does inside.
    let deadline = locator.timeout.saturating_mul(
        u32::try_from(locator.attempts)
            .unwrap_or(5)
            .saturating_add(1),
    );
    let queries = locator.queries();
    let answers = futures::future::join_all(
        queries
            .iter()
            .map(|q| srv_lookup(&resolver, &q.name, deadline)),
    )
    .await;

    let mut records: Vec<SrvRecord> = Vec::with_capacity(queries.len());
    for (query, (state, mut targets)) in queries.into_iter().zip(answers) {
        targets.sort_by(|a, b| {
            (a.priority, std::cmp::Reverse(a.weight), &a.host, a.port).cmp(&(
                b.priority,
                std::cmp::Reverse(b.weight),
                &b.host,
                b.port,
            ))
        });
        targets.dedup_by(|a, b| a.host == b.host && a.port == b.port);
        let targets_cut = targets.len().saturating_sub(MAX_TARGETS_PER_RECORD);
        targets.truncate(MAX_TARGETS_PER_RECORD);
        records.push(SrvRecord {
            query,
            state,
            targets,
            targets_cut,
        });
    }

    // Which records name the controllers: the site's when one of them is present.
    let site_found = records
        .iter()
        .any(|r| r.query.site.is_some() && r.state == RecordState::Present);
    let mut controllers: BTreeMap<String, DomainController> = BTreeMap::new();
    let mut controllers_cut = 0usize;
    for r in &records {
        if site_found != r.query.site.is_some() {
            continue;
        }
        for t in &r.targets {
            let known = controllers.len();
            match controllers.get_mut(&t.host) {
                Some(dc) => {
                    if t.priority < dc.priority {
                        dc.priority = t.priority;
                        dc.weight = t.weight;
                    }
                    if !dc.services.contains(&r.query.service) {
                        dc.services.push(r.query.service);
                    }
                }
                None if known < MAX_CONTROLLERS => {
                    controllers.insert(
                        t.host.clone(),
                        DomainController {
                            host: t.host.clone(),
                            addresses: Vec::new(),
                            priority: t.priority,
                            weight: t.weight,
                            site: r.query.site.clone(),
                            services: vec![r.query.service],
                        },
                    );
                }
                None => controllers_cut += 1,
            }
        }
    }

    // Every target host of every record is looked up once (a few at once).
    let mut hosts: Vec<String> = records
        .iter()
        .flat_map(|r| r.targets.iter().map(|t| t.host.clone()))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts.truncate(MAX_CONTROLLERS);
    let found: BTreeMap<String, (RecordState, Vec<IpAddr>)> =
        futures::stream::iter(hosts.into_iter().map(|h| {
            let resolver = &resolver;
            async move {
                let r = address_lookup(resolver, &h, deadline).await;
                (h, r)
            }
        }))
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .collect()
        .await;
    let not_looked_up = || {
        (
            RecordState::Error(DnsFailure::Other("not looked up (too many hosts)".into())),
            Vec::new(),
        )
    };
    for r in &mut records {
        for t in &mut r.targets {
            let (state, addresses) = found.get(&t.host).cloned().unwrap_or_else(not_looked_up);
            t.address_lookup = state;
            t.addresses = addresses;
        }
    }
    for dc in controllers.values_mut() {
        if let Some((_, a)) = found.get(&dc.host) {
            dc.addresses = a.clone();
        }
    }
    let mut controllers: Vec<DomainController> = controllers.into_values().collect();
    controllers.sort_by(|a, b| {
        (a.priority, std::cmp::Reverse(a.weight), &a.host).cmp(&(
            b.priority,
            std::cmp::Reverse(b.weight),
            &b.host,
        ))
    });
    Ok(Discovery {
        domain: locator.domain.clone(),
        site: locator.site.clone(),
        dns_server: locator.dns_server,
        records,
        controllers,
        controllers_cut,
    })
}

fn resolver(locator: &DcLocator) -> Result<TokioResolver, DiscoveryError> {
    crate::resolver::build(locator.dns_server, locator.timeout, locator.attempts)
        .map_err(|reason| DiscoveryError::SystemConfig { reason })
}

/// A name as an absolute name (no search list), lower case without the final dot.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

fn host_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// What a failed lookup means: missing (NXDOMAIN, no answer) or an error.
fn failure_state(e: &NetError) -> RecordState {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            if nr.response_code == ResponseCode::NXDomain {
                RecordState::Missing(Missing::NxDomain)
            } else {
                RecordState::Missing(Missing::NoAnswer)
            }
        }
        NetError::Dns(DnsError::ResponseCode(rc)) => {
            RecordState::Error(DnsFailure::Rcode(rcode_name(*rc)))
        }
        NetError::Timeout => RecordState::Error(DnsFailure::Timeout),
        other => RecordState::Error(DnsFailure::Other(other.to_string())),
    }
}

fn rcode_name(rc: ResponseCode) -> String {
    let code = u16::from(rc);
    match u8::try_from(code) {
        Ok(c) if c < 16 => portq_wire::dns::Rcode::from_bits(c).name().to_string(),
        _ => format!("RCODE{code}"),
    }
}

async fn srv_lookup(
    resolver: &TokioResolver,
    name: &str,
    deadline: Duration,
) -> (RecordState, Vec<SrvTarget>) {
    let lookup = match tokio::time::timeout(deadline, resolver.srv_lookup(fqdn(name))).await {
        Err(_) => return (RecordState::Error(DnsFailure::Timeout), Vec::new()),
        Ok(Err(e)) => return (failure_state(&e), Vec::new()),
        Ok(Ok(l)) => l,
    };
    let mut targets = Vec::new();
    for record in lookup.answers() {
        let RData::SRV(srv) = &record.data else {
            continue;
        };
        let host = host_name(&srv.target.to_ascii());
        // RFC 2782: a target of "." means the service is decidedly not offered here.
        if host.is_empty() {
            continue;
        }
        // Bounded: never more than twice what is kept (the rest is only counted).
        if targets.len() >= 2 * MAX_TARGETS_PER_RECORD {
            break;
        }
        targets.push(SrvTarget {
            host,
            port: srv.port,
            priority: srv.priority,
            weight: srv.weight,
            addresses: Vec::new(),
            address_lookup: RecordState::Present,
        });
    }
    if targets.is_empty() {
        return (RecordState::Missing(Missing::NoAnswer), targets);
    }
    (RecordState::Present, targets)
}

async fn address_lookup(
    resolver: &TokioResolver,
    host: &str,
    deadline: Duration,
) -> (RecordState, Vec<IpAddr>) {
    match tokio::time::timeout(deadline, resolver.lookup_ip(fqdn(host))).await {
        Err(_) => (RecordState::Error(DnsFailure::Timeout), Vec::new()),
        Ok(Err(e)) => (failure_state(&e), Vec::new()),
        Ok(Ok(found)) => {
            let mut addresses: Vec<IpAddr> =
                found.iter().take(4 * MAX_ADDRESSES_PER_HOST).collect();
            addresses.sort();
            addresses.dedup();
            addresses.truncate(MAX_ADDRESSES_PER_HOST);
            if addresses.is_empty() {
                (RecordState::Missing(Missing::NoAnswer), addresses)
            } else {
                (RecordState::Present, addresses)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_per_site_come_first() {
        let l = DcLocator::new("Example.Test.")
            .unwrap()
            .with_site("Default-First-Site-Name")
            .unwrap();
        let names: Vec<String> = l.queries().into_iter().map(|q| q.name).collect();
        assert_eq!(
            names,
            [
                "_ldap._tcp.Default-First-Site-Name._sites.dc._msdcs.example.test",
                "_kerberos._tcp.Default-First-Site-Name._sites.example.test",
                "_ldap._tcp.dc._msdcs.example.test",
                "_kerberos._tcp.example.test",
                "_gc._tcp.example.test",
            ]
        );
        assert_eq!(DcLocator::new("example.test").unwrap().queries().len(), 3);
    }

    #[test]
    fn bad_domains_sites_and_servers_are_refused() {
        for d in ["", "10.0.0.1", "exa mple.test", "localhostonly", "a..b"] {
            assert!(
                matches!(DcLocator::new(d), Err(DiscoveryError::InvalidDomain { .. })),
                "{d:?}"
            );
        }
        let l = DcLocator::new("example.test").unwrap();
        for s in ["", "a.b", "-x", &"s".repeat(64), "x y"] {
            assert!(
                matches!(
                    l.clone().with_site(s),
                    Err(DiscoveryError::InvalidSite { .. })
                ),
                "{s:?}"
            );
        }
        for s in [
            "",
            "dc1",
            "10.0.0.1:0",
            "10.0.0.1:70000",
            "0.0.0.0",
            "224.0.0.1",
        ] {
            assert!(parse_dns_server(s).is_err(), "{s:?}");
        }
        assert_eq!(
            parse_dns_server("10.200.0.2").unwrap(),
            "10.200.0.2:53".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("::1").unwrap(),
            "[::1]:53".parse().unwrap()
        );
    }
}
