"""Restriction lists as operators manage them: custom lists, entries added,
imported, exported and removed over the API, the counts a campaign's creation
reports, exclude_restricted, keyword rules aimed at a custom list, workspace
isolation and the `disparo restrict` / `disparo keywords` commands."""

import datetime
import socket
import json
import subprocess
import time
import unittest

from harness import E2ETest, disparo_bin, parse_csv, wait_until

A = "5511987650101"
B = "5511987650102"
C = "5511987650103"
D = "5511987650104"
E = "5511987650105"


class TestRestrictions(E2ETest):
    deadline = 60.0

    def new_list(self, name, days=0):
        return self.ok(self.api.post("/restriction-lists", {"name": name, "retention_days": days}), 201)

    def add(self, lid, phone, status=201, **kw):
        body = {"phone": phone}
        body.update(kw)
        return self.ok(self.api.post("/restriction-lists/%d/entries" % lid, body), status)

    def lists_by_name(self):
        return {l["name"]: l for l in self.ok(self.api.get("/restriction-lists"))["restriction_lists"]}

    def test_lists_crud_and_builtins(self):
        lists = self.lists_by_name()
        for b in ("do_not_disturb", "blocked", "not_interested", "no_whatsapp"):
            self.assertIn(b, lists)
            self.assertTrue(lists[b]["builtin"])
        self.assertEqual(lists["blocked"]["retention_days"], 365)
        self.assertEqual(lists["do_not_disturb"]["retention_days"], 0)
        vip = self.new_list("vip-optout", 30)
        self.assertFalse(vip["builtin"])
        self.assertEqual(vip["entries"], 0)
        self.assertStatus(self.api.post("/restriction-lists", {"name": "vip-optout"}), 409, "conflict")
        self.assertStatus(self.api.post("/restriction-lists", {"name": "blocked"}), 409, "conflict")
        self.assertStatus(self.api.post("/restriction-lists", {"name": "Has Space"}), 400, "bad_request")
        self.assertStatus(self.api.post("/restriction-lists", {"name": "x", "retention_days": -1}), 400)
        renamed = self.ok(self.api.patch("/restriction-lists/%d" % vip["id"], {"name": "vip", "retention_days": 7}))
        self.assertEqual((renamed["name"], renamed["retention_days"]), ("vip", 7))
        err = self.assertStatus(self.api.delete("/restriction-lists/%d" % lists["blocked"]["id"]), 400, "bad_request")
        self.assertIn("built-in", err["error"]["message"])
        self.assertStatus(self.api.patch("/restriction-lists/%d" % lists["blocked"]["id"], {"retention_days": 1}), 400)
        # retention is fixed when an entry is added: 7 days from now
        ent = self.add(vip["id"], A, reason="pediu")
        self.assertEqual(ent["source"], "manual")
        self.assertIsNone(ent["sender_id"])
        self.assertTrue(ent["active"])
        self.assertIsNotNone(ent["expires_at"])
        self.assertEqual(self.ok(self.api.get("/restriction-lists/%d" % vip["id"]))["entries"], 1)
        self.assertStatus(self.api.delete("/restriction-lists/%d" % vip["id"]), 204)
        self.assertStatus(self.api.get("/restriction-lists/%d" % vip["id"]), 404, "not_found")
        self.assertFalse(self.ok(self.api.get("/restrictions/check?phone=" + A))["restricted"])

    def test_entries_paging_check_and_remove_alt_form(self):
        lid = self.new_list("paging")["id"]
        phones = ["55119876%05d" % i for i in range(1, 8)]
        rep = self.ok(self.api.post("/restriction-lists/%d/entries" % lid,
                                    {"phones": phones + ["12x"], "reason": "lote"}))
        self.assertEqual((rep["added"], rep["updated"]), (7, 0))
        self.assertEqual(len(rep["invalid"]), 1)
        self.assertEqual(rep["invalid"][0]["index"], 7)
        seen, after = [], None
        while True:
            q = "limit=3" + ("&after=%d" % after if after else "")
            page = self.ok(self.api.get("/restriction-lists/%d/entries?%s" % (lid, q)))
            seen += [e["phone"] for e in page["entries"]]
            after = page["next_after"]
            if after is None:
                break
        self.assertEqual(seen, phones)
        self.assertStatus(self.api.get("/restriction-lists/%d/entries?limit=1001" % lid), 400)
        # refreshing an entry answers 200, not 201
        self.add(lid, phones[0], status=200, reason="de novo")
        # per-sender entry: restricts that sender only
        other = self.sandbox_sender("outro")
        self.add(lid, B, sender_id=other["id"])
        chk = self.ok(self.api.get("/restrictions/check?phone=%s&sender_id=%d" % (B, other["id"])))
        self.assertTrue(chk["restricted"])
        self.assertEqual(chk["lists"], ["paging"])
        self.assertFalse(self.ok(self.api.get("/restrictions/check?phone=%s&sender_id=1" % B))["restricted"])
        self.assertStatus(self.api.post("/restriction-lists/%d/entries" % lid, {"phone": C, "sender_id": 99999}), 400)
        self.assertStatus(self.api.get("/restrictions/check?phone=%s&sender_id=99999" % B), 400)
        self.assertStatus(self.api.post("/restriction-lists/%d/entries" % lid, {"phone": "12"}), 400, "bad_request")
        # the 8-digit form of a mobile is the same person: check and remove find it
        self.add(lid, C)
        old_form = C[:4] + C[5:]
        self.assertTrue(self.ok(self.api.get("/restrictions/check?phone=" + old_form))["restricted"])
        gone = self.ok(self.api.delete("/restriction-lists/%d/entries/%s" % (lid, old_form)))
        self.assertEqual(gone["removed"], 1)
        self.assertFalse(self.ok(self.api.get("/restrictions/check?phone=" + C))["restricted"])
        self.assertStatus(self.api.delete("/restriction-lists/%d/entries/%s" % (lid, C)), 404, "not_found")
        # an explicit expiry in the past is refused; a future one is kept
        self.assertStatus(self.api.post("/restriction-lists/%d/entries" % lid,
                                        {"phone": D, "expires_at": "2001-01-01T00:00:00Z"}), 400)
        ent = self.add(lid, D, expires_at="2099-01-01T00:00:00Z")
        self.assertTrue(ent["expires_at"].startswith("2099-01-01"))

    def test_campaign_counts_skips_and_exclusion(self):
        custom = self.new_list("pediu-pra-sair")
        lists = self.lists_by_name()
        self.add(custom["id"], A)
        self.add(custom["id"], B)
        self.add(lists["blocked"]["id"], C)
        # restricted for another sender only: not counted, sent
        other = self.sandbox_sender("so-este")
        self.add(custom["id"], D, sender_id=other["id"])
        audience = [{"phone": p} for p in (A, B, C, D, E)]
        c = self.campaign([1], audience, text="Oi")
        self.assertEqual(c["restricted"]["total"], 3, c["restricted"])
        self.assertEqual(c["restricted"]["by_list"], {"pediu-pra-sair": 2, "blocked": 1})
        self.assertEqual(c["restricted"]["excluded"], 0)
        self.assertEqual(c["counts"]["total"], 5)
        self.ok(self.api.post("/campaigns/%d/start" % c["id"]))
        done = self.wait_status(c["id"], "completed", 20)
        self.assertEqual(done["counts"]["skipped"], 3, done["counts"])
        self.assertEqual(done["counts"]["sent"] + done["counts"]["delivered"] + done["counts"]["read"], 2)
        msgs = {m["phone"]: m for m in self.messages(c["id"])}
        for p, name in ((A, "pediu-pra-sair"), (B, "pediu-pra-sair"), (C, "blocked")):
            self.assertEqual(msgs[p]["status"], "skipped", msgs[p])
            self.assertEqual(msgs[p]["error"]["code"], "restricted")
            self.assertIn(name, msgs[p]["error"]["detail"])
        self.assert_counts_exact(c["id"])
        prev = self.ok(self.api.post("/campaigns/preview", {"message": {"text": "Oi"}, "contacts": audience}))
        self.assertEqual(prev["restricted"]["total"], 3, prev)
        self.assertEqual(prev["contacts"], 5)
        prev = self.ok(self.api.post("/campaigns/preview", {"message": {"text": "Oi"}, "contacts": audience,
                                                            "exclude_restricted": True}))
        self.assertEqual(prev["contacts"], 2, prev)
        # excluded: no message at all for them
        x = self.campaign([1], audience, text="Oi", exclude_restricted=True)
        self.assertEqual(x["counts"]["total"], 2, x["counts"])
        self.assertEqual(x["restricted"]["excluded"], 3)
        # a sender-specific entry counts once every sender of the campaign is covered
        y = self.campaign([other["id"]], audience, text="Oi")
        self.assertEqual(y["restricted"]["total"], 4, y["restricted"])
        self.assertStatus(self.api.post("/campaigns", {"name": "z", "sender_ids": [1], "message": {"text": "x"},
                                                       "contacts": audience, "exclude_restricted": "yes"}), 400)
        # removed from the list: the next campaign sends to it
        self.ok(self.api.delete("/restriction-lists/%d/entries/%s" % (custom["id"], A)))
        z = self.campaign([1], [{"phone": A}], text="Oi", start=True)
        self.assertEqual(z["restricted"]["total"], 0)
        z = self.wait_status(z["id"], "completed", 10)
        self.assertEqual(z["counts"]["skipped"], 0, z["counts"])

    def test_import_and_export_round_trip(self):
        lid = self.new_list("importada", 0)["id"]
        csv_body = ("phone,reason\n"
                    "%s,pediu\n"
                    "telefone ruim,x\n"
                    "%s,\n"
                    "%s,repetido\n"
                    ",\n"
                    "+55 (11) 98765-0104,\"com, virgula\"\n" % (A, B, A))
        st, rep = self.api.request("POST", "/api/v1/restriction-lists/%d/import" % lid, raw_body=csv_body.encode(),
                                   content_type="text/csv")
        self.assertEqual(st, 200, rep)
        self.assertEqual((rep["imported"], rep["updated"], rep["duplicates"]), (3, 0, 1), rep)
        self.assertEqual([i["line"] for i in rep["invalid"]], [3, 6], rep)
        self.assertEqual(rep["invalid_count"], 2)
        # a second import of the same phones only refreshes them
        st, rep = self.api.request("POST", "/api/v1/restriction-lists/%d/import" % lid,
                                   raw_body=("%s\n%s\n" % (A, C)).encode(), content_type="text/csv")
        self.assertEqual((rep["imported"], rep["updated"]), (1, 1), rep)
        st, hdrs, body = self.api.raw("GET", "/api/v1/restriction-lists/%d/export.csv" % lid)
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/csv"))
        rows = parse_csv(body.decode())
        self.assertEqual(rows[0], ["phone", "sender_id", "reason", "source", "created_at", "expires_at"])
        by_phone = {r[0]: r for r in rows[1:]}
        self.assertEqual(sorted(by_phone), sorted([A, B, C, D]))
        self.assertEqual(by_phone[D][2], "com, virgula")
        self.assertEqual(by_phone[A][3], "import")
        self.assertEqual(by_phone[A][5], "")
        # the export imports back into another list unchanged
        lid2 = self.new_list("copia")["id"]
        st, rep = self.api.request("POST", "/api/v1/restriction-lists/%d/import" % lid2, raw_body=body,
                                   content_type="text/csv")
        self.assertEqual((st, rep["imported"], rep["invalid_count"]), (200, 4, 0), rep)
        st, _, body2 = self.api.raw("GET", "/api/v1/restriction-lists/%d/export.csv" % lid2)
        self.assertEqual(sorted(r[0] for r in parse_csv(body2.decode())[1:]), sorted(by_phone))

    def test_export_streams_many_pages(self):
        n = 50000  # megabytes of CSV: more than the socket buffers hold, so pages wait for the client
        lid = self.new_list("grande")["id"]
        csv_body = "".join("55219%08d\n" % i for i in range(n))
        st, rep = self.api.request("POST", "/api/v1/restriction-lists/%d/import" % lid, raw_body=csv_body.encode(),
                                   content_type="text/csv", timeout=60)
        self.assertEqual(rep["imported"], n, rep)
        # clients that leave mid-stream: nothing leaks (the sanitizers check at stop), the server goes on
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", self.srv.port))
            sock.sendall(("GET /api/v1/restriction-lists/%d/export.csv HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer %s\r\n\r\n" % (lid, self.srv.token)).encode())
            self.assertIn(b"200", sock.recv(4096))
            sock.close()
        st, hdrs, body = self.api.raw("GET", "/api/v1/restriction-lists/%d/export.csv" % lid, timeout=60)
        self.assertEqual(hdrs.get("transfer-encoding"), "chunked")
        rows = parse_csv(body.decode())
        self.assertEqual(len(rows), n + 1)
        self.assertEqual(len({r[0] for r in rows[1:]}), n)

    def test_expired_entries_are_purged_in_the_background(self):
        lid = self.new_list("expira")["id"]
        soon = time.time() + 1.0
        stamp = datetime.datetime.fromtimestamp(soon, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stamp = stamp[:23] + "Z"
        self.add(lid, A, expires_at=stamp)
        self.add(lid, B)
        self.assertTrue(self.ok(self.api.get("/restrictions/check?phone=" + A))["restricted"])
        wait_until(lambda: not self.ok(self.api.get("/restrictions/check?phone=" + A))["restricted"], 5,
                   "the entry to stop applying")
        # still stored until the purge (first run 10 s after start) deletes it
        wait_until(lambda: "expired restrictions purged" in self.srv.log_text(), 20, "the purge's log line")
        self.assertIn("entries=1", [l for l in self.srv.log_text().splitlines() if "expired restrictions purged" in l][0])
        left = self.ok(self.api.get("/restriction-lists/%d/entries?include_expired=1" % lid))["entries"]
        self.assertEqual([e["phone"] for e in left], [B])

    def test_keyword_rule_to_custom_list(self):
        rules = self.ok(self.api.get("/keyword-rules"))["keyword_rules"]
        self.assertEqual(sorted(r["keyword"] for r in rules), ["CANCELAR", "DESCADASTRAR", "PARAR", "SAIR", "STOP"])
        lst = self.new_list("nao-quer")
        self.assertStatus(self.api.post("/keyword-rules", {"keyword": "X", "match": "fuzzy"}), 400)
        self.assertStatus(self.api.post("/keyword-rules", {"keyword": "X", "list": "nope"}), 400)
        self.assertStatus(self.api.post("/keyword-rules", {"keyword": ""}), 400)
        rule = self.ok(self.api.post("/keyword-rules", {"keyword": "NAO QUERO", "match": "exact",
                                                        "list": "nao-quer"}), 201)
        self.assertEqual((rule["match"], rule["case_sensitive"], rule["list"]), ("exact", False, "nao-quer"))
        # a list a rule points at cannot go
        self.assertStatus(self.api.delete("/restriction-lists/%d" % lst["id"]), 409, "conflict")
        replier = self.sandbox_sender("responde-nao", delivered_after_ms=20, reply_rate=1, reply_text="Não quero!")
        c = self.campaign([replier["id"]], [{"phone": E}], text="Oi", start=True)
        self.wait_status(c["id"], "completed", 10)
        wait_until(lambda: self.ok(self.api.get("/restrictions/check?phone=" + E))["restricted"], 10, "the opt-out")
        chk = self.ok(self.api.get("/restrictions/check?phone=" + E))
        self.assertEqual(chk["lists"], ["nao-quer"])
        self.assertEqual(chk["entries"][0]["source"], "keyword")
        # renaming the list carries the rule along
        self.ok(self.api.patch("/restriction-lists/%d" % lst["id"], {"name": "nao-quer-mais"}))
        self.assertEqual(self.ok(self.api.get("/keyword-rules/%d" % rule["id"]))["list"], "nao-quer-mais")
        patched = self.ok(self.api.patch("/keyword-rules/%d" % rule["id"], {"match": "contains"}))
        self.assertEqual(patched["match"], "contains")
        # every rule deleted stays deleted
        for r in self.ok(self.api.get("/keyword-rules"))["keyword_rules"]:
            self.assertStatus(self.api.delete("/keyword-rules/%d" % r["id"]), 204)
        self.assertEqual(self.ok(self.api.get("/keyword-rules"))["keyword_rules"], [])
        self.assertStatus(self.api.delete("/keyword-rules/%d" % rule["id"]), 404)

    def test_cross_workspace_isolation(self):
        lid = self.new_list("minha")["id"]
        self.add(lid, A)
        ws = self.ok(self.api.post("/workspaces", {"name": "cliente"}), 201)
        other = self.srv.client(token=ws["token"])
        self.assertStatus(other.get("/restriction-lists/%d" % lid), 404, "not_found")
        self.assertStatus(other.get("/restriction-lists/%d/entries" % lid), 404)
        self.assertStatus(other.post("/restriction-lists/%d/entries" % lid, {"phone": B}), 404)
        self.assertStatus(other.delete("/restriction-lists/%d/entries/%s" % (lid, A)), 404)
        self.assertStatus(other.delete("/restriction-lists/%d" % lid), 404)
        st, _, _ = other.raw("GET", "/api/v1/restriction-lists/%d/export.csv" % lid)
        self.assertEqual(st, 404)
        self.assertFalse(self.ok(other.get("/restrictions/check?phone=" + A))["restricted"])
        names = [l["name"] for l in self.ok(other.get("/restriction-lists"))["restriction_lists"]]
        self.assertNotIn("minha", names)
        mine = [r["id"] for r in self.ok(self.api.get("/keyword-rules"))["keyword_rules"]]
        self.assertStatus(other.delete("/keyword-rules/%d" % mine[0]), 404)

    def cli(self, *args):
        p = subprocess.run([disparo_bin()] + list(args) + ["--url", self.srv.base, "--token", self.srv.token],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            self.assertNotIn(mark, err)
        return p.returncode, out, err

    def test_cli(self):
        rc, out, err = self.cli("restrict", "create-list", "cli-list", "--retention-days", "3")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("restrict", "add", "cli-list", A, "--reason", "telefone")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("restrict", "check", A)
        self.assertEqual(rc, 0, err)
        self.assertIn("cli-list", out)
        rc, out, err = self.cli("restrict", "lists")
        self.assertEqual(rc, 0, err)
        self.assertIn("cli-list", out)
        self.assertIn("do_not_disturb", out)
        rc, out, err = self.cli("restrict", "entries", "cli-list", "--json")
        self.assertEqual(rc, 0, err)
        self.assertIn(A, out)
        rc, out, err = self.cli("restrict", "export", "cli-list")
        self.assertEqual(rc, 0, err)
        self.assertIn(A, out)
        rc, out, err = self.cli("restrict", "remove", "cli-list", A)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("restrict", "remove", "cli-list", A)
        self.assertEqual(rc, 1, "removing a phone that is not there must fail: %r" % out)
        rc, out, err = self.cli("restrict", "add", "no-such-list", A)
        self.assertNotEqual(rc, 0)
        rc, out, err = self.cli("restrict", "bogus")
        self.assertEqual(rc, 2)
        rc, out, err = self.cli("keywords", "add", "CHEGA", "--match", "exact", "--list", "cli-list")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("keywords", "list")
        self.assertEqual(rc, 0, err)
        self.assertIn("CHEGA", out)
        rc, out, err = self.cli("restrict", "delete-list", "cli-list")
        self.assertEqual(rc, 1, "a list a rule points at cannot be deleted")

    def test_cli_campaign_create_counts_and_excludes_restricted(self):
        rc, out, err = self.cli("restrict", "add", "do_not_disturb", A)
        self.assertEqual(rc, 0, err)
        people = [{"phone": A, "name": "A"}, {"phone": B, "name": "B"}]
        lid = self.ok(self.api.post("/lists", {"name": "cli-audience"}), 201)["id"]
        self.ok(self.api.post("/lists/%d/contacts" % lid, {"contacts": people}))
        base = ("campaign", "create", "--name", "x", "--sender", "1", "--list", str(lid), "--text", "oi")
        rc, out, err = self.cli(*base)
        self.assertEqual(rc, 0, err)
        self.assertIn("restricted       1 to be skipped when due (do_not_disturb 1)", out)
        rc, out, err = self.cli(*base, "--exclude-restricted", "--json")
        self.assertEqual(rc, 0, err)
        made = json.loads(out)
        self.assertEqual(made["counts"]["total"], 1)
        self.assertEqual(made["restricted"], {"total": 1, "excluded": 1, "by_list": {"do_not_disturb": 1}})


if __name__ == "__main__":
    unittest.main()
