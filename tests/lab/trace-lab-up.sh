#!/usr/bin/env bash
# The routed lab of `portq trace`: five network namespaces in a line, and a sixth off
# r1, all on 10.201.240.0/21 (the project's range), with no link to the host at all:
#
#   client 10.201.240.2 ── r1 ── r2 ── r3 ── server 10.201.243.2
#   (.240.2)        (.240.1|.241.1)(.241.2|.242.1)(.242.2|.243.1)
#                         └── hostile 10.201.244.2 (and .244.77)
#
# - server listens on 135, 389, 445 and 3389/tcp and answers 389/udp;
# - r2 silently drops 445/tcp and 389/udp toward the server (forward chain);
# - r3 rejects 3389/tcp toward the server with ICMP admin-prohibited (code 13);
# - hostile runs tests/lab/trace-hostile.py: forged and flooding ICMP (see there);
# - every router's ICMP rate limit is off, so answers are deterministic, unless
#   PQ_TRACE_RATELIMIT_MS is set: then r1 limits its ICMP to one per that many ms;
# - PQ_TRACE_ECMP=1 adds r2b (10.201.245.2 | 10.201.246.1) beside r2: r1 reaches the
#   server through either, chosen per flow by a hash of addresses and ports (equal-cost
#   multipath, fib_multipath_hash_policy=1); r2b filters nothing.
#
# Usage: trace-lab-up.sh PREFIX   (namespaces PREFIXc PREFIXr1 PREFIXr2 PREFIXr3
#        PREFIXs PREFIXh; trace-lab-down.sh PREFIX removes them). Needs root, nft and
#        python3. Prints `ready` when every listener is up.
set -euo pipefail
p=${1:?usage: trace-lab-up.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
c=${p}c r1=${p}r1 r2=${p}r2 r3=${p}r3 s=${p}s h=${p}h r2b=${p}r2b

"$here/trace-lab-down.sh" "$p" >/dev/null 2>&1 || true
for n in "$c" "$r1" "$r2" "$r3" "$s" "$h"; do
    ip netns add "$n"
    ip -n "$n" link set lo up
done
# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B
link() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$4" addr add "$6" dev "$5"
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
}
link "$c" c0 10.201.240.2/24 "$r1" r1c 10.201.240.1/24
link "$r1" r1n 10.201.241.1/24 "$r2" r2p 10.201.241.2/24
link "$r2" r2n 10.201.242.1/24 "$r3" r3p 10.201.242.2/24
link "$r3" r3n 10.201.243.1/24 "$s" s0 10.201.243.2/24
link "$r1" r1h 10.201.244.1/24 "$h" h0 10.201.244.2/24
ip -n "$h" addr add 10.201.244.77/24 dev h0

ip -n "$c" route add 10.201.240.0/21 via 10.201.240.1
ip -n "$r1" route add 10.201.242.0/24 via 10.201.241.2
[ "${PQ_TRACE_ECMP:-}" = 1 ] || ip -n "$r1" route add 10.201.243.0/24 via 10.201.241.2
ip -n "$r2" route add 10.201.240.0/24 via 10.201.241.1
ip -n "$r2" route add 10.201.244.0/24 via 10.201.241.1
ip -n "$r2" route add 10.201.243.0/24 via 10.201.242.2
ip -n "$r3" route add 10.201.240.0/22 via 10.201.242.1
ip -n "$r3" route add 10.201.244.0/24 via 10.201.242.1
ip -n "$s" route add 10.201.240.0/21 via 10.201.243.1
ip -n "$h" route add 10.201.240.0/21 via 10.201.244.1
if [ "${PQ_TRACE_ECMP:-}" = 1 ]; then
    ip netns add "$r2b"
    ip -n "$r2b" link set lo up
    link "$r1" r1b 10.201.245.1/24 "$r2b" r2bp 10.201.245.2/24
    link "$r2b" r2bn 10.201.246.1/24 "$r3" r3b 10.201.246.2/24
    ip netns exec "$r2b" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$r2b" sysctl -qw net.ipv4.icmp_ratelimit=0
    ip -n "$r2b" route add 10.201.243.0/24 via 10.201.246.2
    ip -n "$r2b" route add 10.201.240.0/24 via 10.201.245.1
    ip netns exec "$r1" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
    ip -n "$r1" route add 10.201.243.0/24 nexthop via 10.201.241.2 nexthop via 10.201.245.2
    # r3 answers the client through r2 whichever way a probe came in.
    for n in all default r3p r3b; do ip netns exec "$r3" sysctl -qw "net.ipv4.conf.$n.rp_filter=0"; done
fi

for r in "$r1" "$r2" "$r3"; do
    ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$r" sysctl -qw net.ipv4.icmp_ratelimit=0
done
if [ -n "${PQ_TRACE_RATELIMIT_MS:-}" ]; then
    ip netns exec "$r1" sysctl -qw net.ipv4.icmp_ratelimit="$PQ_TRACE_RATELIMIT_MS"
    ip netns exec "$r1" sysctl -qw net.ipv4.icmp_msgs_burst=1
    ip netns exec "$r1" sysctl -qw net.ipv4.icmp_msgs_per_sec=2
fi

ip netns exec "$r2" nft -f - <<'NFT'
table inet pqtrace {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip daddr 10.201.243.2 tcp dport 445 drop
        ip daddr 10.201.243.2 udp dport 389 drop
    }
}
NFT
ip netns exec "$r3" nft -f - <<'NFT'
table inet pqtrace {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip daddr 10.201.243.2 tcp dport 3389 reject with icmp type admin-prohibited
    }
}
NFT
# The hostile host's kernel stays silent on the traced ports: only the script answers.
ip netns exec "$h" nft -f - <<'NFT'
table inet pqtrace {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport { 445, 8445 } drop
        udp dport 53 drop
    }
}
NFT

# The server: listeners and a 389/udp answerer, in one process that says `ready`.
ip netns exec "$s" python3 - >"/tmp/${p}-server.log" 2>&1 <<'PY' &
import socket, select, sys
socks = []
for port in (135, 389, 445, 3389):
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("10.201.243.2", port)); t.listen(64); socks.append(t)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.201.243.2", 389))
# An LDAP-looking answer is enough: the trace needs the host's answer, not its meaning.
print("ready", flush=True)
deadline_free = True
while True:
    r, _, _ = select.select(socks + [u], [], [], 60)
    for x in r:
        if x is u:
            data, peer = u.recvfrom(2048)
            u.sendto(b"\x30\x0c\x02\x01\x01\x65\x07\x0a\x01\x00\x04\x00\x04\x00", peer)
        else:
            conn, _ = x.accept(); conn.close()
PY
echo $! > "/tmp/${p}-server.pid"
ip netns exec "$h" python3 "$here/trace-hostile.py" 10.201.244.2 10.201.244.77 \
    >"/tmp/${p}-hostile.log" 2>&1 &
echo $! > "/tmp/${p}-hostile.pid"

# Wait (bounded) until the server answers and the hostile script is up.
for _ in $(seq 1 50); do
    if ip netns exec "$c" bash -c 'exec 3<>/dev/tcp/10.201.243.2/389' 2>/dev/null \
        && grep -q ready "/tmp/${p}-hostile.log" 2>/dev/null; then
        echo ready
        exit 0
    fi
    sleep 0.1
done
echo "trace lab: the server or the hostile responder did not start" >&2
exit 1
