"""The server under less polite use: keep-alive, concurrent requests, large
inputs, and SIGKILL right after (or during) a write."""

import http.client
import json
import threading
import time
import unittest

from harness import E2ETest, contacts


class TestRobustness(E2ETest):
    deadline = 90.0

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        try:
            hdrs = {"Authorization": "Bearer " + self.srv.token, "Content-Type": "application/json"}
            for i in range(5):
                conn.request("POST", "/api/v1/lists", body=json.dumps({"name": "ka%d" % i}), headers=hdrs)
                r = conn.getresponse()
                body = json.loads(r.read())
                self.assertEqual(r.status, 201, body)
                conn.request("GET", "/api/v1/lists/%d" % body["id"], headers=hdrs)
                r = conn.getresponse()
                self.assertEqual(r.status, 200)
                self.assertEqual(json.loads(r.read())["name"], "ka%d" % i)
            # an error answer on the same connection, then a good one
            conn.request("POST", "/api/v1/lists", body=b"{oops", headers=hdrs)
            r = conn.getresponse()
            self.assertEqual(r.status, 400)
            r.read()
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        finally:
            conn.close()

    def test_concurrent_creates(self):
        results = []
        lock = threading.Lock()

        def worker(k):
            api = self.srv.client()
            for j in range(5):
                st, body = api.post("/campaigns", {"name": "cc-%d-%d" % (k, j), "sender_ids": [1],
                                                   "message": {"text": "x"}, "contacts": contacts(20, start=k * 100)})
                with lock:
                    results.append((st, body))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 40)
        for st, body in results:
            self.assertEqual(st, 201, body)
        ids = [b["id"] for _, b in results]
        self.assertEqual(len(set(ids)), 40, "campaign ids repeat")
        listed = self.ok(self.api.get("/campaigns"))["campaigns"]
        self.assertEqual(sorted(c["id"] for c in listed), sorted(ids))
        self.assertTrue(all(c["counts"]["total"] == 20 for c in listed))

    def test_large_import_and_campaign(self):
        n = 5000
        csv_text = "phone,name,cidade\n" + "".join("55119%08d,Nome %d,Cidade %d\n" % (i, i, i % 50) for i in range(n))
        t0 = time.monotonic()
        st, r = self.api.request("POST", "/api/v1/contacts/import?list=big", raw_body=csv_text.encode(),
                                 content_type="text/csv", timeout=60)
        self.assertEqual(st, 200, r)
        self.assertEqual((r["imported"], r["invalid_count"], r["duplicates"]), (n, 0, 0))
        self.assertLess(time.monotonic() - t0, 20, "importing %d rows took %.1f s" % (n, time.monotonic() - t0))
        self.assertEqual(self.ok(self.api.get("/lists/%d" % r["list_id"]))["members"], n)
        t0 = time.monotonic()
        c = self.campaign([1], None, text="{{name}} {{cidade}}", list_id=r["list_id"])
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(c["counts"]["total"], n)
        ids, cursor, pages = [], None, 0
        while True:
            body = self.ok(self.api.get("/campaigns/%d/messages?limit=1000%s" % (
                c["id"], "&cursor=" + cursor if cursor else "")))
            ids += [m["id"] for m in body["messages"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(ids), n)
        self.assertEqual(len(set(ids)), n)
        self.assertEqual(ids, sorted(ids))
        self.assertLessEqual(pages, 6)
        st, _, payload = self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % c["id"], timeout=60)
        self.assertEqual(st, 200)
        self.assertEqual(payload.decode().strip().count("\n"), n, "export rows")
        # a big inline audience too
        big = self.campaign([1], contacts(3000, prefix="55219000"), text="x")
        self.assertEqual(big["counts"]["total"], 3000)

    def test_sigkill_after_201_loses_nothing(self):
        c = self.campaign([1], contacts(500), name="durable")
        s = self.sandbox_sender("durable-sender")
        lst = self.ok(self.api.post("/lists", {"name": "durable-list"}), 201)
        self.srv.kill9()
        self.srv.restart()
        self.api = self.srv.client()
        got = self.get_campaign(c["id"])
        self.assertEqual((got["name"], got["status"], got["counts"]["total"]), ("durable", "draft", 500))
        self.assertEqual(len(self.messages(c["id"])), 500)
        self.assertEqual(self.ok(self.api.get("/senders/%d" % s["id"]))["name"], "durable-sender")
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lst["id"]))["name"], "durable-list")
        self.assert_counts_exact(c["id"])

    def test_sigkill_during_import_is_all_or_nothing(self):
        """Kills the server at a few points of a 20,000-row import; after each restart
        the list and its contacts are all there or not there at all."""
        n = 20000
        interrupted = 0
        for rnd, delay in enumerate((0.05, 0.15, 0.3)):
            name = "atomic%d" % rnd
            # valid Brazilian mobiles: 55 + DDD 11/21/31 + 9 + 8 digits
            csv_text = ("phone,name\n" + "".join("55%d19%08d,N%d\n" % (rnd + 1, i, i) for i in range(n))).encode()
            outcome = {}

            def post():
                try:
                    outcome["resp"] = self.srv.client().request("POST", "/api/v1/contacts/import?list=" + name,
                                                                raw_body=csv_text, content_type="text/csv",
                                                                timeout=30)
                except Exception as e:  # the server died under it
                    outcome["exc"] = e
            t = threading.Thread(target=post)
            t.start()
            time.sleep(delay)
            self.srv.kill9()
            t.join(30)
            self.srv.restart()
            self.api = self.srv.client()
            done = "resp" in outcome and outcome["resp"][0] == 200
            interrupted += not done
            lists = {l["name"]: l["members"] for l in self.ok(self.api.get("/lists"))["lists"]}
            if done:
                self.assertEqual(lists.get(name), n, "an acknowledged import was lost")
            else:
                self.assertIn(lists.get(name), (None, n), "an interrupted import left part of itself behind")
            # the contacts too: importing the file again finds all of them or none
            st, r = self.api.request("POST", "/api/v1/contacts/import?list=again%d" % rnd, raw_body=csv_text,
                                     content_type="text/csv", timeout=60)
            self.assertEqual(st, 200, r)
            self.assertIn((r["imported"], r["updated"]), ((n, 0), (0, n)),
                          "contacts of an interrupted import were half-written (kill after %.2f s)" % delay)
            if lists.get(name) == n:
                self.assertEqual(r["updated"], n, "the list exists but its contacts do not")
        self.interrupted_imports = interrupted  # for whoever debugs timing

if __name__ == "__main__":
    unittest.main()
