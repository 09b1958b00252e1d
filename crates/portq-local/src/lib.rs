//! Place in the data flow (ARCHITECTURE.md): the *local* side — what this machine (or a
//! saved rule set) says, beside the network checks of `portq-probe`: the listening
//! sockets and their owners, the audit against server roles (`portq local --expect`),
//! and the firewall readers and evaluators behind the FIREWALL column and `portq audit`.
//! It sends no packet and decides nothing about other hosts.
//!
//! The local listener inventory behind `portq local`: every listening TCP socket and every
//! bound UDP socket of this machine (or network namespace), each with the process that
//! owns it when the operating system lets us see it, and an audit against server roles.
//!
//! The OS is reached through the [`ListenerSource`] trait so that tests can feed fixed
//! socket lists; [`SystemSource`] is the real one: the `listeners` crate names the owners,
//! and a second source lists every socket, so that sockets of processes we may not see
//! are still listed ("not attributed"): `/proc/net` on Linux, the IP Helper tables on
//! Windows. On Windows the services hosted in each process come from the Service
//! Control Manager.

// No `unsafe` anywhere but the Windows `winapi` module (IP Helper tables and the Service
// Control Manager), which allows it for itself.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod firewall;
pub mod iphelper;
pub mod procnet;
pub mod services;
#[cfg(windows)]
mod winapi;

use portq_catalog::Transport;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use thiserror::Error;

/// The process that owns a socket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Process name.
    pub name: String,
    /// Executable path, when readable.
    pub path: String,
    /// Windows services hosted in the process (empty elsewhere).
    pub services: Vec<String>,
}

/// A listening TCP socket or a bound UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LocalListener {
    /// TCP or UDP.
    pub transport: Transport,
    /// Local address and port.
    pub address: SocketAddr,
    /// The owning process, or `None` when it could not be attributed.
    pub owner: Option<Owner>,
}

impl LocalListener {
    /// True when only this machine can reach it (bound to a loopback address).
    pub fn loopback_only(&self) -> bool {
        self.address.ip().is_loopback()
    }
}

/// A snapshot of the machine's listeners.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// Listeners, sorted by transport, port and address.
    pub listeners: Vec<LocalListener>,
    /// Why some listeners have no owner (e.g. not running as root), when that happened.
    pub notes: Vec<String>,
}

impl Inventory {
    /// Builds a sorted, de-duplicated inventory.
    pub fn new(mut listeners: Vec<LocalListener>, notes: Vec<String>) -> Self {
        listeners.sort_by(|a, b| {
            (a.transport, a.address.port(), a.address).cmp(&(
                b.transport,
                b.address.port(),
                b.address,
            ))
        });
        listeners.dedup();
        Inventory { listeners, notes }
    }

    /// Listeners whose owner could not be determined.
    pub fn unattributed(&self) -> impl Iterator<Item = &LocalListener> {
        self.listeners.iter().filter(|l| l.owner.is_none())
    }
}

/// Why the inventory could not be taken.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The operating system refused or failed to list sockets.
    #[error("cannot list local sockets: {0}")]
    Os(String),
    /// This platform is not supported.
    #[error("listing local sockets is not supported on this platform")]
    Unsupported,
}

/// Where listeners come from.
pub trait ListenerSource {
    /// Takes a snapshot.
    fn snapshot(&self) -> Result<Inventory, LocalError>;
}

/// The real operating system.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemSource;

fn transport_of(p: listeners::Protocol) -> Transport {
    match p {
        listeners::Protocol::TCP => Transport::Tcp,
        listeners::Protocol::UDP => Transport::Udp,
    }
}

/// True for the sockets `portq local` lists: TCP in LISTEN, UDP bound and unconnected.
fn is_listening(transport: Transport, state: listeners::SocketState) -> bool {
    match transport {
        Transport::Tcp => state == listeners::SocketState::Listen,
        _ => !matches!(state, listeners::SocketState::Established),
    }
}

impl ListenerSource for SystemSource {
    fn snapshot(&self) -> Result<Inventory, LocalError> {
        if !listeners::IS_OS_SUPPORTED {
            return Err(LocalError::Unsupported);
        }
        let services = windows_services();
        let mut owners: BTreeMap<(Transport, SocketAddr), Owner> = BTreeMap::new();
        let mut notes = Vec::new();
        match listeners::get_all() {
            Ok(all) => {
                for l in all {
                    let t = transport_of(l.protocol);
                    if !is_listening(t, l.state) {
                        continue;
                    }
                    owners.insert(
                        (t, l.socket),
                        Owner {
                            pid: l.process.pid,
                            services: services.get(&l.process.pid).cloned().unwrap_or_default(),
                            name: l.process.name,
                            path: l.process.path,
                        },
                    );
                }
            }
            Err(e) => notes.push(format!("processes could not be attributed: {e}")),
        }
        // The system's own socket tables list sockets whose process we may not see.
        let (all_sockets, table_notes) = os_sockets();
        notes.extend(table_notes);
        let list = merge(owners, all_sockets, &services);
        let inv = Inventory::new(list, notes);
        let missing = inv.unattributed().count();
        let unnamed = inv
            .listeners
            .iter()
            .filter(|l| l.owner.as_ref().is_some_and(|o| o.name.is_empty()))
            .count();
        let mut inv = inv;
        let hint = if is_root() {
            ""
        } else {
            " (run as root/Administrator to see every process)"
        };
        for (count, what) in [
            (unnamed, "have a process id but no readable process name"),
            (missing, "could not be attributed to a process"),
        ] {
            if count > 0 {
                inv.notes.push(format!("{count} socket(s) {what}{hint}"));
            }
        }
        Ok(inv)
    }
}

#[cfg(target_os = "linux")]
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn is_root() -> bool {
    false
}

/// The listeners: those the `listeners` crate named an owner for, then every other socket of
/// the system's tables. Those keep the process id the table gives (Windows' IP Helper
/// does; 0 means it did not) with the services the Service Control Manager runs in that
/// process, which it tells without access to the process itself; their name stays empty.
fn merge(
    owners: BTreeMap<(Transport, SocketAddr), Owner>,
    sockets: Vec<OsSocket>,
    services: &BTreeMap<u32, Vec<String>>,
) -> Vec<LocalListener> {
    let mut list: Vec<LocalListener> = Vec::with_capacity(owners.len() + sockets.len());
    for (t, address, pid) in sockets {
        if owners.contains_key(&(t, address)) {
            continue;
        }
        list.push(LocalListener {
            transport: t,
            address,
            owner: pid.filter(|p| *p != 0).map(|pid| Owner {
                pid,
                name: String::new(),
                path: String::new(),
                services: services.get(&pid).cloned().unwrap_or_default(),
            }),
        });
    }
    list.extend(owners.into_iter().map(|((t, a), o)| LocalListener {
        transport: t,
        address: a,
        owner: Some(o),
    }));
    list
}

/// A listening socket from the system's own tables: transport, local address, and the
/// owning process id when the table gives one.
type OsSocket = (Transport, SocketAddr, Option<u32>);

/// Every listening socket from the system's own tables (with or without a nameable
/// owner), and notes on tables that could not be read.
#[cfg(target_os = "linux")]
fn os_sockets() -> (Vec<OsSocket>, Vec<String>) {
    let mut out = Vec::new();
    for (file, t, v6) in [
        ("/proc/net/tcp", Transport::Tcp, false),
        ("/proc/net/tcp6", Transport::Tcp, true),
        ("/proc/net/udp", Transport::Udp, false),
        ("/proc/net/udp6", Transport::Udp, true),
    ] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for s in procnet::parse(&text, v6) {
            let listening = match t {
                Transport::Tcp => s.state == procnet::TCP_LISTEN,
                _ => s.unconnected,
            };
            if listening {
                // /proc/net gives the socket's inode, not its process.
                out.push((t, s.local, None));
            }
        }
    }
    (out, Vec::new())
}

#[cfg(windows)]
fn os_sockets() -> (Vec<OsSocket>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for table in iphelper::Table::ALL {
        match winapi::socket_table(table) {
            Ok(bytes) => out.extend(
                iphelper::decode(table, &bytes)
                    .into_iter()
                    .filter(iphelper::Row::is_listening)
                    .map(|r| (r.transport, r.local, Some(r.pid))),
            ),
            Err(e) => notes.push(format!("cannot read the {table:?} socket table: {e}")),
        }
    }
    (out, notes)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn os_sockets() -> (Vec<OsSocket>, Vec<String>) {
    (Vec::new(), Vec::new())
}

#[cfg(windows)]
fn windows_services() -> BTreeMap<u32, Vec<String>> {
    winapi::running_services()
        .map(services::by_pid)
        .unwrap_or_default()
}

#[cfg(not(windows))]
fn windows_services() -> BTreeMap<u32, Vec<String>> {
    BTreeMap::new()
}

/// What changed between two snapshots, for `portq local --watch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A listener appeared.
    Added(LocalListener),
    /// A listener went away.
    Removed(LocalListener),
}

/// The listeners added and removed from `before` to `after`.
pub fn diff(before: &Inventory, after: &Inventory) -> Vec<Change> {
    let key = |l: &LocalListener| (l.transport, l.address, l.owner.as_ref().map(|o| o.pid));
    let old: BTreeMap<_, &LocalListener> = before.listeners.iter().map(|l| (key(l), l)).collect();
    let new: BTreeMap<_, &LocalListener> = after.listeners.iter().map(|l| (key(l), l)).collect();
    let mut out: Vec<Change> = new
        .iter()
        .filter(|(k, _)| !old.contains_key(k))
        .map(|(_, l)| Change::Added((*l).clone()))
        .collect();
    out.extend(
        old.iter()
            .filter(|(k, _)| !new.contains_key(k))
            .map(|(_, l)| Change::Removed((*l).clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(t: Transport, a: &str, pid: Option<u32>) -> LocalListener {
        LocalListener {
            transport: t,
            address: a.parse().unwrap(),
            owner: pid.map(|pid| Owner {
                pid,
                name: format!("p{pid}"),
                path: String::new(),
                services: vec![],
            }),
        }
    }

    /// A socket the listeners crate could not name keeps the table's process id and the
    /// SCM's services of that process (Windows, unelevated: RpcSs on 135 in a svchost);
    /// without a process id it stays unattributed; a named owner is kept as it is.
    #[test]
    fn sockets_without_a_named_owner_keep_the_tables_pid_and_its_services() {
        let named = l(Transport::Tcp, "0.0.0.0:3389", Some(7));
        let owners = BTreeMap::from([(
            (Transport::Tcp, named.address),
            named.owner.clone().unwrap(),
        )]);
        let services =
            BTreeMap::from([(1234, vec!["RpcEptMapper".to_string(), "RpcSs".to_string()])]);
        let sockets = vec![
            (Transport::Tcp, "0.0.0.0:135".parse().unwrap(), Some(1234)),
            (Transport::Tcp, "0.0.0.0:445".parse().unwrap(), Some(0)),
            (Transport::Udp, "0.0.0.0:53".parse().unwrap(), None),
            (Transport::Tcp, named.address, Some(9)),
        ];
        let inv = Inventory::new(merge(owners, sockets, &services), vec![]);
        let find = |t, a: &str| {
            inv.listeners
                .iter()
                .find(|l| l.transport == t && l.address == a.parse().unwrap())
                .unwrap()
        };
        let rpc = find(Transport::Tcp, "0.0.0.0:135").owner.clone().unwrap();
        assert_eq!((rpc.pid, rpc.name.as_str()), (1234, ""));
        assert_eq!(rpc.services, ["RpcEptMapper", "RpcSs"]);
        assert!(find(Transport::Tcp, "0.0.0.0:445").owner.is_none());
        assert!(find(Transport::Udp, "0.0.0.0:53").owner.is_none());
        assert_eq!(find(Transport::Tcp, "0.0.0.0:3389"), &named);
        assert_eq!(inv.listeners.len(), 4);
        assert_eq!(inv.unattributed().count(), 2);
    }

    #[test]
    fn inventory_sorts_and_dedups() {
        let inv = Inventory::new(
            vec![
                l(Transport::Udp, "0.0.0.0:53", Some(1)),
                l(Transport::Tcp, "0.0.0.0:445", Some(2)),
                l(Transport::Tcp, "0.0.0.0:445", Some(2)),
                l(Transport::Tcp, "127.0.0.1:88", None),
            ],
            vec![],
        );
        assert_eq!(inv.listeners.len(), 3);
        assert_eq!(inv.listeners[0].address.port(), 88);
        assert!(inv.listeners[0].loopback_only());
        assert_eq!(inv.unattributed().count(), 1);
    }

    /// Issue 14: every listening socket is listed, attributed or not, on every platform.
    /// The test's own TCP listener and UDP socket must appear with this process as owner
    /// where the platform names it. Under Wine (`PORTQ_WINE=1`, scripts/windows-test.sh)
    /// a socket opened by a Linux process (`PORTQ_WINE_FOREIGN_TCP`), whose owner Windows
    /// cannot name, must appear too: the Windows code once listed only what the listeners
    /// crate could attribute, and dropped it.
    #[test]
    fn system_snapshot_lists_every_socket() {
        if !listeners::IS_OS_SUPPORTED {
            eprintln!("system_snapshot_lists_every_socket: not run (unsupported platform)");
            return;
        }
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let inv = SystemSource.snapshot().unwrap();
        let find = |t: Transport, port: u16| {
            inv.listeners
                .iter()
                .find(|l| l.transport == t && l.address.port() == port)
        };
        let mine = std::process::id();
        for (t, addr) in [
            (Transport::Tcp, tcp.local_addr().unwrap()),
            (Transport::Udp, udp.local_addr().unwrap()),
        ] {
            let l = find(t, addr.port()).unwrap_or_else(|| panic!("{t:?} {addr} not listed"));
            if let Some(o) = &l.owner {
                assert_eq!(o.pid, mine, "{l:?}");
            }
        }
        match std::env::var("PORTQ_WINE_FOREIGN_TCP") {
            Ok(p) => {
                let port: u16 = p.parse().unwrap();
                assert!(
                    find(Transport::Tcp, port).is_some(),
                    "the Linux process's listener on {port} is missing: {:?}",
                    inv.listeners
                );
            }
            Err(_) if std::env::var("PORTQ_WINE").is_ok() => {
                panic!("PORTQ_WINE=1 needs PORTQ_WINE_FOREIGN_TCP")
            }
            Err(_) => {}
        }
    }

    /// Issue 14: services per process come from the Service Control Manager, whatever
    /// the display language. Under Wine the old `tasklist /svc` parsing found nothing
    /// (Wine's tasklist prints no services); the SCM names Wine's running services.
    #[cfg(windows)]
    #[test]
    fn services_per_process_come_from_the_scm() {
        let by_pid = windows_services();
        assert!(!by_pid.is_empty(), "no service in any process");
        assert!(by_pid.keys().all(|pid| *pid != 0));
        assert!(by_pid.values().flatten().all(|name| !name.is_empty()));
    }

    #[test]
    fn diff_reports_appearing_and_disappearing() {
        let a = Inventory::new(vec![l(Transport::Tcp, "0.0.0.0:445", Some(2))], vec![]);
        let b = Inventory::new(vec![l(Transport::Tcp, "0.0.0.0:3389", Some(3))], vec![]);
        let d = diff(&a, &b);
        assert_eq!(d.len(), 2);
        assert!(matches!(&d[0], Change::Added(x) if x.address.port() == 3389));
        assert!(matches!(&d[1], Change::Removed(x) if x.address.port() == 445));
        assert!(diff(&a, &a).is_empty());
    }
}
