"""End-to-end harness: starts the real disparo binary on 127.0.0.1 with a fresh
data directory, talks HTTP to it, and runs a webhook receiver that plays the
gateway. Standard library only (Python 3.11).

Every wait is bounded; every test has a deadline after which its servers are
killed so nothing blocks. A sanitizer report in a server's stderr, or a
non-zero exit on SIGTERM, fails the test."""

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

STATUSES = ("queued", "sending", "sent", "delivered", "read", "failed", "skipped", "unknown")
FINAL_MSG = ("sent", "delivered", "read", "failed", "skipped", "unknown")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
KEEP = os.environ.get("DISPARO_E2E_KEEP") == "1"   # keep temp dirs of failed tests


def disparo_bin():
    return os.environ.get("DISPARO_BIN") or os.path.join(REPO, "build", "san", "disparo")


class Deadline(Exception):
    """Raised by waits once the test's deadline has passed."""


# ---------------------------------------------------------------- time helpers

def utcnow():
    return datetime.now(timezone.utc)


def rfc3339(dt):
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def parse_ts(s):
    """RFC 3339 UTC string -> aware datetime (None stays None)."""
    if s is None:
        return None
    if not isinstance(s, str) or not RFC3339_RE.match(s):
        raise AssertionError("not an RFC 3339 UTC timestamp: %r" % (s,))
    base, _, frac = s[:-1].partition(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    if frac:
        dt += timedelta(microseconds=int((frac + "000000")[:6]))
    return dt


def epoch(s):
    return parse_ts(s).timestamp()


# ------------------------------------------------------------------------ ports

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ----------------------------------------------------------------------- files

def read_text(path):
    """A log file's text ("" if it is not there yet)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------------- client

class Client:
    """A tiny API client. Methods return (status, json-or-None) and never raise on
    an HTTP error status; a transport error (refused, timeout) does raise."""

    def __init__(self, base, token=None, timeout=10.0):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def raw(self, method, path, body=None, headers=None, token=Ellipsis, timeout=None):
        """-> (status, headers dict (lower-case keys), body bytes)."""
        url = path if path.startswith("http") else self.base + path
        hdrs = dict(headers or {})
        tok = self.token if token is Ellipsis else token
        if tok is not None:
            hdrs["Authorization"] = "Bearer " + tok
        data = body
        if isinstance(body, str):
            data = body.encode()
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            try:
                payload = e.read()
            except Exception:
                payload = b""
            return e.code, {k.lower(): v for k, v in (e.headers or {}).items()}, payload

    def request(self, method, path, body=None, raw_body=None, content_type=None, **kw):
        headers = {}
        data = None
        if raw_body is not None:
            data = raw_body
            headers["Content-Type"] = content_type or "application/octet-stream"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PATCH", "PUT"):
            data = b""
        status, _, payload = self.raw(method, path, data, headers, **kw)
        return status, decode_json(payload)

    def get(self, path, **kw):
        return self.request("GET", "/api/v1" + path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", "/api/v1" + path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", "/api/v1" + path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", "/api/v1" + path, **kw)


def decode_json(payload):
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return {"_raw": payload.decode("utf-8", "replace")}


# ---------------------------------------------------------------------- server

_live = set()          # every Server with a running process, for the watchdogs
_live_lock = threading.Lock()


def kill_all_servers():
    with _live_lock:
        servers = list(_live)
    for s in servers:
        s.kill9(quiet=True)


class Server:
    """One disparo process tree on a private data dir. Restartable on the same dir."""

    def __init__(self, workdir, name="srv", extra_args=(), log_level="debug"):
        self.workdir = workdir
        self.data = os.path.join(workdir, name + "-data")
        self.log_path = os.path.join(workdir, name + ".stderr.log")
        self.out_path = os.path.join(workdir, name + ".stdout.log")
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.proc = None
        self.port = None
        self.token = None
        self.starts = 0
        self.exits = []            # (how, returncode)
        self.stdout_runs = []      # stdout of each run
        self._log_mark = 0         # stderr offset where the current run began
        self._out_mark = 0

    # -- lifecycle
    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def client(self, token=Ellipsis):
        return Client(self.base, self.token if token is Ellipsis else token)

    def start(self, timeout=15.0):
        binp = disparo_bin()
        if not os.access(binp, os.X_OK):
            raise AssertionError("DISPARO_BIN %s is not an executable file" % binp)
        last = None
        for attempt in range(3):
            if self.port is None or attempt > 0 and not port_free(self.port):
                self.port = free_port()
            if self._spawn(binp, timeout):
                return self
            last = self.log_tail(20)
            if "in use" not in last.lower():
                break
            self.port = None
        raise AssertionError("server did not become ready (port %s)\n%s" % (self.port, last))

    def _spawn(self, binp, timeout):
        os.makedirs(self.data, exist_ok=True)
        with open(self.log_path, "ab") as f:
            self._log_mark = f.tell()
            f.write(("--- start #%d port %d at %s ---\n" % (self.starts + 1, self.port, rfc3339(utcnow()))).encode())
        with open(self.out_path, "ab") as f:
            self._out_mark = f.tell()
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        args = [binp, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data", self.data]
        if self.log_level:
            args += ["--log-level", self.log_level]
        args += self.extra_args
        err = open(self.log_path, "ab")
        out = open(self.out_path, "ab")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env, start_new_session=True)
        finally:
            err.close()
            out.close()
        self.starts += 1
        with _live_lock:
            _live.add(self)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self._reap("exited during start")
                return False
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1.0) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.05)
        else:
            self.kill9(quiet=True)
            raise AssertionError("GET /healthz not 200 within %.0f s\n%s" % (timeout, self.log_tail(30)))
        tok_path = os.path.join(self.data, "admin.token")
        wait_until(lambda: os.path.exists(tok_path), 5, "admin.token exists")
        with open(tok_path) as f:
            self.token = f.read().strip()
        return True

    def _reap(self, how):
        rc = self.proc.returncode if self.proc else None
        self.exits.append((how, rc))
        try:
            with open(self.out_path, "rb") as f:
                f.seek(self._out_mark)
                self.stdout_runs.append(f.read().decode("utf-8", "replace"))
        except OSError:
            self.stdout_runs.append("")
        with _live_lock:
            _live.discard(self)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, wait, require exit code 0 and no sanitizer report."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9(quiet=True)
                raise AssertionError("server did not exit within %.0f s of SIGTERM\n%s"
                                     % (timeout, self.log_tail(30)))
        rc = self.proc.returncode
        self._reap("sigterm")
        self.proc = None
        self.check_sanitizers()
        if rc != 0:
            raise AssertionError("server exited with %s after SIGTERM (want 0)\n%s" % (rc, self.log_tail(40)))

    def kill9(self, quiet=False):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._reap("sigkill")
        self.proc = None
        if not quiet:
            self.check_sanitizers()

    def restart(self, timeout=15.0):
        """Start again on the same data dir (and the same port if it is free)."""
        if self.proc is not None:
            raise AssertionError("restart while running; stop() or kill9() first")
        binp = disparo_bin()
        for attempt in range(3):
            if not port_free(self.port):
                time.sleep(0.3)  # the old socket may still be closing
                if not port_free(self.port):
                    self.port = free_port()
            if self._spawn(binp, timeout):
                return self
            if "in use" not in self.log_tail(20).lower():
                break
            self.port = free_port()
        raise AssertionError("server did not restart\n%s" % self.log_tail(30))

    # -- logs
    def log_text(self):
        return read_text(self.log_path)

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def stdout_text(self):
        return read_text(self.out_path)

    def check_sanitizers(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                start = text.rfind("\n", 0, max(0, i - 2000)) + 1
                raise AssertionError("sanitizer report in server stderr:\n" + text[start:i + 4000])


_TS_RE = re.compile(r"\bts=\S+\s*|\b(dur|duration|elapsed|took)(_ms)?=\S+\s*")


def digest_log(text, tail=40, important=20):
    """The log's last lines, with runs that differ only in time folded into one
    ("x N"), preceded by its last warn/error lines if the tail misses them."""
    lines = text.splitlines()
    folded = []
    for line in lines:
        key = _TS_RE.sub("", line)
        if folded and folded[-1][0] == key:
            folded[-1][2] += 1
            folded[-1][1] = line
        else:
            folded.append([key, line, 1])
    shown = [l if n == 1 else "%s   (x%d)" % (l, n) for _, l, n in folded[-tail:]]
    older = [l for _, l, _ in folded[:-tail] if re.search(r"level=(warn|error)|Sanitizer|runtime error", l)]
    out = []
    if older:
        out.append("(warnings and errors before the tail:)")
        out += older[-important:]
        out.append("(tail:)")
    return out + shown


# -------------------------------------------------------------------- waiting

_current_test = threading.local()
_deadline_hit = threading.Event()


def wait_until(pred, timeout, what="condition", interval=0.05):
    """Polls pred() until it returns something truthy (which is returned) or the
    timeout passes (AssertionError naming `what` and the last value seen)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        if _deadline_hit.is_set():
            raise Deadline("test deadline passed while waiting for " + what)
        last = pred()
        if last:
            return last
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last))
        time.sleep(interval)


# ---------------------------------------------------------------- fake servers

class QuietServer(ThreadingHTTPServer):
    """A connection disparo drops (a timeout, a reset keep-alive) is no test error."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeServer:
    """An HTTP server on 127.0.0.1 (a free port) that plays a gateway. Every GET
    and POST goes to the subclass's handle(h, method), h being the request's
    BaseHTTPRequestHandler; the subclass checks what it needs and appends its
    record of each request to `requests` under `lock`. close() stops it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.handle(self, "GET")

            def do_POST(self):
                fake.handle(self, "POST")

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base_url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def handle(self, h, method):
        raise NotImplementedError

    def snapshot(self):
        """The requests recorded so far, in arrival order."""
        with self.lock:
            return list(self.requests)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def read_body(h):
    """The request's body by its Content-Length (b"" without one)."""
    n = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(n) if n else b""


def send_json(h, status, obj, content_type="application/json"):
    """Answers with obj as JSON; a connection disparo already gave up on (a
    timeout, a SIGKILL) is ignored."""
    data = json.dumps(obj).encode()
    try:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
    except OSError:
        pass


# -------------------------------------------------------------------- receiver

class Receiver(FakeServer):
    """A webhook gateway on 127.0.0.1 that records every POST.

    Knobs (change any time): fail_phones {phone: status}, fail_phone_times
    {phone: [status, K]} (that status to the phone's next K requests only),
    fail_first (answer 503 to the first K requests), fail_all (status for every
    request, 0 = off),
    delay_ms (before answering), on_request (callback(rec) run on arrival)."""

    def __init__(self):
        self.fail_phones = {}
        self.fail_phone_times = {}
        self.fail_first = 0
        self.fail_all = 0
        self.delay_ms = 0
        self.on_request = None
        self.n = 0
        super().__init__()
        self.url = self.base_url + "/hook"

    def handle(self, h, method):
        if method == "POST":
            self._handle(h)
            return
        h.send_response(405)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _read_body(self, h):
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += h.rfile.read(size)
                h.rfile.readline()
        return read_body(h)

    def _handle(self, h):
        t = time.time()
        raw = self._read_body(h)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        to = body.get("to") if isinstance(body, dict) else None
        with self.lock:
            self.n += 1
            n = self.n
            if self.fail_all:
                status = self.fail_all
            elif n <= self.fail_first:
                status = 503
            elif to in self.fail_phones:
                status = self.fail_phones[to]
            elif self.fail_phone_times.get(to, (0, 0))[1] > 0:
                status = self.fail_phone_times[to][0]
                self.fail_phone_times[to][1] -= 1
            else:
                status = 200
            rec = {"n": n, "t": t, "path": h.path, "body": body, "raw": raw, "to": to,
                   "headers": {k.lower(): v for k, v in h.headers.items()}, "status": status,
                   "id": ("wh-%d" % n) if status == 200 else None}
            self.requests.append(rec)
            delay = self.delay_ms
            cb = self.on_request
        if cb is not None:
            try:
                cb(rec)
            except Exception as e:  # a test bug; keep the receiver alive
                sys.stderr.write("receiver callback failed: %r\n" % (e,))
        if delay:
            time.sleep(delay / 1000.0)
        if status == 200:
            send_json(h, status, {"id": rec["id"]})
        else:
            send_json(h, status, {"error": "status %d" % status})
        rec["answered"] = time.time()

    # -- queries
    def count(self):
        with self.lock:
            return len(self.requests)

    def ok_records(self):
        return [r for r in self.snapshot() if r["status"] == 200]

    def per_phone(self, ok_only=False):
        out = {}
        for r in self.snapshot():
            if ok_only and r["status"] != 200:
                continue
            out[r["to"]] = out.get(r["to"], 0) + 1
        return out

    def for_campaign(self, cid):
        return [r for r in self.snapshot() if isinstance(r["body"], dict) and r["body"].get("campaign_id") == cid]

    def reset(self):
        with self.lock:
            self.requests = []
            self.n = 0


# ------------------------------------------------------------------- test base

class E2ETest(unittest.TestCase):
    """Base class: self.srv is a started server, self.api its admin client.
    Subclasses may set `deadline` (seconds) and `autostart`."""

    deadline = 60.0
    autostart = True

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        self._servers = []
        self._receivers = []
        self._workdir = tempfile.mkdtemp(prefix="disparo-e2e-")
        _deadline_hit.clear()
        timer = threading.Timer(self.deadline, self._deadline_expired)
        timer.daemon = True
        timer.start()
        try:
            return super().run(result)
        finally:
            timer.cancel()
            for s in self._servers:
                s.kill9(quiet=True)
            for r in self._receivers:
                try:
                    r.close()
                except Exception:
                    pass
            failed = len(result.failures) + len(result.errors) > before
            if failed:
                self._dump_logs()
            if failed and KEEP:
                print("    kept: %s" % self._workdir)
            else:
                shutil.rmtree(self._workdir, ignore_errors=True)
            _deadline_hit.clear()

    def _deadline_expired(self):
        sys.stdout.write("\n    !! %s: deadline of %.0f s passed, killing its servers\n" % (self.id(), self.deadline))
        sys.stdout.flush()
        _deadline_hit.set()
        for s in list(self._servers):
            s.kill9(quiet=True)

    def _dump_logs(self):
        for s in self._servers:
            print("    ---- %s (%s) ----" % (os.path.basename(s.log_path), s.log_path))
            for line in digest_log(s.log_text()):
                print("    | " + line)
        sys.stdout.flush()

    def setUp(self):
        if self.autostart:
            self.srv = self.new_server()
            self.api = self.srv.client()

    def new_server(self, name=None, **kw):
        s = Server(self._workdir, name or "srv%d" % (len(self._servers) + 1), **kw)
        self._servers.append(s)
        self.addCleanup(self._stop_server, s)
        s.start()
        return s

    def _stop_server(self, s):
        if s.proc is not None:
            s.stop()
        else:
            s.check_sanitizers()

    def receiver(self):
        r = Receiver()
        self._receivers.append(r)
        return r

    # -- assertions on API answers
    def assertStatus(self, resp, status, code=None):
        st, body = resp
        self.assertEqual(st, status, "want HTTP %s, got %s: %r" % (status, st, body))
        if code is not None:
            self.assertError(body, code)
        return body

    def assertError(self, body, code, mentions=()):
        self.assertIsInstance(body, dict, "error body must be a JSON object: %r" % (body,))
        err = body.get("error")
        self.assertIsInstance(err, dict, "no error object: %r" % (body,))
        self.assertEqual(err.get("code"), code, "error.code: %r" % (body,))
        self.assertIsInstance(err.get("message"), str, "error.message: %r" % (body,))
        self.assertTrue(err["message"], "empty error.message")
        for m in mentions:
            self.assertIn(m, err["message"], "error.message should name %r" % m)
        return err

    def ok(self, resp, status=200):
        return self.assertStatus(resp, status)

    # -- common fixtures
    def webhook_sender(self, recv, name=None, **config):
        cfg = {"url": recv.url}
        cfg.update(config)
        body = {"name": name or "wh-%d-%d" % (recv.port, len(recv.requests)), "provider": "webhook", "config": cfg}
        return self.ok(self.api.post("/senders", body), 201)

    def sandbox_sender(self, name, **config):
        return self.ok(self.api.post("/senders", {"name": name, "provider": "sandbox", "config": config}), 201)

    def campaign(self, sender_ids, contacts=None, text="Oi {{name}}", name=None, interval=(0, 0), **kw):
        body = {"name": name or "c-%d" % int(time.time() * 1000), "sender_ids": list(sender_ids),
                "message": {"text": text}, "interval": {"min_ms": interval[0], "max_ms": interval[1]}}
        if contacts is not None:
            body["contacts"] = contacts
        body.update(kw)
        return self.ok(self.api.post("/campaigns", body), 201)

    def get_campaign(self, cid):
        return self.ok(self.api.get("/campaigns/%d" % cid))

    def wait_status(self, cid, statuses, timeout=30.0):
        if isinstance(statuses, str):
            statuses = (statuses,)
        box = {}

        def pred():
            st, c = self.api.get("/campaigns/%d" % cid)
            box["c"] = c
            return st == 200 and c.get("status") in statuses and c
        try:
            return wait_until(pred, timeout, "campaign %d status in %s" % (cid, statuses), interval=0.05)
        except AssertionError as e:
            c = box.get("c") or {}
            raise AssertionError("%s; last status=%r reason=%r counts=%r" % (
                e, c.get("status"), c.get("state_reason"), c.get("counts"))) from None

    def messages(self, cid, status=None, limit=1000):
        """All messages of a campaign, following next_cursor."""
        out, cursor, pages = [], None, 0
        while True:
            q = "limit=%d" % limit
            if status:
                q += "&status=" + status
            if cursor is not None:
                q += "&cursor=" + str(cursor)
            body = self.ok(self.api.get("/campaigns/%d/messages?%s" % (cid, q)))
            out.extend(body["messages"])
            cursor = body.get("next_cursor")
            pages += 1
            if cursor is None:
                return out
            self.assertLess(pages, 10000, "next_cursor never ends")

    def messages_by_phone(self, cid):
        """phone -> message of a campaign whose phones are distinct."""
        return {m["phone"]: m for m in self.messages(cid)}

    def sender_health(self, sid):
        return self.ok(self.api.get("/senders/%d" % sid))["health"]

    def wait_health_checked(self, sid, timeout=10):
        """The sender's health once a check has run and left it in rotation."""
        def checked():
            h = self.sender_health(sid)
            return h["checked_at"] and h["in_rotation"] and h
        return wait_until(checked, timeout, "the first health check")

    def events(self, cid, limit=None):
        q = "" if limit is None else "?limit=%d" % limit
        return self.ok(self.api.get("/campaigns/%d/events%s" % (cid, q)))["events"]

    def assert_counts_exact(self, cid):
        """counts: statuses add up to total, match the messages list per status."""
        c = self.get_campaign(cid)
        counts = c["counts"]
        for s in STATUSES:
            self.assertIn(s, counts, "counts lacks %s: %r" % (s, counts))
        self.assertEqual(sum(counts[s] for s in STATUSES), counts["total"], "statuses must add up to total: %r" % counts)
        all_msgs = self.messages(cid)
        self.assertEqual(len(all_msgs), counts["total"], "messages listed vs counts.total")
        self.assertEqual(len({m["id"] for m in all_msgs}), len(all_msgs), "message ids repeat")
        for s in STATUSES:
            listed = self.messages(cid, status=s)
            self.assertEqual(len(listed), counts[s], "GET messages?status=%s vs counts[%s] (%r)" % (s, s, counts))
            self.assertTrue(all(m["status"] == s for m in listed), "status filter %s leaked other statuses" % s)
            self.assertEqual(len(listed), sum(1 for m in all_msgs if m["status"] == s))
        return c

    def assert_events_include(self, cid, *types):
        evs = self.events(cid)
        got = [e["type"] for e in evs]
        for t in types:
            self.assertIn(t, got, "events of campaign %d: %r" % (cid, got))
        return evs


def contacts(n, prefix="55119000", start=1, **vars_):
    """n inline contacts with distinct 13-digit phones."""
    out = []
    for i in range(start, start + n):
        c = {"phone": "%s%05d" % (prefix, i), "name": "C%d" % i}
        if vars_:
            c["vars"] = dict(vars_)
        out.append(c)
    return out


def parse_csv(text):
    return list(csv.reader(io.StringIO(text)))
