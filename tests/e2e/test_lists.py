"""Lists and contacts beyond the CSV basics (docs/api.md: Lists and contacts):
XLSX and dialect imports, phone_column, list rename/delete, members,
search pages and a contact's history."""

import io
import unittest
import urllib.parse
import zipfile
from xml.sax.saxutils import escape

from harness import E2ETest, contacts

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def col_name(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def make_xlsx(rows, inline_cols=()):
    """A minimal real workbook: rows is a list of (row_number, [cells]); a
    cell is a str (shared string, or an inline string in inline_cols), an int
    (number) or None (no cell)."""
    shared, index = [], {}
    sheet = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for rn, cells in rows:
        sheet.append('<row r="%d">' % rn)
        for ci, v in enumerate(cells):
            ref = "%s%d" % (col_name(ci), rn)
            if v is None:
                continue
            if isinstance(v, int):
                sheet.append('<c r="%s"><v>%d</v></c>' % (ref, v))
            elif ci in inline_cols:
                sheet.append('<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, escape(v)))
            else:
                if v not in index:
                    index[v] = len(shared)
                    shared.append(v)
                sheet.append('<c r="%s" t="s"><v>%d</v></c>' % (ref, index[v]))
        sheet.append("</row>")
    sheet.append("</sheetData></worksheet>")
    sst = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
           % (len(shared), len(shared))]
    sst += ["<si><t>%s</t></si>" % escape(s) for s in shared]
    sst.append("</sst>")
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/>'
            '</Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Contatos" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": "".join(sheet),
        "xl/sharedStrings.xml": "".join(sst),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


class TestLists(E2ETest):
    def imp(self, data, list_name, status=200, content_type="text/csv", **params):
        q = {"list": list_name}
        q.update(params)
        st, body = self.api.request("POST", "/api/v1/contacts/import?" + urllib.parse.urlencode(q),
                                    raw_body=data if isinstance(data, bytes) else data.encode("utf-8"),
                                    content_type=content_type)
        self.assertEqual(st, status, body)
        return body

    def members(self, list_id, **params):
        """Every member, page by page, checking the pages do not overlap."""
        out, after = [], None
        while True:
            q = dict(params)
            if after is not None:
                q["after"] = after
            body = self.ok(self.api.get("/lists/%d/contacts?%s" % (list_id, urllib.parse.urlencode(q))))
            out += body["contacts"]
            after = body["next_after"]
            if after is None:
                return out

    def test_xlsx_import(self):
        data = make_xlsx([
            (1, ["Celular", "Nome", "cidade"]),
            (2, ["+55 11 98888-0001", "Ana", "Recife"]),
            (3, [5511988880002, "Bruno", "Olinda"]),          # a number cell
            (5, ["11 98888-0003", "Carla", None]),              # row 4 skipped
            (6, ["abc", "Bad", "X"]),                           # invalid
            (7, ["5511988880001", "Ana de novo", "SP"]),        # duplicate of row 2
            (8, [None, "Sem telefone", "X"]),                   # empty phone
            (9, ["11 98888-0004", "Davi", "Natal"]),
        ], inline_cols=(1,))
        # by content type, with the phone column renamed
        r = self.imp(data, "planilha", content_type=XLSX_TYPE, phone_column="celular")
        self.assertEqual((r["imported"], r["updated"], r["duplicates"], r["invalid_count"]), (4, 0, 1, 2), r)
        self.assertEqual([i["line"] for i in r["invalid"]], [6, 8], r)
        self.assertIn("'a'", r["invalid"][0]["reason"])
        self.assertEqual(r["list"], "planilha")
        got = {m["phone"]: m for m in self.members(r["list_id"])}
        self.assertEqual(set(got), {"5511988880001", "5511988880002", "5511988880003", "5511988880004"})
        # "Nome" is not "name": it is a variable like cidade
        self.assertEqual(got["5511988880002"]["vars"], {"Nome": "Bruno", "cidade": "Olinda"})
        self.assertIsNone(got["5511988880002"]["name"])
        # sniffed from the ZIP magic with a wrong content type, and ?format=xlsx
        r2 = self.imp(data, "planilha2", content_type="application/octet-stream", phone_column="Celular")
        self.assertEqual((r2["imported"], r2["updated"]), (0, 4), r2)
        r3 = self.imp(data, "planilha3", content_type="text/plain", phone_column="CELULAR", format="xlsx")
        self.assertEqual(r3["updated"], 4, r3)
        st, body = self.api.request("POST", "/api/v1/contacts/import?list=x&format=ods", raw_body=data,
                                    content_type=XLSX_TYPE)
        self.assertEqual(st, 400, body)
        # not a workbook at all
        st, body = self.api.request("POST", "/api/v1/contacts/import?list=x&format=xlsx", raw_body=b"phone\n1\n",
                                    content_type=XLSX_TYPE)
        self.assertEqual(st, 400, body)

    def test_semicolon_tab_bom_and_quotes(self):
        semi = "\ufeffname;phone;obs\n\"Silva; Ana\";11 97777-0001;\"diz \"\"oi\"\"\"\nBeto;11 97777-0002;\n"
        r = self.imp(semi, "semi")
        self.assertEqual((r["imported"], r["invalid_count"]), (2, 0), r)
        got = {m["phone"]: m for m in self.members(r["list_id"])}
        self.assertEqual(got["5511977770001"]["name"], "Silva; Ana")
        self.assertEqual(got["5511977770001"]["vars"], {"obs": 'diz "oi"'})
        tab = "\ufeffphone\tname\tcidade\n11 97777-0003\tCaio\tSão Luís, MA\n11 97777-0004\tDora\t\n"
        r = self.imp(tab, "tab")
        self.assertEqual((r["imported"], r["invalid_count"]), (2, 0), r)
        got = {m["phone"]: m for m in self.members(r["list_id"])}
        self.assertEqual(got["5511977770003"]["vars"], {"cidade": "São Luís, MA"})
        self.assertEqual(got["5511977770004"]["name"], "Dora")

    def test_phone_column_missing_lists_headers(self):
        st, body = self.api.request("POST", "/api/v1/contacts/import?list=x&phone_column=whatsapp",
                                    raw_body="phone,name\n11977770001,A\n".encode(), content_type="text/csv")
        self.assertEqual(st, 400, body)
        err = self.assertError(body, "invalid_csv", mentions=("whatsapp", "\"phone\"", "\"name\""))
        self.assertEqual(err["headers"], ["phone", "name"])
        self.assertEqual(self.ok(self.api.get("/lists"))["lists"], [])

    def test_invalid_rows_with_line_and_reason(self):
        csv = ("phone,name\n"
               "11 97777-0001,ok\n"         # 2
               "(20) 99999-0001,bad ddd\n"  # 3: not a Brazilian area code
               "\n"                          # 4: blank, skipped
               "11 1234-5678,bad prefix\n"  # 5
               "+1 212 555 0123,us\n"        # 6: fine with its +
               "11 97777-0001,dup\n")        # 7: duplicate
        r = self.imp(csv, "inv")
        self.assertEqual((r["imported"], r["duplicates"], r["invalid_count"]), (2, 1, 2), r)
        self.assertEqual([(i["line"], i["reason"]) for i in r["invalid"]],
                         [(3, "phone is not a valid number for BR (11 digits)"),
                          (5, "phone is not a valid number for BR (10 digits)")])

    def test_rename_and_delete_list(self):
        a = self.ok(self.api.post("/lists", {"name": "a"}), 201)
        b = self.ok(self.api.post("/lists", {"name": "b"}), 201)
        r = self.ok(self.api.patch("/lists/%d" % a["id"], {"name": "clientes"}))
        self.assertEqual((r["id"], r["name"]), (a["id"], "clientes"))
        st, body = self.api.patch("/lists/%d" % a["id"], {"name": "b"})
        self.assertEqual(st, 409, body)
        self.assertError(body, "conflict")
        st, body = self.api.patch("/lists/%d" % a["id"], {"name": ""})
        self.assertEqual(st, 400, body)
        self.assertEqual(self.api.patch("/lists/99999", {"name": "z"})[0], 404)
        # a list used by a campaign can go: the campaign's messages were made at creation
        self.ok(self.api.post("/lists/%d/contacts" % a["id"], {"phones": ["11977770001", "11977770002"]}))
        snd = self.sandbox_sender("s1")
        c = self.campaign([snd["id"]], None, text="Oi", list_id=a["id"])
        self.assertEqual(self.api.delete("/lists/%d" % a["id"])[0], 204)
        self.assertEqual(self.api.get("/lists/%d" % a["id"])[0], 404)
        self.assertEqual(self.api.delete("/lists/%d" % a["id"])[0], 404)
        self.assertEqual([l["id"] for l in self.ok(self.api.get("/lists"))["lists"]], [b["id"]])
        self.assertEqual(self.get_campaign(c["id"])["counts"]["total"], 2)
        # the contacts stay
        self.assertEqual(self.ok(self.api.get("/contacts/5511977770001"))["lists"], [])

    def test_list_names_ignore_case_and_surrounding_spaces(self):
        a = self.ok(self.api.post("/lists", {"name": "  Clientes  "}), 201)
        self.assertEqual(a["name"], "Clientes")
        for dup in ("clientes", "CLIENTES", " Clientes"):
            st, body = self.api.post("/lists", {"name": dup})
            self.assertEqual(st, 409, (dup, body))
            self.assertError(body, "conflict")
        for bad in ("   ", "a\tb\nc", "x" * 201):
            st, body = self.api.post("/lists", {"name": bad})
            self.assertEqual(st, 400, (bad, body))
        b = self.ok(self.api.post("/lists", {"name": "outra"}), 201)
        self.assertEqual(self.api.patch("/lists/%d" % b["id"], {"name": "CLIENTES"})[0], 409)
        self.assertEqual(self.ok(self.api.patch("/lists/%d" % a["id"], {"name": "clientes"}))["name"], "clientes")
        # an import names the list in another case: the same list, named as stored
        rep = self.ok(self.api.request("POST", "/api/v1/contacts/import?list=%20CLIENTES",
                                       raw_body=b"phone\n11977770009\n", content_type="text/csv"))
        self.assertEqual((rep["list_id"], rep["list"], rep["imported"]), (a["id"], "clientes", 1))
        self.assertEqual(len(self.ok(self.api.get("/lists"))["lists"]), 2)
        st, body = self.api.request("POST", "/api/v1/contacts/import?list=%20%20",
                                    raw_body=b"phone\n11977770009\n", content_type="text/csv")
        self.assertEqual(st, 400, body)

    def test_add_remove_members_counts_exact(self):
        lst = self.ok(self.api.post("/lists", {"name": "m"}), 201)
        lid = lst["id"]
        r = self.ok(self.api.post("/lists/%d/contacts" % lid, {"contacts": [
            {"phone": "11 96666-0001", "name": "Ana", "vars": {"plano": "gold", "n": 3}},
            {"phone": "11 96666-0002"},
            {"phone": "abc"},
            {"name": "no phone"},
            "11 96666-0003",
            {"phone": "5511966660001"},          # same contact again
        ]}))
        self.assertEqual((r["added"], r["members"], r["imported"], r["updated"], r["invalid_count"]),
                         (3, 3, 3, 1, 2), r)
        self.assertEqual([i["index"] for i in r["invalid"]], [2, 3], r)
        ct = self.ok(self.api.get("/contacts/5511966660001"))
        self.assertEqual((ct["name"], ct["vars"]), ("Ana", {"plano": "gold", "n": "3"}))
        # adding members again adds nothing
        r = self.ok(self.api.post("/lists/%d/contacts" % lid, {"phones": ["11966660002", "11966660004"]}))
        self.assertEqual((r["added"], r["members"]), (1, 4), r)
        # remove one by path, a batch by body and one by query
        r = self.ok(self.api.delete("/lists/%d/contacts/5511966660002" % lid))
        self.assertEqual((r["removed"], r["members"]), (1, 3), r)
        st, body = self.api.delete("/lists/%d/contacts/5511966660002" % lid)
        self.assertEqual(st, 404, body)
        st, body = self.api.request("DELETE", "/api/v1/lists/%d/contacts" % lid,
                                    {"phones": ["11966660003", "11966660009"]})
        self.assertEqual(st, 200, body)
        self.assertEqual((body["removed"], body["members"], body["not_found"]), (1, 2, ["5511966660009"]))
        r = self.ok(self.api.delete("/lists/%d/contacts?phones=5511966660004,5511966660001" % lid))
        self.assertEqual((r["removed"], r["members"]), (2, 0), r)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lid))["members"], 0)
        self.assertEqual(self.members(lid), [])
        # members of a big list: exact count, pages without overlap
        self.ok(self.api.post("/lists/%d/contacts" % lid, {"contacts": contacts(250)}))
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lid))["members"], 250)
        got = self.members(lid, limit=100)
        self.assertEqual(len(got), 250)
        self.assertEqual(len({m["id"] for m in got}), 250)
        self.assertEqual([m["id"] for m in got], sorted(m["id"] for m in got))

    def test_search_pages(self):
        self.ok(self.api.post("/lists", {"name": "s"}), 201)
        people = [{"phone": "11 9%04d-%04d" % (5000 + i, i), "name": "Maria %d" % i} for i in range(30)]
        people += [{"phone": "21 98765-%04d" % i, "name": "JOSÉ Santos %d" % i} for i in range(5)]
        self.ok(self.api.post("/lists/1/contacts", {"contacts": people}))
        # all, two pages of 20 then the rest
        p1 = self.ok(self.api.get("/contacts?limit=20"))
        p2 = self.ok(self.api.get("/contacts?limit=20&after=%d" % p1["next_after"]))
        self.assertEqual(len(p1["contacts"]), 20)
        self.assertEqual(len(p2["contacts"]), 15)
        self.assertIsNone(p2["next_after"])
        ids1, ids2 = {c["id"] for c in p1["contacts"]}, {c["id"] for c in p2["contacts"]}
        self.assertEqual(ids1 & ids2, set())
        # by name, case-insensitively, over two pages
        q = urllib.parse.quote("maria")
        a = self.ok(self.api.get("/contacts?search=%s&limit=16" % q))
        b = self.ok(self.api.get("/contacts?search=%s&limit=16&after=%d" % (q, a["next_after"])))
        names = [c["name"] for c in a["contacts"] + b["contacts"]]
        self.assertEqual(len(names), 30)
        self.assertEqual(len(set(names)), 30)
        self.assertTrue(all(n.startswith("Maria") for n in names))
        self.assertEqual(len(self.ok(self.api.get("/contacts?search=santos"))["contacts"]), 5)
        # by phone digits, typed with separators, as a prefix or inside
        r = self.ok(self.api.get("/contacts?search=%s" % urllib.parse.quote("+55 21 98765")))
        self.assertEqual(len(r["contacts"]), 5)
        r = self.ok(self.api.get("/contacts?search=8765-0003"))
        self.assertEqual([c["phone"] for c in r["contacts"]], ["5521987650003"])
        self.assertEqual(self.ok(self.api.get("/contacts?search=nobody"))["contacts"], [])
        self.assertEqual(self.api.get("/contacts?limit=1001")[0], 400)
        self.assertEqual(self.api.get("/contacts?after=x")[0], 400)

    def test_contact_get_history_and_isolation(self):
        snd = self.sandbox_sender("s1")
        lst = self.ok(self.api.post("/lists", {"name": "h"}), 201)
        self.ok(self.api.post("/lists/%d/contacts" % lst["id"],
                              {"contacts": [{"phone": "11 95555-0001", "name": "Hist"}, {"phone": "11 95555-0002"}]}))
        c1 = self.campaign([snd["id"]], None, text="primeira", name="um", list_id=lst["id"], start=True)
        self.wait_status(c1["id"], "completed", 20)
        c2 = self.campaign([snd["id"]], [{"phone": "5511955550001"}], text="segunda", name="dois", start=True)
        self.wait_status(c2["id"], "completed", 20)
        ct = self.ok(self.api.get("/contacts/5511955550001"))
        self.assertEqual((ct["name"], ct["lists"]), ("Hist", [{"id": lst["id"], "name": "h"}]))
        self.assertEqual(self.ok(self.api.get("/contacts/%d" % ct["id"]))["phone"], "5511955550001")
        self.assertEqual(self.ok(self.api.get("/contacts/%s" % urllib.parse.quote("+55 11 95555-0001")))["id"], ct["id"])
        h = self.ok(self.api.get("/contacts/%d/history" % ct["id"]))
        self.assertEqual([x["campaign"]["name"] for x in h["history"]], ["dois", "um"])
        self.assertTrue(all(x["status"] == "sent" and x["sent_at"] for x in h["history"]), h)
        self.assertIsNone(h["next_before"])
        p1 = self.ok(self.api.get("/contacts/5511955550001/history?limit=1"))
        p2 = self.ok(self.api.get("/contacts/5511955550001/history?limit=1&before=%d" % p1["next_before"]))
        self.assertEqual([x["campaign"]["id"] for x in p1["history"] + p2["history"]], [c2["id"], c1["id"]])
        self.assertIsNone(p2["next_before"])
        # another workspace sees none of it
        ws = self.ok(self.api.post("/workspaces", {"name": "outra"}), 201)
        other = self.srv.client(token=ws["token"])
        for path in ("/contacts/%d" % ct["id"], "/contacts/5511955550001", "/lists/%d/contacts" % lst["id"]):
            self.assertEqual(other.get(path)[0], 404, path)
        self.assertEqual(other.patch("/lists/%d" % lst["id"], {"name": "x"})[0], 404)
        self.assertEqual(other.delete("/lists/%d" % lst["id"])[0], 404)
        self.assertEqual(other.delete("/contacts/%d" % ct["id"])[0], 404)
        self.assertEqual(self.ok(other.get("/contacts"))["contacts"], [])
        self.assertEqual(self.ok(other.get("/contacts/5511955550001/history"))["history"], [])
        # delete: gone from its list, history kept with the messages
        self.assertEqual(self.api.delete("/contacts/%d" % ct["id"])[0], 204)
        self.assertEqual(self.api.get("/contacts/%d" % ct["id"])[0], 404)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lst["id"]))["members"], 1)
        self.assertEqual(len(self.ok(self.api.get("/contacts/5511955550001/history"))["history"]), 2)


if __name__ == "__main__":
    unittest.main()
