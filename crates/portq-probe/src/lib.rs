//! portq's async engine: what to probe (targets and port specs), how (TCP, UDP and
//! application probes), and the scheduler that runs many at once within limits.
//! It yields typed findings and never formats output.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod rpc;
