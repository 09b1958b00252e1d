//! The Windows OS module: the only `unsafe` code of portq-probe, kept to the two calls
//! that have no safe wrapper in a well-kept crate.
//!
//! - [`socket_table`] copies an IP Helper table (`GetExtendedTcpTable` /
//!   `GetExtendedUdpTable`, owner-pid classes) into bytes; [`super::iphelper`] decodes them
//!   without `unsafe`.
//! - [`running_services`] asks the Service Control Manager (`EnumServicesStatusExW`,
//!   `SC_ENUM_PROCESS_INFO`) for every running Win32 service and its process id.
//!
//! Every buffer is owned by Rust, sized by what the call says it needs, and read only
//! within its bounds; every loop is bounded. Both run for real under Wine in CI
//! (`local::tests` and the `portq local` smoke run of scripts/windows-test.sh).
#![allow(unsafe_code)]

use super::iphelper::Table;
use std::io;
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, ERROR_MORE_DATA, NO_ERROR};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GetExtendedTcpTable, GetExtendedUdpTable, TCP_TABLE_OWNER_PID_ALL, UDP_TABLE_OWNER_PID,
};
use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ENUM_SERVICE_STATUS_PROCESSW, EnumServicesStatusExW, OpenSCManagerW,
    SC_ENUM_PROCESS_INFO, SC_HANDLE, SC_MANAGER_ENUMERATE_SERVICE, SERVICE_ACTIVE, SERVICE_WIN32,
};

/// Attempts at a table that keeps growing between the size query and the copy.
const TABLE_ATTEMPTS: usize = 8;
/// Calls to `EnumServicesStatusExW` at most (each returns up to one buffer of services).
const SCM_CALLS: usize = 64;
/// The SCM buffer size asked for first (the call's own maximum is 256 KiB).
const SCM_BUFFER: usize = 64 * 1024;

/// The raw bytes of one IP Helper table.
pub fn socket_table(table: Table) -> io::Result<Vec<u8>> {
    let af = u32::from(if table.is_v6() { AF_INET6 } else { AF_INET });
    let mut want: u32 = 16 * 1024;
    for _ in 0..TABLE_ATTEMPTS {
        let mut buf: Vec<u32> = vec![0; (want as usize).div_ceil(4)];
        let mut size = u32::try_from(buf.len() * 4).unwrap_or(u32::MAX);
        let ptr = buf.as_mut_ptr().cast();
        // SAFETY: `ptr` points to `size` writable bytes owned by `buf`, which outlives the
        // call; `size` is a valid in/out pointer; the other arguments are plain values.
        let rc = unsafe {
            if table.transport() == portq_catalog::Transport::Tcp {
                GetExtendedTcpTable(ptr, &mut size, 0, af, TCP_TABLE_OWNER_PID_ALL, 0)
            } else {
                GetExtendedUdpTable(ptr, &mut size, 0, af, UDP_TABLE_OWNER_PID, 0)
            }
        };
        match rc {
            NO_ERROR => return Ok(buf.iter().flat_map(|w| w.to_ne_bytes()).collect()),
            // The table grew: ask again with what it needs now and some room.
            ERROR_INSUFFICIENT_BUFFER => want = size.saturating_add(4096),
            e => return Err(io::Error::from_raw_os_error(e as i32)),
        }
    }
    Err(io::Error::other("the socket table kept growing"))
}

/// Closes an SCM handle when dropped.
struct ScHandle(SC_HANDLE);

impl Drop for ScHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenSCManagerW, is not null and is closed once.
        unsafe {
            CloseServiceHandle(self.0);
        }
    }
}

/// Every running Win32 service: `(key name, process id)`.
pub fn running_services() -> io::Result<Vec<(String, u32)>> {
    // SAFETY: null machine and database names mean the local, active database.
    let scm = unsafe {
        OpenSCManagerW(
            std::ptr::null(),
            std::ptr::null(),
            SC_MANAGER_ENUMERATE_SERVICE,
        )
    };
    if scm.is_null() {
        return Err(io::Error::last_os_error());
    }
    let scm = ScHandle(scm);
    let mut out = Vec::new();
    let mut resume: u32 = 0;
    let mut want = SCM_BUFFER;
    for _ in 0..SCM_CALLS {
        // u64 words: the entries hold pointers and need their alignment.
        let mut buf: Vec<u64> = vec![0; want.div_ceil(8)];
        let bytes = buf.len() * 8;
        let (mut needed, mut returned) = (0u32, 0u32);
        // SAFETY: `buf` provides `bytes` writable, 8-aligned bytes and outlives the call;
        // the out-pointers are valid locals; a null group name means every group.
        let ok = unsafe {
            EnumServicesStatusExW(
                scm.0,
                SC_ENUM_PROCESS_INFO,
                SERVICE_WIN32,
                SERVICE_ACTIVE,
                buf.as_mut_ptr().cast(),
                u32::try_from(bytes).unwrap_or(u32::MAX),
                &mut needed,
                &mut returned,
                &mut resume,
                std::ptr::null(),
            )
        };
        let more = ok == 0 && {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(ERROR_MORE_DATA as i32) {
                return Err(e);
            }
            true
        };
        read_entries(&buf, returned as usize, &mut out);
        if !more {
            return Ok(out);
        }
        if returned == 0 {
            want = (needed as usize).max(want);
        }
    }
    Ok(out)
}

/// Reads `count` `ENUM_SERVICE_STATUS_PROCESSW` entries from the start of `buf`; their
/// names point into the same buffer and are read only inside it.
fn read_entries(buf: &[u64], count: usize, out: &mut Vec<(String, u32)>) {
    let bytes = std::mem::size_of_val(buf);
    let count = count.min(bytes / std::mem::size_of::<ENUM_SERVICE_STATUS_PROCESSW>());
    let base = buf.as_ptr() as usize;
    // SAFETY: `count` entries fit inside `buf` (checked above), which is 8-aligned like
    // the entry type, and the SCM wrote them; the u16 view covers the same bytes.
    let (entries, wide) = unsafe {
        (
            std::slice::from_raw_parts(buf.as_ptr().cast::<ENUM_SERVICE_STATUS_PROCESSW>(), count),
            std::slice::from_raw_parts(buf.as_ptr().cast::<u16>(), bytes / 2),
        )
    };
    for e in entries {
        let at = (e.lpServiceName as usize).wrapping_sub(base);
        if !at.is_multiple_of(2) || at >= bytes {
            continue;
        }
        let name = &wide[at / 2..];
        let Some(end) = name.iter().position(|&c| c == 0) else {
            continue;
        };
        out.push((
            String::from_utf16_lossy(&name[..end]),
            e.ServiceStatusProcess.dwProcessId,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SCM call runs for real (under Wine in CI, whose services.exe runs a few
    /// services such as RpcSs and PlugPlay). Which services a real Windows server hosts in
    /// which svchost is covered by `services::tests` on recorded names and pids.
    #[test]
    fn the_service_control_manager_answers() {
        let services = running_services().expect("EnumServicesStatusExW");
        assert!(!services.is_empty(), "no running service at all");
        assert!(services.iter().all(|(name, _)| !name.is_empty()));
        assert!(services.iter().any(|(_, pid)| *pid != 0), "{services:?}");
    }

    /// Every table can be read and decodes to whole rows.
    #[test]
    fn the_ip_helper_tables_answer() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        let rows = super::super::iphelper::decode(Table::Tcp4, &socket_table(Table::Tcp4).unwrap());
        let mine = rows
            .iter()
            .find(|r| r.local.port() == port)
            .expect("our listener in the TCP table");
        assert!(mine.is_listening());
        // Wine gives no owner pids (0 for every socket); Windows gives ours.
        if std::env::var("PORTQ_WINE").as_deref() != Ok("1") {
            assert_eq!(mine.pid, std::process::id(), "{mine:?}");
        }
        for t in [Table::Tcp6, Table::Udp4, Table::Udp6] {
            socket_table(t).unwrap();
        }
    }
}
