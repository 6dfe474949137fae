"""The UAZAPI sender end to end: a fake uazapiGO v2 server on 127.0.0.1 checks
every request like the gateway would (path, `token` header, JSON fields of
/send/text, /send/media and /send/menu) and answers like its OpenAPI
description (a Message object with `messageid`; "No session" when the phone is
disconnected). The tests post the gateway's webhook events (messages_update
receipts, messages from contacts) to /webhooks/{id}/{secret}."""

import json
import re
import secrets
import time
import unittest

from harness import E2ETest, FakeServer, contacts, read_body, send_json, wait_until

TOKEN = "uaz-e2e-instance-token"
OWNER = "5511000000000"
PHONE_RE = re.compile(r"^\d{10,15}$")
TRACK_ID_RE = re.compile(r"^c\d+-m\d+$")
TRACK_SOURCE_RE = re.compile(r"^disparo-[0-9a-f]{8}$")
# the send fields the spec knows (SendText/SendMedia/SendMenu bodies, common options)
COMMON_KEYS = {"number", "delay", "readchat", "readmessages", "replyid", "mentions", "forward",
               "track_source", "track_id", "async"}
TEXT_KEYS = COMMON_KEYS | {"text", "linkPreview", "linkPreviewTitle", "linkPreviewDescription",
                           "linkPreviewImage", "linkPreviewLarge"}
MEDIA_KEYS = COMMON_KEYS | {"type", "file", "text", "docName", "mimetype", "thumbnail"}
MENU_KEYS = COMMON_KEYS | {"type", "text", "choices", "footerText", "listButton", "selectableCount",
                           "imageButton"}
MEDIA_TYPES = {"image", "video", "document", "audio", "myaudio", "ptt", "sticker"}


class FakeUazapi(FakeServer):
    """One uazapiGO instance. `connected` False makes every /send/ answer 401
    {"error": "No session"} and /instance/status say disconnected.
    `hang_first` {phone: (seconds, sent)}: the first send to that phone is
    answered that late, having gone out (kept for /message/find) or not. Every
    request is recorded; `problems` lists requests that break the spec."""

    def __init__(self):
        # requests: {t, method, path, headers, body, status, messageid}
        self.problems = []
        self.connected = True
        self.hang_first = {}
        self.stored = []        # Message objects the instance sent (for /message/find)
        self.n = 0
        super().__init__()

    # -- the gateway
    def _problem(self, rec, what):
        self.problems.append("%s %s: %s (body %r)" % (rec["method"], rec["path"], what, rec["body"]))

    def handle(self, h, method):
        t = time.monotonic()
        raw = read_body(h)
        rec = {"t": t, "method": method, "path": h.path, "raw": raw, "body": None,
               "headers": {k.lower(): v for k, v in h.headers.items()}, "status": None, "messageid": None}
        status, obj = self._route(rec)
        rec["status"] = status
        with self.lock:
            first = rec["path"].startswith("/send/") and isinstance(rec["body"], dict) and not any(
                r["path"].startswith("/send/") and (r["body"] or {}).get("number") == rec["body"].get("number")
                for r in self.requests)
            self.requests.append(rec)
        if first and rec["body"].get("number") in self.hang_first:
            time.sleep(self.hang_first[rec["body"]["number"]][0])
        send_json(h, status, obj)

    def _route(self, rec):
        path, method = rec["path"], rec["method"]
        if rec["headers"].get("token") != TOKEN:
            if "token" not in rec["headers"]:
                self._problem(rec, "no token header")
            return 401, {"error": "Invalid token"}
        if method == "GET":
            if path != "/instance/status":
                return 404, {"error": "Not found"}
            return 200, self._status_body()
        if not rec["headers"].get("content-type", "").startswith("application/json"):
            self._problem(rec, "Content-Type is %r" % rec["headers"].get("content-type"))
            return 400, {"error": "Invalid payload"}
        try:
            body = json.loads(rec["raw"])
        except ValueError:
            body = None
        rec["body"] = body
        if not isinstance(body, dict):
            self._problem(rec, "body is not a JSON object")
            return 400, {"error": "Invalid payload"}
        if path == "/message/find":
            with self.lock:
                found = [m for m in self.stored if m["track_id"] == body.get("track_id")
                         and m["track_source"] == body.get("track_source")]
            return 200, {"messages": found[:body.get("limit") or 1], "returnedMessages": len(found[:1])}
        keys = {"/send/text": TEXT_KEYS, "/send/media": MEDIA_KEYS, "/send/menu": MENU_KEYS}.get(path)
        if keys is None:
            return 404, {"error": "Not found"}
        bad = self._check_send(path, body, keys)
        if bad:
            self._problem(rec, bad)
            return 400, {"error": "Missing number or text"}
        if not self.connected:
            return 401, {"error": "No session"}
        with self.lock:
            self.n += 1
            mid = "3EB0%018X" % (0xE2E000 + self.n)
        rec["messageid"] = mid
        msg = {"id": "%s:%s" % (OWNER, mid), "messageid": mid, "chatid": body["number"] + "@s.whatsapp.net",
               "fromMe": True, "isGroup": False, "wasSentByApi": True, "status": "sent",
               "messageType": {"/send/text": "text", "/send/media": body.get("type"),
                               "/send/menu": "button"}[path],
               "messageTimestamp": int(time.time() * 1000), "text": body.get("text", ""),
               "track_source": body.get("track_source", ""), "track_id": body.get("track_id", ""),
               "owner": OWNER}
        hang = self.hang_first.get(body["number"])
        with self.lock:
            if not hang or hang[1] or any(r["path"].startswith("/send/") and (r["body"] or {}).get("number") == body["number"]
                                          for r in self.requests):
                self.stored.append(msg)
        return 200, dict(msg, response={"status": "success", "message": "Message sent successfully"})

    @staticmethod
    def _check_send(path, body, keys):
        extra = set(body) - keys
        if extra:
            return "unknown fields %s" % sorted(extra)
        if not isinstance(body.get("number"), str) or not PHONE_RE.match(body["number"]):
            return "number must be a phone's digits"
        if not isinstance(body.get("track_id"), str) or not TRACK_ID_RE.match(body["track_id"]):
            return "track_id %r" % (body.get("track_id"),)
        if not isinstance(body.get("track_source"), str) or not TRACK_SOURCE_RE.match(body["track_source"]):
            return "track_source %r" % (body.get("track_source"),)
        if path == "/send/text":
            if not isinstance(body.get("text"), str) or not body["text"].strip():
                return "text is required"
        elif path == "/send/media":
            if body.get("type") not in MEDIA_TYPES:
                return "type %r" % (body.get("type"),)
            if not isinstance(body.get("file"), str) or not body["file"]:
                return "file is required"
        else:
            if body.get("type") not in ("button", "list", "poll", "carousel"):
                return "type %r" % (body.get("type"),)
            if not isinstance(body.get("text"), str) or not body["text"]:
                return "text is required"
            ch = body.get("choices")
            if not isinstance(ch, list) or not ch or not all(isinstance(c, str) and c for c in ch):
                return "choices must be a list of strings"
        return None

    def _status_body(self):
        if self.connected:
            return {"instance": {"id": "r1e2e001", "name": "disparo-e2e", "status": "connected",
                                 "profileName": "Loja", "owner": OWNER},
                    "status": {"connected": True, "loggedIn": True,
                               "jid": {"user": OWNER, "agent": 0, "device": 0, "server": "s.whatsapp.net"}}}
        return {"instance": {"id": "r1e2e001", "name": "disparo-e2e", "status": "disconnected",
                             "lastDisconnectReason": "logged out from another device"},
                "status": {"connected": False, "loggedIn": False, "jid": None}}

    # -- queries
    def sends(self, ok_only=True):
        return [r for r in self.snapshot() if r["path"].startswith("/send/")
                and (r["status"] == 200 or not ok_only)]

    def by_number(self):
        """number -> the successful send records to it."""
        out = {}
        for r in self.sends():
            out.setdefault(r["body"]["number"], []).append(r)
        return out

    def status_calls(self):
        return sum(1 for r in self.snapshot() if r["path"] == "/instance/status")


# -------------------------------------------------------------- webhook bodies

def receipt_event(ids, state, chat):
    """A messages_update event as uazapiGO posts it for a receipt."""
    return {"EventType": "messages_update", "type": "ReadReceipt", "state": state,
            "event": {"Chat": chat + "@s.whatsapp.net", "Sender": chat + "@s.whatsapp.net",
                      "IsFromMe": False, "IsGroup": False, "MessageIDs": list(ids),
                      "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Type": state},
            "owner": OWNER, "token": TOKEN, "instanceName": "disparo-e2e"}


def message_event(phone, text, quoted="", button_id="", from_me=False, message_type="Conversation"):
    """A messages event carrying one Message object."""
    mid = "3EB0%018X" % secrets.randbits(64)
    msg = {"id": "%s:%s" % (OWNER, mid), "messageid": mid, "chatid": phone + "@s.whatsapp.net",
           "fromMe": from_me, "isGroup": False, "wasSentByApi": from_me, "messageType": message_type,
           "messageTimestamp": int(time.time() * 1000), "sender": phone + "@s.whatsapp.net",
           "senderName": "Ana", "text": text, "quoted": quoted, "buttonOrListid": button_id,
           "status": "", "owner": OWNER}
    return {"EventType": "messages", "message": msg,
            "chat": {"wa_chatid": phone + "@s.whatsapp.net", "name": "Ana"},
            "owner": OWNER, "token": TOKEN, "instanceName": "disparo-e2e"}


class TestUazapi(E2ETest):
    deadline = 60.0
    autostart = False

    def setUp(self):
        super().setUp()
        # a held sender is asked again every 0.5 s instead of every 30 s
        self.srv = self.new_server(extra_args=["--hold-recheck-ms", "500"])
        self.api = self.srv.client()
        self.fake = FakeUazapi()
        self.addCleanup(self.fake.close)
        body = {"name": "uaz", "provider": "uazapi",
                "config": {"base_url": self.fake.base_url + "/", "token": TOKEN}}
        self.sender = self.ok(self.api.post("/senders", body), 201)
        self.sid = self.sender["id"]
        m = re.match(r"^/webhooks/(\d+)/([A-Za-z0-9_-]{16,128})$", self.sender["webhook_path"] or "")
        self.assertTrue(m, "the create answer's webhook_path carries the secret: %r" % self.sender)
        self.assertEqual(int(m.group(1)), self.sid)
        self.secret = m.group(2)
        self.hook = self.sender["webhook_path"]

    # -- helpers
    def post_hook(self, payload, path=None, headers=None):
        raw = json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        st, _, body = self.api.raw("POST", path or self.hook, raw, hdrs, token=None)
        return st, body

    # -- tests
    def test_sender_shape(self):
        s = self.sender
        self.assertEqual(s["provider"], "uazapi")
        self.assertEqual(s["rate_per_second"], 0, "QR gateways get no default rate")
        self.assertEqual(s["config"]["token"], "********")
        self.assertEqual(s["config"]["webhook_secret"], "********")
        self.assertNotIn(TOKEN, json.dumps(s))
        got = self.ok(self.api.get("/senders/%d" % self.sid))
        self.assertEqual(got["webhook_path"], "/webhooks/%d/********" % self.sid, "masked outside create")
        self.assertNotIn(self.secret, json.dumps(self.ok(self.api.get("/senders"))))
        h = self.wait_health_checked(self.sid)
        self.assertEqual(h["state"], "connected")
        self.assertIsNone(h["held_reason"])
        st = [r for r in self.fake.snapshot() if r["path"] == "/instance/status"]
        self.assertTrue(st and st[0]["method"] == "GET", st)
        st, body = self.api.post("/senders", {"name": "x", "provider": "uazapi",
                                              "config": {"base_url": self.fake.base_url}})
        self.assertEqual(st, 400, body)
        self.assertError(body, "bad_request", mentions=("token",))

    def test_text_media_and_button_campaigns(self):
        text_people = contacts(3, prefix="55119100")
        btn_people = contacts(2, prefix="55119200")
        media_people = contacts(1, prefix="55119300")
        c_text = self.campaign([self.sid], text_people, text="Oi {{name}}, promo!", start=True)
        c_btn = self.ok(self.api.post("/campaigns", {
            "name": "btn", "sender_ids": [self.sid], "contacts": btn_people,
            "message": {"text": "Quer receber ofertas, {{name}}?",
                        "buttons": [{"id": "sim", "title": "Sim"}, {"id": "nao", "title": "Não"}]},
            "interval": {"min_ms": 0, "max_ms": 0}, "start": True}), 201)
        c_media = self.ok(self.api.post("/campaigns", {
            "name": "media", "sender_ids": [self.sid], "contacts": media_people,
            "message": {"text": "Veja a foto", "media": {"url": "https://cdn.example.com/promo.jpg",
                                                         "kind": "image"}},
            "interval": {"min_ms": 0, "max_ms": 0}, "start": True}), 201)
        for c in (c_text, c_btn, c_media):
            self.wait_status(c["id"], "completed", 20)
        self.assertEqual(self.fake.problems, [])
        sends = self.fake.by_number()
        sources = set()
        for c, people, path in ((c_text, text_people, "/send/text"), (c_btn, btn_people, "/send/menu"),
                                (c_media, media_people, "/send/media")):
            msgs = self.messages_by_phone(c["id"])
            for p in people:
                m = msgs[p["phone"]]
                recs = sends.get(p["phone"], [])
                self.assertEqual(len(recs), 1, "one send to %s: %r" % (p["phone"], recs))
                r = recs[0]
                self.assertEqual(r["path"], path)
                self.assertEqual(r["headers"].get("token"), TOKEN)
                self.assertEqual(m["status"], "sent", m)
                self.assertEqual(m["attempts"], 1)
                self.assertEqual(m["provider_message_id"], r["messageid"], "the gateway's messageid")
                self.assertEqual(r["body"]["track_id"], "c%d-m%d" % (c["id"], m["id"]))
                sources.add(r["body"]["track_source"])
            self.assert_counts_exact(c["id"])
        self.assertEqual(len(sources), 1, "one track_source per sender: %r" % sources)
        t = sends[text_people[0]["phone"]][0]["body"]
        self.assertEqual(t["text"], "Oi C1, promo!")
        b = sends[btn_people[1]["phone"]][0]["body"]
        self.assertEqual(b["type"], "button")
        self.assertEqual(b["text"], "Quer receber ofertas, C2?")
        self.assertEqual(b["choices"], ["Sim|sim", "Não|nao"])
        md = sends[media_people[0]["phone"]][0]["body"]
        self.assertEqual((md["type"], md["file"], md.get("text")),
                         ("image", "https://cdn.example.com/promo.jpg", "Veja a foto"))
        self.assertTrue(self.sender_health(self.sid)["in_rotation"])

    def test_receipts_and_webhook_secret(self):
        people = contacts(3)
        c = self.campaign([self.sid], people, start=True)
        cid = c["id"]
        self.wait_status(cid, "completed", 20)
        msgs = self.messages_by_phone(cid)
        a, b, d = (msgs[p["phone"]] for p in people)
        ida, idb = a["provider_message_id"], b["provider_message_id"]
        self.assertTrue(ida and idb)
        before = self.get_campaign(cid)["counts"]

        # wrong secret, no secret, a wrong X-Disparo-Secret, a secret of the wrong case: 401, nothing moves
        ev = receipt_event([ida, idb], "Delivered", a["phone"])
        base = "/webhooks/%d" % self.sid
        for path, hdrs in ((base + "/" + "0" * 32, None), (base, None),
                           (base, {"X-Disparo-Secret": "x" * 32}),
                           (base + "/" + self.secret.upper(), None) if self.secret != self.secret.upper()
                           else (base + "/" + self.secret[:-1], None)):
            st, body = self.post_hook(ev, path=path, headers=hdrs)
            self.assertEqual(st, 401, (path, hdrs, body))
        self.assertEqual(self.get_campaign(cid)["counts"], before)
        self.assertEqual({m["status"] for m in self.messages(cid)}, {"sent"})

        # Delivered for a and b in one event, then Read for b
        st, body = self.post_hook(ev)
        self.assertEqual(st, 200, body)
        st, body = self.post_hook(receipt_event([idb], "Read", b["phone"]))
        self.assertEqual(st, 200, body)
        msgs = self.messages_by_phone(cid)
        self.assertEqual(msgs[a["phone"]]["status"], "delivered")
        self.assertIsNotNone(msgs[a["phone"]]["delivered_at"])
        self.assertEqual(msgs[b["phone"]]["status"], "read")
        self.assertIsNotNone(msgs[b["phone"]]["read_at"])
        self.assertEqual(msgs[d["phone"]]["status"], "sent")
        # replays and a late Delivered after Read change nothing
        counts = self.get_campaign(cid)["counts"]
        self.assertEqual(self.post_hook(ev)[0], 200)
        self.assertEqual(self.post_hook(receipt_event([idb], "Delivered", b["phone"]))[0], 200)
        self.assertEqual(self.get_campaign(cid)["counts"], counts)
        self.assertEqual(self.messages_by_phone(cid)[b["phone"]]["status"], "read")
        # the secret in X-Disparo-Secret on the bare path is accepted too
        st, body = self.post_hook(receipt_event([ida], "Read", a["phone"]), path=base,
                                  headers={"X-Disparo-Secret": self.secret})
        self.assertEqual(st, 200, body)
        self.assertEqual(self.messages_by_phone(cid)[a["phone"]]["status"], "read")
        c = self.assert_counts_exact(cid)
        self.assertEqual((c["counts"]["sent"], c["counts"]["delivered"], c["counts"]["read"]), (1, 0, 2))

    def test_inbound_reply_and_button_click(self):
        people = contacts(2, prefix="55119400")
        btn_people = contacts(1, prefix="55119500")
        c = self.campaign([self.sid], people, start=True)
        cb = self.ok(self.api.post("/campaigns", {
            "name": "btn", "sender_ids": [self.sid], "contacts": btn_people,
            "message": {"text": "Quer ofertas?", "buttons": [{"id": "sim", "title": "Sim"}]},
            "interval": {"min_ms": 0, "max_ms": 0}, "start": True}), 201)
        self.wait_status(c["id"], "completed", 20)
        self.wait_status(cb["id"], "completed", 20)
        a, b = (self.messages_by_phone(c["id"])[p["phone"]] for p in people)
        d = self.messages_by_phone(cb["id"])[btn_people[0]["phone"]]

        # our own message echoed back (fromMe, sent by the API) is no reply; nor is a wrong secret
        st, _ = self.post_hook(message_event(a["phone"], "Oi C1", from_me=True, message_type="ExtendedTextMessage"))
        self.assertEqual(st, 200)
        st, _ = self.post_hook(message_event(a["phone"], "Quero"), path="/webhooks/%d/%s" % (self.sid, "z" * 32))
        self.assertEqual(st, 401)
        self.assertEqual(self.get_campaign(c["id"])["counts"]["replied"], 0)
        self.assertIsNone(self.messages_by_phone(c["id"])[a["phone"]]["reply"])

        # a contact's answer quoting our message
        st, body = self.post_hook(message_event(a["phone"], "Quero saber mais", quoted=a["provider_message_id"],
                                                message_type="ExtendedTextMessage"))
        self.assertEqual(st, 200, body)
        c1 = self.get_campaign(c["id"])
        self.assertEqual((c1["counts"]["replied"], c1["counts"]["clicked"]), (1, 0), c1["counts"])
        m = self.messages_by_phone(c["id"])[a["phone"]]
        self.assertEqual(m["reply"]["text"], "Quero saber mais")
        self.assertIsNone(m["reply"]["button_id"])
        self.assertIsNotNone(m["reply"]["at"])
        self.assertIsNone(self.messages_by_phone(c["id"])[b["phone"]]["reply"])
        # a stranger's message changes nothing
        st, _ = self.post_hook(message_event("5511988887777", "quem é?"))
        self.assertEqual(st, 200)

        # a button click on the button campaign
        st, body = self.post_hook(message_event(d["phone"], "Sim", quoted=d["provider_message_id"],
                                                button_id="sim", message_type="ButtonsResponseMessage"))
        self.assertEqual(st, 200, body)
        c2 = self.get_campaign(cb["id"])
        self.assertEqual((c2["counts"]["replied"], c2["counts"]["clicked"]), (1, 1), c2["counts"])
        m = self.messages_by_phone(cb["id"])[d["phone"]]
        self.assertEqual((m["reply"]["text"], m["reply"]["button_id"]), ("Sim", "sim"))
        self.assertIsNotNone(m["clicked_at"])
        self.assertEqual(self.get_campaign(c["id"])["counts"]["replied"], 1, "the click went to its own campaign")

    def test_timeout_retry_asks_message_find_first(self):
        # a send whose answer never came may have gone out: with resend_unknown the retry
        # first looks for it by track_id, and sends again only if the gateway has none
        s = self.ok(self.api.patch("/senders/%d" % self.sid, {"config": {"timeout_ms": 500}}))
        self.assertEqual(s["config"]["timeout_ms"], 500)
        went, lost = "5511966660001", "5511966660002"
        self.fake.hang_first = {went: (1.5, True), lost: (1.5, False)}
        people = [{"phone": went, "name": "W"}, {"phone": lost, "name": "L"}] + contacts(1)
        cid = self.campaign([self.sid], people, resend_unknown=True, start=True)["id"]
        c = self.wait_status(cid, "completed", 20)
        self.assertEqual(c["counts"]["sent"], 3, c["counts"])
        msgs = self.messages_by_phone(cid)
        sends = {}
        for r in self.fake.sends(ok_only=False):
            sends.setdefault(r["body"]["number"], []).append(r)
        finds = [r for r in self.fake.snapshot() if r["path"] == "/message/find"]
        self.assertEqual(len(finds), 2, "one look-up per retried message: %r" % [f["body"] for f in finds])
        m = msgs[went]
        self.assertEqual((m["status"], m["attempts"]), ("sent", 2), m)
        self.assertEqual(len(sends[went]), 1, "found by track_id: not sent twice")
        self.assertEqual(m["provider_message_id"], sends[went][0]["messageid"], "the first send's id")
        m = msgs[lost]
        self.assertEqual((m["status"], m["attempts"]), ("sent", 2), m)
        self.assertEqual(len(sends[lost]), 2, "not found: sent again")
        self.assertEqual(m["provider_message_id"], sends[lost][1]["messageid"])
        self.assertEqual(sends[lost][0]["body"]["track_id"], sends[lost][1]["body"]["track_id"])
        for f in finds:
            self.assertIn(f["body"]["track_id"], {"c%d-m%d" % (cid, msgs[p]["id"]) for p in (went, lost)})
            self.assertEqual(f["body"]["track_source"], sends[went][0]["body"]["track_source"])
        self.assertEqual(self.fake.problems, [])
        self.assert_counts_exact(cid)

    def test_disconnected_instance_is_held_then_recovers(self):
        self.wait_health_checked(self.sid)
        self.fake.connected = False           # the phone lost its session
        people = contacts(5)
        other = contacts(2, prefix="55119800")     # a second campaign on the same sender
        c = self.campaign([self.sid], people, start=True)
        cid = c["id"]
        cid2 = self.campaign([self.sid], other, start=True)["id"]
        h = wait_until(lambda: (lambda h: not h["in_rotation"] and h)(self.sender_health(self.sid)), 10,
                       "the sender leaves rotation")
        self.assertIn("disconnected", h["held_reason"] or "", h)
        # the sends in flight when it went come back too
        wait_until(lambda: self.get_campaign(cid)["counts"]["sending"] == 0 and
                   self.get_campaign(cid2)["counts"]["sending"] == 0, 5, "no message left sending")
        refused = {r["body"]["number"] for r in self.fake.sends(ok_only=False) if r["status"] == 401}
        n_refused = len(self.fake.sends(ok_only=False))
        self.assertEqual(n_refused, len(refused), "each refused phone was tried once")
        self.assertTrue(refused, "the fake refused at least one send")
        for k in (cid, cid2):
            wait_until(lambda: any(e["type"] == "sender_held" and e["detail"].get("sender_id") == self.sid
                                   for e in self.events(k)), 5, "a sender_held event on campaign %d" % k)
            wait_until(lambda: self.get_campaign(k)["state_reason"] == "no_sender", 5, "no_sender")
        # the messages it could not take are queued again, with no attempt counted
        msgs = self.messages_by_phone(cid)
        msgs.update(self.messages_by_phone(cid2))
        for p in people + other:
            m = msgs[p["phone"]]
            self.assertEqual(m["status"], "queued", m)
            self.assertEqual(m["attempts"], 0, "a disconnected gateway costs no attempt: %r" % m)
        for phone in refused:
            self.assertEqual((msgs[phone]["error"] or {}).get("code"), "uazapi_disconnected", msgs[phone])
        c = self.get_campaign(cid)
        self.assertEqual((c["status"], c["counts"]["queued"], c["counts"]["failed"]), ("running", 5, 0), c)
        # while held it is asked again every --hold-recheck-ms
        n0 = self.fake.status_calls()
        wait_until(lambda: self.fake.status_calls() >= n0 + 2, 5, "health rechecks while held")
        self.assertEqual(self.sender_health(self.sid)["state"], "disconnected")
        self.assertFalse(self.sender_health(self.sid)["in_rotation"])
        self.assertEqual(len(self.fake.sends(ok_only=False)), n_refused, "nothing is sent to a held sender")

        self.fake.connected = True            # scanned the QR code again
        wait_until(lambda: self.sender_health(self.sid)["in_rotation"], 5, "the sender comes back by itself")
        self.assertIsNone(self.sender_health(self.sid)["held_reason"])
        c = self.wait_status(cid, "completed", 20)
        self.assertEqual(c["counts"]["sent"], 5, c["counts"])
        self.assertEqual(self.wait_status(cid2, "completed", 5)["counts"]["sent"], 2)
        by = self.fake.by_number()
        for m in self.messages(cid) + self.messages(cid2):
            self.assertEqual(m["status"], "sent", m)
            self.assertEqual(m["attempts"], 1, m)
            self.assertEqual(len(by[m["phone"]]), 1, "one successful send per phone")
            self.assertEqual(m["provider_message_id"], by[m["phone"]][0]["messageid"])
        self.assertEqual(self.fake.problems, [])
        self.assert_counts_exact(cid)
        self.assert_counts_exact(cid2)


if __name__ == "__main__":
    unittest.main()
