//! NTP (RFC 5905): a 48-byte client request and a decoder of the server's reply.
//!
//! Windows Time (w32time) on domain controllers answers mode-3 requests of version 3
//! and 4; a reply may carry a 20-byte authenticator after the 48-byte header, which is
//! accepted and ignored.

use std::fmt;
use std::net::Ipv4Addr;

use crate::WireError;
use crate::reader::Reader;

/// Length of the NTP header without extensions or authenticator.
pub const PACKET_LEN: usize = 48;
/// Seconds from the NTP era 0 epoch (1900-01-01) to the Unix epoch.
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// A 64-bit NTP timestamp: seconds since 1900 in the high half, fraction in the low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Whole seconds field.
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Unix time in whole seconds, or `None` for the all-zero "unset" timestamp.
    ///
    /// Seconds values with the top bit clear are read as NTP era 1 (after 2036-02-07),
    /// as RFC 4330 suggests.
    pub fn unix_seconds(self) -> Option<i64> {
        if self.0 == 0 {
            return None;
        }
        let secs = i64::from(self.seconds());
        let era_base = if secs & 0x8000_0000 != 0 { 0 } else { 1 << 32 };
        Some(secs + era_base - NTP_UNIX_OFFSET)
    }
}

/// Leap indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leap {
    /// 0: no warning.
    NoWarning,
    /// 1: last minute of the day has 61 seconds.
    AddSecond,
    /// 2: last minute of the day has 59 seconds.
    DeleteSecond,
    /// 3: clock unsynchronized.
    Unsynchronized,
}

impl fmt::Display for Leap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Leap::NoWarning => "no warning",
            Leap::AddSecond => "leap second +1",
            Leap::DeleteSecond => "leap second -1",
            Leap::Unsynchronized => "unsynchronized",
        })
    }
}

/// Association mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 1: symmetric active.
    SymmetricActive,
    /// 2: symmetric passive.
    SymmetricPassive,
    /// 3: client.
    Client,
    /// 4: server.
    Server,
    /// 5: broadcast.
    Broadcast,
    /// 6: NTP control message.
    Control,
    /// 0 or 7: reserved / private.
    Other(u8),
}

impl Mode {
    fn from_bits(v: u8) -> Mode {
        match v {
            1 => Mode::SymmetricActive,
            2 => Mode::SymmetricPassive,
            3 => Mode::Client,
            4 => Mode::Server,
            5 => Mode::Broadcast,
            6 => Mode::Control,
            n => Mode::Other(n),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::SymmetricActive => f.write_str("symmetric active"),
            Mode::SymmetricPassive => f.write_str("symmetric passive"),
            Mode::Client => f.write_str("client"),
            Mode::Server => f.write_str("server"),
            Mode::Broadcast => f.write_str("broadcast"),
            Mode::Control => f.write_str("control"),
            Mode::Other(n) => write!(f, "mode {n}"),
        }
    }
}

/// The reference ID, interpreted according to the stratum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceId {
    /// Stratum 0: a kiss code such as `RATE` or `DENY`.
    Kiss(String),
    /// Stratum 1: the reference clock's ASCII name, such as `GPS` or `LOCL`.
    Source(String),
    /// Stratum 2 and above: the IPv4 address of the upstream server (or an IPv6 hash).
    Server(Ipv4Addr),
}

impl fmt::Display for ReferenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceId::Kiss(k) => write!(f, "kiss code {k}"),
            ReferenceId::Source(s) => f.write_str(s),
            ReferenceId::Server(a) => write!(f, "{a}"),
        }
    }
}

/// A decoded server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Leap indicator.
    pub leap: Leap,
    /// Protocol version (3 or 4 expected).
    pub version: u8,
    /// Mode (4 = server for a reply).
    pub mode: Mode,
    /// Stratum (0 kiss-o'-death, 1 primary, 2-15 secondary, 16 unsynchronized).
    pub stratum: u8,
    /// Poll exponent.
    pub poll: i8,
    /// Precision exponent.
    pub precision: i8,
    /// Root delay (NTP short format, 16.16 seconds).
    pub root_delay: u32,
    /// Root dispersion (NTP short format).
    pub root_dispersion: u32,
    /// Reference ID.
    pub reference_id: ReferenceId,
    /// Reference timestamp.
    pub reference: Timestamp,
    /// Origin timestamp (echo of the request's transmit timestamp).
    pub origin: Timestamp,
    /// Receive timestamp.
    pub receive: Timestamp,
    /// Transmit timestamp.
    pub transmit: Timestamp,
}

impl Reply {
    /// Evidence line, e.g. `NTPv3 server stratum 1 (LOCL), leap no warning, time 1700000000`.
    pub fn summary(&self) -> String {
        let time = self
            .transmit
            .unix_seconds()
            .map_or_else(|| "unset".to_string(), |t| t.to_string());
        format!(
            "NTPv{} {} stratum {} ({}), leap {}, unix time {}",
            self.version, self.mode, self.stratum, self.reference_id, self.leap, time
        )
    }
}

/// A mode-3 (client) request of the given version (3 or 4) whose transmit timestamp is
/// `transmit`; the server echoes it in the reply's origin timestamp.
pub fn client_request_version(version: u8, transmit: u64) -> Vec<u8> {
    let mut out = vec![0u8; PACKET_LEN];
    out[0] = ((version & 0x07) << 3) | 0x03;
    out[40..48].copy_from_slice(&transmit.to_be_bytes());
    out
}

/// An NTPv4 client request (see [`client_request_version`]).
pub fn client_request(transmit: u64) -> Vec<u8> {
    client_request_version(4, transmit)
}

fn ascii_id(id: [u8; 4]) -> String {
    id.iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Decodes a server reply (at least 48 bytes; anything after the header is ignored).
pub fn decode(buf: &[u8]) -> Result<Reply, WireError> {
    let mut r = Reader::new(buf);
    let first = r.u8("NTP flags")?;
    let version = (first >> 3) & 0x07;
    if version == 0 {
        return Err(WireError::invalid("NTP version", "0"));
    }
    let leap = match first >> 6 {
        0 => Leap::NoWarning,
        1 => Leap::AddSecond,
        2 => Leap::DeleteSecond,
        _ => Leap::Unsynchronized,
    };
    let mode = Mode::from_bits(first & 0x07);
    let stratum = r.u8("NTP stratum")?;
    let poll = r.u8("NTP poll")? as i8;
    let precision = r.u8("NTP precision")? as i8;
    let root_delay = r.u32_be("NTP root delay")?;
    let root_dispersion = r.u32_be("NTP root dispersion")?;
    let id = r.array::<4>("NTP reference ID")?;
    let reference_id = match stratum {
        0 => ReferenceId::Kiss(ascii_id(id)),
        1 => ReferenceId::Source(ascii_id(id)),
        _ => ReferenceId::Server(Ipv4Addr::from(id)),
    };
    Ok(Reply {
        leap,
        version,
        mode,
        stratum,
        poll,
        precision,
        root_delay,
        root_dispersion,
        reference_id,
        reference: Timestamp(r.u64_be("NTP reference timestamp")?),
        origin: Timestamp(r.u64_be("NTP origin timestamp")?),
        receive: Timestamp(r.u64_be("NTP receive timestamp")?),
        transmit: Timestamp(r.u64_be("NTP transmit timestamp")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2023-11-14 22:13:20 UTC = unix 1_700_000_000 = NTP 3_908_988_800.
    const NTP_SECS: u32 = 3_908_988_800;

    fn w32time_reply() -> Vec<u8> {
        let mut m = vec![
            0x1C, // LI 0, VN 3, mode 4
            0x01, // stratum 1
            0x07, // poll 2^7
            0xEC, // precision -20
        ];
        m.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // root delay
        m.extend_from_slice(&[0x00, 0x00, 0x0A, 0x5C]); // root dispersion
        m.extend_from_slice(b"LOCL"); // reference id
        m.extend_from_slice(&(u64::from(NTP_SECS - 60) << 32).to_be_bytes()); // reference
        m.extend_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes()); // origin (echo)
        m.extend_from_slice(&(u64::from(NTP_SECS) << 32 | 0x8000_0000).to_be_bytes()); // receive
        m.extend_from_slice(&(u64::from(NTP_SECS) << 32 | 0x8000_1000).to_be_bytes()); // transmit
        m
    }

    #[test]
    fn request_bytes() {
        let q = client_request(0x1122_3344_5566_7788);
        assert_eq!(q.len(), 48);
        assert_eq!(q[0], 0x23); // LI 0, VN 4, mode 3
        assert!(q[1..40].iter().all(|&b| b == 0));
        assert_eq!(&q[40..], &0x1122_3344_5566_7788u64.to_be_bytes());
        assert_eq!(client_request_version(3, 0)[0], 0x1B);
        let back = decode(&q).unwrap();
        assert_eq!(back.mode, Mode::Client);
        assert_eq!(back.version, 4);
        assert_eq!(back.transmit, Timestamp(0x1122_3344_5566_7788));
    }

    #[test]
    fn decodes_stratum_1_reply() {
        let r = decode(&w32time_reply()).unwrap();
        assert_eq!(r.leap, Leap::NoWarning);
        assert_eq!(r.version, 3);
        assert_eq!(r.mode, Mode::Server);
        assert_eq!(r.stratum, 1);
        assert_eq!(r.poll, 7);
        assert_eq!(r.precision, -20);
        assert_eq!(r.reference_id, ReferenceId::Source("LOCL".into()));
        assert_eq!(r.origin, Timestamp(0x1122_3344_5566_7788));
        assert_eq!(r.transmit.unix_seconds(), Some(1_700_000_000));
        assert_eq!(
            r.summary(),
            "NTPv3 server stratum 1 (LOCL), leap no warning, unix time 1700000000"
        );
    }

    #[test]
    fn other_strata_and_authenticator() {
        let mut m = w32time_reply();
        m[0] = 0xE4; // LI 3, VN 4, mode 4
        m[1] = 3;
        m[12..16].copy_from_slice(&[192, 0, 2, 1]);
        m.extend_from_slice(&[0u8; 20]); // key id + digest
        let r = decode(&m).unwrap();
        assert_eq!(r.leap, Leap::Unsynchronized);
        assert_eq!(
            r.reference_id,
            ReferenceId::Server(Ipv4Addr::new(192, 0, 2, 1))
        );
        m[1] = 0;
        m[12..16].copy_from_slice(b"RATE");
        assert_eq!(
            decode(&m).unwrap().reference_id.to_string(),
            "kiss code RATE"
        );
        assert_eq!(Timestamp(0).unix_seconds(), None);
        // era 1: seconds value 5 means 2036-02-07 06:28:21
        assert_eq!(Timestamp(5 << 32).unix_seconds(), Some(2_085_978_501));
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let m = w32time_reply();
        for i in 0..m.len() {
            assert!(decode(&m[..i]).is_err());
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(r) = decode(&buf) {
                let _ = r.summary();
            }
        }
    }
}
