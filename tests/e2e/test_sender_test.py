"""POST /senders/{id}/test: one message outside any campaign, answered with
what the gateway said."""

import socket
import time
import unittest

from harness import E2ETest, wait_until


class TestSenderTest(E2ETest):
    deadline = 40.0

    def test_sandbox_and_webhook(self):
        body = self.ok(self.api.post("/senders/1/test", {"phone": "11999990001"}))
        self.assertEqual(body["outcome"], "sent", body)
        self.assertTrue(body["provider_message_id"], body)
        self.assertIsNone(body["error"])

        recv = self.receiver()
        s = self.webhook_sender(recv)
        body = self.ok(self.api.post("/senders/%d/test" % s["id"], {"phone": "+55 11 99999-0002", "text": "teste"}))
        self.assertEqual(body["outcome"], "sent", body)
        recs = recv.snapshot()
        self.assertEqual([(r["to"], r["body"]["text"]) for r in recs], [("5511999990002", "teste")])
        # a permanent refusal is reported, not hidden
        recv.fail_phones = {"5511999990003": 400}
        body = self.ok(self.api.post("/senders/%d/test" % s["id"], {"phone": "11999990003"}))
        self.assertEqual(body["outcome"], "failed", body)
        self.assertEqual(body["error"]["code"], "http_400", body)
        # no campaign or message was made
        self.assertEqual(self.ok(self.api.get("/campaigns"))["campaigns"], [])

    def test_bad_input(self):
        st, body = self.api.post("/senders/1/test", {})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("phone",))
        st, body = self.api.post("/senders/1/test", {"phone": "12"})
        self.assertEqual(st, 400, body)
        st, body = self.api.post("/senders/999/test", {"phone": "11999990001"})
        self.assertEqual(st, 404, body)

    def test_client_leaves_before_the_answer(self):
        recv = self.receiver()
        recv.delay_ms = 1500
        s = self.webhook_sender(recv)
        # send the request by hand and hang up before the gateway answers
        payload = b'{"phone": "11999990009"}'
        req = ("POST /api/v1/senders/%d/test HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (s["id"], self.srv.token, len(payload))).encode() + payload
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=5) as sock:
            sock.sendall(req)
            time.sleep(0.2)
        wait_until(lambda: recv.count() == 1, 5, "the gateway got the test message")
        time.sleep(1.8)  # the gateway's answer arrives after the client left
        # the server is fine and answers the next test
        self.assertEqual(self.ok(self.api.post("/senders/1/test", {"phone": "11999990001"}))["outcome"], "sent")


if __name__ == "__main__":
    unittest.main()
