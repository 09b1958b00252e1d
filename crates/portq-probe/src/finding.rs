//! Typed results of a check: one [`Finding`] per host, transport and port.
//!
//! A finding is data, never a pre-formatted line: the CLI renders it as a table,
//! JSON, CSV or HTML. The only text produced here is [`Evidence::summary`], a
//! one-line description of what the service answered.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// The catalogue's transport, the one type for TCP, UDP and the IP protocols; only TCP
/// and UDP can be probed ([`crate::PortSpec`] refuses the others).
pub use portq_catalog::Transport;

/// The state of one port, as PortQry defines it.
///
/// Serialized as its [`token`](PortState::token): `listening`, `not_listening`,
/// `filtered`, `listening_or_filtered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortState {
    /// Something answered: a TCP connection was accepted, or a UDP reply arrived.
    Listening,
    /// TCP reset, or ICMP port unreachable for UDP.
    NotListening,
    /// No answer after every attempt (or an ICMP error other than port unreachable).
    Filtered,
    /// UDP without a protocol-specific answer: silence may mean either.
    ListeningOrFiltered,
}

impl PortState {
    /// The stable token used in JSON and CSV (`listening`, `not_listening`, ...).
    pub fn token(self) -> &'static str {
        match self {
            PortState::Listening => "listening",
            PortState::NotListening => "not_listening",
            PortState::Filtered => "filtered",
            PortState::ListeningOrFiltered => "listening_or_filtered",
        }
    }

    /// The label people read, as PortQry prints it: `LISTENING`, `NOT LISTENING`,
    /// `FILTERED`, `LISTENING OR FILTERED` (also what `Display` writes).
    pub fn label(self) -> &'static str {
        match self {
            PortState::Listening => "LISTENING",
            PortState::NotListening => "NOT LISTENING",
            PortState::Filtered => "FILTERED",
            PortState::ListeningOrFiltered => "LISTENING OR FILTERED",
        }
    }

    /// Every state, in the order summaries list them.
    pub const ALL: [PortState; 4] = [
        PortState::Listening,
        PortState::NotListening,
        PortState::Filtered,
        PortState::ListeningOrFiltered,
    ];
}

impl std::fmt::Display for PortState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for PortState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.token())
    }
}

/// Where the AD domain (the Kerberos realm asked for, the CLDAP ping's domain) of a
/// probe came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainOrigin {
    /// Given by the user (`--domain`).
    Given,
    /// Named by the same host earlier in the run (CLDAP netlogon or the LDAP rootDSE).
    Learned,
    /// Guessed from the host name (`dc1.example.test` → `example.test`).
    HostName,
    /// Nothing known: a placeholder was asked for (`PORTQ.INVALID`).
    Placeholder,
}

impl DomainOrigin {
    /// How a summary says it.
    pub fn phrase(self) -> &'static str {
        match self {
            DomainOrigin::Given => "as given",
            DomainOrigin::Learned => "as the host named it over LDAP",
            DomainOrigin::HostName => "guessed from the host name",
            DomainOrigin::Placeholder => "a placeholder: no domain known, --domain names it",
        }
    }
}

/// One NetBIOS name from a node status reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetBiosName {
    /// The name without its padding, e.g. `DC1` or `EXAMPLE`.
    pub name: String,
    /// The 16th byte: `0x00` workstation, `0x20` file server, `0x1c` domain controllers, ...
    pub suffix: u8,
    /// True for a group name, false for a unique one.
    pub group: bool,
}

/// One SQL Server instance announced by the SQL Server Browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlInstance {
    /// Instance name, e.g. `MSSQLSERVER` or `SQLEXPRESS`.
    pub name: String,
    /// Version string as announced.
    pub version: Option<String>,
    /// TCP port the instance listens on, when announced.
    pub tcp_port: Option<u16>,
}

/// A fact decoded from what a service answered (or why it could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Evidence {
    /// A DNS server answered a query.
    Dns {
        /// Response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...).
        rcode: u8,
        /// The response code's name.
        rcode_name: String,
        /// Number of answer records.
        answers: u16,
        /// What portq asked: the SOA of this zone (`.` for the root). portq's choice,
        /// not the server's answer.
        asked: String,
    },
    /// A Kerberos KDC (or kpasswd service) answered with a KRB-ERROR.
    Kerberos {
        /// The Kerberos error code (e.g. 6 `KDC_ERR_C_PRINCIPAL_UNKNOWN`).
        error_code: i32,
        /// The error code's name.
        error_name: String,
        /// The realm field of the KDC's reply (a KDC echoes the realm it was asked
        /// for unless it names its own, as with `KDC_ERR_WRONG_REALM`).
        realm: Option<String>,
        /// The realm portq asked for: portq's choice, not the KDC's answer.
        asked_realm: String,
        /// Where the asked realm came from.
        asked_realm_origin: DomainOrigin,
    },
    /// A kpasswd service answered (with a result code or a KRB-ERROR).
    Kpasswd {
        /// The kpasswd result code, if the reply carried one.
        result_code: Option<u16>,
        /// Its RFC 3244 name (`KRB5_KPASSWD_HARDERROR`).
        #[serde(skip_serializing_if = "Option::is_none")]
        result_name: Option<String>,
        /// The embedded Kerberos error code, if the reply carried one.
        error_code: Option<i32>,
        /// Its RFC 4120 name (`KDC_ERR_SERVICE_EXP`).
        #[serde(skip_serializing_if = "Option::is_none")]
        error_name: Option<String>,
    },
    /// An NTP server answered.
    Ntp {
        /// NTP version of the reply.
        version: u8,
        /// Stratum (0 unspecified/kiss-o'-death, 1 primary, 2-15 secondary, 16 unsynchronised).
        stratum: u8,
        /// Reference identifier (an IPv4 address or a four-letter code).
        reference_id: String,
    },
    /// A NetBIOS name service answered a node status request.
    #[serde(rename = "netbios")]
    NetBios {
        /// The registered names.
        names: Vec<NetBiosName>,
        /// The adapter's MAC address (`aa:bb:cc:dd:ee:ff`), absent when all zero.
        mac: Option<String>,
    },
    /// An SNMP agent answered a GET of sysDescr.
    Snmp {
        /// sysDescr.0, if returned.
        sys_descr: Option<String>,
    },
    /// A domain controller answered a CLDAP netlogon ping.
    Cldap {
        /// DNS domain name.
        domain: Option<String>,
        /// DNS forest name.
        forest: Option<String>,
        /// The DC's DNS host name.
        dc_name: Option<String>,
        /// NetBIOS domain name.
        netbios_domain: Option<String>,
        /// The DC's site.
        site: Option<String>,
    },
    /// An LDAP server returned its rootDSE.
    Ldap {
        /// `defaultNamingContext` (Active Directory).
        naming_context: Option<String>,
        /// `dnsHostName` (Active Directory).
        dns_host_name: Option<String>,
        /// `namingContexts`: every directory's suffixes (OpenLDAP, 389 DS, AD).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        naming_contexts: Vec<String>,
        /// `vendorName` (RFC 3045), when the server sets it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vendor_name: Option<String>,
    },
    /// The server's TLS certificate (read, not validated).
    TlsCertificate {
        /// Subject distinguished name.
        subject: String,
        /// Issuer distinguished name.
        issuer: String,
        /// End of validity, RFC 3339 (`2030-01-31T12:00:00Z`).
        not_after: String,
        /// End of validity, Unix seconds.
        not_after_unix: i64,
        /// Negotiated TLS version (`TLSv1.3`, ...).
        protocol: String,
    },
    /// An SMB server answered an SMB2 NEGOTIATE.
    Smb {
        /// Selected dialect (`2.0.2`, `2.1`, `3.0`, `3.0.2`, `3.1.1`, ...).
        dialect: String,
        /// True when the server requires signing.
        signing_required: bool,
    },
    /// An RDP server answered an X.224 connection request.
    Rdp {
        /// Selected security protocol (`rdp`, `tls`, `credssp`, ...), when negotiated.
        selected_protocol: Option<String>,
        /// Negotiation failure, when the server refused all offered protocols.
        failure: Option<String>,
    },
    /// The RPC endpoint mapper listed its registrations.
    Epm {
        /// Number of endpoints registered.
        endpoints: usize,
    },
    /// An HTTP server answered a request.
    Http {
        /// Status code.
        status: u16,
        /// The `Server` header, if present.
        server: Option<String>,
    },
    /// A greeting line (SMTP, POP3, IMAP, FTP, ...).
    Banner {
        /// The first line, control characters removed, bounded in length.
        text: String,
    },
    /// An IKE responder answered.
    Ike {
        /// IKE major version (1 or 2).
        version: u8,
        /// Exchange type and notification, e.g. `IKE_SA_INIT`, `INFORMATIONAL: NO_PROPOSAL_CHOSEN`.
        detail: String,
    },
    /// The SQL Server Browser listed instances.
    SqlBrowser {
        /// The instances.
        instances: Vec<SqlInstance>,
    },
    /// A UDP reply that no decoder claims (generic probe).
    UdpReply {
        /// Size of the reply in bytes.
        bytes: usize,
    },
    /// A RADIUS server answered portq's stand-in Access-Request.
    Radius {
        /// The reply's code (3 Access-Reject, 11 Access-Challenge, ...).
        code: u8,
        /// Its name (RFC 2865).
        code_name: String,
    },
    /// The system said the port cannot be reached: a router's ICMP error other than port
    /// unreachable, no route or neighbour, or a local firewall rule.
    Unreachable {
        /// What the system said: [`HOST_UNREACHABLE`], [`NETWORK_UNREACHABLE`],
        /// [`PROHIBITED`] or [`LOCAL_RULE`] (see [`unreachable_reason`]).
        reason: String,
    },
    /// Not probed: the network had already said the whole host is unreachable (host or
    /// network unreachable on another port, and nothing of the host answered). What was
    /// said, and on which port, is in that port's own [`Evidence::Unreachable`].
    NotProbed {
        /// Why, e.g. `host unreachable (said for 135/tcp)`.
        reason: String,
    },
    /// The probe of this port failed; the state is still what the connect proved.
    Error {
        /// What kind of failure (`timeout`, `reset`, `tls`, `decode`, ...).
        error_kind: ProbeErrorKind,
        /// What went wrong, in words.
        message: String,
    },
}

/// Why an application probe could not read its evidence (the port state stands).
///
/// Serialized in snake case as `error_kind` beside the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProbeErrorKind {
    /// No complete answer within the probe timeout.
    Timeout,
    /// The peer reset the connection.
    Reset,
    /// The peer closed the connection without (a complete) answer.
    Closed,
    /// The TLS handshake failed, or the server sent no usable certificate.
    Tls,
    /// The answer arrived but is not the protocol expected (or does not decode).
    Decode,
    /// The answer was larger than the probe reads.
    TooLarge,
    /// Another I/O error on the connection.
    Io,
    /// A failure on this machine's side (the connection could not be handed over).
    Local,
}

impl ProbeErrorKind {
    /// The snake-case token used in JSON.
    pub fn token(self) -> &'static str {
        match self {
            ProbeErrorKind::Timeout => "timeout",
            ProbeErrorKind::Reset => "reset",
            ProbeErrorKind::Closed => "closed",
            ProbeErrorKind::Tls => "tls",
            ProbeErrorKind::Decode => "decode",
            ProbeErrorKind::TooLarge => "too_large",
            ProbeErrorKind::Io => "io",
            ProbeErrorKind::Local => "local",
        }
    }

    /// The kind of an I/O error.
    pub fn of_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::TimedOut | K::WouldBlock => ProbeErrorKind::Timeout,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => ProbeErrorKind::Reset,
            K::UnexpectedEof => ProbeErrorKind::Closed,
            K::InvalidData => ProbeErrorKind::Decode,
            _ => ProbeErrorKind::Io,
        }
    }
}

/// The evidence of a finding as one line: each item's [`Evidence::summary`], joined
/// with `; ` (what tables, CSV, the console and HTML reports show).
pub fn evidence_text(evidence: &[Evidence]) -> String {
    let mut out = String::new();
    for (i, e) in evidence.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&e.summary());
    }
    out
}

/// `2030-01-31T12:00:00Z` from Unix seconds (proleptic Gregorian, UTC).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), valid for the whole i64 day range used here.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

const SUMMARY_MAX: usize = 200;

/// [`Evidence::Unreachable`]'s reason for EHOSTUNREACH: an ICMP host unreachable or
/// (IPv4) prohibited, or no neighbour answer.
pub const HOST_UNREACHABLE: &str = "host unreachable";
/// [`Evidence::Unreachable`]'s reason for ENETUNREACH: no route here, or a router's ICMP
/// network unreachable.
pub const NETWORK_UNREACHABLE: &str = "network unreachable";
/// [`Evidence::Unreachable`]'s reason for EACCES on Linux: an ICMPv6 administratively
/// prohibited (or policy failure, or reject route).
pub const PROHIBITED: &str = "administratively prohibited";
/// [`Evidence::Unreachable`]'s reason for EPERM (WSAEACCES on Windows): this machine's
/// own firewall refused to send.
pub const LOCAL_RULE: &str = "blocked by a local firewall rule";

/// The [`Evidence::Unreachable`] reason a failed connect, send or receive stands for, or
/// `None` when the error says nothing about the path. Linux turns an ICMP error into an
/// errno and keeps neither its type nor its sender, so the reason is the errno's, and its
/// summary says what that errno covers.
pub fn unreachable_reason(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::HostUnreachable => Some(HOST_UNREACHABLE),
        K::NetworkUnreachable => Some(NETWORK_UNREACHABLE),
        // Both EPERM and EACCES read as PermissionDenied: netfilter refusing a send
        // locally gives EPERM, an ICMPv6 prohibition gives EACCES.
        #[cfg(unix)]
        K::PermissionDenied if e.raw_os_error() == Some(EACCES) => Some(PROHIBITED),
        K::PermissionDenied => Some(LOCAL_RULE),
        _ => None,
    }
}

/// EACCES on every Unix portq builds for.
#[cfg(unix)]
const EACCES: i32 = 13;

impl Evidence {
    /// Shorthand for [`Evidence::Error`].
    pub fn error(error_kind: ProbeErrorKind, message: impl Into<String>) -> Self {
        Evidence::Error {
            error_kind,
            message: message.into(),
        }
    }

    /// True for [`Evidence::Error`].
    pub fn is_error(&self) -> bool {
        matches!(self, Evidence::Error { .. })
    }

    /// A short, stable name of the kind of evidence (the JSON `kind` tag).
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::Dns { .. } => "dns",
            Evidence::Kerberos { .. } => "kerberos",
            Evidence::Kpasswd { .. } => "kpasswd",
            Evidence::Ntp { .. } => "ntp",
            Evidence::NetBios { .. } => "netbios",
            Evidence::Snmp { .. } => "snmp",
            Evidence::Cldap { .. } => "cldap",
            Evidence::Ldap { .. } => "ldap",
            Evidence::TlsCertificate { .. } => "tls_certificate",
            Evidence::Smb { .. } => "smb",
            Evidence::Rdp { .. } => "rdp",
            Evidence::Epm { .. } => "epm",
            Evidence::Http { .. } => "http",
            Evidence::Banner { .. } => "banner",
            Evidence::Ike { .. } => "ike",
            Evidence::SqlBrowser { .. } => "sql_browser",
            Evidence::UdpReply { .. } => "udp_reply",
            Evidence::Radius { .. } => "radius",
            Evidence::Unreachable { .. } => "unreachable",
            Evidence::NotProbed { .. } => "not_probed",
            Evidence::Error { .. } => "error",
        }
    }

    /// One line for humans, e.g. `DNS NOERROR, 1 answer` or `SMB 3.1.1, signing required`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = match self {
            Evidence::Dns {
                rcode,
                rcode_name,
                answers,
                asked,
            } => {
                let meaning = match rcode {
                    1 => " (format error: the server could not read the query)",
                    2 => " (server failure)",
                    3 => " (no such name)",
                    4 => " (not implemented)",
                    5 => " (refused)",
                    9 => " (not authoritative)",
                    _ => "",
                };
                let zone = if asked == "." { "the root zone" } else { asked };
                write!(
                    s,
                    "DNS {rcode_name}{meaning}, {answers} answer{} to SOA of {zone}",
                    plural(*answers)
                )
            }
            Evidence::Kerberos {
                error_code,
                error_name,
                realm,
                asked_realm,
                asked_realm_origin,
            } => {
                let _ = write!(s, "Kerberos {error_name} ({error_code})");
                let phrase = asked_realm_origin.phrase();
                match realm {
                    Some(r) if !r.eq_ignore_ascii_case(asked_realm) => write!(
                        s,
                        ", the KDC named realm {r} (asked {asked_realm}, {phrase})"
                    ),
                    _ => write!(s, ", asked realm {asked_realm} ({phrase})"),
                }
            }
            Evidence::Kpasswd {
                result_code,
                result_name,
                error_code,
                error_name,
            } => {
                // portq's request carries stand-in credentials: an error is the expected
                // answer of a live kpasswd service.
                let _ = write!(s, "kpasswd answered");
                match (result_code, result_name) {
                    (Some(c), Some(n)) => {
                        let _ = write!(s, ": result {n} ({c})");
                    }
                    (Some(c), None) => {
                        let _ = write!(s, ": result code {c}");
                    }
                    _ => {}
                }
                let _ = match (error_code, error_name) {
                    (Some(e), Some(n)) => write!(s, ", Kerberos error {n} ({e})"),
                    (Some(e), None) => write!(s, ", Kerberos error {e}"),
                    _ => Ok(()),
                };
                if result_code.is_some() || error_code.is_some() {
                    let _ = write!(s, " to portq's stand-in request");
                }
                Ok(())
            }
            Evidence::Ntp {
                version,
                stratum,
                reference_id,
            } => write!(
                s,
                "NTPv{version} stratum {stratum}, reference {reference_id}"
            ),
            Evidence::NetBios { names, mac } => {
                let _ = write!(s, "NetBIOS ");
                for (i, n) in names.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let g = if n.group { " group" } else { "" };
                    let _ = write!(s, "{sep}{}<{:02x}>{g}", n.name, n.suffix);
                }
                if names.is_empty() {
                    let _ = write!(s, "(no names)");
                }
                match mac {
                    Some(m) => write!(s, "; MAC {m}"),
                    None => Ok(()),
                }
            }
            Evidence::Snmp { sys_descr } => match sys_descr {
                Some(d) => write!(s, "SNMP sysDescr: {d}"),
                None => write!(s, "SNMP reply"),
            },
            Evidence::Cldap {
                domain,
                dc_name,
                netbios_domain,
                site,
                ..
            } => {
                let _ = write!(s, "CLDAP netlogon:");
                let _ = opt(&mut s, " domain", domain);
                if let Some(n) = netbios_domain {
                    let _ = write!(s, " ({n})");
                }
                let _ = opt(&mut s, ", DC", dc_name);
                opt(&mut s, ", site", site).map(|_| ())
            }
            Evidence::Ldap {
                naming_context,
                dns_host_name,
                naming_contexts,
                vendor_name,
            } => {
                let _ = write!(s, "LDAP rootDSE:");
                let mut said = opt(&mut s, " naming context", naming_context).unwrap_or(false);
                if !said && !naming_contexts.is_empty() {
                    let plural = if naming_contexts.len() == 1 { "" } else { "s" };
                    let _ = write!(s, " naming context{plural} {}", naming_contexts.join("; "));
                    said = true;
                }
                let sep = if said { ", " } else { " " };
                said |= opt(&mut s, &format!("{sep}host"), dns_host_name).unwrap_or(false);
                let sep = if said { ", " } else { " " };
                said |= opt(&mut s, &format!("{sep}vendor"), vendor_name).unwrap_or(false);
                if !said {
                    s.push_str(" read (no naming context, host or vendor given)");
                }
                Ok(())
            }
            Evidence::TlsCertificate {
                subject,
                not_after,
                protocol,
                ..
            } => write!(s, "{protocol} certificate {subject}, expires {not_after}"),
            Evidence::Smb {
                dialect,
                signing_required,
            } => write!(
                s,
                "SMB {dialect}, signing {}",
                if *signing_required {
                    "required"
                } else {
                    "not required"
                }
            ),
            Evidence::Rdp {
                selected_protocol,
                failure,
            } => match (selected_protocol, failure) {
                (Some(p), _) => write!(s, "RDP, security protocol {p}"),
                (None, Some(f)) => write!(s, "RDP, negotiation failure: {f}"),
                (None, None) => write!(s, "RDP (standard RDP security)"),
            },
            Evidence::Epm { endpoints } => write!(
                s,
                "endpoint mapper: {endpoints} endpoint{} registered",
                plural(*endpoints)
            ),
            Evidence::Http { status, server } => {
                let _ = write!(s, "HTTP {status}");
                match server {
                    Some(v) => write!(s, ", Server: {v}"),
                    None => Ok(()),
                }
            }
            Evidence::Banner { text } => write!(s, "banner: {text}"),
            Evidence::Ike { version, detail } => write!(s, "IKEv{version} {detail}"),
            Evidence::SqlBrowser { instances } => {
                let _ = write!(s, "SQL Server Browser:");
                if instances.is_empty() {
                    let _ = write!(s, " no instances");
                }
                for (i, inst) in instances.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    let _ = write!(s, "{sep}{}", inst.name);
                    if let Some(v) = &inst.version {
                        let _ = write!(s, " {v}");
                    }
                    if let Some(p) = inst.tcp_port {
                        let _ = write!(s, " tcp/{p}");
                    }
                }
                Ok(())
            }
            Evidence::UdpReply { bytes } => {
                write!(s, "{bytes}-byte UDP reply")
            }
            // The reason is the system's errno, not a packet portq read: each says what
            // its errno covers (see `unreachable_reason`).
            Evidence::Unreachable { reason } => match reason.as_str() {
                HOST_UNREACHABLE => write!(
                    s,
                    "{reason} (an ICMP unreachable or prohibited from a router or the \
                     host's firewall, or no neighbour answer)"
                ),
                NETWORK_UNREACHABLE => write!(
                    s,
                    "{reason} (no route from here, or a router's ICMP network unreachable)"
                ),
                PROHIBITED => write!(
                    s,
                    "{reason} (an ICMPv6 reject from a router or the host's firewall)"
                ),
                _ => write!(s, "{reason}"),
            },
            Evidence::Radius { code, code_name } => write!(
                s,
                "RADIUS {code_name} ({code}) to portq's stand-in Access-Request"
            ),
            Evidence::NotProbed { reason } => write!(s, "not probed: {reason}"),
            Evidence::Error { message, .. } => write!(s, "probe error: {message}"),
        };
        clip(s, SUMMARY_MAX)
    }
}

fn plural<T: PartialEq + From<u8>>(n: T) -> &'static str {
    if n == T::from(1u8) { "" } else { "s" }
}

/// Appends `label value` when present; returns whether it did.
fn opt(s: &mut String, label: &str, v: &Option<String>) -> Result<bool, std::fmt::Error> {
    match v {
        Some(v) => write!(s, "{label} {v}").map(|_| true),
        None => Ok(false),
    }
}

/// Cuts a line to `max` characters (on a char boundary) with a trailing ellipsis.
fn clip(mut s: String, max: usize) -> String {
    if let Some((idx, _)) = s.char_indices().nth(max) {
        s.truncate(idx);
        s.push('…');
    }
    s
}

/// The result of checking one port on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The target as the user named it (host name, or the address for ranges); shared
    /// by every finding of the host.
    pub host: Arc<str>,
    /// The address that was probed.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// TCP or UDP.
    pub transport: Transport,
    /// What the port did.
    pub state: PortState,
    /// What the service answered, in order; empty for a plain connect.
    pub evidence: Vec<Evidence>,
    /// Name of the probe that ran (`tcp-connect`, `dns`, `ldap`, ...).
    pub probe: &'static str,
    /// Wall time from the first packet to the verdict (milliseconds in JSON).
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
    /// Attempts made (1 when the first one answered).
    pub attempts: u8,
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    // Microsecond precision, in milliseconds: 0.183 rather than 0.
    let ms = d.as_micros() as f64 / 1000.0;
    s.serialize_f64(ms)
}

impl Finding {
    /// The key [`sort_findings`] orders by: host, address, transport, port.
    pub fn sort_key(&self) -> (&str, IpAddr, Transport, u16) {
        (&self.host, self.address, self.transport, self.port)
    }

    /// The reason, when the system said the whole host cannot be reached (host or
    /// network unreachable), not just this port: what lets a run stop probing a host.
    pub fn host_unreachable(&self) -> Option<&str> {
        self.evidence.iter().find_map(|e| match e {
            Evidence::Unreachable { reason }
                if matches!(reason.as_str(), HOST_UNREACHABLE | NETWORK_UNREACHABLE) =>
            {
                Some(reason.as_str())
            }
            _ => None,
        })
    }
}

/// Sorts findings deterministically: by host, address, transport (TCP first), port.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_one_line_and_bounded() {
        let long = "x".repeat(1000);
        let e = Evidence::Banner { text: long };
        let s = e.summary();
        assert!(s.chars().count() <= SUMMARY_MAX + 1);
        assert!(!s.contains('\n'));
        let e = Evidence::NetBios {
            names: vec![
                NetBiosName {
                    name: "DC1".into(),
                    suffix: 0x20,
                    group: false,
                },
                NetBiosName {
                    name: "EXAMPLE".into(),
                    suffix: 0x1c,
                    group: true,
                },
            ],
            mac: None,
        };
        assert_eq!(e.summary(), "NetBIOS DC1<20>, EXAMPLE<1c> group");
        let e = Evidence::Cldap {
            domain: Some("example.test".into()),
            forest: None,
            dc_name: Some("dc1.example.test".into()),
            netbios_domain: Some("EXAMPLE".into()),
            site: None,
        };
        assert_eq!(
            e.summary(),
            "CLDAP netlogon: domain example.test (EXAMPLE), DC dc1.example.test"
        );
    }

    /// An unreachable port's evidence claims no ICMP the system did not report: a local
    /// rule is not a packet, and a host unreachable may be a firewall's prohibition.
    #[test]
    fn unreachable_evidence_says_only_what_the_system_said() {
        let said = |reason: &str| {
            Evidence::Unreachable {
                reason: reason.into(),
            }
            .summary()
        };
        assert_eq!(said(LOCAL_RULE), "blocked by a local firewall rule");
        let host = said(HOST_UNREACHABLE);
        assert!(host.starts_with("host unreachable ("), "{host}");
        assert!(host.contains("prohibited"), "{host}");
        assert!(host.contains("neighbour"), "{host}");
        let net = said(NETWORK_UNREACHABLE);
        assert!(net.contains("no route") && net.contains("ICMP"), "{net}");
        assert!(said(PROHIBITED).contains("ICMPv6"));
    }

    /// Each errno the kernel gives for an unreachable path has its own reason; EPERM (a
    /// local rule) and EACCES (an ICMPv6 prohibition) are told apart though both read as
    /// PermissionDenied.
    #[test]
    fn errnos_map_to_what_they_cover() {
        use std::io::{Error, ErrorKind};
        let reason = |e: Error| unreachable_reason(&e);
        assert_eq!(
            reason(ErrorKind::HostUnreachable.into()),
            Some(HOST_UNREACHABLE)
        );
        assert_eq!(
            reason(ErrorKind::NetworkUnreachable.into()),
            Some(NETWORK_UNREACHABLE)
        );
        assert_eq!(reason(ErrorKind::TimedOut.into()), None);
        #[cfg(unix)]
        {
            assert_eq!(reason(Error::from_raw_os_error(1)), Some(LOCAL_RULE));
            assert_eq!(reason(Error::from_raw_os_error(13)), Some(PROHIBITED));
            assert_eq!(
                reason(Error::from_raw_os_error(113)),
                Some(HOST_UNREACHABLE)
            );
            assert_eq!(
                reason(Error::from_raw_os_error(101)),
                Some(NETWORK_UNREACHABLE)
            );
        }
    }
}
