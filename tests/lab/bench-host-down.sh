#!/usr/bin/env bash
# Stop the sweep-benchmark target started by bench-host-up.sh and delete its
# namespace. Idempotent. Only our listener process (from the pid file, checked to
# be bench-listeners.py) and processes inside our own namespace are signalled.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench-common.sh
. "$here/bench-common.sh"

bench_require_root

if pid=$(bench_pid_alive); then
    blog "stopping listeners (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$BENCH_PIDFILE"

if bench_ns_exists; then
    mapfile -t left < <(ip netns pids "$BENCH_NS" 2>/dev/null || true)
    if [ "${#left[@]}" -gt 0 ]; then
        blog "stopping ${#left[@]} leftover process(es) in netns $BENCH_NS: ${left[*]}"
        kill -TERM "${left[@]}" 2>/dev/null || true
        sleep 0.5
    fi
    blog "deleting netns $BENCH_NS"
    ip netns del "$BENCH_NS"
fi
ip link del "$BENCH_HOST_IF" 2>/dev/null || true
rm -f "$BENCH_PORTS_FILE"
blog "down"
