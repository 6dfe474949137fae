"""A minimal webhook gateway for the latency benchmark: a raw-socket asyncio
HTTP/1.1 server on 127.0.0.1 that stamps time.monotonic_ns() the moment the
first bytes of each request arrive (before any parsing), answers every POST
200 {"id": "r-N"} and keeps the connection open.

Runs as its own process (so the benchmark client's Python does not share a
GIL with it). CLOCK_MONOTONIC is system-wide on Linux, so its stamps compare
directly with the client's time.monotonic_ns().

    python3 receiver.py            prints "PORT <n>" on stdout, then serves
    --stream                       also print "REQ t_ns campaign_id message_id probe" per POST
    GET /_dump                     -> JSON [[t_ns, campaign_id, message_id, probe], ...]
                                      of the requests since the last dump
    POST with {"probe": k}         recorded like a message (the client's own
                                      send -> first-bytes floor)

Exits when stdin closes (the parent died or finished) or after --max-seconds."""

import asyncio
import json
import os
import sys
import time

REPLY_FMT = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n")


class Conn(asyncio.Protocol):
    def __init__(self, srv):
        self.srv = srv
        self.buf = b""
        self.t_first = None  # first bytes of the request being read

    def connection_made(self, transport):
        self.tr = transport
        try:
            import socket
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def data_received(self, data):
        t = time.monotonic_ns()
        if self.t_first is None:
            self.t_first = t
        self.buf += data
        while self._one():
            self.t_first = t if self.buf else None

    def _one(self):
        """Parse and answer one complete request from buf; False if incomplete."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = self.buf[:end].decode("latin-1")
        lines = head.split("\r\n")
        method, _, rest = lines[0].partition(" ")
        path = rest.partition(" ")[0]
        clen, chunked = 0, False
        for h in lines[1:]:
            k, _, v = h.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                clen = int(v.strip())
            elif k == "transfer-encoding" and "chunked" in v.lower():
                chunked = True
        pos = end + 4
        if chunked:
            body = b""
            while True:
                nl = self.buf.find(b"\r\n", pos)
                if nl < 0:
                    return False
                size = int(self.buf[pos:nl].split(b";")[0] or b"0", 16)
                if size == 0:
                    fin = self.buf.find(b"\r\n", nl + 2)
                    if fin < 0:
                        return False
                    pos = fin + 2
                    break
                if len(self.buf) < nl + 2 + size + 2:
                    return False
                body += self.buf[nl + 2:nl + 2 + size]
                pos = nl + 2 + size + 2
        else:
            if len(self.buf) < pos + clen:
                return False
            body = self.buf[pos:pos + clen]
            pos += clen
        self.buf = self.buf[pos:]
        self._answer(method, path, body)
        return True

    def _answer(self, method, path, body):
        srv = self.srv
        if method == "GET" and path == "/_dump":
            payload = json.dumps(srv.records).encode()
            srv.records = []
        else:
            srv.n += 1
            cid = mid = probe = None
            try:
                obj = json.loads(body)
                cid, mid, probe = obj.get("campaign_id"), obj.get("message_id"), obj.get("probe")
            except (ValueError, AttributeError):
                pass
            srv.records.append([self.t_first, cid, mid, probe])
            if srv.stream:
                # after the stamp, so it costs the measurement nothing
                sys.stdout.write("REQ %d %s %s %s\n" % (self.t_first, cid, mid, probe))
                sys.stdout.flush()
            payload = b'{"id":"r-%d"}' % srv.n
        self.tr.write((REPLY_FMT % len(payload)).encode() + payload)


class Srv:
    def __init__(self):
        self.records = []
        self.n = 0
        self.stream = "--stream" in sys.argv


async def main():
    max_s = 900.0
    if "--max-seconds" in sys.argv:
        max_s = float(sys.argv[sys.argv.index("--max-seconds") + 1])
    loop = asyncio.get_running_loop()
    srv = Srv()
    server = await loop.create_server(lambda: Conn(srv), "127.0.0.1", 0, backlog=256)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    done = loop.create_future()
    # stdin closing (parent gone) ends the receiver
    loop.add_reader(sys.stdin.fileno(), lambda: (os.read(sys.stdin.fileno(), 4096) or None) is None
                    and not done.done() and done.set_result(None))
    try:
        await asyncio.wait_for(done, max_s)
    except asyncio.TimeoutError:
        pass
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
