"""Contacts and lists at 1,000,000 contacts (not part of run.sh's default set;
run it by hand: `cd bench && DISPARO_BIN=../build/rel/disparo python3 bench_contacts.py`).

Imports the CSV of bench_import.py into one list on a fresh server, then times,
RUNS times each (median reported): a search with no match (the worst case: it
walks every contact), a common name, a phone prefix, one page of members deep
in the list, a contact's history, and finally deleting the whole list."""

import argparse
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import log, median, result, server_with_list  # noqa: E402


def timed(fn, runs):
    ts = []
    for _ in range(runs):
        t = time.monotonic()
        out = fn()
        ts.append(time.monotonic() - t)
    return median(ts), ts, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with server_with_list("contacts", a.contacts, "big") as (srv, api, dt, rep):
        lid = rep["list_id"]
        log("contacts: imported %d in %.2f s" % (rep["imported"], dt))

        def get(p):
            return lambda: api.ok("GET", p)
        cases = [
            ("search, no match (walks all)", "/contacts?search=" + urllib.parse.quote("zzz-nobody")),
            ("search, common name, page of 100", "/contacts?search=ana"),
            ("search, phone prefix 5511, page of 100", "/contacts?search=5511"),
            ("search, one phone by its digits", "/contacts?search=5598910000007"),
            ("list members, page of 1000 after id 900000", "/lists/%d/contacts?limit=1000&after=900000" % lid),
            ("contact by phone", "/contacts/5598910000007"),
        ]
        for name, p in cases:
            m, ts, out = timed(get(p), a.runs)
            n = len(out["contacts"]) if "contacts" in out else int("id" in out)
            result(name, m * 1000, "ms", "-", None,
                   "median of %d: %s ms; %d rows" % (a.runs, " ".join("%.1f" % (t * 1000) for t in ts), n))
        t = time.monotonic()
        api.ok("DELETE", "/lists/%d" % lid, want=(204,))
        result("delete a list of %d members" % a.contacts, time.monotonic() - t, "s", "-", None, "one run")


if __name__ == "__main__":
    main()
