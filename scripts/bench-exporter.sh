#!/usr/bin/env bash
# Load on `portq exporter`: at least 1,000 /probe requests at concurrency 100 (wrk, from
# Debian) against the Samba DC lab (tests/lab/samba-dc-up.sh, netns dc1, 10.200.0.2).
# Prints the status codes (every request must get 200 or a deliberate 503), the peak RSS
# of the exporter (must stay under 100 MB) and its open descriptors before and after
# (no leak). Traffic: the exporter on 127.0.0.1, its probes to the lab DC only.
#
# Usage: scripts/bench-exporter.sh [REQUESTS] [CONCURRENCY] [EXPORTER FLAGS...]
#   e.g. scripts/bench-exporter.sh 1000 100 --max-concurrent-probes 50 --max-per-target 50
# With the defaults (16 probes at once, 2 per target) and one target, most answers are
# deliberate 503s; raising both limits makes every request a real check of the DC.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-1000}
concurrency=${2:-100}
shift $(( $# > 2 ? 2 : $# ))
threads=2
command -v wrk >/dev/null || { echo "bench-exporter: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
dc=${PORTQ_LAB_DC:-10.200.0.2}
[ -r /tmp/sambadc/dc.env ] && . /tmp/sambadc/dc.env && dc=$SAMBA_DC_IP
cargo build --release -q -p portq
bin=target/release/portq
log=$(mktemp)
"$bin" exporter --listen 127.0.0.1:0 --allow-target "$dc/32" "$@" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
    addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 | sed 's|http://||') || true
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { echo "bench-exporter: the exporter did not start" >&2; cat "$log" >&2; exit 3; }
# Warm up once, then count descriptors.
curl -s -o /dev/null "http://$addr/probe?target=$dc&module=domain-controller"
fd_before=$(ls /proc/$pid/fd | wc -l)
echo "exporter pid $pid at $addr; probing $dc with module domain-controller"
echo "requests $requests at concurrency $concurrency (wrk, $threads threads); exporter flags: ${*:-(defaults)}"
start=$(date +%s.%N)
out=$(REQUESTS=$requests THREADS=$threads PROBE_PATH="/probe?target=$dc&module=domain-controller" \
    wrk -t"$threads" -c"$concurrency" -d300s --timeout 30s -s scripts/bench-exporter.lua "http://$addr")
end=$(date +%s.%N)
echo "$out" | grep -E '^(status|answered|socket errors|latency|Requests/sec)'
answered=$(echo "$out" | awk '/^answered:/ {print $2}')
others=$(echo "$out" | awk '/^status / && $2 != "200:" && $2 != "503:" {n += $3} END {print n + 0}')
sleep 1
fd_after=$(ls /proc/$pid/fd | wc -l)
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
rss_now=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
own=$(curl -s "http://$addr/metrics" | grep '^portq_exporter_probes_total' | sort)

echo "peak RSS $((rss_peak / 1024)) MB (now $((rss_now / 1024)) MB); limit 100 MB"
echo "open descriptors: before $fd_before, after $fd_after"
echo "exporter's own count:"
echo "$own"
fail=0
[ "${answered:-0}" -ge "$requests" ] || { echo "FAIL: $answered of $requests requests answered"; fail=1; }
[ "$others" -eq 0 ] || { echo "FAIL: $others answers were neither 200 nor 503"; fail=1; }
[ "$rss_peak" -lt $((100 * 1024)) ] || { echo "FAIL: peak RSS over 100 MB"; fail=1; }
[ "$fd_after" -le $((fd_before + 2)) ] || { echo "FAIL: descriptors grew"; fail=1; }
exit $fail
