//! Hand-built vectors, truncation sweeps, rejection cases and round-trip properties
//! for the connection-oriented PDUs and the reassembler.

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::WireError;

/// EPM interface UUID e1af8308-5d1f-11c9-91a4-08002b14a0fa in NDR little-endian order.
const EPM_UUID_LE: [u8; 16] = [
    0x08, 0x83, 0xaf, 0xe1, // time_low
    0x1f, 0x5d, // time_mid
    0xc9, 0x11, // time_hi_and_version
    0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa, // clock_seq, node
];
/// NDR transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 in little-endian order.
const NDR_UUID_LE: [u8; 16] = [
    0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
];

fn epm() -> SyntaxId {
    SyntaxId::new(
        Uuid::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa),
        3,
        0,
    )
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn bind_bytes(ptype: u8) -> Vec<u8> {
    cat(&[
        &[5, 0],          // rpc_vers 5, rpc_vers_minor 0
        &[ptype],         // PTYPE: bind (11) or alter_context (14)
        &[0x03],          // pfc_flags: FIRST_FRAG | LAST_FRAG
        &[0x10, 0, 0, 0], // drep: little-endian, ASCII, IEEE
        &[72, 0],         // frag_length 72
        &[0, 0],          // auth_length 0
        &[1, 0, 0, 0],    // call_id 1
        &[0xb8, 0x10],    // max_xmit_frag 4280
        &[0xb8, 0x10],    // max_recv_frag 4280
        &[0, 0, 0, 0],    // assoc_group_id 0
        &[1, 0, 0, 0],    // n_context_elem 1, reserved, reserved2
        &[0, 0],          // p_cont_id 0
        &[1, 0],          // n_transfer_syn 1, reserved
        &EPM_UUID_LE,     // abstract syntax uuid
        &[3, 0, 0, 0],    // if_version: major 3, minor 0
        &NDR_UUID_LE,     // transfer syntax uuid
        &[2, 0, 0, 0],    // if_version: major 2, minor 0
    ])
}

fn bind_value() -> Bind {
    Bind::new(1, vec![PresentationContext::ndr(0, epm())])
}

fn bind_ack_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 12, 0x03],         // v5.0, bind_ack, FIRST|LAST
        &[0x10, 0, 0, 0],          // drep LE
        &[60, 0],                  // frag_length 60
        &[0, 0],                   // auth_length 0
        &[1, 0, 0, 0],             // call_id 1
        &[0xb8, 0x10, 0xb8, 0x10], // max_xmit_frag, max_recv_frag 4280
        &[0xf0, 0x53, 0, 0],       // assoc_group_id 0x53f0
        &[4, 0],                   // sec_addr.length 4
        b"135\0",                  // sec_addr.port_spec
        &[0, 0],                   // pad to a 4-byte boundary (offset 30 -> 32)
        &[1, 0, 0, 0],             // n_results 1, reserved
        &[0, 0],                   // result: acceptance
        &[0, 0],                   // reason: not specified
        &NDR_UUID_LE,              // chosen transfer syntax
        &[2, 0, 0, 0],             // version 2.0
    ])
}

fn bind_ack_value() -> BindAck {
    BindAck {
        call_id: 1,
        pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
        drep: DataRep::LITTLE_ENDIAN,
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x53f0,
        secondary_address: b"135\0".to_vec(),
        results: vec![ContextResult::accept(NDR_SYNTAX)],
    }
}

fn alter_context_resp_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 15, 0x03],         // v5.0, alter_context_resp, FIRST|LAST
        &[0x10, 0, 0, 0],          // drep LE
        &[56, 0, 0, 0],            // frag_length 56, auth_length 0
        &[2, 0, 0, 0],             // call_id 2
        &[0xb8, 0x10, 0xb8, 0x10], // frag sizes
        &[0xf0, 0x53, 0, 0],       // assoc_group_id
        &[0, 0],                   // sec_addr.length 0 (empty)
        &[0, 0],                   // pad (offset 26 -> 28)
        &[1, 0, 0, 0],             // n_results 1
        &[2, 0],                   // result: provider_rejection
        &[1, 0],                   // reason: abstract_syntax_not_supported
        &[0; 20],                  // transfer syntax: nil UUID, version 0
    ])
}

fn bind_nak_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 13, 0x03], // v5.0, bind_nak, FIRST|LAST
        &[0x10, 0, 0, 0],  // drep LE
        &[21, 0, 0, 0],    // frag_length 21, auth_length 0
        &[1, 0, 0, 0],     // call_id 1
        &[4, 0],           // provider_reject_reason: protocol_version_not_supported
        &[1],              // n_protocols 1
        &[5, 0],           // version 5.0
    ])
}

/// The `ept_lookup` request portq sends first.
fn request_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 0, 0x03], // v5.0, request, FIRST|LAST
        &[0x10, 0, 0, 0], // drep LE
        &[64, 0, 0, 0],   // frag_length 64, auth_length 0
        &[2, 0, 0, 0],    // call_id 2
        &[40, 0, 0, 0],   // alloc_hint 40
        &[0, 0],          // p_cont_id 0
        &[2, 0],          // opnum 2 (ept_lookup)
        // stub:
        &[0, 0, 0, 0],       // inquiry_type RPC_C_EP_ALL_ELTS
        &[0, 0, 0, 0],       // object: NULL
        &[0, 0, 0, 0],       // interface_id: NULL
        &[1, 0, 0, 0],       // vers_option RPC_C_VERS_ALL
        &[0; 20],            // entry_handle: all zero
        &[0xf4, 0x01, 0, 0], // max_ents 500
    ])
}

fn request_object_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 0, 0x83],          // v5.0, request, FIRST|LAST|OBJECT_UUID
        &[0x10, 0, 0, 0],          // drep LE
        &[44, 0, 0, 0],            // frag_length 44, auth_length 0
        &[9, 0, 0, 0],             // call_id 9
        &[4, 0, 0, 0],             // alloc_hint 4
        &[1, 0],                   // p_cont_id 1
        &[7, 0],                   // opnum 7
        &EPM_UUID_LE,              // object UUID
        &[0xde, 0xad, 0xbe, 0xef], // stub
    ])
}

fn response_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 2, 0x03],          // v5.0, response, FIRST|LAST
        &[0x10, 0, 0, 0],          // drep LE
        &[32, 0, 0, 0],            // frag_length 32, auth_length 0
        &[2, 0, 0, 0],             // call_id 2
        &[8, 0, 0, 0],             // alloc_hint 8
        &[0, 0],                   // p_cont_id 0
        &[0],                      // cancel_count 0
        &[0],                      // reserved
        &[1, 2, 3, 4, 5, 6, 7, 8], // stub
    ])
}

fn fault_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 3, 0x23],          // v5.0, fault, FIRST|LAST|DID_NOT_EXECUTE
        &[0x10, 0, 0, 0],          // drep LE
        &[32, 0, 0, 0],            // frag_length 32, auth_length 0
        &[2, 0, 0, 0],             // call_id 2
        &[0, 0, 0, 0],             // alloc_hint 0
        &[0, 0],                   // p_cont_id 0
        &[0],                      // cancel_count
        &[0],                      // flags / reserved
        &[0x02, 0x00, 0x01, 0x1c], // status nca_s_op_rng_error 0x1c010002
        &[0, 0, 0, 0],             // reserved
    ])
}

fn big_endian_response_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 2, 0x03],          // v5.0, response, FIRST|LAST
        &[0x00, 0, 0, 0],          // drep: big-endian integers
        &[0, 32],                  // frag_length 32, big-endian
        &[0, 0],                   // auth_length 0
        &[0, 0, 0, 2],             // call_id 2, big-endian
        &[0, 0, 0, 8],             // alloc_hint 8
        &[0, 1],                   // p_cont_id 1
        &[0, 0],                   // cancel_count, reserved
        &[1, 2, 3, 4, 5, 6, 7, 8], // stub
    ])
}

fn big_endian_bind_ack_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 12, 0x03],         // v5.0, bind_ack, FIRST|LAST
        &[0x00, 0, 0, 0],          // drep: big-endian
        &[0, 60, 0, 0],            // frag_length 60, auth_length 0
        &[0, 0, 0, 1],             // call_id 1
        &[0x10, 0xb8, 0x10, 0xb8], // frag sizes 4280
        &[0, 0, 0x53, 0xf0],       // assoc_group_id 0x53f0
        &[0, 4],                   // sec_addr.length 4
        b"135\0",                  // port spec
        &[0, 0],                   // pad
        &[1, 0, 0, 0],             // n_results 1
        &[0, 0, 0, 0],             // acceptance, reason 0
        // NDR uuid with big-endian time fields
        &[0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb, 0x11, 0xc9],
        &[0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60],
        &[0, 0, 0, 2], // version 2.0 (major in the low half)
    ])
}

/// A request carrying an 8-byte sec_trailer and a 16-byte auth_value.
fn request_with_auth_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 0, 0x03],          // v5.0, request, FIRST|LAST
        &[0x10, 0, 0, 0],          // drep LE
        &[56, 0],                  // frag_length 56
        &[16, 0],                  // auth_length 16
        &[3, 0, 0, 0],             // call_id 3
        &[4, 0, 0, 0],             // alloc_hint 4
        &[0, 0, 1, 0],             // p_cont_id 0, opnum 1
        &[0xaa, 0xbb, 0xcc, 0xdd], // stub
        &[0, 0, 0, 0],             // auth padding (4 bytes)
        &[10, 6, 4, 0],            // sec_trailer: NTLM, privacy, pad length 4, reserved
        &[0, 0, 0, 0],             // auth_context_id
        &[0x11; 16],               // auth_value
    ])
}

fn shutdown_bytes() -> Vec<u8> {
    cat(&[
        &[5, 0, 17, 0x03], // v5.0, shutdown, FIRST|LAST
        &[0x10, 0, 0, 0],  // drep LE
        &[16, 0, 0, 0],    // frag_length 16, auth_length 0
        &[0, 0, 0, 0],     // call_id 0
    ])
}

fn all_vectors() -> Vec<Vec<u8>> {
    vec![
        bind_bytes(11),
        bind_bytes(14),
        bind_ack_bytes(),
        alter_context_resp_bytes(),
        bind_nak_bytes(),
        request_bytes(),
        request_object_bytes(),
        response_bytes(),
        fault_bytes(),
        big_endian_response_bytes(),
        big_endian_bind_ack_bytes(),
        request_with_auth_bytes(),
        shutdown_bytes(),
    ]
}

#[test]
fn bind_vector() {
    let bytes = bind_bytes(11);
    assert_eq!(bind_value().encode(), bytes);
    assert_eq!(Bind::decode(&bytes).unwrap(), bind_value());
    assert_eq!(Pdu::decode(&bytes).unwrap(), Pdu::Bind(bind_value()));
}

#[test]
fn alter_context_vector() {
    let bytes = bind_bytes(14);
    let value = AlterContext(bind_value());
    assert_eq!(value.encode(), bytes);
    assert_eq!(AlterContext::decode(&bytes).unwrap(), value);
    assert!(matches!(
        Bind::decode(&bytes),
        Err(WireError::Unexpected { .. })
    ));
}

#[test]
fn bind_ack_vector() {
    let bytes = bind_ack_bytes();
    assert_eq!(bind_ack_value().encode(), bytes);
    let decoded = BindAck::decode(&bytes).unwrap();
    assert_eq!(decoded, bind_ack_value());
    assert_eq!(decoded.secondary_address_str(), "135");
    assert_eq!(decoded.results[0].result, AckResult::Acceptance);
}

#[test]
fn alter_context_resp_vector() {
    let bytes = alter_context_resp_bytes();
    let value = AlterContextResp(BindAck {
        call_id: 2,
        secondary_address: Vec::new(),
        results: vec![ContextResult {
            result: AckResult::ProviderRejection,
            reason: 1,
            transfer_syntax: SyntaxId::new(Uuid::nil(), 0, 0),
        }],
        ..bind_ack_value()
    });
    assert_eq!(value.encode(), bytes);
    let decoded = AlterContextResp::decode(&bytes).unwrap();
    assert_eq!(decoded, value);
    assert_eq!(
        decoded.0.results[0].provider_reason(),
        ProviderReason::AbstractSyntaxNotSupported
    );
}

#[test]
fn bind_nak_vector() {
    let bytes = bind_nak_bytes();
    let value = BindNak {
        call_id: 1,
        pfc_flags: 3,
        drep: DataRep::LITTLE_ENDIAN,
        reason: RejectReason::ProtocolVersionNotSupported,
        versions: vec![(5, 0)],
    };
    assert_eq!(value.encode(), bytes);
    assert_eq!(BindNak::decode(&bytes).unwrap(), value);
}

#[test]
fn bind_nak_without_version_list() {
    let bytes = cat(&[
        &[5, 0, 13, 3, 0x10, 0, 0, 0],
        &[18, 0, 0, 0], // frag_length 18: only the reason follows the header
        &[1, 0, 0, 0],
        &[2, 0], // local_limit_exceeded
    ]);
    let nak = BindNak::decode(&bytes).unwrap();
    assert_eq!(nak.reason, RejectReason::LocalLimitExceeded);
    assert!(nak.versions.is_empty());
}

#[test]
fn request_vector() {
    let bytes = request_bytes();
    let stub = bytes[24..].to_vec();
    let value = Request::new(2, 0, 2, stub);
    assert_eq!(value.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), value);
}

#[test]
fn request_with_object_vector() {
    let bytes = request_object_bytes();
    let value = Request {
        object: Some(epm().uuid),
        ..Request::new(9, 1, 7, vec![0xde, 0xad, 0xbe, 0xef])
    };
    assert_eq!(value.encode(), bytes);
    let decoded = Request::decode(&bytes).unwrap();
    assert_eq!(decoded, value);
    assert_eq!(decoded.pfc_flags & pfc::OBJECT_UUID, 0);
}

#[test]
fn response_vector() {
    let bytes = response_bytes();
    let value = Response::new(2, 0, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(value.encode(), bytes);
    assert_eq!(Response::decode(&bytes).unwrap(), value);
}

#[test]
fn fault_vector() {
    let bytes = fault_bytes();
    let value = Fault {
        pfc_flags: 0x23,
        ..Fault::new(2, fault::NCA_S_OP_RNG_ERROR)
    };
    assert_eq!(value.encode(), bytes);
    let decoded = Fault::decode(&bytes).unwrap();
    assert_eq!(decoded, value);
    assert_eq!(decoded.status_name(), Some("nca_s_op_rng_error"));
}

#[test]
fn fault_without_reserved_word() {
    let bytes = cat(&[
        &[5, 0, 3, 3, 0x10, 0, 0, 0],
        &[28, 0, 0, 0], // frag_length 28: ends right after the status
        &[2, 0, 0, 0],
        &[0, 0, 0, 0, 0, 0, 0, 0],
        &[5, 0, 0, 0], // access denied
    ]);
    let f = Fault::decode(&bytes).unwrap();
    assert_eq!(f.status, fault::ACCESS_DENIED);
    assert_eq!(f.status_name(), Some("access_denied"));
}

#[test]
fn big_endian_peers_are_honoured() {
    let r = Response::decode(&big_endian_response_bytes()).unwrap();
    assert_eq!(r.call_id, 2);
    assert_eq!(r.alloc_hint, 8);
    assert_eq!(r.context_id, 1);
    assert_eq!(r.drep, DataRep::BIG_ENDIAN);
    assert_eq!(r.encode(), big_endian_response_bytes());

    let a = BindAck::decode(&big_endian_bind_ack_bytes()).unwrap();
    assert_eq!(
        a,
        BindAck {
            drep: DataRep::BIG_ENDIAN,
            ..bind_ack_value()
        }
    );
    assert_eq!(a.encode(), big_endian_bind_ack_bytes());
    assert_eq!(frag_length_of(&big_endian_bind_ack_bytes()).unwrap(), 60);
}

#[test]
fn auth_verifier_is_skipped() {
    let r = Request::decode(&request_with_auth_bytes()).unwrap();
    assert_eq!(r.stub, vec![0xaa, 0xbb, 0xcc, 0xdd]);
    assert_eq!(r.opnum, 1);
}

#[test]
fn other_pdu_types_are_kept_raw() {
    let p = Pdu::decode(&shutdown_bytes()).unwrap();
    assert_eq!(p.ptype(), PacketType::Shutdown);
    assert_eq!(p.encode(), shutdown_bytes());
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    for v in all_vectors() {
        for n in 0..v.len() {
            assert!(Pdu::decode(&v[..n]).is_err(), "prefix {n} of {v:02x?}");
        }
        assert!(Pdu::decode(&v).is_ok(), "{v:02x?}");
    }
}

#[test]
fn consistent_truncation_never_panics() {
    // Shorten the PDU *and* its frag_length so the header agrees with the bytes;
    // the body decoders must then fail cleanly or decode a shorter stub.
    for v in all_vectors() {
        let be = v[4] >> 4 == 0;
        for n in HEADER_LEN..v.len() {
            let mut cut = v[..n].to_vec();
            let len = (n as u16).to_le_bytes();
            if be {
                cut[8] = len[1];
                cut[9] = len[0];
            } else {
                cut[8] = len[0];
                cut[9] = len[1];
            }
            let _ = Pdu::decode(&cut);
        }
    }
}

#[test]
fn fixed_layout_pdus_reject_consistent_truncation() {
    for v in [bind_bytes(11), bind_ack_bytes(), alter_context_resp_bytes()] {
        for n in HEADER_LEN..v.len() {
            let mut cut = v[..n].to_vec();
            cut[8] = n as u8;
            assert!(Pdu::decode(&cut).is_err(), "length {n}");
        }
    }
}

#[test]
fn rejects_bad_headers() {
    let mut v = response_bytes();
    v[8] = 0; // frag_length 0
    assert!(matches!(
        Pdu::decode(&v),
        Err(WireError::Invalid {
            what: "frag_length",
            ..
        })
    ));
    assert!(frag_length_of(&v).is_err());

    v[8] = 15; // frag_length below the header size
    assert!(Pdu::decode(&v).is_err());

    let mut v = response_bytes();
    v[8] = 200; // frag_length larger than the bytes given
    assert!(matches!(Pdu::decode(&v), Err(WireError::Truncated { .. })));

    let mut v = response_bytes();
    v.push(0); // trailing byte beyond frag_length
    assert!(matches!(Pdu::decode(&v), Err(WireError::Invalid { .. })));

    let mut v = response_bytes();
    v[0] = 4; // rpc_vers 4 (connectionless)
    assert!(Pdu::decode(&v).is_err());

    let mut v = response_bytes();
    v[1] = 7; // minor 7
    assert!(Pdu::decode(&v).is_err());

    let mut v = response_bytes();
    v[4] = 0x20; // undefined integer representation
    assert!(matches!(
        Pdu::decode(&v),
        Err(WireError::Invalid {
            what: "drep integer representation",
            ..
        })
    ));

    assert!(frag_length_of(&[5, 0, 2, 3]).is_err());
}

#[test]
fn rejects_bad_auth_lengths() {
    let mut v = request_with_auth_bytes();
    v[10] = 60; // auth_length larger than the fragment
    assert!(Pdu::decode(&v).is_err());

    let mut v = request_with_auth_bytes();
    v[34] = 200; // auth_pad_length larger than the body
    assert!(Pdu::decode(&v).is_err());
}

#[test]
fn rejects_counts_beyond_bytes() {
    let mut v = bind_bytes(11);
    v[24] = 200; // n_context_elem 200 with room for one
    assert!(matches!(Pdu::decode(&v), Err(WireError::Truncated { .. })));

    let mut v = bind_ack_bytes();
    v[32] = 50; // n_results 50 with room for one
    assert!(matches!(Pdu::decode(&v), Err(WireError::Truncated { .. })));

    let mut v = bind_nak_bytes();
    v[18] = 9; // nine versions, one present
    assert!(Pdu::decode(&v).is_err());
}

#[test]
fn large_stubs_encode_as_several_fragments() {
    let stub: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let resp = Response::new(4, 0, stub);
    let bytes = resp.encode();
    let mut r = Reassembler::new();
    let pdus = r.push(&bytes).unwrap();
    assert_eq!(pdus, vec![Pdu::Response(resp)]);
}

// ---------------------------------------------------------------- reassembler

#[test]
fn reassembler_byte_by_byte() {
    let stream = cat(&[&bind_ack_bytes(), &response_bytes()]);
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    for b in &stream {
        out.extend(r.push(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], Pdu::BindAck(bind_ack_value()));
    assert_eq!(r.buffered(), 0);
}

#[test]
fn reassembler_joins_fragments() {
    let resp = Response::new(7, 0, (0..100u8).collect());
    let frags = resp.encode_fragments(24 + 16);
    assert!(frags.len() > 5);
    assert_eq!(frags[0][3] & pfc::FIRST_FRAG, pfc::FIRST_FRAG);
    assert_eq!(frags.last().unwrap()[3] & pfc::LAST_FRAG, pfc::LAST_FRAG);
    let mut r = Reassembler::new();
    let mut out = Vec::new();
    for f in &frags {
        assert!(out.is_empty());
        out.extend(r.push(f).unwrap());
    }
    assert_eq!(out, vec![Pdu::Response(resp)]);
    assert!(!r.in_call());
}

#[test]
fn reassembler_passes_fault_ending_a_fragmented_call() {
    let resp = Response::new(7, 0, vec![0; 64]);
    let frags = resp.encode_fragments(40);
    let mut r = Reassembler::new();
    assert!(r.push(&frags[0]).unwrap().is_empty());
    let fault = Fault::new(7, fault::NCA_S_PROTO_ERROR);
    assert_eq!(r.push(&fault.encode()).unwrap(), vec![Pdu::Fault(fault)]);
}

#[test]
fn reassembler_rejects_frag_length_zero_and_small() {
    for bad in [0u8, 1, 15] {
        let mut v = response_bytes();
        v[8] = bad;
        let mut r = Reassembler::new();
        assert!(r.push(&v).is_err());
        // Poisoned: later input gets the same error.
        assert!(r.push(&response_bytes()).is_err());
    }
}

#[test]
fn reassembler_rejects_oversized_fragments() {
    let mut r = Reassembler::with_limits(ReassemblyLimits {
        max_frag_length: 24,
        ..ReassemblyLimits::default()
    });
    assert!(matches!(
        r.push(&response_bytes()),
        Err(WireError::TooLarge {
            what: "frag_length",
            ..
        })
    ));
}

#[test]
fn reassembler_waits_for_a_long_fragment() {
    // frag_length says 65535 but only the header arrives: nothing is emitted and
    // only the bytes received are buffered.
    let mut v = response_bytes()[..16].to_vec();
    v[8] = 0xff;
    v[9] = 0xff;
    let mut r = Reassembler::new();
    assert!(r.push(&v).unwrap().is_empty());
    assert_eq!(r.buffered(), 16);
}

#[test]
fn reassembler_enforces_total_and_count_caps() {
    let resp = Response::new(7, 0, vec![0; 256]);
    let frags = resp.encode_fragments(24 + 32);

    let mut r = Reassembler::with_limits(ReassemblyLimits {
        max_stub_len: 100,
        ..ReassemblyLimits::default()
    });
    let err = frags.iter().find_map(|f| r.push(f).err());
    assert!(matches!(
        err,
        Some(WireError::TooLarge {
            what: "reassembled stub",
            ..
        })
    ));

    let mut r = Reassembler::with_limits(ReassemblyLimits {
        max_fragments: 3,
        ..ReassemblyLimits::default()
    });
    let err = frags.iter().find_map(|f| r.push(f).err());
    assert!(matches!(
        err,
        Some(WireError::TooLarge {
            what: "fragment count",
            ..
        })
    ));
}

#[test]
fn reassembler_rejects_bad_sequences() {
    let resp = Response::new(7, 0, vec![0; 64]);
    let frags = resp.encode_fragments(40);

    // A middle fragment with no first.
    let mut r = Reassembler::new();
    assert!(r.push(&frags[1]).is_err());

    // A first fragment twice.
    let mut r = Reassembler::new();
    r.push(&frags[0]).unwrap();
    assert!(r.push(&frags[0]).is_err());

    // A fragment of another call.
    let other = Response::new(8, 0, vec![0; 64]).encode_fragments(40);
    let mut r = Reassembler::new();
    r.push(&frags[0]).unwrap();
    assert!(r.push(&other[1]).is_err());

    // A different PDU type in the middle of a call.
    let mut r = Reassembler::new();
    r.push(&frags[0]).unwrap();
    assert!(r.push(&bind_ack_bytes()).is_err());
}

// ---------------------------------------------------------------- properties

fn arb_uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid::from_bytes)
}

fn arb_syntax() -> impl Strategy<Value = SyntaxId> {
    (arb_uuid(), any::<u16>(), any::<u16>()).prop_map(|(u, a, b)| SyntaxId::new(u, a, b))
}

fn arb_drep() -> impl Strategy<Value = DataRep> {
    prop_oneof![Just(DataRep::LITTLE_ENDIAN), Just(DataRep::BIG_ENDIAN)]
}

fn arb_context() -> impl Strategy<Value = PresentationContext> {
    (
        any::<u16>(),
        arb_syntax(),
        prop::collection::vec(arb_syntax(), 0..4),
    )
        .prop_map(
            |(context_id, abstract_syntax, transfer_syntaxes)| PresentationContext {
                context_id,
                abstract_syntax,
                transfer_syntaxes,
            },
        )
}

fn arb_bind() -> impl Strategy<Value = Bind> {
    (
        any::<u32>(),
        any::<u8>(),
        arb_drep(),
        any::<(u16, u16, u32)>(),
        prop::collection::vec(arb_context(), 0..5),
    )
        .prop_map(|(call_id, pfc_flags, drep, (x, r, g), contexts)| Bind {
            call_id,
            pfc_flags,
            drep,
            max_xmit_frag: x,
            max_recv_frag: r,
            assoc_group_id: g,
            contexts,
        })
}

fn arb_bind_ack() -> impl Strategy<Value = BindAck> {
    (
        any::<u32>(),
        any::<u8>(),
        arb_drep(),
        any::<(u16, u16, u32)>(),
        prop::collection::vec(any::<u8>(), 0..12),
        prop::collection::vec(
            (any::<u16>(), any::<u16>(), arb_syntax()).prop_map(|(res, reason, ts)| {
                ContextResult {
                    result: AckResult::from_u16(res % 5),
                    reason,
                    transfer_syntax: ts,
                }
            }),
            0..4,
        ),
    )
        .prop_map(
            |(call_id, pfc_flags, drep, (x, r, g), secondary_address, results)| BindAck {
                call_id,
                pfc_flags,
                drep,
                max_xmit_frag: x,
                max_recv_frag: r,
                assoc_group_id: g,
                secondary_address,
                results,
            },
        )
}

fn arb_pdu() -> impl Strategy<Value = Pdu> {
    let stub = || prop::collection::vec(any::<u8>(), 0..200);
    prop_oneof![
        arb_bind().prop_map(Pdu::Bind),
        arb_bind().prop_map(|b| Pdu::AlterContext(AlterContext(b))),
        arb_bind_ack().prop_map(Pdu::BindAck),
        arb_bind_ack().prop_map(|a| Pdu::AlterContextResp(AlterContextResp(a))),
        (
            any::<u32>(),
            any::<u8>(),
            arb_drep(),
            any::<u16>(),
            prop::collection::vec(any::<(u8, u8)>(), 0..4)
        )
            .prop_map(|(call_id, pfc_flags, drep, reason, versions)| Pdu::BindNak(
                BindNak {
                    call_id,
                    pfc_flags,
                    drep,
                    reason: RejectReason::from_u16(reason),
                    versions,
                }
            )),
        (
            any::<(u32, u8, u32, u16, u16)>(),
            arb_drep(),
            prop::option::of(arb_uuid()),
            stub()
        )
            .prop_map(
                |((call_id, flags, alloc_hint, context_id, opnum), drep, object, stub)| {
                    Pdu::Request(Request {
                        call_id,
                        pfc_flags: flags & !pfc::OBJECT_UUID,
                        drep,
                        alloc_hint,
                        context_id,
                        opnum,
                        object,
                        stub,
                    })
                }
            ),
        (any::<(u32, u8, u32, u16, u8)>(), arb_drep(), stub()).prop_map(
            |((call_id, pfc_flags, alloc_hint, context_id, cancel_count), drep, stub)| {
                Pdu::Response(Response {
                    call_id,
                    pfc_flags,
                    drep,
                    alloc_hint,
                    context_id,
                    cancel_count,
                    stub,
                })
            }
        ),
        (
            any::<(u32, u8, u32, u16, u8, u8, u32)>(),
            arb_drep(),
            stub()
        )
            .prop_map(
                |(
                    (call_id, pfc_flags, alloc_hint, context_id, cancel_count, flags, status),
                    drep,
                    stub,
                )| {
                    Pdu::Fault(Fault {
                        call_id,
                        pfc_flags,
                        drep,
                        alloc_hint,
                        context_id,
                        cancel_count,
                        flags,
                        status,
                        stub,
                    })
                }
            ),
        (
            prop_oneof![
                Just(1u8),
                Just(4),
                Just(16),
                Just(17),
                Just(18),
                Just(19),
                Just(20),
                21u8..
            ],
            any::<(u32, u8)>(),
            arb_drep(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(ptype, (call_id, pfc_flags), drep, body)| Pdu::Other(OtherPdu {
                    ptype: PacketType::from_u8(ptype),
                    call_id,
                    pfc_flags,
                    drep,
                    body,
                })
            ),
    ]
}

proptest! {
    #[test]
    fn pdu_round_trip(pdu in arb_pdu()) {
        let bytes = pdu.encode();
        prop_assert_eq!(frag_length_of(&bytes).unwrap(), bytes.len());
        prop_assert_eq!(Pdu::decode(&bytes).unwrap(), pdu);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Pdu::decode(&bytes);
        let mut r = Reassembler::new();
        let _ = r.push(&bytes);
    }

    #[test]
    fn decode_never_panics_on_plausible_headers(
        ptype in 0u8..22,
        flags in any::<u8>(),
        drep0 in prop_oneof![Just(0x10u8), Just(0x00)],
        auth_len in 0u16..64,
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let len = (HEADER_LEN + body.len()) as u16;
        let len = if drep0 == 0 { len.to_be_bytes() } else { len.to_le_bytes() };
        let auth = if drep0 == 0 { auth_len.to_be_bytes() } else { auth_len.to_le_bytes() };
        let bytes = cat(&[&[5, 0, ptype, flags, drep0, 0, 0, 0], &len, &auth, &[1, 0, 0, 0], &body]);
        let _ = Pdu::decode(&bytes);
    }

    #[test]
    fn reassembly_of_random_splits(
        stub in prop::collection::vec(any::<u8>(), 0..600),
        max_frag in 32usize..200,
        cuts in prop::collection::vec(1usize..50, 1..40),
    ) {
        let resp = Response::new(3, 0, stub);
        let stream: Vec<u8> = resp.encode_fragments(max_frag).concat();
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while pos < stream.len() {
            let n = cuts[i % cuts.len()].min(stream.len() - pos);
            out.extend(r.push(&stream[pos..pos + n]).unwrap());
            pos += n;
            i += 1;
        }
        prop_assert_eq!(out, vec![Pdu::Response(resp)]);
    }
}

#[test]
fn oversized_values_encode_within_one_fragment() {
    let ack = BindAck {
        secondary_address: vec![b'x'; 70_000],
        results: vec![ContextResult::accept(NDR_SYNTAX); 300],
        ..bind_ack_value()
    };
    let bytes = ack.encode();
    assert!(bytes.len() <= MAX_FRAG_LENGTH);
    let back = BindAck::decode(&bytes).unwrap();
    assert_eq!(back.results.len(), 255);

    let bind = Bind::new(
        1,
        (0..300)
            .map(|i| PresentationContext {
                context_id: i,
                abstract_syntax: epm(),
                transfer_syntaxes: vec![NDR_SYNTAX; 300],
            })
            .collect(),
    );
    let bytes = bind.encode();
    assert!(bytes.len() <= MAX_FRAG_LENGTH);
    let back = Bind::decode(&bytes).unwrap();
    assert!(!back.contexts.is_empty() && back.contexts.len() <= 255);

    let fault = Fault {
        stub: vec![0; 70_000],
        ..Fault::new(1, 5)
    };
    assert!(Fault::decode(&fault.encode()).is_ok());
}
