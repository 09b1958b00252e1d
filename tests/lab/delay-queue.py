#!/usr/bin/env python3
"""Delay and loss for one network namespace, where netem is not in the kernel.

Packets sent to an NFQUEUE (``iptables -I INPUT -j NFQUEUE --queue-num N
--queue-bypass``, inside the namespace) are held for DELAY +- JITTER milliseconds
(uniform, so packets may be reordered as with netem's jitter) and then accepted, or
dropped with probability LOSS percent. Spoken over netlink directly (nfnetlink_queue:
config, packet and verdict messages), so nothing beyond Python is needed.

Run inside the namespace (``ip netns exec NS``); prints ``ready`` once bound, then runs
until killed, or for --seconds at most. Every wait is bounded.

Usage: delay-queue.py --queue N --delay MS [--jitter MS] [--loss PCT] [--seconds S]
       [--seed N]
"""
import argparse
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_PF_BIND = 3
NFQNL_CFG_CMD_PF_UNBIND = 4
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_DROP = 0
NF_ACCEPT = 1
AF_INET = 2


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(msg_type, queue, attrs, seq, flags=NLM_F_REQUEST):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg_type
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def attributes(data):
    """(type, payload) of each attribute in `data`; stops at the first malformed one."""
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, at)
        if length < 4 or at + length > len(data):
            return
        yield kind & 0x7FFF, data[at + 4:at + length]
        at += (length + 3) & ~3


def configure(sock, queue):
    seq = 0
    for cmd, pf in ((NFQNL_CFG_CMD_PF_UNBIND, AF_INET), (NFQNL_CFG_CMD_PF_BIND, AF_INET),
                    (NFQNL_CFG_CMD_BIND, 0)):
        seq += 1
        payload = struct.pack("!BBH", cmd, 0, pf)
        sock.send(message(NFQNL_MSG_CONFIG, queue, [attr(NFQA_CFG_CMD, payload)], seq,
                          NLM_F_REQUEST | NLM_F_ACK))
        expect_ack(sock, seq, cmd in (NFQNL_CFG_CMD_PF_UNBIND, NFQNL_CFG_CMD_PF_BIND))
    seq += 1
    params = struct.pack("!IB", 0xFFFF, NFQNL_COPY_META)
    sock.send(message(NFQNL_MSG_CONFIG, queue, [attr(NFQA_CFG_PARAMS, params)], seq,
                      NLM_F_REQUEST | NLM_F_ACK))
    expect_ack(sock, seq, False)


def expect_ack(sock, seq, tolerate):
    ready, _, _ = select.select([sock], [], [], 2.0)
    if not ready:
        sys.exit("delay-queue: no answer from nfnetlink_queue")
    data = sock.recv(65536)
    length, kind, _, got, _ = struct.unpack_from("=IHHII", data, 0)
    if kind == NLMSG_ERROR:
        (err,) = struct.unpack_from("=i", data, 16)
        if err != 0 and not tolerate:
            sys.exit(f"delay-queue: nfnetlink_queue refused the configuration: {os.strerror(-err)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, required=True)
    ap.add_argument("--delay", type=float, required=True, help="milliseconds")
    ap.add_argument("--jitter", type=float, default=0.0, help="milliseconds, +-")
    ap.add_argument("--loss", type=float, default=0.0, help="percent dropped")
    ap.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    if not (0 <= a.queue <= 65535 and 0 <= a.delay <= 10000 and 0 <= a.jitter <= a.delay
            and 0 <= a.loss <= 100 and 0 < a.seconds <= 86400):
        sys.exit("delay-queue: bad arguments (queue 0-65535, 0 <= jitter <= delay <= 10000, loss 0-100)")
    rng = random.Random(a.seed)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((0, 0))
    configure(sock, a.queue)
    print("ready", flush=True)
    due = []  # (when, packet id)
    seq = 100
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, pid = heapq.heappop(due)
            seq += 1
            sock.send(message(NFQNL_MSG_VERDICT, a.queue,
                              [attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))], seq))
        wait = min(0.5, max(0.0, (due[0][0] - now) if due else 0.5))
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            continue
        try:
            data = sock.recv(1 << 16)
        except OSError:  # ENOBUFS: the kernel dropped messages; carry on
            continue
        at = 0
        while at + 16 <= len(data):
            length, kind, _, _, _ = struct.unpack_from("=IHHII", data, at)
            if length < 16 or at + length > len(data):
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                for akind, payload in attributes(data[at + 20:at + length]):
                    if akind == NFQA_PACKET_HDR and len(payload) >= 4:
                        (pid,) = struct.unpack_from("!I", payload, 0)
                        if rng.random() * 100 < a.loss:
                            seq += 1
                            sock.send(message(NFQNL_MSG_VERDICT, a.queue, [
                                attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_DROP, pid))], seq))
                        else:
                            hold = rng.uniform(a.delay - a.jitter, a.delay + a.jitter) / 1000
                            heapq.heappush(due, (time.monotonic() + hold, pid))
            at += (length + 3) & ~3
    # Whatever is still held goes through (with --queue-bypass the rule lets the rest pass).
    for _, pid in due:
        seq += 1
        sock.send(message(NFQNL_MSG_VERDICT, a.queue,
                          [attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))], seq))


if __name__ == "__main__":
    main()
