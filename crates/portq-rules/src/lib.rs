//! Firewall rules and Windows RPC port settings, rendered from a set of server roles.
//!
//! Place in the data flow (ARCHITECTURE.md): a *renderer* of a question's plan (roles and
//! sources) into rule sets; it never touches the network or a host firewall.
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
