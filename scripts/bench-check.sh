#!/usr/bin/env bash
# Full-range sweep benchmark: `portq check` against `nmap -sT` on the same host, in
# the same run, checking that both find exactly the listening ports.
#
# The target is the namespace host of tests/lab/bench-host-up.sh (10.201.0.2 with
# ~1,000 listeners on random ports, listed in /tmp/portqbench/ports.txt); it is
# started if it is not up. Nothing else is ever scanned.
#
# Usage: scripts/bench-check.sh [RUNS]          (default 10; or BENCH_RUNS)
# Env:   PORTQ_BIN     portq binary (default target/release/portq, built unless BENCH_BUILD=0)
#        PORTQ_ARGS    extra arguments for portq check (e.g. "--concurrency 512")
#        BENCH_IP, BENCH_PORTS_FILE   target and its port list (see tests/lab/bench-common.sh)
#        BENCH_OUT     where raw outputs go (default ./bench-out)
#        BENCH_STRICT=1  also fail when the median ratio is above 0.5
# Exit:  0 identical results in every run (and the ratio met with BENCH_STRICT=1),
#        1 a run missed or invented a port (or the ratio was missed with BENCH_STRICT=1),
#        2 usage or setup error.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-${BENCH_RUNS:-10}}
case "$runs" in ''|*[!0-9]*|0) echo "bench-check: RUNS must be a positive number" >&2; exit 2 ;; esac
[ "$runs" -le 1000 ] || { echo "bench-check: at most 1000 runs" >&2; exit 2; }

target=${BENCH_IP:-10.201.0.2}
ports_file=${BENCH_PORTS_FILE:-/tmp/portqbench/ports.txt}
portq=${PORTQ_BIN:-$root/target/release/portq}
out=${BENCH_OUT:-$root/bench-out}
read -r -a portq_extra <<< "${PORTQ_ARGS:-}"

command -v nmap >/dev/null || { echo "bench-check: nmap is not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench-check: python3 is needed to compare results" >&2; exit 2; }

case "$target" in
    10.201.*) ;;
    *) echo "bench-check: refusing to sweep $target (only the bench namespace host 10.201.x.x)" >&2; exit 2 ;;
esac

if [ ! -s "$ports_file" ]; then
    echo "bench-check: starting the bench host (tests/lab/bench-host-up.sh)" >&2
    bash "$root/tests/lab/bench-host-up.sh"
fi
[ -s "$ports_file" ] || { echo "bench-check: no port list at $ports_file" >&2; exit 2; }

if [ "${BENCH_BUILD:-1}" = 1 ] && [ -z "${PORTQ_BIN:-}" ]; then
    (cd "$root" && cargo build --release -q -p portq)
fi
[ -x "$portq" ] || { echo "bench-check: no portq binary at $portq" >&2; exit 2; }

mkdir -p "$out"
now() { date +%s%N; }

# Listening TCP ports found in a portq JSON (any shape holding objects with port/state)
# or nmap greppable output; one per line, sorted.
extract() {
    python3 - "$1" "$2" <<'PY'
import json, re, sys
kind, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8", errors="replace").read()
found = set()
if kind == "nmap":
    for m in re.finditer(r"(\d+)/open/tcp", text):
        found.add(int(m.group(1)))
else:
    def walk(v):
        if isinstance(v, dict):
            if "port" in v and "state" in v:
                proto = v.get("transport", v.get("protocol", "tcp"))
                if v.get("state") == "listening" and proto == "tcp":
                    found.add(int(v["port"]))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    try:
        walk(json.loads(text))
    except json.JSONDecodeError:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("{"):
                walk(json.loads(line))
for p in sorted(found):
    print(p)
PY
}

declare -a pt nt
same=0
echo "run  portq_s  nmap_s  ratio  portq_ok  nmap_ok"
for ((i = 1; i <= runs; i++)); do
    run_portq() {
        local t0 t1 rc=0
        t0=$(now)
        "$portq" check "$target" -p 1-65535 --format json "${portq_extra[@]}" \
            > "$out/portq-$i.json" 2> "$out/portq-$i.err" || rc=$?
        t1=$(now)
        # 0: all as expected, 1: some port not listening (expected here).
        if [ "$rc" -gt 1 ]; then
            echo "bench-check: portq exited with $rc; see $out/portq-$i.err" >&2
            exit 2
        fi
        pt[i]=$((t1 - t0))
    }
    run_nmap() {
        local t0 t1
        t0=$(now)
        nmap -n -Pn -sT -T4 -p 1-65535 "$target" -oG "$out/nmap-$i.gnmap" > /dev/null
        t1=$(now)
        nt[i]=$((t1 - t0))
    }
    # Alternate the order so that neither tool always runs on a warmer machine.
    if ((i % 2)); then run_portq; run_nmap; else run_nmap; run_portq; fi
    extract portq "$out/portq-$i.json" > "$out/portq-$i.ports"
    extract nmap "$out/nmap-$i.gnmap" > "$out/nmap-$i.ports"
    sort -n "$ports_file" > "$out/expected.ports"
    pok=no; nok=no
    cmp -s "$out/portq-$i.ports" "$out/expected.ports" && pok=yes
    cmp -s "$out/nmap-$i.ports" "$out/expected.ports" && nok=yes
    [ "$pok" = yes ] && [ "$nok" = yes ] && same=$((same + 1))
    awk -v i="$i" -v p="${pt[i]}" -v n="${nt[i]}" -v po="$pok" -v no="$nok" \
        'BEGIN { printf "%3d  %7.3f  %6.3f  %5.2f  %-8s  %s\n", i, p/1e9, n/1e9, p/n, po, no }'
done

ratios=$(for ((i = 1; i <= runs; i++)); do awk -v p="${pt[i]}" -v n="${nt[i]}" 'BEGIN { printf "%.6f\n", p/n }'; done | sort -n)
median() { awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
med_ratio=$(printf '%s\n' "$ratios" | median)
med_portq=$(for ((i = 1; i <= runs; i++)); do echo "${pt[i]}"; done | sort -n | median)
med_nmap=$(for ((i = 1; i <= runs; i++)); do echo "${nt[i]}"; done | sort -n | median)
awk -v p="$med_portq" -v n="$med_nmap" -v r="$med_ratio" \
    'BEGIN { printf "median: portq %.3f s, nmap %.3f s; median ratio portq/nmap %.2f (target <= 0.50)\n", p/1e9, n/1e9, r }'
echo "identical results in $same of $runs runs"

status=0
[ "$same" -eq "$runs" ] || status=1
if [ "${BENCH_STRICT:-0}" = 1 ] && awk -v r="$med_ratio" 'BEGIN { exit !(r > 0.5) }'; then
    echo "bench-check: median ratio $med_ratio is above 0.5" >&2
    status=1
fi
exit "$status"
