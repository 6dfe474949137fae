"""CLI smoke: `disparo version` and `disparo campaign list` against a live server.
Tolerant of output format; strict about exit codes."""

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

    def test_unknown_command_fails(self):
        rc, out, err = self.cli("no-such-command")
        self.assertNotEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
