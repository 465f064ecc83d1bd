#!/usr/bin/env python3
"""CGI mode and start-up: the binary run directly with a request in its
environment (SPEC.md "Running modes"), against a real PostgreSQL.

usage: test_cgi.py STATE_DIR BINARY
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (MINT, collect, eq, main_exit, mint, ok, read_env, run_tests,  # noqa: E402
                     stack_up)

STATE, BINARY = sys.argv[1], sys.argv[2]
stack_up(STATE, "--db-only")
ENV = read_env(STATE)
WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
SUMMARY = "/api/v1/workflows/%s/runs/summary" % WF
TOKEN = mint(ENV["RS_KEY"], "--sub", "user_demo", "--ttl", "3600")   # valgrind is slow
BASE = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": ENV["DATABASE_URL"], "CLERK_JWT_KEY_FILE": ENV["RS_PUBKEY"],
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
        "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "")}


def cgi(extra=None, args=(), drop=()):
    env = dict(BASE)
    env.update({"REQUEST_METHOD": "GET", "DOCUMENT_URI": SUMMARY, "QUERY_STRING": "",
                "HTTP_AUTHORIZATION": "Bearer " + TOKEN, "HTTP_X_REQUEST_ID": "cgi-1"})
    env.update(extra or {})
    for k in drop:
        env.pop(k, None)
    p = subprocess.run([BINARY, *args], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    return p


def parse(p):
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


def test_cgi_answers_summary_with_status_line():
    p = cgi()
    eq(p.returncode, 0, "exit status")
    status, headers, body = parse(p)
    eq(status, "Status: 200 OK", "status line")
    eq(headers["Content-Type"], "application/json", "Content-Type")
    eq(headers["Cache-Control"], "no-store", "Cache-Control")
    eq(headers["X-Request-Id"], "cgi-1", "X-Request-Id")
    eq(int(headers["Content-Length"]), len(body), "Content-Length")
    ok(body.startswith(b'{"data":{"total_runs":1000,'), body[:80])


def test_cgi_path_from_script_name_and_path_info():
    p = cgi({"SCRIPT_NAME": "/api/v1/workflows", "PATH_INFO": "/%s/runs/summary" % WF},
            drop=("DOCUMENT_URI",))
    eq(parse(p)[0], "Status: 200 OK", "status line")


def test_cgi_path_from_request_uri_without_query():
    p = cgi({"REQUEST_URI": SUMMARY.replace("summary", "summ%61ry") + "?from=&x=1"},
            drop=("DOCUMENT_URI",))
    eq(parse(p)[0], "Status: 200 OK", "status line")


def test_cgi_404_for_a_path_that_is_not_the_route():
    for other in ("/", "/api/v1/workflows//runs/summary", SUMMARY + "/",
                  "/api/v1/workflows/%s/runs" % WF, "/api/v2/workflows/%s/runs/summary" % WF,
                  "/api/v1/workflows/a/b/runs/summary"):
        status, _, body = parse(cgi({"DOCUMENT_URI": other}))
        eq(status, "Status: 404 Not Found", "status for %s" % other)
        ok(b'"code":"NOT_FOUND"' in body, body)


def test_cgi_405_comes_before_404():
    status, headers, _ = parse(cgi({"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/nope"}))
    eq(status, "Status: 405 Method Not Allowed", "status")
    eq(headers["Allow"], "GET, HEAD", "Allow")


def test_cgi_head_has_no_body():
    status, headers, body = parse(cgi({"REQUEST_METHOD": "HEAD"}))
    eq(status, "Status: 200 OK", "status")
    eq(body, b"", "body")
    ok(int(headers["Content-Length"]) > 100, "Content-Length of the GET body")


def test_cgi_503_when_database_unreachable():
    t0 = time.monotonic()
    status, headers, body = parse(cgi({"DATABASE_URL": "host=/nonexistent-dir port=5432"}))
    eq(status, "Status: 503 Service Unavailable", "status")
    eq(headers["Retry-After"], "1", "Retry-After")
    ok(b"nonexistent" not in body, "nothing internal in the body")
    ok(time.monotonic() - t0 < 5, "quick")


def locked(fn):
    """Runs fn while another session holds an exclusive lock on workflow_runs."""
    locker = subprocess.Popen(["psql", ENV["DATABASE_URL"], "-qX"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        # Idle in its transaction: the lock goes as soon as psql does.
        locker.stdin.write("BEGIN; LOCK TABLE workflow_runs IN ACCESS EXCLUSIVE MODE;\n")
        locker.stdin.flush()
        time.sleep(0.5)
        return fn()
    finally:
        locker.kill()
        locker.wait()
        subprocess.run(["psql", ENV["DATABASE_URL"], "-qXAt", "-c",
                        "SET lock_timeout = '5s'; SELECT count(*) FROM workflow_runs"],
                       check=True, capture_output=True)


def test_cgi_503_when_the_query_times_out():
    def run():
        t0 = time.monotonic()
        p = cgi({"DB_STATEMENT_TIMEOUT_MS": "300"})
        return p, time.monotonic() - t0
    p, took = locked(run)
    status, headers, body = parse(p)
    eq(status, "Status: 503 Service Unavailable", "status")
    eq(headers["Retry-After"], "1", "Retry-After")
    ok(took < 2.5, "answered within the budget, took %.2f s" % took)
    ok(b'reason="statement timeout"' in p.stderr, "the server ended it: %r" % p.stderr)
    eq(parse(cgi())[0], "Status: 200 OK", "200 once the lock is gone")


def test_cgi_500_without_schema_says_nothing_internal():
    url = ENV["DATABASE_URL"].replace("dbname=runs_summary", "dbname=postgres")
    status, _, body = parse(cgi({"DATABASE_URL": url}))
    eq(status, "Status: 500 Internal Server Error", "status")
    ok(b'"code":"INTERNAL_ERROR","message":"Internal server error","details":null' in body, body)
    ok(b"workflow" not in body and b"relation" not in body, "nothing internal")


def test_start_refused_without_a_key_source():
    p = cgi(drop=("CLERK_JWT_KEY_FILE",))
    eq(p.returncode, 1, "exit status")
    eq(p.stdout, b"", "no response")
    for var in (b"CLERK_JWT_KEY ", b"CLERK_JWT_KEY_FILE", b"CLERK_JWKS_FILE"):
        ok(var in p.stderr, p.stderr)


def test_start_refused_with_a_key_that_is_not_a_public_pem():
    p = cgi({"CLERK_JWT_KEY_FILE": ENV["RS_KEY"] + ".missing"})
    eq(p.returncode, 1, "missing file")
    ok(b"CLERK_JWT_KEY_FILE" in p.stderr, p.stderr)
    p = cgi({"CLERK_JWT_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"},
            drop=("CLERK_JWT_KEY_FILE",))
    eq(p.returncode, 1, "garbage PEM")
    ok(b"CLERK_JWT_KEY: not an RSA public key" in p.stderr, p.stderr)

# ---- a PEM and a JWKS together (SPEC.md "Authentication") ------------------

KEY_A = os.path.join(STATE, "jwks-a.pem")
subprocess.run([MINT, "--genkey", KEY_A, KEY_A + ".pub"], check=True)
JWK_A = json.loads(subprocess.run([MINT, "--jwk", KEY_A + ".pub", "ins_a"], check=True,
                                  capture_output=True, text=True).stdout)


def jwks_file(name, content):
    path = os.path.join(STATE, name)
    with open(path, "w") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


JWKS_A = jwks_file("jwks-a.json", {"keys": [JWK_A]})


def cgi_status(token, extra=None, drop=()):
    env = {"HTTP_AUTHORIZATION": "Bearer " + token}
    env.update(extra or {})
    p = cgi(env, drop=drop)
    eq(p.returncode, 0, "exit status; stderr: %r" % p.stderr[-300:])
    return parse(p)[0]


OK, REFUSED = "Status: 200 OK", "Status: 401 Unauthorized"


def test_pem_and_jwks_kid_in_set_uses_the_set_key():
    eq(cgi_status(mint(KEY_A, "--kid", "ins_a"), {"CLERK_JWKS_FILE": JWKS_A}), OK, "A by kid")


def test_pem_and_jwks_without_kid_uses_the_pem():
    both = {"CLERK_JWKS_FILE": JWKS_A}
    eq(cgi_status(TOKEN, both), OK, "PEM token without kid")
    eq(cgi_status(mint(KEY_A), both), REFUSED, "set key without kid is checked by the PEM")


def test_pem_and_jwks_unknown_kid_uses_the_pem():
    both = {"CLERK_JWKS_FILE": JWKS_A}
    eq(cgi_status(mint(ENV["RS_KEY"], "--kid", "ins_other"), both), OK, "PEM, unknown kid")
    eq(cgi_status(mint(KEY_A, "--kid", "ins_other"), both), REFUSED, "A under unknown kid")


def test_pem_alone_ignores_kid():
    eq(cgi_status(mint(ENV["RS_KEY"], "--kid", "ins_anything")), OK, "kid ignored")


def test_jwks_alone_starts_and_needs_kid():
    only = {"CLERK_JWKS_FILE": JWKS_A}
    eq(cgi_status(mint(KEY_A, "--kid", "ins_a"), only, drop=("CLERK_JWT_KEY_FILE",)), OK,
       "JWKS only, right kid")
    eq(cgi_status(mint(KEY_A), only, drop=("CLERK_JWT_KEY_FILE",)), REFUSED, "no kid")


def start_refused(content, message):
    path = jwks_file("bad.json", content) if content is not None else STATE + "/none.json"
    p = cgi({"CLERK_JWKS_FILE": path}, drop=("CLERK_JWT_KEY_FILE",))
    eq(p.returncode, 1, "exit status")
    eq(p.stdout, b"", "no response")
    want = ("runs-summary: CLERK_JWKS_FILE %s: %s" % (path, message)).encode()
    last = p.stderr.rstrip(b"\n").split(b"\n")[-1]
    ok(last.startswith(want), "stderr %r, want its last line to start with %r"
       % (p.stderr, want))


def test_start_refused_with_a_malformed_jwks_naming_file_and_problem():
    start_refused('{"keys": [', "not a JSON document")
    start_refused("[]", 'not a JWKS: expected {"keys": [...]}')
    start_refused({"keys": {}}, 'not a JWKS')
    start_refused({"keys": ["x"]}, "keys[0] is not an object")
    start_refused({"keys": [{**JWK_A, "kid": ""}]}, "keys[0]: an RSA key needs a kid")
    start_refused({"keys": [JWK_A, JWK_A]}, 'keys[1]: kid "ins_a" appears twice')
    start_refused({"keys": [{**JWK_A, "n": "!!"}]}, 'keys[0] (kid "ins_a"): n and e are not')
    start_refused({"keys": [{"kty": "EC", "kid": "e"}]}, "no RSA signing key in it")
    start_refused(None, "No such file or directory")


def test_start_logs_skipped_jwks_keys():
    doc = {"keys": [{"kty": "oct", "kid": "hmac_1", "k": "c2VjcmV0"},
                    {**JWK_A, "kid": "enc_1", "use": "enc"}, JWK_A]}
    p = cgi({"CLERK_JWKS_FILE": jwks_file("mixed.json", doc),
             "HTTP_AUTHORIZATION": "Bearer " + mint(KEY_A, "--kid", "ins_a")})
    eq(parse(p)[0], OK, "the RSA key still works")
    ok(b'event=jwks_key_skipped kid="hmac_1" reason="kty is not RSA"' in p.stderr, p.stderr)
    ok(b'event=jwks_key_skipped kid="enc_1" reason="use is not sig"' in p.stderr, p.stderr)


def test_start_refused_with_an_empty_issuer_or_party_list():
    for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES"):
      for value in (" , ", ""):
        p = cgi({var: value})
        eq(p.returncode, 1, "exit status for %s=%r" % (var, value))
        ok(var.encode() + b" is set but names no value" in p.stderr, p.stderr)


def test_start_refused_with_a_malformed_database_url():
    p = cgi({"DATABASE_URL": "postgresql://host:notaport/db?sslmode"})
    eq(p.returncode, 1, "exit status")
    ok(p.stderr.startswith(b"runs-summary: DATABASE_URL: "), p.stderr)


def test_database_url_options_keep_the_statement_timeout():
    # The caller's own options= must not drop the server-side timeout.
    url = ENV["DATABASE_URL"] + " options='-c search_path=public'"

    def run():
        t0 = time.monotonic()
        p = cgi({"DATABASE_URL": url, "DB_STATEMENT_TIMEOUT_MS": "300"})
        return p, time.monotonic() - t0
    p, took = locked(run)
    eq(parse(p)[0], "Status: 503 Service Unavailable", "status")
    ok(took < 2.5, "took %.2f s" % took)
    ok(b'reason="statement timeout"' in p.stderr, "the server ended it: %r" % p.stderr)
    eq(parse(cgi({"DATABASE_URL": url}))[0], "Status: 200 OK", "options kept working")


def test_key_inline_with_escaped_newlines():
    with open(ENV["RS_PUBKEY"]) as f:
        pem = f.read()
    p = cgi({"CLERK_JWT_KEY": pem.replace("\n", "\\n")}, drop=("CLERK_JWT_KEY_FILE",))
    eq(parse(p)[0], "Status: 200 OK", "escaped newlines")
    p = cgi({"CLERK_JWT_KEY": pem}, drop=("CLERK_JWT_KEY_FILE",))
    eq(parse(p)[0], "Status: 200 OK", "real newlines")


def test_leeway_setting_is_honoured():
    now = int(time.time())
    tok = mint(ENV["RS_KEY"], "--claims",
               '{"exp":%d,"sub":"user_demo","azp":"x","iss":"y"}' % (now - 2))
    eq(parse(cgi({"HTTP_AUTHORIZATION": "Bearer " + tok}))[0], "Status: 200 OK", "default 5 s")
    eq(parse(cgi({"HTTP_AUTHORIZATION": "Bearer " + tok, "JWT_LEEWAY_SECONDS": "0"}))[0],
       "Status: 401 Unauthorized", "leeway 0")


def test_bad_setting_is_refused_at_start():
    p = cgi({"JWT_LEEWAY_SECONDS": "5s"})
    eq(p.returncode, 1, "exit status")
    ok(b"JWT_LEEWAY_SECONDS" in p.stderr, p.stderr)


def test_help_and_version():
    p = cgi(args=("--help",))
    eq(p.returncode, 0, "--help exit")
    for name in (b"DATABASE_URL", b"CLERK_JWT_KEY", b"CLERK_JWT_KEY_FILE", b"CLERK_ISSUER",
                 b"CLERK_AUTHORIZED_PARTIES", b"JWT_LEEWAY_SECONDS", b"spawn-fcgi"):
        ok(name in p.stdout, "--help mentions %r" % name)
    p = cgi(args=("--version",))
    ok(p.returncode == 0 and p.stdout.startswith(b"runs-summary "), p.stdout)


if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "cgi"))
