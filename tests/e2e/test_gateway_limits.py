"""The gateways' limits end to end, measured where they matter: at a fake
gateway on 127.0.0.1 that records when each request arrives.

- per-recipient spacing: one sender never writes to one phone twice within 6 s,
  across campaigns, and the campaign holding the deferred message goes on
  with its others meanwhile;
- a Cloud API send that times out is `unknown` and never resent, unless the
  campaign has resend_unknown;
- rate_per_second on a gateway sender holds in every one-second window;
- a new Cloud API sender gets Meta's default 80 messages per second."""

import json
import re
import time
import unittest

from harness import E2ETest, FakeServer, contacts, read_body, send_json, wait_until

PNID = "1098765432"
TOKEN = "EAAG-limits-token"
INSTANCE = "limits"
APIKEY = "evo-limits-key"
PAIR_GAP = 6.0
# A send is timed at the fake, after disparo's commit and the HTTP exchange:
# one arrival may lag its claim by a few ms more than another's. The limits
# are checked with this much slack, far less than any real breach would show.
JITTER = 0.05


class FakeGateway(FakeServer):
    """Plays Meta's Graph API (POST /v23.0/{PNID}/messages, GET /v23.0/{PNID})
    and an Evolution API instance (POST /message/sendText/{instance}, GET
    /instance/connectionState/{instance}). `hang_first` {phone: seconds}: the
    first send to that phone is answered only after that long."""

    def __init__(self):
        # requests: the sends only, {t, to, via, n, id}
        self.problems = []
        self.hang_first = {}
        self.n = 0
        super().__init__()

    def handle(self, h, method):
        if method == "GET":
            if h.path.startswith("/v23.0/%s?" % PNID) or h.path == "/v23.0/%s" % PNID:
                return send_json(h, 200, {"quality_rating": "GREEN", "status": "CONNECTED", "id": PNID})
            if h.path == "/instance/connectionState/" + INSTANCE:
                return send_json(h, 200, {"instance": {"instanceName": INSTANCE, "state": "open"}})
            return send_json(h, 404, {"error": "no route " + h.path})
        t = time.monotonic()
        try:
            body = json.loads(read_body(h) or b"null")
        except ValueError:
            body = None
        if h.path == "/v23.0/%s/messages" % PNID:
            return self._graph(h, t, body)
        if h.path == "/message/sendText/" + INSTANCE:
            return self._evolution(h, t, body)
        send_json(h, 404, {"error": "no route " + h.path})

    def _record(self, t, to, via):
        with self.lock:
            self.n += 1
            first = not any(s["to"] == to for s in self.requests)
            rec = {"t": t, "to": to, "via": via, "n": self.n}
            self.requests.append(rec)
            hang = self.hang_first.get(to, 0) if first else 0
        return rec, hang

    def _graph(self, h, t, body):
        if h.headers.get("Authorization") != "Bearer " + TOKEN:
            self.problems.append("graph: Authorization %r" % h.headers.get("Authorization"))
            return send_json(h, 401, {"error": {"code": 190, "message": "Invalid OAuth access token"}})
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp" or \
                body.get("type") != "text" or not isinstance(body.get("text"), dict) or \
                not re.match(r"^\d{10,15}$", str(body.get("to"))):
            self.problems.append("graph: body %r" % (body,))
            return send_json(h, 400, {"error": {"code": 100, "message": "Invalid parameter"}})
        rec, hang = self._record(t, body["to"], "graph")
        if hang:
            time.sleep(hang)
        wamid = "wamid.HBgN%s%04d" % (body["to"], rec["n"])
        rec["id"] = wamid
        send_json(h, 200, {"messaging_product": "whatsapp",
                           "contacts": [{"input": body["to"], "wa_id": body["to"]}], "messages": [{"id": wamid}]})

    def _evolution(self, h, t, body):
        if h.headers.get("apikey") != APIKEY:
            self.problems.append("evolution: apikey %r" % h.headers.get("apikey"))
            return send_json(h, 401, {"status": 401, "error": "Unauthorized",
                                      "response": {"message": "Unauthorized"}})
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or \
                not re.match(r"^\d{10,15}$", str(body.get("number"))):
            self.problems.append("evolution: body %r" % (body,))
            return send_json(h, 400, {"status": 400, "error": "Bad Request",
                                      "response": {"message": ["bad body"]}})
        rec, _ = self._record(t, body["number"], "evolution")
        rec["id"] = "BAE5%08X" % rec["n"]
        send_json(h, 201, {"key": {"remoteJid": body["number"] + "@s.whatsapp.net", "fromMe": True, "id": rec["id"]},
                           "status": "PENDING", "message": {"conversation": body["text"]},
                           "messageTimestamp": int(time.time())})

    def times(self, to):
        return [s["t"] for s in self.snapshot() if s["to"] == to]


class TestGatewayLimits(E2ETest):
    deadline = 45.0

    def setUp(self):
        super().setUp()
        self.fake = FakeGateway()
        self.addCleanup(self.fake.close)

    def cloud_sender(self, **config):
        cfg = {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": "limits-app-secret",
               "base_url": self.fake.base_url}
        cfg.update(config)
        return self.ok(self.api.post("/senders", {"name": "meta-%d" % time.time_ns(), "provider": "cloudapi",
                                                  "config": cfg}), 201)

    def test_pair_spacing_across_campaigns(self):
        s = self.cloud_sender()
        shared = "5511977770000"
        a_people = [{"phone": shared, "name": "Shared"}] + contacts(4, prefix="55119100")
        b_people = [{"phone": shared, "name": "Shared"}] + contacts(4, prefix="55119200")
        ca = self.campaign([s["id"]], a_people, name="A", start=True)
        cb = self.campaign([s["id"]], b_people, name="B", start=True)
        others = [p["phone"] for p in a_people[1:] + b_people[1:]]
        # every other phone goes out at once, while one campaign's copy for the shared phone waits
        wait_until(lambda: all(self.fake.times(p) for p in others), 5, "the 8 other sends")
        self.assertEqual(len(self.fake.times(shared)), 1, "the shared phone got one message so far")
        box = {}

        def one_waits():
            box["counts"] = counts = [self.get_campaign(c["id"])["counts"] for c in (ca, cb)]
            return sorted((c["sent"], c["queued"]) for c in counts) == [(4, 1), (5, 0)]
        # (the answers to the last sends may still be on their way)
        wait_until(one_waits, 3, "one campaign done, the other sent 4 and holds the deferred message")
        self.assertLess(time.monotonic() - self.fake.times(shared)[0], PAIR_GAP - 1,
                        "checked well before the gap ended")
        for c in (ca, cb):
            self.wait_status(c["id"], "completed", 12)
        t_shared = self.fake.times(shared)
        self.assertEqual(len(t_shared), 2, "one message to the shared phone per campaign")
        gap = t_shared[1] - t_shared[0]
        self.assertGreaterEqual(gap, PAIR_GAP - JITTER, "two messages to one phone %.3f s apart" % gap)
        self.assertLess(gap, PAIR_GAP + 2.0, "the deferred message went out late (%.3f s)" % gap)
        t_others = [t for p in others for t in self.fake.times(p)]
        self.assertEqual(len(t_others), 8)
        self.assertLess(max(t_others) - t_shared[0], 2.0, "other phones were held up behind the deferred one")
        for c in (ca, cb):
            for m in self.messages(c["id"]):
                self.assertEqual((m["status"], m["attempts"]), ("sent", 1), m)
            self.assert_counts_exact(c["id"])
        self.assertEqual(self.fake.problems, [])

    # Regression: the per-recipient spacing used to live only in memory, so a
    # restart within 6 s of a send let the same sender write to the same phone
    # again at once (~0.15 s apart). The claim is now on disk too and reloaded.
    def test_pair_spacing_survives_a_restart(self):
        s = self.cloud_sender()
        x = "5511955550001"
        c = self.campaign([s["id"]], [{"phone": x, "name": "X"}], start=True)
        self.wait_status(c["id"], "completed", 10)
        self.srv.stop()
        self.srv.restart()
        self.api = self.srv.client()
        c = self.campaign([s["id"]], [{"phone": x, "name": "X"}], start=True)
        self.wait_status(c["id"], "completed", 15)
        t = self.fake.times(x)
        self.assertEqual(len(t), 2)
        self.assertGreaterEqual(t[1] - t[0], PAIR_GAP - JITTER,
                                "after a restart the same phone got a second message %.2f s later" % (t[1] - t[0]))

    def test_timeout_is_unknown_unless_resend_unknown(self):
        s = self.cloud_sender(timeout_ms=500)
        x, y = "5511966660001", "5511966660002"
        self.fake.hang_first = {x: 1.5, y: 1.5}       # well past timeout_ms
        ca = self.campaign([s["id"]], [{"phone": x, "name": "X"}] + contacts(1, prefix="55119300"),
                           name="no-resend", start=True)
        cb = self.campaign([s["id"]], [{"phone": y, "name": "Y"}] + contacts(1, prefix="55119400"),
                           name="resend", resend_unknown=True, start=True)
        c = self.wait_status(ca["id"], "completed", 10)
        self.assertEqual((c["counts"]["unknown"], c["counts"]["sent"]), (1, 1), c["counts"])
        m = self.messages_by_phone(ca["id"])[x]
        self.assertEqual((m["status"], m["attempts"]), ("unknown", 1), m)
        self.assertEqual((m["error"] or {}).get("code"), "timeout", m)
        self.assertIsNone(m["provider_message_id"])

        # the resend_unknown campaign sends it again (not before the 6 s pair gap) and it ends sent
        c = self.wait_status(cb["id"], "completed", 15)
        self.assertEqual(c["counts"]["sent"], 2, c["counts"])
        m = self.messages_by_phone(cb["id"])[y]
        self.assertEqual((m["status"], m["attempts"]), ("sent", 2), m)
        t_y = self.fake.times(y)
        self.assertEqual(len(t_y), 2, "the timed-out send was retried once")
        self.assertGreaterEqual(t_y[1] - t_y[0], PAIR_GAP - JITTER)
        self.assertTrue(m["provider_message_id"].startswith("wamid."), m)
        # by now a resend of x would have been allowed: there was none
        self.assertEqual(len(self.fake.times(x)), 1, "an unknown message is never resent")
        self.assertEqual(self.messages_by_phone(ca["id"])[x]["status"], "unknown")
        for cid in (ca["id"], cb["id"]):
            self.assert_counts_exact(cid)
        self.assertEqual(self.fake.problems, [])

    def test_rate_per_second_on_a_gateway_sender(self):
        s = self.ok(self.api.post("/senders", {
            "name": "evo", "provider": "evolution", "rate_per_second": 5,
            "config": {"base_url": self.fake.base_url, "instance": INSTANCE, "apikey": APIKEY}}), 201)
        self.assertEqual(s["rate_per_second"], 5)
        a = self.campaign([s["id"]], contacts(8, prefix="55119500"), name="A", start=True)
        b = self.campaign([s["id"]], contacts(7, prefix="55119600"), name="B", start=True)
        for c in (a, b):
            self.wait_status(c["id"], "completed", 15)
        sends = sorted(self.fake.snapshot(), key=lambda r: r["t"])
        self.assertEqual(len(sends), 15)
        self.assertEqual(len({r["to"] for r in sends}), 15)
        t = [r["t"] for r in sends]
        # no one-second window holds more than 5: the 1st and the 6th of any six are >= 1 s apart
        worst = min(t[i + 5] - t[i] for i in range(len(t) - 5))
        self.assertGreaterEqual(worst, 1.0 - JITTER, "6 sends within %.3f s at rate 5/s" % worst)
        span = t[-1] - t[0]
        self.assertGreaterEqual(span, 14 / 5.0 - JITTER, "15 sends at 5/s took only %.2f s" % span)
        self.assertLess(span, 6.0, "15 sends at 5/s took %.2f s" % span)
        # the two campaigns share the sender's rate: both progress from the start
        half = t[0] + span / 2
        for prefix in ("55119500", "55119600"):
            self.assertTrue(any(r["to"].startswith(prefix) and r["t"] < half for r in sends),
                            "campaign of %s starved behind the other" % prefix)
        self.assertEqual(self.fake.problems, [])

    def test_cloudapi_default_rate(self):
        s = self.cloud_sender()
        self.assertEqual(s["rate_per_second"], 80, "Meta's default throughput")
        self.assertEqual(self.ok(self.api.get("/senders/%d" % s["id"]))["rate_per_second"], 80)
        listed = {x["id"]: x for x in self.ok(self.api.get("/senders"))["senders"]}
        self.assertEqual(listed[s["id"]]["rate_per_second"], 80)
        # the request may say otherwise
        body = {"name": "meta-slow", "provider": "cloudapi", "rate_per_second": 10,
                "config": {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": "x" * 16,
                           "base_url": self.fake.base_url}}
        self.assertEqual(self.ok(self.api.post("/senders", body), 201)["rate_per_second"], 10)
        # and the default is enforced, not just shown: 81 sends need at least a second
        c = self.campaign([s["id"]], contacts(81, prefix="55119700"), start=True)
        self.wait_status(c["id"], "completed", 20)
        t = sorted(r["t"] for r in self.fake.snapshot())
        self.assertEqual(len(t), 81)
        self.assertGreaterEqual(t[-1] - t[0], 80 / 80.0 - JITTER, "81 sends in %.3f s" % (t[-1] - t[0]))
        self.assertEqual(self.fake.problems, [])


if __name__ == "__main__":
    unittest.main()
