//! The one address grammar of portq: an address (IPv6 also in brackets), a CIDR block
//! (host bits cleared) or a range (`10.0.0.5-10.0.0.9`, or the short forms `10.0.0.5-9`
//! and `2001:db8::1-ff`, where the end replaces the last octet or group). Check targets
//! (which may also be host names), rule sources and destinations, and the servers'
//! `--allow-target` lists all read addresses with [`parse`]; what each then refuses (the
//! whole address space as a target, say) is its own decision.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// An inclusive block of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    /// First address.
    pub first: IpAddr,
    /// Last address (not before `first`, same family).
    pub last: IpAddr,
}

impl Block {
    /// True when the block holds every address of its family (`0.0.0.0/0`, `::/0`).
    pub fn is_whole_space(&self) -> bool {
        let top = if self.first.is_ipv4() {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        to_u128(self.first) == 0 && to_u128(self.last) == top
    }

    /// Number of addresses (saturating at `u128::MAX` for `::/0`).
    pub fn count(&self) -> u128 {
        (to_u128(self.last) - to_u128(self.first)).saturating_add(1)
    }
}

/// What an address-like text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parsed {
    /// One address.
    Address(IpAddr),
    /// A CIDR block or a range.
    Block(Block),
}

/// Why an address-like text was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AddrError {
    /// Looks like an address but is none.
    #[error("{0}")]
    Invalid(&'static str),
    /// A CIDR prefix length that does not fit the address family.
    #[error("the prefix length /{prefix} is too long (at most /{max})")]
    BadPrefix {
        /// The prefix length given.
        prefix: u32,
        /// The longest prefix of the family.
        max: u32,
    },
    /// A range whose end comes before its start, mixes families, or has a bad end.
    #[error("{0}")]
    BadRange(&'static str),
}

/// An address, IPv6 also in brackets (`[::1]`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    s.parse::<IpAddr>().ok()
}

/// Reads an address, a CIDR block or a range. `Ok(None)` when the text is none of these
/// and does not look like one either (a host name, perhaps); `Err` when it looks like an
/// address and is not a valid one.
pub fn parse(text: &str) -> Result<Option<Parsed>, AddrError> {
    let t = text.trim();
    if let Some((addr, prefix)) = t.rsplit_once('/') {
        return cidr(addr, prefix).map(|b| Some(Parsed::Block(b)));
    }
    if let Some(ip) = parse_ip(t) {
        return Ok(Some(Parsed::Address(ip)));
    }
    if let Some((left, right)) = t.split_once('-')
        && let Some(first) = parse_ip(left)
    {
        return range(first, right).map(|b| Some(Parsed::Block(b)));
    }
    if t.contains(':') || t.starts_with('[') {
        return Err(AddrError::Invalid("not a valid IPv6 address"));
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(AddrError::Invalid("not a valid IPv4 address"));
    }
    Ok(None)
}

fn cidr(addr: &str, prefix: &str) -> Result<Block, AddrError> {
    let ip = parse_ip(addr).ok_or(AddrError::Invalid("a CIDR block needs an IP address"))?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddrError::Invalid("the prefix length is not a number"));
    }
    let prefix: u32 = prefix
        .parse()
        .map_err(|_| AddrError::Invalid("the prefix length is not a number"))?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > bits {
        return Err(AddrError::BadPrefix { prefix, max: bits });
    }
    let host_bits = bits - prefix;
    let host_mask: u128 = if host_bits == 0 {
        0
    } else {
        u128::MAX >> (128 - host_bits)
    };
    let first = to_u128(ip) & !host_mask;
    Ok(Block {
        first: from_u128(first, ip.is_ipv4()),
        last: from_u128(first | host_mask, ip.is_ipv4()),
    })
}

fn range(first: IpAddr, right: &str) -> Result<Block, AddrError> {
    let right = right.trim();
    let last = if let Some(ip) = parse_ip(right) {
        if ip.is_ipv4() != first.is_ipv4() {
            return Err(AddrError::BadRange(
                "the two ends are of different address families",
            ));
        }
        ip
    } else {
        match first {
            IpAddr::V4(v4) => {
                const END: &str = "the end must be an address or a last octet (0-255)";
                if right.is_empty() || right.len() > 3 || !right.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(AddrError::BadRange(END));
                }
                let n: u16 = right.parse().map_err(|_| AddrError::BadRange(END))?;
                let n = u8::try_from(n)
                    .map_err(|_| AddrError::BadRange("the last octet must be 0-255"))?;
                let o = v4.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], n))
            }
            IpAddr::V6(v6) => {
                const END: &str = "the end must be an address or a last group (0-ffff)";
                if right.is_empty()
                    || right.len() > 4
                    || !right.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(AddrError::BadRange(END));
                }
                let n = u16::from_str_radix(right, 16).map_err(|_| AddrError::BadRange(END))?;
                let mut seg = v6.segments();
                seg[7] = n;
                IpAddr::V6(Ipv6Addr::from(seg))
            }
        }
    };
    if to_u128(last) < to_u128(first) {
        return Err(AddrError::BadRange("the end comes before the start"));
    }
    Ok(Block { first, last })
}

/// An address as a number (IPv4 in the low 32 bits).
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of a number; `v4` takes the low 32 bits (saturating).
pub fn from_u128(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(a: &str, b: &str) -> Option<Parsed> {
        Some(Parsed::Block(Block {
            first: a.parse().unwrap(),
            last: b.parse().unwrap(),
        }))
    }

    #[test]
    fn every_form() {
        assert_eq!(
            parse("10.0.0.1"),
            Ok(Some(Parsed::Address("10.0.0.1".parse().unwrap())))
        );
        assert_eq!(
            parse("[::1]"),
            Ok(Some(Parsed::Address("::1".parse().unwrap())))
        );
        assert_eq!(parse("10.0.1.77/24"), Ok(block("10.0.1.0", "10.0.1.255")));
        assert_eq!(parse("10.0.0.5-9"), Ok(block("10.0.0.5", "10.0.0.9")));
        assert_eq!(
            parse("10.0.0.5 - 10.0.1.2"),
            Ok(block("10.0.0.5", "10.0.1.2"))
        );
        assert_eq!(
            parse("2001:db8::1-ff"),
            Ok(block("2001:db8::1", "2001:db8::ff"))
        );
        assert_eq!(parse("0.0.0.0/0"), Ok(block("0.0.0.0", "255.255.255.255")));
        assert_eq!(parse("dc1.example.test"), Ok(None));
        assert_eq!(parse("dc-1"), Ok(None));
    }

    #[test]
    fn address_like_mistakes_are_errors() {
        for bad in [
            "10.0.0.300",
            "10.0.0.0/33",
            "10.0.0.0/x",
            "x/24",
            "10.0.0.9-5",
            "10.0.0.1-::1",
            "10.0.0.1-256",
            "fe80::zz",
            "[::1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let whole = Block {
            first: "::".parse().unwrap(),
            last: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
        };
        assert!(whole.is_whole_space());
        assert_eq!(whole.count(), u128::MAX);
    }
}
