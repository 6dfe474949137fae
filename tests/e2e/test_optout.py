"""Opt-out by keyword: a contact who answers "SAIR" (any case, any accent, inside
a sentence) is put on do_not_disturb at once, and every campaign of the
workspace skips that phone from then on; other answers restrict nothing."""

import unittest

from harness import E2ETest, wait_until

X = "5511987650001"


class TestOptOut(E2ETest):
    deadline = 40.0

    def test_reply_with_keyword_stops_other_campaigns(self):
        quitter = self.sandbox_sender("responde-sair", delivered_after_ms=20, reply_rate=1,
                                      reply_text="Quero saír da lista")
        # a slow campaign that will reach X in about 2 s
        slow = self.campaign([1], [{"phone": "5511987650002"}, {"phone": "5511987650003"},
                                   {"phone": X}], text="Oi", start=True, interval=(1000, 1000))
        fast = self.campaign([quitter["id"]], [{"phone": X}], text="Oi", start=True)
        self.wait_status(fast["id"], "completed", 10)
        wait_until(lambda: self.get_campaign(fast["id"])["counts"]["replied"] == 1, 10, "the reply")
        slow = self.wait_status(slow["id"], "completed", 15)
        msgs = {m["phone"]: m for m in self.ok(self.api.get("/campaigns/%d/messages" % slow["id"]))["messages"]}
        self.assertEqual(msgs[X]["status"], "skipped", msgs[X])
        self.assertEqual(msgs[X]["error"]["code"], "restricted", msgs[X])
        self.assertIn("do_not_disturb", msgs[X]["error"]["detail"])
        self.assertEqual(slow["counts"]["sent"], 2, slow["counts"])
        self.assert_counts_exact(slow["id"])
        # the old 8-digit form of the same mobile is restricted too
        later = self.campaign([1], [{"phone": X[:4] + X[5:]}], text="Oi", start=True)
        later = self.wait_status(later["id"], "completed", 10)
        self.assertEqual(later["counts"]["skipped"], 1, later["counts"])

    def test_other_answers_restrict_nothing(self):
        chatty = self.sandbox_sender("responde-outra-coisa", delivered_after_ms=20, reply_rate=1,
                                     reply_text="vou comparar os preços")
        c = self.campaign([chatty["id"]], [{"phone": X}], text="Oi", start=True)
        self.wait_status(c["id"], "completed", 10)
        wait_until(lambda: self.get_campaign(c["id"])["counts"]["replied"] == 1, 10, "the reply")
        again = self.campaign([1], [{"phone": X}], text="Oi", start=True)
        again = self.wait_status(again["id"], "completed", 10)
        self.assertEqual(again["counts"]["sent"], 1, again["counts"])


if __name__ == "__main__":
    unittest.main()
