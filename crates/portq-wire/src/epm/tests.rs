//! Hand-built towers and `ept_lookup` stubs, rejection cases and round-trip
//! properties.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::WireError;
use crate::dcerpc::{NDR_SYNTAX, SyntaxId};
use crate::ndr::{ContextHandle, IntRep};

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Floor 1 of an EPM tower: interface e1af8308-... v3.0.
const EPM_FLOOR: [u8; 25] = [
    19, 0,    // LHS length 19
    0x0d, // protocol: UUID
    0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, // UUID, little-endian fields...
    0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa, // ...clock_seq and node
    3, 0, // major version 3 (LE)
    2, 0, // RHS length 2
    0, 0, // minor version 0 (LE)
];

/// Floor 2: transfer syntax NDR 8a885d04-... v2.0.
const NDR_FLOOR: [u8; 25] = [
    19, 0,    // LHS length 19
    0x0d, // protocol: UUID
    0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, // UUID...
    0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, // ...
    2, 0, // major 2
    2, 0, // RHS length 2
    0, 0, // minor 0
];

/// ncacn_ip_tcp tower: EPM on 10.0.0.5:135.
fn tcp_tower_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0], // floor count 5
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0b, 2, 0, 0, 0],   // RPC connection-oriented, minor 0
        &[1, 0, 0x07, 2, 0, 0, 135], // TCP port 135 (big-endian)
        &[1, 0, 0x09, 4, 0, 10, 0, 0, 5], // IP 10.0.0.5
    ])
}

fn epm() -> SyntaxId {
    EPM_INTERFACE
}

#[test]
fn tcp_tower_vector() {
    let bytes = tcp_tower_bytes();
    assert_eq!(bytes.len(), 75);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(t, Tower::tcp(epm(), 135, Ipv4Addr::new(10, 0, 0, 5)));
    assert_eq!(t.encode(), bytes);
    assert_eq!(t.interface(), Some(epm()));
    assert_eq!(t.transfer_syntax(), Some(NDR_SYNTAX));
    assert_eq!(t.protseq(), Some("ncacn_ip_tcp"));
    assert_eq!(t.endpoint().as_deref(), Some("135"));
    assert_eq!(t.port(), Some(135));
    assert_eq!(t.address(), Some(Ipv4Addr::new(10, 0, 0, 5)));
    assert_eq!(t.binding().as_deref(), Some("ncacn_ip_tcp:10.0.0.5[135]"));
}

#[test]
fn udp_tower_vector() {
    let bytes = cat(&[
        &[5, 0],
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0a, 2, 0, 0, 0],           // RPC connectionless, minor 0
        &[1, 0, 0x08, 2, 0, 0xc0, 0x01],     // UDP port 49153
        &[1, 0, 0x09, 4, 0, 192, 168, 1, 2], // IP 192.168.1.2
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(t, Tower::udp(epm(), 49153, Ipv4Addr::new(192, 168, 1, 2)));
    assert_eq!(t.encode(), bytes);
    assert_eq!(t.protseq(), Some("ncadg_ip_udp"));
    assert_eq!(t.port(), Some(49153));
}

#[test]
fn http_tower_vector() {
    let bytes = cat(&[
        &[5, 0],
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0b, 2, 0, 0, 0],       // RPC connection-oriented
        &[1, 0, 0x1f, 2, 0, 0x02, 0x51], // HTTP port 593
        &[1, 0, 0x09, 4, 0, 0, 0, 0, 0], // IP 0.0.0.0
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(t, Tower::http(epm(), 593, Ipv4Addr::UNSPECIFIED));
    assert_eq!(t.encode(), bytes);
    assert_eq!(t.protseq(), Some("ncacn_http"));
    assert_eq!(t.endpoint().as_deref(), Some("593"));
}

#[test]
fn named_pipe_tower_vector() {
    let bytes = cat(&[
        &[5, 0],
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0b, 2, 0, 0, 0], // RPC connection-oriented
        &[1, 0, 0x0f, 12, 0],      // named pipe, RHS length 12
        b"\\PIPE\\lsass\0",
        &[1, 0, 0x11, 7, 0], // NetBIOS name, RHS length 7
        b"\\\\DC01\0",
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(t, Tower::named_pipe(epm(), "\\PIPE\\lsass", "\\\\DC01"));
    assert_eq!(t.encode(), bytes);
    assert_eq!(t.protseq(), Some("ncacn_np"));
    assert_eq!(t.endpoint().as_deref(), Some("\\PIPE\\lsass"));
    assert_eq!(t.host_name().as_deref(), Some("\\\\DC01"));
    assert_eq!(t.port(), None);
    assert_eq!(
        t.binding().as_deref(),
        Some("ncacn_np:\\\\DC01[\\PIPE\\lsass]")
    );
}

#[test]
fn ncalrpc_tower_vector() {
    let bytes = cat(&[
        &[4, 0],
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0c, 2, 0, 0, 0], // local RPC, minor 0
        &[1, 0, 0x10, 7, 0],       // LRPC endpoint, RHS length 7
        b"LRPC-1\0",
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(t, Tower::ncalrpc(epm(), "LRPC-1"));
    assert_eq!(t.encode(), bytes);
    assert_eq!(t.protseq(), Some("ncalrpc"));
    assert_eq!(t.endpoint().as_deref(), Some("LRPC-1"));
    assert_eq!(t.binding().as_deref(), Some("ncalrpc:[LRPC-1]"));
}

#[test]
fn pipe_floor_0x10_under_ncacn_is_a_named_pipe() {
    let bytes = cat(&[
        &[4, 0],
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0b, 2, 0, 0, 0],
        &[1, 0, 0x10, 10, 0],
        b"\\pipe\\epm\0",
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(t.floors[3], Floor::PipeOrLrpc("\\pipe\\epm".into()));
    assert_eq!(t.protseq(), Some("ncacn_np"));
}

#[test]
fn netbios_over_tcp_tower_vector() {
    let bytes = cat(&[
        &[5, 0],
        &EPM_FLOOR,
        &NDR_FLOOR,
        &[1, 0, 0x0b, 2, 0, 0, 0],        // RPC connection-oriented
        &[1, 0, 0x12, 1, 0, 135],         // NetBIOS session, 8-bit endpoint
        &[1, 0, 0x09, 4, 0, 10, 1, 1, 1], // IP 10.1.1.1
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert_eq!(
        t.floors[3],
        Floor::Unknown {
            lhs: vec![0x12],
            rhs: vec![135]
        }
    );
    assert_eq!(t.protseq(), Some("ncacn_nb_tcp"));
    assert_eq!(t.encode(), bytes);
}

#[test]
fn unknown_and_odd_floors_are_kept_verbatim() {
    let bytes = cat(&[
        &[4, 0],
        &[2, 0, 0x01, 0xaa, 3, 0, 1, 2, 3], // protocol 0x01 (OSI OID-ish), raw
        &[1, 0, 0x07, 3, 0, 0, 135, 9],     // TCP with a 3-byte RHS: not canonical
        &[1, 0, 0x0f, 3, 0, b'a', 0, b'b'], // pipe name with an interior NUL
        &[1, 0, 0x0d, 0, 0],                // UUID floor with no UUID
    ]);
    let t = Tower::decode(&bytes).unwrap();
    assert!(t.floors.iter().all(|f| matches!(f, Floor::Unknown { .. })));
    assert_eq!(t.floors[0].protocol_id(), 0x01);
    assert_eq!(t.encode(), bytes);
    assert_eq!(t.interface(), None);
    assert_eq!(t.protseq(), None);
    assert_eq!(t.binding(), None);
}

#[test]
fn tower_rejections() {
    // floor count 65535 with a handful of bytes
    assert!(Tower::decode(&[0xff, 0xff, 1, 0, 7, 2, 0, 0, 135]).is_err());
    // floor count within the cap but more than the bytes can hold
    assert!(matches!(
        Tower::decode(&[10, 0, 1, 0, 7, 2, 0, 0, 135]),
        Err(WireError::Truncated { .. })
    ));
    // LHS length beyond the bytes
    assert!(Tower::decode(&[1, 0, 200, 0, 7, 2, 0, 0, 135]).is_err());
    // RHS length beyond the bytes
    assert!(Tower::decode(&[1, 0, 1, 0, 7, 200, 0, 0, 135]).is_err());
    // empty LHS: no protocol identifier
    assert!(matches!(
        Tower::decode(&[1, 0, 0, 0, 2, 0, 0, 135]),
        Err(WireError::Invalid { .. })
    ));
    assert!(Tower::decode(&[]).is_err());
}

#[test]
fn tower_truncation_at_every_offset() {
    let bytes = tcp_tower_bytes();
    for n in 0..bytes.len() {
        assert!(Tower::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
}

// ---------------------------------------------------------------- ept_lookup

#[test]
fn lookup_request_vector() {
    let bytes = cat(&[
        &[0, 0, 0, 0],    // inquiry_type RPC_C_EP_ALL_ELTS
        &[0, 0, 0, 0],    // object: NULL pointer
        &[0, 0, 0, 0],    // interface_id: NULL pointer
        &[1, 0, 0, 0],    // vers_option RPC_C_VERS_ALL
        &[0; 20],         // entry_handle (context handle), all zero
        &[0xf4, 1, 0, 0], // max_ents 500
    ]);
    let req = LookupRequest::all(ContextHandle::NULL, 500);
    assert_eq!(req.encode(), bytes);
    assert_eq!(
        LookupRequest::decode(&bytes, IntRep::LittleEndian).unwrap(),
        req
    );
}

#[test]
fn lookup_request_with_filters_vector() {
    let iface = SyntaxId::new(
        Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
        1,
        2,
    );
    let bytes = cat(&[
        &[0, 0, 0, 0],                    // inquiry_type
        &[0, 0, 2, 0],                    // object: referent 0x00020000
        &[0; 16],                         // nil object UUID
        &[4, 0, 2, 0],                    // interface_id: referent 0x00020004
        &[4, 3, 2, 1, 6, 5, 8, 7],        // UUID time fields (LE)
        &[9, 10, 11, 12, 13, 14, 15, 16], // UUID clock_seq and node
        &[1, 0, 2, 0],                    // vers_major 1, vers_minor 2
        &[1, 0, 0, 0],                    // vers_option
        &[7; 20],                         // entry_handle
        &[10, 0, 0, 0],                   // max_ents 10
    ]);
    let req = LookupRequest {
        object: Some(Uuid::nil()),
        interface: Some(iface),
        ..LookupRequest::all(ContextHandle([7; 20]), 10)
    };
    assert_eq!(req.encode(), bytes);
    assert_eq!(
        LookupRequest::decode(&bytes, IntRep::LittleEndian).unwrap(),
        req
    );
}

const HANDLE: [u8; 20] = [
    0, 0, 0, 0, // attributes
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // uuid...
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01,
];

/// Two entries: one TCP tower with annotation "EPM", one ncalrpc tower without.
fn lookup_response_bytes() -> Vec<u8> {
    let lrpc_tower = Tower::ncalrpc(epm(), "LRPC-1").encode();
    assert_eq!(lrpc_tower.len(), 71);
    cat(&[
        &HANDLE,          // entry_handle
        &[2, 0, 0, 0],    // num_ents 2
        &[0xf4, 1, 0, 0], // entries: max_count 500
        &[0, 0, 0, 0],    // offset 0
        &[2, 0, 0, 0],    // actual_count 2
        // entry 1
        &[0; 16],      // object: nil UUID
        &[3, 0, 0, 0], // tower pointer: referent 3
        &[0, 0, 0, 0], // annotation offset 0
        &[4, 0, 0, 0], // annotation actual_count 4
        b"EPM\0",      // annotation bytes
        // entry 2
        &[0; 16],      // object
        &[4, 0, 0, 0], // tower pointer: referent 4
        &[0, 0, 0, 0], // annotation offset
        &[1, 0, 0, 0], // annotation actual_count 1
        &[0],          // "" + NUL
        &[0, 0, 0],    // pad to 4
        // deferred tower of entry 1
        &[75, 0, 0, 0],     // twr_t conformance (max_count) 75
        &[75, 0, 0, 0],     // tower_length 75
        &tcp_tower_bytes(), // tower_octet_string
        &[0],               // pad to 4
        // deferred tower of entry 2
        &[71, 0, 0, 0], // conformance 71
        &[71, 0, 0, 0], // tower_length 71
        &lrpc_tower,    // tower_octet_string
        &[0],           // pad to 4
        &[0, 0, 0, 0],  // status 0
    ])
}

fn lookup_response_value() -> LookupResponse {
    LookupResponse {
        entry_handle: ContextHandle(HANDLE),
        entries: vec![
            EptEntry {
                object: Uuid::nil(),
                tower: Some(Tower::tcp(epm(), 135, Ipv4Addr::new(10, 0, 0, 5))),
                annotation: "EPM".into(),
            },
            EptEntry {
                object: Uuid::nil(),
                tower: Some(Tower::ncalrpc(epm(), "LRPC-1")),
                annotation: String::new(),
            },
        ],
        status: 0,
    }
}

#[test]
fn lookup_response_vector() {
    let bytes = lookup_response_bytes();
    let decoded = LookupResponse::decode(&bytes, IntRep::LittleEndian).unwrap();
    assert_eq!(decoded, lookup_response_value());
    // Our encoder uses max_count = num_ents and MIDL-style referent ids, so compare
    // by decoding again rather than byte for byte.
    let again = lookup_response_value().encode();
    assert_eq!(
        LookupResponse::decode(&again, IntRep::LittleEndian).unwrap(),
        lookup_response_value()
    );
}

#[test]
fn lookup_response_not_registered_vector() {
    let bytes = cat(&[
        &[0; 20],                  // entry_handle: all zero
        &[0, 0, 0, 0],             // num_ents 0
        &[0xf4, 1, 0, 0],          // max_count 500
        &[0, 0, 0, 0],             // offset
        &[0, 0, 0, 0],             // actual_count 0
        &[0xd6, 0xa0, 0xc9, 0x16], // status ept_s_not_registered
    ]);
    let r = LookupResponse::decode(&bytes, IntRep::LittleEndian).unwrap();
    assert!(r.entries.is_empty());
    assert!(r.entry_handle.is_null());
    assert_eq!(r.status, EPT_S_NOT_REGISTERED);
}

#[test]
fn lookup_response_null_tower_and_aliased_referent() {
    let bytes = cat(&[
        &HANDLE,
        &[3, 0, 0, 0],                         // num_ents 3
        &[3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0], // max 3, offset 0, actual 3
        &[0; 16],
        &[0, 0, 0, 0],                         // entry 1: NULL tower
        &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], // annotation "" (1 byte) + pad
        &[0; 16],
        &[9, 0, 0, 0], // entry 2: referent 9
        &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        &[0; 16],
        &[9, 0, 0, 0], // entry 3: referent 9 again (full-pointer alias)
        &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        &[75, 0, 0, 0, 75, 0, 0, 0], // the one tower for referent 9
        &tcp_tower_bytes(),
        &[0],
        &[0, 0, 0, 0], // status
    ]);
    let r = LookupResponse::decode(&bytes, IntRep::LittleEndian).unwrap();
    assert_eq!(r.entries[0].tower, None);
    assert_eq!(r.entries[1].tower, r.entries[2].tower);
    assert_eq!(r.entries[1].tower.as_ref().unwrap().port(), Some(135));
}

#[test]
fn lookup_response_truncation_at_every_offset() {
    let bytes = lookup_response_bytes();
    for n in 0..bytes.len() {
        assert!(
            LookupResponse::decode(&bytes[..n], IntRep::LittleEndian).is_err(),
            "prefix {n}"
        );
    }
}

#[test]
fn lookup_response_rejections() {
    let good = lookup_response_bytes();

    // num_ents (and actual_count) far larger than the bytes present.
    let mut v = good.clone();
    v[20..24].copy_from_slice(&1000u32.to_le_bytes());
    v[24..28].copy_from_slice(&1000u32.to_le_bytes());
    v[32..36].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        LookupResponse::decode(&v, IntRep::LittleEndian),
        Err(WireError::Truncated { .. })
    ));

    // actual_count above the cap.
    let mut v = good.clone();
    v[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    v[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
    v[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        LookupResponse::decode(&v, IntRep::LittleEndian),
        Err(WireError::TooLarge { .. })
    ));

    // num_ents disagreeing with actual_count.
    let mut v = good.clone();
    v[20] = 1;
    assert!(matches!(
        LookupResponse::decode(&v, IntRep::LittleEndian),
        Err(WireError::Invalid {
            what: "num_ents",
            ..
        })
    ));

    // actual_count beyond max_count.
    let mut v = good.clone();
    v[24..28].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(
        LookupResponse::decode(&v, IntRep::LittleEndian),
        Err(WireError::Invalid {
            what: "entries",
            ..
        })
    ));

    // tower_length larger than the bytes (conformance and length both 60000).
    let tower_at = 36 + 28 + 4 + 28 + 4; // after the two inline entries
    let mut v = good.clone();
    v[tower_at..tower_at + 4].copy_from_slice(&6000u32.to_le_bytes());
    v[tower_at + 4..tower_at + 8].copy_from_slice(&6000u32.to_le_bytes());
    assert!(matches!(
        LookupResponse::decode(&v, IntRep::LittleEndian),
        Err(WireError::Truncated { .. })
    ));

    // tower_length above the cap.
    let mut v = good.clone();
    v[tower_at..tower_at + 4].copy_from_slice(&600_000u32.to_le_bytes());
    assert!(matches!(
        LookupResponse::decode(&v, IntRep::LittleEndian),
        Err(WireError::TooLarge { .. })
    ));

    // tower_length disagreeing with the conformance.
    let mut v = good.clone();
    v[tower_at + 4] = 74;
    assert!(LookupResponse::decode(&v, IntRep::LittleEndian).is_err());

    // annotation count beyond the bytes.
    let mut v = good.clone();
    v[36 + 24..36 + 28].copy_from_slice(&900u32.to_le_bytes());
    assert!(LookupResponse::decode(&v, IntRep::LittleEndian).is_err());

    // A tower whose floor count is 65535.
    let mut v = good;
    v[tower_at + 8] = 0xff;
    v[tower_at + 9] = 0xff;
    assert!(LookupResponse::decode(&v, IntRep::LittleEndian).is_err());
}

#[test]
fn big_endian_lookup_round_trip() {
    let value = lookup_response_value();
    let be = value.encode_with(IntRep::BigEndian);
    assert_ne!(be, value.encode());
    assert_eq!(
        LookupResponse::decode(&be, IntRep::BigEndian).unwrap(),
        value
    );
    let req = LookupRequest::all(ContextHandle([3; 20]), 77);
    assert_eq!(
        LookupRequest::decode(&req.encode_with(IntRep::BigEndian), IntRep::BigEndian).unwrap(),
        req
    );
}

#[test]
fn long_annotations_are_cut_to_the_idl_size() {
    let value = LookupResponse {
        entry_handle: ContextHandle::NULL,
        entries: vec![EptEntry {
            object: Uuid::nil(),
            tower: None,
            annotation: "é".repeat(40), // 80 bytes of UTF-8
        }],
        status: 0,
    };
    let decoded = LookupResponse::decode(&value.encode(), IntRep::LittleEndian).unwrap();
    assert_eq!(decoded.entries[0].annotation, "é".repeat(31));
}

// ---------------------------------------------------------------- properties

fn arb_syntax() -> impl Strategy<Value = SyntaxId> {
    (any::<[u8; 16]>(), any::<u16>(), any::<u16>())
        .prop_map(|(u, a, b)| SyntaxId::new(Uuid::from_bytes(u), a, b))
}

fn arb_text() -> impl Strategy<Value = String> {
    "[ -~]{0,40}"
}

fn arb_floor() -> impl Strategy<Value = Floor> {
    let unknown_ids = prop::sample::select(vec![
        0x00u8, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0e, 0x12, 0x13, 0x16, 0x17, 0x1a, 0x20, 0xff,
    ]);
    prop_oneof![
        arb_syntax().prop_map(Floor::Uuid),
        any::<u16>().prop_map(|minor| Floor::RpcConnectionOriented { minor }),
        any::<u16>().prop_map(|minor| Floor::RpcConnectionless { minor }),
        any::<u16>().prop_map(|minor| Floor::LocalRpc { minor }),
        any::<u16>().prop_map(Floor::Tcp),
        any::<u16>().prop_map(Floor::Udp),
        any::<u16>().prop_map(Floor::Http),
        any::<[u8; 4]>().prop_map(|a| Floor::Ip(Ipv4Addr::from(a))),
        arb_text().prop_map(Floor::NamedPipe),
        arb_text().prop_map(Floor::PipeOrLrpc),
        arb_text().prop_map(Floor::NetBios),
        (
            unknown_ids,
            prop::collection::vec(any::<u8>(), 0..6),
            prop::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(id, tail, rhs)| {
                let mut lhs = vec![id];
                lhs.extend(tail);
                Floor::Unknown { lhs, rhs }
            }),
    ]
}

fn arb_tower() -> impl Strategy<Value = Tower> {
    prop::collection::vec(arb_floor(), 0..8).prop_map(|floors| Tower { floors })
}

fn arb_entry() -> impl Strategy<Value = EptEntry> {
    (
        any::<[u8; 16]>(),
        prop::option::of(arb_tower()),
        "[ -~]{0,63}",
    )
        .prop_map(|(u, tower, annotation)| EptEntry {
            object: Uuid::from_bytes(u),
            tower,
            annotation,
        })
}

proptest! {
    #[test]
    fn tower_round_trip(t in arb_tower()) {
        prop_assert_eq!(Tower::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn lookup_response_round_trip(
        handle in any::<[u8; 20]>(),
        entries in prop::collection::vec(arb_entry(), 0..6),
        status in any::<u32>(),
        be in any::<bool>(),
    ) {
        let rep = if be { IntRep::BigEndian } else { IntRep::LittleEndian };
        let value = LookupResponse { entry_handle: ContextHandle(handle), entries, status };
        prop_assert_eq!(LookupResponse::decode(&value.encode_with(rep), rep).unwrap(), value);
    }

    #[test]
    fn lookup_request_round_trip(
        inquiry_type in any::<u32>(),
        object in prop::option::of(any::<[u8; 16]>()),
        interface in prop::option::of(arb_syntax()),
        vers_option in any::<u32>(),
        handle in any::<[u8; 20]>(),
        max_ents in any::<u32>(),
    ) {
        let value = LookupRequest {
            inquiry_type,
            object: object.map(Uuid::from_bytes),
            interface,
            vers_option,
            entry_handle: ContextHandle(handle),
            max_ents,
        };
        prop_assert_eq!(LookupRequest::decode(&value.encode(), IntRep::LittleEndian).unwrap(), value);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Tower::decode(&bytes);
        let _ = LookupResponse::decode(&bytes, IntRep::LittleEndian);
        let _ = LookupResponse::decode(&bytes, IntRep::BigEndian);
        let _ = LookupRequest::decode(&bytes, IntRep::LittleEndian);
    }

    #[test]
    fn mutated_responses_never_panic(idx in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut v = lookup_response_bytes();
        let i = idx.index(v.len());
        v[i] = byte;
        let _ = LookupResponse::decode(&v, IntRep::LittleEndian);
    }
}
