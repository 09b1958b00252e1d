//! What a trace is about: the ports asked for and how (requests, options, the
//! FILTERED ports a check hands over), what came of each (a [`PortTrace`]), and why a
//! trace could not run at all. Plain data, no I/O.

use super::verdict::{Hop, Verdict};
use crate::finding::Transport;
use crate::probes::ProbeKind;
use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

/// Most ports × hosts one trace takes.
pub const MAX_FLOWS: usize = 1024;
/// Highest TTL a trace may use.
pub const MAX_TTL: u8 = 64;
/// Most probes per hop.
pub const MAX_PROBES: u8 = 10;

/// One port of one host to trace.
#[derive(Debug, Clone)]
pub struct TraceRequest {
    /// The host as the user named it.
    pub host: String,
    /// Its address.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// TCP or UDP.
    pub transport: Transport,
    /// The UDP request to send (the port's application probe); ignored for TCP.
    pub probe: ProbeKind,
    /// A port traced only to show a path known to work, beside the others.
    pub reference: bool,
}

/// How a trace runs.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    /// First TTL probed.
    pub first_ttl: u8,
    /// Last TTL probed.
    pub max_ttl: u8,
    /// Probes per hop.
    pub probes: u8,
    /// How long a round waits for late answers after its last probe.
    pub wait: Duration,
    /// Probes per second at most.
    pub rate: u32,
    /// Send from this address.
    pub source: Option<IpAddr>,
    /// SNMP community of a 161/udp request.
    pub community: String,
    /// Look up the routers' PTR names.
    pub names: bool,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            first_ttl: 1,
            max_ttl: 30,
            probes: 3,
            wait: Duration::from_secs(1),
            rate: 2000,
            source: None,
            community: "public".into(),
            names: true,
        }
    }
}

impl TraceOptions {
    /// Checks the bounds: TTLs 1-64 with first ≤ max, 1-10 probes per hop, a wait of
    /// 0.05-30 s, a rate of at least 1.
    pub fn validate(&self) -> Result<(), TraceError> {
        let bad = |s: String| Err(TraceError::Options(s));
        if self.first_ttl == 0 || self.max_ttl == 0 || self.max_ttl > MAX_TTL {
            return bad(format!(
                "TTLs must be 1-{MAX_TTL} (first {}, max {})",
                self.first_ttl, self.max_ttl
            ));
        }
        if self.first_ttl > self.max_ttl {
            return bad(format!(
                "--first-ttl {} is above --max-ttl {}",
                self.first_ttl, self.max_ttl
            ));
        }
        if self.probes == 0 || self.probes > MAX_PROBES {
            return bad(format!("probes per hop must be 1-{MAX_PROBES}"));
        }
        if self.wait < Duration::from_millis(50) || self.wait > Duration::from_secs(30) {
            return bad("the wait must be 0.05-30 seconds".into());
        }
        if self.rate == 0 {
            return bad("the rate must be at least 1 probe per second".into());
        }
        Ok(())
    }
}

/// Why a trace could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// No raw sockets.
    #[error(
        "a trace sends raw packets: run portq as root, or give it CAP_NET_RAW \
         (sudo setcap cap_net_raw+ep \"$(command -v portq)\")"
    )]
    NoPrivilege,
    /// This system cannot trace.
    #[error("{0}")]
    Unsupported(&'static str),
    /// Options out of bounds.
    #[error("{0}")]
    Options(String),
    /// More ports × hosts than [`MAX_FLOWS`].
    #[error("a trace takes at most {MAX_FLOWS} ports × hosts ({0} asked); name fewer")]
    TooMany(usize),
    /// A socket failed.
    #[error("trace: {0}")]
    Io(#[from] std::io::Error),
}

/// One port's trace.
#[derive(Debug, Clone, Serialize)]
pub struct PortTrace {
    /// The host as named.
    pub host: String,
    /// Its address.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// TCP or UDP.
    #[serde(rename = "protocol")]
    pub transport: Transport,
    /// Traced to show a working path beside the others.
    pub reference: bool,
    /// The one source port every probe of this port left from (its flow), to find the
    /// probes in a firewall's log or a router's load-balancing hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    /// Where its probes ended.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Every TTL up to the verdict's hop (and the first silent one).
    pub hops: Vec<Hop>,
    /// True when one hop answered from more than one address.
    pub path_varies: bool,
    /// Probes sent for this port.
    pub probes_sent: u32,
}

impl PortTrace {
    // The trace that needs it runs on Linux only.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(super) fn not_traced(r: &TraceRequest, reason: &str) -> PortTrace {
        PortTrace {
            host: r.host.clone(),
            address: r.address,
            port: r.port,
            transport: r.transport,
            reference: r.reference,
            source_port: None,
            verdict: Verdict::NotTraced {
                reason: reason.into(),
            },
            hops: Vec::new(),
            path_varies: false,
            probes_sent: 0,
        }
    }
}

/// What a trace of a check's FILTERED ports needs, collected while the check runs:
/// each FILTERED (or silent UDP) port, and per host one TCP port that answered (135
/// first) as the reference path.
#[derive(Debug, Default)]
pub struct FilteredPorts {
    requests: Vec<TraceRequest>,
    reference: std::collections::HashMap<IpAddr, (String, u16)>,
}

impl FilteredPorts {
    /// Notes one finding of the check.
    pub fn note(&mut self, f: &crate::Finding) {
        use crate::PortState;
        match f.state {
            PortState::Filtered | PortState::ListeningOrFiltered
                if self.requests.len() < MAX_FLOWS =>
            {
                self.requests.push(TraceRequest {
                    host: f.host.to_string(),
                    address: f.address,
                    port: f.port,
                    transport: f.transport,
                    probe: ProbeKind::from_name(f.probe).unwrap_or(ProbeKind::TcpConnect),
                    reference: false,
                });
            }
            PortState::Listening | PortState::NotListening if f.transport == Transport::Tcp => {
                let better = match self.reference.get(&f.address) {
                    None => true,
                    Some((_, p)) => *p != 135 && (f.port == 135 || f.state == PortState::Listening),
                };
                if better {
                    self.reference
                        .insert(f.address, (f.host.to_string(), f.port));
                }
            }
            _ => {}
        }
    }

    /// How many ports are to be traced (references not counted).
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// True when nothing is to be traced.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The filtered ports, then a reference port for each of their hosts that has one.
    pub fn into_requests(mut self) -> Vec<TraceRequest> {
        let mut seen = std::collections::HashSet::new();
        let hosts: Vec<IpAddr> = self
            .requests
            .iter()
            .map(|r| r.address)
            .filter(|a| seen.insert(*a))
            .collect();
        for a in hosts {
            if self.requests.len() >= MAX_FLOWS {
                break;
            }
            if let Some((host, port)) = self.reference.remove(&a) {
                self.requests.push(TraceRequest {
                    host,
                    address: a,
                    port,
                    transport: Transport::Tcp,
                    probe: ProbeKind::TcpConnect,
                    reference: true,
                });
            }
        }
        self.requests
    }
}
