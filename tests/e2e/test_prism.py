"""The Cloud API sender against a mock generated from Meta's own OpenAPI file:
Stoplight Prism (pinned in tools/prism, started by scripts/prism.sh) serves
shared/reference/whatsapp-cloud-api-v23.0.openapi.yaml with --errors, so a
request that does not match the spec (body, path or headers) gets a 4xx and
a valid one the spec's static example. The spec is looked up beside the
repository ($repo/../shared/reference), then in /work/shared/reference; if
neither has it the tests fail, they never skip."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

from harness import REPO, E2ETest, contacts, free_port, read_text, wait_until

PRISM_SH = os.path.join(REPO, "scripts", "prism.sh")
START_TIMEOUT = 60.0     # Prism parses the 1 MiB spec before it listens: ~3 s here, more under load
INSTALL_TIMEOUT = 300.0  # `make test` installs first; run.py alone may have to

PNID = "1234567890"
TOKEN = "EAAG-test-token"
APP_SECRET = "s3cr3t-app"
# The spec's User-Agent parameter must match
# ^[a-zA-Z0-9\-_]+\/[0-9]+\.[0-9]+\.[0-9]+(;[a-zA-Z0-9\-=\.]+)?(\s+[a-zA-Z0-9\-_]+\/[0-9\-\.]+)?$
UA = "disparo-e2e/1.0.0"


def find_spec():
    """The spec's path, looked up where scripts/prism.sh looks (its `spec` command)."""
    r = subprocess.run([PRISM_SH, "spec"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode != 0:
        raise AssertionError("%s: the Prism tests need Meta's OpenAPI file (shared/ beside the repository)"
                             % r.stderr.decode("utf-8", "replace").strip())
    return os.path.realpath(r.stdout.decode().strip())


class Prism:
    """scripts/prism.sh mock PORT SPEC in its own process group, its output in log_path."""

    def __init__(self, workdir, spec):
        self.spec = spec
        self.log_path = os.path.join(workdir, "prism.log")
        self.proc = None
        self.port = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def install(self):
        r = subprocess.run([PRISM_SH, "install"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT)
        if r.returncode != 0:
            raise AssertionError("scripts/prism.sh install failed (%d):\n%s"
                                 % (r.returncode, r.stdout.decode("utf-8", "replace")[-4000:]))

    def start(self):
        self.install()
        last = ""
        for _ in range(2):   # a second port if another process took the first one meanwhile
            self.port = free_port()
            if self._spawn():
                return self
            last = self.log_tail()
            self.kill()
            if "EADDRINUSE" not in last:
                break
        raise AssertionError("Prism did not listen on 127.0.0.1:%d within %.0f s\n%s"
                             % (self.port, START_TIMEOUT, last))

    def _spawn(self):
        env = dict(os.environ, PRISM_START_TIMEOUT=str(int(START_TIMEOUT)))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([PRISM_SH, "mock", str(self.port), self.spec],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                         start_new_session=True)
        end = time.monotonic() + START_TIMEOUT + 5
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if "prism: listening on" in self.log_text():
                return True
            time.sleep(0.1)
        return False

    def kill(self):
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        try:  # node may outlive the script in the group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None

    def log_text(self):
        return read_text(self.log_path)

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def requests(self, method, path):
        """[(passed, [violation lines])] for each logged request to `method path`
        (path without its query), in order."""
        out, cur = [], None
        start = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request received")
        for line in self.log_text().splitlines():
            m = start.search(line)
            if m:
                cur = None
                if m.group(1).lower() == method.lower() and m.group(2).split("?")[0] == path:
                    cur = [None, []]
                    out.append(cur)
                continue
            if cur is None:
                continue
            if "The request passed the validation rules" in line:
                cur[0] = True
            elif "Request did not pass the validation rules" in line:
                cur[0] = False
            elif cur[0] is False and "[VALIDATOR]" in line and "error" in line:
                cur[1].append(self._what(line))
        return [(p, v) for p, v in out]

    @staticmethod
    def _what(line):
        return re.sub(r"^.*?\[VALIDATOR\]\s+\S+\s+error\s+(Violation: \S+ )?", "", line).strip()

    def violations(self):
        """Every line in which Prism's validator says what it refused."""
        out, refusing = [], False
        for line in self.log_text().splitlines():
            if "Request received" in line:
                refusing = False
            elif "Request did not pass the validation rules" in line:
                refusing = True
            elif refusing and "[VALIDATOR]" in line and "error" in line:
                out.append(self._what(line))
        return list(dict.fromkeys(out))

    def post(self, path, body, headers=None):
        """A request straight to Prism -> (status, decoded JSON or text)."""
        hdrs = {"Content-Type": "application/json", "Accept": "application/json",
                "Authorization": "Bearer " + TOKEN, "User-Agent": UA}
        hdrs.update(headers or {})
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method="POST", headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")


def text_body(to):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"body": "Oi", "preview_url": False}}


class TestPrism(E2ETest):
    deadline = 180.0

    def setUp(self):
        # Prism first: its cleanup then runs after disparo's stop (cleanups are LIFO)
        self.prism = Prism(self._workdir, find_spec())
        self.addCleanup(self.prism.kill)
        self.prism.start()
        super().setUp()

    def send_path(self):
        return "/v23.0/%s/messages" % PNID

    def diagnose(self):
        v = self.prism.violations()
        return ("Prism's violations (%d):\n  %s" % (len(v), "\n  ".join(v[:20]))) if v else \
            "no violation in Prism's log; its tail:\n" + self.prism.log_tail(20)

    def test_prism_validates_requests(self):
        """The controls: without them a test passing against Prism proves nothing."""
        path = self.send_path()
        # a valid request gets the spec's static example
        st, body = self.prism.post(path, text_body("5511900000001"))
        self.assertEqual(st, 200, body)
        self.assertTrue(body["messages"][0]["id"].startswith("wamid."), body)
        # messaging_product and to missing: refused, and Prism says why
        bad = {"recipient_type": "individual", "type": "text", "text": {"body": "Oi"}}
        st, body = self.prism.post(path, bad)
        self.assertIn(st, (400, 422), body)
        said = json.dumps(body)
        for field in ("messaging_product", "'to'"):
            self.assertIn(field, said, "Prism should name the missing %s: %s" % (field, said[:600]))
        # a wrong type: text.body a number
        wrong = text_body("5511900000001")
        wrong["text"]["body"] = 123
        st, body = self.prism.post(path, wrong)
        self.assertIn(st, (400, 422), body)
        # not JSON at all
        st, body = self.prism.post(path, b"{not json")
        self.assertIn(st, (400, 422), body)
        # headers are checked too: the spec's User-Agent pattern wants name/x.y.z
        st, body = self.prism.post(path, text_body("5511900000001"), {"User-Agent": "disparo"})
        self.assertIn(st, (400, 422), body)
        self.assertIn("user-agent", json.dumps(body).lower(), body)
        # the log agrees: one passed, three refused by the validator (the bad JSON
        # is refused with a 400 before Prism logs the request)
        verdicts = [p for p, _ in self.prism.requests("POST", path)]
        self.assertEqual(verdicts, [True, False, False, False], self.prism.log_tail(40))

    def test_every_message_kind_is_sent(self):
        # what Prism answers a valid send: disparo must record that wamid
        st, ex = self.prism.post(self.send_path(), text_body("5511900099999"))
        self.assertEqual(st, 200, ex)
        wamid = ex["messages"][0]["id"]

        cfg = {"phone_number_id": PNID, "access_token": TOKEN, "app_secret": APP_SECRET,
               "verify_token": "verify-me", "base_url": self.prism.base, "api_version": "v23.0"}
        sender = self.ok(self.api.post("/senders", {"name": "prism", "provider": "cloudapi", "config": cfg}), 201)
        sid = sender["id"]
        self.assertEqual(sender["config"]["api_version"], "v23.0")

        img = "https://example.com/promo.jpg"
        kinds = [
            ("text", {"text": "Oi {{name}}"}),
            ("image", {"text": "Oi {{name}}", "media": {"url": img, "kind": "image"}}),
            ("video", {"text": "Veja, {{name}}", "media": {"url": "https://example.com/v.mp4", "kind": "video"}}),
            ("audio", {"text": "sem legenda", "media": {"url": "https://example.com/a.ogg", "kind": "audio"}}),
            ("document", {"text": "Segue, {{name}}", "media": {"url": "https://example.com/tabela.pdf",
                                                                "kind": "document", "filename": "tabela.pdf"}}),
            ("template", {"template": {"name": "promo_outubro", "language": "pt_BR",
                                       "params": ["name", "cidade"], "header": {"url": img, "kind": "image"}}}),
            ("template_bare", {"template": {"name": "hello_world", "language": "en_US"}}),
            ("buttons", {"text": "Quer receber ofertas, {{name}}?",
                         "buttons": [{"id": "sim", "title": "Sim"}, {"id": "nao", "title": "Não"},
                                     {"id": "depois", "title": "Mais tarde"}]}),
            ("buttons_image", {"text": "Gostou, {{name}}?", "media": {"url": img, "kind": "image"},
                               "buttons": [{"id": "sim", "title": "Sim"}]}),
        ]
        camps = {}
        for i, (kind, msg) in enumerate(kinds):
            people = contacts(2, prefix="55119%02d0" % i, cidade="Recife")
            body = {"name": "prism-" + kind, "sender_ids": [sid], "contacts": people, "message": msg,
                    "interval": {"min_ms": 0, "max_ms": 0}, "start": True}
            camps[kind] = self.ok(self.api.post("/campaigns", body), 201)["id"]
        total = 2 * len(kinds)

        def settled():
            # every campaign completed, or the sender held: Prism's answers are
            # static, so a hold would not lift by itself before the timeout
            health = self.ok(self.api.get("/senders/%d" % sid))["health"]
            if not health["in_rotation"]:
                return {"held": health}
            left = {k: self.get_campaign(c) for k, c in camps.items()}
            left = {k: (c["status"], c["state_reason"], c["counts"]) for k, c in left.items()
                    if c["status"] != "completed"}
            return {"left": left} if left else {"done": True}
        try:
            got = wait_until(lambda: (lambda r: "left" not in r and r)(settled()), 30,
                             "every campaign completed")
        except AssertionError as e:
            got = {"timeout": str(e), "left": settled().get("left")}
        if "done" not in got:
            self.fail("the campaigns did not complete against Prism: %r\n%s" % (got, self.diagnose()))

        for kind, cid in camps.items():
            for m in self.messages(cid):
                self.assertEqual(m["status"], "sent", "%s: %r\n%s" % (kind, m, self.diagnose()))
                self.assertEqual(m["provider_message_id"], wamid, "%s: %r" % (kind, m))
            self.assert_counts_exact(cid)

        # Prism checked every send: one logged request each, all of them valid
        sends = wait_until(lambda: (lambda r: len(r) >= total + 1 and r)(
            self.prism.requests("POST", self.send_path())), 10, "Prism's log of the sends")
        self.assertEqual(len(sends), total + 1, "one request per message (+ the probe)")
        self.assertEqual([v for p, v in sends if p is not True], [], self.diagnose())

        # the health check (GET /v23.0/{PNID}?fields=...) reached Prism, passed its
        # validation, and disparo took the answer, whatever it holds, without harm
        gets = wait_until(lambda: self.prism.requests("GET", "/v23.0/" + PNID), 10, "a health check at Prism")
        self.assertTrue(all(p is True for p, _ in gets), self.diagnose())
        h = wait_until(lambda: self.ok(self.api.get("/senders/%d" % sid))["health"].get("checked_at") and
                       self.ok(self.api.get("/senders/%d" % sid))["health"], 10, "a health result")
        self.assertIsInstance(h["state"], str, h)
        self.assertTrue(h["in_rotation"], h)
        self.assertTrue(self.srv.running, self.srv.log_tail(30))


if __name__ == "__main__":
    import unittest
    unittest.main()
