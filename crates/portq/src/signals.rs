//! Stop requests from the operating system, one home for every front end.
//!
//! Unix: SIGINT (Ctrl-C) and SIGTERM (`kill`, systemd, a container stop). Windows: Ctrl-C,
//! Ctrl-Break, the console window being closed, the user logging off and the system
//! shutting down. `check` treats the first request as "stop starting new probes and write
//! what was found" and a second as "stop at once"; `serve` and the exporter stop on the
//! first.

use std::task::{Context, Poll};

/// Why the process was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopRequest {
    /// Ctrl-C / SIGINT (Ctrl-Break on Windows).
    Interrupt,
    /// SIGTERM, or on Windows the console closing, log-off or shutdown.
    Terminate,
}

/// Listens for stop requests for as long as it lives. Creating it installs the handlers,
/// so the default "die at once" behaviour is replaced from that moment on.
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(windows)]
    windows: windows_events::Events,
}

impl Signals {
    /// Installs the handlers. One that cannot be installed is left out (its signal keeps the
    /// default behaviour); that never fails the command. Must run inside a Tokio runtime.
    pub(crate) fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(windows)]
        {
            Signals {
                windows: windows_events::Events::new(),
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            Signals {}
        }
    }

    /// Waits for the next stop request. Never returns when no handler could be installed.
    pub(crate) async fn recv(&mut self) -> StopRequest {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    #[cfg(unix)]
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<StopRequest> {
        if let Some(s) = self.interrupt.as_mut()
            && s.poll_recv(cx).is_ready()
        {
            return Poll::Ready(StopRequest::Interrupt);
        }
        if let Some(s) = self.terminate.as_mut()
            && s.poll_recv(cx).is_ready()
        {
            return Poll::Ready(StopRequest::Terminate);
        }
        Poll::Pending
    }

    #[cfg(windows)]
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<StopRequest> {
        self.windows.poll_recv(cx)
    }

    #[cfg(not(any(unix, windows)))]
    fn poll_recv(&mut self, _cx: &mut Context<'_>) -> Poll<StopRequest> {
        Poll::Pending
    }
}

#[cfg(windows)]
mod windows_events {
    //! The Windows console control events, through Tokio's wrappers.
    use super::StopRequest;
    use std::task::{Context, Poll};
    use tokio::signal::windows;

    pub(super) struct Events {
        ctrl_c: Option<windows::CtrlC>,
        ctrl_break: Option<windows::CtrlBreak>,
        close: Option<windows::CtrlClose>,
        logoff: Option<windows::CtrlLogoff>,
        shutdown: Option<windows::CtrlShutdown>,
    }

    impl Events {
        pub(super) fn new() -> Self {
            Events {
                ctrl_c: windows::ctrl_c().ok(),
                ctrl_break: windows::ctrl_break().ok(),
                close: windows::ctrl_close().ok(),
                logoff: windows::ctrl_logoff().ok(),
                shutdown: windows::ctrl_shutdown().ok(),
            }
        }

        pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<StopRequest> {
            let interrupt = [
                self.ctrl_c.as_mut().map(|s| s.poll_recv(cx).is_ready()),
                self.ctrl_break.as_mut().map(|s| s.poll_recv(cx).is_ready()),
            ];
            if interrupt.into_iter().flatten().any(|ready| ready) {
                return Poll::Ready(StopRequest::Interrupt);
            }
            let terminate = [
                self.close.as_mut().map(|s| s.poll_recv(cx).is_ready()),
                self.logoff.as_mut().map(|s| s.poll_recv(cx).is_ready()),
                self.shutdown.as_mut().map(|s| s.poll_recv(cx).is_ready()),
            ];
            if terminate.into_iter().flatten().any(|ready| ready) {
                return Poll::Ready(StopRequest::Terminate);
            }
            Poll::Pending
        }
    }
}
