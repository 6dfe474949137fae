"""Workspace isolation: a token sees only its own workspace. Another
workspace's ids answer 404, exactly like ids that do not exist, for reads and
for actions (the seed system let one tenant pause another's campaigns)."""

import unittest

from harness import E2ETest, contacts


class TestIsolation(E2ETest):
    deadline = 60.0

    def test_other_workspace_ids_are_404(self):
        # workspace 1 (the operator's) opens a workspace for a client
        ws = self.ok(self.api.post("/workspaces", {"name": "Loja Recife"}), 201)
        self.assertEqual(ws["name"], "Loja Recife")
        self.assertGreater(ws["id"], 1)
        other = self.srv.client(token=ws["token"])
        # the new workspace has its own sandbox sender, not workspace 1's
        mine = self.ok(self.api.get("/senders"))["senders"]
        theirs = self.ok(other.get("/senders"))["senders"]
        self.assertEqual([s["name"] for s in theirs], ["sandbox"])
        self.assertEqual({s["id"] for s in mine} & {s["id"] for s in theirs}, set())

        # a running campaign in workspace 1
        c = self.campaign([mine[0]["id"]], contacts(20), start=True, interval=(200, 200))
        cid = c["id"]
        for path in ("/campaigns/%d" % cid, "/campaigns/%d/messages" % cid,
                     "/campaigns/%d/events" % cid, "/campaigns/%d/export.csv" % cid,
                     "/senders/%d" % mine[0]["id"]):
            st, body = other.get(path)
            self.assertEqual(st, 404, (path, body))
            self.assertError(body, "not_found")
        for verb in ("pause", "cancel", "resume", "start"):
            st, body = other.post("/campaigns/%d/%s" % (cid, verb))
            self.assertEqual(st, 404, (verb, body))
        st, body = other.patch("/campaigns/%d" % cid, {"name": "x"})
        self.assertEqual(st, 404, body)
        st, body = other.patch("/senders/%d" % mine[0]["id"], {"status": "disabled"})
        self.assertEqual(st, 404, body)
        st, body = other.delete("/senders/%d" % mine[0]["id"])
        self.assertEqual(st, 404, body)
        # it cannot use workspace 1's sender in its own campaign either
        st, body = other.post("/campaigns", {"name": "x", "sender_ids": [mine[0]["id"]],
                                             "contacts": contacts(1), "message": {"text": "oi"}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("sender",))
        # nothing of workspace 1 is listed for it
        self.assertEqual(self.ok(other.get("/campaigns"))["campaigns"], [])
        self.assertEqual(self.ok(other.get("/lists"))["lists"], [])
        # workspace 1's campaign went on untouched
        self.assertEqual(self.get_campaign(cid)["status"], "running")
        # only workspace 1 may open workspaces
        st, body = other.post("/workspaces", {"name": "nested"})
        self.assertEqual(st, 403, body)
        self.assertError(body, "forbidden")
        # and workspace 1 cannot see the client's campaigns
        oc = self.ok(other.post("/campaigns", {"name": "deles", "sender_ids": [theirs[0]["id"]],
                                               "contacts": contacts(2), "message": {"text": "oi"}}), 201)
        st, body = self.api.get("/campaigns/%d" % oc["id"])
        self.assertEqual(st, 404, body)
        self.assertNotIn(oc["id"], [x["id"] for x in self.ok(self.api.get("/campaigns"))["campaigns"]])


if __name__ == "__main__":
    unittest.main()
