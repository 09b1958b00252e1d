//! The Linux OS module: dissolving a connected TCP socket so that it can connect again.
//!
//! `connect` with an `AF_UNSPEC` address resets an established connection (the peer gets
//! an RST, as when nmap's connect scan closes) and returns the socket to its unconnected
//! state, ready for the next port. A sweep that finds many open ports then costs two
//! system calls per open port instead of four (socket, connect, `SO_LINGER`, close).
//!
//! The only `unsafe` of portq-probe on Linux: socket2 builds an address of any family
//! other than IPv4/IPv6/Unix only through its unsafe `SockAddr::new`.
#![allow(unsafe_code)]

use socket2::{SockAddr, SockAddrStorage, Socket, sa_family_t, socklen_t};
use std::io;

/// Resets the connection of `socket` and leaves it unconnected and free of errors.
pub(crate) fn disconnect(socket: &Socket) -> io::Result<()> {
    let family_len = std::mem::size_of::<sa_family_t>() as socklen_t;
    // SAFETY: `SockAddr::new` requires the storage to be initialised up to `len` bytes;
    // it is all zeros (fully initialised), and a family of 0 is AF_UNSPEC.
    let unspec = unsafe { SockAddr::new(SockAddrStorage::zeroed(), family_len) };
    socket.connect(&unspec)?;
    // The reset leaves ECONNRESET pending on the socket: collect it now, so that it is
    // never mistaken for the outcome of the next connect.
    socket.take_error()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::disconnect;
    use socket2::{Domain, Socket, Type};
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn a_dissolved_socket_resets_the_peer_and_connects_again() {
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.connect(&open.local_addr().unwrap().into()).unwrap();
        let (mut peer, _) = open.accept().unwrap();
        disconnect(&s).unwrap();
        // The peer sees a reset, not an orderly end.
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1];
        let err = peer.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
        // The same socket answers the next ports right: refused, then accepted.
        let refused = s.connect(&closed_addr.into()).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        s.connect(&open.local_addr().unwrap().into()).unwrap();
        assert!(open.accept().is_ok());
        assert!(s.take_error().unwrap().is_none());
    }
}
