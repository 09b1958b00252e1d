//! Round-trip times per host, and the UDP silence windows they allow.
//!
//! A UDP port that says nothing is only known to be silent after some wait; waiting a
//! fixed second per attempt (PortQry's way) makes a role check last seconds on a LAN
//! where every answer comes back in a millisecond. As nmap does, the answers already
//! seen from the same host in the same run (TCP connects and resets, UDP replies and
//! port unreachables) set the wait: the smoothed round-trip time plus four times its
//! variation (RFC 6298's estimator), never under [`UDP_WINDOW_FLOOR`] and never over
//! the run's timeout. Only first-attempt answers are samples (Karn's rule: an answer
//! after a retry may belong to an earlier datagram).
//!
//! Short windows can only err towards silence: a reply or port unreachable that comes
//! after its window makes the port LISTENING OR FILTERED, never NOT LISTENING. Such a
//! late answer (one that arrives while a later attempt waits) marks the host: from then
//! on its windows are the full timeout, and the engine checks its silent ports again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The shortest UDP silence window: answers on a LAN come back in a millisecond, but a
/// busy daemon (a DNS server, a KDC) takes some of its own time to reply.
pub const UDP_WINDOW_FLOOR: Duration = Duration::from_millis(200);

/// How UDP attempts wait for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UdpWindows {
    /// From the round-trip times measured on the host in the same run (the default).
    #[default]
    Adaptive,
    /// The whole timeout for every attempt (`--patient`).
    Fixed,
}

/// The round-trip estimate of one host, shared by its probes.
#[derive(Debug, Default)]
pub(crate) struct HostRtt {
    estimate: Mutex<Estimate>,
    late: AtomicBool,
}

/// RFC 6298's state, in seconds.
#[derive(Debug, Default, Clone, Copy)]
struct Estimate {
    srtt: f64,
    rttvar: f64,
    samples: u32,
}

impl Estimate {
    fn add(&mut self, rtt: Duration) {
        let r = rtt.as_secs_f64();
        if self.samples == 0 {
            self.srtt = r;
            self.rttvar = r / 2.0;
        } else {
            self.rttvar = 0.75 * self.rttvar + 0.25 * (self.srtt - r).abs();
            self.srtt = 0.875 * self.srtt + 0.125 * r;
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// srtt + 4·rttvar within [floor, ceiling]; the ceiling before the first sample.
    fn window(&self, floor: Duration, ceiling: Duration) -> Duration {
        if self.samples == 0 {
            return ceiling;
        }
        let w = Duration::try_from_secs_f64(self.srtt + 4.0 * self.rttvar).unwrap_or(ceiling);
        w.clamp(floor.min(ceiling), ceiling)
    }
}

impl HostRtt {
    /// Adds a round-trip time measured on a first attempt.
    pub fn sample(&self, rtt: Duration) {
        self.lock().add(rtt);
    }

    /// The wait of one UDP attempt: the estimate's window, or `ceiling` once the host
    /// has answered late (or before anything was measured).
    pub fn window(&self, ceiling: Duration) -> Duration {
        if self.is_late() {
            return ceiling;
        }
        self.lock().window(UDP_WINDOW_FLOOR, ceiling)
    }

    /// Notes that an answer came after its window: the windows were too short here.
    pub fn mark_late(&self) {
        self.late.store(true, Ordering::Release);
    }

    /// True once an answer of this host came late.
    pub fn is_late(&self) -> bool {
        self.late.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Estimate> {
        // The estimate is plain numbers: a panic elsewhere leaves it usable.
        self.estimate.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn no_sample_means_the_whole_timeout() {
        assert_eq!(HostRtt::default().window(MS(1000)), MS(1000));
    }

    #[test]
    fn a_fast_lan_waits_the_floor_and_a_slow_path_waits_longer() {
        let lan = HostRtt::default();
        for _ in 0..5 {
            lan.sample(Duration::from_micros(300));
        }
        assert_eq!(lan.window(MS(1000)), UDP_WINDOW_FLOOR);
        let wan = HostRtt::default();
        for ms in [280, 320, 300, 310, 290] {
            wan.sample(MS(ms));
        }
        let w = wan.window(MS(1000));
        assert!(w > MS(300) && w < MS(1000), "{w:?}");
        // Never over the timeout, and never under the floor unless the timeout is.
        assert_eq!(wan.window(MS(250)), MS(250));
        assert_eq!(lan.window(MS(50)), MS(50));
    }

    #[test]
    fn jitter_widens_the_window() {
        let steady = HostRtt::default();
        let jittery = HostRtt::default();
        for i in 0..20u64 {
            steady.sample(MS(100));
            jittery.sample(MS(if i % 2 == 0 { 60 } else { 140 }));
        }
        assert!(jittery.window(MS(2000)) > steady.window(MS(2000)));
    }

    #[test]
    fn a_late_answer_restores_the_whole_timeout() {
        let h = HostRtt::default();
        h.sample(Duration::from_micros(200));
        assert_eq!(h.window(MS(1000)), UDP_WINDOW_FLOOR);
        h.mark_late();
        assert_eq!(h.window(MS(1000)), MS(1000));
    }
}
