#!/usr/bin/env python3
"""Writes the seeds that are not captures of the lab DC (`synthetic_*`, `text_*`,
`data_*`) into fuzz/corpus/seed_<target>/.

Captures of the Samba DC's real answers (`samba_*`) come from
`cargo run -p portq-probe --example capture_lab`. This script covers what that DC does
not serve (NTP, SNMP, SQL Server Browser, IKE, RDP: replies modelled on the unit-test
fixtures of portq-wire, which follow Windows' answers), the text parsers, and the BER
reader (fed the captured BER messages). Idempotent; run from anywhere.
"""

import pathlib
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
CORPUS = FUZZ / "corpus"
DATA = FUZZ.parent / "crates" / "portq-catalog" / "data"


def put(target, name, data):
    d = CORPUS / f"seed_{target}"
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def ntp():
    secs = 3_908_988_800
    m = bytes([0x1C, 0x01, 0x07, 0xEC, 0, 0, 0, 0, 0, 0, 0x0A, 0x5C]) + b"LOCL"
    m += struct.pack(">Q", (secs - 60) << 32)
    m += struct.pack(">Q", 0x1122334455667788)
    m += struct.pack(">Q", secs << 32 | 0x80000000)
    m += struct.pack(">Q", secs << 32 | 0x80001000)
    put("ntp_reply", "synthetic_w32time", m)
    kod = bytearray(m)
    kod[1] = 0  # stratum 0: kiss-o'-death, reference id is an ASCII code
    kod[12:16] = b"RATE"
    put("ntp_reply", "synthetic_kiss_of_death", bytes(kod))


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + value


def snmp():
    def varbind(oid, value):
        return tlv(0x30, tlv(0x06, oid) + value)

    sys_descr = bytes([0x2B, 6, 1, 2, 1, 1, 1, 0])
    sys_name = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])
    sys_uptime = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])

    def message(pdu_tag, binds, request_id=b"\x12\x34", status=0):
        pdu = tlv(0x02, request_id) + tlv(0x02, bytes([status])) + tlv(0x02, b"\x00")
        pdu += tlv(0x30, b"".join(binds))
        return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, b"public") + tlv(pdu_tag, pdu))

    reply = message(
        0xA2,
        [
            varbind(sys_descr, tlv(0x04, b"Windows DC")),
            varbind(sys_name, tlv(0x04, b"DC1")),
            varbind(sys_uptime, tlv(0x43, b"\x01\x02\x03")),
        ],
    )
    put("snmp_message", "synthetic_windows_reply", reply)
    request = message(0xA0, [varbind(sys_descr, b"\x05\x00"), varbind(sys_name, b"\x05\x00")])
    put("snmp_message", "synthetic_get_request", request)
    put("snmp_message", "synthetic_no_such_object",
        message(0xA2, [varbind(sys_descr, b"\x80\x00")], status=0))


def mssql():
    text = (
        "ServerName;DB1;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;"
        "tcp;1433;np;\\\\DB1\\pipe\\sql\\query;;"
        "ServerName;DB1;InstanceName;SQLEXPRESS;IsClustered;No;Version;16.0.1000.6;"
        "np;\\\\DB1\\pipe\\MSSQL$SQLEXPRESS\\sql\\query;via;DB1,0:1433;;"
    ).encode()
    put("mssql_browser", "synthetic_two_instances", b"\x05" + struct.pack("<H", len(text)) + text)


def ike():
    icookie = bytes([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
    m = icookie + bytes([0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18])
    m += bytes([0x01, 0x10, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 128])
    m += bytes([0x0D, 0, 0, 0x38, 0, 0, 0, 1, 0, 0, 0, 1])
    m += bytes([0, 0, 0, 0x2C, 0x01, 0x01, 0x00, 0x01])
    m += bytes([0, 0, 0, 0x24, 0x04, 0x01, 0, 0])
    m += bytes([0x80, 1, 0, 5, 0x80, 2, 0, 2, 0x80, 3, 0, 1, 0x80, 4, 0, 2, 0x80, 0x0B, 0, 1])
    m += bytes([0, 0x0C, 0, 4, 0, 0, 0x70, 0x80])
    m += bytes([0x0D, 0, 0, 0x18]) + bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000009")
    m += bytes([0, 0, 0, 0x14]) + bytes.fromhex("4a131c81070358455c5728f20e95452f")
    put("ike_reply", "synthetic_windows_main_mode", m)
    n = icookie + bytes(8) + bytes([0x0B, 0x10, 0x05, 0x00, 0x5A, 0x5A, 0x5A, 0x5A, 0, 0, 0, 40])
    n += bytes([0, 0, 0, 0x0C, 0, 0, 0, 1, 0x01, 0, 0, 0x0E])
    put("ike_reply", "synthetic_no_proposal_chosen", n)


def rdp():
    cc = bytes([3, 0, 0, 0x13, 0x0E, 0xD0, 0, 0, 0x12, 0x34, 0, 0x02, 0x1F, 0x08, 0, 2, 0, 0, 0])
    put("rdp_confirm", "synthetic_hybrid", cc)
    fail = bytearray(cc)
    fail[11] = 0x03
    fail[12] = 0
    fail[15] = 5  # HYBRID_REQUIRED_BY_SERVER
    put("rdp_confirm", "synthetic_failure", bytes(fail))
    put("rdp_confirm", "synthetic_legacy", bytes([3, 0, 0, 0x0B, 0x06, 0xD0, 0, 0, 0x12, 0x34, 0]))


def netbios_session():
    put("netbios_session_reply", "synthetic_negative", bytes([0x83, 0, 0, 1, 0x82]))
    put("netbios_session_reply", "synthetic_retarget",
        bytes([0x84, 0, 0, 6, 10, 200, 0, 2, 0x01, 0xBD]))
    put("netbios_session_reply", "synthetic_keep_alive", bytes([0x85, 0, 0, 0]))
    put("netbios_session_reply", "synthetic_message", bytes([0, 0, 0, 4]) + b"\xfeSMB")


def ber():
    sources = [
        ("kerberos_reply", "samba_as_req_udp"),
        ("kerberos_reply", "samba_preauth_required_udp"),
        ("ldap_message", "samba_rootdse_tcp"),
        ("ldap_message", "samba_cldap_netlogon"),
        ("snmp_message", "synthetic_windows_reply"),
    ]
    for target, name in sources:
        path = CORPUS / f"seed_{target}" / name
        if path.exists():
            put("ber", name, path.read_bytes())
    put("ber", "synthetic_oid_long_tag", tlv(0x06, bytes([0x2B, 6, 1, 4, 1, 0x82, 0x37, 0x7F]))
        + bytes([0x5F, 0x81, 0x00, 0x01, 0x00]))


def text():
    for i, q in enumerate(["445", "135/tcp", "137/UDP", "49152-65535", "-1024", "Spooler",
                           "global catalog", "kerbros", "22", "dns server", "3268-3269/tcp"]):
        put("lookup_query", f"text_{i}", q)
    put("services_file", "text_small",
        "88/udp\nssh 22/tcp # SSH Remote Login Protocol\n"
        "kerberos 88/udp kerberos5 krb5 # Kerberos v5\nbad line\nx 70000/tcp\n")
    put("services_file", "text_mixed",
        "# our own sample in the services(5) format\n"
        "domain\t\t53/tcp\t\t\t# name server\ndomain\t\t53/udp\n"
        "ldap\t\t389/tcp\nldap 389/udp\nmicrosoft-ds 445/tcp   smb cifs\n"
        "epmap 135/tcp loc-srv # DCE endpoint resolution\n"
        "netbios-ns\t137/udp\t\tnbns\nsnmp 161/udp\nms-sql-m 1434/udp\n"
        "isakmp 500/udp ike\nms-wbt-server 3389/tcp rdp\nweird 0/ddp\n"
        "  indented 40001/sctp alias1 alias2 alias3#nospace\n")
    for i, r in enumerate(["dc", "dc:no-gc,frs\ndns-server", "domain-controller:gc,no-dns",
                           "fs\nweb\nprint", "rodc", "rds:no-x", "cluster\nhyper-v\nsql",
                           "managed-server\nkms\nnps\nwins"]):
        put("role_selection", f"text_{i}", r)
    for i, p in enumerate(["53", "1-1024", "60000-", "-1024", "-", "all",
                           "tcp:1-1024,udp:53,137", "53/udp", "t:80,u:161-162,443/tcp",
                           "135,139,445,49152-65535"]):
        put("port_spec", f"text_{i}", p)
    for i, t in enumerate(["10.0.0.1", "10.0.0.0/24", "10.0.0.1-20", "10.0.0.1-10.0.1.5",
                           "fe80::1", "[::1]", "fe80::1-ffff", "2001:db8::/120",
                           "dc1.example.test", "DC1.Example.Test.", "::-ffff:0:0:0:0:0:0:fffe",
                           "::ffff:10.0.0.1/126"]):
        put("target_spec", f"text_{i}", t)
    for i, s in enumerate(["ntds=38901", "netlogon=38902\nfrs=38903\ndfsr=5722",
                           "NTDS = 50000\nntds=50000", "dfsr=1023"]):
        put("static_port", f"text_{i}", s)


def datafiles():
    names = ["services.toml", "requirements.csv", "roles.toml", "rpc-interfaces.csv",
             "rpc-services.csv", "iana-service-ports.csv"]
    heads = [40, 40, 40, 30, 41, 60]
    parts = []
    for name, n in zip(names, heads):
        lines = (DATA / name).read_text().splitlines(True)
        parts.append("".join(lines[:n]))
    put("catalog_datafiles", "data_real_heads", "\0".join(parts))
    minimal = [
        '[[service]]\nid = "lsass"\nname = "Local Security Authority"\nservice_name = "LSASS"\n'
        'aliases = ["AD DS"]\ndescription = "Directory access over LDAP and RPC interfaces."\n'
        '[[service]]\nid = "dns"\nname = "DNS Server"\nservice_name = "DNS"\n'
        'description = "Answers name queries for the zones it hosts."\n',
        "service,port,protocol,application_protocol,qualifiers,notes,listed_as,tables\n"
        "lsass,389,TCP,LDAP Server,,,Local Security Authority,services+ports\n"
        "lsass,636,TCP,LDAP SSL,ssl,,,services\n"
        "lsass,,ICMP,ICMP,,no port number,,services\n"
        "lsass,49152-65535,TCP,RPC,rpc-dynamic,,,services\n"
        "dns,53,UDP,DNS,,,,services+ports+text+rules\n",
        '[[role]]\nid = "domain-controller"\nname = "Domain controller"\naliases = ["dc"]\n'
        'description = "An AD DC."\noptions = [{ id = "dns", description = "runs DNS", '
        'default = true }]\n[[role.allow]]\nservice = "lsass"\nports = ["389/tcp", "icmp", '
        '"49152-65535/tcp"]\ndirection = "clients"\n[[role.allow]]\nservice = "dns"\n'
        'ports = ["*"]\ndirection = "clients"\noption = "dns"\n',
        "uuid,version,name,service\n12345778-1234-abcd-ef00-0123456789ab,0.0,[MS-LSAD],lsass.exe\n"
        "e1af8308-5d1f-11c9-91a4-08002b14a0fa,3.0,epmapper,\n",
        "uuid,short_name,service\n12345778-1234-abcd-ef00-0123456789ab,lsarpc,lsass\n"
        "50abc2a4-574d-40b3-9d66-ee4fd5fba076,dnsserver,dns\n",
        "service_name,port,protocol,description\nssh,22,tcp,The Secure Shell (SSH) Protocol\n"
        ",0,udp,Reserved\nx11,6000-6063,tcp,X Window System\nsctp-thing,9,sctp,Discard\n",
    ]
    put("catalog_datafiles", "data_minimal", "\0".join(minimal))


if __name__ == "__main__":
    ntp()
    snmp()
    mssql()
    ike()
    rdp()
    netbios_session()
    ber()
    text()
    datafiles()
