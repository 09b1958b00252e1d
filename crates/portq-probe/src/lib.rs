//! Place in the data flow (ARCHITECTURE.md): *plan*, *run*, *findings* and *outcome* —
//! the library that decides; front ends only render what it yields.
//!
//! portq's async engine: what to probe (targets and port specs), how (TCP, UDP and
//! application probes), and the scheduler that runs many at once within limits.
//! It yields typed findings and never formats output.
//!
//! The product's question — "what does role X need on host Y, and is it so?" — is
//! [`pipeline`]: a labelled plan, the endpoint-mapper follow-up, the verdict. Checking a
//! domain controller is a handful of lines:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portq_probe::pipeline::CheckBuilder;
//!
//! let report = CheckBuilder::new()
//!     .target("dc01.example.test")
//!     .role("domain-controller")
//!     .plan()?
//!     .run()
//!     .await?;
//! for c in &report.findings {
//!     println!("{}/{} {} {}", c.finding.port, c.finding.transport, c.finding.state, c.label.text);
//! }
//! for line in report.summary.verdict_lines() {
//!     println!("{line}");
//! }
//! # Ok(()) }
//! ```
//!
//! Below it, the engine checks raw targets × ports:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use portq_probe::{CheckOptions, EnginePlan, PortSpec, TargetSet};
//!
//! let targets = TargetSet::parse(&["10.200.0.2"], false)?;
//! let ports = PortSpec::parse("tcp:88,135,389,445,udp:53,389")?;
//! let plan = EnginePlan::new(targets, ports);
//! let opts = CheckOptions { app_probes: true, ..CheckOptions::default() };
//! let mut run = portq_probe::start(&plan, opts).await?;
//! while let Some(finding) = run.next().await {
//!     println!("{} {} {:?}", finding.port, finding.state.token(), finding.evidence);
//! }
//! let summary = run.finish().await;
//! assert_eq!(summary.failure_count, 0);
//! # Ok(()) }
//! ```
// No `unsafe` anywhere, except one small OS module that allows it for itself: the Linux
// `reuse` (one socket address that socket2 builds only through an unsafe constructor).
// This machine's sockets and firewalls are `portq-local`'s.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod rpc;

pub mod discovery;
pub mod engine;
pub mod finding;
pub mod limits;
pub mod pipeline;
pub mod portspec;
pub mod probes;
mod rate;
mod resolver;
#[cfg(target_os = "linux")]
mod reuse;
pub mod rtt;
pub mod target;
mod tcp;
pub mod trace;
mod udp;

pub use engine::{
    CheckError, CheckOptions, CheckUnit, EnginePlan, EngineRun, EngineSummary, LocalFailure,
    PlannedCheck, Progress, check, start, start_resolved, start_units,
};
pub use finding::{
    DomainOrigin, Evidence, Finding, NetBiosName, PortState, ProbeErrorKind, SqlInstance,
    Transport, evidence_text, rfc3339, sort_findings,
};
pub use portspec::{PortRange, PortSpec, PortSpecError};
pub use probes::ProbeKind;
pub use target::{ResolvedTargets, Target, TargetError, TargetSet, TargetSpec};
