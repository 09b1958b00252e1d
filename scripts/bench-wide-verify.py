#!/usr/bin/env python3
"""Checks scanner output against the wide lab's truth, and reports scripts/bench-wide.sh runs.

  bench-wide-verify.py verify --truth FILE --net CIDR --cidr CIDR --ports SPEC
                              --tool portq|nmap|floor --out FILE [--err FILE]
      Prints one JSON object: right, total, open_expected, open_found, missing (open ports
      not reported open), wrong (reported with another state than the truth), stray (reported
      outside the scan), unaccounted (neither listed nor counted), other (timeouts, filtered,
      errors), and a few examples. Exit 0.

  bench-wide-verify.py selftest
      Checks the checker on made-up outputs of every tool, right and wrong; exit 1 on a miss.

  bench-wide-verify.py report RESULTS.jsonl
      Prints the per-scenario tables and the target lines; exit 1 if a target was missed.

The truth file has one "ADDRESS PORT" per line; ADDRESS 0.0.0.0 means every address of the
lab's network (--net). Every (address, port) of the scan not listed is closed.

How each tool's output is read:
  portq  NDJSON findings (state listening / not_listening / anything else), plus the count in
         "portq: N not-listening port(s) not shown" on stderr (sweeps of more than 100 ports).
  nmap   greppable output (-oG): per host the "Ports:" entries and "Ignored State: closed (N)".
  floor  "ADDRESS:PORT" lines for open ports ("ADDRESS:PORT closed|timeout|error" for others)
         and the closed count of its summary line on stderr.
A count of unlisted closed ports is credited only as far as the unlisted ports really are
closed, per host where the tool counts per host (nmap), otherwise over the whole scan.
"""

import argparse
import ipaddress
import json
import re
import shutil
import statistics
import sys


def parse_ports(spec):
    ports = []
    seen = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        lo = int(lo)
        hi = int(hi) if hi else lo
        if not 1 <= lo <= hi <= 65535:
            raise ValueError(f"bad port range {part}")
        for p in range(lo, hi + 1):
            if p not in seen:
                seen.add(p)
                ports.append(p)
    return ports


def truth_open(truth_path, net, cidr, ports):
    """The set of open (address as int, port) pairs of this scan."""
    net = ipaddress.ip_network(net)
    scan = ipaddress.ip_network(cidr, strict=False)
    want = set(ports)
    first, last = int(scan.network_address), int(scan.broadcast_address)
    opened = set()
    with open(truth_path, encoding="ascii") as f:
        for line in f:
            if not line.strip():
                continue
            addr, port = line.split()
            port = int(port)
            if port not in want:
                continue
            if addr == "0.0.0.0":
                lo = max(first, int(net.network_address))
                hi = min(last, int(net.broadcast_address))
                for a in range(lo, hi + 1):
                    opened.add((a, port))
            else:
                a = int(ipaddress.ip_address(addr))
                if first <= a <= last:
                    opened.add((a, port))
    return opened, first, last


def read_portq(out, err):
    listed, hidden = [], 0
    with open(out, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            v = json.loads(line)
            if "port" not in v or "state" not in v:
                continue
            if v.get("protocol", "tcp") != "tcp":
                continue
            state = {"listening": "open", "not_listening": "closed"}.get(v["state"], v["state"])
            listed.append((int(ipaddress.ip_address(v["address"])), int(v["port"]), state))
    if err:
        with open(err, encoding="utf-8", errors="replace") as f:
            for m in re.finditer(r"(\d+) not-listening port\(s\) not shown", f.read()):
                hidden += int(m.group(1))
    return listed, {None: hidden}


def read_nmap(out):
    listed, hidden = [], {}
    port_re = re.compile(r"(\d+)/([a-z|]+)/tcp/")
    with open(out, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("Host: ") or "Ports:" not in line and "Ignored State" not in line:
                continue
            addr = int(ipaddress.ip_address(line.split()[1]))
            for field in line.rstrip("\n").split("\t"):
                if field.startswith("Ports: "):
                    for entry in field[len("Ports: "):].split(", "):
                        m = port_re.match(entry.strip())
                        if m:
                            listed.append((addr, int(m.group(1)), m.group(2)))
                elif field.startswith("Ignored State: "):
                    m = re.match(r"Ignored State: (\S+) \((\d+)\)", field)
                    if m and m.group(1) == "closed":
                        hidden[addr] = hidden.get(addr, 0) + int(m.group(2))
                    elif m:
                        hidden.setdefault(("other", addr), 0)
                        hidden[("other", addr)] += int(m.group(2))
    return listed, hidden


def read_floor(out, err):
    listed, hidden = [], 0
    with open(out, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            addr, _, port = parts[0].rpartition(":")
            state = parts[1] if len(parts) > 1 else "open"
            listed.append((int(ipaddress.ip_address(addr)), int(port), state))
    if err:
        with open(err, encoding="utf-8", errors="replace") as f:
            m = re.search(r"(\d+) closed", f.read())
            if m:
                hidden = int(m.group(1)) - sum(1 for x in listed if x[2] == "closed")
    return listed, {None: hidden}


def verify(a):
    ports = parse_ports(a.ports)
    opened, first, last = truth_open(a.truth, a.net, a.cidr, ports)
    portset = set(ports)
    nports = len(ports)
    total = (last - first + 1) * nports
    if a.tool == "portq":
        listed, hidden = read_portq(a.out, a.err)
    elif a.tool == "nmap":
        listed, hidden = read_nmap(a.out)
    else:
        listed, hidden = read_floor(a.out, a.err)

    seen = {}
    right = wrong = stray = other = dup = 0
    examples = []
    per_host_listed = {}
    for addr, port, state in listed:
        if not (first <= addr <= last and port in portset):
            stray += 1
            if len(examples) < 5:
                examples.append(f"stray {ipaddress.ip_address(addr)}:{port} {state}")
            continue
        key = (addr, port)
        if key in seen:
            dup += 1
            if seen[key] != state:
                wrong += 1
            continue
        seen[key] = state
        per_host_listed[addr] = per_host_listed.get(addr, 0) + 1
        truth = "open" if key in opened else "closed"
        if state == truth:
            right += 1
        elif state in ("open", "closed"):
            wrong += 1
            if len(examples) < 5:
                examples.append(f"{ipaddress.ip_address(addr)}:{port} reported {state}, is {truth}")
        else:
            other += 1
            if len(examples) < 5:
                examples.append(f"{ipaddress.ip_address(addr)}:{port} reported {state}, is {truth}")

    missing_open = [k for k in opened if k not in seen]
    # Counted-but-unlisted closed ports: credit as many as really are closed and unlisted.
    credited = 0
    counted = 0
    open_unlisted_by_host = {}
    for addr, _ in missing_open:
        open_unlisted_by_host[addr] = open_unlisted_by_host.get(addr, 0) + 1
    if None in hidden:
        counted = hidden[None]
        unlisted_closed = total - len(seen) - len(missing_open)
        credited = min(counted, unlisted_closed)
    else:
        for key, n in hidden.items():
            if isinstance(key, tuple):
                other += n
                continue
            counted += n
            unlisted_closed = nports - per_host_listed.get(key, 0) - open_unlisted_by_host.get(key, 0)
            credited += max(0, min(n, unlisted_closed))
    right += credited
    unaccounted = max(0, total - len(seen) - counted)
    for addr, port in missing_open[:5]:
        if len(examples) < 8:
            examples.append(f"{ipaddress.ip_address(addr)}:{port} open, not reported open")
    found_open = sum(1 for s in seen.values() if s == "open")
    opened_found = sum(1 for k, s in seen.items() if s == "open" and k in opened)
    print(json.dumps({
        "right": right, "total": total, "open_expected": len(opened), "open_found": found_open,
        "missing": len(opened) - opened_found, "wrong": wrong, "stray": stray, "duplicates": dup,
        "unaccounted": unaccounted, "other": other, "overcounted": max(0, counted - credited),
        "examples": examples,
    }))


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def report(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    scenarios = []
    for r in rows:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    tools = ["portq", "nmap-sT", "nmap-sS", "nmap-fast", "floor"]
    verdicts = []
    for sc in scenarios:
        rs = [r for r in rows if r["scenario"] == sc]
        label = rs[0]["label"]
        stats = {}
        for t in tools:
            tr = [r for r in rs if r["tool"] == t]
            if not tr:
                continue
            stats[t] = {
                "wall": median([r["wall"] for r in tr]),
                "user": median([r["user"] for r in tr]),
                "sys": median([r["sys"] for r in tr]),
                "rss": max(r["rss_kb"] for r in tr) / 1024.0,
                "right": min(r["right"] for r in tr),
                "total": tr[0]["total"],
                "all_right": all(r["right"] == r["total"] and r["stray"] == 0 and r["rc_ok"] for r in tr),
                "runs": len(tr),
                "rcs": sorted({r["rc"] for r in tr}),
            }
        nmaps = {t: stats[t] for t in ("nmap-sT", "nmap-sS") if t in stats}
        best = min(nmaps, key=lambda t: nmaps[t]["wall"]) if nmaps else None
        floor = stats.get("floor")
        print(f"\n== scenario {sc}: {label} ({rs[0]['total']:,} results, {rs[0]['open_expected']:,} open;"
              f" {stats[next(iter(stats))]['runs']} run(s)) ==")
        print(f"{'tool':<9} {'wall s':>8} {'user s':>7} {'sys s':>7} {'RSS MB':>7} {'right/total':>17} {'÷floor':>7} {'nmapbest÷':>9}  exit")
        for t, s in stats.items():
            vs_floor = f"{s['wall'] / floor['wall']:.2f}" if floor else "-"
            vs_nmap = f"{stats[best]['wall'] / s['wall']:.2f}" if best else "-"
            rt = f"{s['right']:,}/{s['total']:,}"
            print(f"{t:<9} {s['wall']:8.3f} {s['user']:7.2f} {s['sys']:7.2f} {s['rss']:7.1f} {rt:>17} {vs_floor:>7} {vs_nmap:>9}  {','.join(map(str, s['rcs']))}")
        for t, s in stats.items():
            if t != "portq" and not s["all_right"]:
                print(f"WARN  {t} was not 100% right in every run: the comparison is doubtful")
        p = stats.get("portq")
        if not p:
            continue
        if "nmap-fast" in stats:
            print(f"(not a target) nmap -sS --min-rate 100000 --max-retries 1 ÷ portq: "
                  f"{stats['nmap-fast']['wall'] / p['wall']:.2f}x")
        print(f"portq user CPU per result: {p['user'] / p['total'] * 1e6:.2f} µs "
              f"(user+sys {(p['user'] + p['sys']) / p['total'] * 1e6:.2f} µs)")
        if best:
            speed = stats[best]["wall"] / p["wall"]
            verdicts.append((sc, f"portq >= 1.5x faster than nmap's best ({best} {stats[best]['wall']:.3f} s): {speed:.2f}x", speed >= 1.5))
            rss_ref = min(nmaps[t]["rss"] for t in nmaps)
            verdicts.append((sc, f"portq peak RSS <= nmap's + 15 MB (lower nmap {rss_ref:.1f} MB): {p['rss']:.1f} MB", p["rss"] <= rss_ref + 15))
        verdicts.append((sc, f"portq 100% right in every run: {p['right']:,}/{p['total']:,} at worst", p["all_right"]))
        if floor and rs[0].get("floor_target"):
            ratio = p["wall"] / floor["wall"]
            verdicts.append((sc, f"portq <= 1.25x the floor ({floor['wall']:.3f} s): {ratio:.2f}x", ratio <= 1.25))
    print("\n== targets ==")
    failed = 0
    for sc, text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  scenario {sc}: {text}")
        failed += not ok
    print(f"{len(verdicts) - failed} of {len(verdicts)} targets met")
    return 1 if failed else 0


def selftest():
    """Checks the checker on made-up outputs of each tool, right and wrong."""
    import contextlib
    import io
    import os
    import tempfile

    d = tempfile.mkdtemp(prefix="bench-wide-selftest-")
    truth = os.path.join(d, "truth.txt")
    with open(truth, "w", encoding="ascii") as f:
        f.write("0.0.0.0 445\n10.209.0.1 22\n10.209.0.3 80\n10.209.9.9 22\n")
    net, cidr = "10.209.0.0/16", "10.209.0.0/30"

    def run(tool, out, err, ports):
        paths = []
        for name, text in (("out", out), ("err", err)):
            path = os.path.join(d, f"{tool}.{name}")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            paths.append(path)
        args = argparse.Namespace(truth=truth, net=net, cidr=cidr, ports=ports, tool=tool,
                                  out=paths[0], err=paths[1])
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            verify(args)
        return json.loads(buf.getvalue())

    def pq(addr, port, state):
        return json.dumps({"host": addr, "address": addr, "port": port, "protocol": "tcp",
                           "state": state}) + "\n"

    failures = []

    def expect(name, got, right, total, **more):
        bad = got["right"] != right or got["total"] != total
        bad |= any(got[k] != v for k, v in more.items())
        if bad:
            failures.append(f"{name}: got {got}, want right {right}/{total} {more}")

    hosts = [f"10.209.0.{i}" for i in range(4)]
    # portq, ports 22,445 (listed in full): 8 results, 5 open.
    good = "".join(pq(h, p, "listening" if p == 445 or (h, p) == ("10.209.0.1", 22) else
                      "not_listening") for h in hosts for p in (22, 445))
    expect("portq right", run("portq", good, "", "22,445"), 8, 8, missing=0)
    lines = good.splitlines(keepends=True)
    expect("portq missed an open port", run("portq", "".join(lines[:2] + lines[3:]), "", "22,445"), 7, 8,
           missing=1, unaccounted=1)
    flipped = good.replace('"port": 22, "protocol": "tcp", "state": "listening"',
                           '"port": 22, "protocol": "tcp", "state": "not_listening"')
    expect("portq open reported closed", run("portq", flipped, "", "22,445"), 7, 8, missing=1)
    expect("portq stray", run("portq", good + pq("10.209.9.9", 22, "listening"), "", "22,445"),
           8, 8, stray=1)
    expect("portq filtered", run("portq", good.replace("not_listening", "filtered", 1), "", "22,445"),
           7, 8, other=1)
    # portq, a sweep: closed ports counted on stderr, 4 hosts x 1-100 = 400, 3 open.
    sweep = pq("10.209.0.1", 22, "listening") + pq("10.209.0.3", 80, "listening")
    sweep += pq("10.209.0.2", 9, "listening")
    note = "portq: 397 not-listening port(s) not shown; --all lists them\n"
    expect("portq sweep, one wrong open", run("portq", sweep, note, "1-100"), 399, 400, wrong=1)
    expect("portq sweep right", run("portq", "".join(sweep.splitlines(keepends=True)[:2]),
                                    note.replace("397", "398"), "1-100"), 400, 400)
    expect("portq sweep, count short", run("portq", sweep, note.replace("397", "390"), "1-100"),
           392, 400, unaccounted=7)
    # nmap -oG: per-host lists and "Ignored State" counts.
    gnmap = "# Nmap\n" + "".join(
        f"Host: {h} ()\tStatus: Up\nHost: {h} ()\tPorts: "
        + ("22/open/tcp//ssh///, " if h == "10.209.0.1" else "")
        + ("80/open/tcp//http///" if h == "10.209.0.3" else "")
        + ("" if h in ("10.209.0.1", "10.209.0.3") else "1/closed/tcp//tcpmux///")
        + "\tIgnored State: closed (99)\n"
        for h in hosts)
    gnmap = gnmap.replace("22/open/tcp//ssh///, \t", "22/open/tcp//ssh///\t")
    expect("nmap right", run("nmap", gnmap, "", "1-100"), 400, 400)
    expect("nmap missed a host", run("nmap", "".join(gnmap.splitlines(keepends=True)[:-2]), "",
                                     "1-100"), 300, 400, missing=1, unaccounted=100)
    expect("nmap open reported closed", run("nmap", gnmap.replace("80/open", "80/closed"), "",
                                            "1-100"), 399, 400, missing=1)
    # The floor: open lines and the closed count on stderr.
    fl = "10.209.0.1:22\n" + "".join(f"{h}:445\n" for h in hosts)
    summary = "floor-scan: 8 pairs: 5 open, 3 closed, 0 timeout, 0 error in 0.001 s\n"
    expect("floor right", run("floor", fl, summary, "22,445"), 8, 8)
    expect("floor timeout", run("floor", fl + "10.209.0.2:22 timeout\n",
                                summary.replace("3 closed", "2 closed"), "22,445"), 7, 8, other=1)
    expect("floor invented", run("floor", fl + "10.209.0.0:22\n",
                                 summary.replace("3 closed", "2 closed"), "22,445"), 7, 8, wrong=1)
    shutil.rmtree(d, ignore_errors=True)
    for f in failures:
        print("FAIL", f)
    print(f"bench-wide-verify selftest: {17 - len(failures)} of 17 cases right")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--truth", required=True)
    v.add_argument("--net", required=True)
    v.add_argument("--cidr", required=True)
    v.add_argument("--ports", required=True)
    v.add_argument("--tool", required=True, choices=["portq", "nmap", "floor"])
    v.add_argument("--out", required=True)
    v.add_argument("--err")
    r = sub.add_parser("report")
    r.add_argument("results")
    sub.add_parser("selftest")
    a = ap.parse_args()
    if a.cmd == "selftest":
        return selftest()
    if a.cmd == "verify":
        verify(a)
        return 0
    return report(a.results)


if __name__ == "__main__":
    sys.exit(main())
