"""Hostile and clumsy input on the restriction, lists/contacts/import and
report routes (docs/api.md): every bad request gets its documented status and
error shape and changes nothing, nothing is lost on failure, and another
workspace's ids answer 404."""

import io
import os
import sqlite3
import zipfile

from harness import E2ETest
from test_lists import XLSX_TYPE, make_xlsx

P1 = "5511987650601"
P2 = "5511987650602"
P3 = "5511987650603"


class TestEdges(E2ETest):
    deadline = 60.0

    def raw_json(self, method, path, payload):
        return self.api.request(method, "/api/v1" + path, raw_body=payload, content_type="application/json")

    def csv_import(self, body, query="list=edges", ct="text/csv", api=None):
        return (api or self.api).request("POST", "/api/v1/contacts/import?" + query, raw_body=body, content_type=ct)

    def snapshot(self):
        """What the rejected requests must leave as it was."""
        rls = self.ok(self.api.get("/restriction-lists"))["restriction_lists"]
        return {
            "rlists": sorted((l["id"], l["name"], l["retention_days"], l["entries"]) for l in rls),
            "lists": sorted((l["id"], l["name"], l["members"]) for l in self.ok(self.api.get("/lists"))["lists"]),
            "contacts": [(c["id"], c["phone"], c["name"], c["vars"])
                         for c in self.ok(self.api.get("/contacts?limit=1000"))["contacts"]],
            "rules": self.ok(self.api.get("/keyword-rules"))["keyword_rules"],
        }

    # ------------------------------------------------------------ restrictions

    def test_restriction_routes_reject_bad_input_and_change_nothing(self):
        rl = self.ok(self.api.post("/restriction-lists", {"name": "edge", "retention_days": 3}), 201)
        self.ok(self.api.post("/restriction-lists/%d/entries" % rl["id"], {"phone": P1}), 201)
        before = self.snapshot()
        bad = [
            (self.api.request("POST", "/api/v1/restriction-lists"), 400, "invalid_json"),
            (self.raw_json("POST", "/restriction-lists", b"{"), 400, "invalid_json"),
            (self.raw_json("POST", "/restriction-lists", b"[]"), 400, "bad_request"),
            (self.raw_json("POST", "/restriction-lists", b'{"name": "a\\u0000b"}'), 400, "invalid_json"),
            (self.raw_json("POST", "/restriction-lists", b'{"name": "x", "retention_days": 1e30}'), 400, "bad_request"),
            (self.raw_json("POST", "/restriction-lists", b'{"name": "x", "retention_days": 99999999999999999999}'),
             400, "invalid_json"),
            (self.api.post("/restriction-lists", {"name": "x", "retention_days": "7"}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "x", "retention_days": -7}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "x", "retention_days": 7.0}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "x", "retention_days": None}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "x", "retention_days": 36501}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "ção"}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "a" * 65}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": None}), 400, "bad_request"),
            (self.api.post("/restriction-lists", {"name": "edge"}), 409, "conflict"),
            (self.api.post("/restriction-lists", {"name": "x", "bogus": 1}), 400, "bad_request"),
            (self.api.patch("/restriction-lists/%d" % rl["id"], {"name": "blocked"}), 409, "conflict"),
            (self.api.patch("/restriction-lists/%d" % rl["id"], {"retention_days": "1"}), 400, "bad_request"),
            (self.api.patch("/restriction-lists/999", {"name": "zz"}), 404, "not_found"),
        ]
        for ident in ("0", "-1", "1abc", "9223372036854775808", "99999999999999999999", "%20"):
            bad.append((self.api.get("/restriction-lists/" + ident), 404, "not_found"))
            bad.append((self.api.patch("/restriction-lists/" + ident, {"name": "zz"}), 404, "not_found"))
            bad.append((self.api.delete("/restriction-lists/" + ident), 404, "not_found"))
            bad.append((self.api.get("/restriction-lists/%s/entries" % ident), 404, "not_found"))
            bad.append((self.api.get("/keyword-rules/" + ident), 404, "not_found"))
            bad.append((self.api.delete("/keyword-rules/" + ident), 404, "not_found"))
        ent = "/restriction-lists/%d/entries" % rl["id"]
        for phone in ("abc", "+", "1" * 40, "", " ", 5511987650699, None):
            bad.append((self.api.post(ent, {"phone": phone}), 400, "bad_request"))
        bad += [
            (self.raw_json("POST", ent, b'{"phone": "5511987650699\\u0000x"}'), 400, "invalid_json"),
            (self.api.post(ent, {"phone": P2, "sender_id": "1"}), 400, "bad_request"),
            (self.api.post(ent, {"phone": P2, "sender_id": -1}), 400, "bad_request"),
            (self.api.post(ent, {"phone": P2, "sender_id": 99999999}), 400, "bad_request"),
            (self.api.post(ent, {"phone": P2, "reason": "x" * 501}), 400, "bad_request"),
            (self.api.post(ent, {"phone": P2, "reason": 5}), 400, "bad_request"),
            (self.api.post(ent, {"phone": P2, "expires_at": "2000-01-01T00:00:00Z"}), 400, "bad_request"),
            (self.api.post(ent, {"phone": P2, "expires_at": "tomorrow"}), 400, "bad_request"),
            (self.api.post(ent, {"phones": P2}), 400, "bad_request"),
            (self.api.post(ent, {"phones": [P2] * 10001}), 400, "bad_request"),
            (self.api.delete(ent + "/abc"), 400, "bad_request"),
            (self.api.delete(ent + "/" + P3), 404, "not_found"),
            (self.api.delete(ent + "/" + P1 + "?sender_id=abc"), 400, "bad_request"),
            (self.api.get("/restrictions/check"), 400, "bad_request"),
            (self.api.get("/restrictions/check?phone=abc"), 400, "bad_request"),
            (self.api.get("/restrictions/check?phone=%s&sender_id=abc" % P1), 400, "bad_request"),
            (self.api.post("/keyword-rules", {}), 400, "bad_request"),
            (self.api.post("/keyword-rules", {"keyword": "   "}), 400, "bad_request"),
            (self.api.post("/keyword-rules", {"keyword": "x" * 129}), 400, "bad_request"),
            (self.api.post("/keyword-rules", {"keyword": "a", "match": "regex"}), 400, "bad_request"),
            (self.api.post("/keyword-rules", {"keyword": "a", "case_sensitive": "yes"}), 400, "bad_request"),
            (self.api.post("/keyword-rules", {"keyword": "a", "list": "nope"}), 400, "bad_request"),
            (self.raw_json("POST", "/keyword-rules", b'{"keyword": "a\\u0000b"}'), 400, "invalid_json"),
            (self.api.patch("/keyword-rules/1", {"match": "regex"}), 400, "bad_request"),
            # wrong methods and extra segments: 404 like every unknown route
            (self.api.request("PUT", "/api/v1/restriction-lists/%d" % rl["id"], {"name": "y"}), 404, "not_found"),
            (self.api.delete("/restriction-lists"), 404, "not_found"),
            (self.api.get(ent + "/x/y"), 404, "not_found"),
            (self.api.post("/restrictions/check", {"phone": P1}), 404, "not_found"),
        ]
        for q in ("limit=0", "limit=-1", "limit=1001", "limit=99999999999999999999", "after=abc", "after=-1",
                  "after=99999999999999999999", "sender_id=abc", "sender_id=-1", "phone=abc"):
            bad.append((self.api.get(ent + "?" + q), 400, "bad_request"))
        for resp, status, code in bad:
            self.assertStatus(resp, status, code)
        # an id past int64 is not read as another id (it used to saturate to 9223372036854775807)
        err = self.assertStatus(self.api.get("/restriction-lists/9223372036854775808"), 404, "not_found")
        self.assertNotIn("9223372036854775807", err["error"]["message"])
        # a CSV import that cannot be read changes nothing either
        imp = "/api/v1/restriction-lists/%d/import" % rl["id"]
        self.assertStatus(self.api.request("POST", imp, raw_body=b"", content_type="text/csv"), 400, "invalid_csv")
        big = b"phone\n" + P2.encode() + b"\n" + P3.encode() + b"," + b"x" * (10 * 1024 * 1024) + b"\n"
        self.assertStatus(self.api.request("POST", imp, raw_body=big, content_type="text/csv"), 400, "invalid_csv")
        self.assertEqual(self.snapshot(), before)
        # the trailing slash is the same route, and the list still works
        self.assertEqual(self.ok(self.api.get("/restriction-lists/%d/" % rl["id"]))["entries"], 1)
        self.assertEqual(self.ok(self.api.get("/restrictions/check?phone=" + P1))["lists"], ["edge"])

    def test_restriction_import_keeps_readable_reasons(self):
        """Bug: a CSV reason that was not UTF-8 was stored as it came; the entry then
        vanished from GET .../entries and /restrictions/check (no JSON string for it)
        while still restricting the phone, and a NUL cut the reason short."""
        rl = self.ok(self.api.post("/restriction-lists", {"name": "csv-razoes"}), 201)
        body = (b"phone,reason\n" + P1.encode() + b",\xff\xfe\n" + P2.encode() + b",A\x00B\n"
                + P3.encode() + b",ok\r\n")
        rep = self.ok(self.api.request("POST", "/api/v1/restriction-lists/%d/import" % rl["id"], raw_body=body,
                                       content_type="text/csv"))
        self.assertEqual((rep["imported"], rep["invalid_count"]), (1, 2), rep)
        self.assertEqual(sorted(i["line"] for i in rep["invalid"]), [2, 3])
        self.assertTrue(all("UTF-8" in i["reason"] for i in rep["invalid"]), rep)
        entries = self.ok(self.api.get("/restriction-lists/%d/entries" % rl["id"]))["entries"]
        self.assertEqual([(e["phone"], e["reason"]) for e in entries], [(P3, "ok")])
        self.assertEqual(self.ok(self.api.get("/restriction-lists/%d" % rl["id"]))["entries"], 1)
        chk = self.ok(self.api.get("/restrictions/check?phone=" + P1))
        self.assertFalse(chk["restricted"])
        # bug: a rejected row still took the phone's "first row" place, so the
        # corrected row after it was dropped as a duplicate and the phone was lost
        p1 = P1.encode()
        body = b"phone,reason\n" + p1 + b"," + b"x" * 501 + b"\n" + p1 + b",\xff\n" + p1 + b",ok\n"
        rep = self.ok(self.api.request("POST", "/api/v1/restriction-lists/%d/import" % rl["id"], raw_body=body,
                                       content_type="text/csv"))
        self.assertEqual((rep["imported"], rep["duplicates"], rep["invalid_count"]), (1, 0, 2), rep)
        self.assertEqual(self.ok(self.api.get("/restrictions/check?phone=" + P1))["lists"], ["csv-razoes"])

    # ------------------------------------------------------- lists and contacts

    def test_list_and_contact_routes_reject_bad_input_and_change_nothing(self):
        lst = self.ok(self.api.post("/lists", {"name": "Clientes"}), 201)
        self.ok(self.api.post("/lists/%d/contacts" % lst["id"],
                              {"contacts": [{"phone": P1, "name": "Ana", "vars": {"plano": "ouro"}}]}))
        before = self.snapshot()
        lid = lst["id"]
        bad = [
            (self.api.request("POST", "/api/v1/lists"), 400, "invalid_json"),
            (self.raw_json("POST", "/lists", b"[1]"), 400, "bad_request"),
            (self.raw_json("POST", "/lists", b'{"name": '), 400, "invalid_json"),
            (self.api.post("/lists", {"name": ""}), 400, "bad_request"),
            (self.api.post("/lists", {"name": "x" * 10000}), 400, "bad_request"),
            (self.api.post("/lists", {"name": 5}), 400, "bad_request"),
            (self.api.post("/lists", {"name": None}), 400, "bad_request"),
            (self.api.post("/lists", {"name": "Clientes"}), 409, "conflict"),
            (self.api.patch("/lists/%d" % lid, {}), 400, "bad_request"),
            (self.api.patch("/lists/%d" % lid, {"name": 5}), 400, "bad_request"),
            (self.api.post("/lists/%d/contacts" % lid, {}), 400, "bad_request"),
            (self.api.post("/lists/%d/contacts" % lid, {"phones": []}), 400, "bad_request"),
            (self.api.post("/lists/%d/contacts" % lid, {"phones": [P2] * 10001}), 400, "bad_request"),
            (self.api.delete("/lists/%d/contacts/abc" % lid), 400, "bad_request"),
            (self.api.delete("/lists/%d/contacts/%s" % (lid, P3)), 404, "not_found"),
            (self.api.request("DELETE", "/api/v1/lists/%d/contacts" % lid), 400, "bad_request"),
            (self.api.request("DELETE", "/api/v1/lists/%d/contacts" % lid, {"phones": "x"}), 400, "bad_request"),
            (self.api.request("PUT", "/api/v1/lists/%d" % lid, {"name": "y"}), 404, "not_found"),
            (self.api.get("/lists/%d/contacts/x/y" % lid), 404, "not_found"),
            (self.api.get("/contacts?search=" + "9" * 5000), 400, "bad_request"),
            (self.api.get("/contacts/999"), 404, "not_found"),
            (self.api.get("/contacts/abc"), 404, "not_found"),
            (self.api.get("/contacts/+"), 400, "bad_request"),
            (self.api.get("/contacts/%2Babc"), 400, "bad_request"),
            (self.api.get("/contacts/" + "1" * 40), 400, "bad_request"),
            (self.api.delete("/contacts/999"), 404, "not_found"),
        ]
        for ident in ("0", "-1", "1abc", "9223372036854775808"):
            bad.append((self.api.get("/lists/" + ident), 404, "not_found"))
            bad.append((self.api.patch("/lists/" + ident, {"name": "zz"}), 404, "not_found"))
            bad.append((self.api.delete("/lists/" + ident), 404, "not_found"))
            bad.append((self.api.get("/lists/%s/contacts" % ident), 404, "not_found"))
            bad.append((self.api.post("/lists/%s/contacts" % ident, {"phones": [P2]}), 404, "not_found"))
        for q in ("limit=0", "limit=-1", "limit=1001", "limit=99999999999999999999", "after=abc", "after=-1",
                  "after=99999999999999999999"):
            bad.append((self.api.get("/lists/%d/contacts?%s" % (lid, q)), 400, "bad_request"))
            bad.append((self.api.get("/contacts?" + q), 400, "bad_request"))
        for q in ("limit=0", "limit=-1", "limit=99999999999999999999", "before=abc", "before=-1",
                  "before=99999999999999999999"):
            bad.append((self.api.get("/contacts/%s/history?%s" % (P1, q)), 400, "bad_request"))
        for resp, status, code in bad:
            self.assertStatus(resp, status, code)
        self.assertEqual(self.snapshot(), before)
        # a batch with bad items keeps the good ones and names the others by index
        rep = self.ok(self.api.post("/lists/%d/contacts" % lid, {"phones": ["abc", "+", "1" * 40, P2, 5, None]}))
        self.assertEqual((rep["added"], rep["members"], rep["invalid_count"]), (1, 2, 5), rep)
        self.assertEqual([i["index"] for i in rep["invalid"]], [0, 1, 2, 4, 5])
        # unicode names are kept as given; a trailing slash is the same route
        uni = self.ok(self.api.post("/lists", {"name": "Clientes São João 🎉"}), 201)
        self.assertEqual(self.ok(self.api.get("/lists/%d/" % uni["id"]))["name"], "Clientes São João 🎉")

    def test_import_edge_files(self):
        self.ok(self.api.post("/lists", {"name": "edges"}), 201)
        self.ok(self.csv_import(b"phone,name,plano\n" + P1.encode() + b",Ana,ouro\n"))
        before = self.snapshot()
        xlsx = make_xlsx([(1, ["phone", "name"]), (2, [P2, "Bia"])])
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w") as z:
            z.writestr("a.txt", "hello")
        bomb = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zo:
            for n in zin.namelist():
                d = zin.read(n)
                if n == "xl/sharedStrings.xml":
                    d = d.replace(b"</sst>", b"<si><t>" + b"a" * (40 << 20) + b"</t></si></sst>")
                zo.writestr(n, d)
        wide = make_xlsx([(1, ["phone"] + ["c%d" % i for i in range(16383)]), (2, [P2])])
        cases = [
            (b"", {}, 400, "invalid_csv"),
            (b"\xef\xbb\xbf", {}, 400, "invalid_csv"),
            (b"name,x\nAna,1\n", {}, 400, "invalid_csv"),
            (b"phone,name\n" + P2.encode() + b',"Bia\n' + P3.encode() + b",Cid\n", {}, 400, "invalid_csv"),
            (b"phone,name\n" + P2.encode() + b"," + b"x" * (10 * 1024 * 1024) + b"\n", {}, 400, "invalid_csv"),
            # good rows first, then one the reader cannot take: the good ones go too
            (b"phone,name\n" + P2.encode() + b",Bia\n" + P3.encode() + b",Cid\n" + P1.encode() + b","
             + b"x" * (70 * 1024) + b"\n", {}, 400, "invalid_csv"),
            (bytes(range(256)) * 100, {}, 400, "invalid_csv"),
            (b"phone," + b",".join(b"c%d" % i for i in range(600)) + b"\n" + P2.encode() + b"\n", {}, 400,
             "invalid_csv"),
            (b"phone\n" + P2.encode() + b"\n", {"query": "list="}, 400, "bad_request"),
            (b"phone\n" + P2.encode() + b"\n", {"query": "list=" + "x" * 5000}, 400, "bad_request"),
            (b"phone\n" + P2.encode() + b"\n", {"query": "list=edges&format=pdf"}, 400, "bad_request"),
            (b"phone\n" + P2.encode() + b"\n", {"query": "list=edges&format=xlsx"}, 400, "bad_request"),
            (xlsx[:200], {"ct": XLSX_TYPE}, 400, "bad_request"),
            (b"PK\x03\x04", {"ct": XLSX_TYPE}, 400, "bad_request"),
            (bio.getvalue(), {"ct": XLSX_TYPE}, 400, "bad_request"),
            (bomb.getvalue(), {"ct": XLSX_TYPE}, 413, "payload_too_large"),
            (wide, {"ct": XLSX_TYPE}, 400, "invalid_csv"),
            # also into a list that does not exist yet: it must not be created
            (b"phone,name\n" + P2.encode() + b"," + b"x" * (70 * 1024) + b"\n", {"query": "list=nova"}, 400,
             "invalid_csv"),
            (xlsx[:300], {"query": "list=nova", "ct": XLSX_TYPE}, 400, "bad_request"),
        ]
        for body, kw, status, code in cases:
            self.assertStatus(self.csv_import(body, **kw), status, code)
        self.assertEqual(self.snapshot(), before)
        # dialect edges that are fine
        rep = self.ok(self.csv_import(b"phone,name\r\n"))
        self.assertEqual((rep["imported"], rep["invalid_count"]), (0, 0))
        rep = self.ok(self.csv_import(b"\xef\xbb\xbfphone,name\r\n" + P2.encode() + b',"Bia\r\nSouza"\r\n'))
        self.assertEqual(rep["imported"], 1)
        self.assertEqual(self.ok(self.api.get("/contacts/" + P2))["name"], "Bia\r\nSouza")

    def test_import_rejects_names_that_are_not_text(self):
        """Bug: a CSV/XLSX name that was not UTF-8 was stored as it came: GET
        /contacts/{phone} then answered 200 with an empty body, the contact vanished
        from its list's members and from search, and it broke the report workbook;
        a NUL byte silently cut the name short."""
        self.ok(self.csv_import(b"phone,name\n" + P3.encode() + b",Antigo\n"))
        body = (b"phone,name,plano\n" + P1.encode() + b",\xff\xfe,ouro\n" + P2.encode() + b",A\x00B,prata\n"
                + P3.encode() + b",Cida,bronze\n" + P1.encode() + b",Ana,ouro\n")
        rep = self.ok(self.csv_import(body))
        self.assertEqual((rep["imported"], rep["updated"], rep["duplicates"], rep["invalid_count"]), (1, 1, 0, 2), rep)
        self.assertEqual(sorted(i["line"] for i in rep["invalid"]), [2, 3])
        self.assertTrue(all("UTF-8" in i["reason"] for i in rep["invalid"]), rep)
        self.assertEqual(self.ok(self.api.get("/contacts/" + P1))["name"], "Ana")
        self.assertStatus(self.api.get("/contacts/" + P2), 404, "not_found")
        members = self.ok(self.api.get("/lists/%d/contacts" % rep["list_id"]))["contacts"]
        self.assertEqual(sorted((m["phone"], m["name"]) for m in members), [(P1, "Ana"), (P3, "Cida")])
        self.assertEqual(self.ok(self.api.get("/lists/%d" % rep["list_id"]))["members"], 2)
        # the same from a workbook: _x0000_ decodes to a NUL byte
        book = make_xlsx([(1, ["phone", "name"]), (2, [P2, "_x0000_Bia"]), (3, [P3, "_x0043_ida"])])
        rep = self.ok(self.csv_import(book, ct=XLSX_TYPE))
        self.assertEqual((rep["imported"], rep["updated"], rep["invalid_count"]), (0, 1, 1), rep)
        self.assertEqual(rep["invalid"][0]["line"], 2)
        self.assertStatus(self.api.get("/contacts/" + P2), 404, "not_found")
        self.assertEqual(self.ok(self.api.get("/contacts/" + P3))["name"], "Cida")

    def test_a_reply_that_cannot_be_built_is_a_500_not_an_empty_200(self):
        """A row no view can show (here a name that is not UTF-8, written into the
        database behind the server's back, as rows from before the import check
        could be) answers 500 with the error shape instead of an empty 200."""
        self.ok(self.csv_import(b"phone,name\n" + P1.encode() + b",Ana\n"))
        self.srv.stop()
        db = sqlite3.connect(os.path.join(self.srv.data, "disparo.db"))
        db.execute("UPDATE contacts SET name = CAST(X'FFFE' AS TEXT) WHERE phone = ?", (P1,))
        db.commit()
        db.close()
        self.srv.start()
        self.srv.check_sanitizers()
        self.api = self.srv.client()
        st, body = self.api.get("/contacts/" + P1)
        self.assertEqual(st, 500, body)
        self.assertError(body, "internal")
        self.assertIn("could not be built", self.srv.log_text())

    # ----------------------------------------------------- workspaces, reports

    def test_other_workspace_gets_404_on_every_new_route(self):
        ws = self.ok(self.api.post("/workspaces", {"name": "Outra Loja"}), 201)
        other = self.srv.client(token=ws["token"])
        snd = self.sandbox_sender("sb")
        lst = self.ok(self.api.post("/lists", {"name": "minha"}), 201)
        self.ok(self.api.post("/lists/%d/contacts" % lst["id"], {"phones": [P1, P2]}))
        rl = self.ok(self.api.post("/restriction-lists", {"name": "minha"}), 201)
        self.ok(self.api.post("/restriction-lists/%d/entries" % rl["id"], {"phone": P3}), 201)
        kw = self.ok(self.api.post("/keyword-rules", {"keyword": "xyz", "list": "minha"}), 201)
        camp = self.campaign([snd["id"]], list_id=lst["id"], text="Oi")
        cid = self.ok(self.api.get("/contacts/" + P1))["id"]
        before = self.snapshot()
        L, R = lst["id"], rl["id"]
        routes = [
            ("GET", "/lists/%d" % L, None), ("PATCH", "/lists/%d" % L, {"name": "h"}),
            ("DELETE", "/lists/%d" % L, None), ("GET", "/lists/%d/contacts" % L, None),
            ("POST", "/lists/%d/contacts" % L, {"phones": [P3]}),
            ("DELETE", "/lists/%d/contacts/%s" % (L, P1), None),
            ("DELETE", "/lists/%d/contacts?phones=%s" % (L, P1), None),
            ("GET", "/contacts/%d" % cid, None), ("GET", "/contacts/" + P1, None),
            ("GET", "/contacts/%d/history" % cid, None), ("DELETE", "/contacts/%d" % cid, None),
            ("DELETE", "/contacts/" + P1, None),
            ("GET", "/restriction-lists/%d" % R, None), ("PATCH", "/restriction-lists/%d" % R, {"name": "hh"}),
            ("DELETE", "/restriction-lists/%d" % R, None), ("GET", "/restriction-lists/%d/entries" % R, None),
            ("POST", "/restriction-lists/%d/entries" % R, {"phone": P1}),
            ("DELETE", "/restriction-lists/%d/entries/%s" % (R, P3), None),
            ("GET", "/restriction-lists/%d/export.csv" % R, None),
            ("GET", "/keyword-rules/%d" % kw["id"], None),
            ("PATCH", "/keyword-rules/%d" % kw["id"], {"match": "exact"}),
            ("DELETE", "/keyword-rules/%d" % kw["id"], None),
            ("GET", "/campaigns/%d/report" % camp["id"], None), ("GET", "/campaigns/%d/report.xlsx" % camp["id"], None),
            ("GET", "/campaigns/%d/export.csv" % camp["id"], None),
        ]
        for method, path, body in routes:
            self.assertStatus(other.request(method, "/api/v1" + path, body), 404, "not_found")
        st, body = other.request("POST", "/api/v1/restriction-lists/%d/import" % R, raw_body=P1.encode() + b"\n",
                                 content_type="text/csv")
        self.assertStatus((st, body), 404, "not_found")
        # names and sender ids of workspace 1 mean nothing to the other one
        self.assertStatus(other.post("/keyword-rules", {"keyword": "abc", "list": "minha"}), 400, "bad_request")
        theirs = self.ok(other.get("/restriction-lists"))["restriction_lists"][0]["id"]
        self.assertStatus(other.post("/restriction-lists/%d/entries" % theirs, {"phone": P1, "sender_id": snd["id"]}),
                          400, "bad_request")
        self.assertFalse(self.ok(other.get("/restrictions/check?phone=" + P3))["restricted"])
        self.assertEqual(self.ok(other.get("/contacts"))["contacts"], [])
        self.assertEqual(self.ok(other.get("/contacts/%s/history" % P1))["history"], [])
        # importing into "minha" in the other workspace makes its own list
        rep = self.ok(self.csv_import(b"phone\n" + P3.encode() + b"\n", query="list=minha", api=other))
        self.assertNotEqual(rep["list_id"], L)
        self.assertEqual(self.snapshot(), before)

    def test_reports_in_every_state_and_bad_ids(self):
        snd = self.sandbox_sender("sb")
        draft = self.campaign([snd["id"]], contacts=[{"phone": "abc"}], text="Oi")
        rep = self.ok(self.api.get("/campaigns/%d/report" % draft["id"]))
        self.assertEqual(rep["status"], "draft")
        self.assertEqual(rep["counts"]["total"], 1)
        cancelled = self.campaign([snd["id"]], contacts=[{"phone": P1}, {"phone": P2}], text="Oi")
        self.ok(self.api.post("/campaigns/%d/cancel" % cancelled["id"]))
        rep = self.ok(self.api.get("/campaigns/%d/report" % cancelled["id"]))
        self.assertEqual(rep["status"], "cancelled")
        self.assertEqual(rep["counts"]["total"], 2)
        for cid in (draft["id"], cancelled["id"]):
            st, hdrs, body = self.api.raw("GET", "/api/v1/campaigns/%d/report.xlsx" % cid)
            self.assertEqual(st, 200)
            self.assertTrue(zipfile.ZipFile(io.BytesIO(body)).testzip() is None)
            st, hdrs, body = self.api.raw("GET", "/api/v1/campaigns/%d/export.csv" % cid)
            self.assertEqual(st, 200)
            self.assertTrue(body.startswith(b"id,phone,name,"))
        for ident in ("0", "-1", "999", "1abc", "9223372036854775808"):
            for view in ("report", "report.xlsx", "export.csv"):
                self.assertStatus(self.api.get("/campaigns/%s/%s" % (ident, view)), 404, "not_found")
        self.assertStatus(self.api.get("/campaigns/%d/report/x" % draft["id"]), 404, "not_found")
        for method in ("POST", "PATCH", "DELETE"):
            st, body = self.api.request(method, "/api/v1/campaigns/%d/report" % draft["id"], {})
            self.assertStatus((st, body), 404, "not_found")

    def test_list_deleted_and_phones_restricted_while_running(self):
        snd = self.sandbox_sender("sb")
        phones = ["55119876507%02d" % i for i in range(1, 11)]
        lst = self.ok(self.api.post("/lists", {"name": "corrida"}), 201)
        self.ok(self.api.post("/lists/%d/contacts" % lst["id"], {"phones": phones}))
        camp = self.campaign([snd["id"]], list_id=lst["id"], text="Oi", interval=(120, 120))
        self.ok(self.api.post("/campaigns/%d/start" % camp["id"]))
        self.ok(self.api.post("/restriction-lists/1/entries", {"phone": phones[-1]}), 201)
        self.ok(self.api.post("/restriction-lists/1/entries", {"phone": phones[-2]}), 201)
        self.assertEqual(self.api.delete("/lists/%d" % lst["id"])[0], 204)
        self.assertEqual(self.ok(self.api.delete("/restriction-lists/1/entries/" + phones[-2]))["removed"], 1)
        rep = self.ok(self.api.get("/campaigns/%d/report" % camp["id"]))
        self.assertEqual(rep["counts"]["total"], 10)
        done = self.wait_status(camp["id"], "completed", timeout=20)
        self.assertEqual((done["counts"]["sent"], done["counts"]["skipped"]), (9, 1), done["counts"])
        self.assertEqual(done["audience"]["list_id"], lst["id"])
        by_phone = {m["phone"]: m for m in self.messages(camp["id"])}
        self.assertEqual(by_phone[phones[-1]]["error"]["code"], "restricted")
        self.assertEqual(by_phone[phones[-2]]["status"], "sent")
        self.assert_counts_exact(camp["id"])
        # the contacts stay, only the memberships went
        self.assertStatus(self.api.get("/lists/%d" % lst["id"]), 404, "not_found")
        self.assertEqual(self.ok(self.api.get("/contacts/" + phones[0]))["lists"], [])
