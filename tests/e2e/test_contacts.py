"""CSV import into lists (docs/api.md: Lists and contacts)."""

import unittest
import urllib.parse

from harness import RFC3339_RE, E2ETest

CSV1 = (
    "phone,name,cidade,plano\n"                     # line 1
    "+55 (11) 99999-0001,Ana,São Paulo,gold\n"        # 2  international, formatted
    "11 99999-0002,Bruno,Rio,silver\n"                # 3  national -> 55 prefix
    "abc,Bad,X,Y\n"                                   # 4  invalid (no digits)
    "5511999990001,Ana Again,SP,gold\n"               # 5  duplicate of line 2
    "123,Short,X,Y\n"                                 # 6  invalid (3 digits)
    '"5511999990003","Silva, João",Recife,"a ""b"""\n'  # 7  quoted fields
    "1234567890123456,Long,X,Y\n"                     # 8  invalid (16 digits)
)


class TestContacts(E2ETest):
    def import_csv(self, text, list_name, status=200, content_type="text/csv"):
        st, body = self.api.request("POST", "/api/v1/contacts/import?list=" + urllib.parse.quote(list_name),
                                    raw_body=text.encode("utf-8"), content_type=content_type)
        self.assertEqual(st, status, body)
        return body

    def preview(self, list_id, text, limit=50):
        body = self.ok(self.api.post("/campaigns/preview", {"message": {"text": text}, "list_id": list_id,
                                                            "limit": limit}))
        return {p["phone"]: p["text"] for p in body["previews"]}, body.get("missing")

    def test_import_counts_lines_and_vars(self):
        r = self.import_csv(CSV1, "clientes")
        self.assertIsInstance(r.get("list_id"), int, r)
        self.assertEqual(r["imported"], 3, r)
        self.assertEqual(r["updated"], 0, r)
        self.assertEqual(r["duplicates"], 1, r)
        self.assertEqual(r["invalid_count"], 3, r)
        self.assertEqual([i["line"] for i in r["invalid"]], [4, 6, 8], r)
        for i in r["invalid"]:
            self.assertIsInstance(i.get("reason"), str)
            self.assertTrue(i["reason"], i)
        self.assertIn("3", r["invalid"][1]["reason"], "reason should say how many digits: %r" % r["invalid"][1])

        lst = self.ok(self.api.get("/lists/%d" % r["list_id"]))
        self.assertEqual(lst["name"], "clientes")
        self.assertEqual(lst["members"], 3)
        self.assertRegex(lst["created_at"], RFC3339_RE)
        self.assertIn(lst, self.ok(self.api.get("/lists"))["lists"])

        texts, missing = self.preview(r["list_id"], "{{phone}}|{{name}}|{{cidade}}|{{plano}}")
        self.assertEqual(set(texts), {"5511999990001", "5511999990002", "5511999990003"}, texts)
        self.assertEqual(texts["5511999990002"], "5511999990002|Bruno|Rio|silver")
        self.assertEqual(texts["5511999990003"], '5511999990003|Silva, João|Recife|a "b"')
        self.assertIn(texts["5511999990001"], ("5511999990001|Ana|São Paulo|gold",
                                               "5511999990001|Ana Again|SP|gold"))
        self.assertFalse(missing, "no variable is missing: %r" % missing)

    def test_reimport_counts_updated(self):
        r1 = self.import_csv(CSV1, "clientes")
        r2 = self.import_csv(CSV1, "clientes")
        self.assertEqual(r2["list_id"], r1["list_id"])
        self.assertEqual((r2["imported"], r2["updated"], r2["duplicates"], r2["invalid_count"]), (0, 3, 1, 3), r2)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % r1["list_id"]))["members"], 3)
        # the same contacts into another list: updated, and vars merge
        r3 = self.import_csv("phone,bairro\n5511999990002,Centro\n5511999990009,Boa Vista\n", "outra")
        self.assertNotEqual(r3["list_id"], r1["list_id"])
        self.assertEqual((r3["imported"], r3["updated"], r3["duplicates"], r3["invalid_count"]), (1, 1, 0, 0), r3)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % r3["list_id"]))["members"], 2)
        self.assertEqual(self.ok(self.api.get("/lists/%d" % r1["list_id"]))["members"], 3)
        texts, _ = self.preview(r3["list_id"], "{{name}}|{{cidade}}|{{bairro}}")
        self.assertEqual(texts["5511999990002"], "Bruno|Rio|Centro", "vars must be merged, name kept")
        self.assertEqual(len(self.ok(self.api.get("/lists"))["lists"]), 2)

    def test_semicolon_delimiter(self):
        r = self.import_csv("phone;name;cidade\n11988887777;Carla;Recife\n11988887778;Davi;Olinda, PE\n", "pv")
        self.assertEqual((r["imported"], r["invalid_count"]), (2, 0), r)
        texts, _ = self.preview(r["list_id"], "{{name}} {{cidade}}")
        self.assertEqual(texts, {"5511988887777": "Carla Recife", "5511988887778": "Davi Olinda, PE"})

    def test_crlf_line_endings(self):
        r = self.import_csv("phone,name\r\n5511988880001,Eva\r\n5511988880002,Fabio\r\n", "crlf")
        self.assertEqual((r["imported"], r["invalid_count"]), (2, 0), r)
        texts, _ = self.preview(r["list_id"], "<{{name}}>")
        self.assertEqual(texts, {"5511988880001": "<Eva>", "5511988880002": "<Fabio>"})

    def test_invalid_csv_changes_nothing(self):
        for text in ("name,cidade\nAna,SP\n", ""):
            st, body = self.api.request("POST", "/api/v1/contacts/import?list=nova", raw_body=text.encode(),
                                        content_type="text/csv")
            self.assertEqual(st, 400, "%r -> %r" % (text, body))
            err = self.assertError(body, "invalid_csv")
            if text:
                self.assertIn("line", err["message"])
        self.assertEqual(self.ok(self.api.get("/lists"))["lists"], [], "a refused import created the list")

    def test_list_create_and_conflict(self):
        lst = self.ok(self.api.post("/lists", {"name": "vip"}), 201)
        self.assertEqual((lst["name"], lst["members"]), ("vip", 0))
        self.assertIsInstance(lst["id"], int)
        st, body = self.api.post("/lists", {"name": "vip"})
        self.assertEqual(st, 409, body)
        self.assertError(body, "conflict")
        self.assertEqual(len(self.ok(self.api.get("/lists"))["lists"]), 1)
        # importing into an existing list by name uses it
        r = self.import_csv("phone\n5511977770001\n", "vip")
        self.assertEqual(r["list_id"], lst["id"])
        self.assertEqual(self.ok(self.api.get("/lists/%d" % lst["id"]))["members"], 1)

    def test_campaign_from_list(self):
        r = self.import_csv(CSV1, "clientes")
        c = self.campaign([1], None, text="{{name}}", list_id=r["list_id"], start=True)
        self.assertEqual(c["audience"]["list_id"], r["list_id"])
        self.assertEqual(c["counts"]["total"], 3)
        self.wait_status(c["id"], "completed", 20)
        c = self.assert_counts_exact(c["id"])
        self.assertEqual(c["counts"]["sent"], 3)
        self.assertEqual(sorted(m["phone"] for m in self.messages(c["id"])),
                         ["5511999990001", "5511999990002", "5511999990003"])


if __name__ == "__main__":
    unittest.main()
