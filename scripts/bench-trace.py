#!/usr/bin/env python3
"""Times tracing every FILTERED port of a role check at once with `portq trace`, against
Debian's traceroute run once per port (-T for TCP, -U for UDP), on the routed trace lab.

The lab (tests/lab/trace-lab-up.sh) is brought up and taken down here. First
`portq check SERVER --role dc --role rdsh` finds the FILTERED ports; then, alternately,
N times each in this one run:
  portq:      portq trace SERVER -p <those ports> --no-names  (3 probes per hop, 1 s wait)
  traceroute: for each port, traceroute -n {-T|-U} -p PORT -q 3 -w 1 -m 30 SERVER
Prints each side's median wall time, the ratio traceroute / portq, portq's peak RSS,
and whether both sides last heard from the same hop for every port.
Target: portq faster (ratio > 1) and the same last hop everywhere.

Needs root, nft, python3, traceroute. Nothing outside the lab's namespaces is contacted.
Usage: scripts/bench-trace.py [--runs N] [--portq PATH]
Exit:  0 targets met, 1 a target missed, 2 setup error.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = "10.201.243.2"
PREFIX = "pqtb%d" % (os.getpid() % 10000)


def ns(cmd):
    return ["ip", "netns", "exec", PREFIX + "c"] + cmd


def last_hop(text):
    last = None
    for line in text.splitlines():
        words = line.split()
        if words and words[0].isdigit():
            for w in words[1:]:
                parts = w.split(".")
                if len(parts) == 4 and all(p.isdigit() for p in parts):
                    last = w
                    break
    return last


def portq_last(t):
    v = t["verdict"]
    if v == "reached":
        return t["address"]
    if v == "rejected":
        return t["router"]
    return t.get("last_router")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--portq", default=os.path.join(ROOT, "target/release/portq"))
    a = ap.parse_args()
    if not os.path.exists(a.portq):
        sys.exit("bench-trace: no portq at %s (cargo build --release)" % a.portq)
    up = subprocess.run(["bash", os.path.join(ROOT, "tests/lab/trace-lab-up.sh"), PREFIX],
                        capture_output=True, text=True, check=False)
    if up.returncode != 0:
        print("bench-trace: the lab did not come up: " + up.stderr.strip(), file=sys.stderr)
        sys.exit(2)
    try:
        chk = subprocess.run(ns([a.portq, "check", SERVER, "--role", "dc", "--role", "rdsh",
                                 "--timeout", "0.5", "--retries", "1", "-f", "json"]),
                             capture_output=True, text=True, check=False)
        doc = json.loads(chk.stdout)
        filtered = [(f["port"], f["protocol"]) for f in doc["findings"]
                    if f["state"] in ("filtered", "listening_or_filtered")]
        if not filtered:
            print("bench-trace: the check found no FILTERED port", file=sys.stderr)
            sys.exit(2)
        spec = ",".join("%s:%d" % (p, n) for n, p in filtered)
        print("filtered ports of --role dc --role rdsh: %s" % spec)
        portq_times, peer_times, peaks = [], [], []
        agree = True
        for i in range(a.runs):
            t0 = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            out = subprocess.run(ns([a.portq, "trace", SERVER, "-p", spec, "--no-names",
                                     "-f", "json"]), capture_output=True, text=True, check=False)
            portq_times.append(time.perf_counter() - t0)
            peaks.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            traces = {(t["port"], t["protocol"]): t for t in json.loads(out.stdout)}
            t0 = time.perf_counter()
            lasts = {}
            for n, p in filtered:
                method = "-T" if p == "tcp" else "-U"
                r = subprocess.run(ns(["traceroute", "-n", method, "-p", str(n), "-q", "3",
                                       "-w", "1", "-m", "30", SERVER]),
                                   capture_output=True, text=True, check=False)
                lasts[(n, p)] = last_hop(r.stdout)
            peer_times.append(time.perf_counter() - t0)
            for key, hop in lasts.items():
                ours = portq_last(traces[key])
                if hop != ours:
                    agree = False
                    print("run %d: %d/%s traceroute last heard %s, portq %s" % (i + 1, key[0], key[1], hop, ours))
        pm, tm = statistics.median(portq_times), statistics.median(peer_times)
        print("portq trace (all %d ports at once): median %.2f s over %d runs" % (len(filtered), pm, a.runs))
        print("traceroute, one port after another:  median %.2f s" % tm)
        print("ratio traceroute / portq: %.1fx" % (tm / pm))
        print("portq peak RSS: %.1f MB (the largest child so far: ru_maxrss)" % (max(peaks) / 1024))
        print("same last hop for every port in every run: %s" % ("yes" if agree else "NO"))
        sys.exit(0 if agree and tm > pm else 1)
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "tests/lab/trace-lab-down.sh"), PREFIX],
                       capture_output=True, check=False)


if __name__ == "__main__":
    main()
