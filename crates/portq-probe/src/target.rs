//! Target specifications: what hosts to check.
//!
//! A spec is a host name, an IPv4 or IPv6 address (`[v6]` accepted), a CIDR block
//! (`10.0.0.0/24`, `2001:db8::/120`), a range (`10.0.0.1-20`, `10.0.0.1-10.0.0.20`,
//! `2001:db8::1-2001:db8::20`) or `@file` (one or more specs per line, `#` comments).
//! Commas separate several specs in one argument.
//!
//! Parsing never expands a block: [`TargetSet`] keeps blocks as first/last address
//! and counts them, refuses a set larger than [`DEFAULT_MAX_ADDRESSES`] unless the
//! caller allows it, and always refuses `/0` and anything above
//! [`HARD_MAX_ADDRESSES`]. Host names are looked up in a separate async step,
//! [`TargetSet::resolve`].

use std::io::Read as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portq_catalog::addr::{self, AddrError, Parsed};
use thiserror::Error;

/// A target set of more addresses than this needs the caller's confirmation (`--yes`).
pub const DEFAULT_MAX_ADDRESSES: u64 = 65_536;
/// A target set of more addresses than this is always refused (a `/8` is the largest IPv4 block).
pub const HARD_MAX_ADDRESSES: u64 = 1 << 24;
/// The largest `@file` read, in bytes.
pub const MAX_TARGET_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// How long one host-name lookup may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a target specification was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TargetError {
    /// An empty target (empty argument, or an empty item between commas).
    #[error("empty target")]
    Empty,
    /// The text is neither an address, a block, a range nor a valid host name.
    #[error("invalid target {spec:?}: {reason}")]
    Invalid {
        /// The offending text.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A CIDR prefix length that does not fit the address family.
    #[error("invalid prefix length in {spec:?}: /{prefix} (at most /{max})")]
    BadPrefix {
        /// The offending text.
        spec: String,
        /// The prefix length given.
        prefix: u32,
        /// The largest prefix length of the family.
        max: u32,
    },
    /// A `/0` block: the whole address space.
    #[error("{spec:?} is the whole address space; refused")]
    WholeSpace {
        /// The offending text.
        spec: String,
    },
    /// A range whose end comes before its start, or mixes IPv4 and IPv6.
    #[error("invalid range {spec:?}: {reason}")]
    BadRange {
        /// The offending text.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More addresses than [`DEFAULT_MAX_ADDRESSES`] without the caller's confirmation.
    #[error(
        "the targets add up to {count} addresses, more than {limit}; confirm (--yes) to check that many"
    )]
    NeedsConfirmation {
        /// Addresses counted so far (at least).
        count: u128,
        /// The limit without confirmation.
        limit: u64,
    },
    /// More addresses than [`HARD_MAX_ADDRESSES`]: refused even with confirmation.
    #[error("the targets add up to {count} addresses, more than the maximum of {limit}")]
    TooMany {
        /// Addresses counted so far (at least).
        count: u128,
        /// The hard limit.
        limit: u64,
    },
    /// An `@file` could not be read.
    #[error("cannot read target file {}: {source}", path.display())]
    FileRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An `@file` larger than [`MAX_TARGET_FILE_BYTES`].
    #[error("target file {} is larger than {limit} bytes", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// An `@file` that is not UTF-8 text (NUL bytes or invalid UTF-8).
    #[error("target file {} is not a text file", path.display())]
    FileNotText {
        /// The file.
        path: PathBuf,
    },
    /// An `@file` with no targets in it.
    #[error("target file {} lists no targets", path.display())]
    FileEmpty {
        /// The file.
        path: PathBuf,
    },
    /// An `@file` named inside another `@file`.
    #[error("target file {} names another file ({spec:?}); files do not nest", path.display())]
    NestedFile {
        /// The file.
        path: PathBuf,
        /// The `@...` spec found in it.
        spec: String,
    },
    /// A bad spec inside an `@file`.
    #[error("{}:{line}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong on that line.
        #[source]
        source: Box<TargetError>,
    },
    /// A host name that does not resolve.
    #[error("cannot resolve host {name:?}: {reason}")]
    Unresolvable {
        /// The host name.
        name: String,
        /// The resolver's answer.
        reason: String,
    },
}

/// One parsed target specification.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetSpec {
    /// A single address.
    Address(IpAddr),
    /// A host name, resolved later.
    Name(String),
    /// An inclusive block of addresses of one family (from a CIDR or a range).
    Block {
        /// First address.
        first: IpAddr,
        /// Last address (not before `first`, same family).
        last: IpAddr,
    },
}

impl TargetSpec {
    /// Parses one spec (no commas, no `@file`).
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(TargetError::Empty);
        }
        if t.starts_with('@') {
            return Err(invalid(
                t,
                "a target file is only allowed as a whole argument",
            ));
        }
        // The address forms are the one grammar of portq_catalog::addr; the whole
        // address space is no target.
        match addr::parse(t) {
            Ok(Some(Parsed::Address(ip))) => return Ok(TargetSpec::Address(ip)),
            Ok(Some(Parsed::Block(b))) if b.is_whole_space() => {
                return Err(TargetError::WholeSpace {
                    spec: t.to_string(),
                });
            }
            Ok(Some(Parsed::Block(b))) => {
                return Ok(TargetSpec::Block {
                    first: b.first,
                    last: b.last,
                });
            }
            Ok(None) => {}
            Err(AddrError::BadPrefix { prefix, max }) => {
                return Err(TargetError::BadPrefix {
                    spec: t.to_string(),
                    prefix,
                    max,
                });
            }
            Err(AddrError::BadRange(reason)) => {
                return Err(TargetError::BadRange {
                    spec: t.to_string(),
                    reason,
                });
            }
            Err(AddrError::Invalid(reason)) => return Err(invalid(t, reason)),
            Err(_) => return Err(invalid(t, "not a valid address")),
        }
        check_host_name(t)?;
        Ok(TargetSpec::Name(
            t.trim_end_matches('.').to_ascii_lowercase(),
        ))
    }

    /// Number of addresses (a name counts as one).
    pub fn count(&self) -> u128 {
        match self {
            TargetSpec::Address(_) | TargetSpec::Name(_) => 1,
            // Saturates for the whole IPv6 space, which parsing refuses anyway.
            TargetSpec::Block { first, last } => {
                (addr::to_u128(*last) - addr::to_u128(*first)).saturating_add(1)
            }
        }
    }
}

fn invalid(spec: &str, reason: &'static str) -> TargetError {
    TargetError::Invalid {
        spec: spec.to_string(),
        reason,
    }
}

/// An address, with `[v6]` brackets accepted.
fn check_host_name(t: &str) -> Result<(), TargetError> {
    let name = t.strip_suffix('.').unwrap_or(t);
    if name.is_empty() || name.len() > 253 {
        return Err(invalid(t, "a host name has 1 to 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(invalid(
                t,
                "each label of a host name has 1 to 63 characters",
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                t,
                "a host name has only letters, digits, '-', '_' and dots",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(t, "a host name label cannot start or end with '-'"));
        }
    }
    Ok(())
}

/// The parsed, counted set of targets of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSet {
    specs: Vec<TargetSpec>,
    count: u64,
}

/// How [`TargetSet::parse_with`] limits the set.
#[derive(Debug, Clone, Copy)]
pub struct TargetLimits {
    /// Allow more than [`DEFAULT_MAX_ADDRESSES`] (the CLI's `--yes`).
    pub allow_large: bool,
    /// Largest `@file` read.
    pub max_file_bytes: u64,
}

impl Default for TargetLimits {
    fn default() -> Self {
        TargetLimits {
            allow_large: false,
            max_file_bytes: MAX_TARGET_FILE_BYTES,
        }
    }
}

impl TargetSet {
    /// Parses the target arguments (each may hold commas or be `@file`), counting as it goes.
    pub fn parse<S: AsRef<str>>(args: &[S], allow_large: bool) -> Result<Self, TargetError> {
        Self::parse_with(
            args,
            TargetLimits {
                allow_large,
                ..TargetLimits::default()
            },
        )
    }

    /// [`TargetSet::parse`] with explicit limits.
    pub fn parse_with<S: AsRef<str>>(
        args: &[S],
        limits: TargetLimits,
    ) -> Result<Self, TargetError> {
        let mut b = Builder::new(limits.allow_large);
        if args.is_empty() {
            return Err(TargetError::Empty);
        }
        for arg in args {
            let arg = arg.as_ref().trim();
            if let Some(path) = arg.strip_prefix('@') {
                b.add_file(Path::new(path), limits.max_file_bytes)?;
            } else {
                for item in arg.split(',') {
                    b.add(TargetSpec::parse(item)?)?;
                }
            }
        }
        Ok(b.finish())
    }

    /// A set made of already parsed specs, with the same limits as [`TargetSet::parse`].
    pub fn from_specs(
        specs: impl IntoIterator<Item = TargetSpec>,
        allow_large: bool,
    ) -> Result<Self, TargetError> {
        let mut b = Builder::new(allow_large);
        for s in specs {
            b.add(s)?;
        }
        if b.specs.is_empty() {
            return Err(TargetError::Empty);
        }
        Ok(b.finish())
    }

    /// Number of addresses (each name counts as one).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The specs, in the order given, duplicates removed.
    pub fn specs(&self) -> &[TargetSpec] {
        &self.specs
    }

    /// True when a name needs a lookup before the check.
    pub fn has_names(&self) -> bool {
        self.specs.iter().any(|s| matches!(s, TargetSpec::Name(_)))
    }

    /// Every target without looking names up: a name comes with no address. Lazy; for
    /// `--dry-run` listings.
    pub fn iter_unresolved(&self) -> impl Iterator<Item = (String, Option<IpAddr>)> + '_ {
        self.specs.iter().flat_map(|s| {
            let (one, block) = match s {
                TargetSpec::Address(a) => (Some((a.to_string(), Some(*a))), None),
                TargetSpec::Name(n) => (Some((n.clone(), None)), None),
                TargetSpec::Block { first, last } => (
                    None,
                    Some(
                        TargetIter {
                            items: Arc::from(vec![Resolved::Block {
                                first: *first,
                                last: *last,
                            }]),
                            idx: 0,
                            next_in_block: None,
                        }
                        .map(|t| (t.host, Some(t.address))),
                    ),
                ),
            };
            one.into_iter().chain(block.into_iter().flatten())
        })
    }

    /// Looks up every host name (first address of each) and returns the set of addresses.
    ///
    /// A name that does not resolve is an error: checking the other hosts and silently
    /// dropping one would answer a different question.
    pub async fn resolve(&self) -> Result<ResolvedTargets, TargetError> {
        use futures::StreamExt as _;
        let names: Vec<String> = self
            .specs
            .iter()
            .filter_map(|s| match s {
                TargetSpec::Name(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        let mut looked_up = std::collections::HashMap::new();
        let mut results = futures::stream::iter(names.into_iter().map(|n| async move {
            let r = resolve_name(&n).await;
            (n, r)
        }))
        .buffer_unordered(16);
        while let Some((name, r)) = results.next().await {
            looked_up.insert(name, r?);
        }
        let mut items = Vec::with_capacity(self.specs.len());
        for s in &self.specs {
            items.push(match s {
                TargetSpec::Address(a) => Resolved::One(Target {
                    host: a.to_string(),
                    address: *a,
                }),
                TargetSpec::Name(n) => {
                    let address =
                        looked_up
                            .get(n)
                            .copied()
                            .ok_or_else(|| TargetError::Unresolvable {
                                name: n.clone(),
                                reason: "no address".into(),
                            })?;
                    Resolved::One(Target {
                        host: n.clone(),
                        address,
                    })
                }
                TargetSpec::Block { first, last } => Resolved::Block {
                    first: *first,
                    last: *last,
                },
            });
        }
        Ok(ResolvedTargets {
            items: items.into(),
            count: self.count,
        })
    }
}

/// True for names under the reserved `.invalid` top-level domain (RFC 6761), which
/// never resolve: they are answered here, without asking any resolver.
pub fn is_reserved_invalid(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n == "invalid" || n.ends_with(".invalid")
}

/// Looks up one host name; the first address the resolver returns is used.
pub async fn resolve_name(name: &str) -> Result<IpAddr, TargetError> {
    if is_reserved_invalid(name) {
        return Err(TargetError::Unresolvable {
            name: name.to_string(),
            reason: "names under .invalid never resolve (RFC 6761)".into(),
        });
    }
    let lookup = tokio::net::lookup_host((name, 0u16));
    match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Err(_) => Err(TargetError::Unresolvable {
            name: name.to_string(),
            reason: "the lookup timed out".into(),
        }),
        Ok(Err(e)) => Err(TargetError::Unresolvable {
            name: name.to_string(),
            reason: e.to_string(),
        }),
        Ok(Ok(mut addrs)) => {
            addrs
                .next()
                .map(|sa| sa.ip())
                .ok_or_else(|| TargetError::Unresolvable {
                    name: name.to_string(),
                    reason: "no address".into(),
                })
        }
    }
}

struct Builder {
    specs: Vec<TargetSpec>,
    seen: std::collections::HashSet<TargetSpec>,
    count: u128,
    allow_large: bool,
}

impl Builder {
    fn new(allow_large: bool) -> Self {
        Builder {
            specs: Vec::new(),
            seen: std::collections::HashSet::new(),
            count: 0,
            allow_large,
        }
    }

    fn add(&mut self, spec: TargetSpec) -> Result<(), TargetError> {
        if self.seen.contains(&spec) {
            return Ok(());
        }
        self.count = self.count.saturating_add(spec.count());
        if self.count > u128::from(HARD_MAX_ADDRESSES) {
            return Err(TargetError::TooMany {
                count: self.count,
                limit: HARD_MAX_ADDRESSES,
            });
        }
        if !self.allow_large && self.count > u128::from(DEFAULT_MAX_ADDRESSES) {
            return Err(TargetError::NeedsConfirmation {
                count: self.count,
                limit: DEFAULT_MAX_ADDRESSES,
            });
        }
        self.seen.insert(spec.clone());
        self.specs.push(spec);
        Ok(())
    }

    fn add_file(&mut self, path: &Path, max_bytes: u64) -> Result<(), TargetError> {
        let text = read_target_file(path, max_bytes)?;
        let mut found = false;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            for item in line.split(|c: char| c == ',' || c.is_whitespace()) {
                if item.is_empty() {
                    continue;
                }
                found = true;
                if item.starts_with('@') {
                    return Err(TargetError::NestedFile {
                        path: path.to_path_buf(),
                        spec: item.to_string(),
                    });
                }
                let wrap = |e: TargetError| TargetError::InFile {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source: Box::new(e),
                };
                let spec = TargetSpec::parse(item).map_err(wrap)?;
                self.add(spec)?;
            }
        }
        if !found {
            return Err(TargetError::FileEmpty {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    fn finish(self) -> TargetSet {
        TargetSet {
            specs: self.specs,
            // Bounded by HARD_MAX_ADDRESSES in `add`.
            count: u64::try_from(self.count).unwrap_or(u64::MAX),
        }
    }
}

fn read_target_file(path: &Path, max_bytes: u64) -> Result<String, TargetError> {
    let io = |source| TargetError::FileRead {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::other("is a directory")));
    }
    if meta.len() > max_bytes {
        return Err(TargetError::FileTooLarge {
            path: path.to_path_buf(),
            limit: max_bytes,
        });
    }
    // Read at most one byte more than the cap: special files report no size.
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(TargetError::FileTooLarge {
            path: path.to_path_buf(),
            limit: max_bytes,
        });
    }
    if bytes.contains(&0) {
        return Err(TargetError::FileNotText {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|_| TargetError::FileNotText {
        path: path.to_path_buf(),
    })
}

/// An address in text form, in one allocation (`to_string` grows its buffer piece by
/// piece); a sweep makes one per target.
fn address_text(address: IpAddr) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(if address.is_ipv4() { 15 } else { 39 });
    let _ = write!(text, "{address}");
    text
}

/// One address to check, with the name the user gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The host name as given, or the address in text form.
    pub host: String,
    /// The address to probe.
    pub address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolved {
    One(Target),
    Block { first: IpAddr, last: IpAddr },
}

/// Targets with every name looked up; iterates lazily over the addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTargets {
    items: Arc<[Resolved]>,
    count: u64,
}

impl ResolvedTargets {
    /// Targets from addresses already known (no lookup needed).
    pub fn from_targets(targets: impl IntoIterator<Item = Target>) -> Self {
        let items: Vec<Resolved> = targets.into_iter().map(Resolved::One).collect();
        ResolvedTargets {
            count: items.len() as u64,
            items: items.into(),
        }
    }

    /// Number of addresses.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// A lazy iterator over the addresses, blocks expanded in order.
    pub fn iter(&self) -> TargetIter {
        TargetIter {
            items: Arc::clone(&self.items),
            idx: 0,
            next_in_block: None,
        }
    }
}

impl IntoIterator for &ResolvedTargets {
    type Item = Target;
    type IntoIter = TargetIter;
    fn into_iter(self) -> TargetIter {
        self.iter()
    }
}

/// Lazy iterator over [`ResolvedTargets`]; owns its data so it can move into a task.
#[derive(Debug, Clone)]
pub struct TargetIter {
    items: Arc<[Resolved]>,
    idx: usize,
    next_in_block: Option<u128>,
}

impl Iterator for TargetIter {
    type Item = Target;

    fn next(&mut self) -> Option<Target> {
        loop {
            let item = self.items.get(self.idx)?;
            match item {
                Resolved::One(t) => {
                    self.idx += 1;
                    return Some(t.clone());
                }
                Resolved::Block { first, last } => {
                    let cur = self.next_in_block.unwrap_or_else(|| addr::to_u128(*first));
                    if cur > addr::to_u128(*last) {
                        self.idx += 1;
                        self.next_in_block = None;
                        continue;
                    }
                    self.next_in_block = cur.checked_add(1);
                    if self.next_in_block.is_none() {
                        // The very last IPv6 address: finish the block after it.
                        self.idx += 1;
                    }
                    let address = addr::from_u128(cur, first.is_ipv4());
                    return Some(Target {
                        host: address_text(address),
                        address,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Result<TargetSpec, TargetError> {
        TargetSpec::parse(s)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn invalid_names_are_answered_without_a_resolver() {
        for n in ["host.invalid", "HOST.INVALID.", "invalid"] {
            assert!(is_reserved_invalid(n));
            assert!(matches!(
                resolve_name(n).await,
                Err(TargetError::Unresolvable { .. })
            ));
        }
        assert!(!is_reserved_invalid("invalid.example"));
    }

    #[test]
    fn addresses_and_names() {
        assert_eq!(
            one("10.0.0.1").unwrap(),
            TargetSpec::Address(ip("10.0.0.1"))
        );
        assert_eq!(one("::1").unwrap(), TargetSpec::Address(ip("::1")));
        assert_eq!(
            one("[2001:db8::5]").unwrap(),
            TargetSpec::Address(ip("2001:db8::5"))
        );
        assert_eq!(
            one("DC01.Example.TEST.").unwrap(),
            TargetSpec::Name("dc01.example.test".into())
        );
        assert_eq!(one("dc-01").unwrap(), TargetSpec::Name("dc-01".into()));
    }

    #[test]
    fn cidr_blocks() {
        let s = one("10.1.2.3/24").unwrap();
        assert_eq!(
            s,
            TargetSpec::Block {
                first: ip("10.1.2.0"),
                last: ip("10.1.2.255")
            }
        );
        assert_eq!(s.count(), 256);
        assert_eq!(one("10.0.0.7/32").unwrap().count(), 1);
        assert_eq!(one("2001:db8::/120").unwrap().count(), 256);
        assert_eq!(one("[2001:db8::]/126").unwrap().count(), 4);
    }

    #[test]
    fn ranges() {
        assert_eq!(one("10.0.0.1-20").unwrap().count(), 20);
        assert_eq!(one("10.0.0.1-10.0.0.20").unwrap().count(), 20);
        assert_eq!(one("10.0.0.250-10.0.1.5").unwrap().count(), 12);
        assert_eq!(one("2001:db8::1-2001:db8::20").unwrap().count(), 32);
        assert_eq!(one("2001:db8::1-ff").unwrap().count(), 255);
    }

    #[test]
    fn bad_specs_are_typed_errors() {
        assert!(matches!(one(""), Err(TargetError::Empty)));
        assert!(matches!(one("   "), Err(TargetError::Empty)));
        assert!(matches!(
            one("10.0.0.0/0"),
            Err(TargetError::WholeSpace { .. })
        ));
        assert!(matches!(one("::/0"), Err(TargetError::WholeSpace { .. })));
        assert!(matches!(
            one("10.0.0.0/33"),
            Err(TargetError::BadPrefix {
                prefix: 33,
                max: 32,
                ..
            })
        ));
        assert!(matches!(one("::/129"), Err(TargetError::BadPrefix { .. })));
        assert!(matches!(one("10.0.0.0/"), Err(TargetError::Invalid { .. })));
        assert!(matches!(
            one("10.0.0.0/x"),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(one("host/24"), Err(TargetError::Invalid { .. })));
        assert!(matches!(
            one("10.0.0.300"),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(one("1.2.3"), Err(TargetError::Invalid { .. })));
        assert!(matches!(one("fe80::zz"), Err(TargetError::Invalid { .. })));
        assert!(matches!(one("[::1"), Err(TargetError::Invalid { .. })));
        assert!(matches!(
            one("10.0.0.20-5"),
            Err(TargetError::BadRange { .. })
        ));
        assert!(matches!(
            one("10.0.0.20-10.0.0.5"),
            Err(TargetError::BadRange { .. })
        ));
        assert!(matches!(
            one("10.0.0.1-300"),
            Err(TargetError::BadRange { .. })
        ));
        assert!(matches!(
            one("10.0.0.1-::5"),
            Err(TargetError::BadRange { .. })
        ));
        assert!(matches!(
            one("10.0.0.1-"),
            Err(TargetError::BadRange { .. })
        ));
        assert!(matches!(one("bad host"), Err(TargetError::Invalid { .. })));
        assert!(matches!(one("-dash"), Err(TargetError::Invalid { .. })));
        assert!(matches!(one("a..b"), Err(TargetError::Invalid { .. })));
        assert!(matches!(
            one(&"a".repeat(64)),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(one("@file"), Err(TargetError::Invalid { .. })));
        // The offending text travels with the error.
        match one("10.0.0.300") {
            Err(TargetError::Invalid { spec, .. }) => assert_eq!(spec, "10.0.0.300"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn whole_space_ranges_are_refused_and_counts_never_overflow() {
        assert!(matches!(
            one("0.0.0.0-255.255.255.255"),
            Err(TargetError::WholeSpace { .. })
        ));
        assert!(matches!(
            one("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Err(TargetError::WholeSpace { .. })
        ));
        let almost = one("::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").unwrap();
        assert_eq!(almost.count(), u128::MAX);
        assert!(matches!(
            TargetSet::parse(&["::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], true),
            Err(TargetError::TooMany { .. })
        ));
    }

    #[test]
    fn large_sets_need_confirmation_by_counting() {
        // Counting only; nothing is expanded or sent.
        assert_eq!(
            TargetSet::parse(&["10.0.0.0/16"], false).unwrap().count(),
            65_536
        );
        assert!(matches!(
            TargetSet::parse(&["10.0.0.0/15"], false),
            Err(TargetError::NeedsConfirmation { count: 131_072, .. })
        ));
        assert!(matches!(
            TargetSet::parse(&["10.0.0.0/16", "10.1.0.0/32"], false),
            Err(TargetError::NeedsConfirmation { .. })
        ));
        assert_eq!(
            TargetSet::parse(&["10.0.0.0/15"], true).unwrap().count(),
            131_072
        );
        assert!(matches!(
            TargetSet::parse(&["10.0.0.0/7"], true),
            Err(TargetError::TooMany { .. })
        ));
        assert!(matches!(
            TargetSet::parse(&["2001:db8::/64"], true),
            Err(TargetError::TooMany { .. })
        ));
        assert!(matches!(
            TargetSet::parse(&["0.0.0.0/0"], true),
            Err(TargetError::WholeSpace { .. })
        ));
        let empty: [&str; 0] = [];
        assert!(matches!(
            TargetSet::parse(&empty, false),
            Err(TargetError::Empty)
        ));
    }

    #[test]
    fn commas_and_duplicates() {
        let set = TargetSet::parse(&["10.0.0.1,10.0.0.2", "10.0.0.1", "dc01"], false).unwrap();
        assert_eq!(set.count(), 3);
        assert!(set.has_names());
        assert!(matches!(
            TargetSet::parse(&["10.0.0.1,,10.0.0.2"], false),
            Err(TargetError::Empty)
        ));
    }

    fn temp_file(name: &str, content: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("portq-target-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn target_files() {
        let p = temp_file(
            "ok.txt",
            b"# domain controllers\n10.0.0.1\n\n  dc02.example.test  # second\n10.0.1.0/30, 10.0.2.1-3\n",
        );
        let set = TargetSet::parse(&[format!("@{}", p.display())], false).unwrap();
        assert_eq!(set.count(), 1 + 1 + 4 + 3);

        let p = temp_file("empty.txt", b"# only a comment\n\n   \n");
        assert!(matches!(
            TargetSet::parse(&[format!("@{}", p.display())], false),
            Err(TargetError::FileEmpty { .. })
        ));
        let p = temp_file("zero.txt", b"");
        assert!(matches!(
            TargetSet::parse(&[format!("@{}", p.display())], false),
            Err(TargetError::FileEmpty { .. })
        ));
        let p = temp_file("bin.dat", &[0x7f, b'E', b'L', b'F', 0, 1, 2]);
        assert!(matches!(
            TargetSet::parse(&[format!("@{}", p.display())], false),
            Err(TargetError::FileNotText { .. })
        ));
        let p = temp_file("latin1.txt", &[b'h', 0xe9, b'\n']);
        assert!(matches!(
            TargetSet::parse(&[format!("@{}", p.display())], false),
            Err(TargetError::FileNotText { .. })
        ));
        let p = temp_file("bad.txt", b"10.0.0.1\n10.0.0.999\n");
        match TargetSet::parse(&[format!("@{}", p.display())], false) {
            Err(TargetError::InFile { line, source, .. }) => {
                assert_eq!(line, 2);
                assert!(matches!(*source, TargetError::Invalid { .. }));
            }
            other => panic!("unexpected {other:?}"),
        }
        let p = temp_file("nested.txt", b"@other\n");
        assert!(matches!(
            TargetSet::parse(&[format!("@{}", p.display())], false),
            Err(TargetError::NestedFile { .. })
        ));
        let p = temp_file("big.txt", &vec![b'1'; 2048]);
        assert!(matches!(
            TargetSet::parse_with(
                &[format!("@{}", p.display())],
                TargetLimits {
                    allow_large: false,
                    max_file_bytes: 1024
                }
            ),
            Err(TargetError::FileTooLarge { .. })
        ));
        assert!(matches!(
            TargetSet::parse(&["@/nonexistent/portq/targets"], false),
            Err(TargetError::FileRead { .. })
        ));
        // An endless device: Unix only (Windows has no /dev/zero; the size and text
        // checks above run everywhere).
        #[cfg(unix)]
        assert!(matches!(
            TargetSet::parse(&["@/dev/zero"], false),
            Err(TargetError::FileTooLarge { .. } | TargetError::FileNotText { .. })
        ));
    }

    #[tokio::test]
    async fn lazy_iteration_expands_blocks_in_order() {
        let set = TargetSet::parse(&["10.0.0.254-10.0.1.1", "::1"], false).unwrap();
        let r = set.resolve().await.unwrap();
        let v: Vec<String> = r.iter().map(|t| t.host).collect();
        assert_eq!(
            v,
            ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1", "::1"]
        );
        assert_eq!(r.count(), 5);
        let set =
            TargetSet::parse(&["ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"], false).unwrap();
        let r = set.resolve().await.unwrap();
        assert_eq!(r.iter().count(), 2);
    }

    #[tokio::test]
    async fn localhost_resolves_from_the_hosts_file() {
        let set = TargetSet::parse(&["localhost"], false).unwrap();
        let r = set.resolve().await.unwrap();
        let t: Vec<Target> = r.iter().collect();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].host, "localhost");
        assert!(t[0].address.is_loopback());
    }
}
