#!/usr/bin/env python3
"""A hostile host for portq trace's tests: it never answers a probe honestly.

Run inside the lab's `hostile` namespace: `trace-hostile.py OWN_ADDR OTHER_ADDR`.
For every TCP SYN to 445 or 8445 and every UDP datagram to 53 that reaches OWN_ADDR
(the kernel drops them; this script sees them on the link), it sends back to the
prober:
  - ICMP time-exceeded quoting the probe with another destination port;
  - ICMP time-exceeded quoting the probe with another destination address;
  - ICMP admin-prohibited quoting the probe with another source port;
  - a SYN-ACK (or UDP answer) from OTHER_ADDR, an address that was never probed;
  - for the first 40 probes, a flood: 200 time-exceeded from random addresses quoting
    random packets, and 20 quoting the probe with a near-miss sequence number or ID.
A tracer that attributes none of it sees this host as silent after hop 1.
Stops by itself after 10 minutes.
"""
import random
import socket
import struct
import sys
import time

own, other = sys.argv[1], sys.argv[2]
own_b = socket.inet_aton(own)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip(src, dst, proto, payload, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), random.randint(1, 65535),
                    0, ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def icmp(src, dst, typ, code, quote):
    body = struct.pack("!BBHI", typ, code, 0, 0) + quote[:28]
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return ip(src, dst, 1, body)


def tcp_synack(src, dst, sport, dport, ack):
    t = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), ack, 5 << 4, 0x12, 1024, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(t))
    t = t[:16] + struct.pack("!H", csum(pseudo + t)) + t[18:]
    return ip(src, dst, 6, t)


def udp_answer(src, dst, sport, dport):
    u = struct.pack("!HHHH", sport, dport, 12, 0) + b"evil"
    return ip(src, dst, 17, u)


def with_field(pkt, at, fmt, value):
    return pkt[:at] + struct.pack(fmt, value) + pkt[at + struct.calcsize(fmt):]


sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
sniff.settimeout(1.0)
out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
print("ready", flush=True)
seen = 0
end = time.time() + 600
while time.time() < end:
    try:
        pkt = sniff.recv(4096)
    except socket.timeout:
        continue
    if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[16:20] != own_b:
        continue
    ihl = (pkt[0] & 15) * 4
    proto = pkt[9]
    prober = socket.inet_ntoa(pkt[12:16])
    sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
    if proto == 6 and dport in (445, 8445) and pkt[ihl + 13] & 0x02:
        seq = struct.unpack("!I", pkt[ihl + 4:ihl + 8])[0]
    elif proto == 17 and dport == 53:
        seq = None
    else:
        continue
    seen += 1
    q = pkt[:ihl + 8]
    forged = [
        icmp(own, prober, 11, 0, with_field(q, ihl + 2, "!H", dport + 1)),
        icmp(own, prober, 11, 0, q[:16] + socket.inet_aton("10.201.243.2") + q[20:]),
        icmp(own, prober, 3, 13, with_field(q, ihl, "!H", (sport + 1) & 0xFFFF)),
    ]
    if seq is not None:
        forged.append(tcp_synack(other, prober, dport, sport, (seq + 1) & 0xFFFFFFFF))
    else:
        forged.append(udp_answer(other, prober, dport, sport))
    if seen <= 40:
        for _ in range(200):
            junk = ip(prober, "10.201.%d.%d" % (random.randint(240, 244), random.randint(1, 254)),
                      random.choice((6, 17)), struct.pack("!HHI", random.getrandbits(16),
                                                         random.getrandbits(16), random.getrandbits(32)))
            forged.append(icmp("10.201.244.%d" % random.randint(100, 200), prober, 11, 0, junk))
        for d in range(1, 21):
            if seq is not None:
                forged.append(icmp(own, prober, 11, 0, with_field(q, ihl + 4, "!I", (seq + d) & 0xFFFFFFFF)))
            else:
                ident = struct.unpack("!H", q[4:6])[0]
                forged.append(icmp(own, prober, 11, 0, with_field(q, 4, "!H", (ident + d) & 0xFFFF)))
    for f in forged:
        try:
            out.sendto(f, (prober, 0))
        except OSError:
            pass
