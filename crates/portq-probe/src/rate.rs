//! A global probe rate limit: at most `rate` packets (attempts) per second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Spaces attempts evenly at `1/rate` seconds; a burst of one.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
    /// Set when the run is stopped: waiting attempts give up, no new one is allowed.
    closed: AtomicBool,
    closing: Notify,
}

impl RateLimiter {
    /// A limiter for `per_second` attempts per second; `None` for 0 (no limit).
    pub(crate) fn new(per_second: u32) -> Option<Self> {
        if per_second == 0 {
            return None;
        }
        Some(RateLimiter {
            interval: Duration::from_secs(1) / per_second,
            next: Mutex::new(None),
            closed: AtomicBool::new(false),
            closing: Notify::new(),
        })
    }

    /// Waits for this attempt's turn.
    pub(crate) async fn acquire(&self) -> bool {
        let closing = self.closing.notified();
        tokio::pin!(closing);
        closing.as_mut().enable();
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let now = Instant::now();
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let at = match *next {
                Some(t) if t > now => t,
                _ => now,
            };
            *next = Some(at + self.interval);
            at
        };
        if at > now {
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = closing => return false,
            }
        }
        true
    }

    /// Stops handing out slots: attempts waiting for one (and every later one) are not
    /// made. A stopped check thus ends within one timeout, whatever the rate.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.closing.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_attempts_evenly() {
        let l = RateLimiter::new(10).unwrap();
        let start = Instant::now();
        for _ in 0..21 {
            l.acquire().await;
        }
        // 21 attempts at 10/s: the first is immediate, the last at 2 s.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert!(RateLimiter::new(0).is_none());
    }
}
