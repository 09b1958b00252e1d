#!/usr/bin/env python3
"""Times `portq rpc DC` against Samba's `rpcclient ... -c epmlookup` on the same DC.

Both dump the whole endpoint map of the lab DC (tests/lab/samba-dc-up.sh), alternately,
N times each, in this one run. Prints medians, the ratio portq/rpcclient and whether
both listed the same number of endpoints. Target: ratio <= 1.0.

Usage: scripts/bench-rpc.py [--runs N] [--portq PATH]   (reads /tmp/sambadc/dc.env)
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def env():
    vals = {}
    try:
        with open("/tmp/sambadc/dc.env") as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.strip().split("=", 1)
                    vals[k] = v.strip("'")
    except OSError:
        sys.exit("bench-rpc: no lab DC; run tests/lab/samba-dc-up.sh first")
    return vals


def timed(cmd):
    t0 = time.perf_counter_ns()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    return (time.perf_counter_ns() - t0) / 1e6, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--portq", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "portq"))
    a = ap.parse_args()
    e = env()
    dc = e["SAMBA_DC_IP"]
    portq = [os.path.abspath(a.portq), "rpc", dc, "--format", "csv"]
    theirs = ["rpcclient", "-s", e["SAMBA_DC_CLIENT_SMBCONF"], "-U%", f"ncacn_ip_tcp:{dc}[135]", "-c", "epmlookup"]
    timed(portq), timed(theirs)
    p, r = [], []
    pn = rn = 0
    for _ in range(max(1, min(a.runs, 1000))):
        t, out = timed(portq)
        p.append(t)
        pn = max(0, len(out.strip().splitlines()) - 1)
        t, out = timed(theirs)
        r.append(t)
        rn = len([l for l in out.splitlines() if "abstract_syntax=" in l])
    pm, rm = statistics.median(p), statistics.median(r)
    print(f"runs: {len(p)} each, alternating, against {dc}")
    print(f"portq rpc            median {pm:.2f} ms, {pn} endpoints")
    print(f"rpcclient epmlookup  median {rm:.2f} ms, {rn} endpoints")
    print(f"ratio portq/rpcclient: {pm / rm:.2f}x (target <= 1.0x); same endpoint count: {pn == rn}")


if __name__ == "__main__":
    main()
