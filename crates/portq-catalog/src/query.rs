//! Parsing what a user typed after `portq lookup` into a typed query.

use crate::model::{PortRange, Transport};
use thiserror::Error;

/// Longest query accepted, in characters.
pub const MAX_QUERY_LEN: usize = 200;

/// One parsed lookup query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A port or port range, optionally with a transport (`445`, `135/tcp`, `49152-65535`).
    Ports {
        /// The port or range.
        range: PortRange,
        /// Only this transport, when given.
        transport: Option<Transport>,
    },
    /// Words to look for in names, aliases and application protocols (lower-cased).
    Text(String),
}

/// Why a query could not be parsed. Each variant carries the text that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The query is empty or only white space.
    #[error("empty query: give a port (445), a range (49152-65535), or a service name")]
    Empty,
    /// The query is longer than [`MAX_QUERY_LEN`].
    #[error("query too long ({len} characters; the limit is {MAX_QUERY_LEN})")]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// A port number that is not a number from 1 to 65535.
    #[error("invalid port '{text}': ports are numbers from 1 to 65535")]
    BadPort {
        /// The offending text.
        text: String,
    },
    /// A range whose start is above its end.
    #[error("invalid range '{text}': the start is above the end")]
    Inverted {
        /// The offending text.
        text: String,
    },
    /// A transport other than tcp or udp after the slash.
    #[error("unknown transport '{text}' (expected tcp or udp)")]
    BadTransport {
        /// The offending text.
        text: String,
    },
}

fn parse_port(text: &str, whole: &str) -> Result<u16, QueryError> {
    let bad = || QueryError::BadPort {
        text: whole.to_owned(),
    };
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u32>() {
        Ok(n @ 1..=65535) => u16::try_from(n).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Parses a port (`445`) or range (`49152-65535`) with no transport.
pub fn parse_range(text: &str) -> Result<PortRange, QueryError> {
    let (a, b) = match text.split_once('-') {
        Some((a, b)) => (parse_port(a.trim(), text)?, parse_port(b.trim(), text)?),
        None => {
            let p = parse_port(text.trim(), text)?;
            (p, p)
        }
    };
    if a > b {
        return Err(QueryError::Inverted {
            text: text.to_owned(),
        });
    }
    Ok(PortRange { start: a, end: b })
}

/// Parses `tcp` or `udp` (any case).
pub fn parse_transport(text: &str) -> Result<Transport, QueryError> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Transport::Tcp),
        "udp" => Ok(Transport::Udp),
        _ => Err(QueryError::BadTransport {
            text: text.to_owned(),
        }),
    }
}

impl Query {
    /// Parses one query.
    ///
    /// Anything that starts like a number or contains a `/` is read as a port query and
    /// must be a valid one; everything else is text.
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        let len = input.chars().count();
        if len > MAX_QUERY_LEN {
            return Err(QueryError::TooLong { len });
        }
        let text = input.trim();
        if text.is_empty() {
            return Err(QueryError::Empty);
        }
        let looks_numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
        // `445/tcp` and `abc/tcp` are port queries (the second a bad one); `TCP/IP Print
        // Server` and `RPC/NP` are words.
        let port_with_transport = text.split_once('/').filter(|(_, t)| {
            looks_numeric
                || matches!(
                    t.trim().to_ascii_lowercase().as_str(),
                    "tcp" | "udp" | "sctp" | "dccp" | "icmp"
                )
        });
        if let Some((ports, transport)) = port_with_transport {
            let transport = parse_transport(transport.trim())?;
            return Ok(Query::Ports {
                range: parse_range(ports.trim())?,
                transport: Some(transport),
            });
        }
        if looks_numeric {
            return Ok(Query::Ports {
                range: parse_range(text)?,
                transport: None,
            });
        }
        Ok(Query::Text(text.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(start: u16, end: u16, transport: Option<Transport>) -> Query {
        Query::Ports {
            range: PortRange { start, end },
            transport,
        }
    }

    #[test]
    fn ports_ranges_and_transports() {
        assert_eq!(Query::parse("445"), Ok(ports(445, 445, None)));
        assert_eq!(
            Query::parse("135/tcp"),
            Ok(ports(135, 135, Some(Transport::Tcp)))
        );
        assert_eq!(
            Query::parse("137/UDP"),
            Ok(ports(137, 137, Some(Transport::Udp)))
        );
        assert_eq!(Query::parse("49152-65535"), Ok(ports(49152, 65535, None)));
        assert_eq!(Query::parse(" 53 "), Ok(ports(53, 53, None)));
        assert_eq!(Query::parse("65535"), Ok(ports(65535, 65535, None)));
    }

    #[test]
    fn slashes_in_words_are_text() {
        assert_eq!(
            Query::parse("TCP/IP Print Server"),
            Ok(Query::Text("tcp/ip print server".into()))
        );
        assert_eq!(Query::parse("RPC/NP"), Ok(Query::Text("rpc/np".into())));
        assert!(matches!(
            Query::parse("<script>alert(1)</script>"),
            Ok(Query::Text(_))
        ));
    }

    #[test]
    fn text_is_lower_cased() {
        assert_eq!(
            Query::parse("Global Catalog"),
            Ok(Query::Text("global catalog".into()))
        );
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            Query::parse("70000"),
            Err(QueryError::BadPort { .. })
        ));
        assert!(matches!(Query::parse("0"), Err(QueryError::BadPort { .. })));
        assert!(matches!(
            Query::parse("0-"),
            Err(QueryError::BadPort { .. })
        ));
        assert!(matches!(
            Query::parse("-5"),
            Err(QueryError::BadPort { .. })
        ));
        assert!(matches!(
            Query::parse("5-3"),
            Err(QueryError::Inverted { .. })
        ));
        assert!(matches!(
            Query::parse("abc/tcp"),
            Err(QueryError::BadPort { .. })
        ));
        assert!(matches!(
            Query::parse("445/sctp"),
            Err(QueryError::BadTransport { .. })
        ));
        assert!(matches!(
            Query::parse("445/"),
            Err(QueryError::BadTransport { .. })
        ));
        assert_eq!(Query::parse(""), Err(QueryError::Empty));
        assert_eq!(Query::parse("   "), Err(QueryError::Empty));
        assert!(matches!(
            Query::parse(&"x".repeat(10_000)),
            Err(QueryError::TooLong { len: 10_000 })
        ));
        assert!(matches!(
            Query::parse("99999999999999999999"),
            Err(QueryError::BadPort { .. })
        ));
        assert!(matches!(
            Query::parse("1-2-3"),
            Err(QueryError::BadPort { .. })
        ));
        assert!(matches!(
            Query::parse("4a"),
            Err(QueryError::BadPort { .. })
        ));
    }
}
