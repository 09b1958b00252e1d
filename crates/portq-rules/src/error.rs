//! Errors of rule and RPC-settings generation; each says what input was wrong.

use thiserror::Error;

/// Why rules or settings could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RulesError {
    /// No role requirements to write rules for.
    #[error("no role given: name at least one with --role (see `portq roles`)")]
    NoRoles,
    /// A source address that is not an IP address or CIDR block.
    #[error("invalid address or CIDR '{0}' (expected e.g. 10.0.0.0/8 or 2001:db8::/32)")]
    BadCidr(String),
    /// An RPC range whose start is above its end, or that is not a range.
    #[error("invalid RPC range '{0}' (expected START-END, e.g. 5000-5100)")]
    BadRange(String),
    /// An RPC range with too few ports.
    #[error("RPC range {range} has {ports} ports; at least {min} are needed{why}")]
    RangeTooSmall {
        /// The range as given.
        range: String,
        /// Its size.
        ports: u32,
        /// The minimum.
        min: u32,
        /// Why that minimum applies.
        why: &'static str,
    },
    /// An RPC range that starts below 1025.
    #[error(
        "RPC range {0} starts below 1025, the lowest port Windows allows for the dynamic range"
    )]
    RangeTooLow(String),
    /// A `--static-port` that is not `SERVICE=PORT` with a known service.
    #[error("invalid static port '{text}': {reason}")]
    BadStaticPort {
        /// What was given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// Two static ports, or a static port and a well-known port, are the same.
    #[error("static port {port} for {service} collides with {other}")]
    StaticCollision {
        /// The port.
        port: u16,
        /// The service it was given for.
        service: &'static str,
        /// What else uses it.
        other: String,
    },
}
