"""Benchmark 4: CSV (and, with --format xlsx, XLSX) import of 1,000,000 contacts.

Generates one CSV (phone,name,cidade) of N distinct Brazilian mobile numbers
in a temp file (or the same rows as an XLSX workbook: phones as number cells,
names and cities as shared strings), then, RUNS times, starts a fresh server (empty database) and
POSTs the file to /contacts/import?list=big, streamed from disk with
Content-Length. The time is the wall time of that one request, from the first
byte written to the reply read (the server commits before it answers).
Reports the median of the runs; also the server's peak RSS (VmHWM) during
the import, for information."""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import XLSX_TYPE, Server, gen_csv, gen_xlsx, import_csv, log, median, proc_hwm_kb, result  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    a = ap.parse_args()
    xlsx = a.format == "xlsx"
    fd, path = tempfile.mkstemp(prefix="disparo-bench-", suffix="." + a.format)
    os.close(fd)
    try:
        t = time.monotonic()
        size = (gen_xlsx if xlsx else gen_csv)(path, a.contacts)
        log("import: generated %d contacts, %.1f MB, in %.1f s" % (a.contacts, size / 1e6, time.monotonic() - t))
        times, hwms = [], []
        for run in range(a.runs):
            with Server("import%d" % (run + 1)) as srv:
                api = srv.client(timeout=300)
                dt, rep = import_csv(api, path, "big", timeout=300,
                                     content_type=XLSX_TYPE if xlsx else "text/csv")
                hwm = proc_hwm_kb(srv.pid)
                lst = api.ok("GET", "/lists/%d" % rep["list_id"])
            if rep.get("imported") != a.contacts or lst.get("members") != a.contacts:
                raise SystemExit("import run %d: imported %r, list members %r, want %d (%r)"
                                 % (run + 1, rep.get("imported"), lst.get("members"), a.contacts, rep))
            times.append(dt)
            hwms.append(hwm)
            log("import run %d: %.2f s (%.0f rows/s), server peak RSS %.1f MB"
                % (run + 1, dt, a.contacts / dt, hwm / 1024))
    finally:
        os.unlink(path)
    m = median(times)
    result("%s import %s contacts" % (a.format.upper(), "1M" if a.contacts == 1000000 else a.contacts), m, "s", "< 10 s", m < 10.0,
           "median of %d runs: %s s; %.1f MB file; %.0f rows/s; server peak RSS %.0f MB"
           % (len(times), " ".join("%.2f" % x for x in times), size / 1e6, a.contacts / m, median(hwms) / 1024))


if __name__ == "__main__":
    main()
