"""Senders (docs/api.md: Senders)."""

import unittest

from harness import RFC3339_RE, E2ETest, contacts


class TestSenders(E2ETest):
    def assert_sender_shape(self, s):
        for k in ("id", "name", "provider", "config", "rate_per_second", "daily_limit", "status", "created_at"):
            self.assertIn(k, s, "sender lacks %s: %r" % (k, s))
        self.assertIsInstance(s["id"], int)
        self.assertIsInstance(s["config"], dict)
        self.assertRegex(s["created_at"], RFC3339_RE)

    def test_seed_sandbox_sender(self):
        senders = self.ok(self.api.get("/senders"))["senders"]
        sb = [s for s in senders if s["name"] == "sandbox"]
        self.assertEqual(len(sb), 1, senders)
        s = sb[0]
        self.assert_sender_shape(s)
        self.assertEqual(s["id"], 1)
        self.assertEqual(s["provider"], "sandbox")
        self.assertEqual(s["status"], "active")
        self.assertEqual(s["rate_per_second"], 0)
        self.assertEqual(s["daily_limit"], 0)
        self.assertEqual(self.ok(self.api.get("/senders/1")), s)
        self.assertStatus(self.api.get("/senders/999"), 404, "not_found")

    def test_create_sandbox_sender(self):
        s = self.ok(self.api.post("/senders", {"name": "sb2", "provider": "sandbox",
                                               "config": {"latency_ms": 5, "fail_phones": ["5511999990001"]},
                                               "rate_per_second": 2.5, "daily_limit": 100}), 201)
        self.assert_sender_shape(s)
        self.assertEqual(s["name"], "sb2")
        self.assertEqual(s["provider"], "sandbox")
        self.assertEqual(s["config"].get("latency_ms"), 5, s)
        self.assertEqual(s["config"].get("fail_phones"), ["5511999990001"], s)
        self.assertEqual(s["rate_per_second"], 2.5)
        self.assertEqual(s["daily_limit"], 100)
        self.assertEqual(s["status"], "active")
        self.assertNotEqual(s["id"], 1)
        self.assertEqual(self.ok(self.api.get("/senders/%d" % s["id"])), s)
        names = [x["name"] for x in self.ok(self.api.get("/senders"))["senders"]]
        self.assertIn("sb2", names)
        self.assertIn("sandbox", names)

    def test_create_webhook_sender_masks_headers(self):
        recv = self.receiver()
        s = self.ok(self.api.post("/senders", {"name": "wh", "provider": "webhook", "config": {
            "url": recv.url, "headers": {"X-Secret": "abc123", "Authorization": "Bearer s3cr3t"},
            "timeout_ms": 2000}}), 201)
        self.assert_sender_shape(s)
        self.assertEqual(s["provider"], "webhook")
        self.assertEqual(s["config"].get("url"), recv.url)
        self.assertEqual(s["config"].get("timeout_ms"), 2000)
        self.assertEqual(s["config"].get("headers"), {"X-Secret": "********", "Authorization": "********"})
        for got in (self.ok(self.api.get("/senders/%d" % s["id"])),
                    [x for x in self.ok(self.api.get("/senders"))["senders"] if x["id"] == s["id"]][0]):
            self.assertEqual(got["config"].get("headers"), {"X-Secret": "********", "Authorization": "********"})
            self.assertNotIn("abc123", repr(got))
            self.assertNotIn("s3cr3t", repr(got))
        # the real values do reach the gateway
        c = self.campaign([s["id"]], contacts(1), start=True)
        self.wait_status(c["id"], "completed", 20)
        recs = recv.snapshot()
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["headers"].get("x-secret"), "abc123")
        self.assertEqual(recs[0]["headers"].get("authorization"), "Bearer s3cr3t")

    def test_webhook_needs_url(self):
        before = self.ok(self.api.get("/senders"))["senders"]
        st, body = self.api.post("/senders", {"name": "nourl", "provider": "webhook", "config": {}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("url",))
        st, body = self.api.post("/senders", {"name": "nourl", "provider": "webhook"})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request")
        self.assertEqual(self.ok(self.api.get("/senders"))["senders"], before, "a refused create wrote something")

    def test_bad_provider_and_fields(self):
        st, body = self.api.post("/senders", {"name": "x", "provider": "carrier-pigeon", "config": {}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("provider",))
        st, body = self.api.post("/senders", {"provider": "sandbox", "config": {}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("name",))
        st, body = self.api.post("/senders", {"name": "x", "provider": "sandbox", "config": {},
                                              "rate_per_second": "fast"})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("rate_per_second",))

    def test_patch_merges_config(self):
        recv = self.receiver()
        s = self.ok(self.api.post("/senders", {"name": "wh", "provider": "webhook", "config": {
            "url": recv.url, "headers": {"X-Secret": "abc123"}, "timeout_ms": 2000}}), 201)
        sid = s["id"]
        p = self.ok(self.api.patch("/senders/%d" % sid, {"config": {"max_in_flight": 2}}))
        self.assertEqual(p["config"].get("url"), recv.url, "PATCH config must merge, not replace")
        self.assertEqual(p["config"].get("timeout_ms"), 2000)
        self.assertEqual(p["config"].get("max_in_flight"), 2)
        self.assertEqual(p["config"].get("headers"), {"X-Secret": "********"})
        p = self.ok(self.api.patch("/senders/%d" % sid, {"name": "wh-renamed", "rate_per_second": 0,
                                                         "daily_limit": 7}))
        self.assertEqual(p["name"], "wh-renamed")
        self.assertEqual(p["daily_limit"], 7)
        self.assertEqual(p["config"].get("max_in_flight"), 2)
        self.assertEqual(self.ok(self.api.get("/senders/%d" % sid)), p)
        # the secret survived the merges: it still reaches the gateway
        c = self.campaign([sid], contacts(1), start=True)
        self.wait_status(c["id"], "completed", 20)
        self.assertEqual([r["headers"].get("x-secret") for r in recv.snapshot()], ["abc123"])
        # status can be switched off and on
        self.assertEqual(self.ok(self.api.patch("/senders/%d" % sid, {"status": "disabled"}))["status"], "disabled")
        self.assertEqual(self.ok(self.api.get("/senders/%d" % sid))["status"], "disabled")
        self.assertEqual(self.ok(self.api.patch("/senders/%d" % sid, {"status": "active"}))["status"], "active")
        st, body = self.api.patch("/senders/%d" % sid, {"status": "sleepy"})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("status",))
        self.assertStatus(self.api.patch("/senders/9999", {"name": "x"}), 404, "not_found")

    def test_delete(self):
        s = self.sandbox_sender("tmp")
        self.assertStatus(self.api.delete("/senders/%d" % s["id"]), 204)
        self.assertStatus(self.api.get("/senders/%d" % s["id"]), 404, "not_found")
        self.assertStatus(self.api.delete("/senders/%d" % s["id"]), 404, "not_found")
        self.assertNotIn("tmp", [x["name"] for x in self.ok(self.api.get("/senders"))["senders"]])

    def test_delete_in_use_is_409(self):
        s = self.sandbox_sender("inuse")
        c = self.campaign([s["id"]], contacts(2))  # a draft is live
        self.assertEqual(c["status"], "draft")
        st, body = self.api.delete("/senders/%d" % s["id"])
        self.assertEqual(st, 409, body)
        self.assertError(body, "conflict")
        self.assertEqual(self.ok(self.api.get("/senders/%d" % s["id"]))["name"], "inuse", "a refused delete deleted")
        self.ok(self.api.post("/campaigns/%d/cancel" % c["id"]))
        self.assertStatus(self.api.delete("/senders/%d" % s["id"]), 204)

    def test_delete_after_completed_campaign(self):
        s = self.sandbox_sender("done")
        c = self.campaign([s["id"]], contacts(2), start=True)
        self.wait_status(c["id"], "completed", 20)
        self.assertStatus(self.api.delete("/senders/%d" % s["id"]), 204)


if __name__ == "__main__":
    unittest.main()
