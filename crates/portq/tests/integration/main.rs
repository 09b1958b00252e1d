//! The portq binary's integration tests, one test binary: the CLI (lookup, rules,
//! check, rpc, local, help snapshots, the bad-input matrix, interop with the Samba DC
//! lab), hostile peers, resource limits and scale in network namespaces, the firewall
//! verdict of `local`, and the web console.

#[path = "../../../../tests/lab/lab_lock.rs"]
mod lab_lock;

mod check_rd_gateway;
mod cli;
mod discovery;
mod exporter;
mod hostile;
mod limits;
mod local_firewall;
mod scale;
mod serve;
