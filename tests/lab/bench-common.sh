# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared settings for bench-host-up.sh / bench-host-down.sh. Sourced, not executed.
#
# A scan target for portq's full-range benchmark: netns "portqbench" at 10.201.0.2
# with ~1,000 TCP listeners on random ports; nothing else listens there.

BENCH_NS=${BENCH_NS:-portqbench}
BENCH_HOST_IF=${BENCH_HOST_IF:-veth-pqb-h}
BENCH_NS_IF=${BENCH_NS_IF:-veth-pqb}
BENCH_HOST_IP=${BENCH_HOST_IP:-10.201.0.1}
BENCH_IP=${BENCH_IP:-10.201.0.2}
BENCH_PREFIX=${BENCH_PREFIX:-24}
BENCH_COUNT=${BENCH_COUNT:-1000}          # listeners
BENCH_SEED=${BENCH_SEED:-}                # random seed for the port choice (empty: random)
BENCH_LIFETIME=${BENCH_LIFETIME:-14400}   # seconds before the listeners exit by themselves
BENCH_STATE=${BENCH_STATE:-/tmp/portqbench}
BENCH_PORTS_FILE="$BENCH_STATE/ports.txt"
BENCH_PIDFILE="$BENCH_STATE/listeners.pid"

blog() { printf '[portqbench] %s\n' "$*" >&2; }
bdie() { printf '[portqbench] ERROR: %s\n' "$*" >&2; exit 1; }

bench_require_root() {
    [ "$(id -u)" -eq 0 ] || bdie "must run as root (network namespaces)"
}

bench_ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$BENCH_NS"; }

# The listener pid, if it is alive and is our python script.
bench_pid_alive() {
    local pid
    [ -s "$BENCH_PIDFILE" ] || return 1
    pid=$(cat "$BENCH_PIDFILE" 2>/dev/null) || return 1
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q 'bench-listeners.py' || return 1
    printf '%s\n' "$pid"
}
