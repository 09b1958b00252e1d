//! The data model: services, their port requirements, and server roles.

use serde::Serialize;
use std::fmt;

/// How traffic of a requirement travels: a transport with ports, or an IP protocol without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
    /// ICMP (IP protocol 1); no ports.
    Icmp,
    /// GRE (IP protocol 47), used by PPTP; no ports.
    Gre,
    /// IPsec ESP (IP protocol 50); no ports.
    Esp,
    /// IPsec AH (IP protocol 51); no ports.
    Ah,
}

impl Transport {
    /// The IANA IP protocol number.
    pub fn ip_protocol(self) -> u8 {
        match self {
            Transport::Tcp => 6,
            Transport::Udp => 17,
            Transport::Icmp => 1,
            Transport::Gre => 47,
            Transport::Esp => 50,
            Transport::Ah => 51,
        }
    }

    /// Lower-case name as used in port specs and JSON (`tcp`, `udp`, `icmp`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Gre => "gre",
            Transport::Esp => "esp",
            Transport::Ah => "ah",
        }
    }

    /// True for the transports that have port numbers.
    pub fn has_ports(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Udp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_uppercase())
    }
}

/// An inclusive port range; a single port has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (inclusive).
    pub end: u16,
}

impl PortRange {
    /// A range holding one port.
    pub const fn single(port: u16) -> Self {
        PortRange {
            start: port,
            end: port,
        }
    }

    /// True when `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    /// True when the two ranges share at least one port.
    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Number of ports in the range.
    pub fn len(&self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }

    /// Always false: a range holds at least one port.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// What kind of port a requirement is, beyond its application protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Qualifier {
    /// The protocol runs over TLS/SSL.
    Ssl,
    /// A global catalog port (3268, 3269).
    GlobalCatalog,
    /// The RPC dynamic ("random") port range: the service takes a port from it at start.
    RpcDynamic,
    /// The legacy 1025-5000 dynamic range of Windows 2000, XP and Server 2003.
    RpcLegacyRange,
    /// The RPC endpoint mapper (135, or 593 over HTTP).
    RpcEndpointMapper,
    /// Optional: needed only in some configurations (see the notes).
    Optional,
    /// Outbound: the server of this service opens the connection to this port elsewhere
    /// (a Microsoft online service, for instance); nothing listens on it here.
    Outbound,
    /// A conventional port, not a default: it is chosen when the endpoint is created.
    Convention,
}

impl Qualifier {
    /// The kebab-case token used in data files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Qualifier::Ssl => "ssl",
            Qualifier::GlobalCatalog => "global-catalog",
            Qualifier::RpcDynamic => "rpc-dynamic",
            Qualifier::RpcLegacyRange => "rpc-legacy-range",
            Qualifier::RpcEndpointMapper => "rpc-endpoint-mapper",
            Qualifier::Optional => "optional",
            Qualifier::Outbound => "outbound",
            Qualifier::Convention => "convention",
        }
    }
}

/// A document the catalogue is built from (`data/documents.toml`).
#[derive(Debug, Serialize)]
pub struct Document {
    /// Stable slug (`kb832017`, `rds`).
    pub id: &'static str,
    /// The document's title.
    pub title: &'static str,
    /// The Microsoft KB number; empty when it has none.
    pub kb: &'static str,
    /// Where the copy that was read is kept: `repository:path`.
    pub path: &'static str,
    /// The stored version read (short commit); empty when not known.
    pub commit: &'static str,
    /// The document's own date, `YYYY-MM-DD`; empty when it carries none (see `date_note`).
    pub date: &'static str,
    /// Why there is no date; empty when there is one.
    pub date_note: &'static str,
    /// Section ids and headings.
    #[serde(skip)]
    pub sections: &'static [(&'static str, &'static str)],
}

impl Document {
    /// The title, with ` (KB n)` when the title does not already name its KB number.
    pub fn full_title(&self) -> String {
        if self.kb.is_empty() || self.title.contains(self.kb) {
            self.title.to_owned()
        } else {
            format!("{} (KB {})", self.title, self.kb)
        }
    }

    /// The date, or `undated`.
    pub fn date_text(&self) -> &'static str {
        if self.date.is_empty() {
            "undated"
        } else {
            self.date
        }
    }

    /// The shortest citation: `KB n, date` for KB articles, `title, date` otherwise.
    pub fn short(&self) -> String {
        if self.kb.is_empty() {
            format!("{}, {}", self.title, self.date_text())
        } else {
            format!("KB {}, {}", self.kb, self.date_text())
        }
    }
}

/// Index of a document in [`crate::documents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(pub u16);

impl DocumentId {
    /// The document this id points at.
    pub fn get(self) -> &'static Document {
        &crate::documents()[usize::from(self.0)]
    }
}

/// Where a requirement comes from: a section of a document.
#[derive(Debug, Clone, Copy)]
pub struct Citation {
    /// The document.
    pub document: DocumentId,
    /// The section's heading.
    pub section: &'static str,
    /// The name the document gives the service for this fact; empty when it is the
    /// service's own (KB 832017's headings).
    pub label: &'static str,
    /// The sentence or table cells of the section that state the fact (at most 25 words,
    /// with the port number); empty where none is recorded yet.
    pub quote: &'static str,
}

impl Citation {
    /// The cited document.
    pub fn document(&self) -> &'static Document {
        self.document.get()
    }

    /// One line, link-free: `title (KB n), section, date`, and the document's label.
    pub fn text(&self) -> String {
        let d = self.document();
        let mut s = format!(
            "{}, \u{a7} {}, {}",
            d.full_title(),
            self.section,
            d.date_text()
        );
        if !self.label.is_empty() {
            s.push_str(&format!(" (as \"{}\")", self.label));
        }
        s
    }
}

/// Two documents state a fact differently; both rows are kept, one marked current.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Disagreement {
    /// What they disagree about (`cluster-137`, `ssas-port`, ...).
    pub topic: &'static str,
    /// True for the fact portq treats as current; false for the superseded one.
    pub current: bool,
}

/// Index of a service in [`crate::services`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub u16);

impl ServiceId {
    /// The service this id points at.
    pub fn get(self) -> &'static Service {
        &crate::services()[usize::from(self.0)]
    }
}

/// A Windows service (or product) of the catalogue.
#[derive(Debug, Serialize)]
pub struct Service {
    /// Stable slug (`lsass`, `kdc`, `spooler`).
    pub id: &'static str,
    /// Friendly name, as the article's heading gives it.
    pub name: &'static str,
    /// Windows service (SCM) short name; empty when the article gives none.
    pub service_name: &'static str,
    /// Other names people search for.
    pub aliases: &'static [&'static str],
    /// One or two sentences in our own words.
    pub description: &'static str,
    /// True when some of its ports are taken from the RPC dynamic range.
    pub rpc_dynamic: bool,
}

impl Service {
    /// Every requirement of this service.
    pub fn requirements(&'static self) -> impl Iterator<Item = &'static Requirement> {
        crate::requirements()
            .iter()
            .filter(move |r| std::ptr::eq(r.service.get(), self))
    }

    /// True when `name` is this service's id, friendly name, short name or an alias
    /// (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        self.id.eq_ignore_ascii_case(name)
            || self.name.eq_ignore_ascii_case(name)
            || self
                .service_name
                .split(';')
                .any(|n| n.eq_ignore_ascii_case(name))
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// The short name, or `None` when the article gives none.
    pub fn short_name(&self) -> Option<&'static str> {
        (!self.service_name.is_empty()).then_some(self.service_name)
    }
}

/// One port (or IP protocol) that a service needs.
#[derive(Debug)]
pub struct Requirement {
    /// The service that needs it.
    pub service: ServiceId,
    /// The port or port range; `None` for ICMP, GRE, ESP and AH.
    pub ports: Option<PortRange>,
    /// TCP, UDP, or an IP protocol.
    pub transport: Transport,
    /// The application protocol the article names (`LDAP Server`, `SMB`, ...).
    pub application_protocol: &'static str,
    /// SSL, global catalog, RPC dynamic range, ...
    pub qualifiers: &'static [Qualifier],
    /// Conditions and remarks from the article.
    pub notes: &'static str,
    /// The service labels under which the article's summary table lists this row.
    pub listed_as: &'static [&'static str],
    /// Where the row comes from: document sections, at least one.
    pub citations: &'static [Citation],
    /// When documents disagree about this fact: the topic and whether this row is current.
    pub disagreement: Option<Disagreement>,
}

impl Requirement {
    /// True when the requirement has this qualifier.
    pub fn has(&self, q: Qualifier) -> bool {
        self.qualifiers.contains(&q)
    }

    /// The service of this requirement.
    pub fn service(&self) -> &'static Service {
        self.service.get()
    }
}

/// Who opens the connection to a server of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Clients of the service, inbound to the server.
    Clients,
    /// Other servers of the same role (replication, failover, cluster peers).
    Peers,
    /// Administrators' management hosts.
    Management,
}

impl Direction {
    /// Lower-case token.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Clients => "clients",
            Direction::Peers => "peers",
            Direction::Management => "management",
        }
    }
}

/// An option of a role (global catalog, AD-integrated DNS, ...).
#[derive(Debug, Serialize)]
pub struct RoleOption {
    /// Token used on the command line (`dc:no-gc`).
    pub id: &'static str,
    /// What it means.
    pub description: &'static str,
    /// On unless turned off.
    pub default: bool,
}

/// A requirement a role needs, and from whom.
#[derive(Debug)]
pub struct RoleRequirement {
    /// Index into [`crate::requirements`].
    pub requirement: usize,
    /// Who connects.
    pub direction: Direction,
    /// Only when this role option is on.
    pub option: Option<&'static str>,
}

impl RoleRequirement {
    /// The catalogue requirement.
    pub fn requirement(&self) -> &'static Requirement {
        &crate::requirements()[self.requirement]
    }
}

/// A server role: the traffic a server of that kind must accept.
#[derive(Debug)]
pub struct Role {
    /// Stable id (`domain-controller`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Short names (`dc`).
    pub aliases: &'static [&'static str],
    /// What the role is.
    pub description: &'static str,
    /// Options that add or remove requirements.
    pub options: &'static [RoleOption],
    /// Requirements, each with its direction and option.
    pub requirements: &'static [RoleRequirement],
    /// What the role's server opens outward (indices into [`crate::requirements`]):
    /// `outbound` rows that `lookup --role` shows and no rule or check ever opens inbound.
    pub outbound: &'static [usize],
}
