#!/usr/bin/env python3
"""Times `portq lookup 445` as a whole process against `getent services 445`.

Both commands run alternately, N times each, in this one run, so machine noise
hits both alike. Prints the median wall time of each, the ratio, and portq's peak
resident memory (max RSS, measured with GNU time). Target: ratio <= 1.0, <= 6 MB.

The portq measured is the one Linux users get: the static musl release build the
tarball and the .deb ship (`cargo build --release --target x86_64-unknown-linux-musl`),
else the host's release build; --portq chooses another.

Usage: scripts/bench-lookup.py [--runs N] [--portq PATH]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


# Both run without RUST_BACKTRACE (a developer's shell often sets it).
ENV = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}


def timed(cmd):
    t0 = time.perf_counter_ns()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return (time.perf_counter_ns() - t0) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    here = os.path.join(os.path.dirname(__file__), "..", "target")
    shipped = os.path.join(here, "x86_64-unknown-linux-musl", "release", "portq")
    ap.add_argument("--portq", default=shipped if os.access(shipped, os.X_OK) else os.path.join(here, "release", "portq"))
    a = ap.parse_args()
    portq = os.path.abspath(a.portq)
    if not os.access(portq, os.X_OK):
        sys.exit(f"bench-lookup: {portq} not found; run `cargo build --release` first")
    p_cmd = [portq, "lookup", "445"]
    g_cmd = ["getent", "services", "445"]
    for c in (p_cmd, g_cmd):  # warm the page cache
        timed(c)
    p, g = [], []
    for _ in range(max(1, min(a.runs, 10000))):
        p.append(timed(p_cmd))
        g.append(timed(g_cmd))
    # Peak memory: GNU time execs portq from a small C process, so its max RSS is portq's own.
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("bench-lookup: /usr/bin/time (Debian package 'time') is needed for the memory figure")
    mem = subprocess.run(["/usr/bin/time", "-f", "%M", *p_cmd], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True)
    rss_kb = int(mem.stderr.strip().splitlines()[-1])
    pm, gm = statistics.median(p), statistics.median(g)
    print(f"runs: {len(p)} each, alternating")
    print(f"portq lookup 445      median {pm:.3f} ms  (p10 {statistics.quantiles(p, n=10)[0]:.3f}, p90 {statistics.quantiles(p, n=10)[-1]:.3f})")
    print(f"getent services 445   median {gm:.3f} ms  (p10 {statistics.quantiles(g, n=10)[0]:.3f}, p90 {statistics.quantiles(g, n=10)[-1]:.3f})")
    print(f"portq: {portq}")
    print(f"ratio portq/getent: {pm / gm:.2f}x (target <= 1.0x)")
    print(f"portq peak RSS: {rss_kb / 1024:.1f} MB (target <= 6 MB)")


if __name__ == "__main__":
    main()
