"""Campaign reports: the JSON report adds up to the campaign's exact counts,
the .xlsx workbook holds the same numbers (read back from the sheet XML), the
CSV export still streams every message, a client that leaves mid-download
does not hurt the server, and another workspace gets a 404."""

import json
import os
import re
import socket
import subprocess
import threading
import time
import unittest
import zipfile
import io
import xml.etree.ElementTree as ET

from harness import E2ETest, STATUSES, Client, contacts, disparo_bin, parse_csv, parse_ts, wait_until

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ["Summary", "Messages", "Senders", "Errors", "Skipped"]
X = "5511987650001"          # opts out before the campaign
F1, F2 = "5511987650101", "5511987650102"   # every sender refuses these


def col_index(ref):
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


class Workbook:
    """Reads an .xlsx with the standard library: sheet names from
    xl/workbook.xml, rows from each sheet's XML (inline or shared strings)."""

    def __init__(self, payload):
        self.z = zipfile.ZipFile(io.BytesIO(payload))
        self.bad = self.z.testzip()
        wb = ET.fromstring(self.z.read("xl/workbook.xml"))
        rels = ET.fromstring(self.z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.findall("pr:Relationship", NS)}
        self.names = []
        self.paths = {}
        for s in wb.find("m:sheets", NS).findall("m:sheet", NS):
            name = s.get("name")
            self.names.append(name)
            t = target[s.get("{%s}id" % NS["r"])]
            self.paths[name] = "xl/" + t.lstrip("/").removeprefix("xl/")
        self.shared = []
        if "xl/sharedStrings.xml" in self.z.namelist():
            sst = ET.fromstring(self.z.read("xl/sharedStrings.xml"))
            for si in sst.findall("m:si", NS):
                self.shared.append("".join(t.text or "" for t in si.iter("{%s}t" % NS["m"])))

    def rows(self, name):
        out = []
        with self.z.open(self.paths[name]) as f:
            for _, el in ET.iterparse(f):
                if el.tag != "{%s}row" % NS["m"]:
                    continue
                row = {}
                for c in el.findall("m:c", NS):
                    t = c.get("t")
                    if t == "inlineStr":
                        v = "".join(x.text or "" for x in c.iter("{%s}t" % NS["m"]))
                    elif t == "s":
                        v = self.shared[int(c.find("m:v", NS).text)]
                    else:
                        vv = c.find("m:v", NS)
                        v = None if vv is None else float(vv.text)
                        if v is not None and v == int(v):
                            v = int(v)
                    row[col_index(c.get("r"))] = v
                width = max(row) + 1 if row else 0
                out.append([row.get(i) for i in range(width)])
                el.clear()
        return out

    def table(self, name):
        """Rows as dicts keyed by the header row."""
        rows = self.rows(name)
        head = rows[0]
        return [{head[i]: (r[i] if i < len(r) else None) for i in range(len(head))} for r in rows[1:]]


def raw_request(port, path, token):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
               % (path, token)).encode())
    return s


class TestReports(E2ETest):
    deadline = 90.0

    def report(self, cid, api=None):
        return self.ok((api or self.api).get("/campaigns/%d/report" % cid))

    def mixed_campaign(self):
        # X answers SAIR to a first campaign and lands on do_not_disturb
        quitter = self.sandbox_sender("sai", delivered_after_ms=10, reply_rate=1)
        pre = self.campaign([quitter["id"]], [{"phone": X}], text="Oi", start=True)
        self.wait_status(pre["id"], "completed", 10)
        wait_until(lambda: self.get_campaign(pre["id"])["counts"]["replied"] == 1, 10, "the opt-out")
        a = self.sandbox_sender("entrega", delivered_after_ms=20, fail_phones=[F1, F2])
        b = self.sandbox_sender("le-e-responde", delivered_after_ms=20, read_after_ms=40,
                                reply_rate=1, reply_text="obrigado", fail_phones=[F1, F2])
        c = self.sandbox_sender("sem-recibo", fail_phones=[F1, F2])
        people = contacts(24, prefix="55119877")
        people += [{"phone": F1, "name": "F1"}, {"phone": F2, "name": "F2"}, {"phone": X, "name": "X"},
                   {"phone": people[0]["phone"], "name": "dup"}, {"phone": "12", "name": "bad"}]
        camp = self.campaign([a["id"], b["id"], c["id"]], people, text="Oi {{name}}", start=True)
        cid = camp["id"]
        self.wait_status(cid, "completed", 30)
        ids = {"a": a["id"], "b": b["id"], "c": c["id"]}

        def settled():
            per = {s["sender_id"]: s for s in self.report(cid)["by_sender"]}
            sa, sb = per.get(ids["a"]), per.get(ids["b"])
            return (sa and sb and sa["sent"] == 0 and sb["sent"] == 0 and sb["delivered"] == 0
                    and sb["replied"] == sb["read"] and sb["read"] > 0)
        wait_until(settled, 20, "receipts and replies")
        return cid, ids

    def test_json_report_adds_up(self):
        cid, ids = self.mixed_campaign()
        camp = self.assert_counts_exact(cid)
        rep = self.report(cid)
        counts = camp["counts"]
        self.assertEqual(rep["counts"], counts)
        self.assertEqual((rep["id"], rep["name"], rep["status"]), (cid, camp["name"], "completed"))
        for k in ("created_at", "started_at", "finished_at"):
            self.assertEqual(rep[k], camp[k], k)
        self.assertEqual(rep["replied"], counts["replied"])
        self.assertGreater(counts["replied"], 0)
        # the mix: 2 refused, 3 skipped (restricted, duplicate, invalid), some of each receipt
        self.assertEqual(counts["failed"], 2, counts)
        self.assertEqual(counts["skipped"], 3, counts)
        for s in ("sent", "delivered", "read"):
            self.assertGreater(counts[s], 0, counts)

        bs = rep["by_sender"]
        for s in STATUSES + ("total", "replied"):
            self.assertEqual(sum(x[s] for x in bs), counts[s], "by_sender %s: %r" % (s, bs))
        names = {x["sender_id"]: x["name"] for x in bs}
        self.assertEqual(names[ids["b"]], "le-e-responde")
        per = {x["sender_id"]: x for x in bs}
        self.assertEqual(per[ids["c"]]["delivered"] + per[ids["c"]]["read"], 0)
        self.assertEqual(per[ids["a"]]["read"], 0)

        errs = rep["by_error"]
        for st in ("failed", "skipped"):
            self.assertEqual(sum(e["count"] for e in errs if e["status"] == st), counts[st], errs)
        codes = {(e["status"], e["code"]): e for e in errs}
        self.assertEqual(codes[("failed", "sandbox_rejected")]["count"], 2)
        self.assertIn("do_not_disturb", codes[("skipped", "restricted")]["detail"])
        self.assertIn(("skipped", "duplicate"), codes)
        self.assertIn(("skipped", "invalid_phone"), codes)

        tl = rep["timeline"]
        self.assertEqual(rep["timeline_bucket_seconds"], 60)
        self.assertTrue(tl)
        reached = counts["sent"] + counts["delivered"] + counts["read"]
        self.assertEqual(sum(b["sent"] for b in tl), reached)
        self.assertEqual(sum(b["delivered"] for b in tl), counts["delivered"] + counts["read"])
        self.assertEqual(sum(b["read"] for b in tl), counts["read"])
        self.assertEqual(sum(b["failed"] for b in tl), counts["failed"])
        for b in tl:
            t = parse_ts(b["minute"])
            self.assertEqual((t.second, t.microsecond), (0, 0), b)

        d = rep["durations"]
        self.assertEqual(d["queue_to_sent"]["count"], reached)
        self.assertLessEqual(d["queue_to_sent"]["median_ms"], d["queue_to_sent"]["p90_ms"])
        self.assertEqual(d["sent_to_read"]["count"], counts["read"])
        self.assertGreaterEqual(d["sent_to_read"]["median_ms"], 40)
        self.assertEqual(d["sent_to_delivered"]["count"], counts["delivered"] + counts["read"])
        self.assertGreaterEqual(d["elapsed_ms"], 0)
        self.assertGreaterEqual(d["to_first_send_ms"], 0)

        # the workbook says the same
        st, headers, payload = self.api.raw("GET", "/api/v1/campaigns/%d/report.xlsx" % cid)
        self.assertEqual(st, 200, payload[:300])
        self.assertEqual(headers.get("content-type"), XLSX_TYPE)
        self.assertIn("attachment", headers.get("content-disposition", ""))
        self.assertIn(".xlsx", headers.get("content-disposition", ""))
        wb = Workbook(payload)
        self.assertIsNone(wb.bad, "corrupt zip member")
        self.assertEqual(wb.names, SHEETS)
        summary = {r[0]: (r[1] if len(r) > 1 else None) for r in wb.rows("Summary")[1:]}
        for k in ("total",) + STATUSES + ("replied", "clicked"):
            self.assertEqual(summary[k], counts[k], "Summary %s" % k)
        self.assertEqual(summary["name"], camp["name"])
        self.assertEqual(summary["queue_to_sent_median_ms"], d["queue_to_sent"]["median_ms"])
        self.assertEqual(summary["sent_to_read_p90_ms"], d["sent_to_read"]["p90_ms"])
        msgs = wb.table("Messages")
        self.assertEqual(len(msgs), counts["total"])
        api_msgs = {m["id"]: m for m in self.messages(cid)}
        self.assertEqual({m["id"] for m in msgs}, set(api_msgs))
        for m in msgs:
            a = api_msgs[m["id"]]
            self.assertEqual(m["status"], a["status"])
            self.assertEqual(str(m["phone"]), a["phone"])
            self.assertEqual(m["sent_at"], a["sent_at"])
            self.assertEqual(m["error_code"], a["error"]["code"] if a["error"] else None)
            self.assertEqual(m["reply"], a["reply"]["text"] if a["reply"] else None)
        for s in STATUSES:
            self.assertEqual(sum(1 for m in msgs if m["status"] == s), counts[s], s)
        skipped = wb.table("Skipped")
        self.assertEqual(len(skipped), counts["skipped"])
        self.assertEqual(sorted(r["reason"] for r in skipped), ["duplicate", "invalid_phone", "restricted"])
        senders = wb.table("Senders")
        self.assertEqual(len(senders), len(bs))
        for s in STATUSES + ("total",):
            self.assertEqual(sum(r[s] for r in senders), counts[s], s)
        errors = wb.table("Errors")
        self.assertEqual(sum(r["count"] for r in errors), counts["failed"] + counts["skipped"])

        # the CSV export: every message once, the same header as always
        st, headers, payload = self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % cid)
        self.assertEqual(st, 200)
        rows = parse_csv(payload.decode())
        self.assertEqual(rows[0][:5], ["id", "phone", "name", "sender_id", "status"])
        self.assertEqual(len(rows), 1 + counts["total"])
        self.assertEqual({int(r[0]): r[4] for r in rows[1:]}, {i: m["status"] for i, m in api_msgs.items()})

    def test_other_workspace_gets_404(self):
        c = self.campaign([1], contacts(3), start=True)
        self.wait_status(c["id"], "completed", 10)
        ws = self.ok(self.api.post("/workspaces", {"name": "outra"}), 201)
        other = Client(self.srv.base, ws["token"])
        for path in ("report", "report.xlsx", "export.csv"):
            st, body = other.get("/campaigns/%d/%s" % (c["id"], path))
            self.assertEqual(st, 404, (path, body))
            self.assertError(body, "not_found")
        st, body = self.api.get("/campaigns/999999/report")
        self.assertEqual(st, 404)
        self.assertEqual(self.report(c["id"])["counts"]["sent"], 3)

    def test_big_export_streams_and_survives_disconnects(self):
        n = 30000
        c = self.campaign([1], contacts(n, prefix="55119300"), name="grande")   # a draft: all queued
        cid = c["id"]
        tok = self.srv.token
        # the workbook is built off the loop: /healthz answers meanwhile
        result = {}

        def fetch():
            t0 = time.monotonic()
            result["resp"] = self.api.raw("GET", "/api/v1/campaigns/%d/report.xlsx" % cid, timeout=60)
            result["secs"] = time.monotonic() - t0
        th = threading.Thread(target=fetch)
        th.start()
        worst = 0.0
        while th.is_alive():
            t0 = time.monotonic()
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            data = s.recv(4096)
            s.close()
            self.assertIn(b"200", data.split(b"\r\n")[0])
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.02)
        th.join()
        st, headers, payload = result["resp"]
        self.assertEqual(st, 200, payload[:300])
        wb = Workbook(payload)
        self.assertEqual(wb.names, SHEETS)
        self.assertEqual(len(wb.rows("Messages")) - 1, n)
        self.assertLess(worst, 1.0, "healthz took %.3f s while the workbook was built" % worst)

        # at most 4 reports are built at once: a fifth asked meanwhile gets 409
        socks = [raw_request(self.srv.port, "/api/v1/campaigns/%d/report.xlsx" % cid, tok) for _ in range(5)]
        heads = []
        for s in socks:
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "no answer")
                buf += chunk
            heads.append(buf.split(b"\r\n", 1)[0])
            s.close()
        self.assertEqual(sorted(h.split(b" ")[1] for h in heads), [b"200"] * 4 + [b"409"], heads)
        # leave in the middle of each kind of download
        for path in ("report.xlsx", "report", "export.csv"):
            s = raw_request(self.srv.port, "/api/v1/campaigns/%d/%s" % (cid, path), tok)
            if path == "export.csv":
                got = 0
                while got < 65536:
                    chunk = s.recv(65536)
                    self.assertTrue(chunk, "the export ended early")
                    got += len(chunk)
            s.close()
        # the workbook's thread is stopped, not left to finish for nobody
        wait_until(lambda: "report client left" in self.srv.log_text(), 10, "the server to notice")
        wait_until(lambda: re.search(r'msg="report built" campaign=%d kind=xlsx ms=\d+ rc=-9' % cid,
                                     self.srv.log_text()), 10, "the cancelled workbook's thread to end")
        self.assertEqual(self.api.get("/campaigns/%d" % cid)[0], 200)
        # and everything still works in full afterwards
        st, headers, payload = self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % cid, timeout=60)
        self.assertEqual(st, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        rows = parse_csv(payload.decode())
        self.assertEqual(len(rows), n + 1)
        self.assertEqual(len({r[0] for r in rows[1:]}), n)
        self.assertEqual(self.report(cid)["counts"]["queued"], n)

    def cli(self, *args):
        p = subprocess.run([disparo_bin(), "--url", self.srv.base, "--token", self.srv.token] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            self.assertNotIn(mark, err)
        return p.returncode, p.stdout, err

    def test_cli_report_and_export(self):
        s = self.sandbox_sender("cli-remetente", fail_phones=["5511987650201"])
        c = self.campaign([s["id"]], contacts(4, prefix="55119876") + [{"phone": "5511987650201", "name": "F"}], start=True)
        cid = c["id"]
        self.wait_status(cid, "completed", 10)
        rc, out, err = self.cli("campaign", "report", str(cid))
        self.assertEqual(rc, 0, err)
        text = out.decode()
        self.assertIn("cli-remetente", text)
        self.assertIn("sandbox_rejected", text)
        rc, out, err = self.cli("--json", "campaign", "report", str(cid))
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["counts"], self.get_campaign(cid)["counts"])
        path = os.path.join(self._workdir, "r.xlsx")
        rc, out, err = self.cli("campaign", "report", str(cid), "--xlsx", path)
        self.assertEqual(rc, 0, err)
        with open(path, "rb") as f:
            wb = Workbook(f.read())
        self.assertEqual(wb.names, SHEETS)
        self.assertEqual(len(wb.table("Messages")), 5)
        csv_path = os.path.join(self._workdir, "e.csv")
        rc, out, err = self.cli("campaign", "export", str(cid), "-o", csv_path)
        self.assertEqual(rc, 0, err)
        st, _, payload = self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % cid)
        with open(csv_path, "rb") as f:
            self.assertEqual(f.read(), payload)
        rc, out, err = self.cli("campaign", "export", str(cid))
        self.assertEqual((rc, out), (0, payload))
        missing = os.path.join(self._workdir, "none.csv")
        rc, out, err = self.cli("campaign", "export", "999999", "-o", missing)
        self.assertNotEqual(rc, 0)
        self.assertIn("not found", err)
        self.assertFalse(os.path.exists(missing))


if __name__ == "__main__":
    unittest.main()
