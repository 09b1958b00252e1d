#!/usr/bin/env python3
"""TCP listeners for the portq sweep benchmark (run inside the portqbench netns).

Binds COUNT listening sockets on random distinct ports of 1-65535 at ADDR, writes the
sorted port list to OUT (atomically, once every socket listens), then accepts and
closes connections until LIFETIME seconds have passed. It stops by itself.
"""
import argparse
import os
import random
import resource
import selectors
import socket
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--addr", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--lifetime", type=int, default=4 * 3600, help="seconds before exiting")
    a = p.parse_args()
    if not 1 <= a.count <= 20000:
        print("count must be 1-20000", file=sys.stderr)
        return 2

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    rng = random.Random(a.seed)
    sel = selectors.DefaultSelector()
    ports = []
    candidates = rng.sample(range(1, 65536), min(65535, a.count * 2))
    for port in candidates:
        if len(ports) == a.count:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((a.addr, port))
        except OSError:
            s.close()
            continue
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        ports.append(port)
    if len(ports) != a.count:
        print(f"bound only {len(ports)} of {a.count} ports", file=sys.stderr)
        return 1

    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(str(x) for x in sorted(ports)) + "\n")
    os.replace(tmp, a.out)

    deadline = time.monotonic() + a.lifetime
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=min(left, 1.0)):
            # Drain the accept queue (bounded per wake-up), closing each connection.
            for _ in range(256):
                try:
                    conn, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
