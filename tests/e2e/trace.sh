#!/usr/bin/env bash
# The console's trace button in Chromium, on the routed trace lab: brings the lab up
# (namespaces PREFIX*), starts `portq serve` in its client namespace on loopback with
# checks allowed toward the lab's server network, runs trace.test.mjs there (browser
# included: it only talks to 127.0.0.1 of that namespace), and takes it all down.
# Needs root, chromium, playwright-core (cd tests/e2e && npm ci). Usage: trace.sh PREFIX
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
p=${1:?usage: trace.sh PREFIX}
bin=${PORTQ_BIN:-$root/target/debug/portq}
chromium=${PORTQ_CHROMIUM:-/usr/bin/chromium}
out="$root/target/e2e"
mkdir -p "$out"
bash tests/lab/trace-lab-up.sh "$p" >/dev/null
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    bash tests/lab/trace-lab-down.sh "$p"
}
trap cleanup EXIT
port=18443
ip netns exec "${p}c" "$bin" serve --listen "127.0.0.1:$port" --allow-checks \
    --allow-target 10.201.243.0/24 2>"$out/serve-trace.log" &
pid=$!
for _ in $(seq 1 100); do
    if ip netns exec "${p}c" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then break; fi
    sleep 0.1
done
ip netns exec "${p}c" env PORTQ_URL="http://127.0.0.1:$port" PORTQ_E2E_OUT="$out" \
    PORTQ_CHROMIUM="$chromium" HOME="${HOME:-/root}" node tests/e2e/trace.test.mjs
