"""Crash safety: SIGKILL mid-campaign loses nothing and resends nothing in doubt;
SIGTERM and restart keep every object and state."""

import os
import signal
import threading
import time
import unittest
from datetime import timedelta

from harness import FINAL_MSG, E2ETest, contacts, epoch, rfc3339, utcnow, wait_until

N = 200
KILL_AT = 40
IN_FLIGHT = 4


def max_overlap(recs):
    """Most requests the receiver held at once."""
    edges = []
    for r in recs:
        edges.append((r["t"], 1))
        edges.append((r.get("answered", r["t"]), -1))
    edges.sort(key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in edges:
        cur += d
        best = max(best, cur)
    return best


class TestCrash(E2ETest):
    deadline = 120.0

    def _run_and_kill(self, resend_unknown):
        """Starts a 200-message campaign and SIGKILLs the server from inside the
        receiver while it holds request #40 unanswered; restarts; waits for the end."""
        recv = self.receiver()
        recv.delay_ms = 20
        s = self.webhook_sender(recv, max_in_flight=IN_FLIGHT)
        killed = threading.Event()
        victim = {}
        srv = self.srv

        def hook(rec):
            if rec["n"] == KILL_AT and not killed.is_set():
                victim.update(rec)
                try:
                    os.kill(srv.proc.pid, signal.SIGKILL)
                finally:
                    killed.set()
                time.sleep(0.3)  # answer only once the process is gone
        recv.on_request = hook
        c = self.campaign([s["id"]], contacts(N), start=True, resend_unknown=resend_unknown)
        cid = c["id"]
        self.assertEqual(c["resend_unknown"], resend_unknown)
        self.assertTrue(killed.wait(60), "never reached %d requests (got %d)" % (KILL_AT, recv.count()))
        self.srv.kill9()  # reap it; checks its stderr for sanitizer reports
        t_restart = time.time()
        before = [r for r in recv.snapshot() if r["t"] < t_restart]
        self.srv.restart()
        self.api = self.srv.client()
        c = self.wait_status(cid, "completed", 60)
        after = [r for r in recv.snapshot() if r["t"] >= t_restart]
        return c, victim, before, after, recv

    def test_sigkill_loses_nothing_and_resends_nothing(self):
        c, victim, before, after, recv = self._run_and_kill(resend_unknown=False)
        cid = c["id"]
        c = self.assert_counts_exact(cid)
        msgs = self.messages(cid)
        self.assertEqual(len(msgs), N)
        by_status = {}
        for m in msgs:
            self.assertIn(m["status"], FINAL_MSG, "not final after completion: %r" % m)
            by_status.setdefault(m["status"], set()).add(m["phone"])
        sent = by_status.get("sent", set())
        unknown = by_status.get("unknown", set())
        # nothing lost
        self.assertEqual(len(sent) + len(unknown), N, {k: len(v) for k, v in by_status.items()})
        # no phone twice
        per_phone = recv.per_phone()
        twice = {p: n for p, n in per_phone.items() if n > 1}
        self.assertEqual(twice, {}, "phones received more than once (resend_unknown is false)")
        received = set(per_phone)
        # the request the receiver held when the server died is in doubt, and not resent
        self.assertEqual(by_status_of(msgs, victim["to"]), "unknown",
                         "the message in flight at SIGKILL must end unknown")
        self.assertGreaterEqual(len(unknown), 1)
        self.assertLessEqual(len(unknown), IN_FLIGHT, "more messages in doubt than requests in flight: %d" % len(unknown))
        # what the gateway got is what is sent, plus some of the unknown ones
        self.assertEqual(sent - received, set(), "messages marked sent that the gateway never got")
        self.assertEqual(received - sent - unknown, set())
        self.assertEqual({r["to"] for r in after} & unknown, set(), "an unknown message was resent")
        self.assertEqual(len(after), len(sent) - len({r["to"] for r in before} & sent))
        self.assertIn(victim["to"], {r["to"] for r in before})
        # events
        evs = self.assert_events_include(cid, "started", "recovered", "completed")
        rec = [e for e in evs if e["type"] == "recovered"][0]
        self.assertEqual(rec["detail"].get("unknown"), len(unknown), rec)
        self.assertEqual(rec["detail"].get("in_flight"), len(unknown), rec)
        self.assertEqual(rec["detail"].get("requeued"), 0, rec)
        # max_in_flight held after the restart
        self.assertLessEqual(max_overlap(after), IN_FLIGHT, "more than max_in_flight requests at once")

    def test_sigkill_with_resend_unknown(self):
        c, victim, before, after, recv = self._run_and_kill(resend_unknown=True)
        cid = c["id"]
        c = self.assert_counts_exact(cid)
        self.assertEqual(c["counts"]["sent"], N, c["counts"])
        per_phone = recv.per_phone()
        self.assertEqual(set(per_phone), {p["phone"] for p in contacts(N)})
        self.assertEqual(per_phone[victim["to"]], 2, "the message in doubt is sent again")
        twice = {p for p, n in per_phone.items() if n > 1}
        self.assertLessEqual(len(twice), IN_FLIGHT)
        self.assertTrue(all(n <= 2 for n in per_phone.values()), per_phone)
        keys = {r["headers"].get("idempotency-key") for r in recv.snapshot() if r["to"] == victim["to"]}
        self.assertEqual(len(keys), 1, "a resend keeps its idempotency key: %r" % keys)
        rec = [e for e in self.events(cid) if e["type"] == "recovered"]
        self.assertEqual(len(rec), 1)
        # docs/api.md: in_flight = messages found `sending` after the restart; with
        # resend_unknown every one of them is requeued and none becomes unknown
        d = rec[0]["detail"]
        self.assertGreaterEqual(d.get("in_flight"), max(1, len(twice)), rec[0])
        self.assertEqual(d.get("requeued"), d.get("in_flight"), rec[0])
        self.assertEqual(d.get("unknown"), 0, rec[0])

    def test_sigterm_mid_campaign_then_restart(self):
        recv = self.receiver()
        recv.delay_ms = 20
        s = self.webhook_sender(recv, max_in_flight=IN_FLIGHT)
        c = self.campaign([s["id"]], contacts(60), start=True)
        wait_until(lambda: recv.count() >= 20, 30, "20 sends")
        self.srv.stop()
        self.srv.restart()
        self.api = self.srv.client()
        c = self.wait_status(c["id"], "completed", 60)
        c = self.assert_counts_exact(c["id"])
        per_phone = recv.per_phone()
        self.assertEqual({p: n for p, n in per_phone.items() if n > 1}, {}, "phones received twice")
        self.assertEqual(c["counts"]["unknown"], 0, "a clean stop should leave no message in doubt")
        self.assertEqual(c["counts"]["sent"], 60)

    def test_restart_keeps_everything(self):
        recv = self.receiver()
        s = self.webhook_sender(recv, headers={"X-Secret": "k"})
        tok = self.ok(self.api.post("/tokens", {"name": "ci"}), 201)["token"]
        st, imp = self.api.request("POST", "/api/v1/contacts/import?list=l1", raw_body=b"phone,name,cidade\n"
                                   b"5511900000001,Ana,Recife\n5511900000002,Bruno,Natal\n", content_type="text/csv")
        self.assertEqual(st, 200, imp)
        draft = self.campaign([1], contacts(2, start=10), name="draft")
        paused = self.campaign([s["id"]], contacts(6, start=20), name="paused", start=True, interval=(300, 300))
        wait_until(lambda: recv.count() >= 2, 10, "two sends")
        self.ok(self.api.post("/campaigns/%d/pause" % paused["id"]))
        time.sleep(0.4)
        done = self.campaign([1], None, name="done", list_id=imp["list_id"], text="{{cidade}}", start=True)
        self.wait_status(done["id"], "completed", 15)
        snap = {p: self.ok(self.api.get(p)) for p in ("/senders", "/lists", "/campaigns",
                                                      "/campaigns/%d/messages" % done["id"],
                                                      "/campaigns/%d/messages" % paused["id"],
                                                      "/campaigns/%d/events" % done["id"])}
        n_recv = recv.count()
        self.srv.stop()
        self.srv.restart()
        self.api = self.srv.client()
        for p, want in snap.items():
            got = self.ok(self.api.get(p))
            if p == "/campaigns":
                for cw, cg in zip(want["campaigns"], got["campaigns"]):
                    cw, cg = dict(cw), dict(cg)
                    cw.pop("next_send_at", None)
                    cg.pop("next_send_at", None)
                    self.assertEqual(cg, cw)
                self.assertEqual(len(got["campaigns"]), len(want["campaigns"]))
            else:
                self.assertEqual(got, want, "GET %s changed across a restart" % p)
        self.ok(self.srv.client(token=tok).get("/senders"))
        time.sleep(1.0)
        self.assertEqual(recv.count(), n_recv, "a paused campaign sent after restart")
        self.assertEqual(self.get_campaign(paused["id"])["status"], "paused")
        self.assertEqual(self.get_campaign(draft["id"])["status"], "draft")
        self.ok(self.api.post("/campaigns/%d/resume" % paused["id"]))
        self.wait_status(paused["id"], "completed", 20)
        self.assert_counts_exact(paused["id"])
        self.assertEqual(len([r for r in recv.snapshot() if r["body"]["campaign_id"] == paused["id"]]), 6)
        self.assertEqual(recv.snapshot()[0]["headers"].get("x-secret"), "k")
        self.assertEqual(recv.snapshot()[-1]["headers"].get("x-secret"), "k", "secret header lost across restart")

    def test_schedule_survives_restart(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        start_at = rfc3339(utcnow() + timedelta(seconds=3))
        c = self.campaign([s["id"]], contacts(1), start=True, start_at=start_at)
        self.assertEqual(c["status"], "scheduled")
        self.srv.stop()
        self.srv.restart()
        self.api = self.srv.client()
        self.assertEqual(self.get_campaign(c["id"])["status"], "scheduled")
        wait_until(lambda: recv.count() >= 1, 15, "the scheduled send")
        self.assertGreaterEqual(recv.snapshot()[0]["t"], epoch(start_at) - 0.05)
        self.assertLessEqual(recv.snapshot()[0]["t"], epoch(start_at) + 1.0)
        self.wait_status(c["id"], "completed", 15)
        self.assert_counts_exact(c["id"])


def by_status_of(msgs, phone):
    st = [m["status"] for m in msgs if m["phone"] == phone]
    return st[0] if len(st) == 1 else st


if __name__ == "__main__":
    unittest.main()
