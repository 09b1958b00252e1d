//! Application probes: what portq says to a port once it is reachable, and how it
//! reads the answer into [`Evidence`].
//!
//! UDP probes decide the port state (a UDP port only "answers" if spoken to in its
//! protocol); TCP probes run after the connect has already proved the port listening
//! and only add evidence. Which probe runs is chosen by port number
//! ([`ProbeKind::for_port`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portq_wire::WireError;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::finding::{DomainOrigin, Evidence, ProbeErrorKind, Transport};

mod banner;
mod dns;
mod epm;
mod http;
mod ike;
pub(crate) mod io;
mod kerberos;
mod ldap;
mod nbns;
mod ntp;
mod radius;
mod rdp;
mod smb;
mod snmp;
mod sql_browser;
mod tls;
mod udp_generic;

/// The largest answer any TCP probe reads.
pub const TCP_READ_CAP: usize = 64 * 1024;

/// Which probe runs on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProbeKind {
    /// TCP connect only.
    TcpConnect,
    /// LDAP rootDSE read (389, 3268).
    Ldap,
    /// LDAP rootDSE read over TLS, with the certificate (636, 3269).
    Ldaps,
    /// SMB2 NEGOTIATE (445).
    Smb,
    /// NetBIOS session request, then SMB2 NEGOTIATE (139).
    NetbiosSmb,
    /// RDP X.224 connection request (3389).
    Rdp,
    /// RPC endpoint mapper (135).
    Epm,
    /// HTTP request: status and `Server` header (80, 5985).
    Http,
    /// HTTPS request, with the certificate (443, 5986, 6516, 49443).
    Https,
    /// Greeting line (21 FTP, 25 SMTP, 110 POP3, 143 IMAP).
    Banner,
    /// Kerberos AS-REQ over TCP (88).
    KerberosTcp,
    /// UDP without a protocol probe: an empty datagram.
    UdpGeneric,
    /// DNS query (53/udp).
    Dns,
    /// Kerberos AS-REQ (88/udp).
    Kerberos,
    /// NTP client request (123/udp).
    Ntp,
    /// NetBIOS node status (137/udp).
    Nbns,
    /// SNMP GET sysDescr.0 (161/udp).
    Snmp,
    /// CLDAP netlogon ping (389/udp).
    Cldap,
    /// kpasswd request (464/udp).
    Kpasswd,
    /// IKEv1 Main Mode proposal (500/udp).
    Ike,
    /// SQL Server Browser instance list (1434/udp).
    SqlBrowser,
    /// RADIUS Access-Request (1812/udp, legacy 1645/udp).
    Radius,
}

impl ProbeKind {
    /// Every probe, for listing and for choosing one by name.
    pub const ALL: [ProbeKind; 22] = [
        ProbeKind::TcpConnect,
        ProbeKind::Ldap,
        ProbeKind::Ldaps,
        ProbeKind::Smb,
        ProbeKind::NetbiosSmb,
        ProbeKind::Rdp,
        ProbeKind::Epm,
        ProbeKind::Http,
        ProbeKind::Https,
        ProbeKind::Banner,
        ProbeKind::KerberosTcp,
        ProbeKind::UdpGeneric,
        ProbeKind::Dns,
        ProbeKind::Kerberos,
        ProbeKind::Ntp,
        ProbeKind::Nbns,
        ProbeKind::Snmp,
        ProbeKind::Cldap,
        ProbeKind::Kpasswd,
        ProbeKind::Ike,
        ProbeKind::SqlBrowser,
        ProbeKind::Radius,
    ];

    /// The probe with this [`name`](ProbeKind::name), if any.
    pub fn from_name(name: &str) -> Option<ProbeKind> {
        ProbeKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// The probe's stable name, as in [`crate::Finding::probe`].
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::TcpConnect => "tcp-connect",
            ProbeKind::Ldap => "ldap",
            ProbeKind::Ldaps => "ldaps",
            ProbeKind::Smb => "smb",
            ProbeKind::NetbiosSmb => "netbios-smb",
            ProbeKind::Rdp => "rdp",
            ProbeKind::Epm => "epm",
            ProbeKind::Http => "http",
            ProbeKind::Https => "https",
            ProbeKind::Banner => "banner",
            ProbeKind::KerberosTcp => "kerberos-tcp",
            ProbeKind::UdpGeneric => "udp-empty",
            ProbeKind::Dns => "dns",
            ProbeKind::Kerberos => "kerberos",
            ProbeKind::Ntp => "ntp",
            ProbeKind::Nbns => "nbns",
            ProbeKind::Snmp => "snmp",
            ProbeKind::Cldap => "cldap",
            ProbeKind::Kpasswd => "kpasswd",
            ProbeKind::Ike => "ike",
            ProbeKind::SqlBrowser => "sql-browser",
            ProbeKind::Radius => "radius",
        }
    }

    /// The probe for a port. UDP always gets its protocol probe (the state depends on
    /// it); TCP gets an application probe only when `app_probes` is on.
    pub fn for_port(transport: Transport, port: u16, app_probes: bool) -> ProbeKind {
        match transport {
            Transport::Udp => match port {
                53 => ProbeKind::Dns,
                88 => ProbeKind::Kerberos,
                123 => ProbeKind::Ntp,
                137 => ProbeKind::Nbns,
                161 => ProbeKind::Snmp,
                389 => ProbeKind::Cldap,
                464 => ProbeKind::Kpasswd,
                500 => ProbeKind::Ike,
                1434 => ProbeKind::SqlBrowser,
                1812 | 1645 => ProbeKind::Radius,
                _ => ProbeKind::UdpGeneric,
            },
            _ if !app_probes => ProbeKind::TcpConnect,
            _ => match port {
                21 | 25 | 110 | 143 => ProbeKind::Banner,
                80 | 5985 => ProbeKind::Http,
                // HTTPS: IIS and http.sys (443), WinRM (5986), Windows Admin Center's
                // desktop default (6516), Web Application Proxy certificate auth (49443).
                443 | 5986 | 6516 | 49443 => ProbeKind::Https,
                88 => ProbeKind::KerberosTcp,
                135 => ProbeKind::Epm,
                139 => ProbeKind::NetbiosSmb,
                445 => ProbeKind::Smb,
                389 | 3268 => ProbeKind::Ldap,
                636 | 3269 => ProbeKind::Ldaps,
                3389 => ProbeKind::Rdp,
                _ => ProbeKind::TcpConnect,
            },
        }
    }

    /// The transport the probe runs over.
    pub fn transport(self) -> Transport {
        match self {
            ProbeKind::UdpGeneric
            | ProbeKind::Dns
            | ProbeKind::Kerberos
            | ProbeKind::Ntp
            | ProbeKind::Nbns
            | ProbeKind::Snmp
            | ProbeKind::Cldap
            | ProbeKind::Kpasswd
            | ProbeKind::Ike
            | ProbeKind::SqlBrowser
            | ProbeKind::Radius => Transport::Udp,
            _ => Transport::Tcp,
        }
    }

    /// For UDP: true when a listening service always answers this probe, so that
    /// silence after every attempt means filtered rather than "listening or filtered".
    ///
    /// DNS (any query gets an answer, if only REFUSED), Kerberos (an AS-REQ without
    /// pre-authentication always gets a KRB-ERROR), NTP (a client request always gets
    /// a server reply), NetBIOS node status, CLDAP netlogon (a DC answers every ping)
    /// and the SQL Server Browser. Not SNMP (a wrong community is silently dropped),
    /// kpasswd, IKE (a responder may ignore a proposal it dislikes) or the empty datagram.
    pub fn always_answers(self) -> bool {
        matches!(
            self,
            ProbeKind::Dns
                | ProbeKind::Kerberos
                | ProbeKind::Ntp
                | ProbeKind::Nbns
                | ProbeKind::Cldap
                | ProbeKind::SqlBrowser
        )
    }
}

/// What a probe knows about its target.
#[derive(Debug, Clone)]
pub(crate) struct ProbeContext {
    /// The host as the user named it (HTTP `Host`, TLS server name).
    pub host: String,
    /// The address probed.
    pub address: IpAddr,
    /// The port probed.
    pub port: u16,
    /// SNMP community.
    pub snmp_community: Arc<str>,
    /// AD DNS domain (Kerberos realm, CLDAP ping), if known or guessed from the host name.
    pub domain: Option<Arc<str>>,
    /// Where [`ProbeContext::domain`] came from ([`DomainOrigin::Placeholder`] when none).
    pub domain_origin: DomainOrigin,
    /// A per-check random value for transaction ids.
    pub nonce: u32,
    /// The whole time an application probe may take.
    pub probe_timeout: Duration,
}

/// A fresh pseudo-random value for transaction ids (not for security).
pub(crate) fn nonce() -> u32 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut s = STATE.load(Ordering::Relaxed);
    if s == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9);
        s = t ^ (u64::from(std::process::id()) << 32) | 1;
    }
    // splitmix64
    let next = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    STATE.store(next, Ordering::Relaxed);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as u32
}

/// The datagram `check` sends to a UDP port with probe `kind` (the trace sends the
/// same, so a filter that looks inside sees the same packet).
// The trace that sends it runs on Linux only.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn udp_request(
    kind: ProbeKind,
    host: &str,
    address: IpAddr,
    port: u16,
    community: &str,
) -> Vec<u8> {
    let ctx = ProbeContext {
        host: host.to_owned(),
        address,
        port,
        snmp_community: Arc::from(community),
        domain: None,
        domain_origin: DomainOrigin::Placeholder,
        nonce: nonce(),
        probe_timeout: Duration::from_secs(1),
    };
    udp_probe(kind).request(&ctx)
}

/// A UDP probe: the request to send and how to read the reply.
pub(crate) trait UdpProbe: Send + Sync {
    /// The protocol's name, for error messages.
    fn protocol(&self) -> &'static str;
    /// The datagram to send.
    fn request(&self, ctx: &ProbeContext) -> Vec<u8>;
    /// Decodes a reply into evidence (`ctx`: what was asked, for evidence that must
    /// tell the question from the answer).
    fn decode(&self, reply: &[u8], ctx: &ProbeContext) -> Result<Evidence, WireError>;
    /// See [`ProbeKind::always_answers`].
    fn always_answers(&self) -> bool;
}

/// The UDP probe of a kind (the empty datagram for non-UDP kinds).
pub(crate) fn udp_probe(kind: ProbeKind) -> &'static dyn UdpProbe {
    match kind {
        ProbeKind::Dns => &dns::Dns,
        ProbeKind::Ntp => &ntp::Ntp,
        ProbeKind::Nbns => &nbns::Nbns,
        ProbeKind::Snmp => &snmp::Snmp,
        ProbeKind::SqlBrowser => &sql_browser::SqlBrowser,
        ProbeKind::Kerberos => &kerberos::Kerberos,
        ProbeKind::Kpasswd => &kerberos::Kpasswd,
        ProbeKind::Cldap => &ldap::Cldap,
        ProbeKind::Ike => &ike::Ike,
        ProbeKind::Radius => &radius::Radius,
        _ => &udp_generic::Empty,
    }
}

/// Why an application probe could not read its evidence.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProbeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("reply not understood: {0}")]
    Wire(#[from] WireError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the server closed the connection without answering")]
    Closed,
    #[error("reply larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Protocol(String),
}

impl ProbeError {
    /// The typed kind that library users and JSON see.
    fn kind(&self) -> ProbeErrorKind {
        match self {
            ProbeError::Io(e) => ProbeErrorKind::of_io(e),
            ProbeError::Wire(_) | ProbeError::Protocol(_) => ProbeErrorKind::Decode,
            ProbeError::Tls(_) => ProbeErrorKind::Tls,
            ProbeError::Closed => ProbeErrorKind::Closed,
            ProbeError::TooLarge(_) => ProbeErrorKind::TooLarge,
        }
    }
}

/// Runs the application probe of `kind` on an open connection, bounded by the probe
/// timeout; every failure becomes an [`Evidence::Error`] next to what was read.
pub(crate) async fn run_tcp(
    kind: ProbeKind,
    stream: TcpStream,
    ctx: &ProbeContext,
) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    let fut = run_tcp_inner(kind, stream, ctx, &mut evidence);
    let result = tokio::time::timeout(ctx.probe_timeout, fut).await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => evidence.push(Evidence::error(e.kind(), e.to_string())),
        Err(_) => evidence.push(Evidence::error(
            ProbeErrorKind::Timeout,
            format!(
                "{} probe got no complete answer within {} ms",
                kind.name(),
                ctx.probe_timeout.as_millis()
            ),
        )),
    }
    evidence
}

async fn run_tcp_inner(
    kind: ProbeKind,
    stream: TcpStream,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
) -> Result<(), ProbeError> {
    match kind {
        ProbeKind::Http => http::probe(stream, ctx, ev, 80).await,
        ProbeKind::Https => {
            let tls = tls::handshake(stream, ctx, ev).await?;
            http::probe(tls, ctx, ev, 443).await
        }
        ProbeKind::Banner => banner::probe(stream, ev).await,
        ProbeKind::Smb => smb::probe(stream, ctx, ev, false).await,
        ProbeKind::NetbiosSmb => smb::probe(stream, ctx, ev, true).await,
        ProbeKind::Rdp => rdp::probe(stream, ev).await,
        ProbeKind::Epm => epm::probe(stream, ctx, ev).await,
        ProbeKind::KerberosTcp => kerberos::probe_tcp(stream, ctx, ev).await,
        ProbeKind::Ldap => ldap::probe(stream, ctx, ev).await,
        ProbeKind::Ldaps => {
            let tls = tls::handshake(stream, ctx, ev).await?;
            ldap::probe(tls, ctx, ev).await
        }
        _ => {
            crate::tcp::close_with_reset(stream);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_transports_match() {
        for k in ProbeKind::ALL {
            assert_eq!(ProbeKind::from_name(k.name()), Some(k));
            assert_eq!(ProbeKind::from_name(&k.name().to_uppercase()), Some(k));
            if k.always_answers() {
                assert_eq!(k.transport(), Transport::Udp);
            }
        }
        assert_eq!(ProbeKind::from_name("nope"), None);
        for port in [53, 88, 123, 137, 161, 389, 464, 500, 1434, 9] {
            let k = ProbeKind::for_port(Transport::Udp, port, false);
            assert_eq!(k.transport(), Transport::Udp);
        }
        for port in [21, 80, 88, 135, 139, 389, 443, 445, 636, 3389, 5985, 9] {
            let k = ProbeKind::for_port(Transport::Tcp, port, true);
            assert_eq!(k.transport(), Transport::Tcp);
        }
        for port in [443, 5986, 6516, 49443] {
            assert_eq!(
                ProbeKind::for_port(Transport::Tcp, port, true),
                ProbeKind::Https,
                "{port}"
            );
        }
    }
}
