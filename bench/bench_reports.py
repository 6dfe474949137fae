"""Benchmark: reports and exports of a 1,000,000-message campaign.

Setup, not measured: a fresh server imports N contacts, creates a campaign
over the list at interval 0 with a sandbox sender that refuses 1 % of the
messages and reports deliveries (delivered_after_ms) so the report has
errors, receipts and durations to compute, and runs it to completion.

Then, --runs times each, in that server process:
  - GET /campaigns/{id}/report (JSON): wall time;
  - GET /campaigns/{id}/report.xlsx: wall time, size, and meanwhile
    /healthz round trips every 20 ms on another connection (the event loop
    must stay responsive: the workbook is built in a worker thread) and the
    server's RSS every 0.1 s;
  - GET /campaigns/{id}/export.csv: wall time, /healthz and RSS likewise
    (the export is paged on the loop itself, 2,000 rows at a time).
Medians are reported; RSS is the max over all samples of that kind."""

import argparse
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (log, median, percentile, proc_rss_kb, result, sandbox_sender,  # noqa: E402
                    server_with_list)


class Probe(threading.Thread):
    """/healthz every 20 ms and RSS every 0.1 s until stopped."""

    def __init__(self, port, pid):
        super().__init__(daemon=True)
        self.port, self.pid = port, pid
        self.lat, self.rss = [], []
        self.halt = threading.Event()

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        last_rss = 0.0
        while not self.halt.is_set():
            t0 = time.monotonic()
            c.request("GET", "/healthz")
            c.getresponse().read()
            self.lat.append(time.monotonic() - t0)
            if time.monotonic() - last_rss >= 0.1:
                self.rss.append(proc_rss_kb(self.pid))
                last_rss = time.monotonic()
            time.sleep(0.02)
        c.close()


def timed_get(srv, path, probe_too):
    """GET path on a fresh connection, streaming the body away. -> (s, bytes, probe)."""
    probe = Probe(srv.port, srv.pid) if probe_too else None
    if probe:
        probe.start()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=600)
    t0 = time.monotonic()
    c.request("GET", "/api/v1" + path, headers={"Authorization": "Bearer " + srv.token})
    r = c.getresponse()
    n = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        n += len(chunk)
    dt = time.monotonic() - t0
    c.close()
    if probe:
        probe.halt.set()
        probe.join()
    if r.status != 200:
        raise SystemExit("GET %s -> %d" % (path, r.status))
    return dt, n, probe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cap", type=float, default=180.0, help="max seconds for the campaign to run")
    a = ap.parse_args()
    with server_with_list("reports", a.messages, "rp") as (srv, api, _, rep):
        sid = sandbox_sender(api, "rp-sbx", latency_ms=0, permanent_fail_rate=0.01,
                             delivered_after_ms=5)["id"]
        c = api.ok("POST", "/campaigns", {
            "name": "rp", "sender_ids": [sid], "message": {"text": "Oi {{name}}"},
            "interval": {"min_ms": 0, "max_ms": 0}, "list_id": rep["list_id"]}, want=(201,), timeout=300)
        cid = c["id"]
        api.ok("POST", "/campaigns/%d/start" % cid)
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.cap:
            time.sleep(1)
            c = api.ok("GET", "/campaigns/%d" % cid)
            if c["status"] == "completed" and c["counts"]["sent"] == 0:
                break
        log("reports: campaign %s in %.0f s, counts %r" % (c["status"], time.monotonic() - t0, c["counts"]))
        if c["status"] != "completed":
            raise SystemExit("the campaign did not complete within %.0f s" % a.cap)
        rss_idle = proc_rss_kb(srv.pid)
        js, xs, cs, lat, clat, xrss, crss, xsize = [], [], [], [], [], [], [], 0
        for i in range(a.runs):
            dt, n, _ = timed_get(srv, "/campaigns/%d/report" % cid, False)
            js.append(dt)
            dt, xsize, p = timed_get(srv, "/campaigns/%d/report.xlsx" % cid, True)
            xs.append(dt)
            lat.extend(p.lat)
            xrss.extend(p.rss)
            dt, csize, p = timed_get(srv, "/campaigns/%d/export.csv" % cid, True)
            cs.append(dt)
            clat.extend(p.lat)
            crss.extend(p.rss)
            log("reports run %d: json %.2f s, xlsx %.2f s (%.1f MB), csv %.2f s (%.1f MB)"
                % (i + 1, js[-1], xs[-1], xsize / 1e6, cs[-1], csize / 1e6))
        n = c["counts"]["total"]
    result("1M report JSON", median(js), "s", "<= 2 s", median(js) <= 2.0,
           "median of %d; %d messages" % (len(js), n))
    result("1M report.xlsx", median(xs), "s", "-", None,
           "median of %d; %.1f MB; worker thread" % (len(xs), xsize / 1e6))
    result("  /healthz during xlsx", percentile(lat, 99) * 1000, "ms p99", "< 50 ms",
           percentile(lat, 99) < 0.05, "median %.1f ms, max %.1f ms over %d probes"
           % (median(lat) * 1000, max(lat) * 1000, len(lat)))
    result("  RSS during xlsx", max(xrss) / 1024, "MB max", "-", None, "idle before: %.1f MB" % (rss_idle / 1024))
    result("1M export.csv", median(cs), "s", "-", None, "median of %d; %.1f MB" % (len(cs), csize / 1e6))
    result("  /healthz during csv", percentile(clat, 99) * 1000, "ms p99", "< 50 ms",
           percentile(clat, 99) < 0.05, "median %.1f ms, max %.1f ms over %d probes"
           % (median(clat) * 1000, max(clat) * 1000, len(clat)))
    result("  RSS during csv", max(crss) / 1024, "MB max", "-", None, "streamed in 2,000-row chunks")


if __name__ == "__main__":
    main()
