//! Helpers shared by the `check_*` integration tests.
//!
//! Network safety: the fake servers bind `127.0.0.1:0` and the tests probe only the
//! ports they got; "closed" ports are ports a test bound and released a moment ago.
//! Sweeps go to a host in a network namespace the test creates ([`Netns`]), never
//! to loopback. Every server stops by itself (bounded connections and lifetime).
#![allow(dead_code)]

pub mod fixtures;

use std::future::Future;
use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portq_probe::{
    CheckOptions, EngineSummary, Finding, PortSpec, ProbeKind, ResolvedTargets, Target, Transport,
};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// How long any fake server lives at most.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(30);
/// How many datagrams or connections a fake server handles at most.
pub const SERVER_MAX: usize = 64;

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// True when running under Wine (scripts/windows-test.sh sets `PORTQ_WINE=1`).
pub fn wine() -> bool {
    cfg!(windows) && std::env::var("PORTQ_WINE").as_deref() == Ok("1")
}

/// True under Wine: prints why `test` does not run there.
pub fn under_wine(test: &str, why: &str) -> bool {
    let wine = wine();
    if wine {
        eprintln!("NOT RUN under Wine: {test}: {why}");
    }
    wine
}

/// Options with short timeouts for loopback tests.
pub fn fast_opts() -> CheckOptions {
    CheckOptions {
        timeout: Duration::from_millis(200),
        probe_timeout: Duration::from_secs(2),
        ..CheckOptions::default()
    }
}

/// Checks the given ports of one address and returns the sorted findings and summary.
pub async fn check_ports(
    address: IpAddr,
    ports: &[(Transport, u16)],
    opts: CheckOptions,
) -> (Vec<Finding>, EngineSummary) {
    let targets = ResolvedTargets::from_targets([Target {
        host: address.to_string(),
        address,
    }]);
    let spec = PortSpec::from_ports(ports.iter().copied()).unwrap();
    portq_probe::start_resolved(targets, spec, opts)
        .collect()
        .await
}

/// Checks one loopback port with `probe` forced on it.
pub async fn check_one(
    transport: Transport,
    port: u16,
    probe: Option<ProbeKind>,
    opts: CheckOptions,
) -> Finding {
    let opts = match probe {
        Some(p) => opts.with_probe(port, p),
        None => opts,
    };
    let (mut f, summary) = check_ports(LOOPBACK, &[(transport, port)], opts).await;
    assert_eq!(
        summary.failure_count, 0,
        "local failures: {:?}",
        summary.failures
    );
    assert_eq!(f.len(), 1, "{f:?}");
    f.remove(0)
}

/// A TCP port on loopback that was just bound and released: connecting is refused.
pub fn closed_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap().port()
}

/// `n` distinct closed TCP ports (a released port may come back from the kernel twice).
pub fn closed_tcp_ports(n: usize) -> Vec<u16> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let p = closed_tcp_port();
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

/// A UDP port on loopback that was just bound and released: ICMP port unreachable.
pub fn closed_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    s.local_addr().unwrap().port()
}

/// A UDP server on loopback answering each datagram with `reply(request)` (or not, for
/// `None`). Stops after [`SERVER_MAX`] datagrams or [`SERVER_LIFETIME`].
pub async fn udp_server<F>(reply: F) -> u16
where
    F: Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
{
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = sock.local_addr().unwrap().port();
    tokio::spawn(async move {
        let serve = async {
            let mut buf = vec![0u8; 65536];
            for _ in 0..SERVER_MAX {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                if let Some(r) = reply(&buf[..n]) {
                    let _ = sock.send_to(&r, from).await;
                }
            }
        };
        let _ = tokio::time::timeout(SERVER_LIFETIME, serve).await;
    });
    port
}

/// A TCP server on loopback running `handler` on each connection. Stops after
/// [`SERVER_MAX`] connections or [`SERVER_LIFETIME`].
pub async fn tcp_server<F, Fut>(handler: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let serve = async {
            for _ in 0..SERVER_MAX {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(tokio::time::timeout(SERVER_LIFETIME, handler(stream)));
            }
        };
        let _ = tokio::time::timeout(SERVER_LIFETIME, serve).await;
    });
    port
}

/// A server that reads the request (up to `read` bytes, briefly) and answers `reply`.
pub async fn tcp_replying(reply: Vec<u8>) -> u16 {
    tcp_server(move |mut s| {
        let reply = reply.clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = vec![0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await;
            let _ = s.write_all(&reply).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
}

/// True when the tests may create network namespaces (root, `ip` present).
pub fn can_make_netns() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    root && Command::new("ip")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Skips (with a line saying so) unless namespaces can be made; fails instead when
/// `PORTQ_NETNS_REQUIRED=1`.
pub fn require_netns(test: &str) -> bool {
    if can_make_netns() {
        return true;
    }
    if std::env::var("PORTQ_NETNS_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: PORTQ_NETNS_REQUIRED=1 but network namespaces cannot be created here");
    }
    eprintln!("{test}: not run (needs root and `ip` to create a network namespace)");
    false
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace with one veth link to the host: `host_ip` on our side,
/// `ns_ip` inside. No default route, so nothing sent there can leave the machine.
/// Deleted on drop.
pub struct Netns {
    pub name: String,
    pub host_if: String,
    pub host_ip: Ipv4Addr,
    pub ns_ip: Ipv4Addr,
    child: Option<Child>,
}

impl Netns {
    /// Creates `pqt-<pid>-<tag>` with 10.203.N.1/24 (host) and 10.203.N.2/24 (inside),
    /// N derived from the pid and `tag` so concurrent test binaries do not collide.
    pub fn create(tag: u8) -> Netns {
        let pid = std::process::id();
        let n = ((pid % 60) * 4 + u32::from(tag % 4)) as u8;
        let name = format!("pqt-{pid}-{tag}");
        let host_if = format!("pq{}{}h", pid % 1_000_000, tag % 10);
        let ns_if = format!("pq{}{}n", pid % 1_000_000, tag % 10);
        let host_ip = Ipv4Addr::new(10, 203, n, 1);
        let ns_ip = Ipv4Addr::new(10, 203, n, 2);
        remove_stale_namespaces();
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns {
            name: name.clone(),
            host_if: host_if.clone(),
            host_ip,
            ns_ip,
            child: None,
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        ip(&["link", "set", &ns_if, "netns", &name]);
        ip(&["addr", "add", &format!("{host_ip}/24"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{ns_ip}/24"),
            "dev",
            &ns_if,
        ]);
        ip(&["-n", &name, "link", "set", &ns_if, "up"]);
        ns
    }

    /// Runs this test binary's `test_name` inside the namespace as a listener child
    /// (see [`listener_child_main`]) serving TCP `ports` on the namespace address, and
    /// waits until it listens.
    pub fn start_listeners(&mut self, test_name: &str, ports: &[u16]) {
        let exe = std::env::current_exe().unwrap();
        let list: Vec<String> = ports.iter().map(u16::to_string).collect();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(LISTENER_ENV_ADDR, self.ns_ip.to_string())
            .env(LISTENER_ENV_PORTS, list.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .take(100)
            .map_while(Result::ok)
            .any(|l| l.contains(LISTENER_READY));
        assert!(ready, "listener child did not get ready");
        self.child = Some(child);
    }

    pub fn socket(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ns_ip), port)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
        // Spawning `ip` can fail for a moment (a test exhausting descriptors): retry.
        for _ in 0..20 {
            let deleted = Command::new("ip")
                .args(["netns", "del", &self.name])
                .status()
                .is_ok();
            let _ = Command::new("ip")
                .args(["link", "del", &self.host_if])
                .status();
            if deleted {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Deletes `pqt-<pid>-<tag>` namespaces (and their veth) left by test processes that
/// no longer exist (a run killed before its clean-up).
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let mut parts = name.strip_prefix("pqt-").unwrap_or("").split('-');
        let (Some(Ok(pid)), Some(Ok(tag))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u8>),
        ) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        let host_if = format!("pq{}{}h", pid % 1_000_000, tag % 10);
        let _ = Command::new("ip").args(["link", "del", &host_if]).status();
    }
}

/// Set (to the test's name) in a child started by [`run_isolated`].
const ISOLATED_ENV: &str = "PORTQ_TEST_ISOLATED";

/// True inside the child process [`run_isolated`] started for `test_name`: the test then
/// runs its body, which may change process-wide state (rlimits, descriptors, signals,
/// the environment, the working directory) without touching the other tests.
pub fn in_isolated_child(test_name: &str) -> bool {
    std::env::var(ISOLATED_ENV).as_deref() == Ok(test_name)
}

/// Runs this test binary's `test_name` alone in a child process (which sees
/// [`in_isolated_child`] true) and fails unless it passes. The child is bounded: killed
/// after 10 minutes.
pub fn run_isolated(test_name: &str) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(ISOLATED_ENV, test_name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut out);
        out
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{test_name}: the isolated child ran past 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap_or_default();
    print!("{out}");
    assert!(status.success(), "{test_name}: the isolated child failed");
    // The child must have run exactly that one test, not filtered everything out.
    assert!(
        out.contains("1 passed"),
        "{test_name}: the isolated child ran no test:\n{out}"
    );
}

pub const LISTENER_ENV_ADDR: &str = "PORTQ_TEST_LISTENER_ADDR";
pub const LISTENER_ENV_PORTS: &str = "PORTQ_TEST_LISTENER_PORTS";
pub const LISTENER_READY: &str = "PORTQ-LISTENER-READY";

/// The body of the listener child test: a no-op unless started by
/// [`Netns::start_listeners`]. Listens, says so, accepts and closes connections until
/// its stdin closes or 5 minutes pass.
pub fn listener_child_main() {
    let (Ok(addr), Ok(ports)) = (
        std::env::var(LISTENER_ENV_ADDR),
        std::env::var(LISTENER_ENV_PORTS),
    ) else {
        return;
    };
    let addr: IpAddr = addr.parse().unwrap();
    let ports: Vec<u16> = ports.split(',').map(|p| p.parse().unwrap()).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut tasks = Vec::new();
        for p in ports {
            let l = TcpListener::bind((addr, p)).await.unwrap();
            tasks.push(tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    drop(s);
                }
            }));
        }
        println!("\n{LISTENER_READY}");
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                sink.clear();
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(300), stdin_closed).await;
        for t in tasks {
            t.abort();
        }
    });
    std::process::exit(0);
}

/// `count` distinct pseudo-random ports of 1-65535 from `seed` (xorshift).
pub fn random_ports(count: usize, seed: u64) -> Vec<u16> {
    let mut x = seed | 1;
    let mut set = std::collections::BTreeSet::new();
    while set.len() < count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = (x % 65535) as u16 + 1;
        set.insert(p);
    }
    set.into_iter().collect()
}
