#!/usr/bin/env bash
# Start the sweep-benchmark target: netns "portqbench" joined to the host by a veth
# pair (host 10.201.0.1, namespace 10.201.0.2), with ~1,000 TCP listeners on random
# ports of 1-65535 inside it. The chosen ports are written to
# /tmp/portqbench/ports.txt (one per line, sorted). Idempotent.
#
# The namespace has no default route, so nothing sent to it can leave this machine.
# Env overrides: see bench-common.sh (BENCH_COUNT, BENCH_SEED, BENCH_IP, ...).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench-common.sh
. "$here/bench-common.sh"

bench_require_root
command -v python3 >/dev/null || bdie "python3 is needed for the listeners"

if pid=$(bench_pid_alive) && [ -s "$BENCH_PORTS_FILE" ]; then
    blog "already up: pid $pid, $(wc -l < "$BENCH_PORTS_FILE") listeners on $BENCH_IP ($BENCH_PORTS_FILE)"
    exit 0
fi

if ! bench_ns_exists; then
    blog "creating netns $BENCH_NS"
    ip netns add "$BENCH_NS"
fi
if ! ip link show "$BENCH_HOST_IF" >/dev/null 2>&1; then
    ip -n "$BENCH_NS" link del "$BENCH_NS_IF" 2>/dev/null || true
    ip link add "$BENCH_HOST_IF" type veth peer name "$BENCH_NS_IF"
    ip link set "$BENCH_NS_IF" netns "$BENCH_NS"
fi
ip addr replace "$BENCH_HOST_IP/$BENCH_PREFIX" dev "$BENCH_HOST_IF"
ip link set "$BENCH_HOST_IF" up
ip -n "$BENCH_NS" link set lo up
ip -n "$BENCH_NS" addr replace "$BENCH_IP/$BENCH_PREFIX" dev "$BENCH_NS_IF"
ip -n "$BENCH_NS" link set "$BENCH_NS_IF" up
sysctl -qw "net.ipv6.conf.$BENCH_HOST_IF.disable_ipv6=1" 2>/dev/null || true
ip netns exec "$BENCH_NS" sysctl -qw "net.ipv6.conf.$BENCH_NS_IF.disable_ipv6=1" 2>/dev/null || true
if ip -n "$BENCH_NS" route show default | grep -q .; then
    bdie "netns $BENCH_NS has a default route; refusing to continue"
fi

mkdir -p "$BENCH_STATE"
rm -f "$BENCH_PORTS_FILE" "$BENCH_PIDFILE"
seed_arg=()
[ -n "$BENCH_SEED" ] && seed_arg=(--seed "$BENCH_SEED")
blog "starting $BENCH_COUNT listeners on $BENCH_IP (exit by themselves after ${BENCH_LIFETIME}s)"
ip netns exec "$BENCH_NS" python3 "$here/bench-listeners.py" --addr "$BENCH_IP" \
    --count "$BENCH_COUNT" --out "$BENCH_PORTS_FILE" --lifetime "$BENCH_LIFETIME" \
    "${seed_arg[@]}" > "$BENCH_STATE/listeners.log" 2>&1 &
echo $! > "$BENCH_PIDFILE"

for ((i = 0; i < 100; i++)); do
    [ -s "$BENCH_PORTS_FILE" ] && break
    kill -0 "$(cat "$BENCH_PIDFILE")" 2>/dev/null || { cat "$BENCH_STATE/listeners.log" >&2; bdie "listeners exited"; }
    sleep 0.1
done
[ -s "$BENCH_PORTS_FILE" ] || bdie "listeners not ready after 10 s; see $BENCH_STATE/listeners.log"
n=$(ip netns exec "$BENCH_NS" ss -Htln | wc -l)
blog "up: $n TCP listeners in $BENCH_NS at $BENCH_IP; ports in $BENCH_PORTS_FILE"
