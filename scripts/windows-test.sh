#!/usr/bin/env bash
# The Windows build, run for real under Wine: builds the x86_64-pc-windows-gnu test
# suites of every crate once (which builds portq.exe too), runs them under Wine, prints
# passed/failed/ignored per test binary, then smoke-runs every portq.exe subcommand
# against loopback listeners this script opens itself.
#
# Needs: rustup target x86_64-pc-windows-gnu, mingw-w64 (gcc-mingw-w64-x86-64) and Wine
# (Debian's wine + wine64). Rust's std imports ProcessPrng from bcryptprimitives.dll,
# which Wine 8 lacks: tests/windows/bcryptprimitives.c is a stand-in built here and put
# on WINEPATH (test harness only; it never ships).
#
# What Wine cannot show (owner PIDs of other programs' sockets, a UDP port-unreachable
# arriving as WSAECONNRESET, real services in the SCM) is covered by unit tests on
# recorded or constructed data; see the comments of those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
dir=$PWD/target/$target
mkdir -p "$dir/wine-shim"
start=$(date +%s)
say() { echo "windows-test: $* ($(( $(date +%s) - start )) s)"; }

x86_64-w64-mingw32-gcc -shared -O2 -Wall -o "$dir/wine-shim/bcryptprimitives.dll" \
    tests/windows/bcryptprimitives.c -ladvapi32
say "built the ProcessPrng stand-in"

winpath() { local p=${1//\//\\}; echo "Z:$p"; }
export WINEPATH WINEPREFIX=${WINEPREFIX:-$dir/wineprefix} WINEDEBUG=${WINEDEBUG:--all}
WINEPATH=$(winpath "$dir/wine-shim")
# No Mono or Gecko download prompts; console programs only.
export WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
wine=$(command -v wine64 || command -v wine)
# The runner removes itself from the environment before starting Wine (see the script).
export PORTQ_WINE_BIN=$wine CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$PWD/tests/windows/wine-runner.sh
# insta finds the workspace with `cargo metadata`, which a Windows process cannot run.
export INSTA_WORKSPACE_ROOT=$PWD CI=1
# Tests that look for Wine-only facts (the ProcessPrng shim, a socket opened by a Linux
# process) key on this.
export PORTQ_WINE=1
if [ ! -d "$WINEPREFIX/drive_c" ]; then
    "$wine" wineboot -i >/dev/null 2>&1 || true
    say "made the Wine prefix $WINEPREFIX"
fi
# One wineserver for the whole run. Left alone it exits a few seconds after the last Wine
# process, and a test binary starting in that moment dies with "wine client error: recvmsg:
# Connection reset by peer" (seen in CI). The trap below stops it. Wine's own background
# processes (services.exe, rpcss, plugplay) then live as long as the server: start them here,
# away from the test output's pipe, which they would otherwise hold open.
# The server that made the prefix may still be idling: wineserver then exits 2 ("already
# running"), so wait for it to go and try again (bounded).
persistent=
for _ in 1 2 3 4 5; do
    if wineserver -p 2>/dev/null; then persistent=1; break; fi
    wineserver -w 2>/dev/null || sleep 1
done
[ -n "$persistent" ] || { say "FAILED: could not start a persistent wineserver"; exit 1; }
"$wine" wineboot </dev/null >/dev/null 2>&1 || true

# A socket no Wine process owns: the inventory must still list it (issue 14).
python3 - <<'PY' > "$dir/foreign.port" &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(1800)
PY
foreign_pid=$!
# On exit: the Linux listener, and every Wine process of this prefix (a test's server that
# outlived it would otherwise keep Wine running).
trap 'kill $foreign_pid 2>/dev/null || true; wineserver -k 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$dir/foreign.port" ] && break; sleep 0.1; done
export PORTQ_WINE_FOREIGN_TCP
PORTQ_WINE_FOREIGN_TCP=$(cat "$dir/foreign.port")

say "building the Windows test suites"
cargo test --target "$target" --workspace --locked --no-run 2>&1 | grep -v '^ *\(Compiling\|Fresh\)' || exit 1
say "running them under Wine"
log=$dir/wine-tests.log
status=0
cargo test --target "$target" --workspace --locked --no-fail-fast 2>&1 | tee "$log" >/dev/null || status=$?
# Counts per binary, from cargo's "Running"/"Doc-tests" and "test result" lines.
awk '
  /^ *Running unittests / {
      exe = $NF; gsub(/[()]/, "", exe); n = split(exe, p, "/"); crate = p[n]
      sub(/-[0-9a-f]+\.exe$/, "", crate); bin = crate " unit tests"
  }
  /^ *Running tests\// { bin = crate " " $2 }
  /^ *Doc-tests / { bin = $2 " doctests" }
  /^test result:/ {
      passed = $4; failed = $6; ignored = $8; sub(/;/, "", passed); sub(/;/, "", failed); sub(/;/, "", ignored)
      printf "windows-test: %-45s passed %5d  failed %3d  ignored %3d\n", bin, passed, failed, ignored
      tp += passed; tf += failed; ti += ignored
  }
  END { printf "windows-test: %-45s passed %5d  failed %3d  ignored %3d\n", "TOTAL", tp, tf, ti }
' "$log"
grep -E '^test .* FAILED' "$log" | head -40 || true
# Each failing test's own output (its panic message), 30 lines at most per test.
awk '/^---- .* stdout ----$/ { n = 30; print; next }
     n > 0 && /^(failures:|---- |test result:)/ { n = 0 }
     n > 0 { print "    " $0; n-- }' "$log" | head -200 || true
if [ "$status" != 0 ]; then
    say "FAILED: Windows tests under Wine (full log: $log)"
    exit 1
fi
say "Windows tests passed under Wine"

CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$wine PORTQ_EXE="$dir/debug/portq.exe" scripts/windows-smoke.sh
say "done"
