#!/usr/bin/env python3
"""Rollups (scripts/rollups.sql) against the plain scan (issue 7).

The property: for random runs (every status, NULL timestamps, equal
created_at values, runs on hour and day boundaries and at +-infinity) and
random inserts, updates, moves between workflows and deletes, run both
before and during a backfill, the statement on rollups gives exactly the
plain statement's row, every column, for every window tried: none, only
from, only to, windows inside one hour, across a boundary by a
microsecond, across many days. The buckets also equal a recount from
the table. Then the service: it finds the rollups on a new connection
(db_plan=rollups in its request line), answers as the scan did, and
loses no request when they are uninstalled under traffic.

RS_ROLLUPS_SEED fixes the random seed (printed on every run).

usage: test_rollups.py STATE_DIR BINARY HOST:PORT
"""
import datetime
import os
import random
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROOT, Stack, Traffic, collect, eq, main_exit, mint, new_id,  # noqa: E402
                     ok, run_tests, settings_file, wait_until)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES", "CLERK_JWKS_FILE", "FCGI_MAX_REQUESTS",
            "LOG_LEVEL", "DB_ROLLUPS"):
    os.environ.pop(var, None)
CONF = settings_file(STATE, "# the pool's settings file\n")
S = Stack(STATE, BINARY, LISTEN, pool="supervisor", workers=2)
SEED = int(os.environ.get("RS_ROLLUPS_SEED", random.randrange(1 << 30)))
print("rollups: seed %d (RS_ROLLUPS_SEED)" % SEED, flush=True)
R = random.Random(SEED)
STATEMENT = os.path.join(ROOT, "scripts", "lib", "statement")
ROLLUPS = os.path.join(ROOT, "scripts", "rollups")

WS = "d0000000-0000-4000-8000-000000000001"
USER = "user_rollups"
WFS = ["d0000000-0000-4000-8000-0000000000%02d" % i for i in range(1, 5)]
EPOCH = datetime.datetime(2026, 3, 7, tzinfo=datetime.timezone.utc)
SPAN_US = 9 * 86400 * 10**6       # the runs' created_at span nine days
HOUR_US, DAY_US = 3600 * 10**6, 86400 * 10**6
STATUSES = ["pending", "running", "completed", "failed", "cancelled", "paused"]
TOKEN = mint(S.key, "--sub", USER, "--ttl", "3600")
LOG = os.path.join(STATE, "workers.log")
LAST_RID = None


def ts(us):
    """timestamptz text of EPOCH + us microseconds."""
    t = EPOCH + datetime.timedelta(microseconds=us)
    return "'%s'" % t.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def psql_script(text, *extra):
    p = subprocess.run(["psql", S.dburl, "-qAtX", "-v", "ON_ERROR_STOP=1", *extra],
                       input=text, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("psql failed: " + p.stderr[-1500:])
    return p.stdout


def created_us(near=None):
    """A created_at: anywhere, on a boundary, a microsecond off one, or
    equal to another run's."""
    k = R.random()
    if near is not None and k < 0.15:
        return near
    if k < 0.35:
        edge = R.randrange(0, SPAN_US, DAY_US if R.random() < 0.4 else HOUR_US)
        return edge + R.choice((0, 0, 1, -1))
    return R.randrange(-HOUR_US, SPAN_US + HOUR_US)


def run_values(wf, near=None):
    c = created_us(near)
    created = ts(c)
    if R.random() < 0.01:
        created = R.choice(("'infinity'", "'-infinity'"))
    status = R.choice(STATUSES)
    started = "NULL" if R.random() < 0.15 else ts(c + R.randrange(-10**6, 5 * 10**6))
    completed = "NULL" if R.random() < 0.15 else ts(c + R.randrange(-10**6, 3600 * 10**6))
    return "('%s', '%s', %s, %s, %s)" % (wf, status, created, started, completed), c


def insert_sql(n, wf=None):
    rows, last = [], None
    for _ in range(n):
        v, last = run_values(wf or R.choice(WFS), last)
        rows.append(v)
    return ("INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, "
            "completed_at) VALUES %s;\n" % ", ".join(rows))


def some(wf, k):
    return ("(SELECT id FROM workflow_runs WHERE workflow_id = '%s' "
            "ORDER BY random() LIMIT %d)" % (wf, k))


def mutation_sql(alone=True):
    """One random write: most kinds alone, some in a transaction, some
    rolled back."""
    wf, k = R.choice(WFS), R.randrange(1, 30)
    kind = R.randrange(9 if alone else 8)
    if kind == 0:
        return insert_sql(R.randrange(1, 40))
    if kind == 1:
        return "UPDATE workflow_runs SET status = '%s' WHERE id IN %s;\n" % (
            R.choice(STATUSES), some(wf, k))
    if kind == 2:
        return ("UPDATE workflow_runs SET created_at = created_at + interval '%d microseconds' "
                "WHERE id IN %s;\n" % (R.randrange(-2 * DAY_US, 2 * DAY_US), some(wf, k)))
    if kind == 3:
        return "UPDATE workflow_runs SET created_at = %s WHERE id IN %s;\n" % (
            ts(created_us()), some(wf, k))
    if kind == 4:
        col = R.choice(("started_at", "completed_at"))
        val = "NULL" if R.random() < 0.4 else "%s + interval '%d microseconds'" % (
            col, R.randrange(-10**7, 10**7))
        return "UPDATE workflow_runs SET %s = %s WHERE id IN %s;\n" % (col, val, some(wf, k))
    if kind == 5:
        return "UPDATE workflow_runs SET workflow_id = '%s' WHERE id IN %s;\n" % (
            R.choice(WFS), some(wf, k))
    if kind == 6:
        return "DELETE FROM workflow_runs WHERE id IN %s;\n" % some(wf, k)
    if kind == 7:
        return "UPDATE workflow_runs SET status = status WHERE id IN %s;\n" % some(wf, k)
    body = "".join(mutation_sql(alone=False) for _ in range(R.randrange(2, 5)))
    return "BEGIN;\n%s%s;\n" % (body, "ROLLBACK" if R.random() < 0.3 else "COMMIT")


def mutations(n):
    return "".join(mutation_sql() for _ in range(n))


def instants():
    """Window bounds worth trying, as timestamptz text."""
    out = [ts(created_us()) for _ in range(40)]
    for _ in range(40):
        edge = R.randrange(-DAY_US, SPAN_US + DAY_US, HOUR_US if R.random() < 0.6 else DAY_US)
        out.append(ts(edge + R.choice((0, 1, -1))))
    out += psql_script("SELECT quote_literal(created_at) FROM workflow_runs "
                       "WHERE created_at > '-infinity' AND created_at < 'infinity' "
                       "ORDER BY random() LIMIT 40").splitlines()
    out += [ts(-400 * DAY_US), ts(SPAN_US + 400 * DAY_US)]
    return out


def windows(n):
    """n (from, to) pairs, NULL for an absent bound, from <= to."""
    points, out = instants(), []
    while len(out) < n:
        kind = R.randrange(6)
        if kind == 0:
            out.append(("NULL", "NULL"))
        elif kind == 1:
            out.append((R.choice(points), "NULL"))
        elif kind == 2:
            out.append(("NULL", R.choice(points)))
        elif kind == 3:                  # inside one hour, or across one boundary
            a = created_us()
            b = a + R.randrange(0, HOUR_US if R.random() < 0.5 else 2 * HOUR_US)
            out.append((ts(a), ts(b)))
        else:
            a, b = sorted((R.choice(points), R.choice(points)), key=sort_key)
            out.append((a, b))
    return out


def sort_key(lit):
    return lit.strip("'").replace("T", " ")


def compare(n):
    """Runs n windows for every workflow through both statements in one
    session; returns the number of rows compared."""
    plain = subprocess.run([STATEMENT], capture_output=True, text=True, check=True).stdout
    roll = subprocess.run([STATEMENT, "--rollups"], capture_output=True, text=True,
                          check=True).stdout
    sig = "(uuid, uuid, text, timestamptz, timestamptz, text)"
    lines = ["PREPARE p%s AS %s;" % (sig, plain), "PREPARE q%s AS %s;" % (sig, roll)]
    cases = []
    for f, t in windows(n):
        wf = R.choice(WFS)
        cases.append((wf, f, t))
        args = "('%s', '%s', '%s', %s::timestamptz, %s::timestamptz, NULL)" % (wf, WS, USER, f, t)
        lines += ["EXECUTE p%s;" % args, "EXECUTE q%s;" % args]
    out = psql_script("\n".join(lines) + "\n").splitlines()
    eq(len(out), 2 * len(cases), "rows returned")
    for i, case in enumerate(cases):
        ok(out[2 * i] == out[2 * i + 1],
           "window %r: scan %r, rollups %r (seed %d)" % (case, out[2 * i], out[2 * i + 1], SEED))
    ok(sum(int(out[2 * i].split("|")[3]) > 0 for i in range(len(cases))) > len(cases) // 3,
       "most windows hold runs")
    return len(cases)


def recount_differs(ignore_infinite=False):
    """Rows where the buckets differ from a recount of the table (for
    workflows whose backfill is done): 0 when they agree. ignore_infinite:
    the durations of runs with an infinite timestamp are left out (the
    recount's arithmetic would fail on them; the buckets leave them out)."""
    finite = "AND isfinite(started_at) AND isfinite(completed_at)" if ignore_infinite else ""
    return int(psql_script("""
        WITH truth AS (
            SELECT r.workflow_id, g.hours, g.bucket, count(*) AS total,
                   count(*) FILTER (WHERE status = 'pending') AS pending,
                   count(*) FILTER (WHERE status = 'running') AS running,
                   count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   count(*) FILTER (WHERE status = 'paused') AS paused,
                   count(completed_at - started_at) FILTER (WHERE status = 'completed' %s)
                       AS durations,
                   coalesce(extract(epoch FROM sum(completed_at - started_at)
                                    FILTER (WHERE status = 'completed' %s)) * 1000000, 0)
                       AS duration_us
            FROM workflow_runs r
            CROSS JOIN LATERAL (VALUES (1, date_trunc('hour', r.created_at, 'UTC')),
                                       (24, date_trunc('day', r.created_at, 'UTC'))) g (hours, bucket)
            WHERE r.created_at < 'infinity'
              AND r.workflow_id NOT IN (SELECT workflow_id FROM runs_summary.backfill)
            GROUP BY 1, 2, 3),
        kept AS (
            SELECT workflow_id, hours, bucket, sum(total) AS total, sum(pending) AS pending,
                   sum(running) AS running, sum(completed) AS completed, sum(failed) AS failed,
                   sum(cancelled) AS cancelled, sum(paused) AS paused,
                   sum(durations) AS durations, sum(duration_us) AS duration_us
            FROM runs_summary.buckets
            WHERE workflow_id NOT IN (SELECT workflow_id FROM runs_summary.backfill)
            GROUP BY 1, 2, 3
            HAVING sum(total) <> 0 OR sum(durations) <> 0 OR sum(duration_us) <> 0)
        SELECT count(*) FROM (
            (SELECT * FROM truth EXCEPT SELECT * FROM kept)
            UNION ALL
            (SELECT * FROM kept EXCEPT SELECT * FROM truth)) d""" % (finite, finite)).strip())


def install():
    rollups("install")


def backfill(batch=20000):
    rollups("backfill", str(batch))


def rollups(*args):
    """scripts/rollups, on this stack's database."""
    subprocess.run([ROLLUPS, *args], env=dict(os.environ, DATABASE_URL=S.dburl), check=True,
                   capture_output=True, text=True, timeout=600)


def pending_workflows():
    return int(psql_script("SELECT count(*) FROM runs_summary.backfill").strip())


def data(path=None, wf=None):
    """The data object of a summary; last_plan() then tells how it was
    summed."""
    global LAST_RID
    LAST_RID = new_id()
    r = S.request(path or "/api/v1/workflows/%s/runs/summary" % (wf or WFS[0]),
                  headers={"Authorization": "Bearer " + TOKEN, "X-Request-Id": LAST_RID})
    eq(r.status, 200, "status of %s" % (path or wf))
    return r.json()["data"]


def reload_pool(conf=""):
    """Reloads with these settings; returns once every worker is new."""
    with open(CONF, "w") as f:
        f.write(conf)
    old = set(S.workers())
    os.kill(S.pool_pid, signal.SIGHUP)
    wait_until(lambda: len(S.workers()) == 2 and not set(S.workers()) & old, "new workers",
               timeout=30)


def last_plan():
    """db_plan of the last data() request (its line is written once the
    worker is idle)."""
    pattern = "request_id=%s .*db_plan=" % LAST_RID
    wait_until(lambda: S.log_lines(pattern), "the request's log line")
    return S.log_lines(pattern)[0].split("db_plan=")[1].split()[0]


# ---------------------------------------------------------------- tests

def test_the_service_scans_while_no_rollups_are_installed():
    psql_script("""
        INSERT INTO workspaces (id, name) VALUES ('%s', 'rollups');
        INSERT INTO workspace_members VALUES ('%s', '%s', 'viewer');
        INSERT INTO workflows (id, workspace_id, name) SELECT w, '%s', 'rollups'
        FROM unnest('{%s}'::uuid[]) w;""" % (WS, WS, USER, WS, ",".join(WFS)))
    psql_script("".join(insert_sql(500, wf) for wf in WFS for _ in range(3)))
    data()
    eq(last_plan(), "scan", "db_plan")


def test_install_and_backfill_under_writes_then_every_window_is_exact():
    install()
    eq(pending_workflows(), len(WFS) + int(psql_script(
        "SELECT count(*) FROM workflows WHERE id <> ALL ('{%s}')" % ",".join(WFS))),
        "workflows marked for the backfill")
    writer = subprocess.Popen(["psql", S.dburl, "-qAtX", "-v", "ON_ERROR_STOP=1"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    filler = subprocess.Popen(["psql", S.dburl, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c",
                               "CALL runs_summary.backfill(40)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, werr = writer.communicate(mutations(300), timeout=300)
    _, ferr = filler.communicate(timeout=300)
    eq((writer.returncode, werr.strip()), (0, ""), "the writer")
    eq((filler.returncode, ferr.strip()), (0, ""), "the backfill")
    eq(pending_workflows(), 0, "workflows left to backfill")
    eq(recount_differs(), 0, "buckets that differ from a recount")
    ok(compare(1000) >= 1000, "windows compared")


def test_random_writes_keep_every_window_exact():
    for _ in range(3):
        psql_script(mutations(150))
        eq(recount_differs(), 0, "buckets that differ from a recount")
        compare(400)


def test_a_wrong_bucket_shows_the_comparison_reads_buckets():
    psql_script("UPDATE runs_summary.buckets SET total = total + 1 WHERE (workflow_id, hours, "
                "bucket, stripe) = (SELECT workflow_id, hours, bucket, stripe FROM "
                "runs_summary.buckets WHERE hours = 24 AND workflow_id = '%s' AND total > 0 "
                "LIMIT 1)" % WFS[0])
    try:
        ok(recount_differs() > 0, "the recount sees the planted error")
        plain, roll = (psql_script("PREPARE s(uuid, uuid, text, timestamptz, timestamptz, text) "
                                   "AS %s; EXECUTE s('%s', '%s', '%s', NULL, NULL, NULL);" % (
                                       subprocess.run([STATEMENT, *flag], capture_output=True,
                                                      text=True, check=True).stdout,
                                       WFS[0], WS, USER)) for flag in ([], ["--rollups"]))
        ok(plain != roll, "the statements differ on a wrong bucket: %r" % plain)
    finally:
        psql_script("UPDATE runs_summary.buckets SET total = total - 1 WHERE (workflow_id, "
                    "hours, bucket, stripe) IN (SELECT workflow_id, hours, bucket, stripe FROM "
                    "runs_summary.buckets WHERE hours = 24 AND workflow_id = '%s' AND total > "
                    "pending + running + completed + failed + cancelled + paused)" % WFS[0])
    eq(recount_differs(), 0, "buckets after the repair")


def hot_writers(wf, at):
    """8 pgbench clients, 150 single-run inserts each, created at `at`;
    the bucket rows of that hour then."""
    script = os.path.join(STATE, "hot.sql")
    with open(script, "w") as f:
        f.write("INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, "
                "completed_at) VALUES ('%s', 'completed', %s, %s - interval '3 s', %s);\n"
                % (wf, at, at, at))
    subprocess.run(["pgbench", "-n", "-c", "8", "-j", "2", "-t", "150", "-f", script, S.dburl],
                   check=True, capture_output=True, text=True, timeout=120)
    return int(psql_script("SELECT count(*) FROM runs_summary.buckets WHERE workflow_id = '%s' "
                           "AND hours = 1 AND bucket = date_trunc('hour', %s, 'UTC')"
                           % (wf, at)).strip())


def test_eight_writers_on_one_hot_bucket_stay_exact():
    rows = hot_writers(WFS[1], "now()")
    eq(recount_differs(), 0, "buckets that differ from a recount")
    # a row is opened only when every row a writer sees is held by another
    # writer: a few per writer at most, not one per transaction
    ok(1 <= rows <= 16, "the hot hour's rows (%d)" % rows)


def test_compact_folds_the_rows_of_past_buckets():
    at = "timestamptz " + ts(4 * DAY_US + 7 * HOUR_US)
    hot_writers(WFS[2], at)
    ok(two_rows_in(WFS[2], at) >= 2, "the hour has rows to fold")
    psql_script("DELETE FROM workflow_runs WHERE id IN %s" % some(WFS[3], 10**6))
    psql_script("CALL runs_summary.compact()")
    eq(hour_rows(WFS[2], at), 1, "rows of the hour after compact")
    eq(psql_script("SELECT count(*) FROM runs_summary.buckets b WHERE workflow_id = '%s' "
                   "AND bucket < date_trunc('hour', now(), 'UTC') - interval '1 day'"
                   % WFS[3]).strip(), "0", "rows left of a workflow whose runs are all gone")
    eq(recount_differs(), 0, "buckets that differ from a recount")
    compare(200)
    psql_script(insert_sql(300, WFS[3]))


def test_a_stopped_backfill_resumes_where_it_stopped():
    wf = "d0000000-0000-4000-8000-000000000099"
    psql_script("""
        ALTER TABLE workflow_runs DISABLE TRIGGER USER;
        INSERT INTO workflows (id, workspace_id, name) VALUES ('%s', '%s', 'late');
        INSERT INTO workflow_runs (workflow_id, status, created_at)
        SELECT '%s', 'completed', timestamptz '2020-01-01' + i * interval '97 minutes'
        FROM generate_series(1, 20000) i;
        ALTER TABLE workflow_runs ENABLE TRIGGER USER;
        INSERT INTO runs_summary.backfill VALUES ('%s', '-infinity');""" % (wf, WS, wf, wf))
    # A batch a day, 1,348 of them: stopped once the first has committed.
    filler = subprocess.Popen(["psql", S.dburl, "-qAtX", "-c", "CALL runs_summary.backfill(10)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    progress = "SELECT done_before > '-infinity' FROM runs_summary.backfill " \
               "WHERE workflow_id = '%s'" % wf
    wait_until(lambda: psql_script(progress).strip() != "f", "a first batch", timeout=60)
    psql_script("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'CALL runs_summary.backfill%'")
    _, err = filler.communicate(timeout=60)
    ok("canceling statement" in err, "the backfill was stopped: %r" % err)
    eq(psql_script(progress).strip(), "t", "batches done before the stop, and some left")
    backfill(10)
    eq(pending_workflows(), 0, "workflows left to backfill")
    eq(recount_differs(), 0, "buckets that differ from a recount")


class Session:
    """A psql session fed one step at a time, for interleavings: step()
    returns once the step has run (psql echoes a marker after it), or
    False when it has not within `wait` seconds (it waits on a lock, or
    psql stopped at an error)."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", S.dburl, "-qAtX", "-v", "ON_ERROR_STOP=1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.n, self.out = 0, ""

    def step(self, sql, wait=20):
        self.n += 1
        marker = "step-%d-done" % self.n
        try:
            self.p.stdin.write("%s\nSELECT '%s';\n" % (sql, marker))
            self.p.stdin.flush()
        except BrokenPipeError:     # psql stopped at an error: close() says which
            return False
        # Read from the pipe itself: a buffered reader may hold the marker
        # while select() waits on an empty pipe.
        fd, deadline = self.p.stdout.fileno(), time.monotonic() + wait
        while "\n%s\n" % marker not in "\n" + self.out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            data = os.read(fd, 65536)
            if not data:
                return False
            self.out += data.decode()
        return True

    def close(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=30)
        return self.p.returncode, self.p.stderr.read().strip()


def run_at(wf, created):
    """The id of a new completed run of wf created at `created`."""
    return psql_script("INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, "
                       "completed_at) VALUES ('%s', 'running', %s, %s, NULL) RETURNING id"
                       % (wf, created, created)).strip()


def test_two_writers_crossing_two_buckets_neither_wait_nor_deadlock():
    wf = WFS[0]
    x, y = ts(2 * DAY_US + 10 * HOUR_US), ts(2 * DAY_US + 11 * HOUR_US)
    r1, r2, r3, r4 = run_at(wf, x), run_at(wf, y), run_at(wf, y), run_at(wf, x)
    a, b = Session(), Session()
    # Each step must finish while the other transaction is still open: a
    # step that waited for it would never finish before the commits.
    done = [a.step("BEGIN; UPDATE workflow_runs SET status = 'completed' WHERE id = '%s';" % r1),
            b.step("BEGIN; UPDATE workflow_runs SET status = 'completed' WHERE id = '%s';" % r2),
            a.step("UPDATE workflow_runs SET status = 'failed' WHERE id = '%s';" % r3, wait=5),
            b.step("UPDATE workflow_runs SET status = 'failed' WHERE id = '%s';" % r4, wait=5)]
    b.step("COMMIT;")
    a.step("COMMIT;")
    eq(b.close(), (0, ""), "the second writer")
    eq(a.close(), (0, ""), "the first writer")
    eq(done, [True] * 4, "steps done with both transactions open")
    eq(recount_differs(), 0, "buckets that differ from a recount")


def two_rows_in(wf, at):
    """Makes sure the hour of `at` has at least two bucket rows: a writer
    adds to it while another transaction holds a row of it."""
    insert = ("INSERT INTO workflow_runs (workflow_id, status, created_at) "
              "VALUES ('%s', 'pending', %s);" % (wf, at))
    holder = Session()
    ok(holder.step("BEGIN; " + insert), "the holder's insert")
    psql_script(insert)
    holder.step("COMMIT;")
    eq(holder.close(), (0, ""), "the holder")
    return hour_rows(wf, at)


def hour_rows(wf, at):
    return int(psql_script("SELECT count(*) FROM runs_summary.buckets WHERE workflow_id = '%s' "
                           "AND hours = 1 AND bucket = date_trunc('hour', %s, 'UTC')"
                           % (wf, at)).strip())


def test_compact_waits_for_no_writer():
    wf = WFS[1]
    old = "timestamptz " + ts(3 * DAY_US + 5 * HOUR_US)
    r = run_at(wf, old)
    ok(two_rows_in(wf, old) >= 2, "the hour has rows to fold")
    w = Session()
    ok(w.step("BEGIN; UPDATE workflow_runs SET status = 'completed' WHERE id = '%s';" % r),
       "the writer's update")
    # Waiting for the writer would be for ever (it commits after): the
    # lock timeout turns that into an error.
    p = subprocess.run(["psql", S.dburl, "-qAtX", "-v", "ON_ERROR_STOP=1",
                        "-c", "SET lock_timeout = '10s'", "-c", "CALL runs_summary.compact()"],
                       capture_output=True, text=True, timeout=60)
    w.step("COMMIT;")
    eq(w.close(), (0, ""), "the writer")
    eq((p.returncode, p.stderr.strip()), (0, ""), "compact beside a writer")
    eq(recount_differs(), 0, "buckets that differ from a recount")
    psql_script("CALL runs_summary.compact()")
    eq(hour_rows(wf, old), 1, "rows of the hour once the writer is gone")


def test_repeatable_read_writers_never_count_by_stale_marks():
    wf = "d0000000-0000-4000-8000-000000000098"
    psql_script("""
        INSERT INTO workflows (id, workspace_id, name) VALUES ('%s', '%s', 'rr');
        INSERT INTO runs_summary.backfill VALUES ('%s', '-infinity');""" % (wf, WS, wf))
    old = Session()
    ok(old.step("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;"), "the snapshot taken")
    backfill()
    old.step(insert_sql(3, wf) + "COMMIT;")
    rc, err = old.close()
    ok(rc != 0 and "could not serialize" in err, "the stale writer fails: %r" % err)
    rr = Session()
    ok(rr.step("BEGIN ISOLATION LEVEL REPEATABLE READ; %s COMMIT;" % insert_sql(3, wf)),
       "a repeatable-read writer with a fresh snapshot")
    eq(rr.close(), (0, ""), "a repeatable-read writer with a fresh snapshot")
    eq(recount_differs(), 0, "buckets that differ from a recount")
    p = subprocess.run(["psql", S.dburl, "-qAtX", "-c",
                        "SET default_transaction_isolation = 'repeatable read'",
                        "-c", "CALL runs_summary.backfill()"], capture_output=True, text=True)
    ok("READ COMMITTED only" in p.stderr, "the backfill refuses another isolation: %r"
       % p.stderr)


def test_a_completed_run_with_an_infinite_timestamp_is_written():
    psql_script("INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, "
                "completed_at) VALUES ('%s', 'completed', %s, %s, 'infinity'), "
                "('%s', 'completed', %s, '-infinity', %s)" % (
                    WFS[2], ts(DAY_US), ts(DAY_US), WFS[2], ts(DAY_US), ts(DAY_US)))
    eq(recount_differs(ignore_infinite=True), 0, "buckets that differ from a recount")
    psql_script("DELETE FROM workflow_runs WHERE NOT isfinite(started_at) "
                "OR NOT isfinite(completed_at)")
    eq(recount_differs(), 0, "buckets that differ from a recount")


def test_the_service_sums_from_rollups_once_a_connection_finds_them():
    reload_pool()
    for wf in WFS:
        got = data(wf=wf)
        eq(last_plan(), "rollups", "db_plan")
        row = psql_script("SELECT count(*) FROM workflow_runs WHERE workflow_id = '%s'" % wf)
        eq(got["total_runs"], int(row), "total_runs of " + wf)
    path = ("/api/v1/workflows/%s/runs/summary?from=2026-03-08T10:30:00.000001Z"
            "&to=2026-03-12T23:59:59.999999%%2B05:30" % WFS[2])
    roll = data(path)
    reload_pool("DB_ROLLUPS=off\n")
    eq(data(path), roll, "the scan's answer")
    eq(last_plan(), "scan", "db_plan with DB_ROLLUPS=off")


def test_disabled_triggers_send_summaries_back_to_the_scan():
    psql_script("ALTER TABLE workflow_runs DISABLE TRIGGER runs_summary_update")
    try:
        reload_pool()
        data()
        eq(last_plan(), "scan", "db_plan with a trigger disabled")
        ok(S.log_lines("event=rollups_disabled "), "the reason logged")
    finally:
        psql_script("ALTER TABLE workflow_runs ENABLE TRIGGER runs_summary_update")
    reload_pool()
    data()
    eq(last_plan(), "rollups", "db_plan with the triggers enabled")


def test_writers_need_no_grant_on_the_rollups():
    psql_script("""
        CREATE ROLE rs_writer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON workflow_runs TO rs_writer;
        SET ROLE rs_writer;
        %s
        UPDATE workflow_runs SET status = 'failed' WHERE id IN %s;
        DELETE FROM workflow_runs WHERE id IN %s;
        RESET ROLE;""" % (insert_sql(20, WFS[0]), some(WFS[0], 5), some(WFS[0], 5)))
    eq(recount_differs(), 0, "buckets that differ from a recount")


def test_a_role_that_may_not_read_the_rollups_scans_until_granted():
    psql_script("""
        CREATE ROLE rs_reader LOGIN;
        GRANT SELECT ON workspaces, workspace_members, workflows, workflow_runs, api_keys
            TO rs_reader;""")
    conf = "DATABASE_URL=%s\n" % S.dburl.replace("user=postgres", "user=rs_reader")
    try:
        reload_pool(conf)
        want = int(psql_script("SELECT count(*) FROM workflow_runs WHERE workflow_id = '%s'"
                               % WFS[0]))
        eq(data()["total_runs"], want, "total_runs")
        eq(last_plan(), "scan", "db_plan without the grants")
        ok(S.log_lines("event=rollups_unreadable "), "the refusal logged")
        psql_script("GRANT USAGE ON SCHEMA runs_summary TO rs_reader; "
                    "GRANT SELECT ON runs_summary.buckets, runs_summary.backfill TO rs_reader")
        reload_pool(conf)
        eq(data()["total_runs"], want, "total_runs")
        eq(last_plan(), "rollups", "db_plan with the grants")
    finally:
        reload_pool()


def test_uninstalling_under_traffic_fails_no_request():
    reload_pool()
    data()
    eq(last_plan(), "rollups", "db_plan before")
    path = "/api/v1/workflows/%s/runs/summary" % WFS[3]
    with Traffic(S, path, {"user": TOKEN}, seconds=3, clients=4) as t:
        time.sleep(1)
        psql_script("DROP SCHEMA runs_summary CASCADE")
    eq(t.failures(), [], "failed requests")
    ok(len(t.results) > 50, "requests served (%d)" % len(t.results))
    data()
    eq(last_plan(), "scan", "db_plan after")


def test_truncate_empties_the_rollups():
    install()
    backfill()
    psql_script("TRUNCATE workflow_runs")
    eq(psql_script("SELECT (SELECT count(*) FROM runs_summary.buckets) + "
                   "(SELECT count(*) FROM runs_summary.backfill)").strip(), "0", "rows left")
    psql_script(insert_sql(200, WFS[0]))
    eq(recount_differs(), 0, "buckets that differ from a recount")


main_exit(run_tests(collect(globals()), "rollups"))
