//! Where Windows hosts each catalogue service, so rules can be scoped to it the way
//! the built-in Windows Firewall rules are (by program, and by service for svchost), and
//! the built-in rule groups that open the same ports to every address.

use portq_catalog::Transport;

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

/// Windows' built-in inbound rule groups and the numbered ports they open (from the rule
/// groups of current Windows Server, `shared/reference/windows-firewall-rule-groups.csv`;
/// Core Networking left out: IP needs it). While such a group is enabled it opens its
/// ports to any address, so portq's scoped allow rules restrict nothing.
pub const BUILTIN_GROUPS: &[(&str, &[(Transport, u16)])] = &[
    (
        "Active Directory Domain Services",
        &[
            (Transport::Tcp, 389),
            (Transport::Tcp, 445),
            (Transport::Tcp, 636),
            (Transport::Tcp, 3268),
            (Transport::Tcp, 3269),
            (Transport::Udp, 123),
            (Transport::Udp, 138),
            (Transport::Udp, 389),
            (Transport::Udp, 445),
        ],
    ),
    ("Active Directory Web Services", &[(Transport::Tcp, 9389)]),
    (
        "DHCP Server",
        &[
            (Transport::Udp, 67),
            (Transport::Udp, 68),
            (Transport::Udp, 546),
            (Transport::Udp, 547),
        ],
    ),
    ("DHCP Server Management", &[(Transport::Tcp, 647)]),
    ("DNS Service", &[(Transport::Tcp, 53), (Transport::Udp, 53)]),
    (
        "Failover Clusters",
        &[
            (Transport::Tcp, 3343),
            (Transport::Tcp, 4433),
            (Transport::Udp, 3343),
        ],
    ),
    (
        "File and Printer Sharing",
        &[
            (Transport::Tcp, 139),
            (Transport::Tcp, 445),
            (Transport::Udp, 137),
            (Transport::Udp, 138),
        ],
    ),
    (
        "File and Printer Sharing over SMBDirect",
        &[(Transport::Tcp, 5445)],
    ),
    ("Hyper-V", &[(Transport::Tcp, 2179), (Transport::Tcp, 6600)]),
    (
        "Kerberos Key Distribution Center",
        &[
            (Transport::Tcp, 88),
            (Transport::Tcp, 464),
            (Transport::Udp, 88),
            (Transport::Udp, 464),
        ],
    ),
    ("Key Management Service", &[(Transport::Tcp, 1688)]),
    ("LPD Service", &[(Transport::Tcp, 515)]),
    ("Network Discovery", &[(Transport::Udp, 5355)]),
    (
        "Network Policy Server",
        &[
            (Transport::Udp, 1645),
            (Transport::Udp, 1646),
            (Transport::Udp, 1812),
            (Transport::Udp, 1813),
        ],
    ),
    ("OpenSSH Server", &[(Transport::Tcp, 22)]),
    (
        "Portmap for UNIX-based Software",
        &[(Transport::Tcp, 111), (Transport::Udp, 111)],
    ),
    (
        "Remote Desktop",
        &[(Transport::Tcp, 3389), (Transport::Udp, 3389)],
    ),
    (
        "Remote Desktop (WebSocket)",
        &[(Transport::Tcp, 3387), (Transport::Tcp, 3392)],
    ),
    (
        "Remote Desktop Gateway Server Farm",
        &[(Transport::Tcp, 3388)],
    ),
    (
        "Remote Desktop Gateway Server Transport",
        &[(Transport::Udp, 3391)],
    ),
    (
        "Secure World Wide Web Services (HTTPS)",
        &[(Transport::Tcp, 443)],
    ),
    (
        "Secure World Wide Web Services (QUIC)",
        &[(Transport::Udp, 443)],
    ),
    (
        "Server for NFS",
        &[(Transport::Tcp, 2049), (Transport::Udp, 2049)],
    ),
    (
        "Windows Internet Naming Service (WINS)",
        &[(Transport::Tcp, 42), (Transport::Udp, 42)],
    ),
    (
        "Windows Remote Management",
        &[(Transport::Tcp, 5985), (Transport::Tcp, 5986)],
    ),
    (
        "Windows Server Update Services (WSUS)",
        &[(Transport::Tcp, 8530), (Transport::Tcp, 8531)],
    ),
    ("World Wide Web Services (HTTP)", &[(Transport::Tcp, 80)]),
    ("iSCSI Target group", &[(Transport::Tcp, 3260)]),
    ("mDNS", &[(Transport::Udp, 5353)]),
];

/// The built-in groups that open any of `ports` (transport, port), in table order.
pub fn overlapping_groups(ports: &[(Transport, u16)]) -> Vec<&'static str> {
    BUILTIN_GROUPS
        .iter()
        .filter(|(_, opens)| opens.iter().any(|p| ports.contains(p)))
        .map(|(g, _)| *g)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dc_overlaps_the_directory_groups() {
        let g = overlapping_groups(&[
            (Transport::Tcp, 389),
            (Transport::Udp, 88),
            (Transport::Tcp, 3389),
        ]);
        assert_eq!(
            g,
            vec![
                "Active Directory Domain Services",
                "Kerberos Key Distribution Center",
                "Remote Desktop"
            ]
        );
        assert!(overlapping_groups(&[(Transport::Tcp, 1)]).is_empty());
    }
}
