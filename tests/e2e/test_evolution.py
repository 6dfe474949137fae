"""The Evolution API sender end to end: a fake Evolution API v2 on 127.0.0.1
checks each request like the gateway would (route and instance in the path,
`apikey` header, the flat v2 bodies of sendText, sendMedia and sendButtons)
and answers like it does (201 with the sent WAMessage and its key.id; 400
with exists:false for a number without WhatsApp; 401 for a bad apikey). The
tests post the gateway's webhook events (messages.update receipts,
messages.upsert replies and button responses) to /webhooks/{id}/{secret}."""

import json
import re
import secrets
import time
import unittest
import urllib.parse

from harness import E2ETest, FakeServer, contacts, read_body, send_json, wait_until

APIKEY = "evo-e2e-apikey-1"
INSTANCE = "Loja Recife"          # a space: it must arrive percent-encoded in the path
PHONE_RE = re.compile(r"^\d{10,15}$")
ROUTES = {"sendText": {"number", "text", "delay", "linkPreview", "mentionsEveryOne", "mentioned", "quoted"},
          "sendMedia": {"number", "mediatype", "mimetype", "caption", "media", "fileName", "delay",
                        "mentionsEveryOne", "mentioned", "quoted"},
          "sendButtons": {"number", "title", "description", "footer", "buttons", "thumbnailUrl", "delay",
                          "mentionsEveryOne", "mentioned", "quoted"}}


def err_body(status, error, message):
    """Evolution's error shape (src/main.ts)."""
    return {"status": status, "error": error, "response": {"message": message}}


class FakeEvolution(FakeServer):
    """One Evolution API server with one instance. `apikey` is the key it
    accepts (change it to revoke); `no_whatsapp` phones answer 400 exists:false;
    `state` is what connectionState says; sends fail with "Connection Closed"
    unless it is "open"."""

    def __init__(self):
        # requests: {t, method, path, route, instance, headers, body, status, key_id}
        self.problems = []
        self.apikey = APIKEY
        self.no_whatsapp = set()
        self.state = "open"
        self.n = 0
        super().__init__()

    def handle(self, h, method):
        raw = read_body(h)
        rec = {"t": time.monotonic(), "method": method, "path": h.path, "raw": raw, "body": None,
               "route": None, "instance": None, "status": None, "key_id": None,
               "headers": {k.lower(): v for k, v in h.headers.items()}}
        status, obj = self._route(rec)
        rec["status"] = status
        with self.lock:
            self.requests.append(rec)
        send_json(h, status, obj, "application/json; charset=utf-8")

    def _problem(self, rec, what):
        self.problems.append("%s %s: %s (body %r)" % (rec["method"], rec["path"], what, rec["raw"][:300]))

    def _route(self, rec):
        parts = rec["path"].split("/")
        # /{prefix}/{route}/{instance}; Express decodes the instance parameter
        if len(parts) != 4 or parts[0] != "" or "?" in rec["path"]:
            return 404, err_body(404, "Not Found", ["Cannot %s %s" % (rec["method"], rec["path"])])
        prefix, route, inst = parts[1], parts[2], urllib.parse.unquote(parts[3])
        rec["route"], rec["instance"] = route, inst
        if " " in parts[3]:
            self._problem(rec, "the instance is not percent-encoded")
        key = rec["headers"].get("apikey")
        if key is None:
            self._problem(rec, "no apikey header")
        if key != self.apikey:
            return 401, err_body(401, "Unauthorized", "Unauthorized")
        if inst != INSTANCE:
            return 404, err_body(404, "Not Found", ['The "%s" instance does not exist' % inst])
        if rec["method"] == "POST" and self.state != "open":
            return 400, err_body(400, "Bad Request", ["Error: Connection Closed"])
        if rec["method"] == "GET":
            if (prefix, route) != ("instance", "connectionState"):
                return 404, err_body(404, "Not Found", ["Cannot GET %s" % rec["path"]])
            return 200, {"instance": {"instanceName": INSTANCE, "state": self.state}}
        if prefix != "message" or route not in ROUTES:
            return 404, err_body(404, "Not Found", ["Cannot POST %s" % rec["path"]])
        if not rec["headers"].get("content-type", "").startswith("application/json"):
            self._problem(rec, "Content-Type %r" % rec["headers"].get("content-type"))
            return 400, err_body(400, "Bad Request", ["instance requires property \"number\""])
        try:
            body = json.loads(rec["raw"])
        except ValueError:
            body = None
        rec["body"] = body
        bad = self._check(route, body)
        if bad:
            self._problem(rec, bad)
            return 400, err_body(400, "Bad Request", [bad])
        number = body["number"]
        if number in self.no_whatsapp:
            return 400, err_body(400, "Bad Request", [{"jid": number + "@s.whatsapp.net", "exists": False,
                                                      "number": number}])
        with self.lock:
            self.n += 1
            kid = "BAE5%012X" % (0xE2E0000 + self.n)
        rec["key_id"] = kid
        if route == "sendText":
            message, mtype = {"conversation": body["text"]}, "conversation"
        elif route == "sendMedia":
            message = {"%sMessage" % body["mediatype"]: {"url": body["media"], "caption": body.get("caption", "")}}
            mtype = "%sMessage" % body["mediatype"]
        else:
            message, mtype = {"buttonsMessage": {"contentText": body["title"]}}, "buttonsMessage"
        return 201, {"key": {"remoteJid": number + "@s.whatsapp.net", "fromMe": True, "id": kid},
                     "pushName": "", "status": "PENDING", "message": message, "messageType": mtype,
                     "messageTimestamp": int(time.time()), "instanceId": "e2e-instance-id", "source": "unknown"}

    @staticmethod
    def _check(route, body):
        if not isinstance(body, dict):
            return "body is not a JSON object"
        extra = set(body) - ROUTES[route]
        if extra:
            return "unknown properties %s" % sorted(extra)
        if not isinstance(body.get("number"), str) or not PHONE_RE.match(body["number"]):
            return "number must be digits"
        if route == "sendText":
            if not isinstance(body.get("text"), str) or not body["text"].strip():
                return "Text is required"
        elif route == "sendMedia":
            if body.get("mediatype") not in ("image", "video", "audio", "document"):
                return "mediatype %r" % (body.get("mediatype"),)
            if not isinstance(body.get("media"), str) or not body["media"]:
                return "media is required"
            if body["mediatype"] == "document" and not body.get("fileName"):
                return "a document needs fileName"
        else:
            if not isinstance(body.get("title"), str) or not body["title"]:
                return "title is required"
            bs = body.get("buttons")
            if not isinstance(bs, list) or not 1 <= len(bs) <= 3:
                return "1 to 3 buttons"
            for b in bs:
                if not isinstance(b, dict) or b.get("type") != "reply" or not b.get("displayText") or not b.get("id"):
                    return "a reply button needs type, displayText and id: %r" % (b,)
        return None

    # -- queries
    def sends(self, ok_only=True):
        return [r for r in self.snapshot() if r["method"] == "POST" and (r["status"] == 201 or not ok_only)]

    def by_number(self, ok_only=True):
        out = {}
        for r in self.sends(ok_only):
            if isinstance(r["body"], dict):
                out.setdefault(r["body"].get("number"), []).append(r)
        return out


# -------------------------------------------------------------- webhook bodies

def envelope(event, data, instance=INSTANCE):
    """webhook.controller.ts emit: {event, instance, data, destination, date_time, sender, server_url, apikey}."""
    return {"event": event, "instance": instance, "data": data, "destination": "http://disparo/webhooks",
            "date_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "sender": "5511000000000@s.whatsapp.net", "server_url": "http://127.0.0.1", "apikey": APIKEY}


def update_event(key_id, phone, status, instance=INSTANCE):
    return envelope("messages.update", {"messageId": "cm%x" % secrets.randbits(40), "keyId": key_id,
                                        "remoteJid": phone + "@s.whatsapp.net", "fromMe": True,
                                        "participant": None, "status": status,
                                        "instanceId": "e2e-instance-id"}, instance)


def upsert_event(phone, message, message_type, context_id=None, from_me=False):
    data = {"key": {"remoteJid": phone + "@s.whatsapp.net", "fromMe": from_me,
                    "id": "3EB0%016X" % secrets.randbits(64)},
            "pushName": "Ana", "status": "DELIVERY_ACK", "message": message, "messageType": message_type,
            "messageTimestamp": int(time.time()), "instanceId": "e2e-instance-id", "source": "android"}
    if context_id:
        data["contextInfo"] = {"stanzaId": context_id, "participant": "5511000000000@s.whatsapp.net"}
    return envelope("messages.upsert", data)


class TestEvolution(E2ETest):
    deadline = 60.0
    autostart = False
    fast_health = ("test_closed_session_seen_by_the_health_check",)

    def setUp(self):
        super().setUp()
        args = ["--hold-recheck-ms", "500"]
        if self._testMethodName in self.fast_health:
            args += ["--health-period-ms", "300"]      # a healthy sender is asked every 0.3 s
        self.srv = self.new_server(extra_args=args)
        self.api = self.srv.client()
        self.fake = FakeEvolution()
        self.addCleanup(self.fake.close)
        body = {"name": "evo", "provider": "evolution",
                "config": {"base_url": self.fake.base_url, "instance": INSTANCE, "apikey": APIKEY}}
        self.sender = self.ok(self.api.post("/senders", body), 201)
        self.sid = self.sender["id"]
        m = re.match(r"^/webhooks/(\d+)/([A-Za-z0-9_-]{16,128})$", self.sender["webhook_path"] or "")
        self.assertTrue(m, "the create answer's webhook_path carries the secret: %r" % self.sender)
        self.hook = self.sender["webhook_path"]
        self.secret = m.group(2)

    def post_hook(self, payload, path=None, headers=None):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        st, _, body = self.api.raw("POST", path or self.hook, json.dumps(payload).encode(), hdrs, token=None)
        return st, body

    def button_campaign(self, people, buttons=(("sim", "Sim"), ("nao", "Não"))):
        return self.ok(self.api.post("/campaigns", {
            "name": "btn-%d" % time.time_ns(), "sender_ids": [self.sid], "contacts": people,
            "message": {"text": "Quer ofertas, {{name}}?",
                        "buttons": [{"id": i, "title": t} for i, t in buttons]},
            "interval": {"min_ms": 0, "max_ms": 0}, "start": True}), 201)

    # -- tests
    def test_text_media_and_button_campaigns(self):
        s = self.sender
        self.assertEqual(s["rate_per_second"], 0)
        self.assertEqual((s["config"]["apikey"], s["config"]["webhook_secret"]), ("********", "********"))
        self.assertEqual(s["config"]["instance"], INSTANCE)
        h = self.wait_health_checked(self.sid)
        self.assertEqual(h["state"], "open")
        st = [r for r in self.fake.snapshot() if r["route"] == "connectionState"]
        self.assertTrue(st and st[0]["method"] == "GET" and st[0]["path"].endswith("/Loja%20Recife"), st)

        text_people = contacts(3, prefix="55119100")
        doc_people = contacts(1, prefix="55119200")
        btn_people = contacts(1, prefix="55119300")
        c_text = self.campaign([self.sid], text_people, text="Oi {{name}}!", start=True)
        c_doc = self.ok(self.api.post("/campaigns", {
            "name": "doc", "sender_ids": [self.sid], "contacts": doc_people,
            "message": {"text": "Segue o catálogo", "media": {"url": "https://cdn.example.com/files/cat.pdf?v=2",
                                                              "kind": "document", "filename": "Catalogo.pdf"}},
            "interval": {"min_ms": 0, "max_ms": 0}, "start": True}), 201)
        c_btn = self.button_campaign(btn_people)
        for c in (c_text, c_doc, c_btn):
            self.wait_status(c["id"], "completed", 20)
        self.assertEqual(self.fake.problems, [])
        sends = self.fake.by_number()
        for c, people, route in ((c_text, text_people, "sendText"), (c_doc, doc_people, "sendMedia"),
                                 (c_btn, btn_people, "sendButtons")):
            msgs = self.messages_by_phone(c["id"])
            for p in people:
                recs = sends.get(p["phone"], [])
                self.assertEqual(len(recs), 1, recs)
                r, m = recs[0], msgs[p["phone"]]
                self.assertEqual((r["route"], r["instance"]), (route, INSTANCE))
                self.assertEqual(r["path"], "/message/%s/Loja%%20Recife" % route)
                self.assertEqual(r["headers"].get("apikey"), APIKEY)
                self.assertEqual(m["status"], "sent", m)
                self.assertEqual(m["provider_message_id"], r["key_id"], "key.id of the 201 answer")
            self.assert_counts_exact(c["id"])
        self.assertEqual(sends[text_people[2]["phone"]][0]["body"], {"number": text_people[2]["phone"],
                                                                     "text": "Oi C3!"})
        d = sends[doc_people[0]["phone"]][0]["body"]
        self.assertEqual((d["mediatype"], d["media"], d.get("caption"), d.get("fileName")),
                         ("document", "https://cdn.example.com/files/cat.pdf?v=2", "Segue o catálogo",
                          "Catalogo.pdf"))
        b = sends[btn_people[0]["phone"]][0]["body"]
        self.assertIn("C1", b["title"])
        self.assertEqual(b["buttons"], [{"type": "reply", "displayText": "Sim", "id": "sim"},
                                        {"type": "reply", "displayText": "Não", "id": "nao"}])

    def test_receipts_and_webhook_secret(self):
        people = contacts(3)
        cid = self.campaign([self.sid], people, start=True)["id"]
        self.wait_status(cid, "completed", 20)
        msgs = self.messages_by_phone(cid)
        a, b, d = (msgs[p["phone"]] for p in people)
        before = self.get_campaign(cid)["counts"]
        ev = update_event(a["provider_message_id"], a["phone"], "DELIVERY_ACK")
        base = "/webhooks/%d" % self.sid
        for path, hdrs in ((base + "/" + "A" * 32, None), (base, None), (base, {"X-Disparo-Secret": "nope" * 8}),
                           (base + "/" + self.secret[:-1], None)):
            st, body = self.post_hook(ev, path=path, headers=hdrs)
            self.assertEqual(st, 401, (path, body))
        # another instance's event on this URL: its ids are not ours
        st, _ = self.post_hook(update_event(a["provider_message_id"], a["phone"], "READ", instance="outra"))
        self.assertIn(st, (200, 202, 204))
        self.assertEqual(self.get_campaign(cid)["counts"], before)
        self.assertEqual({m["status"] for m in self.messages(cid)}, {"sent"})

        for key, phone, word in ((a["provider_message_id"], a["phone"], "SERVER_ACK"),
                                 (a["provider_message_id"], a["phone"], "DELIVERY_ACK"),
                                 (b["provider_message_id"], b["phone"], "DELIVERY_ACK"),
                                 (b["provider_message_id"], b["phone"], "READ")):
            st, body = self.post_hook(update_event(key, phone, word))
            self.assertEqual(st, 200, body)
        msgs = self.messages_by_phone(cid)
        self.assertEqual([msgs[p["phone"]]["status"] for p in people], ["delivered", "read", "sent"])
        self.assertIsNotNone(msgs[b["phone"]]["delivered_at"])
        self.assertIsNotNone(msgs[b["phone"]]["read_at"])
        # a late DELIVERY_ACK after READ, a SERVER_ACK after delivery: nothing goes backwards
        counts = self.get_campaign(cid)["counts"]
        self.post_hook(update_event(b["provider_message_id"], b["phone"], "DELIVERY_ACK"))
        self.post_hook(update_event(a["provider_message_id"], a["phone"], "SERVER_ACK"))
        self.assertEqual(self.get_campaign(cid)["counts"], counts)
        # a batch (data as an array) and the secret in X-Disparo-Secret
        batch = update_event(a["provider_message_id"], a["phone"], "READ")
        batch["data"] = [batch["data"], update_event(d["provider_message_id"], d["phone"], "DELIVERY_ACK")["data"]]
        st, body = self.post_hook(batch, path=base, headers={"X-Disparo-Secret": self.secret})
        self.assertEqual(st, 200, body)
        c = self.assert_counts_exact(cid)
        self.assertEqual((c["counts"]["sent"], c["counts"]["delivered"], c["counts"]["read"]), (0, 1, 2),
                         c["counts"])

    def test_inbound_reply_and_button_clicks(self):
        people = contacts(2, prefix="55119400")
        btn_people = contacts(2, prefix="55119500")
        c = self.campaign([self.sid], people, start=True)
        cb = self.button_campaign(btn_people)
        self.wait_status(c["id"], "completed", 20)
        self.wait_status(cb["id"], "completed", 20)
        a, b = (self.messages_by_phone(c["id"])[p["phone"]] for p in people)
        d, e = (self.messages_by_phone(cb["id"])[p["phone"]] for p in btn_people)

        # our own send echoed back is not a reply
        st, _ = self.post_hook(upsert_event(a["phone"], {"conversation": "Oi C1!"}, "conversation", from_me=True))
        self.assertEqual(st, 200)
        self.assertEqual(self.get_campaign(c["id"])["counts"]["replied"], 0)

        # a plain text reply, and a quoted one
        st, body = self.post_hook(upsert_event(a["phone"], {"conversation": "Quero saber mais"}, "conversation"))
        self.assertEqual(st, 200, body)
        st, body = self.post_hook(upsert_event(
            b["phone"], {"extendedTextMessage": {"text": "Quanto custa?",
                                                 "contextInfo": {"stanzaId": b["provider_message_id"]}}},
            "extendedTextMessage", context_id=b["provider_message_id"]))
        self.assertEqual(st, 200, body)
        cc = self.get_campaign(c["id"])["counts"]
        self.assertEqual((cc["replied"], cc["clicked"]), (2, 0), cc)
        msgs = self.messages_by_phone(c["id"])
        self.assertEqual((msgs[a["phone"]]["reply"]["text"], msgs[a["phone"]]["reply"]["button_id"]),
                         ("Quero saber mais", None))
        self.assertEqual(msgs[b["phone"]]["reply"]["text"], "Quanto custa?")
        self.assertIsNone(msgs[a["phone"]]["clicked_at"])

        # button responses: the legacy buttonsResponseMessage and v2's native-flow quick reply
        st, body = self.post_hook(upsert_event(
            d["phone"], {"buttonsResponseMessage": {"selectedButtonId": "sim", "selectedDisplayText": "Sim",
                                                    "contextInfo": {"stanzaId": d["provider_message_id"]}}},
            "buttonsResponseMessage", context_id=d["provider_message_id"]))
        self.assertEqual(st, 200, body)
        st, body = self.post_hook(upsert_event(
            e["phone"], {"interactiveResponseMessage": {
                "body": {"text": "Não", "format": "DEFAULT"},
                "nativeFlowResponseMessage": {"name": "quick_reply", "paramsJson": json.dumps({"id": "nao"}),
                                              "version": 3},
                "contextInfo": {"stanzaId": e["provider_message_id"]}}},
            "interactiveResponseMessage", context_id=e["provider_message_id"]))
        self.assertEqual(st, 200, body)
        cc = self.get_campaign(cb["id"])["counts"]
        self.assertEqual((cc["replied"], cc["clicked"]), (2, 2), cc)
        msgs = self.messages_by_phone(cb["id"])
        self.assertEqual((msgs[d["phone"]]["reply"]["text"], msgs[d["phone"]]["reply"]["button_id"]), ("Sim", "sim"))
        self.assertEqual((msgs[e["phone"]]["reply"]["text"], msgs[e["phone"]]["reply"]["button_id"]), ("Não", "nao"))
        self.assertIsNotNone(msgs[d["phone"]]["clicked_at"])
        self.assertIsNotNone(msgs[e["phone"]]["clicked_at"])
        # a second click by the same contact is recorded once
        self.post_hook(upsert_event(
            d["phone"], {"buttonsResponseMessage": {"selectedButtonId": "nao", "selectedDisplayText": "Não"}},
            "buttonsResponseMessage", context_id=d["provider_message_id"]))
        cc = self.get_campaign(cb["id"])["counts"]
        self.assertEqual((cc["replied"], cc["clicked"]), (2, 2), cc)
        self.assertEqual(self.get_campaign(c["id"])["counts"]["clicked"], 0)

    def test_not_on_whatsapp_fails_only_that_message(self):
        people = contacts(4)
        no_wa = people[1]["phone"]
        self.fake.no_whatsapp = {no_wa}
        cid = self.campaign([self.sid], people, start=True)["id"]
        c = self.wait_status(cid, "completed", 20)
        self.assertEqual((c["counts"]["sent"], c["counts"]["failed"]), (3, 1), c["counts"])
        msgs = self.messages_by_phone(cid)
        m = msgs[no_wa]
        self.assertEqual(m["status"], "failed")
        self.assertEqual(m["attempts"], 1, "a number without WhatsApp is not retried")
        self.assertIsNotNone(m["failed_at"])
        self.assertEqual(m["error"]["code"], "no_whatsapp", m)
        self.assertIn(no_wa, m["error"]["detail"])
        self.assertEqual(len(self.fake.by_number(ok_only=False)[no_wa]), 1)
        for p in people:
            if p["phone"] != no_wa:
                self.assertEqual(msgs[p["phone"]]["status"], "sent")
        h = self.sender_health(self.sid)
        self.assertTrue(h["in_rotation"], h)
        self.assertIsNone(h["held_reason"])
        self.assertNotIn("sender_held", [e["type"] for e in self.events(cid)])
        self.assertEqual(self.fake.problems, [])
        self.assert_counts_exact(cid)

    def test_closed_session_seen_by_the_health_check(self):
        # the periodic status check, not a failed send, finds the session closed
        self.wait_health_checked(self.sid)
        people = contacts(3)
        cid = self.campaign([self.sid], people, interval=(2000, 2000), start=True)["id"]
        wait_until(lambda: len(self.fake.sends()) == 1, 5, "the first send")
        self.fake.state = "close"
        h = wait_until(lambda: (lambda h: not h["in_rotation"] and h)(self.sender_health(self.sid)), 3,
                       "the health check takes the sender out")
        self.assertEqual(h["state"], "close")
        self.assertTrue(h["held_reason"], h)
        self.assertTrue(h["detail"], h)
        ev = wait_until(lambda: [e for e in self.events(cid) if e["type"] == "sender_held"], 3, "sender_held")
        self.assertEqual(ev[0]["detail"]["sender_id"], self.sid)
        # the next send comes due while held: the campaign waits instead of failing it
        wait_until(lambda: self.get_campaign(cid)["state_reason"] == "no_sender", 5, "no_sender")
        self.assertEqual(len(self.fake.sends(ok_only=False)), 1, "nothing sent while the session is closed")
        c = self.get_campaign(cid)
        self.assertEqual((c["counts"]["sent"], c["counts"]["queued"], c["counts"]["failed"]), (1, 2, 0), c["counts"])
        self.assertEqual([m["attempts"] for m in self.messages(cid)], [1, 0, 0])
        self.fake.state = "open"
        wait_until(lambda: self.sender_health(self.sid)["in_rotation"], 3, "back in rotation")
        c = self.wait_status(cid, "completed", 10)
        self.assertEqual(c["counts"]["sent"], 3, c["counts"])
        self.assertEqual(len(self.fake.sends(ok_only=False)), 3)
        self.assertEqual(self.fake.problems, [])

    def test_unauthorized_holds_the_sender(self):
        self.wait_health_checked(self.sid)
        self.fake.apikey = "evo-e2e-apikey-2"      # the key was rotated on the gateway
        people = contacts(3)
        cid = self.campaign([self.sid], people, start=True)["id"]
        h = wait_until(lambda: (lambda h: not h["in_rotation"] and h)(self.sender_health(self.sid)), 10,
                       "the sender leaves rotation")
        self.assertIn("401", h["held_reason"] or "", h)
        wait_until(lambda: self.get_campaign(cid)["counts"]["sending"] == 0, 5, "no message left sending")
        wait_until(lambda: any(e["type"] == "sender_held" and e["detail"].get("sender_id") == self.sid
                               for e in self.events(cid)), 5, "sender_held event")
        wait_until(lambda: self.get_campaign(cid)["state_reason"] == "no_sender", 5, "no_sender")
        # the health check says unauthorized too, so it stays out; no message failed
        wait_until(lambda: self.sender_health(self.sid)["state"] == "unauthorized", 5, "the recheck sees the 401")
        c = self.get_campaign(cid)
        self.assertEqual((c["status"], c["counts"]["failed"], c["counts"]["sent"], c["counts"]["queued"]),
                         ("running", 0, 0, 3), c["counts"])
        self.assertFalse(self.sender_health(self.sid)["in_rotation"])
        refused = len(self.fake.sends(ok_only=False))
        self.assertGreaterEqual(refused, 1)
        time.sleep(0.6)
        self.assertEqual(len(self.fake.sends(ok_only=False)), refused, "nothing is sent to a held sender")

        # the operator fixes the key: a new config gets a fresh look, and the campaign finishes
        s = self.ok(self.api.patch("/senders/%d" % self.sid, {"config": {"apikey": "evo-e2e-apikey-2"}}))
        self.assertEqual(s["config"]["apikey"], "********")
        wait_until(lambda: self.sender_health(self.sid)["in_rotation"], 5, "back in rotation after the fix")
        c = self.wait_status(cid, "completed", 20)
        self.assertEqual(c["counts"]["sent"], 3, c["counts"])
        ok = self.fake.by_number()
        for m in self.messages(cid):
            self.assertEqual(len(ok[m["phone"]]), 1)
            self.assertEqual(m["provider_message_id"], ok[m["phone"]][0]["key_id"])
            self.assertEqual(ok[m["phone"]][0]["headers"]["apikey"], "evo-e2e-apikey-2")
        self.assertEqual(self.fake.problems, [])
        self.assert_counts_exact(cid)


if __name__ == "__main__":
    unittest.main()
