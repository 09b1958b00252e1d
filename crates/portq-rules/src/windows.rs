//! Where Windows hosts each catalogue service, so rules can be scoped to it the way
//! the built-in Windows Firewall rules are (by program, and by service for svchost).

/// The program (and service, for shared svchost processes) that serves a catalogue service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// The executable path with environment variables, as Windows Firewall accepts it.
    pub program: &'static str,
    /// The service short name when the program is svchost.exe.
    pub service: Option<&'static str>,
}

const SVCHOST: &str = "%SystemRoot%\\System32\\svchost.exe";

/// The host process of a catalogue service, when the built-in rules scope by it.
pub fn host(service_id: &str) -> Option<Host> {
    let prog = |p: &'static str| {
        Some(Host {
            program: p,
            service: None,
        })
    };
    let svc = |s: &'static str| {
        Some(Host {
            program: SVCHOST,
            service: Some(s),
        })
    };
    match service_id {
        "lsass" | "netlogon" | "kdc" => prog("%SystemRoot%\\System32\\lsass.exe"),
        "dns" => prog("%SystemRoot%\\System32\\dns.exe"),
        "dfsr" => prog("%SystemRoot%\\System32\\dfsrs.exe"),
        "ntfrs" => prog("%SystemRoot%\\System32\\ntfrs.exe"),
        "spooler" => prog("%SystemRoot%\\System32\\spoolsv.exe"),
        "certsvc" => prog("%SystemRoot%\\System32\\certsrv.exe"),
        "clussvc" => prog("%SystemRoot%\\Cluster\\clussvc.exe"),
        "hyper-v" => prog("%SystemRoot%\\System32\\vmms.exe"),
        "scmanager" => prog("%SystemRoot%\\System32\\services.exe"),
        "msdtc" => prog("%SystemRoot%\\System32\\msdtc.exe"),
        "dhcpserver" => svc("dhcpserver"),
        "winmgmt" => svc("winmgmt"),
        "eventlog" => svc("eventlog"),
        "schedule" => svc("schedule"),
        "termservlicensing" => svc("TermServLicensing"),
        "tssdis" => svc("tssdis"),
        "rpcss" => svc("rpcss"),
        "w32time" => svc("w32time"),
        "termservice" => svc("TermService"),
        _ => None,
    }
}

/// The endpoint mapper host: RPCEPMap rules belong to svchost running rpcss.
pub const EPMAP: Host = Host {
    program: SVCHOST,
    service: Some("rpcss"),
};
