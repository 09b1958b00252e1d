#!/usr/bin/env bash
# Smoke run of every portq.exe subcommand under Wine, against loopback listeners this
# script opens itself (called by scripts/windows-test.sh, which sets up Wine). Each
# command must exit with the code expected and print what proves it ran.
set -euo pipefail
exe=${PORTQ_EXE:?path to portq.exe}
wine=${CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER:?the Wine runner}
out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT
fails=0 runs=0

# run NAME EXPECTED_EXIT PATTERN -- ARGS...: runs portq.exe ARGS, checks exit code and stdout.
run() {
    local name=$1 want=$2 pattern=$3; shift 4
    local rc=0
    timeout 120 "$wine" "$exe" "$@" >"$out/stdout" 2>"$out/stderr" || rc=$?
    runs=$((runs + 1))
    if [ "$rc" != "$want" ] || ! grep -Eq -- "$pattern" "$out/stdout" "$out/stderr"; then
        fails=$((fails + 1))
        echo "windows-smoke: FAIL $name: exit $rc (want $want), /$pattern/ expected; stdout/stderr:"
        head -c 1500 "$out/stdout"; head -c 1500 "$out/stderr"
    else
        echo "windows-smoke: ok   $name (exit $rc)"
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A TCP listener that accepts and closes, and a closed port next to nothing.
python3 - <<'PY' >"$out/listen.port" &
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
s.settimeout(1)
end = time.time() + 900
while time.time() < end:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        pass
PY
pids+=($!)
for _ in $(seq 50); do [ -s "$out/listen.port" ] && break; sleep 0.1; done
open_port=$(cat "$out/listen.port")
closed_port=$(free_port)

run version 0 'portq' -- version
run lookup 0 'Server Message Block|SMB' -- lookup 445
run lookup-role 0 '389' -- lookup --role domain-controller
run services 0 '445' -- services
run ports 0 '3389' -- ports
run roles 0 'domain-controller' -- roles
run rules 0 'New-NetFirewallRule' -- rules --role domain-controller --from 10.0.0.0/8 --format powershell
run rules-no-from 2 'no --from given' -- rules --role domain-controller --format powershell
run audit 1 'THE WORLD' -- audit crates/portq/tests/fixtures/audit/aws-describe-security-groups.json --role domain-controller --from 10.0.0.0/8
run rpc-config 0 'Ports' -- rpc-config --range 50000-50100 --format reg
run check-open 0 '"listening"' -- check 127.0.0.1 -p "$open_port" --no-probe --format json
run check-closed 1 '"not_listening"' -- check 127.0.0.1 -p "$closed_port" --no-probe --strict --format json
run check-table 0 'LISTENING' -- check 127.0.0.1 -p "$open_port" --no-probe
# The listener accepts and closes: no endpoint mapper there, said in one line, exit 1.
run rpc 1 'connection closed' -- rpc 127.0.0.1 --port "$open_port" --timeout 3
run local 0 ":$open_port\\b|\"port\": *$open_port\\b" -- local --format json
run completions 0 'Register-ArgumentCompleter' -- completions powershell
run man 0 '\.TH' -- man
run bad-input 2 'out of range' -- check 127.0.0.1 -p 70000
# Windows cannot send TCP over raw sockets: the trace says so in one line (nothing sent).
run trace 2 'Linux only' -- trace 127.0.0.1 -p "$open_port"

# The servers: start, fetch a page over loopback, stop.
serve_http() {
    local name=$1 path=$2 pattern=$3; shift 3
    local port; port=$(free_port)
    timeout 300 "$wine" "$exe" "$@" --listen "127.0.0.1:$port" >"$out/$name.log" 2>&1 &
    local pid=$!
    pids+=($pid)
    runs=$((runs + 1))
    if python3 - "$port" "$path" "$pattern" <<'PY'
import re, sys, time, urllib.request
port, path, pattern = sys.argv[1], sys.argv[2], sys.argv[3]
for _ in range(120):
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read().decode()
        sys.exit(0 if re.search(pattern, body) else 1)
    except OSError:
        time.sleep(0.5)
sys.exit(1)
PY
    then
        echo "windows-smoke: ok   $name (GET $path)"
    else
        fails=$((fails + 1))
        echo "windows-smoke: FAIL $name: GET $path did not answer /$pattern/"; head -c 1500 "$out/$name.log"
    fi
    # Ctrl-C: Wine hands SIGINT to a console program as CTRL_C_EVENT, which portq's
    # Windows signal handling (crates/portq/src/signals.rs) must turn into a clean stop.
    # (timeout passes the signal on to portq.exe.)
    kill -INT "$pid" 2>/dev/null || true
    local rc=0
    stopped_within 15 "$pid"
    wait "$pid" 2>/dev/null || rc=$?
    runs=$((runs + 1))
    if [ "$rc" = 0 ] && grep -q 'portq: stopping' "$out/$name.log"; then
        echo "windows-smoke: ok   $name-ctrl-c (exit 0)"
    else
        fails=$((fails + 1))
        echo "windows-smoke: FAIL $name-ctrl-c: exit $rc (want 0 and 'portq: stopping')"; head -c 1500 "$out/$name.log"
    fi
}

# stopped_within SECONDS PID: waits (bounded) for PID to end; kills it if it does not.
stopped_within() {
    local limit=$(( $1 * 10 )) pid=$2 n=0
    while kill -0 "$pid" 2>/dev/null && [ "$n" -lt "$limit" ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        echo "windows-smoke: pid $pid still running after $1 s: killed"
        kill -KILL "$pid" 2>/dev/null || true
    fi
}
serve_http serve / '<html|<!doctype' serve
serve_http exporter /metrics 'portq_' exporter

# Ctrl-C during a check: a rate-limited check of 20 listeners of this script's own is
# interrupted after a few findings; what was found is written as valid JSON marked
# interrupted, and the exit code is 130 (as on Linux, where tests/integration/scale.rs
# checks the same with real signals).
python3 - <<'PY' >"$out/many.ports" &
import socket, time
ls = []
for _ in range(20):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); ls.append(s)
print(",".join(str(s.getsockname()[1]) for s in ls), flush=True)
time.sleep(300)
PY
pids+=($!)
for _ in $(seq 50); do [ -s "$out/many.ports" ] && break; sleep 0.1; done
timeout 120 "$wine" "$exe" check 127.0.0.1 -p "$(cat "$out/many.ports")" --no-probe --rate 2 \
    --format json >"$out/ctrl-c.json" 2>"$out/ctrl-c.err" &
cc_pid=$!
pids+=($cc_pid)
sleep 5
kill -INT "$cc_pid" 2>/dev/null || true
stopped_within 20 "$cc_pid"
cc_rc=0
wait "$cc_pid" 2>/dev/null || cc_rc=$?
runs=$((runs + 1))
if [ "$cc_rc" = 130 ] && grep -q 'interrupted: [0-9]* of 20 checks done' "$out/ctrl-c.err" \
    && python3 - "$out/ctrl-c.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
found = doc["findings"]
assert doc["summary"]["interrupted"] is True, doc["summary"]
assert 1 <= len(found) < 20, len(found)
assert all(f["state"] == "listening" for f in found), found
PY
then
    echo "windows-smoke: ok   check-ctrl-c (exit 130)"
else
    fails=$((fails + 1))
    echo "windows-smoke: FAIL check-ctrl-c: exit $cc_rc (want 130, JSON marked interrupted)"
    head -c 1500 "$out/ctrl-c.err"; head -c 1500 "$out/ctrl-c.json"
fi

echo "windows-smoke: $((runs - fails)) of $runs passed"
[ "$fails" = 0 ]
