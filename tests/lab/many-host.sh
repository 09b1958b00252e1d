#!/usr/bin/env bash
# A namespace host with 1,000 addresses on its interface, for portq's "many targets"
# limit test: netns "portqmany", reached from the root namespace through a veth pair
# (10.208.0.1 host side, 10.208.0.2 namespace side) and a route for 10.207.0.0/22 via
# the namespace, so the root namespace keeps one neighbour entry, not 1,000.
# One TCP listener on 0.0.0.0:7001 answers on every address; 7002 is closed. The
# listener exits by itself after 600 s. Nothing else listens there.
#
# Usage: many-host.sh up | down
set -euo pipefail
NS=portqmany
HIF=veth-pqm-h
NIF=veth-pqm
STATE=/tmp/portqmany
[ "$(id -u)" -eq 0 ] || { echo "many-host: must run as root" >&2; exit 1; }

down() {
    if [ -s "$STATE/listener.pid" ]; then
        kill "$(cat "$STATE/listener.pid")" 2>/dev/null || true
    fi
    ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip route del 10.207.0.0/22 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ip link del "$HIF" 2>/dev/null || true
    rm -rf "$STATE"
}

up() {
    down
    mkdir -p "$STATE"
    ip netns add "$NS"
    ip link add "$HIF" type veth peer name "$NIF"
    ip link set "$NIF" netns "$NS"
    ip addr add 10.208.0.1/30 dev "$HIF"
    ip link set "$HIF" up
    sysctl -qw "net.ipv6.conf.$HIF.disable_ipv6=1" 2>/dev/null || true
    ip -n "$NS" link set lo up
    ip -n "$NS" addr add 10.208.0.2/30 dev "$NIF"
    ip -n "$NS" link set "$NIF" up
    # 1,000 addresses: 10.207.0.0 - 10.207.3.231, added in one batch.
    : > "$STATE/addrs"
    for i in $(seq 0 999); do
        printf 'addr add 10.207.%d.%d/32 dev %s\n' $((i / 256)) $((i % 256)) "$NIF" >> "$STATE/addrs"
    done
    ip -n "$NS" -batch "$STATE/addrs"
    ip route add 10.207.0.0/22 via 10.208.0.2 dev "$HIF"
    if ip -n "$NS" route show default | grep -q .; then
        echo "many-host: $NS has a default route; refusing" >&2
        exit 1
    fi
    ip netns exec "$NS" python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7001)); s.listen(4096); s.settimeout(1.0)
end = time.time() + 600
print("ready", flush=True)
while time.time() < end:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        pass
' > "$STATE/listener.log" 2>&1 &
    echo $! > "$STATE/listener.pid"
    for _ in $(seq 1 50); do
        grep -q ready "$STATE/listener.log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q ready "$STATE/listener.log" || { echo "many-host: listener did not start" >&2; exit 1; }
    echo "many-host: up: 1000 addresses 10.207.0.0-10.207.3.231 in $NS, 7001/tcp listening"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: many-host.sh up|down" >&2; exit 2 ;;
esac
