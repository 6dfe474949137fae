"""Tokens and authentication (docs/api.md: Health, Tokens, Errors)."""

import os
import stat
import unittest

from harness import Client, E2ETest


class TestAuth(E2ETest):
    def test_healthz_needs_no_token(self):
        st, body = self.srv.client(token=None).request("GET", "/healthz")
        self.assertEqual(st, 200, body)
        self.assertEqual(body.get("status"), "ok", body)
        self.assertIsInstance(body.get("version"), str)
        self.assertRegex(body["version"], r"^\d+\.\d+\.\d+")

    def test_no_token_is_401_with_error_body(self):
        anon = self.srv.client(token=None)
        for path in ("/campaigns", "/senders", "/lists", "/campaigns/1"):
            st, body = anon.get(path)
            self.assertEqual(st, 401, "GET %s without a token: %r" % (path, body))
            self.assertError(body, "unauthorized")
        st, body = anon.post("/senders", {"name": "x", "provider": "sandbox", "config": {}})
        self.assertEqual(st, 401, body)
        self.assertError(body, "unauthorized")
        # and the refused POST created nothing
        senders = self.ok(self.api.get("/senders"))["senders"]
        self.assertNotIn("x", [s["name"] for s in senders])

    def test_bad_token_is_401(self):
        for tok in ("dp_nope", self.srv.token + "x", self.srv.token[:-1], ""):
            st, body = self.srv.client(token=tok).get("/senders")
            self.assertEqual(st, 401, "token %r: %r" % (tok, body))
            self.assertError(body, "unauthorized")
        # a scheme other than Bearer is no token at all
        st, _, payload = Client(self.srv.base).raw("GET", "/api/v1/senders", token=None,
                                                   headers={"Authorization": "Basic " + self.srv.token})
        self.assertEqual(st, 401, payload)

    def test_admin_token_file_and_stdout(self):
        path = os.path.join(self.srv.data, "admin.token")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, "admin.token mode is %o" % mode)
        self.assertTrue(self.srv.token, "admin.token is empty")
        self.assertTrue(os.path.exists(os.path.join(self.srv.data, "disparo.db")), "no disparo.db in data dir")
        # the admin token works
        self.ok(self.api.get("/senders"))
        tok = self.srv.token
        self.srv.stop()  # stdout may be block-buffered: look after exit
        self.assertIn(tok, self.srv.stdout_text(), "the admin token is printed on first start")
        # restart: same token still valid, file unchanged, not printed again
        self.srv.restart()
        self.assertEqual(self.srv.token, tok, "admin.token changed on restart")
        self.ok(self.srv.client().get("/senders"))
        self.srv.stop()
        self.assertEqual(self.srv.stdout_text().count(tok), 1, "the admin token must be printed only once")

    def test_created_token_works_and_survives_restart(self):
        body = self.ok(self.api.post("/tokens", {"name": "ci"}), 201)
        self.assertEqual(body.get("name"), "ci", body)
        self.assertIsInstance(body.get("id"), int, body)
        self.assertIsInstance(body.get("token"), str, body)
        self.assertTrue(body["token"].startswith("dp_"), body)
        self.assertNotEqual(body["token"], self.srv.token)
        other = self.srv.client(token=body["token"])
        senders = self.ok(other.get("/senders"))["senders"]
        self.assertIn("sandbox", [s["name"] for s in senders], "same workspace sees the sandbox sender")
        # a second token is distinct
        body2 = self.ok(self.api.post("/tokens", {"name": "ci2"}), 201)
        self.assertNotEqual(body2["token"], body["token"])
        self.assertNotEqual(body2["id"], body["id"])
        # the server keeps only a hash: the token text is not in the database file
        self.srv.stop()
        for fn in os.listdir(self.srv.data):
            with open(os.path.join(self.srv.data, fn), "rb") as f:
                self.assertNotIn(body["token"].encode(), f.read(), "the plain token is stored in " + fn)
        self.srv.restart()
        self.ok(self.srv.client(token=body["token"]).get("/senders"))

    def test_token_needs_a_name(self):
        st, body = self.api.post("/tokens", {})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("name",))


if __name__ == "__main__":
    unittest.main()
