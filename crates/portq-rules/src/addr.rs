//! Address lists as the options take them: an address, a CIDR block, or a range of
//! addresses (`10.0.1.10-10.0.1.11`), comma-separated and repeatable.

use crate::RulesError;
use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};
use portq_catalog::addr::{self, Parsed};
use std::net::IpAddr;

/// Parses one item with portq's one address grammar ([`portq_catalog::addr`]): an
/// address, a CIDR block (host bits cleared) or a range (also the short `10.0.1.10-11`),
/// which becomes the fewest CIDR blocks that cover exactly it. `None` when it is none of
/// these.
pub fn parse_item(text: &str) -> Option<Vec<IpNet>> {
    match addr::parse(text).ok()?? {
        Parsed::Address(a) => Some(vec![IpNet::from(a)]),
        Parsed::Block(b) => match (b.first, b.last) {
            (IpAddr::V4(a), IpAddr::V4(z)) => {
                Some(Ipv4Subnets::new(a, z, 0).map(IpNet::V4).collect())
            }
            (IpAddr::V6(a), IpAddr::V6(z)) => {
                Some(Ipv6Subnets::new(a, z, 0).map(IpNet::V6).collect())
            }
            _ => None,
        },
    }
}

/// Parses sources (`--from`, `--peers`, `--management`): comma-separated items, each an
/// address, CIDR or range.
pub fn parse_sources<S: AsRef<str>>(list: &[S]) -> Result<Vec<IpNet>, RulesError> {
    parse(list, RulesError::BadCidr)
}

/// Parses destinations (`--to`), as [`parse_sources`].
pub fn parse_destinations<S: AsRef<str>>(list: &[S]) -> Result<Vec<IpNet>, RulesError> {
    parse(list, RulesError::BadDestination)
}

/// The word `--from` takes for "every address" (`--from any`).
pub const ANY: &str = "any";

/// True when `text` is the word [`ANY`] (any case).
pub fn is_any(text: &str) -> bool {
    text.trim().eq_ignore_ascii_case(ANY)
}

/// Parses client sources (`--from`): like [`parse_sources`], and the word `any` says
/// every address. Returns the networks and whether `any` was given.
pub fn parse_from<S: AsRef<str>>(list: &[S]) -> Result<(Vec<IpNet>, bool), RulesError> {
    let any = list.iter().flat_map(|s| s.as_ref().split(',')).any(is_any);
    if any {
        // Still validate the rest: a typo next to `any` is a typo.
        let rest: Vec<&str> = list
            .iter()
            .flat_map(|s| s.as_ref().split(','))
            .filter(|s| !is_any(s))
            .collect();
        if !rest.is_empty() {
            parse_sources(&rest)?;
        }
        return Ok((Vec::new(), true));
    }
    Ok((parse_sources(list)?, false))
}

/// Every item must say something: an empty one (`--to ""`, an unset shell variable,
/// a stray comma) is an error, never "nothing" or "any".
fn parse<S: AsRef<str>>(
    list: &[S],
    err: fn(String) -> RulesError,
) -> Result<Vec<IpNet>, RulesError> {
    let mut out = Vec::new();
    for item in list
        .iter()
        .flat_map(|s| s.as_ref().split(','))
        .map(str::trim)
    {
        if item.is_empty() {
            return Err(RulesError::EmptyAddress);
        }
        out.extend(parse_item(item).ok_or_else(|| err(item.to_owned()))?);
    }
    Ok(out)
}

/// The smallest equivalent list: contained blocks dropped, adjacent ones merged.
pub fn aggregate(nets: &[IpNet]) -> Vec<IpNet> {
    let mut v = IpNet::aggregate(&nets.to_vec());
    v.sort();
    v
}

/// Whether the sources `a` include every address of `b` (an empty list means any).
pub fn covers(a: &[IpNet], b: &[IpNet]) -> bool {
    a.is_empty() || (!b.is_empty() && b.iter().all(|n| a.iter().any(|m| m.contains(n))))
}

/// Whether every network of a non-empty list is IPv4 (`Some(true)`) or IPv6 (`Some(false)`);
/// `None` for an empty or mixed list.
pub fn only_v4(nets: &[IpNet]) -> Option<bool> {
    let v4 = nets.iter().filter(|n| matches!(n, IpNet::V4(_))).count();
    match (nets.is_empty(), v4) {
        (true, _) => None,
        (false, n) if n == nets.len() => Some(true),
        (false, 0) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn items_and_ranges() {
        assert_eq!(parse_item("10.0.1.10"), Some(nets(&["10.0.1.10/32"])));
        // The grammar the check targets take, short ranges and brackets too.
        assert_eq!(parse_item("10.0.1.8-15"), Some(nets(&["10.0.1.8/29"])));
        assert_eq!(
            parse_item("[2001:db8::1]"),
            Some(nets(&["2001:db8::1/128"]))
        );
        assert_eq!(parse_item("dc1.example.test"), None);
        assert_eq!(parse_item("10.0.1.300"), None);
        assert_eq!(parse_item("10.0.1.77/24"), Some(nets(&["10.0.1.0/24"])));
        assert_eq!(
            parse_item("10.0.1.10-10.0.1.11"),
            Some(nets(&["10.0.1.10/31"]))
        );
        assert_eq!(
            parse_item("10.0.1.9-10.0.1.12"),
            Some(nets(&["10.0.1.9/32", "10.0.1.10/31", "10.0.1.12/32"]))
        );
        assert_eq!(
            parse_item("2001:db8::1-2001:db8::1"),
            Some(nets(&["2001:db8::1/128"]))
        );
        assert_eq!(parse_item("10.0.1.11-10.0.1.10"), None);
        assert_eq!(parse_item("10.0.1.1-2001:db8::1"), None);
        assert_eq!(parse_item("banana"), None);
        assert_eq!(parse_item("10.0.0.0/33"), None);
        assert!(matches!(
            parse_destinations(&["10.0.0.1, x"]),
            Err(RulesError::BadDestination(s)) if s == "x"
        ));
    }

    #[test]
    fn coverage() {
        assert!(covers(&[], &nets(&["10.0.0.0/8"])));
        assert!(!covers(&nets(&["10.0.0.0/8"]), &[]));
        assert!(covers(&nets(&["10.0.0.0/8"]), &nets(&["10.0.1.0/24"])));
        assert!(!covers(&nets(&["10.0.1.0/24"]), &nets(&["10.0.0.0/8"])));
        assert_eq!(
            aggregate(&nets(&["10.0.0.0/8", "10.0.1.0/24"])),
            nets(&["10.0.0.0/8"])
        );
        assert_eq!(only_v4(&nets(&["10.0.0.0/8"])), Some(true));
        assert_eq!(only_v4(&nets(&["2001:db8::/32"])), Some(false));
        assert_eq!(only_v4(&nets(&["10.0.0.0/8", "2001:db8::/32"])), None);
    }
}
