//! The TCP check: connect with a timeout, retried like PortQry.
//!
//! | what the connect does | state |
//! |---|---|
//! | accepted | listening |
//! | refused (RST) | not listening |
//! | no answer within the timeout, every attempt | filtered |
//! | host/network unreachable or prohibited (ICMP, no route or neighbour), local firewall | filtered, with [`Evidence::Unreachable`] (not retried: the path said no) |
//!
//! Running out of local resources (descriptors, ephemeral ports, buffers) is never
//! turned into a port state: the attempt waits and is made again, and gives up with a
//! [`LocalError`] only after [`RESOURCE_RETRY_BUDGET`].

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;

use crate::finding::{Evidence, PortState};
use crate::rate::RateLimiter;

/// How long a check keeps retrying when local resources run out.
pub const RESOURCE_RETRY_BUDGET: Duration = Duration::from_secs(30);

/// A failure on this machine, not an answer from the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct LocalError {
    /// What failed.
    pub message: String,
}

/// Why a check ended without a finding.
#[derive(Debug)]
pub(crate) enum Halt {
    /// A failure on this machine.
    Local(LocalError),
    /// The run was stopped before the check could make its next attempt.
    Stopped,
}

impl From<LocalError> for Halt {
    fn from(e: LocalError) -> Self {
        Halt::Local(e)
    }
}

/// An accepted connection: still a plain socket when the connect completed at once
/// (no event-loop registration needed), or already a tokio stream.
#[derive(Debug)]
pub(crate) enum Connection {
    /// Connected inside the `connect` call (loopback, a host on a local segment).
    Immediate(Socket),
    /// Connected after waiting on the event loop.
    Registered(TcpStream),
}

impl Connection {
    /// The connection as a tokio stream, for an application probe.
    pub(crate) fn into_stream(self) -> io::Result<TcpStream> {
        match self {
            Connection::Registered(s) => Ok(s),
            Connection::Immediate(s) => TcpStream::from_std(s.into()),
        }
    }

    /// Closes with a reset, like nmap's connect scan, so that a sweep leaves no
    /// TIME_WAIT sockets behind on either side. On Linux a socket that connected at once
    /// is dissolved instead and handed to `pool` for the next port.
    /// `reuse` is the pool and the address the socket is connected to.
    pub(crate) fn close_with_reset(self, reuse: Option<(&SocketPool, SocketAddr)>) {
        match self {
            Connection::Immediate(s) => {
                #[cfg(target_os = "linux")]
                if let Some((pool, peer)) = reuse
                    && crate::reuse::disconnect(&s).is_ok()
                {
                    pool.put(peer, s);
                    return;
                }
                #[cfg(not(target_os = "linux"))]
                let _ = reuse;
                let _ = s.set_linger(Some(Duration::ZERO));
            }
            Connection::Registered(s) => close_with_reset(s),
        }
    }
}

/// The result of the TCP check of one port.
#[derive(Debug)]
pub(crate) struct TcpOutcome {
    pub state: PortState,
    /// The connection, when the port is listening.
    pub connection: Option<Connection>,
    pub attempts: u8,
    pub evidence: Vec<Evidence>,
}

enum Attempt {
    Open(Connection),
    Refused,
    TimedOut,
    Unreachable(&'static str),
    Resource(io::Error),
    Other(io::Error),
}

/// Spare sockets, reused after a refused connect.
///
/// On Linux, a non-blocking socket whose connect was refused is disconnected by the
/// kernel when the error is collected with a second `connect`, and can connect again
/// (like after `connect(AF_UNSPEC)`). A sweep then costs two system calls per closed
/// port instead of four. Elsewhere the pool stays empty.
#[derive(Debug, Default)]
pub(crate) struct SocketPool {
    v4: Mutex<Vec<Socket>>,
    v6: Mutex<Vec<Socket>>,
}

/// Spare sockets kept per address family.
const POOL_MAX: usize = 4;

impl SocketPool {
    fn slot(&self, addr: SocketAddr) -> std::sync::MutexGuard<'_, Vec<Socket>> {
        let m = if addr.is_ipv4() { &self.v4 } else { &self.v6 };
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, addr: SocketAddr) -> Option<Socket> {
        self.slot(addr).pop()
    }

    fn put(&self, addr: SocketAddr, s: Socket) {
        let mut v = self.slot(addr);
        if v.len() < POOL_MAX {
            v.push(s);
        }
    }
}

/// The first attempt of a plain connect check, made without a task: see [`first_attempt`].
pub(crate) enum AtOnce {
    /// The connect completed or failed inside the call (loopback, a local segment).
    Done(TcpOutcome),
    /// The connect is under way: [`check`] goes on with this socket.
    Pending(Socket),
    /// Nothing was sent (out of descriptors, a reused socket in an odd state): run
    /// [`check`] from the start.
    Later,
}

/// Makes the first attempt of a plain connect check at once, without a rate limit or a
/// chosen source: on a local segment most ports answer inside the `connect` call, and
/// their check then needs no task of its own.
pub(crate) fn first_attempt(addr: SocketAddr, pool: &SocketPool) -> AtOnce {
    let socket = match pool.take(addr) {
        Some(s) => s,
        None => match new_socket(addr) {
            Ok(s) => s,
            Err(_) => return AtOnce::Later,
        },
    };
    let outcome = |state, connection, evidence| {
        AtOnce::Done(TcpOutcome {
            state,
            connection,
            attempts: 1,
            evidence,
        })
    };
    match connect_now(socket, addr, Some(pool)) {
        Now::Pending(socket) => AtOnce::Pending(socket),
        Now::Done(Attempt::Open(c)) => outcome(PortState::Listening, Some(c), vec![]),
        Now::Done(Attempt::Refused) => outcome(PortState::NotListening, None, vec![]),
        Now::Done(Attempt::Unreachable(reason)) => outcome(
            PortState::Filtered,
            None,
            vec![Evidence::Unreachable {
                reason: reason.to_string(),
            }],
        ),
        Now::Done(_) => AtOnce::Later,
    }
}

/// Checks one TCP port: up to `attempts` connects of `timeout.0` each, the last one
/// lasting until at least `timeout.1` after the first began. `first` is a socket whose
/// connect [`first_attempt`] started: the first attempt waits for it.
pub(crate) async fn check(
    addr: SocketAddr,
    (timeout, at_least): (Duration, Duration),
    attempts: u8,
    limiter: Option<&RateLimiter>,
    pool: Option<&SocketPool>,
    source: Option<SocketAddr>,
    mut first: Option<Socket>,
) -> Result<TcpOutcome, Halt> {
    // A socket bound to a chosen source is never handed back for reuse.
    let pool = if source.is_some() { None } else { pool };
    let attempts = attempts.max(1);
    let mut made: u8 = 0;
    let mut backoff = Backoff::new();
    let began = std::time::Instant::now();
    loop {
        let timeout = if made.saturating_add(1) >= attempts {
            timeout.max(at_least.saturating_sub(began.elapsed()))
        } else {
            timeout
        };
        let attempt = match first.take() {
            Some(socket) => wait_connected(socket, timeout).await,
            None => {
                if let Some(l) = limiter
                    && !l.acquire().await
                {
                    return Err(Halt::Stopped);
                }
                connect_once(addr, timeout, pool, source).await
            }
        };
        if let Attempt::Resource(e) = attempt {
            backoff.wait(&e).await?;
            continue;
        }
        made = made.saturating_add(1);
        let outcome = |state, connection, evidence| TcpOutcome {
            state,
            connection,
            attempts: made,
            evidence,
        };
        match attempt {
            Attempt::Open(c) => return Ok(outcome(PortState::Listening, Some(c), vec![])),
            Attempt::Refused => return Ok(outcome(PortState::NotListening, None, vec![])),
            Attempt::Unreachable(reason) => {
                return Ok(outcome(
                    PortState::Filtered,
                    None,
                    vec![Evidence::Unreachable {
                        reason: reason.to_string(),
                    }],
                ));
            }
            Attempt::Other(e) => {
                return Err(Halt::Local(LocalError {
                    message: format!("connect to {addr}: {e}"),
                }));
            }
            Attempt::TimedOut | Attempt::Resource(_) => {
                if made >= attempts {
                    return Ok(outcome(PortState::Filtered, None, vec![]));
                }
            }
        }
    }
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    let domain = Domain::for_address(addr);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        s.set_nonblocking(true)?;
        Ok(s)
    }
}

/// One connect. The non-blocking connect is checked for an answer right away, before
/// anything is registered with the event loop: towards loopback or a local segment
/// (a veth pair, a namespace) the SYN-ACK or RST has usually been processed by the time
/// `connect` returns, which saves most of the system calls of a sweep.
async fn connect_once(
    addr: SocketAddr,
    timeout: Duration,
    pool: Option<&SocketPool>,
    source: Option<SocketAddr>,
) -> Attempt {
    if let Some(socket) = pool.and_then(|p| p.take(addr)) {
        match connect_now(socket, addr, pool) {
            // A reused socket in an unexpected state: try again with a fresh one.
            Now::Done(Attempt::Other(_)) => {}
            Now::Done(a) => return a,
            Now::Pending(socket) => return wait_connected(socket, timeout).await,
        }
    }
    let socket = match new_socket(addr) {
        Ok(s) => s,
        Err(e) => return classify(e),
    };
    if let Some(src) = source {
        // PortQry's -sp: a chosen source port (and address, for multi-homed hosts).
        // Reusing the address lets the same source port connect again right after.
        let bound = socket
            .set_reuse_address(true)
            .and_then(|()| socket.bind(&src.into()));
        if let Err(e) = bound {
            return Attempt::Other(io::Error::new(
                e.kind(),
                format!("cannot use source {src}: {e}"),
            ));
        }
    }
    match connect_now(socket, addr, pool) {
        Now::Done(a) => a,
        Now::Pending(socket) => wait_connected(socket, timeout).await,
    }
}

enum Now {
    Done(Attempt),
    Pending(Socket),
}

/// Starts the connect and collects its result if it is already known.
fn connect_now(socket: Socket, addr: SocketAddr, pool: Option<&SocketPool>) -> Now {
    let target = addr.into();
    match socket.connect(&target) {
        Ok(()) => return Now::Done(Attempt::Open(Connection::Immediate(socket))),
        Err(e) if in_progress(&e) => {}
        Err(e) => return Now::Done(classify(e)),
    }
    if cfg!(any(target_os = "linux", target_os = "android")) {
        // A second connect reports the outcome: 0 when established, the error when it
        // failed (and then the socket is disconnected and reusable), EALREADY while the
        // handshake is still under way.
        match socket.connect(&target) {
            Ok(()) => Now::Done(Attempt::Open(Connection::Immediate(socket))),
            Err(e) if e.raw_os_error() == Some(EALREADY_LINUX) || in_progress(&e) => {
                Now::Pending(socket)
            }
            Err(e) if e.raw_os_error() == Some(EISCONN_LINUX) => {
                Now::Done(Attempt::Open(Connection::Immediate(socket)))
            }
            Err(e) => {
                let attempt = classify(e);
                if matches!(attempt, Attempt::Refused)
                    && let Some(p) = pool
                {
                    p.put(addr, socket);
                }
                Now::Done(attempt)
            }
        }
    } else if cfg!(windows) {
        // Windows reports the outcome to the event loop (AFD poll); SO_ERROR read while the
        // connect is under way is not an answer (under Wine it said "refused" for listening
        // loopback ports).
        Now::Pending(socket)
    } else {
        match socket.take_error() {
            Ok(Some(e)) | Err(e) => Now::Done(classify(e)),
            Ok(None) if socket.peer_addr().is_ok() => {
                Now::Done(Attempt::Open(Connection::Immediate(socket)))
            }
            Ok(None) => Now::Pending(socket),
        }
    }
}

const EALREADY_LINUX: i32 = 114;
const EISCONN_LINUX: i32 = 106;

/// Waits on the event loop for a connect under way.
async fn wait_connected(socket: Socket, timeout: Duration) -> Attempt {
    let stream = match TcpStream::from_std(socket.into()) {
        Ok(s) => s,
        Err(e) => return classify(e),
    };
    match tokio::time::timeout(timeout, stream.writable()).await {
        Err(_) => Attempt::TimedOut,
        Ok(Err(e)) => classify(e),
        Ok(Ok(())) => match stream.take_error() {
            Ok(Some(e)) | Err(e) => classify(e),
            Ok(None) => Attempt::Open(Connection::Registered(stream)),
        },
    }
}

/// True for "the non-blocking connect is under way".
fn in_progress(e: &io::Error) -> bool {
    let code = e.raw_os_error();
    if cfg!(any(target_os = "linux", target_os = "android")) {
        code == Some(115)
    } else if cfg!(windows) {
        e.kind() == io::ErrorKind::WouldBlock
    } else {
        code == Some(36)
    }
}

fn classify(e: io::Error) -> Attempt {
    use io::ErrorKind as K;
    if is_resource_exhaustion(&e) {
        return Attempt::Resource(e);
    }
    if let Some(reason) = crate::finding::unreachable_reason(&e) {
        return Attempt::Unreachable(reason);
    }
    match e.kind() {
        K::ConnectionRefused | K::ConnectionReset => Attempt::Refused,
        K::TimedOut => Attempt::TimedOut,
        _ => Attempt::Other(e),
    }
}

/// True for errors that mean "this machine is out of something": descriptors,
/// ephemeral ports, buffers, memory.
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    if matches!(
        e.kind(),
        K::OutOfMemory | K::AddrNotAvailable | K::AddrInUse
    ) {
        return true;
    }
    // EAGAIN from connect: no free local port (on Windows WouldBlock means "in progress").
    if e.kind() == K::WouldBlock && !cfg!(windows) {
        return true;
    }
    let Some(code) = e.raw_os_error() else {
        return false;
    };
    // EMFILE, ENFILE and ENOBUFS per platform (std has no ErrorKind for them).
    if cfg!(target_os = "linux") || cfg!(target_os = "android") {
        matches!(code, 23 | 24 | 105)
    } else if cfg!(windows) {
        matches!(code, 10024 | 10055)
    } else {
        matches!(code, 23 | 24 | 55)
    }
}

/// Exponential back-off while local resources are exhausted, bounded in total.
pub(crate) struct Backoff {
    delay: Duration,
    waited: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff {
            delay: Duration::from_millis(5),
            waited: Duration::ZERO,
        }
    }

    /// Sleeps before the next try, or gives up after [`RESOURCE_RETRY_BUDGET`].
    pub(crate) async fn wait(&mut self, e: &io::Error) -> Result<(), LocalError> {
        if self.waited >= RESOURCE_RETRY_BUDGET {
            return Err(LocalError {
                message: format!(
                    "local resources exhausted for {} s: {e}",
                    RESOURCE_RETRY_BUDGET.as_secs()
                ),
            });
        }
        tokio::time::sleep(self.delay).await;
        self.waited += self.delay;
        self.delay = (self.delay * 2).min(Duration::from_millis(250));
        Ok(())
    }
}

/// Closes a probe connection with a reset, like nmap's connect scan, so that a sweep
/// leaves no TIME_WAIT sockets behind on either side.
pub(crate) fn close_with_reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind as K;

    fn kind(e: io::Error) -> &'static str {
        match classify(e) {
            Attempt::Open(_) => "open",
            Attempt::Refused => "refused",
            Attempt::TimedOut => "timed out",
            Attempt::Unreachable(_) => "unreachable",
            Attempt::Resource(_) => "resource",
            Attempt::Other(_) => "other",
        }
    }

    #[test]
    fn errors_map_to_port_states_like_portqry() {
        assert_eq!(kind(K::ConnectionRefused.into()), "refused");
        assert_eq!(kind(K::ConnectionReset.into()), "refused");
        assert_eq!(kind(K::TimedOut.into()), "timed out");
        assert_eq!(kind(K::HostUnreachable.into()), "unreachable");
        assert_eq!(kind(K::NetworkUnreachable.into()), "unreachable");
        assert_eq!(kind(K::PermissionDenied.into()), "unreachable");
        assert_eq!(kind(K::AddrNotAvailable.into()), "resource");
        assert_eq!(kind(K::InvalidInput.into()), "other");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn descriptor_exhaustion_is_a_resource_error_not_an_answer() {
        for errno in [23, 24, 105, 11] {
            assert_eq!(
                kind(io::Error::from_raw_os_error(errno)),
                "resource",
                "{errno}"
            );
        }
        assert!(in_progress(&io::Error::from_raw_os_error(115)));
        assert!(!in_progress(&io::Error::from_raw_os_error(11)));
    }
}
