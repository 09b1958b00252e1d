#!/usr/bin/env bash
# The wide lab: a network namespace in which a whole /16 (10.209.0.0/16, 65,536 addresses)
# is local through an AnyIP route on lo, reached from the root namespace over a veth pair
# (host 10.208.1.1/24 <-> namespace 10.208.1.2/24) and one route. A small accept-and-close
# listener in C (tests/lab/wide-listener.c, compiled here with gcc) answers inside it.
#
# Truth (written to $WIDE_BASE/truth.txt, one "ADDRESS PORT" per line, 0.0.0.0 = every
# address of the /16): 445/tcp and 3389/tcp listen on every address; a few more ports listen
# on single addresses, so that every benchmark scenario has open ports to find:
#   10.209.0.1: 1, 22, 80, 8080, 49152, 65535      10.209.0.255: 53
#   10.209.7.7: 88        10.209.8.0: 25           10.209.15.255: 100
#   10.209.255.255: 80
# Every other TCP port of every address is closed (answers with a reset). Nothing else
# listens in the namespace, and it has no default route (this script refuses otherwise).
#
# Root only; idempotent; prints nothing on success (errors on stderr, exit 1), and returns
# in a few milliseconds when the lab is already up with the same listeners. Stop it with
# wide-host-down.sh (same environment).
#
# Env overrides (use the same for wide-host-down.sh):
#   WIDE_NS (portqwide)  WIDE_HOST_IF (veth-pqw-h)  WIDE_NS_IF (veth-pqw)
#   WIDE_HOST_IP (10.208.1.1)  WIDE_NS_IP (10.208.1.2)  WIDE_LINK_PREFIX (24)
#   WIDE_NET (10.209.0.0/16)   WIDE_BASE (/tmp/portq-wide: binary, pid, log, truth)
#   WIDE_LISTEN  listeners, "ADDR:PORT ..." (default above; with another WIDE_NET only
#                0.0.0.0:445 0.0.0.0:3389)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS=${WIDE_NS:-portqwide}
HIF=${WIDE_HOST_IF:-veth-pqw-h}
NIF=${WIDE_NS_IF:-veth-pqw}
HOST_IP=${WIDE_HOST_IP:-10.208.1.1}
NS_IP=${WIDE_NS_IP:-10.208.1.2}
LINK_PREFIX=${WIDE_LINK_PREFIX:-24}
NET=${WIDE_NET:-10.209.0.0/16}
BASE=${WIDE_BASE:-/tmp/portq-wide}
if [ -n "${WIDE_LISTEN:-}" ]; then
    LISTEN=$WIDE_LISTEN
elif [ "$NET" = 10.209.0.0/16 ]; then
    LISTEN="0.0.0.0:445 0.0.0.0:3389 10.209.0.1:1 10.209.0.1:22 10.209.0.1:80 10.209.0.1:8080"
    LISTEN+=" 10.209.0.1:49152 10.209.0.1:65535 10.209.0.255:53 10.209.7.7:88 10.209.8.0:25"
    LISTEN+=" 10.209.15.255:100 10.209.255.255:80"
else
    LISTEN="0.0.0.0:445 0.0.0.0:3389"
fi

die() { printf 'wide-host-up: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"

# Our listener's pid, if it is alive and really is our listener.
listener_pid() {
    local pid
    [ -s "$BASE/pid" ] || return 1
    pid=$(cat "$BASE/pid" 2>/dev/null) || return 1
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$BASE/wide-listener" || return 1
    printf '%s\n' "$pid"
}

# One at a time (tests may call this concurrently); the lock goes with the process.
mkdir -p "$BASE"
exec 9> "$BASE/lock"
flock -w 60 9 || die "another wide-host-up/down holds $BASE/lock"

# Fast path: already up with the same listeners, namespace and route in place.
if pid=$(listener_pid) && [ "$(cat "$BASE/listen" 2>/dev/null)" = "$LISTEN" ] \
    && [ -e "/run/netns/$NS" ] && [ -n "$(ip route show "$NET" 2>/dev/null)" ] \
    && [ ! "$here/wide-listener.c" -nt "$BASE/wide-listener" ]; then
    exit 0
fi

command -v gcc > /dev/null || die "gcc is needed to build the listener (apt-get install gcc)"
if [ ! -x "$BASE/wide-listener" ] || [ "$here/wide-listener.c" -nt "$BASE/wide-listener" ]; then
    gcc -O2 -Wall -o "$BASE/wide-listener" "$here/wide-listener.c" || die "could not build the listener"
fi

# A listener with other settings (or a stale one) goes first.
if pid=$(listener_pid); then
    kill "$pid" 2> /dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
fi
rm -f "$BASE/pid" "$BASE/listen"

[ -e "/run/netns/$NS" ] || ip netns add "$NS"
if ! ip link show "$HIF" > /dev/null 2>&1; then
    ip -n "$NS" link del "$NIF" 2> /dev/null || true
    ip link add "$HIF" type veth peer name "$NIF"
    ip link set "$NIF" netns "$NS"
fi
ip addr replace "$HOST_IP/$LINK_PREFIX" dev "$HIF"
ip link set "$HIF" up
sysctl -qw "net.ipv6.conf.$HIF.disable_ipv6=1" 2> /dev/null || true
ip -n "$NS" link set lo up
ip -n "$NS" addr replace "$NS_IP/$LINK_PREFIX" dev "$NIF"
ip -n "$NS" link set "$NIF" up
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$NIF.disable_ipv6=1" 2> /dev/null || true
# AnyIP: every address of $NET is local inside the namespace.
ip -n "$NS" route replace local "$NET" dev lo table local
# The root namespace reaches $NET through the namespace's end of the veth (one neighbour).
ip route replace "$NET" via "$NS_IP" dev "$HIF"
# Deep accept and SYN queues, room for the TIME_WAIT sockets of the listener's closes.
ip netns exec "$NS" sysctl -qw net.core.somaxconn=16384 net.ipv4.tcp_max_syn_backlog=16384 \
    net.ipv4.tcp_max_tw_buckets=524288
if ip -n "$NS" route show default | grep -q .; then
    die "netns $NS has a default route; refusing to continue"
fi

# The truth, from the listener list.
: > "$BASE/truth.tmp"
for spec in $LISTEN; do
    printf '%s %s\n' "${spec%:*}" "${spec##*:}" >> "$BASE/truth.tmp"
done
mv "$BASE/truth.tmp" "$BASE/truth.txt"
printf '%s\n' "$NET" > "$BASE/net"

# shellcheck disable=SC2086  # one argument per listener
ip netns exec "$NS" "$BASE/wide-listener" -b 16384 $LISTEN > "$BASE/listener.log" 2>&1 9>&- &
echo $! > "$BASE/pid"
for _ in $(seq 100); do
    if grep -q ready "$BASE/listener.log" 2> /dev/null; then
        printf '%s\n' "$LISTEN" > "$BASE/listen"
        exit 0
    fi
    kill -0 "$(cat "$BASE/pid")" 2> /dev/null || break
    sleep 0.05
done
die "listener did not become ready: $(tail -1 "$BASE/listener.log" 2> /dev/null)"
