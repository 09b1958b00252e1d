//! Interop with a real domain controller: the Samba AD DC of `tests/lab/`
//! (`sudo tests/lab/samba-dc-up.sh`, then `PORTQ_LAB_DC=10.200.0.2`).
//!
//! - `PORTQ_LAB_DC=<ip>`: run against that DC.
//! - `PORTQ_LAB_REQUIRED=1`: the DC must be reachable (default address 10.200.0.2);
//!   the test fails instead of skipping.
//! - `PORTQ_LAB_DOMAIN`: the DC's DNS domain (default `example.test`).
//! - neither variable: prints that it did not run.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::check_support::check_ports;
use crate::lab_lock;
use portq_probe::{CheckOptions, Evidence, Finding, PortState, Transport};

const DEFAULT_DC: &str = "10.200.0.2";

fn lab_dc() -> Option<IpAddr> {
    let required = std::env::var("PORTQ_LAB_REQUIRED").as_deref() == Ok("1");
    let dc = match std::env::var("PORTQ_LAB_DC") {
        Ok(v) => v,
        Err(_) if required => DEFAULT_DC.to_string(),
        Err(_) => {
            eprintln!(
                "check_lab: not run (set PORTQ_LAB_DC to the lab DC's address, see tests/lab/README.md)"
            );
            return None;
        }
    };
    let ip: IpAddr = dc
        .parse()
        .unwrap_or_else(|_| panic!("PORTQ_LAB_DC={dc:?} is not an IP address"));
    let reachable =
        std::net::TcpStream::connect_timeout(&SocketAddr::new(ip, 389), Duration::from_secs(3))
            .is_ok();
    if !reachable {
        if required {
            panic!("PORTQ_LAB_REQUIRED=1 but the lab DC at {ip} does not answer on 389/tcp");
        }
        eprintln!("check_lab: not run (no DC answers at {ip}:389)");
        return None;
    }
    Some(ip)
}

fn find(f: &[Finding], t: Transport, port: u16) -> &Finding {
    f.iter()
        .find(|x| x.transport == t && x.port == port)
        .unwrap_or_else(|| panic!("no finding for {port}/{}", t.as_str()))
}

#[tokio::test]
async fn samba_dc_answers_like_a_domain_controller() {
    // Shared: other DC tests may run alongside, a test that loads rules into the DC may not.
    let _lab = lab_lock::shared();
    let Some(dc) = lab_dc() else {
        return;
    };
    let domain = std::env::var("PORTQ_LAB_DOMAIN").unwrap_or_else(|_| "example.test".into());
    let realm = domain.to_ascii_uppercase();
    let base_dn: String = domain
        .split('.')
        .map(|l| format!("DC={l}"))
        .collect::<Vec<_>>()
        .join(",");

    let tcp_listening = [53, 88, 135, 139, 389, 445, 464, 636, 3268, 3269];
    let udp_listening = [53, 88, 137, 389];
    let mut ports: Vec<(Transport, u16)> =
        tcp_listening.iter().map(|p| (Transport::Tcp, *p)).collect();
    ports.extend(udp_listening.iter().map(|p| (Transport::Udp, *p)));
    ports.push((Transport::Udp, 123));

    let opts = CheckOptions {
        app_probes: true,
        domain: Some(domain.clone()),
        ..CheckOptions::default()
    };
    let (f, summary) = check_ports(dc, &ports, opts).await;
    assert_eq!(summary.failure_count, 0, "{:?}", summary.failures);
    for x in &f {
        eprintln!(
            "{:>5}/{} {:<22} {}",
            x.port,
            x.transport.as_str(),
            x.state.token(),
            x.evidence
                .iter()
                .map(Evidence::summary)
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    for p in tcp_listening {
        assert_eq!(
            find(&f, Transport::Tcp, p).state,
            PortState::Listening,
            "{p}/tcp"
        );
    }
    for p in udp_listening {
        assert_eq!(
            find(&f, Transport::Udp, p).state,
            PortState::Listening,
            "{p}/udp"
        );
    }
    assert_eq!(
        find(&f, Transport::Udp, 123).state,
        PortState::NotListening,
        "Samba runs no NTP server"
    );
    // No probe of a listening port failed.
    for x in f.iter().filter(|x| x.state == PortState::Listening) {
        assert!(!x.evidence.iter().any(Evidence::is_error), "{x:?}");
    }

    match &find(&f, Transport::Udp, 389).evidence[..] {
        [
            Evidence::Cldap {
                domain: d,
                dc_name: Some(name),
                ..
            },
        ] => {
            assert_eq!(d.as_deref(), Some(domain.as_str()));
            assert!(name.ends_with(&domain), "{name}");
        }
        other => panic!("CLDAP: {other:?}"),
    }
    for p in [389, 3268] {
        match &find(&f, Transport::Tcp, p).evidence[..] {
            [
                Evidence::Ldap {
                    naming_context,
                    dns_host_name: Some(_),
                    ..
                },
            ] => {
                assert_eq!(naming_context.as_deref(), Some(base_dn.as_str()), "{p}")
            }
            other => panic!("LDAP {p}: {other:?}"),
        }
    }
    for p in [636, 3269] {
        match &find(&f, Transport::Tcp, p).evidence[..] {
            [
                Evidence::TlsCertificate { .. },
                Evidence::Ldap { naming_context, .. },
            ] => {
                assert_eq!(naming_context.as_deref(), Some(base_dn.as_str()), "{p}")
            }
            other => panic!("LDAPS {p}: {other:?}"),
        }
    }
    match &find(&f, Transport::Udp, 137).evidence[..] {
        [Evidence::NetBios { names, .. }] => {
            assert!(
                names.iter().any(|n| n.suffix == 0x1c && n.group),
                "{names:?}"
            );
            assert!(
                names.iter().any(|n| n.suffix == 0x20 && !n.group),
                "{names:?}"
            );
        }
        other => panic!("NetBIOS: {other:?}"),
    }
    for p in [139, 445] {
        match &find(&f, Transport::Tcp, p).evidence[..] {
            [Evidence::Smb { dialect, .. }] => {
                assert!(dialect.starts_with(['2', '3']), "{dialect}")
            }
            other => panic!("SMB {p}: {other:?}"),
        }
    }
    match &find(&f, Transport::Tcp, 135).evidence[..] {
        [Evidence::Epm { endpoints }] => assert!(*endpoints > 0),
        other => panic!("EPM: {other:?}"),
    }
    for t in [Transport::Tcp, Transport::Udp] {
        match &find(&f, t, 88).evidence[..] {
            [Evidence::Kerberos { realm: Some(r), .. }] => assert_eq!(r, &realm),
            other => panic!("Kerberos {}: {other:?}", t.as_str()),
        }
    }
    match &find(&f, Transport::Udp, 53).evidence[..] {
        [
            Evidence::Dns {
                rcode: 0, answers, ..
            },
        ] => assert!(*answers >= 1),
        other => panic!("DNS: {other:?}"),
    }
}
