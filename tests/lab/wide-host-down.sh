#!/usr/bin/env bash
# Stops the wide lab of wide-host-up.sh: its listener (pid file, checked to be ours), anything
# else left inside its namespace, the route, the veth pair and the namespace. Root only;
# idempotent; prints nothing. Takes the same WIDE_* environment as wide-host-up.sh.
set -uo pipefail
NS=${WIDE_NS:-portqwide}
HIF=${WIDE_HOST_IF:-veth-pqw-h}
NET=${WIDE_NET:-10.209.0.0/16}
BASE=${WIDE_BASE:-/tmp/portq-wide}
[ "$(id -u)" -eq 0 ] || { echo "wide-host-down: must run as root" >&2; exit 1; }

if [ -d "$BASE" ]; then
    exec 9> "$BASE/lock"
    flock -w 60 9
fi
if [ -s "$BASE/pid" ]; then
    pid=$(cat "$BASE/pid")
    case "$pid" in
        '' | *[!0-9]*) ;;
        *)
            if tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q "$BASE/wide-listener"; then
                kill "$pid" 2> /dev/null
                for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
            fi
            ;;
    esac
fi
rm -f "$BASE/pid" "$BASE/listen"
if [ -e "/run/netns/$NS" ]; then
    mapfile -t left < <(ip netns pids "$NS" 2> /dev/null)
    [ "${#left[@]}" -eq 0 ] || kill "${left[@]}" 2> /dev/null
    ip netns del "$NS" 2> /dev/null
fi
ip route del "$NET" 2> /dev/null
ip link del "$HIF" 2> /dev/null
exit 0
