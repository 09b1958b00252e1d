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
    /// An empty address value (`--to ""`, an unset shell variable, a stray comma).
    #[error(
        "empty address value (an unset shell variable?): give an address, CIDR or range, e.g. 10.0.0.0/8"
    )]
    EmptyAddress,
    /// No client sources given: the rules would open the role's ports to every address.
    #[error(
        "no --from given: these rules would open the role's ports to every address; give --from CIDR (the clients' networks), or --from any to open them to everyone"
    )]
    NoSources,
    /// A destination (`--to`) that is not an address, CIDR block or address range.
    #[error(
        "invalid destination '{0}' (expected an address, a CIDR such as 10.0.1.0/24, or a range such as 10.0.1.10-10.0.1.11)"
    )]
    BadDestination(String),
    /// A policy-drop host rule set that would cut off the administrators' own access.
    #[error(
        "{format} with a drop policy would lock out SSH: give --management CIDR (SSH 22 stays open to it), or say --no-management-access, or --no-default-drop"
    )]
    LockoutRisk {
        /// The format asked for.
        format: &'static str,
    },
    /// An output for one IP version whose sources (or destinations) are all of the other.
    #[error(
        "{format} writes {family} rules, but every {what} is {other}: no rule would allow anything; {fix}"
    )]
    WrongFamily {
        /// The format asked for.
        format: &'static str,
        /// IPv4 or IPv6: what the format writes.
        family: &'static str,
        /// The other version.
        other: &'static str,
        /// Which option holds only the other version.
        what: &'static str,
        /// What to do instead.
        fix: &'static str,
    },
    /// An option that the chosen format cannot express.
    #[error("{format} cannot {what}; {fix}")]
    NotForFormat {
        /// The format asked for.
        format: &'static str,
        /// What was asked.
        what: &'static str,
        /// What to use instead.
        fix: &'static str,
    },
    /// A Group Policy store name that cannot be written safely.
    #[error(
        "invalid policy store '{0}' (expected DOMAIN\\GPO-NAME, e.g. example.test\\Domain Controllers Firewall)"
    )]
    BadPolicyStore(String),
    /// More rules than the target allows.
    #[error("{format} allows at most {max} rules, and these roles need {count}: {fix}")]
    TooManyRules {
        /// The format asked for.
        format: &'static str,
        /// How many rules were needed.
        count: usize,
        /// The limit.
        max: usize,
        /// How to get under it.
        fix: &'static str,
    },
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
