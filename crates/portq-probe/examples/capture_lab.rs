//! Captures the lab Samba DC's raw answers to the requests portq's probes send and
//! saves them as fuzz seeds: `fuzz/corpus/seed_<target>/samba_<what>`.
//!
//! Lab only. Start the DC (`bash tests/lab/samba-dc-up.sh`), then:
//!
//! ```sh
//! cargo run -p portq-probe --example capture_lab            # DC at 10.200.0.2
//! cargo run -p portq-probe --example capture_lab -- IP REALM OUTDIR
//! ```
//!
//! Each request is sent once with a 2-second timeout; a service that does not answer
//! is reported and skipped. Only the address given (or `SAMBA_DC_IP`) is contacted.
#![forbid(unsafe_code)]

use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use portq_wire::dcerpc::{
    Bind, HEADER_LEN, Pdu, PresentationContext, Reassembler, Request, frag_length_of,
};
use portq_wire::epm::{EPM_INTERFACE, EPT_LOOKUP_OPNUM, LookupRequest, LookupResponse};
use portq_wire::ndr::{ContextHandle, IntRep};
use portq_wire::{WireError, dns, ike, kerberos, ldap, mssql, netbios, ntp, rdp, smb2, snmp};

const TIMEOUT: Duration = Duration::from_secs(2);
/// Largest reply kept (a seed should stay small).
const MAX_REPLY: usize = 64 * 1024;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Lab {
    ip: IpAddr,
    realm: String,
    out: PathBuf,
    saved: usize,
    missing: Vec<String>,
}

impl Lab {
    fn save(&mut self, target: &str, what: &str, bytes: &[u8]) -> Res<()> {
        let dir = self.out.join(format!("seed_{target}"));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("samba_{what}"));
        std::fs::write(&path, bytes)?;
        println!("saved   {:5} bytes  {}", bytes.len(), path.display());
        self.saved += 1;
        Ok(())
    }

    fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.ip, port)
    }

    fn udp(&self, port: u16, request: &[u8]) -> io::Result<Vec<u8>> {
        let local: SocketAddr = if self.ip.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let s = UdpSocket::bind(local)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.connect(self.addr(port))?;
        s.send(request)?;
        let mut buf = vec![0u8; 65535];
        let n = s.recv(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn tcp(&self, port: u16) -> io::Result<TcpStream> {
        let s = TcpStream::connect_timeout(&self.addr(port), TIMEOUT)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.set_write_timeout(Some(TIMEOUT))?;
        Ok(s)
    }

    /// Runs one capture; a failure is reported, not fatal.
    fn run(&mut self, what: &str, f: impl FnOnce(&mut Lab) -> Res<()>) {
        if let Err(e) = f(self) {
            println!("missing {what}: {e}");
            self.missing.push(format!("{what}: {e}"));
        }
    }
}

/// Reads one frame whose total length `len_of` tells from the first `header` bytes.
fn read_frame(
    s: &mut TcpStream,
    header: usize,
    len_of: impl Fn(&[u8]) -> Result<usize, WireError>,
) -> Res<Vec<u8>> {
    let mut buf = vec![0u8; header];
    s.read_exact(&mut buf)?;
    let total = len_of(&buf)?;
    if total < header || total > MAX_REPLY {
        return Err(format!("frame length {total} out of bounds").into());
    }
    buf.resize(total, 0);
    s.read_exact(buf.get_mut(header..).unwrap_or_default())?;
    Ok(buf)
}

fn netbios_frame(s: &mut TcpStream) -> Res<Vec<u8>> {
    read_frame(s, 4, |h| Ok(netbios::session_header(h)?.1 + 4))
}

fn dcerpc_fragment(s: &mut TcpStream) -> Res<Vec<u8>> {
    read_frame(s, HEADER_LEN, frag_length_of)
}

/// LDAP messages until SearchResultDone (or the byte cap).
fn ldap_until_done(s: &mut TcpStream) -> Res<Vec<u8>> {
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut pos = 0;
        while let Some(len) = ldap::ldap_message_len_checked(all.get(pos..).unwrap_or(&[]))? {
            let Some(msg) = all.get(pos..pos + len) else {
                break;
            };
            let (m, _) = ldap::decode_message(msg)?;
            if matches!(m.op, ldap::ProtocolOp::SearchResultDone(_)) {
                return Ok(all);
            }
            pos += len;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 || all.len() > MAX_REPLY {
            return Err("connection closed before SearchResultDone".into());
        }
        all.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

fn dns(lab: &mut Lab) -> Res<()> {
    let domain = lab.realm.to_ascii_lowercase();
    let reply = lab.udp(
        53,
        &dns::query(0x5051, &domain, dns::RecordType::SOA, false)?,
    )?;
    lab.save("dns_message", "soa_udp", &reply)?;
    dns::decode(&reply)?;
    let reply = lab.udp(
        53,
        &dns::query(0x5052, "absent.invalid", dns::RecordType::A, true)?,
    )?;
    lab.save("dns_message", "nxdomain_udp", &reply)?;
    let srv = format!("_ldap._tcp.dc._msdcs.{domain}");
    let reply = lab.udp(53, &dns::query(0x5053, &srv, dns::RecordType::SRV, false)?)?;
    lab.save("dns_message", "srv_udp", &reply)
}

fn kerberos(lab: &mut Lab) -> Res<()> {
    let req = kerberos::as_req(&lab.realm, "portq-probe", 0x5051_5254);
    let reply = lab.udp(88, &req)?;
    lab.save("kerberos_reply", "as_req_udp", &reply)?;
    kerberos::decode(&reply)?;
    let reply = lab.udp(88, &kerberos::as_req("PORTQ.INVALID", "portq-probe", 7))?;
    lab.save("kerberos_reply", "wrong_realm_udp", &reply)?;
    let reply = lab.udp(88, &kerberos::as_req(&lab.realm, "Administrator", 9))?;
    lab.save("kerberos_reply", "preauth_required_udp", &reply)?;
    let mut s = lab.tcp(88)?;
    s.write_all(&kerberos::tcp_frame(&req))?;
    let reply = read_frame(&mut s, 4, |h| {
        kerberos::tcp_record_len(h)?.ok_or(WireError::Truncated {
            what: "Kerberos TCP length",
            needed: 4,
            available: h.len(),
        })
    })?;
    lab.save("kerberos_reply", "as_req_tcp", &reply)?;
    kerberos::decode_tcp(&reply)?;
    Ok(())
}

fn kpasswd(lab: &mut Lab) -> Res<()> {
    let reply = lab.udp(464, &kerberos::kpasswd_probe_request())?;
    lab.save("kerberos_reply", "kpasswd_udp", &reply)?;
    kerberos::decode_kpasswd_reply(&reply)?;
    Ok(())
}

fn ntp(lab: &mut Lab) -> Res<()> {
    let reply = lab.udp(123, &ntp::client_request(0x5051_5254 << 16))?;
    lab.save("ntp_reply", "ntp", &reply)?;
    ntp::decode(&reply)?;
    Ok(())
}

fn nbns(lab: &mut Lab) -> Res<()> {
    let reply = lab.udp(137, &netbios::node_status_request(0x5051))?;
    lab.save("netbios_node_status", "node_status", &reply)?;
    netbios::decode_node_status(&reply)?;
    Ok(())
}

fn cldap(lab: &mut Lab) -> Res<()> {
    let domain = lab.realm.to_ascii_lowercase();
    let versions = [
        ("netlogon", ldap::PROBE_NT_VERSION),
        (
            "netlogon_ip",
            ldap::PROBE_NT_VERSION | ldap::NETLOGON_NT_VERSION_5EX_WITH_IP,
        ),
        (
            "netlogon_ip_site",
            ldap::PROBE_NT_VERSION
                | ldap::NETLOGON_NT_VERSION_5EX_WITH_IP
                | ldap::NETLOGON_NT_VERSION_WITH_CLOSEST_SITE,
        ),
    ];
    for (i, (what, nt)) in (1..).zip(versions) {
        let reply = lab.udp(389, &ldap::netlogon_ping_request(i, Some(&domain), nt))?;
        lab.save("ldap_message", &format!("cldap_{what}"), &reply)?;
        let search = ldap::decode_search_reply(&reply)?;
        let blob = search
            .entries
            .iter()
            .filter_map(|e| e.get("Netlogon"))
            .find_map(|a| a.values.first())
            .ok_or("no Netlogon attribute")?;
        lab.save("ldap_netlogon", what, blob)?;
        if let Err(e) = ldap::decode_netlogon(blob, nt) {
            // Kept as a seed all the same: it is what a real DC sends.
            println!("note    {what}: decode_netlogon(NtVer {nt:#x}) refuses it: {e}");
        }
    }
    Ok(())
}

fn ldap_rootdse(lab: &mut Lab) -> Res<()> {
    let mut s = lab.tcp(389)?;
    s.write_all(&ldap::rootdse_request(1))?;
    let reply = ldap_until_done(&mut s)?;
    lab.save("ldap_message", "rootdse_tcp", &reply)?;
    ldap::decode_rootdse_reply(&reply)?;
    Ok(())
}

fn smb(lab: &mut Lab) -> Res<()> {
    let guid = uuid::Uuid::from_u128(0x504f_5254_5100_0000_0000_0000_0000_0001);
    let mut s = lab.tcp(445)?;
    s.write_all(&smb2::negotiate_request(&guid))?;
    let reply = netbios_frame(&mut s)?;
    lab.save("smb2_negotiate", "negotiate_445", &reply)?;
    smb2::decode_negotiate_response(&reply)?;
    let mut s = lab.tcp(139)?;
    s.write_all(&netbios::smbserver_session_request("PORTQ")?)?;
    let reply = netbios_frame(&mut s)?;
    lab.save("netbios_session_reply", "session_139", &reply)?;
    netbios::decode_session_reply(&reply)?;
    let mut s = lab.tcp(139)?;
    s.write_all(&netbios::session_request("NOSUCHNAME", 0x20, "PORTQ", 0)?)?;
    let reply = netbios_frame(&mut s)?;
    lab.save("netbios_session_reply", "session_139_wrong_name", &reply)
}

fn epm(lab: &mut Lab) -> Res<()> {
    let mut s = lab.tcp(135)?;
    let bind = Bind::new(1, vec![PresentationContext::ndr(0, EPM_INTERFACE)]);
    s.write_all(&bind.encode())?;
    let ack = dcerpc_fragment(&mut s)?;
    lab.save("dcerpc_pdu", "bind_ack", &ack)?;
    Pdu::decode(&ack)?;
    let mut stream = ack.clone();
    let mut handle = ContextHandle::NULL;
    // A small first page (with a handle to continue), then the rest in one page.
    for (call_id, max_ents, what) in [(2, 3, "lookup_page"), (3, 500, "lookup_rest")] {
        let stub = LookupRequest::all(handle, max_ents).encode();
        s.write_all(&Request::new(call_id, 0, EPT_LOOKUP_OPNUM, stub).encode())?;
        // The answer may come in several fragments (Samba sends at most 4280 bytes each).
        let mut reassembler = Reassembler::new();
        let mut n = 0;
        let pdus = loop {
            let frag = dcerpc_fragment(&mut s)?;
            stream.extend_from_slice(&frag);
            lab.save("dcerpc_pdu", &format!("{what}_response_{n}"), &frag)?;
            let pdus = reassembler.push(&frag)?;
            n += 1;
            if !pdus.is_empty() || n == 16 {
                break pdus;
            }
        };
        let Some(Pdu::Response(resp)) = pdus.into_iter().next() else {
            return Err(format!("{what}: no complete response PDU").into());
        };
        // epm_lookup_response: first byte picks the integer order (0 = little-endian).
        let rep = resp.drep.int_rep()?;
        let flag = u8::from(rep == IntRep::BigEndian);
        lab.save(
            "epm_lookup_response",
            what,
            &[&[flag], &resp.stub[..]].concat(),
        )?;
        let page = LookupResponse::decode(&resp.stub, rep)?;
        for (i, e) in page.entries.iter().enumerate().take(6) {
            if let Some(t) = &e.tower {
                lab.save("epm_tower", &format!("{what}_{i}"), &t.encode())?;
            }
        }
        handle = page.entry_handle;
    }
    // dcerpc_reassembler: first byte picks the chunk sizes; then the whole byte stream.
    lab.save(
        "dcerpc_reassembler",
        "epm_session",
        &[&[5u8], &stream[..]].concat(),
    )
}

fn snmp(lab: &mut Lab) -> Res<()> {
    let req = snmp::system_get_request(snmp::Version::V2c, b"public", 0x5051);
    let reply = lab.udp(161, &req)?;
    lab.save("snmp_message", "system_get", &reply)?;
    snmp::decode(&reply)?;
    Ok(())
}

fn sql_browser(lab: &mut Lab) -> Res<()> {
    let reply = lab.udp(1434, &mssql::ucast_ex_request())?;
    lab.save("mssql_browser", "ucast_ex", &reply)?;
    mssql::decode(&reply)?;
    Ok(())
}

fn ike(lab: &mut Lab) -> Res<()> {
    let reply = lab.udp(500, &ike::main_mode_request(*b"PORTQ-FZ"))?;
    lab.save("ike_reply", "main_mode", &reply)?;
    ike::decode(&reply)?;
    Ok(())
}

fn rdp(lab: &mut Lab) -> Res<()> {
    let mut s = lab.tcp(3389)?;
    s.write_all(&rdp::connection_request())?;
    let reply = read_frame(&mut s, 4, |h| match h {
        [3, _, hi, lo] => Ok(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => Err(WireError::invalid("TPKT header", "not version 3")),
    })?;
    lab.save("rdp_confirm", "connection_confirm", &reply)?;
    rdp::decode_connection_confirm(&reply)?;
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let ip = args
        .next()
        .or_else(|| std::env::var("SAMBA_DC_IP").ok())
        .unwrap_or_else(|| "10.200.0.2".into());
    let Ok(ip) = ip.parse::<IpAddr>() else {
        eprintln!("capture_lab: {ip:?} is not an IP address");
        return ExitCode::from(2);
    };
    let realm = args
        .next()
        .or_else(|| std::env::var("SAMBA_DC_REALM").ok())
        .unwrap_or_else(|| "EXAMPLE.TEST".into());
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"));
    let mut lab = Lab {
        ip,
        realm,
        out,
        saved: 0,
        missing: Vec::new(),
    };
    println!("capturing the answers of {ip} into {}", lab.out.display());
    lab.run("DNS 53/udp", dns);
    lab.run("Kerberos 88/udp+tcp", kerberos);
    lab.run("kpasswd 464/udp", kpasswd);
    lab.run("NTP 123/udp", ntp);
    lab.run("NBNS node status 137/udp", nbns);
    lab.run("CLDAP netlogon 389/udp", cldap);
    lab.run("LDAP rootDSE 389/tcp", ldap_rootdse);
    lab.run("SMB2 negotiate 445/tcp, NetBIOS session 139/tcp", smb);
    lab.run("EPM bind + ept_lookup 135/tcp", epm);
    lab.run("SNMP 161/udp", snmp);
    lab.run("SQL Server browser 1434/udp", sql_browser);
    lab.run("IKE 500/udp", ike);
    lab.run("RDP 3389/tcp", rdp);
    println!(
        "{} replies saved; {} probes without a usable answer",
        lab.saved,
        lab.missing.len()
    );
    if lab.saved == 0 {
        eprintln!("capture_lab: nothing answered; is the lab DC up (tests/lab/samba-dc-up.sh)?");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
