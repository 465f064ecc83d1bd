#!/usr/bin/env python3
"""Malformed and oversized FastCGI traffic (issue 6, part 3): a raw
FastCGI client (fcgi_client.py) on the worker pool's own socket, not
through nginx, and hostile HTTP through nginx.

The pool is the program's supervisor with 2 workers and a request budget
REQUEST_TIMEOUT_SECONDS=2. Every hostile case checks, besides its own outcome:
  - the connection ends within the budget + 1.5 s (nothing holds a worker
    longer), or the request is answered;
  - no worker died (crash, sanitizer) and the pool is full;
  - right after, a valid request through nginx and one on the socket
    answer 200;
  - where the case makes the worker allocate, every worker's VmRSS is
    below 64 MiB afterwards.

usage: test_wire.py STATE_DIR BINARY HOST:PORT
"""
import functools
import glob
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import fcgi_client as F  # noqa: E402
from harness import (Response, Stack, collect, eq, main_exit, mint,  # noqa: E402
                     ok, run_tests, wait_until)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
WORKERS = 2
BUDGET = 2.0                     # REQUEST_TIMEOUT_SECONDS
SLACK = 1.5
LIMIT = BUDGET + SLACK           # the longest any case may hold a worker
RSS_MAX_KIB = 64 * 1024
with open(sys.argv[2], "rb") as _f:
    # A sanitizer build keeps freed memory in its quarantine (256 MiB by
    # default), resident: a big freed block says nothing of the program.
    ASAN = b"__asan_init" in _f.read()
os.environ.update({"REQUEST_TIMEOUT_SECONDS": "%d" % BUDGET, "LOG_LEVEL": "info"})
for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES", "CLERK_JWKS_FILE", "FCGI_MAX_REQUESTS",
            "TOKEN_CACHE_ENTRIES", "RS_STACK_KEY_FILE", "RUNS_SUMMARY_CONFIG"):
    os.environ.pop(var, None)
os.makedirs(STATE, exist_ok=True)
S = Stack(STATE, BINARY, LISTEN, pool="supervisor", workers=WORKERS)
SOCK = S.env["RS_SOCKET"]
WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
WS = "7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e"      # its workspace
PATH = "/api/v1/workflows/%s/runs/summary" % WF
TOKEN = mint(S.key, "--sub", "user_demo", "--ttl", "3600")
AUTH = "Bearer " + TOKEN
RID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MSG_UUID = "must be a UUID"
MSG_DT = "must be an ISO 8601 date-time with a UTC offset, e.g. 2024-01-15T09:30:00Z"


def note(text):
    print("  note: " + text, flush=True)


# ---- the pool ---------------------------------------------------------------


def workers():
    out = subprocess.run(["pgrep", "-P", str(S.pool_pid)], capture_output=True, text=True)
    return sorted(int(p) for p in out.stdout.split())


def pool_is_full():
    try:
        ws = workers()
        return len(ws) == WORKERS and all(
            open("/proc/%d/stat" % p).read().split()[2] != "Z" for p in ws)
    except FileNotFoundError:
        return False


def rss_kib():
    """VmRSS and VmHWM (KiB) of every live worker."""
    out = {}
    for pid in workers():
        try:
            with open("/proc/%d/status" % pid) as f:
                st = dict(ln.split(":", 1) for ln in f if ":" in ln)
            out[pid] = (int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0]))
        except (FileNotFoundError, KeyError, ValueError):
            pass
    return out


def asan_reports():
    return sorted(glob.glob(os.path.join(STATE, "asan*")))


def log_lines(pattern):
    """The pool log's matching lines; read as bytes, since a raw byte
    from a request must not stop the reading."""
    with open(os.path.join(STATE, "workers.log"), "rb") as f:
        return [ln.decode("utf-8", "replace") for ln in f
                if re.search(pattern.encode(), ln)]


def deaths():
    return log_lines(r"event=worker_died ")


# ---- valid requests ---------------------------------------------------------


def valid_params(extra=None, auth=AUTH):
    """The params nginx sends for GET PATH (fastcgi_params' essentials)."""
    p = {"QUERY_STRING": "", "REQUEST_METHOD": "GET", "CONTENT_TYPE": "",
         "CONTENT_LENGTH": "", "SCRIPT_NAME": PATH, "REQUEST_URI": PATH,
         "DOCUMENT_URI": PATH, "DOCUMENT_ROOT": "/nonexistent",
         "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http",
         "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "wire-test",
         "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
         "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "80", "SERVER_NAME": "localhost",
         "HTTP_HOST": "localhost"}
    if auth is not None:
        p["HTTP_AUTHORIZATION"] = auth
    if extra:
        p.update(extra)
    return p


def direct(extra=None, timeout=LIMIT, **kw):
    """One valid request straight on the socket; its Reply."""
    with F.Conn(SOCK) as c:
        c.send(F.request(1, valid_params(extra), **kw))
        return c.read_reply(1, timeout)


def via_nginx(path=PATH, headers=None, timeout=10):
    return S.request(path, headers={"Authorization": AUTH, **(headers or {})}, timeout=timeout)


def http_raw(path, header_lines=(), timeout=10):
    """GET path through nginx with header lines given as bytes, as they
    are (NUL, bytes above 0x7f, duplicates); a harness Response."""
    req = b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    req += b"".join(h + b"\r\n" for h in header_lines) + b"\r\n"
    s = socket.create_connection((S.host, S.port), timeout=timeout)
    try:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    ok(lines and lines[0].startswith(b"HTTP/1.1 "), "an HTTP answer: %r" % data[:200])
    status = int(lines[0].split()[1])
    hdrs = []
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        hdrs.append((k.strip().decode("latin-1"), v.strip().decode("latin-1")))
    return Response(status, hdrs, body)


def auth_line(value=AUTH):
    return b"Authorization: " + (value if isinstance(value, bytes) else value.encode())


def check_safe_json(r, what):
    """No 5xx; an answer of the worker carries the JSON envelope with a
    safe request id, echoed; nginx's own 4xx pages are allowed."""
    ok(r.status < 500, "%s: no 5xx, got %d %r" % (what, r.status, r.body[:200]))
    if r.headers.get("content-type") != "application/json":
        ok(r.status in (400, 404, 414, 494), "%s: a non-JSON answer is nginx's own 4xx: %r"
           % (what, r))
        return None
    body = json.loads(r.body)
    rid = body["meta"]["request_id"]
    ok(RID_RE.match(rid), "%s: safe request id %r" % (what, rid))
    eq(r.headers.get("x-request-id"), rid, "%s: X-Request-Id echoes meta.request_id" % what)
    eq(int(r.headers.get("content-length")), len(r.body), "%s: Content-Length" % what)
    if r.status != 200:
        ok("error" in body and body["error"]["code"], "%s: error envelope %r" % (what, body))
    return body


def check_422(r, fields, what):
    body = check_safe_json(r, what)
    eq(r.status, 422, "%s: status (%r)" % (what, r.body[:300]))
    eq(body["error"]["code"], "VALIDATION_ERROR", what + ": code")
    eq(sorted(d["field"] for d in body["error"]["details"]), sorted(fields),
       what + ": fields in details")


def check_reply_status(rep, status, what):
    eq(rep.outcome, "complete", "%s: answered (%r)" % (what, rep))
    eq(rep.status, status, "%s: status (%r)" % (what, rep.stdout[:300]))
    eq(rep.end, (0, F.REQUEST_COMPLETE), what + ": END_REQUEST")
    eq(rep.headers.get("content-type"), "application/json", what + ": Content-Type")
    eq(int(rep.headers.get("content-length", -1)), len(rep.body), what + ": Content-Length")
    return rep.json()


# ---- the checks every hostile case gets -------------------------------------


def still_serving(what="after"):
    """The pool is whole and answers, through nginx and on the socket."""
    wait_until(pool_is_full, "the pool back to %d workers" % WORKERS, timeout=15)
    for i in range(2):
        t0 = time.monotonic()
        r = via_nginx(headers={"X-Request-Id": "wire-alive-%d" % i})
        eq(r.status, 200, "%s: a valid request through nginx (%r)" % (what, r))
        ok(time.monotonic() - t0 < 1.0, "%s: answered at once through nginx (%.2f s)"
           % (what, time.monotonic() - t0))
    for i in range(2):
        rep = direct()
        eq(rep.outcome, "complete", "%s: a valid request on the socket (%r)" % (what, rep))
        eq(rep.status, 200, "%s: its status" % what)
        ok(rep.elapsed < 1.0, "%s: answered at once on the socket (%.2f s)"
           % (what, rep.elapsed))


def hostile(rss=False):
    """Wraps a case with the common checks: no worker died, no sanitizer
    report, the pool still serves; with rss, every worker below 64 MiB
    (with rss="plain", only in a build without the sanitizer)."""
    def wrap(fn):
        @functools.wraps(fn)
        def run():
            wait_until(pool_is_full, "a full pool before the case", timeout=15)
            died, reports = len(deaths()), set(asan_reports())
            before = rss_kib()
            fn()
            time.sleep(0.2)
            new_deaths = deaths()[died:]
            new_reports = sorted(set(asan_reports()) - reports)
            text = "".join(open(p, errors="replace").read()[:600] for p in new_reports)
            ok(not new_deaths, "a worker died: %s%s" % ("".join(new_deaths).strip(),
                                                         "\n" + text if text else ""))
            ok(not new_reports, "sanitizer reports %s:\n%s" % (new_reports, text))
            if rss == "plain" and ASAN:
                note("VmRSS not checked: the sanitizer's quarantine holds freed memory; "
                     "workers' VmRSS/VmHWM KiB %r" % rss_kib())
            elif rss:
                after = rss_kib()
                big = {p: v for p, v in after.items() if v[0] >= RSS_MAX_KIB}
                ok(not big, "worker VmRSS/VmHWM (KiB) above 64 MiB after the case: %r "
                   "(before: %r)" % (big, before))
            still_serving()
        return run
    return wrap


def expect_closed(c, what, limit=LIMIT, answered_ok=False):
    """The worker ends the connection within limit of our first byte,
    with no answer (unless answered_ok)."""
    closed = c.wait_closed(max(0.0, limit - (time.monotonic() - (c.t_first_byte or c.t_open)))
                           + 0.05)
    held = c.held_for()
    ok(closed, "%s: the worker still holds the connection %.1f s after its first byte "
       "(budget %.0f s + %.1f s)" % (what, time.monotonic() - (c.t_first_byte or c.t_open),
                                     BUDGET, SLACK))
    ok(held <= limit, "%s: held %.2f s, more than %.1f s" % (what, held, limit))
    if not answered_ok:
        recs = c.records(0)
        stray = [r for r in recs if r.request_id != 0]
        eq(stray, [], what + ": records sent for the request")
    return held


# ---- on the socket: broken records ------------------------------------------


@hostile()
def test_wire_truncated_record_header():
    """Five bytes of a record header, then silence."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1)[:5])
        held = expect_closed(c, "truncated header")
    note("truncated header: connection closed after %.2f s" % held)


@hostile()
def test_wire_truncated_record_body_then_close():
    """A PARAMS record that promises 100 bytes, 50 sent, then we hang up:
    the worker is free at once (checked with the other worker held, so
    the next request must land on this one)."""
    with F.Conn(SOCK) as hold:
        hold.send(F.begin(1))              # the other worker waits on this
        time.sleep(0.2)
        with F.Conn(SOCK) as c:
            c.send(F.begin(1) + F.header(F.PARAMS, 1, 100) + b"x" * 50)
            time.sleep(0.1)
        rep = direct(timeout=1.0)
        eq(rep.outcome, "complete", "the next request, on the same worker, within 1 s (%r)"
           % rep)
        eq(rep.status, 200, "its status")


@hostile()
def test_wire_wrong_version_byte():
    with F.Conn(SOCK) as c:
        c.send(F.begin(1, version=2) + F.params(1, valid_params()) + F.stdin(1))
        expect_closed(c, "version 2")
    with F.Conn(SOCK) as c:             # a right BEGIN, then a wrong PARAMS
        c.send(F.begin(1) + F.record(F.PARAMS, 1, F.encode_params(valid_params()), version=0)
               + F.stdin(1))
        expect_closed(c, "version 0 on PARAMS")


@hostile()
def test_wire_huge_content_length_then_stall():
    """contentLength 65535 with 100 bytes sent, then nothing."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.header(F.PARAMS, 1, 65535) + b"x" * 100)
        held = expect_closed(c, "65535 promised, 100 sent")
    note("huge contentLength: closed after %.2f s" % held)


@hostile()
def test_wire_params_lengths_past_record_end():
    """A pair claiming 100 + 100 bytes in a 13-byte record, then the
    end of the params stream."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.record(F.PARAMS, 1, F.name_value_raw(100, 100, b"HTTP_X_A=b"))
               + F.record(F.PARAMS, 1) + F.stdin(1))
        expect_closed(c, "1-byte lengths past the stream")
    with F.Conn(SOCK) as c:             # the same with 4-byte lengths
        c.send(F.begin(1) + F.record(F.PARAMS, 1, F.name_value_raw(
            4000, 70000, b"HTTP_X_A", long_name=True)) + F.record(F.PARAMS, 1) + F.stdin(1))
        expect_closed(c, "4-byte lengths past the stream")


@hostile(rss=True)
def test_wire_params_4byte_lengths_claiming_2_31():
    """Name and value lengths of 2^31 - 1 (the most 4 bytes hold): their
    sum overflows an int in libfcgi's ReadParams (CVE-2025-23016)."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.record(F.PARAMS, 1, F.name_value_raw(
            0x7FFFFFFF, 0x7FFFFFFF, b"A" * 4000)) + F.record(F.PARAMS, 1) + F.stdin(1))
        expect_closed(c, "2^31-1 + 2^31-1")
    with F.Conn(SOCK) as c:             # one huge length, more bytes, then a stall
        c.send(F.begin(1) + F.record(F.PARAMS, 1, F.name_value_raw(
            0x7FFFFFFF, 1, b"A" * 4000)) + F.record(F.PARAMS, 1, b"B" * 60000))
        expect_closed(c, "2^31-1 name, then a stall")
    with F.Conn(SOCK) as c:             # 256 MiB claimed, 1 MiB sent, then a stall
        c.send(F.begin(1) + F.record(F.PARAMS, 1, F.name_value_raw(
            10, 256 << 20, b"HTTP_X_BIG")))
        for _ in range(16):
            if not c.send(F.record(F.PARAMS, 1, b"B" * 65528)):
                break
        expect_closed(c, "256 MiB claimed, 1 MiB sent")


# ---- on the socket: oversized but well formed -------------------------------


@hostile(rss=True)
def test_wire_1mb_authorization_across_many_params_records():
    """A 1 MiB HTTP_AUTHORIZATION cut into 4 KiB PARAMS records (257 of
    them): refused as a token longer than 8 KiB."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.params(1, valid_params(auth="Bearer " + "A" * (1 << 20)),
                                     chunk=4096) + F.stdin(1))
        rep = c.read_reply(1, LIMIT)
        body = check_reply_status(rep, 401, "1 MiB token")
        eq(body["error"]["code"], "INVALID_TOKEN", "code")
        expect_closed(c, "after the answer", answered_ok=True)


@hostile(rss=True)
def test_wire_100kb_query_string():
    with F.Conn(SOCK) as c:
        c.send(F.request(1, valid_params({"QUERY_STRING": "from=" + "1" * 100000})))
        rep = c.read_reply(1, LIMIT)
        body = check_reply_status(rep, 422, "100 kB query")
        eq(body["error"]["details"], [{"field": "query", "message": "is longer than 2048 bytes"}],
           "details")


@hostile(rss=True)
def test_wire_5000_params():
    extra = {"HTTP_X_FILLER_%d" % i: "v%d" % i for i in range(5000)}
    with F.Conn(SOCK) as c:
        t0 = time.monotonic()
        c.send(F.request(1, valid_params(extra)))
        rep = c.read_reply(1, LIMIT)
        check_reply_status(rep, 200, "5,000 params")
    note("5,000 params answered in %.0f ms" % ((time.monotonic() - t0) * 1000))


@hostile(rss="plain")
def test_wire_100mb_param_value():
    """Not in the list: a 100 MiB header value sent at full speed on the
    socket. libfcgi reads all params before the program sees any, so the
    worker holds whatever arrives within the budget (its peak, VmHWM,
    grows by about that); it must not stay big afterwards."""
    with F.Conn(SOCK) as c:
        t0 = time.monotonic()
        c.send(F.request(1, valid_params({"HTTP_X_BIG": b"A" * (100 << 20)})))
        rep = c.read_reply(1, LIMIT)
        ok(rep.outcome in ("complete", "closed"), "answered or closed: %r" % rep)
        ok(rep.status is None or rep.status < 500, "no 5xx: %r" % rep.status)
        note("100 MiB value: %s (status %r) after %.2f s" % (
            rep.outcome, rep.status, time.monotonic() - t0))


# ---- on the socket: slow and silent clients ---------------------------------


@hostile()
def test_wire_slowloris():
    """BEGIN_REQUEST, then the params one byte every 0.5 s: closed within
    the budget, and nginx's clients are served by the other worker
    meanwhile."""
    served = []

    def others():
        for i in range(5):
            t0 = time.monotonic()
            r = via_nginx(headers={"X-Request-Id": "wire-slow-%d" % i})
            served.append((r.status, time.monotonic() - t0))
            time.sleep(0.3)
    with F.Conn(SOCK) as c:
        c.send(F.begin(1))
        th = threading.Thread(target=others)
        th.start()
        sent = c.trickle(F.params(1, valid_params()) + F.stdin(1), 0.5, LIMIT + 2)
        th.join()
        held = expect_closed(c, "slowloris")
    eq([s for s, _ in served], [200] * 5, "others' statuses meanwhile")
    ok(max(t for _, t in served) < 1.0, "others answered at once: %r" % served)
    note("slowloris: %d bytes in, closed after %.2f s" % (sent, held))


@hostile()
def test_wire_slowloris_on_every_worker():
    """Not in the list: both workers held by slow clients; a request
    through nginx waits in the socket's queue and is answered once the
    budget frees a worker."""
    conns = [F.Conn(SOCK) for _ in range(WORKERS)]
    threads = []
    try:
        for c in conns:
            c.send(F.begin(1))
            threads.append(threading.Thread(target=c.trickle, args=(
                F.params(1, valid_params()), 0.5, LIMIT + 2)))
            threads[-1].start()
        time.sleep(0.3)
        t0 = time.monotonic()
        r = via_nginx(headers={"X-Request-Id": "wire-queued"})
        took = time.monotonic() - t0
        for th in threads:
            th.join()
        for c in conns:
            expect_closed(c, "slowloris on every worker")
    finally:
        for c in conns:
            c.close()
    eq(r.status, 200, "the queued request (%r)" % r)
    ok(took <= LIMIT, "the queued request answered within the budget (%.2f s)" % took)
    note("queued behind two slow clients: answered after %.2f s" % took)


@hostile()
def test_wire_connect_and_send_nothing():
    with F.Conn(SOCK) as c:
        held = expect_closed(c, "silent connection")
    note("silent connection closed after %.2f s" % held)


@hostile()
def test_wire_request_body_on_get():
    """STDIN with 1000 bytes on a GET: answered as any GET."""
    with F.Conn(SOCK) as c:
        c.send(F.request(1, valid_params({"CONTENT_LENGTH": "1000"}), body=b"x" * 1000))
        rep = c.read_reply(1, LIMIT)
        check_reply_status(rep, 200, "GET with a body")
        expect_closed(c, "after the answer", answered_ok=True)


@hostile()
def test_wire_abort_request_mid_params():
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.params(1, valid_params(), end=False) + F.abort(1))
        expect_closed(c, "ABORT_REQUEST mid-params", answered_ok=True)
        recs = c.records(0)
        ok(all(r.type == F.END_REQUEST for r in recs if r.request_id == 1),
           "nothing but an END_REQUEST for the aborted request: %r" % recs)


@hostile()
def test_wire_abort_request_after_params():
    """ABORT_REQUEST where STDIN should begin: the program, which never
    reads STDIN, answers (the spec allows it; an END_REQUEST is all the
    client may expect) or closes."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.params(1, valid_params()) + F.abort(1))
        rep = c.read_reply(1, LIMIT)
        ok(rep.outcome in ("complete", "closed"), "answered or closed: %r" % rep)
        if rep.outcome == "complete":
            ok(rep.status is None or rep.status < 500, "no 5xx: %r" % rep)
        expect_closed(c, "after ABORT_REQUEST", answered_ok=True)
    note("ABORT_REQUEST after params: %s, status %r" % (rep.outcome, rep.status))


# ---- on the socket: kept connections ----------------------------------------


@hostile()
def test_wire_keep_conn_left_idle():
    """FCGI_KEEP_CONN, one request answered, then silence: the worker
    closes the idle connection after the budget."""
    with F.Conn(SOCK) as c:
        c.send(F.request(1, valid_params(), keep_conn=True))
        rep = c.read_reply(1, LIMIT)
        check_reply_status(rep, 200, "the first request")
        t_answered = time.monotonic()
        closed = c.wait_closed(LIMIT)
        idle = (c.t_closed or time.monotonic()) - t_answered
        ok(closed, "the idle kept connection still open %.1f s after the answer" % idle)
        ok(idle <= LIMIT, "closed %.2f s after the answer, more than %.1f s" % (idle, LIMIT))
    note("idle kept connection closed %.2f s after the answer" % idle)


@hostile()
def test_wire_keep_conn_50_pipelined_requests():
    """50 requests written at once on one FCGI_KEEP_CONN connection: each
    must be answered, in order, with its own X-Request-Id."""
    with F.Conn(SOCK) as c:
        c.send(b"".join(F.request(i, valid_params({"HTTP_X_REQUEST_ID": "pipe-%d" % i}),
                                  keep_conn=True) for i in range(1, 51)))
        got = []
        for i in range(1, 51):
            rep = c.read_reply(i, LIMIT)
            if rep.outcome != "complete":
                break
            got.append((rep.status, rep.headers.get("x-request-id")))
        answered = len(got)
        ok(answered == 50, "answered %d of 50 pipelined requests, then the connection %s "
           "after %.2f s" % (answered, "was closed by the worker" if c.closed else
                             "stayed silent", c.held_for() or 0))
        eq(got, [(200, "pipe-%d" % i) for i in range(1, 51)], "statuses and request ids")
        c.send(F.request(51, valid_params(), keep_conn=True))
        check_reply_status(c.read_reply(51, LIMIT), 200, "one more after them")


@hostile()
def test_wire_keep_conn_50_sequential_requests():
    """Not in the list: 50 requests on one FCGI_KEEP_CONN connection,
    each sent after the previous answer (what nginx does with keep_conn)."""
    with F.Conn(SOCK) as c:
        for i in range(1, 51):
            c.send(F.request(i, valid_params({"HTTP_X_REQUEST_ID": "seq-%d" % i}),
                             keep_conn=True))
            rep = c.read_reply(i, LIMIT)
            check_reply_status(rep, 200, "request %d" % i)
            eq(rep.headers.get("x-request-id"), "seq-%d" % i, "request %d's id" % i)


@hostile()
def test_wire_keep_conn_request_body_then_next_request():
    """Not in the list: on a kept connection, a GET with a 200 kB body the
    program never reads, then a second request: it must be answered (or
    the connection closed at once; a hang or a wrong answer is a bug)."""
    with F.Conn(SOCK) as c:
        c.send(F.request(1, valid_params({"CONTENT_LENGTH": "200000"}), body=b"x" * 200000,
                         keep_conn=True))
        check_reply_status(c.read_reply(1, LIMIT), 200, "the GET with a body")
        c.send(F.request(2, valid_params({"HTTP_X_REQUEST_ID": "after-body"}), keep_conn=True))
        rep = c.read_reply(2, LIMIT)
        ok(rep.outcome == "complete", "the next request on the kept connection: %s after "
           "%.2f s (libfcgi does not skip the unread STDIN)" % (rep.outcome, rep.elapsed))
        check_reply_status(rep, 200, "the next request")
        eq(rep.headers.get("x-request-id"), "after-body", "its id")


# ---- on the socket: record types and request ids ----------------------------


@hostile()
def test_wire_unknown_record_type():
    """Type 99 as a management record (id 0): an FCGI_UNKNOWN_TYPE naming
    99; the request after it on the same connection is answered, or the
    connection closed at once. Type 99 on the request's own id is skipped,
    as records of no known type are, and the request is answered."""
    seen = []
    for body in (b"", b"12345678"):
        with F.Conn(SOCK) as c:
            c.send(F.record(99, 0, body) + F.request(1, valid_params()))
            rep = c.read_reply(1, LIMIT)
            mgmt = [r for r in c.records(0.2) if r.request_id == 0]
            ok(mgmt, "an answer to the management record (%d-byte body)" % len(body))
            eq(mgmt[0].type, F.UNKNOWN_TYPE, "its type")
            eq(mgmt[0].content[:1], bytes([99]), "the type it names")
            if rep.outcome == "complete":
                check_reply_status(rep, 200, "the request after it")
            else:
                expect_closed(c, "after type 99 with a %d-byte body" % len(body))
            seen.append("%d-byte body: request after it %s" % (
                len(body), "answered" if rep.outcome == "complete" else rep.outcome))
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.record(99, 1, b"12345678") + F.params(1, valid_params())
               + F.stdin(1))
        check_reply_status(c.read_reply(1, LIMIT), 200, "the request with type 99 inside")
    note("unknown type 99 on id 0: FCGI_UNKNOWN_TYPE; " + "; ".join(seen))


@hostile()
def test_wire_get_values_management_record():
    with F.Conn(SOCK) as c:
        c.send(F.get_values(["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"])
               + F.request(1, valid_params()))
        rep = c.read_reply(1, LIMIT)
        check_reply_status(rep, 200, "the request after it")
        mgmt = [r for r in c.records(0.2) if r.request_id == 0]
    ok(mgmt and mgmt[0].type == F.GET_VALUES_RESULT, "GET_VALUES_RESULT: %r" % mgmt)
    eq(dict(F.parse_name_values(mgmt[0].content)),
       {b"FCGI_MAX_CONNS": b"32", b"FCGI_MAX_REQS": b"32", b"FCGI_MPXS_CONNS": b"0"},
       "the values")


@hostile()
def test_wire_get_values_with_repeated_names():
    """Not in the list: FCGI_GET_VALUES naming FCGI_MAX_CONNS four times.
    libfcgi writes its answer into a 64-byte buffer on the stack, 17
    bytes per name it knows, without a bound."""
    with F.Conn(SOCK) as c:
        c.send(F.get_values(["FCGI_MAX_CONNS"] * 4) + F.request(1, valid_params()))
        rep = c.read_reply(1, LIMIT)
        ok(rep.outcome in ("complete", "closed"), "answered or closed: %r" % rep)
        expect_closed(c, "after GET_VALUES x4", answered_ok=True)


@hostile()
def test_wire_begin_request_with_id_0():
    with F.Conn(SOCK) as c:
        c.send(F.begin(0) + F.params(0, valid_params()) + F.stdin(0))
        expect_closed(c, "BEGIN_REQUEST on id 0", answered_ok=True)
        recs = c.records(0)
        ok(not any(r.type == F.STDOUT for r in recs), "no answer: %r" % recs)


@hostile()
def test_wire_two_begin_requests_on_one_connection():
    """BEGIN 1, BEGIN 2, then both requests: the second is refused with
    FCGI_CANT_MPX_CONN, the first answered."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.begin(2) + F.params(1, valid_params()) + F.stdin(1)
               + F.params(2, valid_params()) + F.stdin(2))
        rep = c.read_reply(1, LIMIT)
        check_reply_status(rep, 200, "the first request")
        second = c.read_reply(2, LIMIT)
        ok(second.end is not None and second.end[1] == F.CANT_MPX_CONN and not second.stdout,
           "the second refused with FCGI_CANT_MPX_CONN: %r" % second)
        expect_closed(c, "after both", answered_ok=True)


@hostile()
def test_wire_unknown_role():
    """Not in the list: BEGIN_REQUEST with role 7."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1, role=7) + F.params(1, valid_params()) + F.stdin(1))
        expect_closed(c, "role 7", answered_ok=True)
        recs = c.records(0)
        ok(not any(r.type == F.STDOUT for r in recs), "no answer: %r" % recs)


# ---- through nginx ----------------------------------------------------------


@hostile()
def test_nginx_16kb_authorization():
    r = http_raw(PATH.encode(), [auth_line("Bearer " + "A" * 16384)])
    check_safe_json(r, "16 kB Authorization")
    ok(r.status in (400, 401, 494), "401 or nginx's 400/494: %d" % r.status)
    if r.status == 401:
        eq(json.loads(r.body)["error"]["code"], "INVALID_TOKEN", "code")
    # Just below nginx's 16k line buffer, it reaches the worker.
    r2 = http_raw(PATH.encode(), [auth_line("Bearer " + "A" * 15000)])
    check_safe_json(r2, "15 kB Authorization")
    eq(r2.status, 401, "15 kB Authorization")
    eq(json.loads(r2.body)["error"]["code"], "INVALID_TOKEN", "code")
    note("16 kB Authorization: %d %s; 15 kB: 401 INVALID_TOKEN from the worker" % (
        r.status, r.headers.get("content-type")))


@hostile()
def test_nginx_8kb_path():
    route = "/api/v1/workflows/" + "a" * 8192 + "/runs/summary"
    r = via_nginx(route)
    check_safe_json(r, "8 kB path on the route")
    ok(r.status in (404, 414), "404 or 414: %r" % r)
    if r.status == 404:
        eq(json.loads(r.body)["error"]["code"], "NOT_FOUND", "code")
    other = via_nginx("/" + "a" * 8192)
    check_safe_json(other, "8 kB path off the route")
    note("8 kB path: %d %s on the route, %d %s off it" % (
        r.status, r.headers.get("content-type"), other.status, other.headers.get("content-type")))


@hostile()
def test_nginx_nul_and_invalid_utf8_in_path():
    seen = []
    for seg in (b"%00", WF.encode() + b"%00", b"%00" + WF.encode(), b"%C3%28", b"%FF",
                WF.encode()[:-2] + b"%C3%28", WF.encode()[:-1] + b"%FF"):
        r = http_raw(b"/api/v1/workflows/" + seg + b"/runs/summary", [auth_line()])
        check_safe_json(r, "path %r" % seg)
        if r.headers.get("content-type") == "application/json":
            # A workflow_id that is not a UUID is 422 (SPEC, Inputs);
            # a NUL may also make it another path (404).
            ok(r.status in (404, 422), "path %r: 404 or 422, got %r" % (seg, r))
            if b"%00" not in seg:
                check_422(r, ["workflow_id"], "path %r" % seg)
        seen.append("%s -> %d" % (seg.decode(), r.status))
    r = http_raw(PATH.encode() + b"%00", [auth_line()])
    check_safe_json(r, "NUL after the route")
    seen.append("<route>%%00 -> %d" % r.status)
    note("; ".join(seen))


@hostile()
def test_nginx_invalid_utf8_is_not_written_raw_to_the_log():
    """Not in the list: the request line logged for a path with bytes
    above 0x7f holds only printable ASCII (journald and log shippers
    take a line with invalid UTF-8 as binary, or choke on it)."""
    log = os.path.join(STATE, "workers.log")
    start = os.path.getsize(log)        # the state directory may hold older runs' lines
    for seg in (b"%C3%28", b"%FF", b"%E2%80%AE"):     # the last: U+202E, right-to-left
        r = http_raw(b"/api/v1/workflows/" + seg + b"/runs/summary",
                     [auth_line(), b"X-Request-Id: wire-log-" + seg[1:3]])
        eq(r.status, 422, "path %r" % seg)
    time.sleep(0.3)
    with open(log, "rb") as f:
        f.seek(start)
        bad = [ln for ln in f if re.search(rb"[^\x20-\x7e\n]", ln)]
    eq(bad, [], "log lines with bytes outside printable ASCII")


@hostile()
def test_nginx_nul_and_invalid_utf8_in_from_and_to():
    for v in (b"%00", b"%C3%28", b"%FF", b"2024-01-01T00:00:00Z%00",
              b"2024-01-01T00:00:00%C3%28Z", b"2024-01-01T00:00:00Z%FF"):
        for name in (b"from", b"to"):
            r = http_raw(PATH.encode() + b"?" + name + b"=" + v, [auth_line()])
            check_422(r, [name.decode()], "%s=%r" % (name.decode(), v))
        r = http_raw(PATH.encode() + b"?from=" + v + b"&to=" + v, [auth_line()])
        check_422(r, ["from", "to"], "both = %r" % v)
    # An encoded NUL in a parameter's name, and raw bytes above 0x7f.
    r = http_raw(PATH.encode() + b"?fr%00om=x&to=\xff", [auth_line()])
    check_safe_json(r, "raw 0xff in the query")
    ok(r.status in (400, 422), "raw 0xff: nginx 400 or 422: %d" % r.status)


@hostile()
def test_nginx_nul_and_invalid_utf8_in_x_workspace_id():
    for v in (b"%00", b"\xc3\x28", b"\xff", WS.encode() + b"\xff", WS.encode()[:-1] + b"\xc3"):
        r = http_raw(PATH.encode(), [auth_line(), b"X-Workspace-Id: " + v])
        check_422(r, ["X-Workspace-Id"], "X-Workspace-Id %r" % v)
    r = http_raw(PATH.encode(), [auth_line(), b"X-Workspace-Id: a\x00b"])
    check_safe_json(r, "raw NUL in X-Workspace-Id")
    ok(r.status in (400, 422), "raw NUL: nginx 400 or 422: %d" % r.status)


@hostile()
def test_nginx_nul_and_invalid_utf8_in_x_request_id():
    """An X-Request-Id outside [A-Za-z0-9._:-]{1,128} is replaced by a
    fresh UUIDv4, echoed; the request itself is answered."""
    for v in (b"%00", b"abc%00def", b"\xc3\x28", b"\xff", b"ok-id\xff", b"a" * 129):
        r = http_raw(PATH.encode(), [auth_line(), b"X-Request-Id: " + v])
        body = check_safe_json(r, "X-Request-Id %r" % v)
        eq(r.status, 200, "X-Request-Id %r: status" % v)
        ok(UUID4_RE.match(body["meta"]["request_id"]), "X-Request-Id %r: replaced by a "
           "UUIDv4, got %r" % (v, body["meta"]["request_id"]))
    r = http_raw(PATH.encode(), [auth_line(), b"X-Request-Id: a\x00b"])
    check_safe_json(r, "raw NUL in X-Request-Id")
    ok(r.status in (200, 400), "raw NUL: 200 or nginx 400: %d" % r.status)


@hostile()
def test_nginx_nul_and_invalid_utf8_in_authorization():
    for v in (b"Bearer %00", b"Bearer \xc3\x28", b"Bearer \xff", b"Bearer " +
              TOKEN.encode()[:-1] + b"\xff", b"op_live_" + b"\xff" * 32, b"\xff"):
        r = http_raw(PATH.encode(), [auth_line(v)])
        body = check_safe_json(r, "Authorization %r" % v[:20])
        eq(r.status, 401, "Authorization %r: status" % v[:20])
        ok(body["error"]["code"] in ("UNAUTHORIZED", "INVALID_TOKEN", "INVALID_API_KEY"),
           "code %r" % body["error"]["code"])
    r = http_raw(PATH.encode(), [auth_line(b"Bearer a\x00b")])
    check_safe_json(r, "raw NUL in Authorization")
    ok(r.status in (400, 401), "raw NUL: nginx 400 or 401: %d" % r.status)


@hostile()
def test_nginx_duplicate_headers():
    """SPEC is silent: no 5xx, and what happens is written down."""
    seen = []
    cases = [
        ("Authorization good, bad", [auth_line(), auth_line("Bearer xyz")]),
        ("Authorization bad, good", [auth_line("Bearer xyz"), auth_line()]),
        ("X-Workspace-Id right, other", [auth_line(), b"X-Workspace-Id: " + WS.encode(),
                                         b"X-Workspace-Id: 00000000-0000-4000-8000-000000000000"]),
        ("X-Workspace-Id other, right", [auth_line(),
                                         b"X-Workspace-Id: 00000000-0000-4000-8000-000000000000",
                                         b"X-Workspace-Id: " + WS.encode()]),
        ("X-Workspace-Id right, junk", [auth_line(), b"X-Workspace-Id: " + WS.encode(),
                                        b"X-Workspace-Id: junk"]),
        ("X-Request-Id dup-a, dup-b", [auth_line(), b"X-Request-Id: dup-a",
                                       b"X-Request-Id: dup-b"]),
        ("X-Request-Id bad, good", [auth_line(), b"X-Request-Id: b\xffad",
                                    b"X-Request-Id: good"]),
    ]
    for name, lines in cases:
        r = http_raw(PATH.encode(), lines)
        body = check_safe_json(r, name)
        rid = body["meta"]["request_id"] if body else None
        seen.append("%s -> %d%s" % (name, r.status, " (request id %s)" % rid
                                     if rid and not UUID4_RE.match(rid) else ""))
    note("; ".join(seen))


# ---- found by review: no client holds a worker, or a budget, for longer ----


@hostile()
def test_wire_client_not_reading_replies_is_closed():
    """Management records answered faster than the client reads: once a
    socket buffer of answers is unread, the connection is closed, and a
    request on another connection is answered at once meanwhile (the
    worker used to wait on the slow reader until the budget ran out, and
    it again for every read)."""
    a = socket.socket(socket.AF_UNIX)
    a.connect(SOCK)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stop = time.monotonic() + 4
    rec = F.record(99, 0, b"")

    def feeder():
        try:
            while time.monotonic() < stop:
                a.sendall(rec * 4096)
        except OSError:
            pass
    th = threading.Thread(target=feeder, daemon=True)
    th.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    check_reply_status(direct(), 200, "a request beside the slow reader")
    ok(time.monotonic() - t0 < 1.0, "answered within 1 s beside the slow reader")
    th.join(5)
    a.close()
    ok(log_lines("client not reading"), "the slow reader's connection was dropped")


@hostile()
def test_wire_not_kept_connection_closed_when_its_body_ends():
    """The body of a request that did not ask to keep the connection ends
    after the answer: the worker closes at once, and a further request on
    that connection is not served."""
    with F.Conn(SOCK) as c:
        c.send(F.begin(1) + F.params(1, valid_params({"CONTENT_LENGTH": "10"}))
               + F.record(F.STDIN, 1, b"01234"))
        check_reply_status(c.read_reply(1, LIMIT), 200, "the request")
        time.sleep(0.3)
        c.send(F.record(F.STDIN, 1, b"56789") + F.record(F.STDIN, 1))
        ok(c.wait_closed(1.0), "closed within 1 s of the body's end")
        recs = c.records(0)
        ok(not any(r.type == F.STDOUT and r.request_id != 1 for r in recs),
           "nothing more answered: %r" % recs)


@hostile()
def test_wire_pipelined_request_has_its_own_budget():
    """A request whose first bytes came with the one before it has the
    budget from those bytes, not from the next read."""
    with F.Conn(SOCK) as c:
        req2 = F.begin(2, flags=F.KEEP_CONN) + F.params(2, valid_params())
        c.send(F.request(1, valid_params(), keep_conn=True) + req2[:20])
        t_first = time.monotonic()
        check_reply_status(c.read_reply(1, LIMIT), 200, "request 1")
        time.sleep(1.8)
        c.trickle(req2[20:], 0.5, 10)
        c.wait_closed(LIMIT)
        held = (c.t_closed or time.monotonic()) - t_first
        ok(held <= LIMIT, "request 2 held %.2f s from its first byte (limit %.1f s)"
           % (held, LIMIT))


@hostile()
def test_wire_records_for_no_request_do_not_extend_the_budget():
    """A connection that keeps sending records no request owns, one every
    1.5 s, is closed when the budget from the first of them runs out."""
    with F.Conn(SOCK) as c:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 6 and not c.closed:
            c.send(F.record(F.STDIN, 7, b"x"))
            c.records(1.5)
        ok(c.closed, "closed within 6 s")
        ok(c.held_for() <= LIMIT, "held %.2f s" % c.held_for())


@hostile()
def test_wire_request_ended_early_on_a_connection_not_kept_is_closed():
    """ABORT before the params end, or a role other than responder, on a
    connection not to be kept: END_REQUEST, then the close at once."""
    for name, data in (("ABORT", F.begin(1) + F.abort(1)), ("role 7", F.begin(1, role=7))):
        with F.Conn(SOCK) as c:
            c.send(data)
            t0 = time.monotonic()
            ok(c.wait_closed(1.0), name + ": closed within 1 s")
            recs = c.records(0)
            ok(any(r.type == F.END_REQUEST for r in recs), name + ": END_REQUEST: %r" % recs)
            ok(c.t_closed - t0 < 1.0, name + ": closed %.2f s later" % (c.t_closed - t0))


if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "wire"))
