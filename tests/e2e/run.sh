#!/usr/bin/env bash
# End-to-end test of `portq serve` in headless Chromium: starts the console on a free
# loopback port, runs tests/e2e/console.test.mjs against it, stops it.
#
# Needs Debian's chromium (apt-get install -y chromium) and playwright-core
# (cd tests/e2e && npm ci); no browser is downloaded. Screenshots go to target/e2e/.
#
# Environment: PORTQ_BIN, the portq binary to test (default: build target/debug/portq);
# PORTQ_CHROMIUM, the browser (default /usr/bin/chromium).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

chromium=${PORTQ_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "run.sh: FAILED: no browser at $chromium (apt-get install -y chromium)" >&2
    exit 1
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
    echo "run.sh: FAILED: playwright-core is not installed (cd tests/e2e && npm ci)" >&2
    exit 1
fi

bin=${PORTQ_BIN:-}
if [ -z "$bin" ]; then
    cargo build --quiet -p portq
    bin="$root/target/debug/portq"
fi

# A free loopback port: bind port 0, read what the kernel chose, let it go.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
out="$root/target/e2e"
mkdir -p "$out"
log="$out/serve.log"

# Checks are allowed towards 127.0.0.1 only: the test checks a listener it opened itself.
"$bin" serve --listen "127.0.0.1:$port" --allow-checks --allow-target 127.0.0.1/32 2>"$log" &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

# Wait (at most 10 s) until the console accepts connections.
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "run.sh: FAILED: portq serve exited early:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done

status=0
PORTQ_URL="http://127.0.0.1:$port" PORTQ_E2E_OUT="$out" PORTQ_CHROMIUM="$chromium" PORTQ_BIN="$bin" \
    node tests/e2e/console.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
    echo "run.sh: FAILED (exit $status); server log:" >&2
    cat "$log" >&2
fi
exit "$status"
