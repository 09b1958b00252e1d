//! Which Windows services run in which process.
//!
//! Windows hosts many services in one svchost.exe; PortQry's `-local` mode names them.
//! portq asks the Service Control Manager (`EnumServicesStatusExW` with
//! `SC_ENUM_PROCESS_INFO`, in the OS module `local::winapi`) for every running Win32
//! service and its process id: service key names are the same in every display language,
//! unlike the column headers of `tasklist /svc`, and Wine's SCM answers where its
//! tasklist prints nothing. This module groups the answer; it is pure and tested
//! everywhere, and the SCM call itself runs under Wine in CI.

use std::collections::BTreeMap;

/// Groups `(service name, process id)` pairs by process: names sorted, duplicates
/// and process id 0 (a service not running) dropped.
pub fn by_pid<I, S>(pairs: I) -> BTreeMap<u32, Vec<String>>
where
    I: IntoIterator<Item = (S, u32)>,
    S: Into<String>,
{
    let mut out: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (name, pid) in pairs {
        let name = name.into();
        if pid == 0 || name.is_empty() {
            continue;
        }
        out.entry(pid).or_default().push(name);
    }
    for names in out.values_mut() {
        names.sort_by_key(|n| n.to_ascii_lowercase());
        names.dedup();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_services_per_process() {
        // As a domain controller's SCM lists them (recorded names and pids).
        let m = by_pid([
            ("Netlogon", 700),
            ("KeyIso", 700),
            ("NTDS", 700),
            ("SamSs", 700),
            ("RpcSs", 1040),
            ("RpcEptMapper", 1040),
            ("Spooler", 0),
            ("RpcSs", 1040),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[&700], vec!["KeyIso", "Netlogon", "NTDS", "SamSs"]);
        assert_eq!(m[&1040], vec!["RpcEptMapper", "RpcSs"]);
        assert!(!m.contains_key(&0));
    }
}
