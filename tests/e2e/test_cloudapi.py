"""The Cloud API sender end to end: a fake Graph API on 127.0.0.1 plays Meta,
and the tests post Meta-shaped, HMAC-signed webhooks to disparo: statuses
batches, failures with errors[], inbound text replies, bad signatures,
replays, out-of-order receipts and receipts that beat the send's answer."""

import hashlib
import hmac
import json
import threading
import time
import unittest

from harness import E2ETest, FakeServer, contacts, read_body, send_json, wait_until

APP_SECRET = "s3cr3t-app"
VERIFY = "verify-me"
PNID = "1234567890"
TOKEN = "EAAG-test-token"


class FakeGraph(FakeServer):
    """Answers POST /v23.0/{PNID}/messages like Meta: wamid per message;
    errors by phone (errors = {phone: (http_status, graph_code)}); an
    optional delay before answering; GET /v23.0/{PNID} for health."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = []          # (to, body) in arrival order
        self.errors = {}
        self.delay = 0.0
        self.status_word = "CONNECTED"
        self.quality = "GREEN"
        self.n = 0
        super().__init__()

    def handle(self, h, method):
        if method == "GET":
            if not h.path.startswith("/v23.0/%s?" % PNID):
                return send_json(h, 404, {"error": {"code": 100, "message": "bad path"}})
            return send_json(h, 200, {"quality_rating": self.quality, "status": self.status_word, "id": PNID})
        body = json.loads(read_body(h) or b"{}")
        if h.path != "/v23.0/%s/messages" % PNID:
            return send_json(h, 404, {"error": {"code": 100, "message": "bad path " + h.path}})
        if h.headers.get("Authorization") != "Bearer " + TOKEN:
            return send_json(h, 401, {"error": {"code": 190, "message": "bad token"}})
        if body.get("messaging_product") != "whatsapp" or "to" not in body or "type" not in body:
            return send_json(h, 400, {"error": {"code": 100, "message": "invalid parameter"}})
        to = body["to"]
        with self.lock:
            self.n += 1
            wamid = "wamid.%s.%d" % (to, self.n)
            self.sent.append((to, body))
            delay = self.delay
            err = self.errors.get(to)
        if delay:
            time.sleep(delay)
        if err:
            return send_json(h, err[0], {"error": {"code": err[1], "message": "error %d" % err[1],
                                                   "type": "OAuthException", "fbtrace_id": "x"}})
        send_json(h, 200, {"messaging_product": "whatsapp",
                           "contacts": [{"input": to, "wa_id": to}],
                           "messages": [{"id": wamid}]})


def statuses_payload(items):
    """items: [(wamid, status, phone, errors or None)] -> a Meta webhook body."""
    sts = []
    for wamid, status, phone, errors in items:
        st = {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": phone}
        if errors:
            st["errors"] = errors
        sts.append(st)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "5511000000000", "phone_number_id": PNID},
                "statuses": sts}}]}]}


def inbound_payload(phone, text, context_id=None):
    msg = {"from": phone, "id": "wamid.in.%d" % time.time_ns(), "timestamp": str(int(time.time())),
           "type": "text", "text": {"body": text}}
    if context_id:
        msg["context"] = {"from": "5511000000000", "id": context_id}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "5511000000000", "phone_number_id": PNID},
                "contacts": [{"profile": {"name": "Ana"}, "wa_id": phone}],
                "messages": [msg]}}]}]}


class TestCloudAPI(E2ETest):
    deadline = 90.0

    def setUp(self):
        super().setUp()
        self.graph = FakeGraph()
        self.addCleanup(self.graph.close)
        body = {"name": "meta", "provider": "cloudapi",
                "config": {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": APP_SECRET,
                           "verify_token": VERIFY, "base_url": self.graph.base_url}}
        self.sender = self.ok(self.api.post("/senders", body), 201)
        self.hook = "/webhooks/%d" % self.sender["id"]

    def post_hook(self, payload, secret=APP_SECRET, signature=None):
        raw = json.dumps(payload).encode()
        sig = signature if signature is not None else \
            "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json"}
        if sig:
            headers["X-Hub-Signature-256"] = sig
        st, _, body = self.api.raw("POST", self.hook, raw, headers, token=None)
        return st, body

    def test_sender_shape(self):
        s = self.sender
        self.assertEqual(s["rate_per_second"], 80, "Meta's default throughput")
        for k in ("access_token", "app_secret", "verify_token"):
            self.assertEqual(s["config"][k], "********", k)
        self.assertEqual(s["config"]["api_version"], "v23.0")
        self.assertEqual(s["webhook_path"], self.hook)
        st, body = self.api.post("/senders", {"name": "x", "provider": "cloudapi", "config": {}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("phone_number_id",))
        # the health check reached the fake
        wait_until(lambda: self.ok(self.api.get("/senders/%d" % s["id"]))["health"]["state"] is not None,
                   10, "first health check")
        h = self.ok(self.api.get("/senders/%d" % s["id"]))["health"]
        self.assertTrue(h["in_rotation"], h)

    def test_flagged_number_is_held_by_its_health_check(self):
        self.graph.status_word = "FLAGGED"
        body = {"name": "flagged", "provider": "cloudapi",
                "config": {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": APP_SECRET,
                           "base_url": self.graph.base_url}}
        s = self.ok(self.api.post("/senders", body), 201)

        def health():
            return self.ok(self.api.get("/senders/%d" % s["id"]))["health"]
        wait_until(lambda: health()["state"] == "FLAGGED", 10, "the status check")
        h = health()
        self.assertFalse(h["in_rotation"], h)
        self.assertEqual(h["held_reason"], "FLAGGED", h)
        # a campaign on it waits instead of sending
        c = self.campaign([s["id"]], contacts(2), start=True)
        wait_until(lambda: self.get_campaign(c["id"])["state_reason"] == "no_sender", 10, "no_sender")
        self.assertEqual(self.graph.sent, [])

    def test_verification_handshake(self):
        q = "?hub.mode=subscribe&hub.verify_token=%s&hub.challenge=1158201444" % VERIFY
        st, _, body = self.api.raw("GET", self.hook + q, token=None)
        self.assertEqual((st, body), (200, b"1158201444"))
        st, _, body = self.api.raw("GET", self.hook + q.replace(VERIFY, "wrong"), token=None)
        self.assertEqual(st, 403, body)
        st, _, _ = self.api.raw("GET", "/webhooks/999999" + q, token=None)
        self.assertEqual(st, 404)

    def test_send_receipts_and_reply(self):
        people = contacts(3)
        c = self.campaign([self.sender["id"]], people, start=True)
        cid = c["id"]
        self.wait_status(cid, "completed", 20)
        msgs = self.messages_by_phone(cid)
        self.assertEqual(len(self.graph.sent), 3)
        for to, body in self.graph.sent:
            self.assertEqual(body["type"], "text")
            self.assertEqual(body["recipient_type"], "individual")
            self.assertTrue(body["text"]["body"].startswith("Oi "), body)
        a, b, d = (msgs[p["phone"]] for p in people)
        for m in (a, b, d):
            self.assertEqual(m["status"], "sent")
            self.assertTrue(m["provider_message_id"].startswith("wamid."), m)

        # a bad signature, a missing one, and the right body signed with another secret: 401, nothing moves
        batch = statuses_payload([(a["provider_message_id"], "delivered", a["phone"], None)])
        for kw in ({"signature": "sha256=" + "0" * 64}, {"signature": ""}, {"secret": "other"}):
            st, body = self.post_hook(batch, **kw)
            self.assertEqual(st, 401, (kw, body))
        self.assertEqual(self.messages_by_phone(cid)[a["phone"]]["status"], "sent")

        # a batch: delivered, read, failed with errors[]
        batch = statuses_payload([
            (a["provider_message_id"], "delivered", a["phone"], None),
            (b["provider_message_id"], "read", b["phone"], None),
            (d["provider_message_id"], "failed", d["phone"],
             [{"code": 131050, "title": "User stopped marketing messages"}]),
        ])
        st, body = self.post_hook(batch)
        self.assertEqual(st, 200, body)
        msgs = self.messages_by_phone(cid)
        self.assertEqual(msgs[a["phone"]]["status"], "delivered")
        self.assertEqual(msgs[b["phone"]]["status"], "read")
        self.assertIsNotNone(msgs[b["phone"]]["delivered_at"], "read implies delivered")
        self.assertEqual(msgs[d["phone"]]["status"], "failed")
        self.assertIn("131050", msgs[d["phone"]]["error"]["code"])
        # replay: the same batch changes nothing; a late "delivered" after "read" does not go backwards
        before = self.get_campaign(cid)["counts"]
        self.assertEqual(self.post_hook(batch)[0], 200)
        late = statuses_payload([(b["provider_message_id"], "delivered", b["phone"], None)])
        self.assertEqual(self.post_hook(late)[0], 200)
        self.assertEqual(self.get_campaign(cid)["counts"], before)
        self.assertEqual(self.messages_by_phone(cid)[b["phone"]]["status"], "read")
        c = self.assert_counts_exact(cid)
        self.assertEqual((c["counts"]["delivered"], c["counts"]["read"], c["counts"]["failed"]), (1, 1, 1))

        # an inbound reply quoting a's message
        st, _ = self.post_hook(inbound_payload(a["phone"], "Quero saber mais", a["provider_message_id"]))
        self.assertEqual(st, 200)
        m = self.messages_by_phone(cid)[a["phone"]]
        self.assertEqual(m["reply"]["text"], "Quero saber mais")
        self.assertEqual(self.get_campaign(cid)["counts"]["replied"], 1)
        # a second reply from the same contact is recorded but counted once
        self.post_hook(inbound_payload(a["phone"], "Oi?"))
        self.assertEqual(self.get_campaign(cid)["counts"]["replied"], 1)
        self.assertEqual(self.messages_by_phone(cid)[a["phone"]]["reply"]["text"], "Oi?")

    def test_no_whatsapp_receipt_restricts_the_phone(self):
        people = contacts(1)
        c = self.campaign([self.sender["id"]], people, start=True)
        self.wait_status(c["id"], "completed", 10)
        m = self.messages_by_phone(c["id"])[people[0]["phone"]]
        # Meta accepted the send, then reports in a webhook that the number has no WhatsApp
        st, _ = self.post_hook(statuses_payload([(m["provider_message_id"], "failed", m["phone"],
                                                  [{"code": 131026, "title": "Message undeliverable"}])]))
        self.assertEqual(st, 200)
        self.assertEqual(self.messages_by_phone(c["id"])[m["phone"]]["status"], "failed")
        later = self.campaign([self.sender["id"]], people, start=True)
        later = self.wait_status(later["id"], "completed", 10)
        lm = self.messages_by_phone(later["id"])[m["phone"]]
        self.assertEqual((lm["status"], lm["error"]["code"]), ("skipped", "restricted"), lm)
        self.assertEqual(len(self.graph.sent), 1, "the restricted phone got no second send")

    def test_receipt_before_the_send_answer(self):
        # the fake answers the send after 1 s; Meta's "delivered" arrives first
        self.graph.delay = 1.0
        people = contacts(1)
        c = self.campaign([self.sender["id"]], people, start=True)
        wait_until(lambda: len(self.graph.sent) == 1, 10, "the send")
        wamid = "wamid.%s.1" % people[0]["phone"]
        st, _ = self.post_hook(statuses_payload([(wamid, "delivered", people[0]["phone"], None)]))
        self.assertEqual(st, 200)
        c = self.wait_status(c["id"], "completed", 10)
        wait_until(lambda: self.messages_by_phone(c["id"])[people[0]["phone"]]["status"] == "delivered", 5,
                   "the parked receipt applied once the send's answer came")
        self.assert_counts_exact(c["id"])

    def test_error_classes(self):
        people = contacts(4)
        people[0]["phone"] = "5511987650001"   # a mobile, so it has an old 8-digit form too
        no_wa, bad_number = people[0]["phone"], people[1]["phone"]
        self.graph.errors = {no_wa: (400, 131026), bad_number: (400, 131021)}
        c = self.campaign([self.sender["id"]], people, start=True)
        c = self.wait_status(c["id"], "completed", 20)
        msgs = self.messages_by_phone(c["id"])
        self.assertEqual(msgs[no_wa]["status"], "failed")
        self.assertEqual(msgs[bad_number]["status"], "failed")
        self.assertEqual(c["counts"]["sent"], 2, c["counts"])
        # recipient errors do not take the account out of rotation
        h = self.ok(self.api.get("/senders/%d" % self.sender["id"]))["health"]
        self.assertTrue(h["in_rotation"], h)
        # 131026 put the number on no_whatsapp: a later campaign skips it without a send,
        # also in its old 8-digit form; the other failed number (131021) is not restricted
        sends_before = len(self.graph.sent)
        old_form = no_wa[:4] + no_wa[5:]
        later = self.campaign([self.sender["id"]], [{"phone": no_wa}, {"phone": old_form},
                                                    {"phone": bad_number}], text="Oi", start=True)
        later = self.wait_status(later["id"], "completed", 20)
        lm = self.messages_by_phone(later["id"])
        for p in (no_wa, old_form):
            self.assertEqual(lm[p]["status"], "skipped", lm[p])
            self.assertEqual(lm[p]["error"]["code"], "restricted", lm[p])
            self.assertIn("no_whatsapp", lm[p]["error"]["detail"], lm[p])
        self.assertEqual(lm[bad_number]["status"], "failed", lm[bad_number])
        self.assertEqual([to for to, _ in self.graph.sent[sends_before:]], [bad_number])

    def test_template_errors_pause_the_campaign(self):
        people = contacts(6)
        self.graph.errors = {p["phone"]: (400, 132001) for p in people}
        body = {"name": "tpl", "sender_ids": [self.sender["id"]], "contacts": people,
                "message": {"template": {"name": "promo", "language": "pt_BR", "params": ["name"]}},
                "interval": {"min_ms": 300, "max_ms": 300}, "start": True}
        c = self.ok(self.api.post("/campaigns", body), 201)
        c = self.wait_status(c["id"], "paused", 20)
        self.assertEqual(c["state_reason"], "template_rejected")
        # one send at a time (300 ms apart, answered at once): exactly 3 refusals, then the pause
        self.assertEqual(c["counts"]["failed"], 3, "paused after 3 refusals, not all 6: %r" % c["counts"])
        self.assertEqual(c["counts"]["queued"], 3, c["counts"])
        ev = [e for e in self.events(c["id"]) if e["type"] == "paused"][0]
        self.assertEqual(ev["detail"]["reason"], "template_rejected", ev)
        self.assertEqual(ev["detail"]["code"], "cloudapi_132001", ev)
        tpl = [b for _, b in self.graph.sent][0]
        self.assertEqual(tpl["type"], "template")
        self.assertEqual(tpl["template"]["name"], "promo")
        self.assertEqual(tpl["template"]["language"]["code"], "pt_BR")
        params = tpl["template"]["components"][0]["parameters"]
        self.assertEqual(params[0]["type"], "text")
        self.assertIn(params[0]["text"], {p["name"] for p in people})

    def test_account_errors_hold_the_sender(self):
        people = contacts(3)
        self.graph.errors = {p["phone"]: (400, 131048) for p in people}   # spam rate limit hit
        c = self.campaign([self.sender["id"]], people, start=True, interval=(0, 0))
        wait_until(lambda: not self.ok(self.api.get("/senders/%d" % self.sender["id"]))["health"]["in_rotation"],
                   10, "the sender leaves rotation")
        c = self.wait_status(c["id"], "running", 5)
        wait_until(lambda: self.get_campaign(c["id"])["state_reason"] == "no_sender", 10, "no_sender")
        types = [e["type"] for e in self.events(c["id"])]
        self.assertIn("sender_held", types)
        self.assertEqual(self.get_campaign(c["id"])["counts"]["failed"], 0, "an account error fails no message")


if __name__ == "__main__":
    unittest.main()
