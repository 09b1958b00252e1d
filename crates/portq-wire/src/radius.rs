//! RADIUS (RFC 2865): a stand-in Access-Request and a decoder of a server's reply header.
//!
//! portq holds no shared secret, so its request cannot be one a server accepts: a
//! RADIUS server answers it (Access-Reject, or a challenge) only when it takes requests
//! from this address, and silently drops it otherwise (RFC 2865, section 3: requests
//! from unknown clients are discarded). An answer proves a listener; silence proves
//! nothing.

use crate::WireError;
use crate::reader::Reader;

/// Length of the RADIUS header: code, identifier, length, authenticator.
pub const HEADER_LEN: usize = 20;
/// The longest RADIUS packet (RFC 2865).
pub const MAX_LEN: usize = 4096;

/// Access-Request.
pub const ACCESS_REQUEST: u8 = 1;

/// The name of a RADIUS packet code (RFC 2865, 2866, 5176).
pub fn code_name(code: u8) -> &'static str {
    match code {
        1 => "Access-Request",
        2 => "Access-Accept",
        3 => "Access-Reject",
        4 => "Accounting-Request",
        5 => "Accounting-Response",
        11 => "Access-Challenge",
        12 => "Status-Server",
        13 => "Status-Client",
        40 => "Disconnect-Request",
        41 => "Disconnect-ACK",
        42 => "Disconnect-NAK",
        43 => "CoA-Request",
        44 => "CoA-ACK",
        45 => "CoA-NAK",
        _ => "unknown",
    }
}

/// An Access-Request with `identifier` and `authenticator`, a User-Name and a
/// NAS-Identifier of portq's, and a User-Password attribute of 16 zero bytes (the field
/// a request must carry; without the shared secret it hides nothing).
pub fn access_request(identifier: u8, authenticator: [u8; 16], user: &str) -> Vec<u8> {
    let user = &user.as_bytes()[..user.len().min(64)];
    let mut attrs = Vec::new();
    let mut push = |kind: u8, value: &[u8]| {
        attrs.push(kind);
        attrs.push(u8::try_from(value.len() + 2).unwrap_or(u8::MAX));
        attrs.extend_from_slice(value);
    };
    push(1, user); // User-Name
    push(2, &[0u8; 16]); // User-Password
    push(32, b"portq"); // NAS-Identifier
    let len = HEADER_LEN + attrs.len();
    let mut out = Vec::with_capacity(len);
    out.push(ACCESS_REQUEST);
    out.push(identifier);
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&authenticator);
    out.extend_from_slice(&attrs);
    out
}

/// The header of a RADIUS packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Packet code (2 Access-Accept, 3 Access-Reject, 11 Access-Challenge, ...).
    pub code: u8,
    /// The identifier, which a reply copies from its request.
    pub identifier: u8,
    /// The length field: header and attributes.
    pub length: u16,
}

/// Reads a RADIUS packet's header and checks its length field against the datagram
/// (at least the header, at most [`MAX_LEN`] and the bytes received).
pub fn decode(buf: &[u8]) -> Result<Header, WireError> {
    let mut r = Reader::new(buf);
    let code = r.u8("RADIUS code")?;
    let identifier = r.u8("RADIUS identifier")?;
    let length = r.u16_be("RADIUS length")?;
    r.skip(16, "RADIUS authenticator")?;
    let len = usize::from(length);
    if !(HEADER_LEN..=MAX_LEN).contains(&len) || len > buf.len() {
        return Err(WireError::Unexpected {
            what: "RADIUS length",
            got: format!("{length} in a {}-byte datagram", buf.len()),
        });
    }
    Ok(Header {
        code,
        identifier,
        length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_shape() {
        let p = access_request(7, [9; 16], "portq-probe");
        assert_eq!(p[0], ACCESS_REQUEST);
        assert_eq!(p[1], 7);
        assert_eq!(usize::from(u16::from_be_bytes([p[2], p[3]])), p.len());
        assert_eq!(&p[4..20], &[9; 16]);
        // User-Name first, its length counting type and length bytes.
        assert_eq!(p[20], 1);
        assert_eq!(usize::from(p[21]), 2 + "portq-probe".len());
        let h = decode(&p).unwrap();
        assert_eq!((h.code, h.identifier), (1, 7));
    }

    #[test]
    fn replies_and_bad_lengths() {
        let mut reject = vec![3, 42, 0, 20];
        reject.extend([0; 16]);
        let h = decode(&reject).unwrap();
        assert_eq!(
            (h.code, h.identifier, code_name(h.code)),
            (3, 42, "Access-Reject")
        );
        let mut long = reject.clone();
        long[3] = 40; // says 40, has 20
        assert!(decode(&long).is_err());
        let mut short = reject.clone();
        short[3] = 19;
        assert!(decode(&short).is_err());
        assert!(decode(&reject[..19]).is_err());
        assert_eq!(code_name(200), "unknown");
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode(&buf);
        }
    }
}
