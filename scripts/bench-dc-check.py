#!/usr/bin/env python3
"""Times `portq check DC --role dc` on the Samba DC lab, by default and with --patient.

Both run alternately, N times each, in this one run. Prints each one's median wall
time, the ratio, portq's peak RSS, and whether every run gave the same state for every
port as the patient runs (138/udp, which never answers, must never be NOT LISTENING).
Targets: default median <= 1.0 s, the same states in every run.

The DC is the lab's (tests/lab/samba-dc-up.sh; its address from PORTQ_LAB_DC or
/tmp/sambadc/dc.env). Nothing else is contacted.

Usage: scripts/bench-dc-check.py [--runs N] [--portq PATH]
Exit:  0 targets met, 1 a target missed, 2 setup error.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def lab_dc():
    if os.environ.get("PORTQ_LAB_DC"):
        return os.environ["PORTQ_LAB_DC"]
    try:
        for line in open("/tmp/sambadc/dc.env", encoding="utf-8"):
            if line.startswith("SAMBA_DC_IP="):
                return line.split("=", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    sys.exit("bench-dc-check: no lab DC (run tests/lab/samba-dc-up.sh, or set PORTQ_LAB_DC)")


def run(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    took = time.perf_counter() - t0
    doc = json.loads(out.stdout)
    states = {(f["port"], f["protocol"]): f["state"] for f in doc["findings"]}
    return took, states


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--portq", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "portq"))
    a = ap.parse_args()
    portq = os.path.abspath(a.portq)
    if not os.access(portq, os.X_OK):
        sys.exit(f"bench-dc-check: {portq} not found; run `cargo build --release` first")
    dc = lab_dc()
    if not dc.startswith("10.200."):
        sys.exit(f"bench-dc-check: refusing {dc}: only the lab DC (10.200.x.x)")
    base = [portq, "check", dc, "--role", "dc", "--format", "json"]
    adaptive, patient = [], []
    for _ in range(max(1, min(a.runs, 100))):
        adaptive.append(run(base))
        patient.append(run(base + ["--patient"]))
    reference = patient[0][1]
    differ = []
    for i, (_, s) in enumerate(adaptive + patient):
        for k, v in reference.items():
            if s.get(k) != v:
                differ.append(f"run {i}: {k[0]}/{k[1]} {s.get(k)} (patient {v})")
    bad_138 = [i for i, (_, s) in enumerate(adaptive) if s.get((138, "udp")) == "not_listening"]
    mem = subprocess.run(["/usr/bin/time", "-f", "%M", *base], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False)
    rss = int(mem.stderr.strip().splitlines()[-1]) / 1024 if mem.stderr.strip() else float("nan")
    am = statistics.median(t for t, _ in adaptive)
    pm = statistics.median(t for t, _ in patient)
    right = sum(1 for k, v in reference.items() if v in ("listening", "not_listening", "listening_or_filtered"))
    print(f"runs: {len(adaptive)} each, alternating, against {dc}")
    print(f"portq check --role dc            median {am:.3f} s  (min {min(t for t, _ in adaptive):.3f}, max {max(t for t, _ in adaptive):.3f})")
    print(f"portq check --role dc --patient  median {pm:.3f} s  (min {min(t for t, _ in patient):.3f}, max {max(t for t, _ in patient):.3f})")
    print(f"ratio default/patient: {am / pm:.2f}x; peak RSS {rss:.1f} MB")
    print(f"ports: {len(reference)} ({right} with a state); runs with a state unlike the patient reference: {len(differ)}")
    for d in differ[:10]:
        print("  " + d)
    print(f"138/udp NOT LISTENING in {len(bad_138)} default runs")
    ok = am <= 1.0 and not differ and not bad_138
    print("targets (median <= 1.0 s, same states, 138/udp never NOT LISTENING): " + ("met" if ok else "MISSED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
