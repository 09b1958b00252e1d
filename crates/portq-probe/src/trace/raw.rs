//! The trace's sockets and its send-and-collect loop: raw IPv4 out (header included),
//! raw ICMP, TCP and UDP in. Linux only; other systems get
//! [`TraceError::Unsupported`].

use super::model::{PortTrace, TraceError, TraceOptions, TraceRequest};

#[cfg(not(target_os = "linux"))]
pub(super) fn check_privilege() -> Result<(), TraceError> {
    Err(UNSUPPORTED)
}

#[cfg(not(target_os = "linux"))]
pub(super) async fn run(
    _requests: &[TraceRequest],
    _opts: &TraceOptions,
) -> Result<Vec<PortTrace>, TraceError> {
    Err(UNSUPPORTED)
}

#[cfg(not(target_os = "linux"))]
const UNSUPPORTED: TraceError = TraceError::Unsupported(
    "portq trace runs on Linux only: Windows does not let a program send TCP over raw \
     sockets, and the trace must send SYNs to the port itself (tracert and \
     Test-NetConnection -TraceRoute trace ICMP only); run the trace from a Linux host \
     on the same path",
);

#[cfg(target_os = "linux")]
pub(super) use linux::{check_privilege, run};

#[cfg(target_os = "linux")]
mod linux {
    use super::super::verdict::{Answer, FlowLog, Observation, Verdict, decide};
    use super::super::wire::{self, IcmpKind, ProbeHeader, Reply};
    use super::{PortTrace, TraceError, TraceOptions, TraceRequest};
    use crate::finding::Transport;
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::io::Read;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    use tokio::sync::mpsc;
    use tokio::time::Instant;

    /// Answers kept per UDP port (they quote no probe, so they are not one per probe).
    const UDP_ANSWERS_KEPT: usize = 16;
    /// Replies waiting for the loop at most; beyond, a flood is dropped and counted.
    const QUEUE: usize = 8192;
    /// Extra rounds that look again just past a silent port's last hop.
    const CONFIRM_ROUNDS: u8 = 2;

    fn raw(proto: i32) -> Result<Socket, TraceError> {
        Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(proto))).map_err(|e| {
            if matches!(e.raw_os_error(), Some(1 | 13)) {
                TraceError::NoPrivilege
            } else {
                TraceError::Io(e)
            }
        })
    }

    pub(in super::super) fn check_privilege() -> Result<(), TraceError> {
        raw(libc_proto::ICMP).map(drop)
    }

    /// IPv4 protocol numbers as socket2 takes them.
    mod libc_proto {
        pub const ICMP: i32 = 1;
        pub const TCP: i32 = 6;
        pub const UDP: i32 = 17;
        pub const RAW: i32 = 255;
    }

    /// One traced port: its flow and what came back.
    struct Flow {
        request: usize,
        src: Ipv4Addr,
        src_port: u16,
        dst: Ipv4Addr,
        port: u16,
        transport: Transport,
        payload: Vec<u8>,
        log: FlowLog,
        /// Keeps the source port ours (and takes UDP answers so no port-unreachable goes
        /// back) for the whole trace.
        _reserved: Socket,
    }

    /// What a probe was, for the answer that quotes it.
    struct Sent {
        flow: usize,
        ttl: u8,
        at: Instant,
        answered_by: Option<Ipv4Addr>,
    }

    /// A probe's key as its answers carry it: (target, port, source port, TCP
    /// sequence or IPv4 identification).
    type Key = (Ipv4Addr, u16, u16, u32);

    struct Run {
        flows: Vec<Flow>,
        sent: HashMap<Key, Sent>,
        /// (target, port, source port) → flow.
        by_flow: HashMap<(Ipv4Addr, u16, u16), usize>,
        /// Probes sent and not yet answered.
        pending: usize,
        send: Socket,
        gap: Duration,
        next_send: Instant,
    }

    /// This machine's address toward `dst` (a connected UDP socket sends nothing).
    fn source_for(dst: Ipv4Addr, port: u16, bind: Option<IpAddr>) -> std::io::Result<Ipv4Addr> {
        let local = match bind {
            Some(IpAddr::V4(a)) => SocketAddr::from((a, 0)),
            _ => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        };
        let s = UdpSocket::bind(local)?;
        s.connect((dst, port.max(1)))?;
        match s.local_addr()?.ip() {
            IpAddr::V4(a) => Ok(a),
            IpAddr::V6(_) => Err(std::io::Error::other("no IPv4 source address")),
        }
    }

    /// A socket holding a source port for the flow: `(socket, port)`.
    fn reserve(src: Ipv4Addr, transport: Transport) -> std::io::Result<(Socket, u16)> {
        let (ty, proto) = match transport {
            Transport::Udp => (Type::DGRAM, Protocol::UDP),
            _ => (Type::STREAM, Protocol::TCP),
        };
        let s = Socket::new(Domain::IPV4, ty, Some(proto))?;
        s.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
        let port = s
            .local_addr()?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("no local port"))?;
        Ok((s, port))
    }

    impl Run {
        async fn send_probe(&mut self, f: usize, ttl: u8) {
            let now = Instant::now();
            if self.next_send > now {
                tokio::time::sleep_until(self.next_send).await;
            }
            self.next_send = Instant::now().max(self.next_send) + self.gap;
            // Unpredictable keys: a host that sees one probe cannot forge an answer to
            // another (consecutive numbers would be guessed).
            let flow = &mut self.flows[f];
            let mut id = crate::probes::nonce();
            for _ in 0..8 {
                let k = match flow.transport {
                    Transport::Udp => id & 0xffff,
                    _ => id,
                };
                if k != 0
                    && !self
                        .sent
                        .contains_key(&(flow.dst, flow.port, flow.src_port, k))
                {
                    break;
                }
                id = crate::probes::nonce();
            }
            let h = ProbeHeader {
                src: flow.src,
                dst: flow.dst,
                ttl,
                ip_id: (id & 0xffff) as u16,
                src_port: flow.src_port,
                dst_port: flow.port,
            };
            let (bytes, id) = match flow.transport {
                Transport::Udp => (wire::udp(&h, &flow.payload), u32::from(h.ip_id)),
                _ => (wire::tcp_syn(&h, id), id),
            };
            let to = SockAddr::from(SocketAddrV4::new(flow.dst, 0));
            // Before the send: the reader thread may stamp the answer before this task
            // gets past `send_to`.
            let at = Instant::now();
            if self.send.send_to(&bytes, &to).is_err() {
                // Nothing left: a full send buffer or no route; the TTL stays silent.
                return;
            }
            *flow.log.sent.entry(ttl).or_insert(0) += 1;
            self.pending += 1;
            self.sent.insert(
                (flow.dst, flow.port, flow.src_port, id),
                Sent {
                    flow: f,
                    ttl,
                    at,
                    answered_by: None,
                },
            );
        }

        fn take(&mut self, at: Instant, reply: Reply) {
            let (key, from, answer) = match reply {
                Reply::Icmp { from, kind, quote } => {
                    let id = match quote.proto {
                        wire::PROTO_TCP => quote.word,
                        wire::PROTO_UDP => u32::from(quote.ip_id),
                        _ => return,
                    };
                    let answer = match kind {
                        IcmpKind::TimeExceeded => Answer::TimeExceeded,
                        IcmpKind::Unreachable(c) => Answer::Unreachable(c),
                    };
                    let key = (quote.dst, quote.dst_port, quote.src_port, id);
                    // The quote must be our packet whole: source and protocol too.
                    match self.sent.get(&key).map(|s| &self.flows[s.flow]) {
                        Some(f)
                            if f.src == quote.src
                                && (quote.proto == wire::PROTO_UDP)
                                    == (f.transport == Transport::Udp) => {}
                        _ => return,
                    }
                    (key, from, answer)
                }
                Reply::Tcp {
                    from,
                    src_port,
                    dst_port,
                    ack,
                    syn_ack,
                    rst,
                } => {
                    if !(syn_ack || rst) {
                        return;
                    }
                    let key = (from, src_port, dst_port, ack.wrapping_sub(1));
                    match self.sent.get(&key).map(|s| self.flows[s.flow].transport) {
                        Some(Transport::Tcp) => {}
                        _ => return,
                    }
                    (
                        key,
                        from,
                        if syn_ack { Answer::SynAck } else { Answer::Rst },
                    )
                }
                Reply::Udp {
                    from,
                    src_port,
                    dst_port,
                } => {
                    if let Some(&f) = self.by_flow.get(&(from, src_port, dst_port)) {
                        let flow = &mut self.flows[f];
                        if flow.transport == Transport::Udp
                            && flow
                                .log
                                .observations
                                .iter()
                                .filter(|o| o.ttl.is_none())
                                .count()
                                < UDP_ANSWERS_KEPT
                        {
                            flow.log.observations.push(Observation {
                                ttl: None,
                                from,
                                answer: Answer::UdpReply,
                                rtt: None,
                            });
                        }
                    }
                    return;
                }
            };
            let Some(sent) = self.sent.get_mut(&key) else {
                return;
            };
            let flow = &mut self.flows[sent.flow];
            match sent.answered_by {
                Some(first) => {
                    if first != from {
                        flow.log.conflicts = flow.log.conflicts.saturating_add(1);
                    }
                }
                None => {
                    sent.answered_by = Some(from);
                    self.pending = self.pending.saturating_sub(1);
                    flow.log.observations.push(Observation {
                        ttl: Some(sent.ttl),
                        from,
                        answer,
                        rtt: Some(at.saturating_duration_since(sent.at)),
                    });
                }
            }
        }

        /// Takes what the receivers queued until `until`, or until every probe sent so
        /// far is answered.
        async fn collect(&mut self, rx: &mut mpsc::Receiver<(Instant, Reply)>, until: Instant) {
            loop {
                if self.pending == 0 {
                    return;
                }
                tokio::select! {
                    got = rx.recv() => match got {
                        Some((at, reply)) => self.take(at, reply),
                        None => { tokio::time::sleep_until(until).await; return; }
                    },
                    _ = tokio::time::sleep_until(until) => return,
                }
            }
        }

        fn drain(&mut self, rx: &mut mpsc::Receiver<(Instant, Reply)>) {
            while let Ok((at, reply)) = rx.try_recv() {
                self.take(at, reply);
            }
        }

        /// The highest TTL this flow still needs: where it was reached or rejected,
        /// else two past the farthest answer from its target's path, else `max`.
        fn top(&self, f: usize, max: u8) -> u8 {
            let flow = &self.flows[f];
            let (v, _, _) = decide(&flow.log);
            match v {
                Verdict::Reached {
                    hop,
                    hop_inferred: false,
                    ..
                } => hop,
                Verdict::Rejected { .. } => flow
                    .log
                    .observations
                    .iter()
                    .filter(|o| matches!(o.answer, Answer::Unreachable(_)))
                    .filter_map(|o| o.ttl)
                    .min()
                    .unwrap_or(max),
                _ => {
                    let farthest = self
                        .flows
                        .iter()
                        .filter(|g| g.dst == flow.dst)
                        .flat_map(|g| g.log.observations.iter().filter_map(|o| o.ttl))
                        .max();
                    farthest.map_or(max, |t| t.saturating_add(2).min(max))
                }
            }
        }
    }

    /// Tells the reader threads to end however the run ends.
    struct StopOnDrop(Arc<AtomicBool>);

    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    /// Reads one raw socket into the queue on its own thread until `stop`, keeping
    /// only what names a target of the run. A blocking read with a short timeout: no
    /// unsafe registration with the reactor, and the thread ends within 100 ms of `stop`.
    fn spawn_reader(
        sock: Socket,
        targets: Arc<HashSet<Ipv4Addr>>,
        tx: mpsc::Sender<(Instant, Reply)>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        std::thread::Builder::new()
            .name("portq-trace-rx".into())
            .spawn(move || {
                let mut buf = vec![0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    let n = match (&sock).read(&mut buf) {
                        Ok(n) => n,
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock
                                    | std::io::ErrorKind::TimedOut
                                    | std::io::ErrorKind::Interrupted
                            ) =>
                        {
                            continue;
                        }
                        Err(_) => return,
                    };
                    let at = Instant::from_std(std::time::Instant::now());
                    let Some(reply) = buf.get(..n).and_then(wire::parse) else {
                        continue;
                    };
                    let wanted = match reply {
                        Reply::Icmp { quote, .. } => targets.contains(&quote.dst),
                        Reply::Tcp { from, .. } | Reply::Udp { from, .. } => {
                            targets.contains(&from)
                        }
                    };
                    // A full queue drops the reply: a flood costs it nothing more.
                    if wanted && tx.try_send((at, reply)).is_err() && tx.is_closed() {
                        return;
                    }
                }
            })
    }

    pub(in super::super) async fn run(
        requests: &[TraceRequest],
        opts: &TraceOptions,
    ) -> Result<Vec<PortTrace>, TraceError> {
        let send = raw(libc_proto::RAW)?;
        let readers = [
            raw(libc_proto::ICMP)?,
            raw(libc_proto::TCP)?,
            raw(libc_proto::UDP)?,
        ];
        let mut out: Vec<Option<PortTrace>> = vec![None; requests.len()];
        let mut flows = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let IpAddr::V4(dst) = r.address else {
                out[i] = Some(PortTrace::not_traced(r, "IPv6 paths are not traced yet"));
                continue;
            };
            let src = match source_for(dst, r.port, opts.source) {
                Ok(s) => s,
                Err(e) => {
                    out[i] = Some(PortTrace::not_traced(r, &format!("no route: {e}")));
                    continue;
                }
            };
            let (reserved, src_port) = reserve(src, r.transport)?;
            let payload = match r.transport {
                Transport::Udp => {
                    crate::probes::udp_request(r.probe, &r.host, r.address, r.port, &opts.community)
                }
                _ => Vec::new(),
            };
            flows.push(Flow {
                request: i,
                src,
                src_port,
                dst,
                port: r.port,
                transport: r.transport,
                payload,
                log: FlowLog {
                    target: dst,
                    transport: r.transport,
                    sent: BTreeMap::new(),
                    observations: Vec::new(),
                    conflicts: 0,
                },
                _reserved: reserved,
            });
        }
        let targets: Arc<HashSet<Ipv4Addr>> = Arc::new(flows.iter().map(|f| f.dst).collect());
        let (tx, mut rx) = mpsc::channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let _stop_on_return = StopOnDrop(Arc::clone(&stop));
        let mut threads = Vec::new();
        for sock in readers {
            threads.push(spawn_reader(
                sock,
                Arc::clone(&targets),
                tx.clone(),
                Arc::clone(&stop),
            )?);
        }
        drop(tx);
        let by_flow = flows
            .iter()
            .enumerate()
            .map(|(i, f)| ((f.dst, f.port, f.src_port), i))
            .collect();
        let mut run = Run {
            flows,
            sent: HashMap::new(),
            by_flow,
            pending: 0,
            send,
            gap: Duration::from_secs_f64(1.0 / f64::from(opts.rate.max(1))),
            next_send: Instant::now(),
        };
        let first = opts.first_ttl;
        for round in 0..opts.probes {
            for f in 0..run.flows.len() {
                let top = if round == 0 {
                    opts.max_ttl
                } else {
                    run.top(f, opts.max_ttl)
                };
                for ttl in first..=top {
                    run.send_probe(f, ttl).await;
                    run.drain(&mut rx);
                }
            }
            let until = Instant::now() + opts.wait;
            run.collect(&mut rx, until).await;
        }
        // A silent port: look again just past its last hop, spaced so a router's ICMP
        // rate limit can refill between looks.
        for _ in 0..CONFIRM_ROUNDS {
            let mut any = false;
            for f in 0..run.flows.len() {
                let (v, _, _) = decide(&run.flows[f].log);
                if let Verdict::Silent {
                    first_silent_hop, ..
                } = v
                {
                    let last = first_silent_hop.saturating_add(1).min(opts.max_ttl);
                    for ttl in first_silent_hop.max(first)..=last {
                        run.send_probe(f, ttl).await;
                        any = true;
                    }
                }
            }
            if !any {
                break;
            }
            let until = Instant::now() + opts.wait;
            run.collect(&mut rx, until).await;
        }
        // The readers end within their read timeout (`_stop_on_return`); not joined.
        drop(rx);
        drop(threads);
        for flow in &run.flows {
            let r = &requests[flow.request];
            let (verdict, hops, path_varies) = decide(&flow.log);
            out[flow.request] = Some(PortTrace {
                host: r.host.clone(),
                address: r.address,
                port: r.port,
                transport: r.transport,
                reference: r.reference,
                source_port: Some(flow.src_port),
                verdict,
                hops,
                path_varies,
                probes_sent: flow.log.sent.values().sum(),
            });
        }
        Ok(out
            .into_iter()
            .zip(requests)
            .map(|(t, r)| t.unwrap_or_else(|| PortTrace::not_traced(r, "not sent")))
            .collect())
    }
}
