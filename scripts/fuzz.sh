#!/usr/bin/env bash
# Runs portq's cargo-fuzz targets (fuzz/), each for a fixed time, and reports.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; no TARGET means every target in fuzz/Cargo.toml.
# Builds once (`cargo fuzz build`, on a stable toolchain through RUSTC_BOOTSTRAP=1),
# then runs each target with libFuzzer's -max_total_time on its working corpus
# fuzz/corpus/<t> (not committed), its committed seeds fuzz/corpus/seed_<t> and the
# inputs that once crashed it, fuzz/regressions/<t>.
# Per target it prints the time, the runs executed and "ok" or "FOUND CRASH" with the
# crashing input, which libFuzzer saves under fuzz/artifacts/<t>/. Logs go to
# fuzz/target/fuzz-logs/<t>.log.
#
# Exit status: 0 when every target ran clean (or cargo-fuzz cannot be installed: then
# a loud SKIPPED line is printed), 1 when a target crashed, timed out or ran out of
# memory, 2 on bad usage or a build failure.
#
# Environment: FUZZ_RSS_LIMIT_MB (default 2048), FUZZ_INPUT_TIMEOUT (seconds one input
# may take, default 10), FUZZ_MAX_LEN (libFuzzer -max_len, default: libFuzzer's).
set -uo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0:detect_leaks=0}"

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
shift $(( $# > 0 ? 1 : 0 ))

skip_line() {
    echo
    echo "################################################################################"
    echo "### SKIPPED: cargo-fuzz could not be installed ($1); NO FUZZING WAS DONE"
    echo "################################################################################"
    echo
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo-fuzz is missing: cargo install cargo-fuzz --locked"
    if ! cargo install cargo-fuzz --locked; then
        skip_line "cargo install failed"
        exit 0
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        skip_line "installed, but 'cargo fuzz' does not run"
        exit 0
    fi
fi

mapfile -t all_targets < <(cargo fuzz list 2>/dev/null)
if [ "${#all_targets[@]}" -eq 0 ]; then
    echo "fuzz.sh: no fuzz targets found in fuzz/Cargo.toml" >&2
    exit 2
fi
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    if ! printf '%s\n' "${all_targets[@]}" | grep -qx -- "$t"; then
        echo "fuzz.sh: unknown target '$t' (known: ${all_targets[*]})" >&2
        exit 2
    fi
done

log_dir=fuzz/target/fuzz-logs
mkdir -p "$log_dir"
start=$(date +%s)
echo "== build ($(cargo fuzz --version)), log: $log_dir/build.log"
if ! cargo fuzz build >"$log_dir/build.log" 2>&1; then
    tail -n 60 "$log_dir/build.log" >&2
    echo "fuzz.sh: cargo fuzz build failed" >&2
    exit 2
fi
build_s=$(( $(date +%s) - start ))
echo "   built in ${build_s} s"

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
extra=()
[ -n "${FUZZ_MAX_LEN:-}" ] && extra+=("-max_len=${FUZZ_MAX_LEN}")

failed=()
printf '\n%-24s %8s %12s  %s\n' target seconds runs result
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/corpus/seed_$t" "fuzz/artifacts/$t"
    corpora=("fuzz/corpus/$t" "fuzz/corpus/seed_$t")
    # Inputs that once crashed (kept with their fix) are replayed by every run.
    [ -d "fuzz/regressions/$t" ] && corpora+=("fuzz/regressions/$t")
    log="$log_dir/$t.log"
    t0=$(date +%s)
    # libFuzzer stops itself after -max_total_time; `timeout` only guards against a hang
    # that libFuzzer's own per-input -timeout did not catch.
    timeout --kill-after=10 $(( seconds + 60 )) "$bin_dir/$t" \
        -artifact_prefix="fuzz/artifacts/$t/" \
        -max_total_time="$seconds" \
        -timeout="${FUZZ_INPUT_TIMEOUT:-10}" \
        -rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}" \
        -print_final_stats=1 \
        "${extra[@]}" \
        "${corpora[@]}" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - t0 ))
    runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -1)
    [ -z "$runs" ] && runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -z "$runs" ] && runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        kind=$(grep -o -m1 -E 'deadly signal|ERROR: AddressSanitizer: [a-z-]+|ERROR: libFuzzer: [a-z-]+|panicked at [^:]*:[0-9]+' "$log" | head -1)
        [ "$rc" -eq 124 ] && kind="hang (killed by timeout)"
        result="FOUND CRASH (exit $rc${kind:+, $kind}) input: ${artifact:-none saved}, log: $log"
        failed+=("$t")
    fi
    printf '%-24s %8s %12s  %s\n' "$t" "$took" "${runs:-?}" "$result"
done

echo
echo "== ${#targets[@]} target(s) x ${seconds} s in $(( $(date +%s) - start )) s (build ${build_s} s)"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FUZZING FOUND CRASHES in: ${failed[*]}"
    echo "reproduce: fuzz/target/x86_64-unknown-linux-gnu/release/<target> <input>"
    exit 1
fi
echo "fuzzing: all targets ok"
