"""What happens to each message: duplicates, permanent and transient failures,
retries, sender rotation limits."""

import time
import unittest

from harness import E2ETest, contacts, epoch, wait_until


class TestDelivery(E2ETest):
    deadline = 90.0

    def test_duplicates_and_invalid_inline(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        people = [{"phone": "5511900000001", "name": "A"}, {"phone": "5511900000002", "name": "B"},
                  {"phone": "+55 (11) 90000-0001", "name": "A again"}, {"phone": "123", "name": "Bad"},
                  {"phone": "5511900000003", "name": "C"}]
        c = self.campaign([s["id"]], people, start=True)
        self.assertEqual(c["counts"]["total"], 5, c["counts"])
        cid = c["id"]
        self.wait_status(cid, "completed", 20)
        c = self.assert_counts_exact(cid)
        self.assertEqual((c["counts"]["sent"], c["counts"]["skipped"]), (3, 2), c["counts"])
        skipped = self.messages(cid, status="skipped")
        codes = sorted(m["error"]["code"] for m in skipped)
        self.assertEqual(codes, ["duplicate", "invalid_phone"], skipped)
        dup = [m for m in skipped if m["error"]["code"] == "duplicate"][0]
        self.assertEqual(dup["phone"], "5511900000001")
        self.assertEqual(dup["attempts"], 0)
        self.assertIsNone(dup["sent_at"])
        self.assertEqual(recv.per_phone(), {"5511900000001": 1, "5511900000002": 1, "5511900000003": 1})
        self.assertIsNotNone(c["finished_at"])

    def test_list_and_inline_overlap(self):
        st, r = self.api.request("POST", "/api/v1/contacts/import?list=l1",
                                 raw_body=b"phone,name\n5511900000001,A\n5511900000002,B\n", content_type="text/csv")
        self.assertEqual(st, 200, r)
        c = self.campaign([1], [{"phone": "5511900000002", "name": "B"}, {"phone": "5511900000003", "name": "C"}],
                          list_id=r["list_id"], start=True)
        self.assertEqual(c["counts"]["total"], 4, c["counts"])
        self.wait_status(c["id"], "completed", 20)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual((c["counts"]["sent"], c["counts"]["skipped"]), (3, 1), c["counts"])
        sent = sorted(m["phone"] for m in self.messages(c["id"], status="sent"))
        self.assertEqual(sent, ["5511900000001", "5511900000002", "5511900000003"])

    def test_permanent_failure(self):
        recv = self.receiver()
        people = contacts(4)
        bad = people[1]["phone"]
        recv.fail_phones = {bad: 400}
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], people, start=True)
        self.wait_status(c["id"], "completed", 30)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual((c["counts"]["sent"], c["counts"]["failed"]), (3, 1), c["counts"])
        failed = self.messages(c["id"], status="failed")
        self.assertEqual(len(failed), 1)
        f = failed[0]
        self.assertEqual(f["phone"], bad)
        self.assertEqual(f["attempts"], 1, "a 4xx is not retried")
        self.assertIsNotNone(f["error"])
        self.assertIsInstance(f["error"].get("code"), str)
        self.assertIsNotNone(f["failed_at"])
        self.assertIsNone(f["sent_at"])
        self.assertEqual(recv.per_phone()[bad], 1, "a 4xx is not retried")
        for m in self.messages(c["id"], status="sent"):
            self.assertEqual(m["attempts"], 1)
            self.assertIsNone(m["error"])
            self.assertIsNotNone(m["sent_at"])

    def test_transient_503_is_retried(self):
        recv = self.receiver()
        recv.fail_first = 2
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(3), start=True)
        self.wait_status(c["id"], "completed", 60)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual(c["counts"]["sent"], 3, c["counts"])
        msgs = self.messages(c["id"])
        self.assertEqual(sum(m["attempts"] for m in msgs), 5, "3 sends + 2 retries: %r" % msgs)
        self.assertTrue(any(m["attempts"] > 1 for m in msgs))
        self.assertEqual(recv.count(), 5)
        # every attempt of a message carries the same idempotency key
        for m in msgs:
            keys = {r["headers"].get("idempotency-key") for r in recv.snapshot() if r["to"] == m["phone"]}
            self.assertEqual(keys, {"c%d-m%d" % (c["id"], m["id"])})
            self.assertEqual(len([r for r in recv.snapshot() if r["to"] == m["phone"]]), m["attempts"])

    def test_retries_stop_at_max_attempts(self):
        recv = self.receiver()
        people = contacts(3)
        bad = people[0]["phone"]
        recv.fail_phones = {bad: 503}
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], people, start=True, max_attempts=2)
        self.assertEqual(c["max_attempts"], 2)
        self.wait_status(c["id"], "completed", 60)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual((c["counts"]["sent"], c["counts"]["failed"]), (2, 1), c["counts"])
        f = self.messages(c["id"], status="failed")[0]
        self.assertEqual((f["phone"], f["attempts"]), (bad, 2))
        self.assertEqual(recv.per_phone()[bad], 2)

    def test_429_is_retried(self):
        recv = self.receiver()
        people = contacts(2)
        # two 429s, then through: the last of three attempts succeeds (the test
        # used to lift the failure itself, and lost the race to a short backoff)
        recv.fail_phone_times = {people[0]["phone"]: [429, 2]}
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], people, start=True, max_attempts=3)
        self.wait_status(c["id"], "completed", 60)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual(c["counts"]["sent"], 2, c["counts"])
        m = [m for m in self.messages(c["id"]) if m["phone"] == people[0]["phone"]][0]
        self.assertEqual((m["status"], m["attempts"]), ("sent", 3), m)
        self.assertEqual([r["status"] for r in recv.snapshot() if r["to"] == people[0]["phone"]],
                         [429, 429, 200])

    def test_failing_sender_leaves_rotation(self):
        good, bad = self.receiver(), self.receiver()
        bad.fail_all = 500
        sg = self.webhook_sender(good, name="good")
        sb = self.webhook_sender(bad, name="bad")
        # 200 ms apart so that failures are counted one by one
        c = self.campaign([sb["id"], sg["id"]], contacts(6), start=True, max_sender_failures=2, max_attempts=5,
                          interval=(200, 200))
        self.wait_status(c["id"], "completed", 75)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual(c["counts"]["sent"], 6, c["counts"])
        self.assertEqual({m["sender_id"] for m in self.messages(c["id"])}, {sg["id"]})
        self.assertLessEqual(bad.count(), 2, "the failing sender is used after max_sender_failures")
        evs = self.assert_events_include(c["id"], "sender_removed")
        ev = [e for e in evs if e["type"] == "sender_removed"][0]
        self.assertEqual(ev["detail"].get("sender_id"), sb["id"], ev)
        self.assertEqual(ev["detail"].get("failures"), 2, ev)

    def test_timeout_is_retried_with_the_same_key(self):
        recv = self.receiver()
        recv.delay_ms = 1500

        def faster(rec):
            recv.delay_ms = 0  # only the first request is slow
        recv.on_request = faster
        s = self.webhook_sender(recv, timeout_ms=300)
        c = self.campaign([s["id"]], contacts(1), start=True)
        self.wait_status(c["id"], "completed", 60)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual(c["counts"]["sent"], 1, c["counts"])
        m = self.messages(c["id"])[0]
        self.assertGreaterEqual(m["attempts"], 2, "a timeout is retried")
        recs = recv.snapshot()
        self.assertEqual(len(recs), m["attempts"])
        self.assertEqual({r["headers"].get("idempotency-key") for r in recs}, {"c%d-m%d" % (c["id"], m["id"])})

    def test_connection_refused_is_retried_then_fails(self):
        from harness import free_port
        url = "http://127.0.0.1:%d/hook" % free_port()  # nobody listens
        s = self.ok(self.api.post("/senders", {"name": "dead", "provider": "webhook", "config": {"url": url}}), 201)
        c = self.campaign([s["id"]], contacts(1), start=True, max_attempts=2)
        self.wait_status(c["id"], "completed", 60)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual(c["counts"]["failed"], 1, c["counts"])
        m = self.messages(c["id"])[0]
        self.assertEqual(m["attempts"], 2)
        self.assertIsNotNone(m["error"])

    def test_all_senders_removed_is_no_sender(self):
        recv = self.receiver()
        recv.fail_all = 500
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(5), start=True, max_sender_failures=2, max_attempts=5,
                          interval=(100, 100))

        def waiting():
            c2 = self.get_campaign(c["id"])
            return c2["state_reason"] == "no_sender" and c2
        c2 = wait_until(waiting, 45, "state_reason no_sender")
        self.assertEqual(c2["status"], "running")
        n = recv.count()
        time.sleep(1.0)
        self.assertEqual(recv.count(), n, "a removed sender is still used")
        self.assert_events_include(c["id"], "sender_removed")
        self.assert_counts_exact(c["id"])
        self.ok(self.api.post("/campaigns/%d/cancel" % c["id"]))
        self.assert_counts_exact(c["id"])

    def test_disabled_sender_stops_sending(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        c = self.campaign([s["id"]], contacts(8), start=True, interval=(300, 300))
        wait_until(lambda: recv.count() >= 2, 10, "two sends")
        self.ok(self.api.patch("/senders/%d" % s["id"], {"status": "disabled"}))
        time.sleep(0.4)
        n = recv.count()
        time.sleep(1.2)
        self.assertEqual(recv.count(), n, "a disabled sender kept sending")
        c2 = self.get_campaign(c["id"])
        self.assertEqual((c2["status"], c2["state_reason"]), ("running", "no_sender"), c2)
        self.ok(self.api.patch("/senders/%d" % s["id"], {"status": "active"}))
        self.wait_status(c["id"], "completed", 20)
        self.assertEqual(recv.per_phone(), {p["phone"]: 1 for p in contacts(8)})
        self.assert_counts_exact(c["id"])

    def test_sandbox_fail_phones(self):
        s = self.sandbox_sender("sbx", fail_phones=["5511900000002"])
        c = self.campaign([s["id"]], contacts(3), start=True)
        self.wait_status(c["id"], "completed", 20)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual((c["counts"]["sent"], c["counts"]["failed"]), (2, 1), c["counts"])
        self.assertEqual(self.messages(c["id"], status="failed")[0]["phone"], "5511900000002")
        for m in self.messages(c["id"], status="sent"):
            self.assertTrue(m["provider_message_id"], m)
            self.assertLessEqual(epoch(m["queued_at"]), epoch(m["sent_at"]))

    def test_sandbox_receipts(self):
        s = self.sandbox_sender("sbx", delivered_after_ms=100, read_after_ms=100)
        c = self.campaign([s["id"]], contacts(2), start=True)

        def all_read():
            c2 = self.get_campaign(c["id"])
            return c2["counts"]["read"] == 2 and c2
        wait_until(all_read, 20, "both messages read")
        self.assert_counts_exact(c["id"])
        for m in self.messages(c["id"]):
            self.assertEqual(m["status"], "read")
            self.assertLessEqual(epoch(m["sent_at"]), epoch(m["delivered_at"]))
            self.assertLessEqual(epoch(m["delivered_at"]), epoch(m["read_at"]))


if __name__ == "__main__":
    unittest.main()
