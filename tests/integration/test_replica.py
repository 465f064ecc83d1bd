#!/usr/bin/env python3
"""Reads from a streaming replica (issue 8 §1): a primary cluster, a
standby made from it with pg_basebackup -R on loopback, and a pool whose
DATABASE_URL names both (standby first, target_session_attrs=
prefer-standby) with DB_MAX_CONNECTION_AGE_SECONDS=1. Summaries come from
the standby (the request line then carries db_lag_ms); stopping it sends
them to the primary with no failed request; starting it again brings them
back. Requests go straight to the pool's socket (fcgi_client).

usage: test_replica.py STATE_DIR BINARY
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import fcgi_client as F  # noqa: E402
from harness import (collect, eq, main_exit, mint, ok, read_env, run_tests,  # noqa: E402
                     psql, stack_up, wait_until)

STATE, BINARY = os.path.abspath(sys.argv[1]), sys.argv[2]
stack_up(STATE, "--db-only")
ENV = read_env(STATE)
ROOT = os.getuid() == 0
BASE = open(os.path.join(STATE, "pgbase")).read().strip() if ROOT else STATE
PG_BIN = os.environ.get("RS_PG_BIN", "/usr/lib/postgresql/15/bin")
STANDBY, RUN2 = os.path.join(BASE, "standby"), os.path.join(BASE, "pgrun2")
WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
PATH = "/api/v1/workflows/%s/runs/summary" % WF
TOKEN = mint(ENV["RS_KEY"], "--sub", "user_demo", "--ttl", "3600")
SOCK = os.path.join(STATE, "replica.sock")
LOG = os.path.join(STATE, "replica-workers.log")


def as_pg(*cmd):
    p = subprocess.run((["runuser", "-u", "postgres", "--"] if ROOT else []) + list(cmd),
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (cmd[0], (p.stderr or p.stdout)[-600:]))
    return p


def standby_start():
    as_pg(PG_BIN + "/pg_ctl", "-D", STANDBY, "-l", RUN2 + "/standby.log", "-w", "-t", "30",
          "-o", "-c listen_addresses='' -c unix_socket_directories='%s' -c port=5433" % RUN2,
          "start")


def standby_stop():
    if os.path.exists(os.path.join(STANDBY, "postmaster.pid")):
        as_pg(PG_BIN + "/pg_ctl", "-D", STANDBY, "-m", "fast", "-w", "-t", "30", "stop")


def make_standby():
    for d in (RUN2, STANDBY):
        os.makedirs(d, exist_ok=True)
        if ROOT:
            subprocess.run(["chown", "postgres", d], check=True)
    os.chmod(STANDBY, 0o700)
    as_pg(PG_BIN + "/pg_basebackup", "-D", STANDBY, "-R", "-X", "stream",
          "-h", ENV["DATABASE_URL"].split("host=")[1].split()[0], "-p", "5432", "-U", "postgres")
    standby_start()


def start_pool():
    url = "host=%s,%s port=5433,5432 user=postgres dbname=runs_summary " \
          "target_session_attrs=prefer-standby" % (RUN2, ENV["DATABASE_URL"].split(
              "host=")[1].split()[0])
    env = dict(os.environ, DATABASE_URL=url, CLERK_JWT_KEY_FILE=ENV["RS_PUBKEY"],
               DB_MAX_CONNECTION_AGE_SECONDS="1", DB_CONNECT_TIMEOUT_SECONDS="1",
               ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:log_path=%s/asan" % STATE)
    for var in ("CLERK_JWKS_FILE", "FCGI_MAX_REQUESTS", "RUNS_SUMMARY_CONFIG"):
        env.pop(var, None)
    p = subprocess.Popen([BINARY, "--listen", "unix:" + SOCK, "--workers", "2"], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(LOG, "ab"))
    wait_until(lambda: open(LOG).read().count("event=worker_ready") >= 2 or
               p.poll() is not None, "the pool", timeout=15)
    ok(p.poll() is None, "the pool runs")
    return p


make_standby()
POOL = start_pool()
PRIMARY_TOTAL = int(psql(ENV["DATABASE_URL"],
                         "SELECT count(*) FROM workflow_runs WHERE workflow_id = '%s'" % WF))


def get(rid):
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": PATH, "QUERY_STRING": "",
              "HTTP_AUTHORIZATION": "Bearer " + TOKEN, "HTTP_X_REQUEST_ID": rid}
    with F.Conn(SOCK) as c:
        c.send(F.request(1, params))
        return c.read_reply(1, 10)


def answered_by(rid):
    """'standby' or 'primary', from the request's log line."""
    for line in open(LOG):
        if "request_id=%s " % rid in line:
            return "standby" if re.search(r" db_lag_ms=\d+", line) else "primary"
    return None


def burst(tag, n=20):
    """n requests; each must be a 200 with the right total. Their servers."""
    seen = []
    for i in range(n):
        rid = "%s-%d-%d" % (tag, i, int(time.monotonic() * 1000))
        r = get(rid)
        eq(r.status, 200, "%s: status" % rid)
        eq(r.json()["data"]["total_runs"], PRIMARY_TOTAL, "%s: total_runs" % rid)
        seen.append(rid)
    time.sleep(0.3)     # the log lines are written when the worker is idle
    return [answered_by(rid) for rid in seen]


def test_reads_are_served_by_the_standby():
    wait_until(lambda: "standby" in burst("warm", 4), "a read from the standby", timeout=10)
    eq(set(burst("standby")), {"standby"}, "who answered")


def test_standby_stopped_reads_fall_over_to_the_primary_without_a_failure():
    standby_stop()
    got = burst("down")
    eq(set(got), {"primary"}, "who answered with the standby down")


def test_standby_back_reads_return_to_it():
    standby_start()
    wait_until(lambda: "standby" in burst("back", 4), "reads back on the standby",
               timeout=15)


def test_zz_stop():
    POOL.send_signal(signal.SIGTERM)
    POOL.wait(timeout=20)
    standby_stop()


if __name__ == "__main__":
    try:
        failed = run_tests(collect(globals()), "replica")
    finally:
        if POOL.poll() is None:
            POOL.kill()
        standby_stop()
    main_exit(failed)
