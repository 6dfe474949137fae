"""Shared pieces of the disparo benchmarks: start a fresh server on a free
127.0.0.1 port with a private data dir, a small keep-alive API client, /proc
readers for CPU and RSS, percentiles, and the result line every benchmark
prints for bench/run.sh. Python 3.11 standard library only.

Every benchmark script prints exactly one machine-readable line per result:

    RESULT<TAB>name<TAB>value<TAB>unit<TAB>target<TAB>PASS|FAIL|INFO<TAB>note

and exits 0 when it could run (a missed target is still exit 0), non-zero when
it could not."""

import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _die_on_sigterm(signum, frame):
    # `timeout` in run.sh sends SIGTERM: unwind so every Server.__exit__ runs
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _die_on_sigterm)

try:
    _libc = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _libc = None


def _child_dies_with_parent():
    """preexec_fn: PR_SET_PDEATHSIG(SIGKILL), so a server never outlives a
    benchmark that was killed outright."""
    os.setsid()
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def fmt_num(x):
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 1:
        return "%.2f" % x
    return "%.3f" % x


def fsync_probe(n=200):
    """p50 of write(4 KiB) + fsync in the temp dir: what one durable commit
    costs at least on this machine's disk."""
    fd, path = tempfile.mkstemp(prefix="disparo-bench-fsync-")
    try:
        ts = []
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            ts.append((time.perf_counter() - t) * 1000)
        return percentile(ts, 50), percentile(ts, 99)
    finally:
        os.close(fd)
        os.unlink(path)


def result(name, value, unit, target, ok, note=""):
    """ok: True -> PASS, False -> FAIL, None -> INFO (no target)."""
    verdict = "INFO" if ok is None else ("PASS" if ok else "FAIL")
    if isinstance(value, float):
        value = fmt_num(value)
    line = "RESULT\t%s\t%s\t%s\t%s\t%s\t%s" % (name, value, unit, target, verdict, note)
    print(line, flush=True)


def disparo_bin():
    b = os.environ.get("DISPARO_BIN") or os.path.join(REPO, "build", "rel", "disparo")
    if not os.access(b, os.X_OK):
        raise SystemExit("DISPARO_BIN %s is not executable (run `make build/rel/disparo`)" % b)
    return b


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def median(xs):
    return statistics.median(xs)


def parse_ts(s):
    """RFC 3339 UTC (2026-11-25T20:52:29.123Z) -> epoch seconds (float)."""
    if s is None:
        return None
    base, _, frac = s.rstrip("Z").partition(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


# ----------------------------------------------------------------- /proc

def proc_cpu_split(pid):
    """(utime, stime) of a process, in seconds (from /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    return sum(proc_cpu_split(pid))


def _proc_status_kb(pid, key):
    """A kB line of /proc/PID/status ("VmRSS:", "VmHWM:"); 0 if it has none."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def proc_rss_kb(pid):
    return _proc_status_kb(pid, "VmRSS:")


def proc_hwm_kb(pid):
    return _proc_status_kb(pid, "VmHWM:")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d cores, %s" % (os.cpu_count() or 0, model)


# ----------------------------------------------------------------- client

class ApiError(Exception):
    pass


class Client:
    """Keep-alive JSON client for one server. Reconnects once on a dropped
    connection. request() -> (status, decoded body or None)."""

    def __init__(self, port, token, timeout=60.0):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout,
                                                   blocksize=1 << 18)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def raw(self, method, path, body=None, headers=None, timeout=None):
        hdrs = {"Authorization": "Bearer " + self.token}
        hdrs.update(headers or {})
        for attempt in (0, 1):
            c = self._conn()
            if timeout is not None:
                c.sock.settimeout(timeout)
            try:
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                if timeout is not None:
                    c.sock.settimeout(self.timeout)
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt or hasattr(body, "read"):
                    raise
        raise AssertionError("unreachable")

    def request(self, method, path, body=None, timeout=None):
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PATCH"):
            data = b""
        st, payload = self.raw(method, "/api/v1" + path, data, headers, timeout)
        try:
            return st, (json.loads(payload) if payload else None)
        except ValueError:
            return st, {"_raw": payload[:500]}

    def ok(self, method, path, body=None, want=(200, 201), timeout=None):
        st, b = self.request(method, path, body, timeout)
        if st not in want:
            raise ApiError("%s %s -> %s %r" % (method, path, st, b))
        return b

    def messages(self, cid, limit=1000):
        out, cursor = [], None
        for _ in range(100000):
            q = "limit=%d" % limit + ("&cursor=%s" % urllib.parse.quote(str(cursor)) if cursor else "")
            b = self.ok("GET", "/campaigns/%d/messages?%s" % (cid, q))
            out.extend(b["messages"])
            cursor = b.get("next_cursor")
            if not cursor:
                return out
        raise ApiError("next_cursor never ends")


# ----------------------------------------------------------------- server

class Server:
    """One fresh `disparo serve` on a free port and a private temp data dir.
    Use as a context manager: the process is SIGTERMed (then SIGKILLed) and the
    dir removed on exit, whatever happens."""

    def __init__(self, name="bench", log_level="warn"):
        self.name = name
        self.log_level = log_level
        self.dir = tempfile.mkdtemp(prefix="disparo-bench-%s-" % name)
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.port = None
        self.token = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        if os.environ.get("DISPARO_BENCH_KEEP") == "1":
            log("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=20.0):
        binp = disparo_bin()
        os.makedirs(self.data, exist_ok=True)
        for attempt in range(3):
            self.port = free_port()
            args = [binp, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data", self.data,
                    "--log-level", self.log_level]
            with open(self.log_path, "ab") as err, open(os.path.join(self.dir, "stdout.log"), "ab") as out:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                             preexec_fn=_child_dies_with_parent)
            if self._wait_ready(timeout):
                return self
            self.stop()
            if "in use" not in self.log_tail().lower():
                break
        raise SystemExit("server did not start:\n" + self.log_tail())

    def _wait_ready(self, timeout):
        end = time.monotonic() + timeout
        tok = os.path.join(self.data, "admin.token")
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
                c.request("GET", "/healthz")
                st = c.getresponse().status
                c.close()
                if st == 200 and os.path.exists(tok):
                    with open(tok) as f:
                        self.token = f.read().strip()
                    if self.token:
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def client(self, timeout=60.0):
        return Client(self.port, self.token, timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
            except ProcessLookupError:
                pass
        self.proc = None

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""


def sandbox_sender(api, name="bench-sandbox", **config):
    cfg = {"latency_ms": 0}
    cfg.update(config)
    return api.ok("POST", "/senders", {"name": name, "provider": "sandbox", "config": cfg}, want=(201,))


class Budget:
    """A wall-clock budget: left() seconds remain, expired() once spent."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def expired(self):
        return self.left() <= 0


# ----------------------------------------------------------------- contacts CSV

DDDS = (11, 21, 31, 41, 48, 51, 61, 71, 81, 85, 91, 27, 62, 67, 82, 98)
NAMES = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Iara", "João",
         "Luíza", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sílvia", "Tiago", "Vitória", "Wagner")
CITIES = ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Florianópolis", "Porto Alegre",
          "Brasília", "Salvador", "Recife", "Fortaleza", "Belém", "Vitória", "Goiânia", "Campo Grande",
          "Maceió", "São Luís")


def gen_csv(path, n):
    """phone,name,cidade with n distinct Brazilian mobile numbers
    (55 + DDD + 9 + 8 digits, 13 digits). Returns the file size."""
    nd = len(DDDS)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("phone,name,cidade\n")
        step = 100000
        for lo in range(0, n, step):
            f.writelines("55%d9%08d,%s %d,%s\n" % (DDDS[i % nd], 10000000 + (i // nd) * 7,
                                                   NAMES[i % 20], i, CITIES[(i // 7) % 16])
                         for i in range(lo, min(n, lo + step)))
    return os.path.getsize(path)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def gen_xlsx(path, n):
    """The same contacts as gen_csv in a workbook shaped like libxlsxwriter's
    (and Excel's) output: phones as number cells, names and cities in the
    shared-string table (one entry per distinct string: n + 36), deflated.
    Written with zipfile, streaming, so no spreadsheet library is needed.
    Returns the file size."""
    import zipfile
    from xml.sax.saxutils import escape
    nd = len(DDDS)
    strings, index = [], {}

    def sid(s):
        i = index.get(s)
        if i is None:
            i = index[s] = len(strings)
            strings.append(s)
        return i
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet %s><sheetData>'
                     '<row r="1"><c r="A1" t="s"><v>%d</v></c><c r="B1" t="s"><v>%d</v></c>'
                     '<c r="C1" t="s"><v>%d</v></c></row>' % (ns, sid("phone"), sid("name"), sid("cidade")))
                    .encode())
            step = 50000
            for lo in range(0, n, step):
                f.write("".join(
                    '<row r="%d"><c r="A%d"><v>55%d9%08d</v></c><c r="B%d" t="s"><v>%d</v></c>'
                    '<c r="C%d" t="s"><v>%d</v></c></row>'
                    % (i + 2, i + 2, DDDS[i % nd], 10000000 + (i // nd) * 7, i + 2,
                       sid("%s %d" % (NAMES[i % 20], i)), i + 2, sid(CITIES[(i // 7) % 16]))
                    for i in range(lo, min(n, lo + step))).encode())
            f.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst %s count="%d" '
                     'uniqueCount="%d">' % (ns, len(strings), len(strings))).encode())
            for lo in range(0, len(strings), 50000):
                f.write("".join("<si><t>%s</t></si>" % escape(x) for x in strings[lo:lo + 50000]).encode())
            f.write(b"</sst>")
        z.writestr("xl/workbook.xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook %s xmlns:r="%s">'
                   '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>' % (ns, rel))
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="%s/worksheet" Target="worksheets/sheet1.xml"/>'
                   '<Relationship Id="rId2" Type="%s/sharedStrings" Target="sharedStrings.xml"/>'
                   '</Relationships>' % (rel, rel))
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="%s/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>' % rel)
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sheet.main+xml"/></Types>')
    return os.path.getsize(path)


def import_csv(api, path, list_name, timeout=600.0, content_type="text/csv"):
    """POST /contacts/import?list=NAME streaming the file. -> (seconds, reply)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        t = time.monotonic()
        st, body = api.raw("POST", "/api/v1/contacts/import?list=" + urllib.parse.quote(list_name), f,
                           {"Content-Type": content_type, "Content-Length": str(size)}, timeout=timeout)
        dt = time.monotonic() - t
    if st != 200:
        raise ApiError("import -> %s %r" % (st, body[:500]))
    return dt, json.loads(body)


@contextlib.contextmanager
def server_with_list(name, n, list_name):
    """A fresh Server (see Server) whose list `list_name` holds the n contacts of
    gen_csv, imported through the API. The CSV is deleted as soon as it is
    imported. Yields (srv, api client, import seconds, import reply)."""
    fd, path = tempfile.mkstemp(prefix="disparo-bench-", suffix=".csv")
    os.close(fd)
    try:
        gen_csv(path, n)
        with Server(name) as srv:
            api = srv.client(timeout=300)
            dt, rep = import_csv(api, path, list_name, timeout=300)
            os.unlink(path)
            path = None
            yield srv, api, dt, rep
    finally:
        if path:
            os.unlink(path)
