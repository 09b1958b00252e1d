#!/usr/bin/env bash
# Removes the routed trace lab PREFIX (see trace-lab-up.sh) and its processes.
p=${1:?usage: trace-lab-down.sh PREFIX}
for f in "/tmp/${p}-server.pid" "/tmp/${p}-hostile.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    rm -f "$f"
done
for n in c r1 r2 r2b r3 s h; do
    if ip netns pids "$p$n" >/dev/null 2>&1; then
        for pid in $(ip netns pids "$p$n"); do kill "$pid" 2>/dev/null; done
    fi
    ip netns del "$p$n" 2>/dev/null
done
rm -f "/tmp/${p}-server.log" "/tmp/${p}-hostile.log"
exit 0
