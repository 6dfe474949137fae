"""Error answers and "a request that fails changes nothing" (docs/api.md: Errors)."""

import re
import select
import socket
import unittest

from harness import E2ETest, contacts


class TestErrors(E2ETest):
    def test_malformed_json_names_line_and_column(self):
        body = b'{"name": "x",\n "provider": }'
        st, resp = self.api.request("POST", "/api/v1/senders", raw_body=body, content_type="application/json")
        self.assertEqual(st, 400, resp)
        err = self.assertError(resp, "invalid_json")
        m = re.search(r"line (\d+),? column (\d+)", err["message"])
        self.assertIsNotNone(m, "message should say 'line L column C': %r" % err["message"])
        self.assertEqual(int(m.group(1)), 2, err["message"])
        self.assertGreater(int(m.group(2)), 0, err["message"])
        # other kinds of non-JSON
        for raw in (b"", b"not json", b'{"a": 1', b"[1, 2]", b'{"a": 1} trailing'):
            st, resp = self.api.request("POST", "/api/v1/campaigns", raw_body=raw, content_type="application/json")
            self.assertEqual(st, 400, "body %r: %r" % (raw, resp))
            self.assertIn(resp["error"]["code"], ("invalid_json", "bad_request"), resp)
        self.assertEqual(self.ok(self.api.get("/campaigns"))["campaigns"], [])

    def test_unknown_route_is_404(self):
        for path in ("/nope", "/campaigns/1/nope", "/campaigns/999999", "/senders/abc", "/lists/424242"):
            st, body = self.api.get(path)
            self.assertEqual(st, 404, "%s: %r" % (path, body))
            self.assertError(body, "not_found")
        st, _, payload = self.api.raw("GET", "/nope")
        self.assertEqual(st, 404, payload)
        st, body = self.api.post("/campaigns/999999/start")
        self.assertEqual(st, 404, body)
        self.assertError(body, "not_found")

    def test_pause_a_draft_is_invalid_transition(self):
        c = self.campaign([1], contacts(2))
        self.assertEqual(c["status"], "draft")
        st, body = self.api.post("/campaigns/%d/pause" % c["id"])
        self.assertEqual(st, 409, body)
        err = self.assertError(body, "invalid_transition", mentions=("draft",))
        self.assertIn("pause", err["message"], "the message names the target state")
        for action in ("resume",):
            st, body = self.api.post("/campaigns/%d/%s" % (c["id"], action))
            self.assertEqual(st, 409, body)
            self.assertError(body, "invalid_transition", mentions=("draft",))
        self.assertEqual(self.get_campaign(c["id"])["status"], "draft", "a refused transition moved the campaign")
        # final states accept nothing
        self.ok(self.api.post("/campaigns/%d/cancel" % c["id"]))
        for action in ("start", "pause", "resume", "cancel"):
            st, body = self.api.post("/campaigns/%d/%s" % (c["id"], action))
            self.assertEqual(st, 409, "%s on cancelled: %r" % (action, body))
            self.assertError(body, "invalid_transition", mentions=("cancelled",))
        self.assertEqual(self.get_campaign(c["id"])["status"], "cancelled")

    def test_failed_create_writes_nothing(self):
        self.campaign([1], contacts(1), name="keep")
        before = self.ok(self.api.get("/campaigns"))["campaigns"]
        lists_before = self.ok(self.api.get("/lists"))["lists"]
        cases = [
            ({"name": "bad", "sender_ids": [9999], "message": {"text": "x"}, "contacts": contacts(2)}, (400, 404)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "{{cidade}}"}, "contacts": contacts(2)}, (400,)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "x"}, "contacts": contacts(2),
              "interval": {"min_ms": 5000, "max_ms": 1000}}, (400,)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "x"}, "list_id": 4242}, (400, 404)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "x"}, "contacts": contacts(2),
              "window": {"timezone": "Mars/Olympus", "days": [1], "start": "08:00", "end": "18:00"}}, (400,)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "x"}, "contacts": contacts(2),
              "window": {"timezone": "UTC", "days": [7], "start": "08:00", "end": "18:00"}}, (400,)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "x"}, "contacts": contacts(2),
              "window": {"timezone": "UTC", "days": [1], "start": "25:00", "end": "18:00"}}, (400,)),
            ({"name": "bad", "sender_ids": [1], "message": {"text": "x"}, "contacts": contacts(2),
              "start_at": "tomorrow"}, (400,)),
            ({"name": "bad", "sender_ids": [], "message": {"text": "x"}, "contacts": contacts(2)}, (400,)),
            ({"name": "bad", "sender_ids": [1], "contacts": contacts(2)}, (400,)),
        ]
        for body, statuses in cases:
            st, resp = self.api.post("/campaigns", body)
            self.assertIn(st, statuses, "POST /campaigns %r -> %s %r" % (body, st, resp))
            self.assertIn("error", resp)
        self.assertEqual(self.ok(self.api.get("/campaigns"))["campaigns"], before, "a failed create left a campaign")
        self.assertEqual(self.ok(self.api.get("/lists"))["lists"], lists_before)
        # the campaign that existed before is untouched
        keep = [c for c in before if c["name"] == "keep"][0]
        self.assertEqual(len(self.messages(keep["id"])), 1)

    def test_bad_request_names_the_field(self):
        st, body = self.api.post("/campaigns", {"name": "x", "sender_ids": [1], "message": {"text": "x"},
                                                "contacts": contacts(1), "interval": {"min_ms": 5000, "max_ms": 1000}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("min_ms",))
        st, body = self.api.post("/campaigns", {"sender_ids": [1], "message": {"text": "x"}, "contacts": contacts(1)})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("name",))
        st, body = self.api.post("/campaigns", {"name": "x", "sender_ids": [1], "message": {"text": "x"},
                                                "contacts": contacts(1), "max_attempts": "five"})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("max_attempts",))
        st, body = self.api.post("/lists", {"name": 5})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("name",))

    def test_payload_too_large(self):
        """A JSON body over 16 MiB -> 413. Sent by hand so an early answer can be read."""
        size = 17 * 1024 * 1024
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            s.sendall(("POST /api/v1/campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (self.srv.token, size)).encode())
            chunk = b" " * (1024 * 1024)
            sent = 0
            while sent < size:
                r, _, _ = select.select([s], [], [], 0)
                if r:
                    break  # the server answered early
                try:
                    s.sendall(chunk[:min(len(chunk), size - sent)])
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
            data = b""
            s.settimeout(10)
            while b"\r\n\r\n" not in data:
                try:
                    got = s.recv(65536)
                except ConnectionResetError:
                    break
                if not got:
                    break
                data += got
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1."), "no HTTP answer to a 17 MiB body: %r" % data[:200])
        self.assertEqual(data.split(b" ")[1], b"413", data[:300])
        self.ok(self.api.get("/campaigns"))  # and the server still serves


if __name__ == "__main__":
    unittest.main()
