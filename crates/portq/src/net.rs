//! What the two servers (the web console and the Prometheus exporter) share: the async
//! runtime, `--allow-target` parsing (the library's address grammar), a listener that
//! bounds connections and closes idle ones, and serving until a stop request.

use crate::exit::{Failure, Status};
use ipnet::IpNet;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Most `--allow-target` and `--allow-host` values.
pub const MAX_ALLOW: usize = 64;

/// The tokio runtime of the network commands (multi-threaded: the check engine runs a
/// lane per worker thread).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::runtime)
}

/// True when `ip` is in one of `nets` (an `--allow-target` screen; the library's
/// `AddressPolicy` applies the same test to resolved names at plan time).
pub fn allows(nets: &[IpNet], ip: std::net::IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}

/// Parses `--allow-target`-style lists: comma-separated and repeatable, each an address,
/// a CIDR block or a range (`portq_catalog::addr`, the grammar check targets and
/// `rules --from` take too).
pub fn parse_nets(list: &[String], what: &str) -> Result<Vec<IpNet>, Failure> {
    let items: Vec<&str> = list
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.len() > MAX_ALLOW {
        return Err(Failure::usage(format!(
            "too many {what} values (the limit is {MAX_ALLOW})"
        )));
    }
    let mut nets = Vec::new();
    for s in items {
        let parsed = portq_rules::addr::parse_item(s).ok_or_else(|| {
            Failure::usage(format!(
                "invalid {what} '{s}': expected an address, CIDR or range, e.g. 10.0.0.0/24"
            ))
        })?;
        nets.extend(parsed);
    }
    Ok(nets)
}

/// Serves `app` on `listener` (at most [`MAX_CONNECTIONS`] connections, idle ones
/// closed) until a stop request (Ctrl-C, SIGTERM, or the Windows console closing) comes
/// through `signals`; streams in progress get a short grace period. The console and the
/// exporter both stop this way. The caller installs `signals` before it announces its
/// address: a stop sent as soon as the address is known must find the handlers in place.
pub(crate) async fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<Arc<crate::tls::TlsServer>>,
    mut signals: crate::signals::Signals,
) -> Result<Status, Failure> {
    let stop = Arc::new(Notify::new());
    let stopped = Arc::clone(&stop);
    let shutdown = async move { stopped.notified().await };
    let server: Pin<Box<dyn std::future::Future<Output = io::Result<()>> + Send>> = match tls {
        None => Box::pin(std::future::IntoFuture::into_future(
            axum::serve(Limited::new(listener), app).with_graceful_shutdown(shutdown),
        )),
        Some(tls) => Box::pin(std::future::IntoFuture::into_future(
            axum::serve(TlsListener::new(listener, tls), app).with_graceful_shutdown(shutdown),
        )),
    };
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => {
            return result.map(|()| Status::Ok).map_err(|e| Failure::runtime(format!("server failed: {e}")));
        }
        _ = signals.recv() => {}
    }
    eprintln!("portq: stopping");
    stop.notify_one();
    // Streams in progress (a check) get a short grace period, then are cut.
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(Status::Ok)
}

/// Most connections open at once; further ones wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 128;
/// A connection with no traffic either way for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A TCP listener that holds at most [`MAX_CONNECTIONS`] connections open.
pub struct Limited {
    inner: TcpListener,
    slots: Arc<Semaphore>,
}

impl Limited {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> Self {
        Limited {
            inner,
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

impl axum::serve::Listener for Limited {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        // The semaphore is never closed, so acquiring only waits for a free slot.
        let permit = Arc::clone(&self.slots).acquire_owned().await.ok();
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let _ = io.set_nodelay(true);
        (
            Connection {
                io,
                _permit: permit,
                idle: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS listener: connections are accepted as by [`Limited`] (the same bound on open
/// connections), and their handshakes run side by side, so a client that never finishes
/// its handshake holds one slot for at most [`HANDSHAKE_TIMEOUT`] and delays nobody.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(
        Connection<tokio_rustls::server::TlsStream<TcpStream>>,
        SocketAddr,
    )>,
    local: io::Result<SocketAddr>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `inner`, with the configuration `tls` holds at each connection.
    pub fn new(inner: TcpListener, tls: Arc<crate::tls::TlsServer>) -> Self {
        let local = inner.local_addr();
        let (tx, ready) = tokio::sync::mpsc::channel(MAX_CONNECTIONS);
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut inner = inner;
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let (io, addr) = axum::serve::Listener::accept(&mut inner).await;
                let _ = io.set_nodelay(true);
                let config = tls.current();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let handshake = tokio_rustls::TlsAcceptor::from(config).accept(io);
                    // A failed or slow handshake (no client certificate, a wrong CA, an
                    // old version) just closes the connection.
                    if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await
                    {
                        let conn = Connection {
                            io: stream,
                            _permit: Some(permit),
                            idle: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
                        };
                        let _ = tx.send((conn, addr)).await;
                    }
                });
            }
        });
        TlsListener {
            ready,
            local,
            acceptor,
        }
    }
}

impl Drop for TlsListener {
    /// The accepting task goes with the listener (a server that stopped accepts nothing).
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = Connection<tokio_rustls::server::TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The acceptor task only ends with the runtime: wait for the shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.local {
            Ok(a) => Ok(*a),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

/// A connection that holds its slot and times out when idle.
pub struct Connection<IO = TcpStream> {
    io: IO,
    _permit: Option<OwnedSemaphorePermit>,
    idle: Pin<Box<Sleep>>,
}

impl<IO> Connection<IO> {
    fn touched(&mut self) {
        self.idle.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
    }

    /// After the inner I/O returned pending: an error once the idle time is over.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.idle.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle connection closed",
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Connection<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touched();
                Poll::Ready(r)
            }
            Poll::Pending => {
                this.check_idle(cx)?;
                Poll::Pending
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Connection<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.touched();
                Poll::Ready(r)
            }
            Poll::Pending => {
                this.check_idle(cx)?;
                Poll::Pending
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
