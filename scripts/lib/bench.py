#!/usr/bin/env python3
"""The side-by-side measurement behind scripts/bench: the database's own
limit for the summary statement (pgbench -M prepared, the statement read
from fcgi/summary.sql, the very file the build embeds) against the service
through nginx (wrk), in one run, for workflows of several sizes.

Every wrk response is checked against the numbers psql computes for the
same statement; a run with a wrong answer or an error reports no figures.
Machines are noisy: each figure is the median of --repeat runs, and the
ratio is taken within one run.

usage: bench.py --state DIR --listen HOST:PORT [--quick] [--sizes 1000,...]
                [--clients 4,...] [--seconds S] [--repeat R] [--workers N]
                [--out DIR] [--floor] [--rollups]

--floor also measures, in the same runs, tests/tools/fcgi-floor behind an
nginx of its own: a responder that only reads the request, runs the same
statement and answers, the ceiling any service has on this machine.

--rollups then installs scripts/rollups.sql, backfills it (timed), has
the pool reload so that its connections find them, and measures every
row again: pgbench on the statement on rollups, and the service, whose
answers are still checked against the plain statement's.
"""
import argparse
import json
import math
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STACK = os.path.join(ROOT, "scripts", "lib", "stack.sh")
MINT = os.path.join(ROOT, "tests", "tools", "mint-token")
STATEMENT = os.path.join(ROOT, "scripts", "lib", "statement")
FLOOR = os.path.join(ROOT, "tests", "tools", "fcgi-floor")

WS = "b0000000-0000-4000-8000-000000000001"
USER = "user_bench"
FROM, TO = "2025-01-01T00:00:00Z", "2026-12-31T23:59:59Z"


def sh(*args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit("bench: %s failed (%d): %s" % (args[0], p.returncode,
                                                        p.stderr.strip()[-2000:]))
    return p.stdout


def psql(url, sql):
    return sh("psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql).strip()


def wf_id(n):
    return "b0000000-0000-4000-8000-%012d" % n


def generate(url, sizes):
    """One workflow of n runs per size, plus noise workflows, all spread
    over a year, with a realistic mix of statuses and durations."""
    psql(url, f"""
        INSERT INTO workspaces (id, name) VALUES ('{WS}', 'bench') ON CONFLICT DO NOTHING;
        INSERT INTO workspace_members VALUES ('{WS}', '{USER}', 'viewer') ON CONFLICT DO NOTHING;""")
    noise = [("c0000000-0000-4000-8000-%012d" % i, 50000) for i in range(1, 5)]
    for wf, n in [(wf_id(n), n) for n in sizes] + noise:
        if psql(url, f"SELECT count(*) FROM workflows WHERE id = '{wf}'") != "0":
            continue
        psql(url, f"""
            INSERT INTO workflows (id, workspace_id, name) VALUES ('{wf}', '{WS}', 'bench');
            INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, completed_at)
            SELECT '{wf}', st, c, CASE WHEN st <> 'pending' THEN c + interval '2 s' END,
                   CASE WHEN st IN ('completed', 'failed', 'cancelled')
                        THEN c + interval '2 s' + (random() * 600) * interval '1 s' END
            FROM (SELECT timestamptz '2025-06-01' + (random() * 365) * interval '1 day' AS c,
                         (ARRAY['completed','completed','completed','completed','completed',
                                'completed','failed','failed','cancelled','pending','running',
                                'paused'])[1 + floor(random() * 12)::int] AS st
                  FROM generate_series(1, {n})) g;""")
    psql(url, "VACUUM ANALYZE")


def statement(rollups=False):
    return sh(STATEMENT, *(["--rollups"] if rollups else []))


def pgbench_script(path, rollups=False):
    """The statement with pgbench variables for its parameters; the absent
    one (the API key's hash, for a JWT caller) is a literal NULL, since
    pgbench cannot bind NULL."""
    text = statement(rollups)
    text = re.sub(r"--[^\n]*", "", text)
    for n, var, typ in ((1, ":wf", "uuid"), (2, ":ws", "uuid"), (3, ":uid", "text"),
                        (4, ":from", "timestamptz"), (5, ":to", "timestamptz"),
                        (6, "NULL", "text")):
        text = text.replace("$%d::%s" % (n, typ), "%s::%s" % (var, typ))
    if "$" in text:
        raise SystemExit("bench: the statement has a parameter this script does not bind")
    with open(path, "w") as f:
        f.write(" ".join(text.split()) + "\n")


def expected_data(url, wf):
    """The data object, as the service must write it, from the plain
    statement."""
    row = psql(url, "PREPARE s(uuid, uuid, text, timestamptz, timestamptz, text) AS "
               + statement() + ";\n" +
               f"EXECUTE s('{wf}', '{WS}', '{USER}', '{FROM}', '{TO}', NULL)").split("|")
    total, pending, running, completed, failed, cancelled, paused = map(int, row[3:10])
    terminal = completed + failed + cancelled
    data = {"total_runs": total, "completed": completed, "failed": failed,
            "cancelled": cancelled, "pending": pending, "running": running, "paused": paused,
            "pass_rate": completed / terminal if terminal else None,
            "average_duration_seconds": float(row[10]) if row[10] else None}
    return '{"data":' + json.dumps(data, separators=(",", ":")) + ','


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values))) - 1))
    return sorted_values[i]


def run_pgbench(url, script, wf, clients, seconds, tmp):
    logdir = tempfile.mkdtemp(dir=tmp)
    out = sh("pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
             "-T", str(seconds), "-f", script, "-l", "--log-prefix", logdir + "/pgb",
             "-D", "wf=" + wf, "-D", "ws=" + WS, "-D", "uid=" + USER, "-D", "from=" + FROM,
             "-D", "to=" + TO, url)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1))
    lat = []
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name)) as f:
            lat += [int(line.split()[2]) / 1000.0 for line in f]
    lat.sort()
    return {"rps": tps, "p50": percentile(lat, 50), "p99": percentile(lat, 99),
            "errors": failed}


# wrk runs response() in each thread's own Lua state and done() in
# another: the counts are globals of the thread's state, read back through
# the thread objects that setup() collected.
LUA = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
local expected = os.getenv("BENCH_EXPECTED")
bad, wrong = 0, 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1
  elseif body:sub(1, #expected) ~= expected then wrong = wrong + 1 end
end
done = function(summary, latency, requests)
  local b, w = 0, 0
  for _, t in ipairs(threads) do b = b + t:get("bad"); w = w + t:get("wrong") end
  io.write(string.format("BENCH non200=%d wrong=%d\n", b, w))
end
"""


def cpu_seconds(pids):
    """User and system CPU seconds the processes have used so far."""
    hz, user, system = os.sysconf("SC_CLK_TCK"), 0, 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / hz, system / hz


def run_wrk(url, token, expected, clients, seconds, tmp, pids=()):
    lua = os.path.join(tmp, "check.lua")
    with open(lua, "w") as f:
        f.write(LUA)
    env = dict(os.environ, BENCH_EXPECTED=expected)
    cpu0 = cpu_seconds(pids)
    # One thread: the counters in the Lua script then see every response.
    out = sh("wrk", "-t1", "-c", str(clients), "-d", "%ds" % seconds, "--latency",
             "--timeout", "60s", "-s", lua,
             "-H", "Authorization: Bearer " + token, "-H", "X-Workspace-Id: " + WS,
             url, env=env)
    cpu1 = cpu_seconds(pids)

    def ms(s):
        v, unit = re.match(r"([\d.]+)(us|ms|s|m)$", s).groups()
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    m = re.search(r"BENCH non200=(\d+) wrong=(\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (max(int(m.group(1)), int(non2xx.group(1)) if non2xx else 0) + int(m.group(2)) +
              (sum(map(int, errs.groups())) if errs else 0))
    # /proc counts in ticks (10 ms): too coarse for a run of few requests.
    fine = count >= 10000
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors, "count": count,
            "user_us": (cpu1[0] - cpu0[0]) * 1e6 / count if fine else float("nan"),
            "sys_us": (cpu1[1] - cpu0[1]) * 1e6 / count if fine else float("nan")}


class Memory:
    """The workers' resident memory against the requests served so far:
    the largest VmRSS among them, read from /proc after each wrk run."""

    def __init__(self, pids):
        self.pids, self.served, self.points = pids, 0, []

    def rss_kib(self):
        worst = 0
        for pid in self.pids:
            with open("/proc/%d/status" % pid) as f:
                worst = max(worst, int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)))
        return worst

    def after(self, run):
        self.served += run["count"]
        self.points.append((self.served, self.rss_kib()))
        return run

    def lines(self):
        (n0, r0), (n1, r1) = self.points[0], self.points[-1]
        return ["worker RSS (largest of %d workers): %.1f MiB after warm-up (%d requests), "
                "%.1f MiB after %d requests (%+.1f%%)" % (
                    len(self.pids), r0 / 1024, n0, r1 / 1024, n1, 100.0 * (r1 - r0) / r0)]


def soak(mem, target, token, expected, total, tmp):
    """Serves at least total requests at 8 clients, in 20 s runs, and
    prints the RSS at each run: the flatness check of issue 5."""
    while mem.served < total:
        r = mem.after(run_wrk(target, token, expected, 8, 20, tmp))
        if r["errors"]:
            raise SystemExit("bench: errors or wrong answers during the soak")
        print("soak: %9d requests served, worker RSS %.1f MiB" % (
            mem.served, mem.points[-1][1] / 1024), file=sys.stderr, flush=True)


class Floor:
    """fcgi-floor's workers (spawn-fcgi) behind an nginx of their own
    (stack.sh front: the stack's nginx.conf and drop-in location), on the
    port after the stack's; stopped by PID (stack.sh down)."""

    def __init__(self, state, main_listen, workers, url):
        host, port = main_listen.rsplit(":", 1)
        self.main_listen, self.listen = main_listen, "%s:%d" % (host, int(port) + 1)
        self.dir = os.path.join(state, "floor")
        os.makedirs(self.dir)
        sock = os.path.join(self.dir, "runs-summary.sock")
        env = dict(os.environ, DATABASE_URL=url, FLOOR_USER=USER, FLOOR_FROM=FROM,
                   FLOOR_TO=TO)
        sh("spawn-fcgi", "-F", str(workers), "-s", sock, "-M", "0600",
           "-P", os.path.join(self.dir, "workers.pid"), "--", FLOOR, env=env)
        with open(os.path.join(self.dir, "workers.pid")) as f:
            self.pids = [int(p) for p in f.read().split()]
        try:
            sh(STACK, "front", self.dir, "--listen", self.listen, "--socket", sock)
        except SystemExit:
            self.stop()
            raise

    def stop(self):
        subprocess.run([STACK, "down", self.dir], check=False)


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes")
    ap.add_argument("--clients")
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench"))
    ap.add_argument("--pgbouncer", action="store_true",
                    help="the workers reach the database through PgBouncer (transaction mode)")
    ap.add_argument("--floor", action="store_true",
                    help="also measure tests/tools/fcgi-floor, the least a responder does")
    ap.add_argument("--rollups", action="store_true",
                    help="then measure again with the rollups of scripts/rollups.sql")
    ap.add_argument("--soak", type=int, default=0,
                    help="then serve this many requests in all, printing worker RSS")
    a = ap.parse_args()
    # A timeout's TERM unwinds, so the floor's processes are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(x) for x in (a.sizes or ("1000,100000" if a.quick else
                                           "1000,100000,1000000")).split(",")]
    clients = [int(x) for x in (a.clients or ("4" if a.quick else "2,4,8")).split(",")]
    seconds = a.seconds or (5 if a.quick else 6)
    repeat = a.repeat or (1 if a.quick else 3)

    t_start = time.monotonic()
    # The service waits for the database as long as pgbench does: with
    # the default 3 s budget, a million-run summary under 8 clients
    # would be a 503 here and a slow answer there.
    os.environ["DB_STATEMENT_TIMEOUT_MS"] = "60000"
    subprocess.run([STACK, "up", a.state, "--listen", a.listen, "--workers", str(a.workers),
                    "--pool", "supervisor", *(["--pgbouncer"] if a.pgbouncer else [])],
                   check=True)
    env = {}
    for line in open(os.path.join(a.state, "env")):
        k, _, v = line.strip().partition("=")
        env[k] = shlex.split(v)[0] if v else ""
    url = env["DATABASE_URL"]
    print("generating data: workflows of %s runs, plus noise..." %
          ", ".join(map(str, sizes)), file=sys.stderr, flush=True)
    generate(url, sizes)
    token = sh(MINT, "--key", env["RS_KEY"], "--sub", USER, "--ttl", "7200").strip()
    tmp = tempfile.mkdtemp(dir=a.state)
    script = os.path.join(tmp, "summary.pgbench")
    pgbench_script(script)

    def target_of(n):
        return "http://%s/api/v1/workflows/%s/runs/summary?from=%s&to=%s" % (
            a.listen, wf_id(n), FROM, TO)

    mem = Memory([int(p) for p in env["RS_WORKER_PIDS"].split()])
    warm = mem.after(run_wrk(target_of(sizes[0]), token, expected_data(url, wf_id(sizes[0])),
                             4, 3, tmp))
    if warm["errors"]:
        raise SystemExit("bench: errors or wrong answers while warming up")
    floor = None
    if a.floor:
        floor = Floor(a.state, a.listen, a.workers, url)
    try:
        rows = [measure(url, script, token, tmp, mem, n, c, seconds, repeat,
                        target_of(n), floor)
                for n in sizes for c in clients]
    finally:
        if floor:
            floor.stop()
    rolled = None
    if a.rollups:
        rolled = with_rollups(a, env, url, token, tmp, mem, sizes, clients, seconds, repeat,
                              target_of)
        rows_all = rows + rolled["rows"]
    else:
        rows_all = rows
    if any(r["errors"] for r in rows_all):
        raise SystemExit("bench: errors or wrong answers: no figures reported")
    if a.soak:
        soak(mem, target_of(sizes[0]), token, expected_data(url, wf_id(sizes[0])), a.soak, tmp)
    report(rows, mem, a, seconds, repeat, time.monotonic() - t_start, rolled)


def with_rollups(a, env, url, token, tmp, mem, sizes, clients, seconds, repeat, target_of):
    """Installs and backfills the rollups, reloads the pool, measures
    every row again; checks from the pool's log that every summary in
    those runs was summed from rollups."""
    print("installing and backfilling rollups...", file=sys.stderr, flush=True)
    rollups = os.path.join(ROOT, "scripts", "rollups")
    with_url = dict(os.environ, DATABASE_URL=url)
    sh(rollups, "install", env=with_url)
    t0 = time.monotonic()
    sh(rollups, "backfill", env=with_url)
    took = time.monotonic() - t0
    runs = int(psql(url, "SELECT count(*) FROM workflow_runs"))
    buckets = int(psql(url, "SELECT count(*) FROM runs_summary.buckets"))
    psql(url, "VACUUM ANALYZE runs_summary.buckets")
    log = os.path.join(a.state, "workers.log")
    old = set(mem.pids)
    os.kill(int(env["RS_POOL_PID"]), signal.SIGHUP)
    deadline = time.monotonic() + 30
    while True:     # a reload replaces every worker
        now = set(map(int, subprocess.run(["pgrep", "-P", env["RS_POOL_PID"]],
                                          capture_output=True, text=True).stdout.split()))
        if len(now) == a.workers and not now & old:
            break
        if time.monotonic() > deadline:
            raise SystemExit("bench: the pool did not reload")
        time.sleep(0.1)
    mem.pids = sorted(now)
    start = os.path.getsize(log)
    script = os.path.join(tmp, "rollups.pgbench")
    pgbench_script(script, rollups=True)
    rows = [measure(url, script, token, tmp, mem, n, c, seconds, repeat, target_of(n), None)
            for n in sizes for c in clients]
    with open(log) as f:
        f.seek(start)
        plans = re.findall(r" status=200 .*?db_plan=(\w+)", f.read())
    if not plans or set(plans) != {"rollups"}:
        raise SystemExit("bench: summaries not summed from rollups: %s" % sorted(set(plans)))
    return {"rows": rows, "backfill_s": took, "runs": runs, "buckets": buckets}


def measure(url, script, token, tmp, mem, n, c, seconds, repeat, target, floor):
    """One row: pgbench, the service and (with a floor target) the floor,
    back to back, repeat times; medians, and ratios within each repeat.
    The floor's answers carry only the total, so only their status is
    checked. Also the CPU its FastCGI processes took per request."""
    wf = wf_id(n)
    floor_target = floor and target.replace(floor.main_listen, floor.listen)
    expected = expected_data(url, wf)
    db_runs, svc_runs, floor_runs = [], [], []
    for _ in range(repeat):
        db_runs.append(run_pgbench(url, script, wf, c, seconds, tmp))
        svc_runs.append(mem.after(run_wrk(target, token, expected, c, seconds, tmp,
                                          mem.pids)))
        if floor:
            floor_runs.append(run_wrk(floor_target, token, "", c, seconds, tmp, floor.pids))
    errors = sum(r["errors"] for r in db_runs + svc_runs + floor_runs)
    row = {"runs": n, "clients": c,
           "db_rps": median_of(db_runs, "rps"), "db_p50": median_of(db_runs, "p50"),
           "db_p99": median_of(db_runs, "p99"),
           "svc_rps": median_of(svc_runs, "rps"), "svc_p50": median_of(svc_runs, "p50"),
           "svc_p99": median_of(svc_runs, "p99"),
           "ratio": statistics.median(s["rps"] / d["rps"] for s, d in zip(svc_runs, db_runs)),
           "svc_user_us": median_of(svc_runs, "user_us"),
           "svc_sys_us": median_of(svc_runs, "sys_us"), "errors": errors}
    line = ("N=%-8d c=%-2d  db %8.0f/s p99 %6.2f ms   service %8.0f/s p99 %6.2f ms"
            "   ratio %.2f   cpu %.0f+%.0f us" % (
                n, c, row["db_rps"], row["db_p99"], row["svc_rps"], row["svc_p99"],
                row["ratio"], row["svc_user_us"], row["svc_sys_us"]))
    if floor_runs:
        row.update({"floor_rps": median_of(floor_runs, "rps"),
                    "floor_p99": median_of(floor_runs, "p99"),
                    "floor_user_us": median_of(floor_runs, "user_us"),
                    "floor_sys_us": median_of(floor_runs, "sys_us"),
                    "floor_ratio": statistics.median(
                        f["rps"] / d["rps"] for f, d in zip(floor_runs, db_runs))})
        line += "   floor %8.0f/s p99 %6.2f ms ratio %.2f cpu %.0f+%.0f us" % (
            row["floor_rps"], row["floor_p99"], row["floor_ratio"], row["floor_user_us"],
            row["floor_sys_us"])
    print(line + "   errors %d" % errors, file=sys.stderr, flush=True)
    return row


def rollup_lines(rows, rolled, repeat):
    """The second table: each row with and without rollups, against the
    plain statement's pgbench limit."""
    lines = ["", "With rollups (scripts/rollups.sql): %d runs backfilled in %.1f s into %d "
             "bucket rows; then every row again, median of %d. The service's answers are "
             "checked against the plain statement's." % (
                 rolled["runs"], rolled["backfill_s"], rolled["buckets"], repeat),
             "",
             "| runs | clients | plain pgbench req/s | rollups pgbench req/s | service scan "
             "req/s | service rollups req/s | p50 ms | p99 ms | service rollups / plain "
             "pgbench |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for plain, roll in zip(rows, rolled["rows"]):
        lines.append("| %d | %d | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.1f |" % (
            plain["runs"], plain["clients"], plain["db_rps"], roll["db_rps"],
            plain["svc_rps"], roll["svc_rps"], roll["svc_p50"], roll["svc_p99"],
            roll["svc_rps"] / plain["db_rps"]))
    return lines


def report(rows, mem, a, seconds, repeat, took, rolled=None):
    machine = "%s, %d cores" % (time.strftime("%Y-%m-%d", time.gmtime()), os.cpu_count())
    lines = ["runs-summary vs the database's own limit (%s; %d workers%s; %d s a run, "
             "median of %d; whole bench %.0f s)" % (
                 machine, a.workers, ", through PgBouncer (transaction mode, 2 server "
                 "connections)" if a.pgbouncer else "", seconds, repeat, took),
             "",
             "| runs | clients | pgbench req/s | p50 ms | p99 ms | service req/s | p50 ms "
             "| p99 ms | service/pgbench |%s errors |" % (
                 " floor req/s | p99 ms | floor/pgbench |" if a.floor else ""),
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|%s---:|" % (
                 "---:|---:|---:|" if a.floor else "")]
    for r in rows:
        lines.append("| %d | %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f |%s %d |" % (
            r["runs"], r["clients"], r["db_rps"], r["db_p50"], r["db_p99"], r["svc_rps"],
            r["svc_p50"], r["svc_p99"], r["ratio"],
            " %.0f | %.2f | %.2f |" % (r["floor_rps"], r["floor_p99"], r["floor_ratio"])
            if a.floor else "", r["errors"]))
    lines += ["", "CPU per request of the FastCGI processes, user + system µs (/proc, "
              "median of %d; rows where a run served enough requests to tell):" % repeat,
              "",
              "| runs | clients | service user | system |%s" % (
                  " floor user | system |" if a.floor else ""),
              "|---:|---:|---:|---:|%s" % ("---:|---:|" if a.floor else "")]
    for r in (r for r in rows if not math.isnan(r["svc_user_us"])):
        us = ["–" if math.isnan(v) else "%.1f" % v for v in (
            r["svc_user_us"], r["svc_sys_us"], r.get("floor_user_us", float("nan")),
            r.get("floor_sys_us", float("nan")))]
        lines.append("| %d | %d | %s | %s |%s" % (
            r["runs"], r["clients"], us[0], us[1],
            " %s | %s |" % (us[2], us[3]) if a.floor else ""))
    if rolled:
        lines += rollup_lines(rows, rolled, repeat)
    text = "\n".join(lines + [""] + mem.lines()) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text)
    plot(rows, a.out, machine, rolled)


def plot(rows, out, machine, rolled=None):
    """Throughput and p99 against N at the largest client count; with
    rollups, their pgbench and service lines too."""
    c = max(r["clients"] for r in rows)
    both = zip(rows, rolled["rows"] if rolled else [None] * len(rows))
    data = os.path.join(out, "results.dat")
    with open(data, "w") as f:
        for r, q in both:
            if r["clients"] == c:
                f.write("%d %f %f %f %f %s\n" % (
                    r["runs"], r["db_rps"], r["svc_rps"], r["db_p99"], r["svc_p99"],
                    "%f %f %f %f" % (q["db_rps"], q["svc_rps"], q["db_p99"], q["svc_p99"])
                    if q else ""))
    extra = {k: (", \\\n     \"\" using 1:%d with linespoints title \"%s\"" % v[0] +
                 ", \\\n     \"\" using 1:%d with linespoints title \"%s\"" % v[1])
             if rolled else "" for k, v in (("rps", ((6, "pgbench, rollups"),
                                                     (7, "service, rollups"))),
                                            ("p99", ((8, "pgbench, rollups"),
                                                     (9, "service, rollups"))))}
    gp = f"""
set terminal pngcairo size 1000,420 font ",10"
set output "{out}/results.png"
set multiplot layout 1,2 title "runs-summary vs PostgreSQL alone, {c} clients ({machine})"
set logscale xy
set xlabel "runs in the workflow"
set ylabel "requests/s"
set key bottom left
plot "{data}" using 1:2 with linespoints title "pgbench (the database alone)", \\
     "" using 1:3 with linespoints title "service through nginx"{extra["rps"]}
set ylabel "p99 latency, ms"
set key top left
plot "{data}" using 1:4 with linespoints title "pgbench", \\
     "" using 1:5 with linespoints title "service"{extra["p99"]}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=gp, text=True, check=True)
    os.unlink(data)


if __name__ == "__main__":
    main()
