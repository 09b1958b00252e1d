//! portq-probe's integration tests, one binary: the engine, every probe against
//! loopback fake servers, sweeps in network namespaces, the endpoint-mapper client
//! against hostile fake mappers, the check pipeline, and interop with the Samba DC lab.

mod check_support;
#[path = "../../../../tests/lab/lab_lock.rs"]
mod lab_lock;

mod check_engine;
mod check_lab;
mod check_probes;
// Full-range sweeps of a network-namespace host under a 256-descriptor limit: Linux only
// (network namespaces, setrlimit, /dev/null). Windows' concurrency is pinned by
// `limits::tests` and runs under Wine.
#[cfg(unix)]
mod check_sweep;
mod check_tcp;
mod check_udp;
mod discovery;
// Rule sets loaded into a network namespace's kernel: Linux only.
#[cfg(unix)]
mod firewall_oracle;
mod pipeline;
mod rpc_fake_servers;
