"""CLI smoke: `disparo version` and `disparo campaign list` against a live server.
Tolerant of output format; strict about exit codes."""

import os
import subprocess
import unittest

from harness import E2ETest, contacts, disparo_bin


class TestCLI(E2ETest):
    def cli(self, *args, timeout=20):
        p = subprocess.run([disparo_bin()] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            self.assertNotIn(mark, err, "sanitizer report from `disparo %s`:\n%s" % (" ".join(args), err))
        return p.returncode, out, err

    def test_version(self):
        rc, out, err = self.cli("version")
        self.assertEqual(rc, 0, "stdout=%r stderr=%r" % (out, err))
        version = self.ok(self.srv.client(token=None).request("GET", "/healthz"))["version"]
        self.assertIn(version, out, "`disparo version` should print the version /healthz reports")

    def test_campaign_list(self):
        c = self.campaign([1], contacts(1), name="cli-smoke-campaign")
        rc, out, err = self.cli("campaign", "list", "--url", self.srv.base, "--token", self.srv.token)
        self.assertEqual(rc, 0, "stdout=%r stderr=%r" % (out, err))
        self.assertIn("cli-smoke-campaign", out, "the campaign's name should be listed: %r" % out)
        rc, out, err = self.cli("campaign", "list", "--url", self.srv.base, "--token", "dp_wrong")
        self.assertNotEqual(rc, 0, "a refused token must fail the command: %r" % out)
        self.assertEqual(c["status"], "draft")

    def test_contacts_and_lists(self):
        from test_lists import make_xlsx
        conn = ("--url", self.srv.base, "--token", self.srv.token)
        path = os.path.join(self.srv.data, "contatos.xlsx")
        with open(path, "wb") as f:
            f.write(make_xlsx([(1, ["Name", "Celular"]), (2, ["Ana Lima", "11 94444-0001"]),
                               (3, ["Beto", "11 94444-0002"]), (4, ["Ruim", "123"])]))
        rc, out, err = self.cli("contacts", "import", path, "--list", "planilha", "--phone-column", "celular", *conn)
        self.assertEqual(rc, 0, "stdout=%r stderr=%r" % (out, err))
        self.assertRegex(out, r"imported\s*:?\s*2")
        self.assertIn("line 4:", out)
        lid = self.ok(self.api.get("/lists"))["lists"][0]["id"]
        rc, out, err = self.cli("contacts", "search", "lima", *conn)
        self.assertEqual(rc, 0, err)
        self.assertIn("5511944440001", out)
        self.assertNotIn("5511944440002", out)
        rc, out, err = self.cli("list", "rename", str(lid), "clientes", *conn)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lid))["name"], "clientes")
        rc, out, err = self.cli("list", "add", str(lid), "11 94444-0003", "abc", *conn)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lid))["members"], 3)
        rc, out, err = self.cli("list", "remove", str(lid), "5511944440002", *conn)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("list", "members", str(lid), "--limit", "1", *conn)
        self.assertEqual(rc, 0, err)
        self.assertIn("5511944440001", out)
        self.assertIn("--after", out, "a partial page says how to go on: %r" % out)
        c = self.campaign([1], None, text="oi", list_id=lid, start=True)
        self.wait_status(c["id"], "completed", 20)
        rc, out, err = self.cli("contacts", "show", "5511944440001", *conn)
        self.assertEqual(rc, 0, err)
        self.assertIn("Ana Lima", out)
        self.assertIn("clientes", out)
        self.assertIn("sent", out)
        rc, out, err = self.cli("list", "delete", str(lid), *conn)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.ok(self.api.get("/lists"))["lists"], [])
        rc, out, err = self.cli("contacts", "show", "5599", *conn)
        self.assertNotEqual(rc, 0)

    def test_unknown_country_code_stops_serve(self):
        data = os.path.join(self.srv.data, "cc-test")
        # a valid code (55) is what every other test starts with
        for cc in ("999", "abc", "800"):
            rc, out, err = self.cli("serve", "--listen", "127.0.0.1:1", "--data", data, "--country-code", cc)
            self.assertEqual(rc, 2, "--country-code %s: stdout=%r stderr=%r" % (cc, out, err))
            self.assertIn("--country-code %s" % cc, err)
            self.assertIn("unknown default country code", err)

    def test_unknown_command_fails(self):
        rc, out, err = self.cli("no-such-command")
        self.assertNotEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
