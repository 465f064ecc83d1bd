"""A small test harness for the integration suites: the stack, HTTP,
tokens, SQL fixtures, and a runner that prints `N passed, N failed`.

Standard library only, so a fresh Debian machine needs nothing but python3.
"""
import atexit
import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STACK = os.path.join(ROOT, "scripts", "lib", "stack.sh")
MINT = os.path.join(ROOT, "tests", "tools", "mint-token")
ROLLUPS = os.environ.get("RS_TEST_ROLLUPS") == "1"


def read_env(state_dir):
    env = {}
    with open(os.path.join(state_dir, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = shlex.split(v)[0] if v else ""
    return env


def psql(url, sql):
    """The output of one statement (or several) at url, stripped."""
    return subprocess.run(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def stack_up(state_dir, *args):
    """Starts the stack and makes sure it is stopped however this process
    ends: normally, on an exception, or by SIGTERM (a CI timeout)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    atexit.register(subprocess.run, [STACK, "down", state_dir], check=False)
    subprocess.run([STACK, "up", state_dir, *args], check=True)


def settings_file(state_dir, text):
    """Writes a settings file with `text` into state_dir and names it by
    RUNS_SUMMARY_CONFIG for the pool started next; its path."""
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, "runs-summary.conf")
    with open(path, "w") as f:
        f.write(text)
    os.environ["RUNS_SUMMARY_CONFIG"] = path
    return path


class Stack:
    """The PostgreSQL + worker pool + nginx stack of scripts/lib/stack.sh;
    the pool is spawn-fcgi's workers or the program's own supervisor.
    With RS_TEST_ROLLUPS=1 in the environment, the database has the
    rollups of scripts/rollups.sql (ROLLUPS says so to the tests)."""

    def __init__(self, state_dir, binary, listen, pool="spawn-fcgi", workers=2,
                 pgbouncer=False):
        self.dir = state_dir
        stack_up(state_dir, "--binary", binary, "--listen", listen, "--workers", str(workers),
                 "--pool", pool, *(["--pgbouncer"] if pgbouncer else []),
                 *(["--rollups"] if ROLLUPS else []))
        self.env = read_env(state_dir)
        self.pool_pid = int(self.env["RS_POOL_PID"]) if "RS_POOL_PID" in self.env else None
        self.host, port = listen.split(":")
        self.port = int(port)
        self.dburl = self.env["DATABASE_URL"]
        self.key = self.env["RS_KEY"]
        self.pubkey = self.env["RS_PUBKEY"]
        self.worker_pids = [int(p) for p in self.env["RS_WORKER_PIDS"].split()]

    def workers(self):
        """The pool's workers now (its supervisor's children), sorted."""
        out = subprocess.run(["pgrep", "-P", str(self.pool_pid)], capture_output=True,
                             text=True)
        return sorted(int(p) for p in out.stdout.split())

    def pg_stop(self):
        subprocess.run([STACK, "pg-stop", self.dir], check=True)

    def pg_start(self):
        subprocess.run([STACK, "pg-start", self.dir], check=True)

    def sql(self, text):
        return psql(self.dburl, text)

    def log_lines(self, pattern):
        """The lines of the pool's log (DIR/workers.log) that match."""
        with open(os.path.join(self.dir, "workers.log")) as f:
            return [ln for ln in f if re.search(pattern, ln)]

    def wait_log(self, pattern, count=1, timeout=10):
        wait_until(lambda: len(self.log_lines(pattern)) >= count,
                   "%d log lines matching %r" % (count, pattern), timeout)

    def request(self, path, method="GET", headers=None, timeout=10):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            return Response(r.status, r.getheaders(), body)
        finally:
            conn.close()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {}
        self.header_list = headers
        for k, v in headers:
            self.headers[k.lower()] = v
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d, %r, %r)" % (self.status, self.headers, self.body[:400])


def outcome(r):
    """200, or the error code a refusal carries (nginx's 503 has one too)."""
    if r.status == 200:
        return 200
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "HTTP %d" % r.status


def wait_until(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise Failure("timed out waiting for " + what)


class Traffic:
    """Clients asking for `path` in a loop, each of `tokens` (name ->
    bearer) in turn, recording (start, end, name, outcome); bounded by
    count and time. With more clients than workers, connections queue."""

    def __init__(self, stack, path, tokens, seconds, clients=6):
        self.stack, self.path, self.tokens = stack, path, tokens
        self.until = time.monotonic() + seconds
        self.results, self.lock = [], threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(clients)]

    def run(self):
        for _ in range(5000):
            if time.monotonic() > self.until:
                return
            for name, tok in self.tokens.items():
                t0 = time.monotonic()
                try:
                    o = outcome(self.stack.request(
                        self.path, headers={"Authorization": "Bearer " + tok}))
                except Exception as e:  # a cut connection is a failure too
                    o = "error %r" % e
                with self.lock:
                    self.results.append((t0, time.monotonic(), name, o))

    def failures(self):
        return [r for r in self.results if r[3] != 200]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        for t in self.threads:
            t.join()


class HeldQueries:
    """Holds every summary query on a table lock for `seconds`, so that
    the workers are busy and connections queue behind them."""

    def __init__(self, stack, seconds, settle=0.5):
        self.settle = settle
        self.proc = subprocess.Popen(
            ["psql", stack.dburl, "-qAtX", "-c", "BEGIN; LOCK TABLE workflow_runs IN "
             "ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%s); COMMIT;" % seconds],
            stdout=subprocess.DEVNULL)

    def __enter__(self):
        time.sleep(self.settle)
        return self

    def __exit__(self, *exc):
        self.proc.wait(timeout=30)


def mint(key, *args):
    out = subprocess.run([MINT, "--key", key, *args], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def mint_claims(key, claims, sign="RS256", header=None):
    args = ["--sign", sign, "--claims", json.dumps(claims, separators=(",", ":"))]
    if header is not None:
        args += ["--header", header if isinstance(header, str)
                 else json.dumps(header, separators=(",", ":"))]
    return mint(key, *args)


def new_id():
    return str(uuid.uuid4())


class Failure(Exception):
    pass


def eq(got, want, what=""):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what or "value", got, want))


def ok(cond, what):
    if not cond:
        raise Failure(what)


def run_tests(tests, suite):
    """Runs each test function (name starts with test_), prints one line each."""
    passed = failed = 0
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # a failing test, whatever the exception
            failed += 1
            detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
            print("FAIL %s.%s: %s" % (suite, name, detail), flush=True)
        else:
            passed += 1
            print("ok   %s.%s (%.0f ms)" % (suite, name, (time.monotonic() - t0) * 1000),
                  flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return failed


def collect(module_globals):
    return [(n, f) for n, f in module_globals.items()
            if n.startswith("test_") and callable(f)]


def main_exit(failed):
    sys.exit(1 if failed else 0)
