"""Replies and receipts from the sandbox gateway: delivered/read receipts move
messages forward, and simulated answers are attributed to the message they
quote, counted once per message as `replied`."""

import unittest

from harness import E2ETest, contacts, wait_until


class TestReplies(E2ETest):
    deadline = 60.0

    def test_receipts_and_replies_are_counted(self):
        s = self.sandbox_sender("com-respostas", delivered_after_ms=50, read_after_ms=50,
                                reply_rate=1, reply_text="SAIR")
        c = self.campaign([s["id"]], contacts(6), start=True, interval=(0, 0))
        cid = c["id"]
        self.wait_status(cid, "completed", 20)

        def all_replied():
            return self.get_campaign(cid)["counts"]["replied"] == 6
        wait_until(all_replied, 10, "every contact's reply")
        c = self.assert_counts_exact(cid)
        self.assertEqual(c["counts"]["read"], 6, c["counts"])
        self.assertEqual(c["counts"]["clicked"], 0, c["counts"])
        msgs = self.ok(self.api.get("/campaigns/%d/messages" % cid))["messages"]
        for m in msgs:
            self.assertEqual(m["status"], "read", m)
            self.assertIsNotNone(m["delivered_at"], m)
            self.assertIsNotNone(m["read_at"], m)
            self.assertEqual(m["reply"]["text"], "SAIR", m)
            self.assertIsNone(m["reply"]["button_id"], m)
            self.assertIsNotNone(m["reply"]["at"], m)

    def test_no_reply_without_reply_rate(self):
        s = self.sandbox_sender("mudo")
        c = self.campaign([s["id"]], contacts(3), start=True)
        c = self.wait_status(c["id"], "completed", 20)
        self.assertEqual((c["counts"]["replied"], c["counts"]["clicked"]), (0, 0))
        for m in self.ok(self.api.get("/campaigns/%d/messages" % c["id"]))["messages"]:
            self.assertIsNone(m["reply"], m)


if __name__ == "__main__":
    unittest.main()
