//! Protocol towers (C706 Appendix L, [MS-RPCE] 2.2.1.1): the octet string inside a
//! `twr_t` that says how to reach an interface.
//!
//! A tower is a little-endian `u16` floor count followed by floors; each floor is a
//! little-endian `u16` LHS length, the LHS (whose first octet is the protocol
//! identifier), a little-endian `u16` RHS length and the RHS (address data). The
//! byte order of towers is fixed and does not follow the PDU's drep.
//!
//! Floors portq understands decode into typed [`Floor`] variants; anything else, and
//! any known protocol in an unexpected shape, is kept verbatim as [`Floor::Unknown`],
//! so `encode` reproduces the bytes that were decoded.

use std::net::Ipv4Addr;

use uuid::Uuid;

use crate::WireError;
use crate::dcerpc::{NDR_SYNTAX, SyntaxId};
use crate::reader::{Reader, check_cap};

/// Most floors a tower may have (real towers have 4 or 5).
pub const MAX_FLOORS: usize = 64;
/// Smallest possible floor: LHS length, protocol octet, RHS length.
const MIN_FLOOR_LEN: usize = 2 + 1 + 2;

/// Tower protocol identifiers (C706 Appendix I, [MS-RPCE] 2.1).
pub mod proto {
    /// DECnet NSP transport.
    pub const DNET_NSP: u8 = 0x04;
    /// TCP port (RHS: big-endian u16).
    pub const TCP: u8 = 0x07;
    /// UDP port (RHS: big-endian u16).
    pub const UDP: u8 = 0x08;
    /// IPv4 address (RHS: 4 octets).
    pub const IP: u8 = 0x09;
    /// Connectionless RPC (ncadg); RHS: minor version.
    pub const RPC_CL: u8 = 0x0a;
    /// Connection-oriented RPC (ncacn); RHS: minor version.
    pub const RPC_CO: u8 = 0x0b;
    /// Local RPC (ncalrpc); RHS: minor version. Also SPX as a transport floor.
    pub const NCALRPC: u8 = 0x0c;
    /// Interface or transfer-syntax UUID (LHS: UUID + major; RHS: minor).
    pub const UUID: u8 = 0x0d;
    /// IPX.
    pub const IPX: u8 = 0x0e;
    /// Named pipe over SMB (RHS: NUL-terminated pipe name).
    pub const NAMED_PIPE: u8 = 0x0f;
    /// Named pipe in some stacks, the LRPC endpoint name in Windows (RHS: string).
    pub const PIPE_OR_LRPC: u8 = 0x10;
    /// NetBIOS host name (RHS: NUL-terminated string).
    pub const NETBIOS: u8 = 0x11;
    /// NetBIOS session transport used by ncacn_nb_* towers.
    pub const NETBIOS_SESSION: u8 = 0x12;
    /// NetBEUI.
    pub const NETBEUI: u8 = 0x13;
    /// AppleTalk DSP.
    pub const APPLETALK_DSP: u8 = 0x16;
    /// AppleTalk DDP.
    pub const APPLETALK_DDP: u8 = 0x17;
    /// Banyan VINES SPP.
    pub const VINES_SPP: u8 = 0x1a;
    /// RPC over HTTP port (RHS: big-endian u16).
    pub const HTTP: u8 = 0x1f;
}

/// One tower floor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Floor {
    /// 0x0d: an interface or transfer syntax with its version.
    Uuid(SyntaxId),
    /// 0x0b: connection-oriented RPC, with the protocol minor version.
    RpcConnectionOriented {
        /// Minor version (RHS).
        minor: u16,
    },
    /// 0x0a: connectionless RPC, with the protocol minor version.
    RpcConnectionless {
        /// Minor version (RHS).
        minor: u16,
    },
    /// 0x0c: local RPC, with the protocol minor version.
    LocalRpc {
        /// Minor version (RHS).
        minor: u16,
    },
    /// 0x07: TCP port.
    Tcp(u16),
    /// 0x08: UDP port.
    Udp(u16),
    /// 0x1f: RPC over HTTP port.
    Http(u16),
    /// 0x09: IPv4 address.
    Ip(Ipv4Addr),
    /// 0x0f: named pipe name, e.g. `\PIPE\lsass` (terminator not included).
    NamedPipe(String),
    /// 0x10: named pipe or LRPC endpoint name (terminator not included).
    PipeOrLrpc(String),
    /// 0x11: NetBIOS host name (terminator not included).
    NetBios(String),
    /// Any other floor, or a known protocol in an unexpected shape, kept verbatim.
    /// `lhs` starts with the protocol identifier.
    Unknown {
        /// Left-hand side, protocol identifier first.
        lhs: Vec<u8>,
        /// Right-hand side.
        rhs: Vec<u8>,
    },
}

impl Floor {
    /// The protocol identifier (first LHS octet); 0 for an `Unknown` with empty LHS.
    pub fn protocol_id(&self) -> u8 {
        match self {
            Floor::Uuid(_) => proto::UUID,
            Floor::RpcConnectionOriented { .. } => proto::RPC_CO,
            Floor::RpcConnectionless { .. } => proto::RPC_CL,
            Floor::LocalRpc { .. } => proto::NCALRPC,
            Floor::Tcp(_) => proto::TCP,
            Floor::Udp(_) => proto::UDP,
            Floor::Http(_) => proto::HTTP,
            Floor::Ip(_) => proto::IP,
            Floor::NamedPipe(_) => proto::NAMED_PIPE,
            Floor::PipeOrLrpc(_) => proto::PIPE_OR_LRPC,
            Floor::NetBios(_) => proto::NETBIOS,
            Floor::Unknown { lhs, .. } => lhs.first().copied().unwrap_or(0),
        }
    }

    /// Interprets one floor's LHS and RHS.
    fn from_sides(lhs: &[u8], rhs: &[u8]) -> Result<Floor, WireError> {
        let Some((&id, lhs_data)) = lhs.split_first() else {
            return Err(WireError::invalid(
                "tower floor",
                "LHS is empty: no protocol identifier",
            ));
        };
        let typed = match (id, lhs_data.len()) {
            (proto::UUID, 18) => uuid_floor(lhs_data, rhs),
            (proto::RPC_CO, 0) => le_u16(rhs).map(|minor| Floor::RpcConnectionOriented { minor }),
            (proto::RPC_CL, 0) => le_u16(rhs).map(|minor| Floor::RpcConnectionless { minor }),
            (proto::NCALRPC, 0) => le_u16(rhs).map(|minor| Floor::LocalRpc { minor }),
            (proto::TCP, 0) => be_u16(rhs).map(Floor::Tcp),
            (proto::UDP, 0) => be_u16(rhs).map(Floor::Udp),
            (proto::HTTP, 0) => be_u16(rhs).map(Floor::Http),
            (proto::IP, 0) => <[u8; 4]>::try_from(rhs)
                .ok()
                .map(|a| Floor::Ip(Ipv4Addr::from(a))),
            (proto::NAMED_PIPE, 0) => c_string(rhs).map(Floor::NamedPipe),
            (proto::PIPE_OR_LRPC, 0) => c_string(rhs).map(Floor::PipeOrLrpc),
            (proto::NETBIOS, 0) => c_string(rhs).map(Floor::NetBios),
            _ => None,
        };
        Ok(typed.unwrap_or_else(|| Floor::Unknown {
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
        }))
    }

    /// Appends the floor's wire form (lengths are cut to what a u16 can say).
    fn encode_into(&self, out: &mut Vec<u8>) {
        let (lhs, rhs): (Vec<u8>, Vec<u8>) = match self {
            Floor::Uuid(s) => {
                let mut lhs = Vec::with_capacity(19);
                lhs.push(proto::UUID);
                lhs.extend_from_slice(&s.uuid.to_bytes_le());
                lhs.extend_from_slice(&s.major.to_le_bytes());
                (lhs, s.minor.to_le_bytes().to_vec())
            }
            Floor::RpcConnectionOriented { minor } => {
                (vec![proto::RPC_CO], minor.to_le_bytes().to_vec())
            }
            Floor::RpcConnectionless { minor } => {
                (vec![proto::RPC_CL], minor.to_le_bytes().to_vec())
            }
            Floor::LocalRpc { minor } => (vec![proto::NCALRPC], minor.to_le_bytes().to_vec()),
            Floor::Tcp(p) => (vec![proto::TCP], p.to_be_bytes().to_vec()),
            Floor::Udp(p) => (vec![proto::UDP], p.to_be_bytes().to_vec()),
            Floor::Http(p) => (vec![proto::HTTP], p.to_be_bytes().to_vec()),
            Floor::Ip(a) => (vec![proto::IP], a.octets().to_vec()),
            Floor::NamedPipe(s) => (vec![proto::NAMED_PIPE], nul_terminated(s)),
            Floor::PipeOrLrpc(s) => (vec![proto::PIPE_OR_LRPC], nul_terminated(s)),
            Floor::NetBios(s) => (vec![proto::NETBIOS], nul_terminated(s)),
            Floor::Unknown { lhs, rhs } => (lhs.clone(), rhs.clone()),
        };
        put_side(out, &lhs);
        put_side(out, &rhs);
    }
}

fn put_side(out: &mut Vec<u8>, side: &[u8]) {
    let len = side.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(side.get(..len).unwrap_or_default());
}

fn uuid_floor(lhs_data: &[u8], rhs: &[u8]) -> Option<Floor> {
    let (uuid_bytes, major) = lhs_data.split_first_chunk::<16>()?;
    let major = le_u16(major)?;
    let minor = le_u16(rhs)?;
    Some(Floor::Uuid(SyntaxId::new(
        Uuid::from_bytes_le(*uuid_bytes),
        major,
        minor,
    )))
}

fn le_u16(b: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(b).ok().map(u16::from_le_bytes)
}

fn be_u16(b: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(b).ok().map(u16::from_be_bytes)
}

/// A string floor in canonical form: UTF-8, one trailing NUL, no other NUL.
fn c_string(rhs: &[u8]) -> Option<String> {
    let (last, body) = rhs.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    String::from_utf8(body.to_vec()).ok()
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

/// Text of a non-canonical string floor: up to the first NUL, lossy.
fn lossy_text(rhs: &[u8]) -> String {
    let end = rhs.iter().position(|b| *b == 0).unwrap_or(rhs.len());
    String::from_utf8_lossy(rhs.get(..end).unwrap_or_default()).into_owned()
}

/// A decoded protocol tower.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Tower {
    /// The floors, top (interface) first.
    pub floors: Vec<Floor>,
}

impl Tower {
    /// Decodes a tower octet string. The floor count is checked against
    /// [`MAX_FLOORS`] and the bytes present, and every LHS/RHS length against the
    /// bytes present. Bytes after the last floor are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Tower, WireError> {
        let mut r = Reader::new(bytes);
        let count = usize::from(r.u16_le("tower floor_count")?);
        check_cap("tower floor_count", count, MAX_FLOORS)?;
        if count * MIN_FLOOR_LEN > r.remaining() {
            return Err(WireError::Truncated {
                what: "tower floors",
                needed: count * MIN_FLOOR_LEN,
                available: r.remaining(),
            });
        }
        let mut floors = Vec::with_capacity(count);
        for _ in 0..count {
            let lhs_len = usize::from(r.u16_le("floor lhs_length")?);
            let lhs = r.take(lhs_len, "floor lhs")?;
            let rhs_len = usize::from(r.u16_le("floor rhs_length")?);
            let rhs = r.take(rhs_len, "floor rhs")?;
            floors.push(Floor::from_sides(lhs, rhs)?);
        }
        Ok(Tower { floors })
    }

    /// Encodes the tower octet string (at most 65535 floors are written).
    pub fn encode(&self) -> Vec<u8> {
        let floors = self.floors.iter().take(usize::from(u16::MAX));
        let mut out = Vec::new();
        out.extend_from_slice(&(floors.len() as u16).to_le_bytes());
        for f in floors {
            f.encode_into(&mut out);
        }
        out
    }

    /// A five-floor ncacn_ip_tcp tower for `interface` at `addr:port` (NDR syntax).
    pub fn tcp(interface: SyntaxId, port: u16, addr: Ipv4Addr) -> Tower {
        Self::with_transport(
            interface,
            Floor::RpcConnectionOriented { minor: 0 },
            vec![Floor::Tcp(port), Floor::Ip(addr)],
        )
    }

    /// A five-floor ncadg_ip_udp tower.
    pub fn udp(interface: SyntaxId, port: u16, addr: Ipv4Addr) -> Tower {
        Self::with_transport(
            interface,
            Floor::RpcConnectionless { minor: 0 },
            vec![Floor::Udp(port), Floor::Ip(addr)],
        )
    }

    /// A five-floor ncacn_http tower.
    pub fn http(interface: SyntaxId, port: u16, addr: Ipv4Addr) -> Tower {
        Self::with_transport(
            interface,
            Floor::RpcConnectionOriented { minor: 0 },
            vec![Floor::Http(port), Floor::Ip(addr)],
        )
    }

    /// A five-floor ncacn_np tower (`pipe` like `\PIPE\lsass`, `host` like `\\DC01`).
    pub fn named_pipe(interface: SyntaxId, pipe: &str, host: &str) -> Tower {
        Self::with_transport(
            interface,
            Floor::RpcConnectionOriented { minor: 0 },
            vec![
                Floor::NamedPipe(pipe.to_owned()),
                Floor::NetBios(host.to_owned()),
            ],
        )
    }

    /// A four-floor ncalrpc tower for the LRPC endpoint `name`.
    pub fn ncalrpc(interface: SyntaxId, name: &str) -> Tower {
        Self::with_transport(
            interface,
            Floor::LocalRpc { minor: 0 },
            vec![Floor::PipeOrLrpc(name.to_owned())],
        )
    }

    fn with_transport(interface: SyntaxId, rpc: Floor, lower: Vec<Floor>) -> Tower {
        let mut floors = vec![Floor::Uuid(interface), Floor::Uuid(NDR_SYNTAX), rpc];
        floors.extend(lower);
        Tower { floors }
    }

    /// Floor 1: the interface UUID and version.
    pub fn interface(&self) -> Option<SyntaxId> {
        match self.floors.first()? {
            Floor::Uuid(s) => Some(*s),
            _ => None,
        }
    }

    /// Floor 2: the transfer syntax.
    pub fn transfer_syntax(&self) -> Option<SyntaxId> {
        match self.floors.get(1)? {
            Floor::Uuid(s) => Some(*s),
            _ => None,
        }
    }

    /// The protocol sequence (`ncacn_ip_tcp`, `ncadg_ip_udp`, `ncacn_np`, `ncalrpc`,
    /// `ncacn_http`, `ncacn_nb_tcp`, ...) from floors 3 to 5, when recognised.
    pub fn protseq(&self) -> Option<&'static str> {
        let rpc = self.floors.get(2)?.protocol_id();
        let transport = self.floors.get(3).map(Floor::protocol_id);
        let below = self.floors.get(4).map(Floor::protocol_id);
        let name = match (rpc, transport) {
            (proto::NCALRPC, _) => "ncalrpc",
            (proto::RPC_CO, Some(proto::TCP)) => "ncacn_ip_tcp",
            (proto::RPC_CO, Some(proto::NAMED_PIPE | proto::PIPE_OR_LRPC)) => "ncacn_np",
            (proto::RPC_CO, Some(proto::HTTP)) => "ncacn_http",
            (proto::RPC_CO, Some(proto::NETBIOS_SESSION)) => match below {
                Some(proto::IP) => "ncacn_nb_tcp",
                Some(proto::NETBEUI) => "ncacn_nb_nb",
                Some(proto::UUID | proto::IPX) => "ncacn_nb_ipx",
                _ => return None,
            },
            (proto::RPC_CO, Some(proto::NCALRPC)) => "ncacn_spx",
            (proto::RPC_CO, Some(proto::DNET_NSP)) => "ncacn_dnet_nsp",
            (proto::RPC_CO, Some(proto::APPLETALK_DSP)) => "ncacn_at_dsp",
            (proto::RPC_CO, Some(proto::VINES_SPP)) => "ncacn_vns_spp",
            (proto::RPC_CL, Some(proto::UDP)) => "ncadg_ip_udp",
            (proto::RPC_CL, Some(proto::IPX)) => "ncadg_ipx",
            (proto::RPC_CL, Some(proto::APPLETALK_DDP)) => "ncadg_at_ddp",
            _ => return None,
        };
        Some(name)
    }

    /// The endpoint from floor 4: a port number as text, a pipe name or an LRPC name.
    pub fn endpoint(&self) -> Option<String> {
        match self.floors.get(3)? {
            Floor::Tcp(p) | Floor::Udp(p) | Floor::Http(p) => Some(p.to_string()),
            Floor::NamedPipe(s) | Floor::PipeOrLrpc(s) | Floor::NetBios(s) => Some(s.clone()),
            Floor::Unknown { lhs, rhs } => match lhs.as_slice() {
                [proto::NAMED_PIPE | proto::PIPE_OR_LRPC | proto::NETBIOS, ..] => {
                    Some(lossy_text(rhs))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The TCP, UDP or HTTP port of floor 4.
    pub fn port(&self) -> Option<u16> {
        match self.floors.get(3)? {
            Floor::Tcp(p) | Floor::Udp(p) | Floor::Http(p) => Some(*p),
            _ => None,
        }
    }

    /// The first IPv4 address below floor 4.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.floors.iter().skip(4).find_map(|f| match f {
            Floor::Ip(a) => Some(*a),
            _ => None,
        })
    }

    /// The first NetBIOS host name below floor 4 (ncacn_np towers).
    pub fn host_name(&self) -> Option<String> {
        self.floors.iter().skip(4).find_map(|f| match f {
            Floor::NetBios(s) => Some(s.clone()),
            _ => None,
        })
    }

    /// A string binding such as `ncacn_ip_tcp:10.0.0.5[49667]`, `ncalrpc:[LRPC-1]` or
    /// `ncacn_np:\\HOST[\PIPE\lsass]`, when the protocol sequence is recognised.
    pub fn binding(&self) -> Option<String> {
        let protseq = self.protseq()?;
        let host = self
            .address()
            .map(|a| a.to_string())
            .or_else(|| self.host_name())
            .unwrap_or_default();
        let endpoint = self.endpoint().unwrap_or_default();
        Some(format!("{protseq}:{host}[{endpoint}]"))
    }
}
