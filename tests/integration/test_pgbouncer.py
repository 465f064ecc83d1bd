#!/usr/bin/env python3
"""Behind PgBouncer 1.18 in transaction pooling mode (issue 8 §2): four
workers share two server connections, so consecutive statements of one
worker land on different server connections. With DB_TRANSACTION_POOLING=1
the statement goes unnamed each time and no startup options are sent; the
answers must be those of the database, under concurrent load, with no
"prepared statement does not exist" anywhere.

usage: test_pgbouncer.py STATE_DIR BINARY HOST:PORT
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (HeldQueries, Stack, Traffic, collect, eq, main_exit, mint, ok,  # noqa: E402
                     psql, run_tests, wait_until)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ.update({"DB_STATEMENT_TIMEOUT_MS": "800", "DB_CONNECT_TIMEOUT_SECONDS": "1"})
for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES", "CLERK_JWKS_FILE", "FCGI_MAX_REQUESTS",
            "RS_STACK_KEY_FILE", "RUNS_SUMMARY_CONFIG"):
    os.environ.pop(var, None)
S = Stack(STATE, BINARY, LISTEN, pool="supervisor", workers=4, pgbouncer=True)
BOUNCER = S.env["RS_PGBOUNCER_URL"]
WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
PATH = "/api/v1/workflows/%s/runs/summary" % WF
TOKEN = mint(S.key, "--sub", "user_demo", "--ttl", "3600")
WINDOWS = ["", "?from=2025-01-01T00:00:00Z", "?to=2026-06-30T23:59:59Z",
           "?from=2025-03-01T00:00:00Z&to=2025-09-01T00:00:00Z"]


def expected(query):
    """total_runs for a window, counted in PostgreSQL directly."""
    cond = []
    for part in query.lstrip("?").split("&"):
        if part.startswith("from="):
            cond.append("created_at >= '%s'" % part[5:])
        elif part.startswith("to="):
            cond.append("created_at <= '%s'" % part[3:])
    return int(psql(S.dburl, "SELECT count(*) FROM workflow_runs WHERE workflow_id = '%s'%s"
                    % (WF, "".join(" AND " + c for c in cond))))


def get(query="", token=TOKEN):
    return S.request(PATH + query, headers={"Authorization": "Bearer " + token})


def server_connections():
    """PgBouncer's server connections for the database, from SHOW SERVERS."""
    out = psql(BOUNCER.replace("dbname=runs_summary", "dbname=pgbouncer"), "SHOW SERVERS")
    return [line for line in out.splitlines() if "runs_summary" in line]


def test_summary_through_pgbouncer_is_the_database_answer():
    for q in WINDOWS:
        r = get(q)
        eq(r.status, 200, "status for %r" % q)
        eq(r.json()["data"]["total_runs"], expected(q), "total_runs for %r" % q)


def test_api_key_through_pgbouncer():
    r = S.request(PATH, headers={"Authorization": "Bearer " + S.env["RS_API_KEY"]})
    eq(r.status, 200, "status")
    eq(r.json()["data"]["total_runs"], expected(""), "total_runs")


def test_concurrent_load_all_right_and_no_prepared_statement_errors():
    """8 clients for 4 s over 4 workers and 2 server connections: every
    answer 200 with the right numbers; nothing about prepared statements
    in the workers' log or PgBouncer's."""
    want = {q: expected(q) for q in WINDOWS}
    with Traffic(S, PATH, {"jwt": TOKEN, "key": S.env["RS_API_KEY"]}, seconds=4,
                 clients=8) as tr:
        pass
    bad = tr.failures()
    n = len(tr.results)
    eq(bad, [], "failures under load")
    ok(n >= 200, "at least 200 requests answered under load (got %d)" % n)
    for q in WINDOWS:
        eq(get(q).json()["data"]["total_runs"], want[q], "after the load, " + q)
    ok(len(server_connections()) <= 2, "PgBouncer used at most 2 server connections: %r"
       % server_connections())
    ok(not S.log_lines("prepared statement"), "no prepared-statement errors in the log")
    log = os.path.join(open(os.path.join(STATE, "pgbase")).read().strip(), "pgrun",
                       "pgbouncer.log") if os.path.exists(os.path.join(STATE, "pgbase")) else ""
    if log and os.path.exists(log):
        ok("prepared statement" not in open(log, errors="replace").read(),
           "no prepared-statement errors in PgBouncer's log")


def test_statement_held_past_the_budget_is_503_then_200():
    """A query held on a lock beyond DB_STATEMENT_TIMEOUT_MS: the worker
    gives up at its own deadline (PgBouncer sends no startup options, so
    no server timeout is set), answers 503, and serves 200 after."""
    with HeldQueries(S, 2.0):
        t0 = time.monotonic()
        r = get()
        took = time.monotonic() - t0
    eq(r.status, 503, "status while the runs are locked")
    ok(took < 1.8, "answered in %.2f s, within the 800 ms budget (+ slack)" % took)
    wait_until(lambda: get().status == 200, "a 200 after the lock", timeout=10)


def test_startup_options_are_refused_by_pgbouncer_without_the_setting():
    """The same binary as plain CGI, through PgBouncer: without
    DB_TRANSACTION_POOLING it sends its statement_timeout as a startup
    option, which PgBouncer refuses (503); with it, 200."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": BOUNCER,
            "CLERK_JWT_KEY_FILE": S.pubkey, "REQUEST_METHOD": "GET", "DOCUMENT_URI": PATH,
            "QUERY_STRING": "", "HTTP_AUTHORIZATION": "Bearer " + TOKEN,
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
            "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "")}
    for pooling, status in (("0", b"Status: 503"), ("1", b"Status: 200")):
        p = subprocess.run([BINARY], env=dict(base, DB_TRANSACTION_POOLING=pooling),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        ok(p.stdout.startswith(status), "DB_TRANSACTION_POOLING=%s: %r" % (pooling, p.stdout[:60]))


if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "pgbouncer"))
