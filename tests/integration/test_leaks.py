#!/usr/bin/env python3
"""No leak and no memory error under valgrind's memcheck, for every kind of
answer (issue 5 §3, issue 6 §2): real nginx, PostgreSQL and FastCGI workers
run through tests/tools/valgrind-worker, a few hundred requests of each kind
(200, 401, 403, 404, 405, 422, 503), a reload in the middle, then a normal
stop so that every process writes its leak summary; each summary must read
0 errors and 0 bytes definitely, indirectly or possibly lost.

Two stacks, one after the other, 2 workers each:
  - spawn-fcgi on HOST:PORT (DIR/spawn-fcgi): each worker is its own
    valgrind process; SIGHUP goes to the workers, which reload in place;
  - the program's own pool on HOST:PORT+1 (DIR/supervisor): valgrind
    follows the supervisor's forks, one log per process; SIGHUP goes to
    the pool, which reloads and replaces its workers, and workers are
    recycled every MAX_REQUESTS requests, so the pool itself and many
    exited workers are checked.
Both verify session tokens with a PEM and a JWKS (an RSA key, an EC key
skipped), with a token cache smaller than the set of tokens in use, so
the cache evicts all along.

usage: test_leaks.py STATE_DIR BINARY HOST:PORT
BINARY is tests/tools/valgrind-worker (or another wrapper that writes
valgrind.PID.log files into RS_VALGRIND_DIR); given the program itself,
there are no logs and the valgrind tests fail.
"""
import collections
import concurrent.futures
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (MINT, STACK, HeldQueries, Response, Stack, collect, eq,  # noqa: E402
                     main_exit, mint, mint_claims, ok, outcome, run_tests)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
HOST, PORT = LISTEN.rsplit(":", 1)
WORKERS = 2
PER_STATUS = 300            # requests of each status with the database up
DOWN_REQUESTS = 300         # 503s while PostgreSQL is stopped
CLIENTS = 4
TIMEOUT = 60                # seconds, per request: valgrind is ~30x slower
BUDGET_MS = 250             # DB_STATEMENT_TIMEOUT_MS, for the timeout 503s
MAX_REQUESTS = 500          # the pool recycles its workers this often
CACHE_ENTRIES = 8           # fewer than the distinct tokens in use

WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
WS = "7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e"
USER = "user_demo"
UNKNOWN_WF = "0b6c2a47-3d0e-4f5a-8e9b-1c2d3e4f5a6b"
OTHER_WS = "5d3c1b2a-0f9e-4d8c-b7a6-958473625140"
EC_JWK = {"kty": "EC", "crv": "P-256", "kid": "ec_1", "use": "sig", "alg": "ES256",
          "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
          "y": "x_FEzRu9m36HLN_tue659LNpXW6pOyStikYjKIWI5a0"}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

os.makedirs(STATE, exist_ok=True)
for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES", "JWT_LEEWAY_SECONDS", "LOG_LEVEL",
            "RS_STACK_KEY_FILE", "RUNS_SUMMARY_CONFIG", "FCGI_LISTEN", "FCGI_WORKERS",
            "FCGI_MAX_REQUESTS", "RS_VALGRIND_OPTS"):
    os.environ.pop(var, None)
os.environ.update({"TOKEN_CACHE_ENTRIES": str(CACHE_ENTRIES),
                   "DB_STATEMENT_TIMEOUT_MS": str(BUDGET_MS),
                   "DB_CONNECT_TIMEOUT_SECONDS": "2",
                   # A worker under valgrind takes a while to write its
                   # summary: the pool must not SIGKILL it meanwhile.
                   "SHUTDOWN_GRACE_SECONDS": "120"})

# The JWKS both stacks read next to their PEM: key "j" (kid ins_j) and an
# EC key that the workers skip. Key "x" is in no set.
KEYS = {}
for name in ("j", "x"):
    priv, pub = os.path.join(STATE, name + ".pem"), os.path.join(STATE, name + ".pub")
    subprocess.run([MINT, "--genkey", priv, pub], check=True)
    KEYS[name] = (priv, json.loads(subprocess.run(
        [MINT, "--jwk", pub, "ins_" + name], check=True, capture_output=True,
        text=True).stdout))
JWKS = os.path.join(STATE, "jwks.json")
with open(JWKS, "w") as f:
    json.dump({"keys": [KEYS["j"][1], EC_JWK]}, f)
os.environ["CLERK_JWKS_FILE"] = JWKS


# ---- a FastCGI client, for what nginx never forwards ------------------------


def fcgi_request(sock_path, params, timeout=TIMEOUT):
    """One request to the worker socket itself (role responder, no body);
    the CGI-style answer as a Response."""
    def record(rtype, content):
        return struct.pack("!BBHHBx", 1, rtype, 1, len(content), 0) + content

    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)

    body = b"".join(length(len(k)) + length(len(v)) + k + v for k, v in
                    ((k.encode(), v.encode()) for k, v in params.items()))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, body) + record(4, b"")
                  + record(5, b""))
        buf, out = b"", b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("the worker closed the connection mid-answer")
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
                if rtype == 6:
                    out += content
                elif rtype == 3:
                    head, _, payload = out.partition(b"\r\n\r\n")
                    headers, status = [], 200
                    for line in head.decode("latin-1").split("\r\n"):
                        k, _, v = line.partition(": ")
                        if k.lower() == "status":
                            status = int(v.split()[0])
                        headers.append((k, v))
                    return Response(status, headers, payload)
    finally:
        s.close()


# ---- the requests --------------------------------------------------------------

Case = collections.namedtuple("Case", "name status code method path headers total fcgi")


def summary(wf=WF, query=""):
    return "/api/v1/workflows/%s/runs/summary%s" % (wf, "?" + query if query else "")


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class Tokens:
    """Session tokens and API keys for one stack (its own key pair)."""

    def __init__(self, s):
        self.jwts = mint(s.key, "--sub", USER, "--ttl", "3600", "--count", "40").split()
        self.jwt = self.jwts[0]
        self.jwks = mint(KEYS["j"][0], "--sub", USER, "--ttl", "3600", "--kid", "ins_j")
        self.nobody = mint(s.key, "--sub", "user_nobody", "--ttl", "3600")
        self.expired = mint(s.key, "--sub", USER, "--ttl", "-60")
        self.unknown_kid = mint(KEYS["x"][0], "--sub", USER, "--ttl", "3600",
                                "--kid", "ins_x")
        self.alg_none = mint_claims(s.key, {"sub": USER, "exp": int(time.time()) + 3600},
                                    sign="none")
        head, claims, sig = self.jwt.split(".")
        self.bad_sig = "%s.%s.%s" % (head, claims, sig[::-1])
        self.key = s.env["RS_API_KEY"]
        self.unknown_key = "op_live_" + "Q" * 32
        self.noscope_key = "op_live_" + "".join(
            random.SystemRandom().choice("abcdefghijklmnopqrstuvwxyz0123456789")
            for _ in range(32))
        s.sql("INSERT INTO api_keys (workspace_id, key_hash, scopes) VALUES "
              "('%s', encode(sha256('%s'::bytea), 'hex'), '{runs:read}')"
              % (WS, self.noscope_key))


def cases(t):
    """Every kind of request but the 503s: (name, status, error code or 200,
    method, path, headers, expected total_runs or None, FastCGI params to
    send to the socket directly or None)."""
    jwt, key = t.jwt, t.key
    window = "from=2020-01-01T00:00:00Z&to=2099-12-31T23:59:59.5%2B01:00"
    c = [
        # 200
        Case("jwt", 200, 200, "GET", summary(), None, 1000, None),    # 40 tokens in turn
        Case("jwt_window", 200, 200, "GET", summary(query=window),
             dict(bearer(jwt), **{"X-Request-Id": "leaks.window-1"}), 1000, None),
        Case("jwt_jwks_empty_window", 200, 200, "GET",
             summary(WF.replace("-", "").upper(), "to=2001-01-01%2000:00:00-05:00"),
             dict(bearer(t.jwks), **{"X-Workspace-Id": WS}), 0, None),
        Case("jwt_head", 200, 200, "HEAD", summary(), bearer(jwt), None, None),
        Case("api_key", 200, 200, "GET", summary(), bearer(key), 1000, None),
        Case("api_key_window", 200, 200, "GET",
             summary(query="from=2000-01-01T00:00:00+00:00&page=2"),
             dict(bearer(key), **{"X-Workspace-Id": WS, "X-Request-Id": "bad id"}), 1000, None),
        Case("healthz", 200, 200, "GET", "/healthz", None, None, None),
        Case("fcgi_script_name_path_info", 200, 200, None, None, None, 1000, {
            "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/api/v1/workflows",
            "PATH_INFO": "/%s/runs/summary" % WF, "QUERY_STRING": "to=2099-01-01T00:00Z",
            "HTTP_AUTHORIZATION": "Bearer " + key}),
        # 401
        Case("no_authorization", 401, "UNAUTHORIZED", "GET", summary(), {}, None, None),
        Case("basic_scheme", 401, "UNAUTHORIZED", "GET", summary(),
             {"Authorization": "Basic dXNlcjpwYXNz"}, None, None),
        Case("garbage_token", 401, "INVALID_TOKEN", "GET", summary(),
             bearer("not.a-jwt.at all"), None, None),
        Case("bad_signature", 401, "INVALID_TOKEN", "GET", summary(), bearer(t.bad_sig),
             None, None),
        Case("expired", 401, "INVALID_TOKEN", "GET", summary(), bearer(t.expired), None, None),
        Case("alg_none", 401, "INVALID_TOKEN", "GET", summary(), bearer(t.alg_none),
             None, None),
        Case("unknown_kid", 401, "INVALID_TOKEN", "GET", summary(), bearer(t.unknown_kid),
             None, None),
        Case("malformed_api_key", 401, "INVALID_API_KEY", "GET", summary(),
             bearer("op_live_short"), None, None),
        Case("unknown_api_key", 401, "INVALID_API_KEY", "GET", summary(),
             bearer(t.unknown_key), None, None),
        # 403
        Case("api_key_other_workspace", 403, "FORBIDDEN", "GET", summary(),
             dict(bearer(key), **{"X-Workspace-Id": OTHER_WS}), None, None),
        Case("api_key_without_scope", 403, "FORBIDDEN", "GET", summary(),
             bearer(t.noscope_key), None, None),
        # 404
        Case("unknown_workflow", 404, "NOT_FOUND", "GET", summary(UNKNOWN_WF), bearer(jwt),
             None, None),
        Case("not_a_member", 404, "NOT_FOUND", "GET", summary(), bearer(t.nobody), None, None),
        Case("api_key_unknown_workflow", 404, "NOT_FOUND", "GET", summary(UNKNOWN_WF),
             bearer(key), None, None),
        Case("fcgi_unknown_route", 404, "NOT_FOUND", None, None, None, None, {
            "REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/v1/workflows",
            "QUERY_STRING": "", "HTTP_AUTHORIZATION": "Bearer " + jwt}),
        Case("fcgi_unknown_route_request_uri", 404, "NOT_FOUND", None, None, None, None, {
            "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/v2/workflows/%41/runs?x=1",
            "QUERY_STRING": "x=1"}),
        # 405
        Case("post", 405, "METHOD_NOT_ALLOWED", "POST", summary(), bearer(jwt), None, None),
        Case("delete", 405, "METHOD_NOT_ALLOWED", "DELETE", summary(), {}, None, None),
        # 422
        Case("bad_uuid", 422, "VALIDATION_ERROR", "GET", summary("not-a-uuid"), bearer(jwt),
             None, None),
        Case("bad_dates", 422, "VALIDATION_ERROR", "GET",
             summary(query="from=2024-02-30T00:00:00Z&to=2024-01-01"), bearer(jwt), None, None),
        Case("naive_and_bad_workspace", 422, "VALIDATION_ERROR", "GET",
             summary(query="from=2024-01-01T00:00:00"),
             dict(bearer(jwt), **{"X-Workspace-Id": "nope"}), None, None),
        Case("from_after_to", 422, "VALIDATION_ERROR", "GET",
             summary(query="from=2024-02-01T00:00Z&to=2024-01-01T00:00Z"), bearer(key),
             None, None),
        Case("repeated_parameter", 422, "VALIDATION_ERROR", "GET",
             summary(query="to=2024-01-01T00:00Z&to=2024-01-02T00:00Z"), bearer(jwt),
             None, None),
        Case("bad_percent_encoding", 422, "VALIDATION_ERROR", "GET",
             summary(query="from=%zz&to=%E2%82"), bearer(key), None, None),
    ]
    return c


def down_cases(t):
    """With PostgreSQL stopped."""
    return [
        Case("jwt_db_down", 503, "SERVICE_UNAVAILABLE", "GET", summary(), bearer(t.jwt),
             None, None),
        Case("api_key_db_down", 503, "SERVICE_UNAVAILABLE", "GET",
             summary(query="from=2020-01-01T00:00Z"), bearer(t.key), None, None),
        Case("healthz_db_down", 503, "HTTP 503", "GET", "/healthz", None, None, None),
    ]


def timeout_cases(t):
    """With the runs table locked: the statement timeout."""
    return [
        Case("jwt_statement_timeout", 503, "SERVICE_UNAVAILABLE", "GET", summary(),
             bearer(t.jwt), None, None),
        Case("api_key_statement_timeout", 503, "SERVICE_UNAVAILABLE", "GET", summary(),
             bearer(t.key), None, None),
    ]


def batch(case_list, per_status, seed, least=20):
    """Each status gets at least per_status requests, spread evenly over
    its cases, every case at least `least` times; shuffled."""
    by_status = collections.Counter(c.status for c in case_list)
    out = []
    for c in case_list:
        out += [c] * max(least, -(-per_status // by_status[c.status]))
    random.Random(seed).shuffle(out)
    return out


def check(s, t, case, i):
    """Sends one request; None when the answer is right, else why not."""
    try:
        if case.fcgi is not None:
            r = fcgi_request(s.env["RS_SOCKET"], case.fcgi)
        else:
            headers = case.headers
            if headers is None and case.name == "jwt":
                headers = bearer(t.jwts[i % len(t.jwts)])
            r = s.request(case.path, method=case.method, headers=headers, timeout=TIMEOUT)
    except Exception as e:  # a cut connection, a timeout
        return "%s: %r" % (case.name, e)
    got = outcome(r) if case.method != "HEAD" else r.status
    if r.status != case.status or got != case.code:
        return "%s: got %s %r, want %s %r; %r" % (case.name, r.status, got, case.status,
                                                  case.code, r.body[:200])
    # The worker answered, not nginx: its X-Request-Id is a UUIDv4, or
    # the valid one that was sent.
    rid = r.headers.get("x-request-id", "")
    sent = (case.headers or {}).get("X-Request-Id")
    if not (UUID_RE.match(rid) or (sent == rid and sent != "bad id")):
        return "%s: X-Request-Id %r is not the worker's" % (case.name, rid)
    if case.total is not None:
        try:
            total = r.json()["data"]["total_runs"]
        except (ValueError, KeyError, TypeError):
            return "%s: not a summary: %r" % (case.name, r.body[:200])
        if total != case.total:
            return "%s: total_runs %r, want %r" % (case.name, total, case.total)
    return None


def send(s, t, reqs, midway=None):
    """Sends reqs from CLIENTS threads; calls midway() once half have been
    answered, while the rest are still going. Returns (count per case,
    wrong answers)."""
    counts, wrong = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = {pool.submit(check, s, t, c, i): c for i, c in enumerate(reqs)}
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            counts[futures[fut].name] += 1
            if fut.result() is not None:
                wrong.append(fut.result())
            if midway is not None and n == len(reqs) // 2:
                midway()
    return counts, wrong


def expect_all_right(what, reqs, counts, wrong):
    eq(sum(counts.values()), len(reqs), what + ": answers")
    ok(not wrong, "%s: %d of %d answers wrong, e.g. %s" % (
        what, len(wrong), len(reqs), "; ".join(sorted(set(wrong))[:5])))


# ---- valgrind's logs ----------------------------------------------------------


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_gone(pids, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(p) for p in pids):
            return
        time.sleep(0.1)
    raise AssertionError("still running %d s after SIGTERM: %s" % (
        timeout, [p for p in pids if not gone(p)]))


LEAK_RE = re.compile(r"(definitely|indirectly|possibly) lost: ([\d,]+) bytes in ([\d,]+) blocks")


def read_log(path):
    """(summary line, problems) for one valgrind log."""
    with open(path, errors="replace") as f:
        text = f.read()
    pid = re.search(r"valgrind\.(\d+)\.log$", path).group(1)
    problems = []
    if not re.search(r"^==\d+== Command: \S*runs-summary\b", text, re.M):
        problems.append("not the program's log")
    m = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    if m is None:
        problems.append("no ERROR SUMMARY: the process did not exit normally")
    elif m.group(1) != "0":
        problems.append("ERROR SUMMARY: %s errors" % m.group(1))
    if "Process terminating with default action" in text:
        problems.append("killed by a signal")
    leaks = {k: (b, n) for k, b, n in LEAK_RE.findall(text)}
    if not leaks and "All heap blocks were freed" not in text and m is not None:
        problems.append("no leak summary")
    for kind, (nbytes, nblocks) in leaks.items():
        if nbytes != "0":
            problems.append("%s lost: %s bytes in %s blocks" % (kind, nbytes, nblocks))
    heap = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees", text)
    line = "valgrind %s: %s errors, lost (definitely/indirectly/possibly) %s bytes, " \
        "heap %s allocs / %s frees" % (
        pid, m.group(1) if m else "?",
        "/".join(leaks.get(k, ("0",))[0] for k in ("definitely", "indirectly", "possibly"))
        if leaks else "0 (all heap blocks freed)",
        heap.group(1) if heap else "?", heap.group(2) if heap else "?")
    if problems:
        # The first error record and the first leak record, with their
        # stacks, for the failure message.
        for first in (re.search(r"^==\d+== (Invalid|Conditional|Syscall|Mismatched|"
                                r"Source and destination|Argument).*?(?=^==\d+== $)",
                                text, re.M | re.S),
                      re.search(r"^==\d+== [\d,]+ (\([\d,]+ direct, [\d,]+ indirect\) )?"
                                r"bytes in .*?(?=^==\d+== $)", text, re.M | re.S)):
            if first:
                problems.append("\n" + first.group(0))
    return line, problems


def check_logs(log_dir, pids):
    """Every pid has a complete log, and every log is clean."""
    logs = {int(m.group(1)): os.path.join(log_dir, n) for n in os.listdir(log_dir)
            for m in [re.match(r"valgrind\.(\d+)\.log$", n)] if m}
    ok(logs, "no valgrind logs in %s: is BINARY the valgrind wrapper?" % log_dir)
    missing = sorted(set(pids) - set(logs))
    ok(not missing, "no valgrind log for %s" % missing)
    bad = []
    for pid in sorted(logs):
        line, problems = read_log(logs[pid])
        print("     " + line, flush=True)
        if problems:
            bad.append("%s: %s" % (os.path.basename(logs[pid]), "; ".join(problems)))
    ok(not bad, "valgrind found:\n" + "\n".join(bad))
    return logs


# ---- the two stacks -------------------------------------------------------------


class Run:
    """One stack under valgrind and what was sent to it."""

    def __init__(self, pool, port):
        self.pool, self.port = pool, port
        self.dir = os.path.join(STATE, pool)
        self.s = self.t = None
        self.sent = collections.Counter()   # status -> requests sent

    def up(self):
        os.makedirs(self.dir, exist_ok=True)
        # A state directory used before: this run's logs only.
        for n in os.listdir(self.dir):
            if n.startswith("valgrind.") or n == "workers.log":
                os.unlink(os.path.join(self.dir, n))
        os.environ["RS_VALGRIND_DIR"] = os.path.abspath(self.dir)
        if self.pool == "supervisor":
            os.environ["FCGI_MAX_REQUESTS"] = str(MAX_REQUESTS)
        else:
            os.environ.pop("FCGI_MAX_REQUESTS", None)
        self.s = Stack(self.dir, BINARY, "%s:%d" % (HOST, self.port), pool=self.pool,
                       workers=WORKERS)
        self.t = Tokens(self.s)
        # Every worker up and serving before the traffic starts.
        for _ in range(WORKERS * 2):
            eq(outcome(self.s.request("/healthz", timeout=TIMEOUT)), 200, "healthz at start")
            self.sent[200] += 1

    def send(self, reqs, midway=None):
        self.sent.update(c.status for c in reqs)
        return send(self.s, self.t, reqs, midway)

    def reload(self):
        if self.pool == "supervisor":
            os.kill(self.s.pool_pid, signal.SIGHUP)
        else:
            for pid in self.s.worker_pids:
                os.kill(pid, signal.SIGHUP)

    def traffic(self):
        reqs = batch(cases(self.t), PER_STATUS, self.port)
        counts, wrong = self.send(reqs, midway=self.reload)
        expect_all_right("database up", reqs, counts, wrong)
        per_status = collections.Counter(c.status for c in reqs)
        for status in (200, 401, 403, 404, 405, 422):
            ok(per_status[status] >= PER_STATUS, "only %d requests for %d"
               % (per_status[status], status))
        if self.pool == "supervisor":
            self.s.wait_log("event=reloaded", 1, timeout=TIMEOUT)
        else:
            self.s.wait_log("event=reloaded", WORKERS, timeout=TIMEOUT)

    def database_down(self):
        self.s.pg_stop()
        try:
            reqs = batch(down_cases(self.t), DOWN_REQUESTS, self.port + 1)
            counts, wrong = self.send(reqs)
        finally:
            self.s.pg_start()
        expect_all_right("database stopped", reqs, counts, wrong)
        # The same workers reconnect.
        reqs = batch([c for c in cases(self.t) if c.status == 200], 100, 7)
        expect_all_right("database back", reqs, *self.send(reqs))

    def statement_timeout(self):
        reqs = batch(timeout_cases(self.t), 24, 3, least=1)
        # Two workers, 250 ms each: 24 requests take about 3 s, well
        # inside the time the table stays locked.
        with HeldQueries(self.s, 8):
            counts, wrong = self.send(reqs)
        expect_all_right("statement timeout", reqs, counts, wrong)
        reqs = batch([c for c in cases(self.t) if c.status == 200], 40, 8)
        expect_all_right("after the timeouts", reqs, *self.send(reqs))

    def stop(self):
        """SIGTERM, as a service manager stops it; every process then exits
        by itself and valgrind writes its summaries."""
        if self.pool == "supervisor":
            exit_file = os.path.join(self.dir, "pool.exit")
            os.kill(self.s.pool_pid, signal.SIGTERM)
            deadline = time.monotonic() + 120
            while not os.path.exists(exit_file) and time.monotonic() < deadline:
                time.sleep(0.1)
            ok(os.path.exists(exit_file), "the pool did not exit within 120 s of SIGTERM")
            time.sleep(0.2)
            with open(exit_file) as f:
                eq(f.read().strip(), "0", "the pool's exit status (99: valgrind found errors)")
            ok(not self.s.log_lines(r"event=grace_expired"), "workers were SIGKILLed")
        else:
            for pid in self.s.worker_pids:
                os.kill(pid, signal.SIGTERM)
            wait_gone(self.s.worker_pids, 120)

    def check(self):
        if self.pool == "supervisor":
            started = {int(m.group(1)) for ln in self.s.log_lines(r"event=worker_started")
                       for m in [re.search(r"worker=(\d+)", ln)] if m}
            pids = started | {self.s.pool_pid}
        else:
            pids = set(self.s.worker_pids)
        logs = check_logs(self.dir, pids)
        eq(len(logs), len(pids), "valgrind logs, one per process")
        ok(not self.s.log_lines(r"exit=99|signal=(SEGV|ABRT|BUS)"),
           "a worker exited with valgrind's error status or crashed")
        # The workers' own request lines: every request was served, once.
        logged = collections.Counter(int(m.group(1)) for ln in self.s.log_lines(r" status=")
                                     for m in [re.search(r" status=(\d+)", ln)] if m)
        eq(dict(logged), dict(self.sent), "requests the workers logged, per status")
        if self.pool == "supervisor":
            # What the pool was meant to go through, so that its exited
            # workers were checked too.
            ok(len(started) > 2 * WORKERS, "workers started: %d; expected the reload and "
               "recycling to start more than %d" % (len(started), 2 * WORKERS))
            ok(self.s.log_lines(r"event=worker_exited .*exit=0"), "no worker recycled")

    def down(self):
        subprocess.run([STACK, "down", self.dir], check=False)


SPAWN = Run("spawn-fcgi", int(PORT))
POOL = Run("supervisor", int(PORT) + 1)


def steps(run):
    def start():
        run.up()

    def traffic_with_reload():
        run.traffic()

    def database_stopped_503_then_200():
        run.database_down()

    def statement_timeout_503_then_200():
        run.statement_timeout()

    def sigterm_every_process_exits_normally():
        run.stop()

    def valgrind_0_errors_0_bytes_lost_in_every_process():
        try:
            run.check()
        finally:
            run.down()

    return [start, traffic_with_reload, database_stopped_503_then_200,
            statement_timeout_503_then_200, sigterm_every_process_exits_normally,
            valgrind_0_errors_0_bytes_lost_in_every_process]


# The steps of each stack, in order, as named tests; once a stack has
# failed to start, its other steps fail at once.
for _run in (SPAWN, POOL):
    _failed = []
    for _fn in steps(_run):
        def _step(fn=_fn, failed=_failed):
            ok(not failed, "the stack did not start")
            try:
                fn()
            except Exception:
                if fn.__name__ == "start":
                    failed.append(fn)
                raise
        globals()["test_%s_%s" % (_run.pool.replace("-", "_"), _fn.__name__)] = _step

if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "leaks"))
