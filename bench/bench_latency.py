"""Benchmark 1: start -> first send latency.

Per run: a fresh server, a `webhook` sender pointing at bench/receiver.py (a
raw-socket asyncio server in its own process that stamps CLOCK_MONOTONIC on
the first bytes of each request), N draft campaigns of 1 contact at interval
0. Then, one campaign at a time:

    t0 = monotonic, just before POST /campaigns/{id}/start is written
    t1 = monotonic, when the receiver sees the first bytes of the message POST

latency = t1 - t0. It includes one HTTP round trip to the API (the start
request) plus the server's commit (fsync) and its webhook POST over loopback.
The next campaign starts only after the receiver has reported the previous
message, so the sends never overlap. A few warm-up campaigns go first (not
measured) so the webhook's keep-alive connection to the gateway is open.

The receiver's own floor is measured the same way: the client writes a POST
straight to the receiver and the receiver stamps its first bytes.

Reports, over RUNS runs, the median of the per-run p50 and p99."""

import argparse
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (HERE, Client, Server, log, median, percentile, result)  # noqa: E402


class Receiver:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "receiver.py"), "--stream",
                                      "--max-seconds", "600"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.buf = b""
        line = self.readline(10.0)
        if not line or not line.startswith("PORT "):
            raise SystemExit("receiver did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d/hook" % self.port

    def readline(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def next_req(self, timeout):
        """-> (t_ns, campaign_id, message_id, probe) or None on timeout."""
        line = self.readline(timeout)
        if line is None:
            return None
        _, t, cid, mid, probe = line.split()
        conv = (lambda v: None if v == "None" else int(v))
        return int(t), conv(cid), conv(mid), conv(probe)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)


def measure_floor(recv, n):
    """Client -> receiver first-bytes latency with the same client code path."""
    c = Client(recv.port, "unused", timeout=10.0)
    out = []
    for k in range(n):
        body = b'{"probe": %d}' % k
        t0 = time.monotonic_ns()
        c.raw("POST", "/probe", body, {"Content-Type": "application/json"})
        r = recv.next_req(5.0)
        if r is None or r[3] != k:
            raise SystemExit("receiver lost probe %d (%r)" % (k, r))
        out.append((r[0] - t0) / 1e6)
    c.close()
    return out


def measure_big_reply(api, sender_id, n=20):
    """Keep-alive GET of one campaign's 200 messages (a ~48 KB reply), n times.
    Not a target: it shows whether replies over 16 KiB stall on a kept-alive
    connection (Nagle on the server's second write vs the client's delayed ACK)."""
    c = api.ok("POST", "/campaigns", {
        "name": "big-reply", "sender_ids": [sender_id], "message": {"text": "Oi {{name}}"},
        "contacts": [{"phone": "55219%08d" % i, "name": "C%d" % i} for i in range(200)]}, want=(201,))
    out = []
    for _ in range(n):
        t = time.monotonic_ns()
        api.ok("GET", "/campaigns/%d/messages?limit=1000" % c["id"])
        out.append((time.monotonic_ns() - t) / 1e6)
    return out


def one_run(n, warmup, run_no):
    recv = Receiver()
    try:
        with Server("latency%d" % run_no) as srv:
            api = srv.client()
            floor = measure_floor(recv, 100)
            sender = api.ok("POST", "/senders", {"name": "gw", "provider": "webhook",
                                                 "config": {"url": recv.url}}, want=(201,))
            ids = []
            for i in range(warmup + n):
                c = api.ok("POST", "/campaigns", {
                    "name": "lat-%d" % i, "sender_ids": [sender["id"]], "message": {"text": "Oi {{name}}"},
                    "interval": {"min_ms": 0, "max_ms": 0},
                    "contacts": [{"phone": "55119%08d" % (i + 1), "name": "C%d" % i}]}, want=(201,))
                ids.append(c["id"])
            lat, rtt = [], []
            for i, cid in enumerate(ids):
                t0 = time.monotonic_ns()
                st, body = api.request("POST", "/campaigns/%d/start" % cid)
                t_reply = time.monotonic_ns()
                if st != 200:
                    raise SystemExit("start %d -> %s %r" % (cid, st, body))
                r = recv.next_req(10.0)
                if r is None:
                    raise SystemExit("campaign %d: no webhook POST within 10 s\n%s" % (cid, srv.log_tail()))
                if r[1] != cid:
                    raise SystemExit("campaign %d: receiver saw campaign %r" % (cid, r[1]))
                if i >= warmup:
                    lat.append((r[0] - t0) / 1e6)
                    rtt.append((t_reply - t0) / 1e6)
            big = measure_big_reply(api, sender["id"]) if run_no == 1 else None
            return lat, rtt, floor, big
    finally:
        recv.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaigns", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    p50s, p99s, maxs, rtt50s, floor50s, floor99s = [], [], [], [], [], []
    big = None
    for run in range(a.runs):
        t = time.monotonic()
        lat, rtt, floor, b = one_run(a.campaigns, a.warmup, run + 1)
        big = b or big
        p50s.append(percentile(lat, 50))
        p99s.append(percentile(lat, 99))
        maxs.append(max(lat))
        rtt50s.append(percentile(rtt, 50))
        floor50s.append(percentile(floor, 50))
        floor99s.append(percentile(floor, 99))
        log("latency run %d: %d campaigns, start->send p50 %.2f ms p99 %.2f ms max %.2f ms; "
            "start reply p50 %.2f ms; receiver floor p50 %.3f ms p99 %.3f ms (%.1f s)"
            % (run + 1, len(lat), p50s[-1], p99s[-1], maxs[-1], rtt50s[-1], floor50s[-1], floor99s[-1],
               time.monotonic() - t))
    runs = " ".join("%.2f/%.2f" % (a_, b_) for a_, b_ in zip(p50s, p99s))
    note = "median of %d runs x %d campaigns; per-run p50/p99 ms: %s" % (a.runs, a.campaigns, runs)
    result("start->send p50", median(p50s), "ms", "< 10 ms", median(p50s) < 10, note)
    result("start->send p99", median(p99s), "ms", "< 10 ms", median(p99s) < 10,
           "includes one API round trip; median of the per-run maxima %.2f ms" % median(maxs))
    result("  start reply p50", median(rtt50s), "ms", "-", None, "POST /start -> 200 reply")
    result("  receiver floor p50/p99", "%.3f/%.3f" % (median(floor50s), median(floor99s)), "ms", "-", None,
           "client write -> receiver first bytes")
    if big:
        result("  keep-alive GET 48 KB reply p50", percentile(big, 50), "ms", "-", None,
               "GET /campaigns/{id}/messages of 200 messages on a kept-alive connection, %d times" % len(big))


if __name__ == "__main__":
    main()
