"""Pause, resume, cancel, PATCH rules, and the campaign object itself."""

import csv
import io
import time
import unittest

from harness import RFC3339_RE, STATUSES, E2ETest, contacts, epoch, wait_until

EXPORT_HEADER = ["id", "phone", "name", "sender_id", "status", "attempts", "provider_message_id", "error_code",
                 "error_detail", "queued_at", "sent_at", "delivered_at", "read_at", "failed_at"]


class TestControl(E2ETest):
    deadline = 60.0

    def test_pause_and_resume(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(10), start=True, interval=(300, 300))
        cid = c["id"]
        wait_until(lambda: recv.count() >= 2, 10, "two sends")
        p = self.ok(self.api.post("/campaigns/%d/pause" % cid))
        self.assertEqual(p["status"], "paused")
        at_pause = recv.count()
        time.sleep(0.3)  # a send already in flight may land
        settled = recv.count()
        self.assertLessEqual(settled - at_pause, 1, "sends went on after pause")
        time.sleep(1.5)
        self.assertEqual(recv.count(), settled, "sends while paused")
        c = self.get_campaign(cid)
        self.assertEqual(c["status"], "paused")
        self.assertIsNone(c["state_reason"])
        self.assertEqual(c["counts"]["queued"], 10 - settled, c["counts"])
        self.assert_counts_exact(cid)
        # paused: PATCH is allowed, pause again is not
        st, body = self.api.post("/campaigns/%d/pause" % cid)
        self.assertEqual(st, 409, body)
        self.assertError(body, "invalid_transition", mentions=("paused",))
        c = self.ok(self.api.patch("/campaigns/%d" % cid, {"interval": {"min_ms": 100, "max_ms": 100}, "name": "renamed"}))
        self.assertEqual((c["interval"], c["name"]), ({"min_ms": 100, "max_ms": 100}, "renamed"))
        r = self.ok(self.api.post("/campaigns/%d/resume" % cid))
        self.assertEqual(r["status"], "running")
        # running: PATCH and resume are refused
        st, body = self.api.patch("/campaigns/%d" % cid, {"name": "nope"})
        self.assertEqual(st, 409, body)
        st, body = self.api.post("/campaigns/%d/resume" % cid)
        self.assertEqual(st, 409, body)  # running, or already completed
        c = self.wait_status(cid, "completed", 20)
        self.assertEqual(c["name"], "renamed")
        self.assertEqual(c["counts"]["sent"], 10)
        self.assertEqual(recv.per_phone(), {p["phone"]: 1 for p in contacts(10)})
        # the new interval took effect after resume
        ts = sorted(r["t"] for r in recv.snapshot())[settled:]
        gaps = [y - x for x, y in zip(ts, ts[1:])]
        self.assertLess(sum(gaps) / len(gaps), 0.25, "interval PATCHed to 100 ms while paused: gaps %r" % gaps)
        self.assert_counts_exact(cid)
        types = [e["type"] for e in self.assert_events_include(cid, "started", "paused", "resumed", "completed")]
        self.assertEqual(types[0], "completed", types)
        self.assertLess(types.index("resumed"), types.index("paused"))

    def test_cancel_running(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(10), start=True, interval=(300, 300))
        cid = c["id"]
        wait_until(lambda: recv.count() >= 2, 10, "two sends")
        c = self.ok(self.api.post("/campaigns/%d/cancel" % cid))
        self.assertEqual(c["status"], "cancelled")
        at_cancel = recv.count()
        time.sleep(0.3)
        settled = recv.count()
        self.assertLessEqual(settled - at_cancel, 1)
        time.sleep(1.5)
        self.assertEqual(recv.count(), settled, "sends after cancel")
        c = self.get_campaign(cid)
        self.assertEqual(c["status"], "cancelled")
        self.assertIsNotNone(c["finished_at"])
        self.assertEqual(c["counts"]["sent"], settled)
        self.assert_counts_exact(cid)
        self.assert_events_include(cid, "started", "cancelled")
        st, body = self.api.post("/campaigns/%d/cancel" % cid)
        self.assertEqual(st, 409, body)
        self.assertError(body, "invalid_transition")

    def test_cancel_paused(self):
        c = self.campaign([1], contacts(5), start=True, interval=(500, 500))
        self.ok(self.api.post("/campaigns/%d/pause" % c["id"]))
        c = self.ok(self.api.post("/campaigns/%d/cancel" % c["id"]))
        self.assertEqual(c["status"], "cancelled")
        self.assert_counts_exact(c["id"])

    def test_campaign_defaults_and_shape(self):
        c = self.ok(self.api.post("/campaigns", {"name": "Black Friday", "sender_ids": [1],
                                                 "message": {"text": "{{greeting}}, {{name}}!"},
                                                 "contacts": contacts(3)}), 201)
        self.assertIsInstance(c["id"], int)
        self.assertEqual(c["name"], "Black Friday")
        self.assertEqual(c["status"], "draft")
        self.assertIsNone(c["state_reason"])
        self.assertEqual(c["message"], {"text": "{{greeting}}, {{name}}!"})
        self.assertEqual(c["sender_ids"], [1])
        self.assertEqual(c["audience"], {"list_id": None, "contacts": 3})
        self.assertIsNone(c["start_at"])
        self.assertIsNone(c["window"])
        self.assertEqual(c["interval"], {"min_ms": 5000, "max_ms": 15000})
        self.assertIsNone(c.get("pause"))
        self.assertEqual((c["resend_unknown"], c["max_attempts"], c["max_sender_failures"]), (False, 5, 5))
        self.assertEqual(c["counts"], dict({s: 0 for s in STATUSES}, total=3, queued=3, replied=0, clicked=0))
        self.assertRegex(c["created_at"], RFC3339_RE)
        self.assertIsNone(c["started_at"])
        self.assertIsNone(c["finished_at"])
        # what the restriction lists held back is known at creation only: the reply says it
        self.assertEqual(c.pop("restricted"), {"total": 0, "by_list": {}, "excluded": 0})
        self.assertEqual(self.get_campaign(c["id"]), c)
        for m in self.messages(c["id"]):
            self.assertEqual((m["status"], m["attempts"], m["sender_id"] in (None, 1)), ("queued", 0, True), m)
            self.assertIsNone(m["error"])
            self.assertIsNone(m["sent_at"])
            self.assertRegex(m["queued_at"], RFC3339_RE)
        # PATCH a draft
        p = self.ok(self.api.patch("/campaigns/%d" % c["id"], {"max_attempts": 2, "message": {"text": "x"}}))
        self.assertEqual((p["max_attempts"], p["message"]), (2, {"text": "x"}))
        st, body = self.api.patch("/campaigns/%d" % c["id"], {"interval": {"min_ms": 10, "max_ms": 1}})
        self.assertEqual(st, 400, body)
        self.assertEqual(self.get_campaign(c["id"])["interval"], {"min_ms": 5000, "max_ms": 15000})

    def test_campaign_list_newest_first_and_filter(self):
        ids = [self.campaign([1], contacts(1), name="n%d" % i)["id"] for i in range(3)]
        self.ok(self.api.post("/campaigns/%d/cancel" % ids[1]))
        got = [c["id"] for c in self.ok(self.api.get("/campaigns"))["campaigns"]]
        self.assertEqual(got, list(reversed(ids)))
        got = [c["id"] for c in self.ok(self.api.get("/campaigns?status=draft"))["campaigns"]]
        self.assertEqual(got, [ids[2], ids[0]])
        got = [c["id"] for c in self.ok(self.api.get("/campaigns?status=cancelled"))["campaigns"]]
        self.assertEqual(got, [ids[1]])

    def test_messages_pagination_filter_export(self):
        s = self.sandbox_sender("sbx", fail_phones=["5511900000004"])
        c = self.campaign([s["id"]], contacts(7), start=True)
        cid = c["id"]
        self.wait_status(cid, "completed", 20)
        c = self.assert_counts_exact(cid)
        self.assertEqual((c["counts"]["sent"], c["counts"]["failed"]), (6, 1))
        # limit=2 pages
        seen, sizes, cursor = [], [], None
        for _ in range(10):
            q = "/campaigns/%d/messages?limit=2" % cid + ("&cursor=%s" % cursor if cursor is not None else "")
            body = self.ok(self.api.get(q))
            sizes.append(len(body["messages"]))
            seen.extend(m["id"] for m in body["messages"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
            self.assertIsInstance(cursor, str, "next_cursor is a string")
        self.assertIsNone(cursor, "next_cursor never became null")
        self.assertEqual(sizes[:4], [2, 2, 2, 1], sizes)
        self.assertIn(len(sizes), (4, 5), sizes)
        self.assertEqual(len(seen), 7)
        self.assertEqual(seen, sorted(set(seen)), "ordered by id, no repeats")
        all_ids = [m["id"] for m in self.ok(self.api.get("/campaigns/%d/messages" % cid))["messages"]]
        self.assertEqual(all_ids, seen)
        # status filter, also paged
        sent_ids, cursor = [], None
        while True:
            body = self.ok(self.api.get("/campaigns/%d/messages?status=sent&limit=4%s" % (
                cid, "&cursor=%s" % cursor if cursor else "")))
            sent_ids.extend(m["id"] for m in body["messages"])
            self.assertTrue(all(m["status"] == "sent" for m in body["messages"]))
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(sent_ids), 6)
        failed = self.ok(self.api.get("/campaigns/%d/messages?status=failed" % cid))["messages"]
        self.assertEqual([m["phone"] for m in failed], ["5511900000004"])
        for bad in ("limit=0", "limit=1001", "limit=abc", "status=bogus"):
            st, body = self.api.get("/campaigns/%d/messages?%s" % (cid, bad))
            self.assertEqual(st, 400, "%s: %r" % (bad, body))
            self.assertError(body, "bad_request")
        self.assertEqual(len(self.ok(self.api.get("/campaigns/%d/messages?limit=1000" % cid))["messages"]), 7)
        # export
        st, headers, payload = self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % cid)
        self.assertEqual(st, 200, payload[:300])
        self.assertTrue(headers.get("content-type", "").startswith("text/csv"), headers)
        rows = list(csv.reader(io.StringIO(payload.decode("utf-8"))))
        self.assertEqual(rows[0], EXPORT_HEADER)
        self.assertEqual(len(rows), 1 + 7, rows)
        msgs = {m["id"]: m for m in self.messages(cid)}
        for row in rows[1:]:
            r = dict(zip(EXPORT_HEADER, row))
            m = msgs[int(r["id"])]
            self.assertEqual((r["phone"], r["status"], int(r["attempts"]), int(r["sender_id"])),
                             (m["phone"], m["status"], m["attempts"], m["sender_id"]))
            self.assertEqual(r["error_code"], (m["error"] or {}).get("code", ""))
            if m["sent_at"]:
                self.assertAlmostEqual(epoch(r["sent_at"]), epoch(m["sent_at"]), delta=0.001)
        self.assertEqual(sorted(int(r[0]) for r in rows[1:]), sorted(msgs))
        self.assertStatus(self.api.get("/campaigns/999/messages"), 404, "not_found")

    def test_events_newest_first(self):
        c = self.campaign([1], contacts(2), start=True)
        self.wait_status(c["id"], "completed", 20)
        evs = self.events(c["id"])
        types = [e["type"] for e in evs]
        for t in ("created", "started", "completed"):
            self.assertEqual(types.count(t), 1, types)
        self.assertEqual(types[0], "completed", types)
        self.assertEqual(types[-1], "created", types)
        ids = [e["id"] for e in evs]
        self.assertEqual(ids, sorted(ids, reverse=True))
        ats = [epoch(e["at"]) for e in evs]
        self.assertEqual(ats, sorted(ats, reverse=True))
        for e in evs:
            self.assertIsInstance(e["detail"], dict, e)
        self.assertEqual([e["type"] for e in self.events(c["id"], limit=1)], ["completed"])
        self.assertStatus(self.api.get("/campaigns/999/events"), 404, "not_found")


if __name__ == "__main__":
    unittest.main()
