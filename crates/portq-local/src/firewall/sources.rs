//! Sets of source addresses of one IP family, exact: what a firewall's source conditions
//! select, carried through its chains (intersection across base chains, difference for
//! what earlier rules took). Kept as sorted, disjoint, inclusive ranges of addresses, so
//! union, intersection and difference are exact whatever the prefixes.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of IPv4 or IPv6 source addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSet {
    v6: bool,
    /// Sorted, disjoint, non-adjacent inclusive ranges.
    ranges: Vec<(u128, u128)>,
}

impl SourceSet {
    fn max(v6: bool) -> u128 {
        if v6 { u128::MAX } else { u128::from(u32::MAX) }
    }

    /// No address.
    pub fn empty(v6: bool) -> Self {
        SourceSet {
            v6,
            ranges: Vec::new(),
        }
    }

    /// Every address of the family.
    pub fn all(v6: bool) -> Self {
        SourceSet {
            v6,
            ranges: vec![(0, Self::max(v6))],
        }
    }

    fn from_ranges(v6: bool, mut ranges: Vec<(u128, u128)>) -> Self {
        ranges.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        SourceSet { v6, ranges: out }
    }

    /// The addresses from `a` to `b` (inclusive); empty when they are of another family
    /// or out of order.
    pub fn range(v6: bool, a: IpAddr, b: IpAddr) -> Self {
        match (num(a, v6), num(b, v6)) {
            (Some(a), Some(b)) if a <= b => SourceSet::from_ranges(v6, vec![(a, b)]),
            _ => SourceSet::empty(v6),
        }
    }

    /// One network; empty when it is of the other family.
    pub fn net(v6: bool, n: IpNet) -> Self {
        let n = n.trunc();
        SourceSet::range(v6, n.network(), n.broadcast())
    }

    /// How many addresses the set holds (saturating at `u128::MAX`).
    pub fn size(&self) -> u128 {
        self.ranges.iter().fold(0u128, |n, (a, b)| {
            n.saturating_add((b - a).saturating_add(1))
        })
    }

    /// True when the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when the set holds every address of its family.
    pub fn is_all(&self) -> bool {
        self.ranges == [(0, Self::max(self.v6))]
    }

    /// Whether the set holds `a`.
    pub fn contains(&self, a: IpAddr) -> bool {
        num(a, self.v6).is_some_and(|x| self.ranges.iter().any(|(s, e)| *s <= x && x <= *e))
    }

    /// Addresses in either set.
    pub fn union(&self, other: &SourceSet) -> SourceSet {
        let mut r = self.ranges.clone();
        r.extend_from_slice(&other.ranges);
        SourceSet::from_ranges(self.v6, r)
    }

    /// Addresses in both sets.
    pub fn intersect(&self, other: &SourceSet) -> SourceSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = self.ranges[i];
            let (c, d) = other.ranges[j];
            let (s, e) = (a.max(c), b.min(d));
            if s <= e {
                out.push((s, e));
            }
            if b < d {
                i += 1;
            } else {
                j += 1;
            }
        }
        SourceSet {
            v6: self.v6,
            ranges: out,
        }
    }

    /// Every address of the family not in the set.
    pub fn complement(&self) -> SourceSet {
        let mut out = Vec::new();
        let mut next: Option<u128> = Some(0);
        for (a, b) in &self.ranges {
            if let Some(n) = next
                && *a > n
            {
                out.push((n, a - 1));
            }
            next = b.checked_add(1);
        }
        if let Some(n) = next
            && n <= Self::max(self.v6)
        {
            out.push((n, Self::max(self.v6)));
        }
        SourceSet {
            v6: self.v6,
            ranges: out,
        }
    }

    /// Addresses in this set and not in `other`.
    pub fn minus(&self, other: &SourceSet) -> SourceSet {
        self.intersect(&other.complement())
    }

    /// The fewest CIDR blocks that cover exactly the set.
    pub fn cidrs(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for &(a, b) in &self.ranges {
            let mut start = a;
            loop {
                // The largest aligned block from `start` that stays within `b`.
                let bits = if self.v6 { 128 } else { 32 };
                let mut size_log = if start == 0 {
                    bits
                } else {
                    start.trailing_zeros().min(bits)
                };
                while size_log > 0 {
                    let last = if size_log >= 128 {
                        u128::MAX
                    } else {
                        start + ((1u128 << size_log) - 1)
                    };
                    if last <= b {
                        break;
                    }
                    size_log -= 1;
                }
                let len = (bits - size_log) as u8;
                out.push(net_of(start, len, self.v6));
                let end = if size_log >= 128 {
                    u128::MAX
                } else {
                    start + ((1u128 << size_log) - 1)
                };
                if end >= b {
                    break;
                }
                start = end + 1;
            }
        }
        out
    }

    /// The set as text: `10.0.0.0/8, 192.0.2.7` (a single address without its prefix).
    pub fn texts(&self) -> Vec<String> {
        self.cidrs()
            .into_iter()
            .map(|n| {
                if n.prefix_len() == n.max_prefix_len() {
                    n.addr().to_string()
                } else {
                    n.to_string()
                }
            })
            .collect()
    }
}

fn num(a: IpAddr, v6: bool) -> Option<u128> {
    match (a, v6) {
        (IpAddr::V4(a), false) => Some(u128::from(u32::from(a))),
        (IpAddr::V6(a), true) => Some(u128::from(a)),
        _ => None,
    }
}

fn net_of(start: u128, len: u8, v6: bool) -> IpNet {
    if v6 {
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(start), len).unwrap_or_default())
    } else {
        let a = Ipv4Addr::from(u32::try_from(start).unwrap_or(0));
        IpNet::V4(Ipv4Net::new(a, len).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> SourceSet {
        SourceSet::net(false, s.parse().unwrap())
    }

    #[test]
    fn algebra_is_exact() {
        let a = n("10.0.0.0/8");
        let b = n("10.1.0.0/16");
        assert_eq!(a.intersect(&b), b);
        assert_eq!(a.union(&b), a);
        let hole = a.minus(&b);
        assert!(!hole.contains("10.1.2.3".parse().unwrap()));
        assert!(hole.contains("10.2.0.1".parse().unwrap()));
        assert_eq!(hole.union(&b), a);
        assert!(SourceSet::all(false).is_all());
        assert!(SourceSet::all(false).complement().is_empty());
        assert_eq!(n("0.0.0.0/0").texts(), vec!["0.0.0.0/0"]);
        assert_eq!(n("192.0.2.7/32").texts(), vec!["192.0.2.7"]);
        assert_eq!(b.texts(), vec!["10.1.0.0/16"]);
        // 10.0.0.0/8 less 10.1.0.0/16 is 8 blocks.
        assert_eq!(hole.cidrs().len(), 8);
        assert_eq!(hole.complement().intersect(&a), b);
        let v6 = SourceSet::net(true, "2001:db8::/32".parse().unwrap());
        assert_eq!(v6.texts(), vec!["2001:db8::/32"]);
        assert!(SourceSet::all(true).complement().is_empty());
        assert_eq!(SourceSet::all(true).cidrs().len(), 1);
    }

    #[test]
    fn random_sets_round_trip_through_cidrs() {
        let mut x: u64 = 0x1234_5678;
        for _ in 0..500 {
            let mut set = SourceSet::empty(false);
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let a = (x as u32) & 0x0000_ffff;
                let b = a + ((x >> 32) as u32 & 0x3ff);
                set = set.union(&SourceSet::range(
                    false,
                    IpAddr::V4(Ipv4Addr::from(a)),
                    IpAddr::V4(Ipv4Addr::from(b)),
                ));
            }
            let back = set
                .cidrs()
                .into_iter()
                .fold(SourceSet::empty(false), |acc, c| {
                    acc.union(&SourceSet::net(false, c))
                });
            assert_eq!(back, set);
        }
    }
}
