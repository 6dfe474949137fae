"""Benchmark 3: interval-0 throughput and memory of a 1,000,000-message campaign.

A fresh server (SQLite in WAL mode, synchronous=FULL: durable state), a
`sandbox` sender with latency 0. Setup, not measured: import N contacts
(a CSV through POST /contacts/import, because N inline contacts would pass
the 16 MiB JSON cap), then POST /campaigns with list_id and interval {0, 0}.

Run A, in that same server process:
  - POST /campaigns/{id}/start, then every 0.5 s: VmRSS from
    /proc/PID/status and GET /campaigns/{id} (counts), until completed (or
    a time cap);
  - throughput = messages sent / (finished_at - started_at), both from the
    API; cross-checked by the polled counts (sent per second between the
    first poll and the one that saw it completed);
  - max RSS while it runs. This process also did the import, so its heap
    still holds what the import grew to.

Run B: a second 1,000,000-message campaign is created from the same list,
the server is restarted on the same data dir (SIGTERM, start), and the
campaign runs in a process that did nothing else: its max RSS is what the
running campaign itself costs."""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (log, parse_ts, proc_cpu_seconds, proc_hwm_kb, proc_rss_kb, result,  # noqa: E402
                    sandbox_sender, server_with_list)


def create(api, sid, list_id, name):
    t = time.monotonic()
    c = api.ok("POST", "/campaigns", {
        "name": name, "sender_ids": [sid], "message": {"text": "{{greeting}}, {{name}}! Oferta em {{cidade}}"},
        "interval": {"min_ms": 0, "max_ms": 0}, "list_id": list_id}, want=(201,), timeout=300)
    return c, time.monotonic() - t


def run(srv, api, cid, cap_s, label):
    """Start campaign cid, poll until completed. -> dict of measurements."""
    pid = srv.pid
    rss0 = proc_rss_kb(pid)
    cpu0 = proc_cpu_seconds(pid)
    m0 = time.monotonic()
    api.ok("POST", "/campaigns/%d/start" % cid)
    rss_max = rss0
    polls = []  # (monotonic, sent)
    c = None
    while time.monotonic() - m0 < cap_s:
        time.sleep(0.5)
        rss_max = max(rss_max, proc_rss_kb(pid))
        c = api.ok("GET", "/campaigns/%d" % cid)
        polls.append((time.monotonic(), c["counts"]["sent"]))
        if c["status"] in ("completed", "cancelled"):
            break
    m1 = time.monotonic()
    cpu = proc_cpu_seconds(pid) - cpu0
    hwm = proc_hwm_kb(pid)  # peak over the process's life, between the 0.5 s samples too
    total = c["counts"]["total"]
    sent = c["counts"]["sent"]
    out = {"label": label, "rss0": rss0, "rss_max": rss_max, "status": c["status"], "sent": sent,
           "total": total, "wall": m1 - m0, "hwm": hwm, "cpu": cpu, "counts": c["counts"]}
    if c["status"] == "completed":
        dur = parse_ts(c["finished_at"]) - parse_ts(c["started_at"])
        out["api_rate"] = sent / dur
        out["api_dur"] = dur
    else:
        out["api_rate"] = sent / (m1 - m0)  # a lower bound: not finished within the cap
        out["api_dur"] = None
        log("%s: NOT completed within %.0f s (status %s, %d/%d sent)" % (label, cap_s, c["status"], sent, total))
    first = next((p for p in polls if p[1] > 0), None)
    if first and polls[-1] is not first:
        out["poll_rate"] = (polls[-1][1] - first[1]) / (polls[-1][0] - first[0])
    else:
        out["poll_rate"] = None
    log("%s: %s %d/%d sent; API %.0f msg/s over %s s; polled %s msg/s; server CPU %.1f s over %.1f s; "
        "RSS at start %.1f MB, max %.1f MB"
        % (label, c["status"], sent, total, out["api_rate"],
           "%.2f" % out["api_dur"] if out["api_dur"] else "-",
           "%.0f" % out["poll_rate"] if out["poll_rate"] else "-", cpu, m1 - m0, rss0 / 1024, rss_max / 1024))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000000)
    ap.add_argument("--cap", type=float, default=90.0, help="max seconds per run")
    ap.add_argument("--no-restart-run", action="store_true", help="skip run B")
    a = ap.parse_args()
    with server_with_list("throughput", a.messages, "tp") as (srv, api, dt, rep):
        sid = sandbox_sender(api, "tp-sbx", latency_ms=0)["id"]
        ca, dta = create(api, sid, rep["list_id"], "tp-A")
        if ca["counts"]["queued"] != a.messages:
            raise SystemExit("campaign A has %r, want %d queued" % (ca["counts"], a.messages))
        log("throughput: import %.1f s, create campaign A (%d messages) %.1f s" % (dt, a.messages, dta))
        ra = run(srv, api, ca["id"], a.cap, "run A (same process as the import)")
        rb = None
        if not a.no_restart_run:
            cb, dtb = create(api, sid, rep["list_id"], "tp-B")
            api.close()
            srv.stop()
            srv.start()
            api = srv.client(timeout=300)
            log("throughput: created campaign B in %.1f s, restarted the server" % dtb)
            rb = run(srv, api, cb["id"], a.cap, "run B (restarted server)")

    def note(r):
        s = "%d/%d sent in %s; polled %s msg/s; server CPU %.0f %% of a core" % (
            r["sent"], r["total"], ("%.2f s" % r["api_dur"]) if r["api_dur"] else ("cap %.0f s, NOT DONE" % r["wall"]),
            "%.0f" % r["poll_rate"] if r["poll_rate"] else "-", 100 * r["cpu"] / r["wall"])
        return s
    ok_a = ra["status"] == "completed" and ra["api_rate"] >= 50000
    result("1M campaign throughput", ra["api_rate"], "msg/s", ">= 50000/s", ok_a,
           "sent/(finished_at-started_at); " + note(ra))
    result("1M campaign max RSS", ra["rss_max"] / 1024, "MB", "< 64 MB", ra["rss_max"] < 64 * 1024,
           "same process as the 1M import; RSS at start %.1f MB" % (ra["rss0"] / 1024))
    if rb:
        result("  1M throughput, restarted", rb["api_rate"], "msg/s", ">= 50000/s",
               rb["status"] == "completed" and rb["api_rate"] >= 50000, note(rb))
        result("1M campaign max RSS, restarted", rb["rss_max"] / 1024, "MB", "< 64 MB",
               rb["rss_max"] < 64 * 1024, "fresh process, nothing but the campaign; RSS at start %.1f MB, VmHWM %.1f MB"
               % (rb["rss0"] / 1024, rb["hwm"] / 1024))


if __name__ == "__main__":
    main()
