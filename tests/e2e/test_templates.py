"""Templates: variables, spintax, greeting, missing variables, preview."""

import re
import unittest
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from harness import E2ETest, contacts


def csv_rows(payload):
    import csv
    import io
    return list(csv.reader(io.StringIO(payload.decode("utf-8"))))


def greeting(dt):
    h = dt.hour
    if 5 <= h < 12:
        return "Bom dia"
    if 12 <= h < 18:
        return "Boa tarde"
    return "Boa noite"


class TestTemplates(E2ETest):
    def test_rendered_text_reaches_the_gateway(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        people = [{"phone": "5511900000001", "name": "Ana", "vars": {"cidade": "Recife"}},
                  {"phone": "5511900000002", "name": "Bruno", "vars": {"cidade": "Natal", "extra": "x"}},
                  {"phone": "+55 11 90000-0003", "name": "Cida", "vars": {"cidade": "São Luís"}}]
        c = self.campaign([s["id"]], people, text="Oi {{name}} de {{cidade}} ({{phone}})! [[A|B|C]]", start=True)
        self.wait_status(c["id"], "completed", 20)
        got = {r["to"]: r["body"]["text"] for r in recv.snapshot()}
        self.assertEqual(set(got), {"5511900000001", "5511900000002", "5511900000003"}, got)
        for phone, name, city in (("5511900000001", "Ana", "Recife"), ("5511900000002", "Bruno", "Natal"),
                                  ("5511900000003", "Cida", "São Luís")):
            self.assertRegex(got[phone], "^" + re.escape("Oi %s de %s (%s)! " % (name, city, phone)) + "[ABC]$")
        # the webhook body and headers follow the contract
        msgs = {m["phone"]: m for m in self.messages(c["id"])}
        for r in recv.snapshot():
            b = r["body"]
            m = msgs[r["to"]]
            self.assertEqual(b["message_id"], m["id"])
            self.assertEqual(b["campaign_id"], c["id"])
            self.assertEqual(b["idempotency_key"], "c%d-m%d" % (c["id"], m["id"]))
            self.assertEqual(r["headers"].get("idempotency-key"), b["idempotency_key"])
            self.assertTrue(r["headers"].get("content-type", "").startswith("application/json"), r["headers"])
            self.assertEqual(m["provider_message_id"], r["id"], "provider_message_id is the reply's id")
            self.assertEqual(m["status"], "sent")
        self.assert_counts_exact(c["id"])

    def test_unicode_and_escapes_survive(self):
        recv = self.receiver()
        s = self.webhook_sender(recv)
        name = 'Zé "Aspas" \\ Barra 🎉 ção'
        text = "Olá {{name}}! Linha 1\nLinha 2\t✓ {{nota}}"
        c = self.campaign([s["id"]], [{"phone": "5511900000001", "name": name, "vars": {"nota": "100% <ok> & 'x'"}}],
                          text=text, name='Campanha "Ç" 🎉', start=True)
        self.assertEqual(c["name"], 'Campanha "Ç" 🎉')
        self.assertEqual(c["message"]["text"], text)
        self.wait_status(c["id"], "completed", 20)
        self.assertEqual([r["body"]["text"] for r in recv.snapshot()],
                         ["Olá %s! Linha 1\nLinha 2\t✓ 100%% <ok> & 'x'" % name])
        self.assertEqual(self.messages(c["id"])[0]["name"], name)
        rows = [r for r in csv_rows(self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % c["id"])[2])]
        self.assertEqual(rows[1][2], name, "export.csv must quote/escape the name")
        self.assertEqual(len(rows), 2)

    def test_spintax_varies(self):
        body = self.ok(self.api.post("/campaigns/preview", {
            "message": {"text": "[[Oi|Olá|E aí]] {{name}}"}, "contacts": contacts(30), "limit": 30}))
        texts = [p["text"] for p in body["previews"]]
        self.assertEqual(len(texts), 30)
        firsts = set()
        for t in texts:
            m = re.match(r"^(Oi|Olá|E aí) C\d+$", t)
            self.assertIsNotNone(m, t)
            firsts.add(m.group(1))
        self.assertGreaterEqual(len(firsts), 2, "30 spins all chose the same option")

    def test_greeting(self):
        people = contacts(1)
        before = datetime.now(timezone.utc)
        body = self.ok(self.api.post("/campaigns/preview", {
            "message": {"text": "{{greeting}}, {{name}}"}, "contacts": people,
            "window": {"timezone": "UTC", "days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}}))
        after = datetime.now(timezone.utc)
        self.assertIn(body["previews"][0]["text"], {"%s, C1" % greeting(before), "%s, C1" % greeting(after)})
        # without a window: America/Sao_Paulo
        before = datetime.now(ZoneInfo("America/Sao_Paulo"))
        body = self.ok(self.api.post("/campaigns/preview", {"message": {"text": "{{greeting}}"}, "contacts": people}))
        after = datetime.now(ZoneInfo("America/Sao_Paulo"))
        self.assertIn(body["previews"][0]["text"], {greeting(before), greeting(after)})

    def test_missing_vars(self):
        people = [{"phone": "5511900000001", "name": "Ana", "vars": {"cidade": "Recife"}},
                  {"phone": "5511900000002", "name": "Bruno"},
                  {"phone": "5511900000003", "name": "Cida", "vars": {"bairro": "Centro"}}]
        body = {"name": "mv", "sender_ids": [1], "message": {"text": "{{name}} {{cidade}} {{bairro}}"},
                "contacts": people}
        st, resp = self.api.post("/campaigns", body)
        self.assertEqual(st, 400, resp)
        self.assertError(resp, "missing_vars")
        self.assertEqual(resp["error"].get("missing"), {"cidade": 2, "bairro": 2}, resp)
        self.assertEqual(self.ok(self.api.get("/campaigns"))["campaigns"], [])
        body["allow_missing_vars"] = True
        c = self.ok(self.api.post("/campaigns", body), 201)
        self.assertEqual(c["counts"]["total"], 3)
        self.assertEqual(c["status"], "draft")

    def test_preview(self):
        people = [{"phone": "5511900000001", "name": "Ana", "vars": {"cidade": "Recife"}},
                  {"phone": "5511900000002", "name": "Bruno"},
                  {"phone": "5511900000003", "name": "Cida", "vars": {"cidade": "Natal"}}]
        body = self.ok(self.api.post("/campaigns/preview", {"message": {"text": "{{name}}/{{cidade}}"},
                                                            "contacts": people}))
        self.assertEqual(body.get("missing"), {"cidade": 1}, body)
        prev = {p["phone"]: p["text"] for p in body["previews"]}
        self.assertEqual(len(body["previews"]), 3)
        self.assertEqual(prev["5511900000001"], "Ana/Recife")
        self.assertEqual(prev["5511900000003"], "Cida/Natal")
        self.assertTrue(prev["5511900000002"].startswith("Bruno/"), prev)
        # limit, default 5
        body = self.ok(self.api.post("/campaigns/preview", {"message": {"text": "{{name}}"},
                                                            "contacts": contacts(8), "limit": 2}))
        self.assertEqual(len(body["previews"]), 2)
        self.assertFalse(body.get("missing"))
        body = self.ok(self.api.post("/campaigns/preview", {"message": {"text": "{{name}}"},
                                                            "contacts": contacts(8)}))
        self.assertEqual(len(body["previews"]), 5)
        for p in body["previews"]:
            self.assertRegex(p["text"], r"^C\d$")
            self.assertEqual(p["text"], "C%d" % int(p["phone"][-5:]))
        # a preview creates nothing
        self.assertEqual(self.ok(self.api.get("/campaigns"))["campaigns"], [])
        st, resp = self.api.post("/campaigns/preview", {"contacts": contacts(1)})
        self.assertEqual(st, 400, resp)
        self.assertError(resp, "bad_request", mentions=("message",))


if __name__ == "__main__":
    unittest.main()
