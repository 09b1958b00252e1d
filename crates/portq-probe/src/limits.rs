//! Sizing the number of probes in flight from the process's open-file limit.
//!
//! Every probe in flight holds one socket, so the file-descriptor soft limit bounds
//! how many can run at once. The engine raises the soft limit to the hard limit where
//! the system allows it, keeps [`FD_RESERVE`] descriptors for everything else
//! (runtime, stdio, the resolver, TLS), and never runs more than
//! [`MAX_AUTO_CONCURRENCY`] probes at once unless asked to.

/// Descriptors kept free for the runtime, stdio, the resolver and the caller.
pub const FD_RESERVE: u64 = 64;
/// Upper bound of the automatic concurrency.
pub const MAX_AUTO_CONCURRENCY: usize = 4096;

/// The open-file limits seen (and possibly raised) at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// Soft limit after the attempt to raise it.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard limit where allowed and returns both.
///
/// On failure the current limits are returned unchanged; if even those cannot be read,
/// a conservative 256 is assumed.
pub fn raise_fd_limit() -> FdLimit {
    let (soft0, hard) = current();
    let soft = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(_) => soft0,
    };
    FdLimit { soft, hard }
}

/// The current soft and hard open-file limits (256/256 if they cannot be read).
pub fn current_fd_limit() -> FdLimit {
    let (soft, hard) = current();
    FdLimit { soft, hard }
}

fn current() -> (u64, u64) {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((256, 256))
    }
    #[cfg(not(unix))]
    {
        (2048, 2048)
    }
}

/// The probes that may run at once with this soft limit: `soft - FD_RESERVE`, at least
/// 1, at most [`MAX_AUTO_CONCURRENCY`].
pub fn fd_budget(soft: u64) -> usize {
    let budget = soft.saturating_sub(FD_RESERVE).max(1);
    usize::try_from(budget).unwrap_or(usize::MAX)
}

/// The concurrency to use: the caller's choice if given, else automatic; never above
/// the descriptor budget.
pub fn effective_concurrency(requested: Option<usize>, limit: FdLimit) -> usize {
    let budget = fd_budget(limit.soft);
    match requested {
        Some(n) => n.clamp(1, budget),
        None => budget.min(MAX_AUTO_CONCURRENCY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_follows_the_limit() {
        let l = |soft| FdLimit { soft, hard: soft };
        assert_eq!(effective_concurrency(None, l(256)), 192);
        assert_eq!(
            effective_concurrency(None, l(1_048_576)),
            MAX_AUTO_CONCURRENCY
        );
        assert_eq!(effective_concurrency(None, l(10)), 1);
        assert_eq!(effective_concurrency(Some(10_000), l(256)), 192);
        assert_eq!(effective_concurrency(Some(0), l(256)), 1);
        assert_eq!(effective_concurrency(Some(50), l(256)), 50);
    }

    #[test]
    fn raising_never_lowers() {
        let before = current_fd_limit();
        let after = raise_fd_limit();
        assert!(after.soft >= before.soft);
        assert!(after.soft <= after.hard);
    }
}
