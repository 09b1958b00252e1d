//! Firewall rules and Windows RPC port settings, rendered from a set of server roles.
//!
//! Pure: nothing here touches the network or the host firewall. [`plan()`] turns the
//! union of role requirements into a list of typed [`Rule`]s; the [`render`] modules
//! write them for PowerShell, netsh, nftables, iptables, firewalld, AWS and Azure
//! security groups, Terraform, JSON and CSV (for the host, or with `--to` for a firewall
//! in front of the servers); and
//! [`rpc_config`] writes the registry and netsh settings that narrow the RPC dynamic
//! range or pin services to static ports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod addr;
pub mod error;
pub mod plan;
pub mod render;
pub mod rpc_config;
pub mod static_port;
pub mod windows;

pub use error::RulesError;
pub use plan::{Admin, PortSet, Rule, RuleOptions, plan};
pub use render::{Context, Profile, RuleFormat};
pub use static_port::{StaticPort, StaticService};
