//! The UDP check: a protocol probe over a *connected* socket.
//!
//! Connecting the socket makes the kernel deliver ICMP errors for that peer to it,
//! so ICMP port unreachable surfaces as "connection refused" on send or receive.
//!
//! | what happens | state |
//! |---|---|
//! | a reply (decodable or not) | listening (an undecodable reply adds [`Evidence::Error`]) |
//! | ICMP port unreachable | not listening |
//! | other ICMP unreachable | filtered, with [`Evidence::Unreachable`] |
//! | silence after every attempt, service that always answers its probe | filtered |
//! | silence after every attempt, otherwise | listening or filtered |
//!
//! Note that hosts rate-limit ICMP errors (Linux: a burst of 6, then 1 per second per
//! source), so the engine keeps few UDP probes in flight per host and every port gets
//! all its attempts before silence is taken for an answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::finding::{Evidence, PortState};
use crate::probes::{ProbeContext, UdpProbe};
use crate::rate::RateLimiter;
use crate::rtt::HostRtt;
use crate::tcp::{Backoff, Halt, LocalError, is_resource_exhaustion};

/// The largest reply read; longer datagrams are cut (and then usually fail to decode).
pub const UDP_READ_CAP: usize = 8192;

/// The result of the UDP check of one port.
#[derive(Debug)]
pub(crate) struct UdpOutcome {
    pub state: PortState,
    pub attempts: u8,
    pub evidence: Vec<Evidence>,
    /// Silence concluded after at least one window shorter than the timeout: the engine
    /// may check the port again if the host turns out to answer late.
    pub tentative: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    Reply(usize),
    Refused,
    Silence,
    Unreachable(&'static str),
}

/// Checks one UDP port with `probe`: up to `attempts` sends, each waiting `timeout`,
/// or with `rtt` the host's adaptive window (see [`crate::rtt`]; the last attempt of a
/// probe that always answers still waits the whole timeout, as its silence is a verdict).
/// First-attempt answers feed `rtt`; an answer during a later attempt after a short
/// window marks the host late.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn check(
    addr: SocketAddr,
    probe: &dyn UdpProbe,
    ctx: &ProbeContext,
    timeout: Duration,
    attempts: u8,
    limiter: Option<&RateLimiter>,
    source: Option<SocketAddr>,
    rtt: Option<&HostRtt>,
) -> Result<UdpOutcome, Halt> {
    let attempts = attempts.max(1);
    let socket = open(addr, source).await?;
    let socket = match socket {
        Ok(s) => s,
        Err(reason) => {
            return Ok(UdpOutcome {
                state: PortState::Filtered,
                attempts: 1,
                evidence: vec![Evidence::Unreachable {
                    reason: reason.to_string(),
                }],
                tentative: false,
            });
        }
    };
    let request = probe.request(ctx);
    let mut buf = vec![0u8; UDP_READ_CAP];
    let mut made: u8 = 0;
    let mut backoff = Backoff::new();
    // With a single attempt no later one could notice a late answer: fixed windows.
    let rtt = rtt.filter(|_| attempts >= 2);
    // Whether an attempt so far waited less than the timeout.
    let mut shortened = false;
    while made < attempts {
        if let Some(l) = limiter
            && !l.acquire().await
        {
            return Err(Halt::Stopped);
        }
        let step = match socket.send(&request).await {
            Err(e) if is_resource_exhaustion(&e) => {
                backoff.wait(&e).await?;
                continue;
            }
            Err(e) => classify(&e, addr)?,
            Ok(_) => {
                made = made.saturating_add(1);
                let last = made >= attempts;
                let window = match rtt {
                    Some(r) if !(last && probe.always_answers()) => r.window(timeout),
                    _ => timeout,
                };
                let sent = std::time::Instant::now();
                let step = receive(&socket, &mut buf, window, addr).await?;
                if let Some(r) = rtt
                    && matches!(step, Step::Reply(_) | Step::Refused)
                {
                    if made == 1 {
                        r.sample(sent.elapsed());
                    } else if shortened {
                        // An answer while a later attempt waited: perhaps to an earlier
                        // datagram, after its short window.
                        r.mark_late();
                    }
                }
                shortened |= window < timeout;
                step
            }
        };
        let outcome = |state, evidence| UdpOutcome {
            state,
            attempts: made.max(1),
            evidence,
            tentative: false,
        };
        match step {
            Step::Reply(n) => {
                let reply = buf.get(..n).unwrap_or(&[]);
                let evidence = match probe.decode(reply, ctx) {
                    Ok(ev) => ev,
                    Err(e) => Evidence::error(
                        crate::finding::ProbeErrorKind::Decode,
                        format!("{n}-byte reply not understood as {}: {e}", probe.protocol()),
                    ),
                };
                return Ok(outcome(PortState::Listening, vec![evidence]));
            }
            Step::Refused => return Ok(outcome(PortState::NotListening, vec![])),
            Step::Unreachable(reason) => {
                return Ok(outcome(
                    PortState::Filtered,
                    vec![Evidence::Unreachable {
                        reason: reason.to_string(),
                    }],
                ));
            }
            Step::Silence => {}
        }
    }
    let state = if probe.always_answers() {
        PortState::Filtered
    } else {
        PortState::ListeningOrFiltered
    };
    Ok(UdpOutcome {
        state,
        attempts: made,
        evidence: vec![],
        tentative: shortened,
    })
}

/// Binds an ephemeral socket and connects it to `addr`; the inner error is a routing
/// failure (network unreachable) to report as the port's evidence.
async fn open(
    addr: SocketAddr,
    source: Option<SocketAddr>,
) -> Result<Result<UdpSocket, &'static str>, LocalError> {
    let local = match (source, addr.ip()) {
        (Some(src), _) => src,
        (None, IpAddr::V4(_)) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        (None, IpAddr::V6(_)) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let mut backoff = Backoff::new();
    let socket = loop {
        match UdpSocket::bind(local).await {
            Ok(s) => break s,
            Err(e) if is_resource_exhaustion(&e) => backoff.wait(&e).await?,
            Err(e) => {
                return Err(LocalError {
                    message: format!("UDP socket for {addr}: {e}"),
                });
            }
        }
    };
    loop {
        match socket.connect(addr).await {
            Ok(()) => return Ok(Ok(socket)),
            Err(e) if is_resource_exhaustion(&e) => backoff.wait(&e).await?,
            Err(e) => match classify(&e, addr)? {
                Step::Unreachable(r) => return Ok(Err(r)),
                _ => {
                    return Err(LocalError {
                        message: format!("UDP connect to {addr}: {e}"),
                    });
                }
            },
        }
    }
}

/// Waits up to `timeout` for a datagram or an ICMP error. Readiness without a datagram
/// is not trusted: it may be a pending socket error (Wine reports an ICMP port
/// unreachable that way and never lets `recv` return it) or a spurious wake-up. tokio's
/// `recv` retries such a wake-up inside one poll, without yielding, so a reactor that
/// keeps reporting it spins a worker at 100% CPU past every timeout (seen under Wine).
/// Here the pending error is read with `SO_ERROR`, the task yields, and the deadline
/// ends the wait.
async fn receive(
    socket: &UdpSocket,
    buf: &mut [u8],
    timeout: Duration,
    addr: SocketAddr,
) -> Result<Step, LocalError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut empty_wakeups: u32 = 0;
    loop {
        let ready = match tokio::time::timeout_at(deadline, socket.ready(WAKE_ON)).await {
            Err(_) => return Ok(Step::Silence),
            Ok(Err(e)) => return classify(&e, addr),
            Ok(Ok(ready)) => ready,
        };
        // An ICMP error alone (Linux: EPOLLERR without EPOLLIN) is not "readable".
        let received = if ready.is_readable() {
            socket.try_recv(buf)
        } else {
            Err(std::io::ErrorKind::WouldBlock.into())
        };
        match received {
            Ok(n) => return Ok(Step::Reply(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(pending)) = socket.take_error() {
                    return classify(&pending, addr);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Ok(Step::Silence);
                }
                empty_wakeups = empty_wakeups.saturating_add(1);
                if empty_wakeups > EMPTY_WAKEUPS_BEFORE_PAUSE {
                    tokio::time::sleep_until(
                        deadline.min(tokio::time::Instant::now() + EMPTY_WAKEUP_PAUSE),
                    )
                    .await;
                } else {
                    tokio::task::yield_now().await;
                }
            }
            Err(e) => return classify(&e, addr),
        }
    }
}

/// What wakes a receive: a datagram, or a socket error (an ICMP error for this peer).
const WAKE_ON: tokio::io::Interest = tokio::io::Interest::READABLE.add(tokio::io::Interest::ERROR);

/// Readable wake-ups without a datagram tolerated back to back before each further one
/// pauses for [`EMPTY_WAKEUP_PAUSE`] (bounds the CPU a misreporting reactor can take).
const EMPTY_WAKEUPS_BEFORE_PAUSE: u32 = 16;
const EMPTY_WAKEUP_PAUSE: Duration = Duration::from_millis(5);

fn classify(e: &std::io::Error, addr: SocketAddr) -> Result<Step, LocalError> {
    use std::io::ErrorKind as K;
    if let Some(reason) = crate::finding::unreachable_reason(e) {
        return Ok(Step::Unreachable(reason));
    }
    match e.kind() {
        K::ConnectionRefused => Ok(Step::Refused),
        // Windows reports an ICMP error of an earlier datagram as a reset.
        K::ConnectionReset => Ok(Step::Refused),
        _ => Err(LocalError {
            message: format!("UDP to {addr}: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    /// How the OS reports an ICMP error of an earlier datagram, as constructed errors:
    /// Linux and macOS say "connection refused"; Windows says WSAECONNRESET (10054),
    /// which Wine cannot produce (it relays Linux's ECONNREFUSED), so the Windows code
    /// itself is checked here, where it runs under Wine in CI.
    #[test]
    fn port_unreachable_is_refused_on_every_platform() {
        let addr: SocketAddr = "192.0.2.1:161".parse().unwrap();
        for kind in [ErrorKind::ConnectionRefused, ErrorKind::ConnectionReset] {
            assert_eq!(classify(&Error::from(kind), addr).unwrap(), Step::Refused);
        }
        #[cfg(windows)]
        {
            // WSAECONNRESET, as recv() returns it on Windows.
            let wsa = Error::from_raw_os_error(10054);
            assert_eq!(wsa.kind(), ErrorKind::ConnectionReset);
            assert_eq!(classify(&wsa, addr).unwrap(), Step::Refused);
        }
        #[cfg(target_os = "linux")]
        {
            let econnrefused = Error::from_raw_os_error(111);
            assert_eq!(classify(&econnrefused, addr).unwrap(), Step::Refused);
        }
        assert!(classify(&Error::from(ErrorKind::InvalidData), addr).is_err());
    }
}
