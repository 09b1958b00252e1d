//! Where is it dropped? A per-port path trace: probes *to the traced port* (a TCP SYN,
//! or the port's own UDP request) with TTL 1, 2, 3…, several per hop, every port and
//! host of the run at once. Each port gets one [`Verdict`]: reached at hop N, rejected
//! at hop N by router R (with the ICMP code), or silent after hop N (the last router
//! that said time-exceeded, and the first hop that stayed silent).
//!
//! One flow per port: every probe of a port leaves from the same source port, so a
//! load balancer that hashes the 5-tuple keeps it on one path; a hop that still
//! answers from two addresses is reported ([`PortTrace::path_varies`]). Probes are
//! told apart by a random TCP sequence number or IPv4 identification per probe, which
//! every ICMP error quotes (consecutive ones could be guessed by a host that sees one).
//!
//! Hand-written rather than built on trippy-core (0.13), the crate of the field,
//! because it cannot express this trace and its parser fails our hostile input:
//! - its UDP payload is one repeated byte, not the port's own request (a CLDAP or DNS
//!   probe), so an application firewall sees a different packet than `check` sent;
//! - with TCP and a fixed destination port the source port is the probe's sequence
//!   number, so every probe is a new flow and one port's probes take different
//!   load-balanced paths;
//! - on Linux its TCP channel reads the connect socket's `EHOSTUNREACH` before the raw
//!   ICMP and records it as time-exceeded code 1 from 0.0.0.0 (its Unix
//!   `icmp_error_info` returns that address), so a router's admin-prohibited reject
//!   loses both its code and its address;
//! - trippy-packet's `Ipv4Packet::payload` slices by the quoted header-length field
//!   unchecked: an ICMP error whose quote claims a longer header than it carries
//!   panics the tracer thread (see `wire`).
//!
//! Raw sockets: root or `CAP_NET_RAW` on Linux; elsewhere [`TraceError::Unsupported`].

mod model;
mod raw;
pub mod verdict;
pub mod wire;

pub use model::{
    FilteredPorts, MAX_FLOWS, MAX_PROBES, MAX_TTL, PortTrace, TraceError, TraceOptions,
    TraceRequest,
};
pub use verdict::{Hop, HopReply, TargetAnswer, Verdict};

use std::net::IpAddr;
use std::time::Duration;

/// Whether this process may trace (opens, and closes, one raw socket).
pub fn can_trace() -> Result<(), TraceError> {
    raw::check_privilege()
}

/// Traces every request at once; one [`PortTrace`] per request, in order. IPv6
/// targets come back [`Verdict::NotTraced`].
pub async fn trace(
    requests: &[TraceRequest],
    opts: &TraceOptions,
) -> Result<Vec<PortTrace>, TraceError> {
    opts.validate()?;
    if requests.len() > MAX_FLOWS {
        return Err(TraceError::TooMany(requests.len()));
    }
    let mut out = raw::run(requests, opts).await?;
    if opts.names {
        name_routers(&mut out).await;
    }
    Ok(out)
}

/// Fills in the PTR names of every address the traces show (at most 256, two seconds
/// in all; a name that does not come back is left out).
pub async fn name_routers(traces: &mut [PortTrace]) {
    use std::collections::BTreeMap;
    let mut addrs: Vec<IpAddr> = traces
        .iter()
        .flat_map(|t| {
            t.hops
                .iter()
                .flat_map(|h| h.replies.iter().map(|r| r.address))
        })
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs.truncate(256);
    if addrs.is_empty() {
        return;
    }
    let Ok(resolver) = crate::resolver::build(None, Duration::from_millis(1500), 1) else {
        return;
    };
    let lookups = addrs.iter().map(|a| {
        let resolver = &resolver;
        async move {
            let name = resolver.reverse_lookup(*a).await.ok().and_then(|l| {
                l.answers()
                    .iter()
                    .find_map(|r| match &r.data {
                        hickory_resolver::proto::rr::RData::PTR(p) => Some(p.0.to_string()),
                        _ => None,
                    })
                    .map(|n| n.trim_end_matches('.').to_owned())
            });
            (*a, name)
        }
    });
    let names: BTreeMap<IpAddr, String> = match tokio::time::timeout(
        Duration::from_secs(2),
        futures::future::join_all(lookups),
    )
    .await
    {
        Ok(all) => all
            .into_iter()
            .filter_map(|(a, n)| n.map(|n| (a, n)))
            .collect(),
        Err(_) => return,
    };
    for t in traces.iter_mut() {
        for h in &mut t.hops {
            for r in &mut h.replies {
                r.name = names.get(&r.address).cloned();
            }
        }
        match &mut t.verdict {
            Verdict::Rejected {
                router,
                router_name,
                ..
            } => *router_name = names.get(router).cloned(),
            Verdict::Silent {
                last_router: Some(r),
                last_router_name,
                ..
            } => *last_router_name = names.get(r).cloned(),
            _ => {}
        }
    }
}
