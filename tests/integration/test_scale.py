#!/usr/bin/env python3
"""Several pools behind one nginx (issue 8 §3): an nginx upstream of two
worker pools, each the program's own supervisor on its own socket, as two
hosts would run them. Requests are spread over both; stopping one pool
under load, gracefully or with SIGKILL, costs no request: nginx retries
a GET on the other pool (fastcgi_next_upstream), as README's "Deploying
at scale" configures it.

usage: test_scale.py STATE_DIR BINARY HOST:PORT   (uses PORT and PORT+1)
"""
import grp
import os
import pwd
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Stack, Traffic, collect, eq, main_exit, mint, ok,  # noqa: E402
                     run_tests, wait_until)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES", "CLERK_JWKS_FILE", "FCGI_MAX_REQUESTS",
            "RS_STACK_KEY_FILE", "RUNS_SUMMARY_CONFIG"):
    os.environ.pop(var, None)
S = Stack(STATE, BINARY, LISTEN, pool="supervisor", workers=2)
HOST, PORT = LISTEN.split(":")
FRONT_PORT = int(PORT) + 1
WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
PATH = "/api/v1/workflows/%s/runs/summary" % WF
TOKEN = mint(S.key, "--sub", "user_demo", "--ttl", "3600")
FRONT = os.path.join(os.path.abspath(STATE), "front")
POOL_B = os.path.join(os.path.abspath(STATE), "b")

# The upstream and location of README's "Deploying at scale", on this
# stack's pool (A) and a second one (B).
NGINX_CONF = """
user %(user)s;
worker_processes 1;
daemon off;
pid %(front)s/nginx.pid;
error_log %(front)s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(front)s/tmp;
    fastcgi_temp_path %(front)s/tmp;
    upstream runs_summary {
        server unix:%(a)s max_fails=1 fail_timeout=2s;
        server unix:%(b)s max_fails=1 fail_timeout=2s;
    }
    server {
        listen %(host)s:%(port)d;
        location ~ ^/api/v1/workflows/[^/]+/runs/summary$ {
            include %(fastcgi_params)s;
            fastcgi_pass runs_summary;
            fastcgi_keep_conn off;
            fastcgi_next_upstream error timeout invalid_header;
            fastcgi_next_upstream_tries 2;
            fastcgi_next_upstream_timeout 5s;
            fastcgi_connect_timeout 2s;
            fastcgi_read_timeout 30s;
        }
    }
}
"""


class Front:
    """nginx with the two-pool upstream; requests as Stack.request."""
    host, port = HOST, FRONT_PORT
    request = Stack.request


def start_pool_b():
    os.makedirs(POOL_B, exist_ok=True)
    env = dict(os.environ, DATABASE_URL=S.dburl, CLERK_JWT_KEY_FILE=S.pubkey,
               ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:log_path=%s/asan" % STATE)
    log = open(os.path.join(POOL_B, "workers.log"), "ab")
    p = subprocess.Popen([BINARY, "--listen", "unix:%s/sock" % POOL_B, "--workers", "2"],
                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=log)
    wait_until(lambda: open(os.path.join(POOL_B, "workers.log")).read().count(
        "event=worker_ready") >= 2 or p.poll() is not None, "pool B ready", timeout=15)
    ok(p.poll() is None, "pool B running")
    return p


def start_front():
    os.makedirs(os.path.join(FRONT, "tmp"), exist_ok=True)
    with open(os.path.join(FRONT, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF % {"user": "%s %s" % (pwd.getpwuid(os.getuid()).pw_name,
                                                  grp.getgrgid(os.getgid()).gr_name),
                              "front": FRONT, "a": S.env["RS_SOCKET"], "b": POOL_B + "/sock",
                              "host": HOST, "port": FRONT_PORT,
                              "fastcgi_params": os.path.join(os.path.abspath(STATE),
                                                             "fastcgi_params")})
    p = subprocess.Popen(["nginx", "-p", FRONT, "-c", os.path.join(FRONT, "nginx.conf")],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def up():
        try:
            return Front().request("/").status == 404
        except OSError:
            return False
    wait_until(up, "the two-pool nginx", timeout=10)
    return p


def served(log):
    with open(log) as f:
        return len(re.findall(r"status=200", f.read()))


def stop(p, sig):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


B = start_pool_b()
NGINX = start_front()


def get():
    return Front().request(PATH, headers={"Authorization": "Bearer " + TOKEN})


def test_both_pools_serve():
    a0, b0 = served(os.path.join(STATE, "workers.log")), served(POOL_B + "/workers.log")
    for _ in range(40):
        eq(get().status, 200, "status")
    a1, b1 = served(os.path.join(STATE, "workers.log")), served(POOL_B + "/workers.log")
    ok(a1 - a0 > 0 and b1 - b0 > 0, "both pools answered (A %d, B %d)" % (a1 - a0, b1 - b0))


def check_no_failures(tr):
    bad = tr.failures()
    ok(not bad, "%d of %d requests failed, e.g. %r" % (len(bad), len(tr.results), bad[:3]))
    ok(len(tr.results) >= 50, "requests answered (%d)" % len(tr.results))


def load_while(action):
    """6 clients for 4 s through the front; action() at 1.5 s."""
    with Traffic(Front(), PATH, {"jwt": TOKEN}, seconds=4, clients=6) as tr:
        time.sleep(1.5)
        action()
    return tr


def test_pool_stopped_gracefully_under_load_costs_no_request():
    global B
    tr = load_while(lambda: stop(B, signal.SIGTERM))
    check_no_failures(tr)
    before = served(POOL_B + "/workers.log")
    for _ in range(10):
        eq(get().status, 200, "after the stop")
    eq(served(POOL_B + "/workers.log"), before, "nothing served by the stopped pool")
    B = start_pool_b()


def test_pool_killed_under_load_costs_no_request():
    """SIGKILL to pool B's supervisor and workers while it serves: the
    requests in flight on it are cut, connections to it refused, and nginx
    retries each on A."""
    b_log = POOL_B + "/workers.log"
    n0 = served(b_log)
    wait_until(lambda: get().status == 200 and served(b_log) > n0, "pool B serving again",
               timeout=10)
    errors0 = len(open(os.path.join(FRONT, "error.log")).read().splitlines())
    n1 = served(b_log)

    def kill_b():
        for line in subprocess.run(["pgrep", "-P", str(B.pid)], capture_output=True,
                                   text=True).stdout.split():
            os.kill(int(line), signal.SIGKILL)
        B.kill()
    tr = load_while(kill_b)
    B.wait()
    check_no_failures(tr)
    ok(served(b_log) > n1, "pool B served part of the load before it was killed")
    cut = [ln for ln in open(os.path.join(FRONT, "error.log")).read().splitlines()[errors0:]
           if "b/sock" in ln]
    ok(cut, "nginx met the dead pool (and retried on the other): no error logged for it")


def test_zz_stop_the_front():
    stop(NGINX, signal.SIGQUIT)
    stop(B, signal.SIGTERM)


if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "scale"))
