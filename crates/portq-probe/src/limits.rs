//! Sizing the number of probes in flight from the process's open-file limit.
//!
//! Every probe in flight holds one socket, so on Unix the file-descriptor soft limit
//! bounds how many can run at once. The engine raises the soft limit to the hard limit
//! where the system allows it, keeps [`FD_RESERVE`] descriptors for everything else
//! (runtime, stdio, the resolver, TLS), and never runs more than
//! [`MAX_AUTO_CONCURRENCY`] probes at once unless asked to.
//!
//! Windows has no descriptor limit (sockets are kernel handles, about 16 million per
//! process), so there is nothing to raise: [`raise_fd_limit`] reports [`NO_FD_LIMIT`] and
//! the automatic concurrency is [`WINDOWS_AUTO_CONCURRENCY`]. What bounds a Windows scan
//! is the machine-wide dynamic port range (49152-65535 by default, 16,384 ports): every
//! TCP probe takes one ephemeral port, and a probe the client closes keeps it in
//! TIME_WAIT for up to two minutes. 1,024 probes in flight use a sixteenth of that range,
//! leaving the rest to the machine's own traffic and to the ports still in TIME_WAIT
//! from earlier probes; `--concurrency` still asks for more where that is wanted.

/// Descriptors kept free for the runtime, stdio, the resolver and the caller.
pub const FD_RESERVE: u64 = 64;
/// Upper bound of the automatic concurrency where descriptors are limited (Unix).
pub const MAX_AUTO_CONCURRENCY: usize = 4096;
/// The automatic concurrency on Windows, which has no descriptor limit (see the module
/// documentation for how it was chosen).
pub const WINDOWS_AUTO_CONCURRENCY: usize = 1024;
/// The limit reported where the platform has no open-file limit (Windows).
pub const NO_FD_LIMIT: u64 = u64::MAX;

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
/// a conservative 256 is assumed. Where there is no such limit (Windows) nothing is
/// raised and both are [`NO_FD_LIMIT`].
pub fn raise_fd_limit() -> FdLimit {
    #[cfg(unix)]
    {
        let (soft0, hard) = current();
        let soft = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(n) => n.min(hard),
            Err(_) => soft0,
        };
        FdLimit { soft, hard }
    }
    // Not `rlimit::increase_nofile_limit`: off Unix it returns the value it was given,
    // which once made every Windows scan run 4,096 probes at once.
    #[cfg(not(unix))]
    {
        current_fd_limit()
    }
}

/// The current soft and hard open-file limits (256/256 if they cannot be read;
/// [`NO_FD_LIMIT`] on Windows).
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
        (NO_FD_LIMIT, NO_FD_LIMIT)
    }
}

/// The automatic concurrency's upper bound on this platform: [`MAX_AUTO_CONCURRENCY`]
/// where descriptors are limited, [`WINDOWS_AUTO_CONCURRENCY`] on Windows.
pub const fn auto_concurrency_cap() -> usize {
    if cfg!(windows) {
        WINDOWS_AUTO_CONCURRENCY
    } else {
        MAX_AUTO_CONCURRENCY
    }
}

/// The probes that may run at once with this soft limit: `soft - FD_RESERVE`, at least
/// 1, at most [`MAX_AUTO_CONCURRENCY`].
pub fn fd_budget(soft: u64) -> usize {
    let budget = soft.saturating_sub(FD_RESERVE).max(1);
    usize::try_from(budget).unwrap_or(usize::MAX)
}

/// The concurrency to use: the caller's choice if given, else automatic (at most
/// [`auto_concurrency_cap`]); never above the descriptor budget.
pub fn effective_concurrency(requested: Option<usize>, limit: FdLimit) -> usize {
    concurrency_with_cap(requested, limit, auto_concurrency_cap())
}

/// [`effective_concurrency`] with the automatic upper bound given.
pub fn concurrency_with_cap(requested: Option<usize>, limit: FdLimit, cap: usize) -> usize {
    let budget = fd_budget(limit.soft);
    match requested {
        Some(n) => n.clamp(1, budget),
        None => budget.min(cap.max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_follows_the_limit() {
        let l = |soft| FdLimit { soft, hard: soft };
        let cap = MAX_AUTO_CONCURRENCY;
        assert_eq!(concurrency_with_cap(None, l(256), cap), 192);
        assert_eq!(concurrency_with_cap(None, l(1_048_576), cap), cap);
        assert_eq!(concurrency_with_cap(None, l(10), cap), 1);
        assert_eq!(concurrency_with_cap(Some(10_000), l(256), cap), 192);
        assert_eq!(concurrency_with_cap(Some(0), l(256), cap), 1);
        assert_eq!(concurrency_with_cap(Some(50), l(256), cap), 50);
    }

    #[test]
    fn no_descriptor_limit_uses_the_cap_and_honours_requests() {
        let none = FdLimit {
            soft: NO_FD_LIMIT,
            hard: NO_FD_LIMIT,
        };
        let cap = WINDOWS_AUTO_CONCURRENCY;
        assert_eq!(concurrency_with_cap(None, none, cap), cap);
        assert_eq!(concurrency_with_cap(Some(20_000), none, cap), 20_000);
        assert_eq!(concurrency_with_cap(Some(0), none, cap), 1);
    }

    #[test]
    fn raising_never_lowers() {
        let before = current_fd_limit();
        let after = raise_fd_limit();
        assert!(after.soft >= before.soft);
        assert!(after.soft <= after.hard, "{after:?}");
    }

    /// Issue 14: on Windows `rlimit::increase_nofile_limit` echoes its argument, so the
    /// limit read as u64::MAX over a hard limit of 2048 and every `check` without
    /// `--concurrency` ran 4,096 probes at once. Runs under Wine in CI.
    #[test]
    fn automatic_concurrency_on_this_platform() {
        let auto = effective_concurrency(None, raise_fd_limit());
        if cfg!(windows) {
            assert_eq!(auto, WINDOWS_AUTO_CONCURRENCY);
            assert_eq!(raise_fd_limit(), current_fd_limit());
        } else {
            let soft = current_fd_limit().soft;
            assert!(auto <= MAX_AUTO_CONCURRENCY);
            assert!(auto as u64 <= soft.saturating_sub(FD_RESERVE).max(1));
        }
    }
}
