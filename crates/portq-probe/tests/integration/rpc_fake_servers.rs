//! The endpoint-mapper client against in-process fake servers on 127.0.0.1.
//!
//! Each server is a tokio task bound to port 0 by the test itself; the client never
//! connects anywhere else. Every case must finish within its configured timeout and
//! end with a specific outcome.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use portq_probe::rpc::{EndReason, EpmOptions, RpcError, dump_endpoints, epm_endpoint_count};
use portq_wire::dcerpc::{
    BindAck, BindNak, ContextResult, DataRep, Fault, NDR_SYNTAX, Pdu, RejectReason, Response,
    SyntaxId, fault, frag_length_of, pfc,
};
use portq_wire::epm::{
    EPM_INTERFACE, EPT_LOOKUP_OPNUM, EPT_S_NOT_REGISTERED, EptEntry, LookupRequest, LookupResponse,
    Tower,
};
use portq_wire::ndr::{ContextHandle, IntRep};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// Slack allowed on top of a configured timeout before a test calls it a stall.
const MARGIN: Duration = Duration::from_millis(1500);

fn opts() -> EpmOptions {
    EpmOptions {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(2),
        max_pages: 8,
        max_entries: 100,
        page_size: 500,
    }
}

/// Starts a one-connection server running `handler` and returns its address.
pub(crate) async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            handler(stream).await;
        }
    });
    addr
}

/// Runs the client and returns its result with the elapsed time, asserting that it
/// ended within `limit` + margin.
async fn run(
    addr: SocketAddr,
    o: EpmOptions,
    limit: Duration,
) -> Result<portq_probe::rpc::EpmDump, RpcError> {
    let start = Instant::now();
    let result = dump_endpoints(addr, &o).await;
    let elapsed = start.elapsed();
    assert!(
        elapsed < limit + MARGIN,
        "took {elapsed:?}, limit {limit:?}: {result:?}"
    );
    result
}

/// Reads one PDU the way a server would.
async fn read_pdu(s: &mut TcpStream) -> Option<Pdu> {
    let mut header = [0u8; 16];
    s.read_exact(&mut header).await.ok()?;
    let len = frag_length_of(&header).ok()?;
    let mut buf = header.to_vec();
    buf.resize(len, 0);
    s.read_exact(&mut buf[16..]).await.ok()?;
    Pdu::decode(&buf).ok()
}

fn bind_ack(call_id: u32) -> Vec<u8> {
    BindAck {
        call_id,
        pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
        drep: DataRep::LITTLE_ENDIAN,
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x1234,
        secondary_address: b"135\0".to_vec(),
        results: vec![ContextResult::accept(NDR_SYNTAX)],
    }
    .encode()
}

/// Accepts the bind; returns false if the client sent something else.
pub(crate) async fn accept_bind(s: &mut TcpStream) -> bool {
    match read_pdu(s).await {
        Some(Pdu::Bind(b)) => {
            assert_eq!(b.contexts[0].abstract_syntax, EPM_INTERFACE);
            assert_eq!(b.contexts[0].transfer_syntaxes, vec![NDR_SYNTAX]);
            s.write_all(&bind_ack(b.call_id)).await.is_ok()
        }
        _ => false,
    }
}

/// Reads an ept_lookup request; returns its call id and decoded arguments.
pub(crate) async fn read_lookup(s: &mut TcpStream) -> Option<(u32, LookupRequest)> {
    match read_pdu(s).await? {
        Pdu::Request(r) if r.opnum == EPT_LOOKUP_OPNUM => {
            let req = LookupRequest::decode(&r.stub, IntRep::LittleEndian).ok()?;
            Some((r.call_id, req))
        }
        _ => None,
    }
}

fn entry(n: u8, port: u16) -> EptEntry {
    let iface = SyntaxId::new(Uuid::from_bytes([n; 16]), 1, 0);
    EptEntry {
        object: Uuid::nil(),
        tower: Some(Tower::tcp(iface, port, Ipv4Addr::new(10, 0, 0, 9))),
        annotation: format!("service {n}"),
    }
}

pub(crate) fn page(handle: [u8; 20], entries: Vec<EptEntry>, status: u32) -> LookupResponse {
    LookupResponse {
        entry_handle: ContextHandle(handle),
        entries,
        status,
    }
}

pub(crate) async fn reply(s: &mut TcpStream, call_id: u32, page: &LookupResponse) {
    let bytes = Response::new(call_id, 0, page.encode()).encode();
    let _ = s.write_all(&bytes).await;
}

const H1: [u8; 20] = [7; 20];

#[tokio::test]
async fn good_server_three_entries_then_zero_handle() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        // Page 1: two entries and a handle, sent as several small fragments.
        let Some((call, req)) = read_lookup(&mut s).await else {
            return;
        };
        assert!(req.entry_handle.is_null());
        assert_eq!(req.max_ents, 500);
        let stub = page(H1, vec![entry(1, 49664), entry(2, 49665)], 0).encode();
        for frag in Response::new(call, 0, stub).encode_fragments(64) {
            let _ = s.write_all(&frag).await;
        }
        // Page 2: the handle must come back; one entry and a zero handle.
        let Some((call, req)) = read_lookup(&mut s).await else {
            return;
        };
        if req.entry_handle != ContextHandle(H1) {
            let _ = s
                .write_all(&Fault::new(call, fault::NCA_S_PROTO_ERROR).encode())
                .await;
            return;
        }
        reply(&mut s, call, &page([0; 20], vec![entry(3, 49666)], 0)).await;
    })
    .await;
    let dump = run(addr, opts(), opts().deadline).await.unwrap();
    assert_eq!(dump.entries.len(), 3);
    assert_eq!(dump.pages, 2);
    assert!(!dump.truncated);
    assert_eq!(dump.end, EndReason::HandleZero);
    let ports: Vec<_> = dump.entries.iter().map(|e| e.tower.port()).collect();
    assert_eq!(ports, vec![Some(49664), Some(49665), Some(49666)]);
    assert_eq!(dump.entries[2].annotation, "service 3");
    assert_eq!(dump.entries[0].tower.protseq(), Some("ncacn_ip_tcp"));
}

#[tokio::test]
async fn samba_style_not_registered_ends_the_list() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        let Some((call, _)) = read_lookup(&mut s).await else {
            return;
        };
        let all = vec![entry(1, 1024), entry(2, 1025), entry(3, 1026)];
        reply(&mut s, call, &page(H1, all, 0)).await;
        // The follow-up call: no entries, still a non-null handle, not_registered.
        let Some((call, _)) = read_lookup(&mut s).await else {
            return;
        };
        reply(&mut s, call, &page(H1, vec![], EPT_S_NOT_REGISTERED)).await;
    })
    .await;
    let dump = run(addr, opts(), opts().deadline).await.unwrap();
    assert_eq!(dump.entries.len(), 3);
    assert_eq!(dump.pages, 2);
    assert!(!dump.truncated);
    assert_eq!(dump.end, EndReason::NotRegistered);
}

#[tokio::test]
async fn empty_endpoint_map() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        let Some((call, _)) = read_lookup(&mut s).await else {
            return;
        };
        reply(&mut s, call, &page([0; 20], vec![], EPT_S_NOT_REGISTERED)).await;
    })
    .await;
    let start = Instant::now();
    let count = epm_endpoint_count(addr, &opts()).await.unwrap();
    assert!(start.elapsed() < opts().deadline + MARGIN);
    assert_eq!(count, 0);
}

#[tokio::test]
async fn truncated_pdu_then_close() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        let ack = bind_ack(b.call_id);
        let _ = s.write_all(&ack[..ack.len() / 2]).await;
        // Dropping the stream closes the connection.
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(
        matches!(err, RpcError::Closed { received, expected, .. } if received < expected),
        "{err:?}"
    );
    assert_eq!(err.addr(), addr);
}

#[tokio::test]
async fn close_before_any_reply() {
    let addr = serve(|mut s| async move {
        let _ = read_pdu(&mut s).await;
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(
        matches!(err, RpcError::Closed { received: 0, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn frag_length_beyond_what_arrives_then_silence() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        let mut ack = bind_ack(b.call_id);
        ack[8..10].copy_from_slice(&1000u16.to_le_bytes()); // claims 1000 bytes
        let _ = s.write_all(&ack).await; // sends 60
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let o = EpmOptions {
        deadline: Duration::from_secs(5),
        ..opts()
    };
    let err = run(addr, o, o.read_timeout).await.unwrap_err();
    assert!(matches!(err, RpcError::ReadTimeout { .. }), "{err:?}");
}

#[tokio::test]
async fn frag_length_zero() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        let mut ack = bind_ack(b.call_id);
        ack[8..10].copy_from_slice(&0u16.to_le_bytes());
        let _ = s.write_all(&ack).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::Wire {
                source: portq_wire::WireError::Invalid {
                    what: "frag_length",
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bind_nak() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        let nak = BindNak {
            call_id: b.call_id,
            pfc_flags: pfc::FIRST_FRAG | pfc::LAST_FRAG,
            drep: DataRep::LITTLE_ENDIAN,
            reason: RejectReason::LocalLimitExceeded,
            versions: vec![(5, 0)],
        };
        let _ = s.write_all(&nak.encode()).await;
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::BindRejected {
                reason: RejectReason::LocalLimitExceeded,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn context_rejected_in_bind_ack() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        let mut ack = BindAck::decode(&bind_ack(b.call_id)).unwrap();
        ack.results = vec![ContextResult {
            result: portq_wire::dcerpc::AckResult::ProviderRejection,
            reason: 1,
            transfer_syntax: SyntaxId::new(Uuid::nil(), 0, 0),
        }];
        let _ = s.write_all(&ack.encode()).await;
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::ContextRejected {
                reason: portq_wire::dcerpc::ProviderReason::AbstractSyntaxNotSupported,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn fault_on_the_request() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        let Some((call, _)) = read_lookup(&mut s).await else {
            return;
        };
        let _ = s
            .write_all(&Fault::new(call, fault::ACCESS_DENIED).encode())
            .await;
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::Fault {
                status: 5,
                name: Some("access_denied"),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn endless_same_handle_loop_is_cut_and_flagged() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        while let Some((call, _)) = read_lookup(&mut s).await {
            reply(
                &mut s,
                call,
                &page(H1, vec![entry(1, 2000), entry(2, 2001)], 0),
            )
            .await;
        }
    })
    .await;
    let dump = run(addr, opts(), opts().deadline).await.unwrap();
    assert!(dump.truncated);
    assert_eq!(dump.end, EndReason::RepeatedPage);
    assert_eq!(
        dump.entries.len(),
        2,
        "the repeated page is not added twice"
    );
    assert_eq!(dump.pages, 2);
}

#[tokio::test]
async fn endless_changing_pages_hit_the_page_cap() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        let mut n = 0u8;
        while let Some((call, _)) = read_lookup(&mut s).await {
            n = n.wrapping_add(1);
            reply(&mut s, call, &page(H1, vec![entry(n, 3000)], 0)).await;
        }
    })
    .await;
    let err = run(addr, opts(), opts().deadline).await.unwrap_err();
    assert!(
        matches!(err, RpcError::TooManyPages { limit: 8, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn too_many_entries() {
    let addr = serve(|mut s| async move {
        if !accept_bind(&mut s).await {
            return;
        }
        let Some((call, _)) = read_lookup(&mut s).await else {
            return;
        };
        let many = (0..10).map(|n| entry(n, 4000)).collect();
        reply(&mut s, call, &page([0; 20], many, 0)).await;
    })
    .await;
    let o = EpmOptions {
        max_entries: 5,
        ..opts()
    };
    let err = run(addr, o, o.deadline).await.unwrap_err();
    assert!(
        matches!(err, RpcError::TooManyEntries { limit: 5, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_byte_a_second_hits_the_deadline() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        for byte in bind_ack(b.call_id) {
            if s.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    // The per-fragment timeout is longer than the deadline: the deadline must win.
    let o = EpmOptions {
        read_timeout: Duration::from_secs(30),
        deadline: Duration::from_secs(2),
        ..opts()
    };
    let err = run(addr, o, o.deadline).await.unwrap_err();
    assert!(matches!(err, RpcError::Deadline { .. }), "{err:?}");
}

#[tokio::test]
async fn garbage_instead_of_dcerpc() {
    let addr = serve(|mut s| async move {
        let _ = read_pdu(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let err = run(addr, opts(), opts().read_timeout).await.unwrap_err();
    assert!(matches!(err, RpcError::Wire { .. }), "{err:?}");
}

#[tokio::test]
async fn connection_refused() {
    // Bind a port ourselves, then free it, so nothing listens there.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = run(addr, opts(), opts().connect_timeout).await.unwrap_err();
    assert!(matches!(err, RpcError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn big_endian_server() {
    let addr = serve(|mut s| async move {
        let Some(Pdu::Bind(b)) = read_pdu(&mut s).await else {
            return;
        };
        let mut ack = BindAck::decode(&bind_ack(b.call_id)).unwrap();
        ack.drep = DataRep::BIG_ENDIAN;
        let _ = s.write_all(&ack.encode()).await;
        let Some((call, _)) = read_lookup(&mut s).await else {
            return;
        };
        let stub =
            page([0; 20], vec![entry(1, 135), entry(2, 593)], 0).encode_with(IntRep::BigEndian);
        let resp = Response {
            drep: DataRep::BIG_ENDIAN,
            ..Response::new(call, 0, stub)
        };
        let _ = s.write_all(&resp.encode()).await;
    })
    .await;
    let dump = run(addr, opts(), opts().deadline).await.unwrap();
    let ports: Vec<_> = dump.entries.iter().map(|e| e.tower.port()).collect();
    assert_eq!(ports, vec![Some(135), Some(593)]);
    assert_eq!(dump.end, EndReason::HandleZero);
}
