//! The CLDAP `Netlogon` attribute value on arbitrary bytes: `decode_netlogon` never
//! panics, whichever NtVer the request asked for (with and without the optional
//! socket address and closest-site fields), nor do the summary and flag names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::ldap;

const VERSIONS: [u32; 4] = [
    ldap::PROBE_NT_VERSION,
    ldap::PROBE_NT_VERSION | ldap::NETLOGON_NT_VERSION_5EX_WITH_IP,
    ldap::PROBE_NT_VERSION | ldap::NETLOGON_NT_VERSION_WITH_CLOSEST_SITE,
    ldap::PROBE_NT_VERSION
        | ldap::NETLOGON_NT_VERSION_5EX_WITH_IP
        | ldap::NETLOGON_NT_VERSION_WITH_CLOSEST_SITE,
];

fuzz_target!(|data: &[u8]| {
    for nt in VERSIONS {
        if let Ok(n) = ldap::decode_netlogon(data, nt) {
            let _ = (n.summary(), n.flag_names(), format!("{n:?}"));
            if nt & ldap::NETLOGON_NT_VERSION_5EX_WITH_IP == 0 {
                assert!(n.dc_sock_addr.is_none());
            }
            if nt & ldap::NETLOGON_NT_VERSION_WITH_CLOSEST_SITE == 0 {
                assert!(n.next_closest_site_name.is_none());
            }
        }
    }
});
