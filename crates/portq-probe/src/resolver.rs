//! The one place a hickory DNS resolver is built: from the system's configuration
//! (resolv.conf and the hosts file on Unix, the registry on Windows) or for one DNS
//! server, with a per-query timeout and attempt count. DC discovery asks SRV and address
//! records through it, and the path trace asks PTR names of routers.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};

/// Builds a resolver that asks `server` (UDP, then TCP) or, without one, the servers of
/// the system's configuration. Each query waits `timeout` per attempt, `attempts` times;
/// the cache is small, since a run asks each name once. The error is hickory's
/// reason (an unreadable system configuration, say).
pub(crate) fn build(
    server: Option<SocketAddr>,
    timeout: Duration,
    attempts: usize,
) -> Result<TokioResolver, String> {
    let mut builder = match server {
        Some(server) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = server.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = server.port();
            let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio().map_err(|e| e.to_string())?,
    };
    let opts = builder.options_mut();
    opts.timeout = timeout;
    opts.attempts = attempts;
    opts.cache_size = 64;
    builder.build().map_err(|e| e.to_string())
}
