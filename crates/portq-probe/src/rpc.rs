//! The RPC endpoint-mapper client: connect to TCP 135 (or any EPM), bind to the
//! endpoint mapper v3.0 with NDR, and page through `ept_lookup` to list every
//! registered endpoint.
//!
//! Everything is bounded: the connect has a timeout, reading each PDU fragment has a
//! timeout, the whole dump has a deadline, and the number of pages and entries is
//! capped. A fragment is read as its 16-byte header, whose `frag_length` is
//! validated, and then exactly the rest of the fragment; the buffer grows only as
//! bytes arrive and never beyond 65535 bytes.
//!
//! # When the listing ends
//!
//! * the returned entry handle is all zero (Windows), or
//! * the status is `ept_s_not_registered` (Samba returns every entry in the first
//!   page with a non-null handle, then answers the next call with that status), or
//! * a page holds no entries.
//!
//! A server that returns the same non-null handle *and* the same entries twice in a
//! row is looping: the dump stops there and is returned with `truncated = true` and
//! [`EndReason::RepeatedPage`] (the entries collected so far are kept, the repeated
//! page is not added twice). Hitting [`EpmOptions::max_pages`] or
//! [`EpmOptions::max_entries`] is an error ([`RpcError::TooManyPages`],
//! [`RpcError::TooManyEntries`]): no real endpoint mapper comes near them.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use portq_wire::WireError;
use portq_wire::dcerpc::{
    AckResult, Bind, HEADER_LEN, PacketType, Pdu, PresentationContext, ProviderReason, Reassembler,
    RejectReason, Request, fault::fault_status_name, frag_length_of,
};
use portq_wire::epm::{
    DEFAULT_MAX_ENTS, EPM_INTERFACE, EPT_LOOKUP_OPNUM, EPT_S_NOT_REGISTERED, EptEntry,
    LookupRequest, LookupResponse, Tower,
};
use portq_wire::ndr::ContextHandle;
use serde::Serialize;
use serde::ser::SerializeStruct;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// Presentation context id portq binds the endpoint mapper under.
const EPM_CONTEXT_ID: u16 = 0;

/// Limits and timeouts of one endpoint-mapper dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpmOptions {
    /// Time allowed for the TCP connect.
    pub connect_timeout: Duration,
    /// Time allowed to receive one whole PDU fragment (and to send one).
    pub read_timeout: Duration,
    /// Time allowed for the whole dump, connect included.
    pub deadline: Duration,
    /// Most `ept_lookup` calls made.
    pub max_pages: u32,
    /// Most entries accepted in total.
    pub max_entries: usize,
    /// `max_ents` asked for per call.
    pub page_size: u32,
}

impl Default for EpmOptions {
    fn default() -> Self {
        EpmOptions {
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            max_pages: 64,
            max_entries: 10_000,
            page_size: DEFAULT_MAX_ENTS,
        }
    }
}

/// Why a dump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The server returned an all-zero entry handle.
    HandleZero,
    /// The server answered `ept_s_not_registered`.
    NotRegistered,
    /// A page held no entries.
    EmptyPage,
    /// The server repeated the previous page (same handle, same entries): the result
    /// is truncated.
    RepeatedPage,
}

/// One registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpmEntry {
    /// Object UUID (usually nil).
    pub object: Uuid,
    /// How to reach the interface. Empty (no floors) if the server sent no tower.
    pub tower: Tower,
    /// The server's annotation (often the service's friendly name; may be empty).
    pub annotation: String,
}

impl From<EptEntry> for EpmEntry {
    fn from(e: EptEntry) -> Self {
        EpmEntry {
            object: e.object,
            tower: e.tower.unwrap_or_default(),
            annotation: e.annotation,
        }
    }
}

impl Serialize for EpmEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let iface = self.tower.interface();
        let mut st = s.serialize_struct("EpmEntry", 9)?;
        st.serialize_field("object", &self.object.to_string())?;
        st.serialize_field("interface", &iface.map(|i| i.uuid.to_string()))?;
        st.serialize_field(
            "interface_version",
            &iface.map(|i| format!("{}.{}", i.major, i.minor)),
        )?;
        st.serialize_field("protseq", &self.tower.protseq())?;
        st.serialize_field("endpoint", &self.tower.endpoint())?;
        st.serialize_field("port", &self.tower.port())?;
        st.serialize_field("address", &self.tower.address().map(|a| a.to_string()))?;
        st.serialize_field("binding", &self.tower.binding())?;
        st.serialize_field("annotation", &self.annotation)?;
        st.end()
    }
}

/// The endpoint map of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpmDump {
    /// Every entry received, in server order.
    pub entries: Vec<EpmEntry>,
    /// Number of `ept_lookup` calls answered.
    pub pages: u32,
    /// True when the listing is known to be incomplete (see [`EndReason::RepeatedPage`]).
    pub truncated: bool,
    /// Why the listing ended.
    pub end: EndReason,
}

/// Why a dump failed. Every variant names the server address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The TCP connect failed (refused, unreachable, ...).
    #[error("{addr}: connect failed: {source}")]
    Connect {
        /// Server address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The TCP connect did not complete in time.
    #[error("{addr}: connect timed out after {timeout:?}")]
    ConnectTimeout {
        /// Server address.
        addr: SocketAddr,
        /// The connect timeout.
        timeout: Duration,
    },
    /// Reading or writing failed.
    #[error("{addr}: i/o error: {source}")]
    Io {
        /// Server address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A whole PDU fragment did not arrive (or could not be sent) in time.
    #[error("{addr}: no complete PDU within {timeout:?}")]
    ReadTimeout {
        /// Server address.
        addr: SocketAddr,
        /// The per-fragment timeout.
        timeout: Duration,
    },
    /// The server closed the connection in the middle of (or instead of) a PDU.
    #[error("{addr}: connection closed after {received} of {expected} bytes of a PDU")]
    Closed {
        /// Server address.
        addr: SocketAddr,
        /// Bytes of the fragment received.
        received: usize,
        /// Bytes the fragment needed (16 while the header was incomplete).
        expected: usize,
    },
    /// The server's bytes are not valid DCE/RPC or EPM data.
    #[error("{addr}: malformed reply: {source}")]
    Wire {
        /// Server address.
        addr: SocketAddr,
        /// What was wrong.
        #[source]
        source: WireError,
    },
    /// The server refused the bind with a bind_nak.
    #[error("{addr}: bind rejected: {reason}")]
    BindRejected {
        /// Server address.
        addr: SocketAddr,
        /// The reject reason.
        reason: RejectReason,
    },
    /// The server acknowledged the bind but rejected the endpoint-mapper context.
    #[error("{addr}: endpoint mapper context rejected ({result:?}, {reason:?})")]
    ContextRejected {
        /// Server address.
        addr: SocketAddr,
        /// The result.
        result: AckResult,
        /// The provider reason.
        reason: ProviderReason,
    },
    /// The server answered with a fault PDU.
    #[error("{addr}: fault {status:#010x} ({})", .name.unwrap_or("unknown status"))]
    Fault {
        /// Server address.
        addr: SocketAddr,
        /// The fault status.
        status: u32,
        /// Its conventional name, when known.
        name: Option<&'static str>,
    },
    /// The server sent a PDU of a type that makes no sense at this point.
    #[error("{addr}: expected a {expected} PDU, got {got}")]
    UnexpectedPdu {
        /// Server address.
        addr: SocketAddr,
        /// What was expected.
        expected: &'static str,
        /// What arrived.
        got: PacketType,
    },
    /// `ept_lookup` returned an error status other than "no more entries".
    #[error("{addr}: ept_lookup failed with status {status:#010x}")]
    LookupStatus {
        /// Server address.
        addr: SocketAddr,
        /// The status.
        status: u32,
    },
    /// The overall deadline passed.
    #[error("{addr}: endpoint map not received within {deadline:?}")]
    Deadline {
        /// Server address.
        addr: SocketAddr,
        /// The deadline.
        deadline: Duration,
    },
    /// The server kept paging beyond [`EpmOptions::max_pages`].
    #[error("{addr}: more than {limit} ept_lookup pages")]
    TooManyPages {
        /// Server address.
        addr: SocketAddr,
        /// The page cap.
        limit: u32,
    },
    /// The server returned more than [`EpmOptions::max_entries`] entries.
    #[error("{addr}: more than {limit} endpoint entries")]
    TooManyEntries {
        /// Server address.
        addr: SocketAddr,
        /// The entry cap.
        limit: usize,
    },
}

impl RpcError {
    /// The server address the error is about.
    pub fn addr(&self) -> SocketAddr {
        match self {
            RpcError::Connect { addr, .. }
            | RpcError::ConnectTimeout { addr, .. }
            | RpcError::Io { addr, .. }
            | RpcError::ReadTimeout { addr, .. }
            | RpcError::Closed { addr, .. }
            | RpcError::Wire { addr, .. }
            | RpcError::BindRejected { addr, .. }
            | RpcError::ContextRejected { addr, .. }
            | RpcError::Fault { addr, .. }
            | RpcError::UnexpectedPdu { addr, .. }
            | RpcError::LookupStatus { addr, .. }
            | RpcError::Deadline { addr, .. }
            | RpcError::TooManyPages { addr, .. }
            | RpcError::TooManyEntries { addr, .. } => *addr,
        }
    }
}

/// Lists every endpoint registered with the endpoint mapper at `addr`.
pub async fn dump_endpoints(addr: SocketAddr, opts: &EpmOptions) -> Result<EpmDump, RpcError> {
    match tokio::time::timeout(opts.deadline, dump_unbounded(addr, opts)).await {
        Ok(result) => result,
        Err(_) => Err(RpcError::Deadline {
            addr,
            deadline: opts.deadline,
        }),
    }
}

/// Endpoint mappers asked at once by [`survey`].
pub const SURVEY_AT_ONCE: usize = 32;

/// Asks the endpoint mapper of every target (on TCP `port`, [`SURVEY_AT_ONCE`] at a
/// time) for its registrations: `portq rpc` and the check pipeline's follow-up both
/// survey this way. The answers come sorted by host, then address.
pub async fn survey(
    targets: impl IntoIterator<Item = crate::target::Target>,
    port: u16,
    opts: &EpmOptions,
) -> Vec<(crate::target::Target, Result<EpmDump, RpcError>)> {
    let mut pending = targets.into_iter();
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    loop {
        while set.len() < SURVEY_AT_ONCE {
            let Some(t) = pending.next() else { break };
            let opts = *opts;
            set.spawn(async move {
                let r = dump_endpoints(SocketAddr::new(t.address, port), &opts).await;
                (t, r)
            });
        }
        match set.join_next().await {
            Some(Ok(r)) => out.push(r),
            // A panicked task (none is expected) loses only its own host.
            Some(Err(_)) => {}
            None => break,
        }
    }
    out.sort_by(|a, b| (&a.0.host, a.0.address).cmp(&(&b.0.host, b.0.address)));
    out
}

/// Number of endpoints registered at `addr` (a full [`dump_endpoints`], counted).
pub async fn epm_endpoint_count(addr: SocketAddr, opts: &EpmOptions) -> Result<usize, RpcError> {
    dump_endpoints(addr, opts).await.map(|d| d.entries.len())
}

async fn dump_unbounded(addr: SocketAddr, opts: &EpmOptions) -> Result<EpmDump, RpcError> {
    let stream = match tokio::time::timeout(opts.connect_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(RpcError::Connect { addr, source }),
        Err(_) => {
            return Err(RpcError::ConnectTimeout {
                addr,
                timeout: opts.connect_timeout,
            });
        }
    };
    // Requests are tiny; don't let Nagle delay them. Failure here is harmless.
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::new(stream, addr, opts.read_timeout);
    conn.bind_epm().await?;
    page_through(&mut conn, opts).await
}

async fn page_through(conn: &mut Connection, opts: &EpmOptions) -> Result<EpmDump, RpcError> {
    let addr = conn.addr;
    let mut handle = ContextHandle::NULL;
    let mut entries: Vec<EpmEntry> = Vec::new();
    let mut previous: Option<LookupResponse> = None;
    let mut pages = 0u32;
    loop {
        let page = conn.lookup(handle, opts.page_size).await?;
        pages += 1;
        if page.status != 0 && page.status != EPT_S_NOT_REGISTERED {
            return Err(RpcError::LookupStatus {
                addr,
                status: page.status,
            });
        }
        if previous.as_ref().is_some_and(|p| is_repeat(p, &page)) {
            return Ok(EpmDump {
                entries,
                pages,
                truncated: true,
                end: EndReason::RepeatedPage,
            });
        }
        if entries.len().saturating_add(page.entries.len()) > opts.max_entries {
            return Err(RpcError::TooManyEntries {
                addr,
                limit: opts.max_entries,
            });
        }
        entries.extend(page.entries.iter().cloned().map(EpmEntry::from));
        let end = if page.status == EPT_S_NOT_REGISTERED {
            Some(EndReason::NotRegistered)
        } else if page.entry_handle.is_null() {
            Some(EndReason::HandleZero)
        } else if page.entries.is_empty() {
            Some(EndReason::EmptyPage)
        } else {
            None
        };
        if let Some(end) = end {
            return Ok(EpmDump {
                entries,
                pages,
                truncated: false,
                end,
            });
        }
        if pages >= opts.max_pages {
            return Err(RpcError::TooManyPages {
                addr,
                limit: opts.max_pages,
            });
        }
        handle = page.entry_handle;
        previous = Some(page);
    }
}

/// Same non-null handle and same entries as the page before: the server is looping.
fn is_repeat(prev: &LookupResponse, page: &LookupResponse) -> bool {
    !page.entry_handle.is_null()
        && page.entry_handle == prev.entry_handle
        && page.entries == prev.entries
}

/// One TCP connection speaking connection-oriented DCE/RPC.
struct Connection {
    stream: TcpStream,
    addr: SocketAddr,
    timeout: Duration,
    reassembler: Reassembler,
    next_call_id: u32,
}

impl Connection {
    fn new(stream: TcpStream, addr: SocketAddr, timeout: Duration) -> Self {
        Connection {
            stream,
            addr,
            timeout,
            reassembler: Reassembler::new(),
            next_call_id: 1,
        }
    }

    fn call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
        id
    }

    fn wire(&self, source: WireError) -> RpcError {
        RpcError::Wire {
            addr: self.addr,
            source,
        }
    }

    fn fault(&self, status: u32) -> RpcError {
        RpcError::Fault {
            addr: self.addr,
            status,
            name: fault_status_name(status),
        }
    }

    fn unexpected(&self, expected: &'static str, got: &Pdu) -> RpcError {
        RpcError::UnexpectedPdu {
            addr: self.addr,
            expected,
            got: got.ptype(),
        }
    }

    /// Binds the endpoint mapper interface with NDR 2.0.
    async fn bind_epm(&mut self) -> Result<(), RpcError> {
        let call_id = self.call_id();
        let bind = Bind::new(
            call_id,
            vec![PresentationContext::ndr(EPM_CONTEXT_ID, EPM_INTERFACE)],
        );
        self.send(&bind.encode()).await?;
        match self.receive(call_id).await? {
            Pdu::BindAck(ack) => {
                let result = ack.results.first().ok_or_else(|| {
                    self.wire(WireError::invalid("bind_ack", "no presentation results"))
                })?;
                if result.result == AckResult::Acceptance {
                    Ok(())
                } else {
                    Err(RpcError::ContextRejected {
                        addr: self.addr,
                        result: result.result,
                        reason: result.provider_reason(),
                    })
                }
            }
            Pdu::BindNak(nak) => Err(RpcError::BindRejected {
                addr: self.addr,
                reason: nak.reason,
            }),
            Pdu::Fault(f) => Err(self.fault(f.status)),
            other => Err(self.unexpected("bind_ack", &other)),
        }
    }

    /// One `ept_lookup` call.
    async fn lookup(
        &mut self,
        handle: ContextHandle,
        max_ents: u32,
    ) -> Result<LookupResponse, RpcError> {
        let call_id = self.call_id();
        let stub = LookupRequest::all(handle, max_ents).encode();
        let request = Request::new(call_id, EPM_CONTEXT_ID, EPT_LOOKUP_OPNUM, stub);
        self.send(&request.encode()).await?;
        match self.receive(call_id).await? {
            Pdu::Response(resp) => {
                let rep = resp.drep.int_rep().map_err(|e| self.wire(e))?;
                LookupResponse::decode(&resp.stub, rep).map_err(|e| self.wire(e))
            }
            Pdu::Fault(f) => Err(self.fault(f.status)),
            other => Err(self.unexpected("response", &other)),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), RpcError> {
        match tokio::time::timeout(self.timeout, self.stream.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(RpcError::Io {
                addr: self.addr,
                source,
            }),
            Err(_) => Err(RpcError::ReadTimeout {
                addr: self.addr,
                timeout: self.timeout,
            }),
        }
    }

    /// Reads fragments until one whole PDU is assembled; checks its call id.
    async fn receive(&mut self, call_id: u32) -> Result<Pdu, RpcError> {
        loop {
            let fragment = self.read_fragment().await?;
            let mut pdus = self
                .reassembler
                .push(&fragment)
                .map_err(|e| self.wire(e))?
                .into_iter();
            // One fragment completes at most one PDU.
            if let Some(pdu) = pdus.next() {
                if pdu.call_id() != call_id {
                    return Err(self.wire(WireError::Unexpected {
                        what: "call_id",
                        got: format!("{} instead of {call_id}", pdu.call_id()),
                    }));
                }
                return Ok(pdu);
            }
        }
    }

    /// Reads exactly one fragment within the per-fragment timeout.
    async fn read_fragment(&mut self) -> Result<Vec<u8>, RpcError> {
        let (addr, timeout) = (self.addr, self.timeout);
        match tokio::time::timeout(timeout, read_one_fragment(&mut self.stream, addr)).await {
            Ok(result) => result,
            Err(_) => Err(RpcError::ReadTimeout { addr, timeout }),
        }
    }
}

/// Reads the 16-byte header, validates `frag_length`, then reads exactly the rest.
/// The buffer grows only as bytes arrive.
async fn read_one_fragment(stream: &mut TcpStream, addr: SocketAddr) -> Result<Vec<u8>, RpcError> {
    let mut header = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        let slot = header.get_mut(filled..).unwrap_or_default();
        let n = stream
            .read(slot)
            .await
            .map_err(|source| RpcError::Io { addr, source })?;
        if n == 0 {
            return Err(RpcError::Closed {
                addr,
                received: filled,
                expected: HEADER_LEN,
            });
        }
        filled += n;
    }
    let frag_len = frag_length_of(&header).map_err(|source| RpcError::Wire { addr, source })?;
    let mut fragment = Vec::with_capacity(HEADER_LEN);
    fragment.extend_from_slice(&header);
    let body_len = frag_len.saturating_sub(HEADER_LEN) as u64;
    (&mut *stream)
        .take(body_len)
        .read_to_end(&mut fragment)
        .await
        .map_err(|source| RpcError::Io { addr, source })?;
    if fragment.len() < frag_len {
        return Err(RpcError::Closed {
            addr,
            received: fragment.len(),
            expected: frag_len,
        });
    }
    Ok(fragment)
}
