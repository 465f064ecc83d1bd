#!/usr/bin/env python3
"""Key sets, key rotation and the verified-token cache, against real nginx,
PostgreSQL and FastCGI workers (SPEC.md "Authentication").

The workers here verify with a JWKS only (no PEM): keys A (kid ins_a) and
B (kid ins_b), and an EC key they must skip. Rotation rewrites the file and
sends SIGHUP to each worker, under traffic.

usage: test_keys.py STATE_DIR BINARY HOST:PORT
"""
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (MINT, HeldQueries, Stack, Traffic, collect, eq, main_exit,  # noqa: E402
                     mint, mint_claims, ok, outcome, run_tests)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
WF = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f"      # scripts/seed-demo.sql
PATH = "/api/v1/workflows/%s/runs/summary" % WF
USER = "user_demo"
CACHE_ENTRIES = 8
EC_JWK = {"kty": "EC", "crv": "P-256", "kid": "ec_1", "use": "sig", "alg": "ES256",
          "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
          "y": "x_FEzRu9m36HLN_tue659LNpXW6pOyStikYjKIWI5a0"}

os.makedirs(STATE, exist_ok=True)
KEYS = {}
for name in ("a", "b", "c"):
    priv, pub = os.path.join(STATE, name + ".pem"), os.path.join(STATE, name + ".pub")
    subprocess.run([MINT, "--genkey", priv, pub], check=True)
    jwk = subprocess.run([MINT, "--jwk", pub, "ins_" + name], check=True,
                         capture_output=True, text=True).stdout
    KEYS[name] = (priv, json.loads(jwk))
JWKS = os.path.join(STATE, "jwks.json")


def write_jwks(*entries, raw=None):
    """Replaces the JWKS file at once, as a deploy would (rename)."""
    tmp = JWKS + ".tmp"
    with open(tmp, "w") as f:
        f.write(raw if raw is not None else json.dumps({"keys": list(entries)}))
    os.rename(tmp, JWKS)


write_jwks(KEYS["a"][1], EC_JWK, KEYS["b"][1])
os.environ.update({"CLERK_JWKS_FILE": JWKS, "RS_STACK_KEY_FILE": "",
                   "TOKEN_CACHE_ENTRIES": str(CACHE_ENTRIES)})
for var in ("CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES", "JWT_LEEWAY_SECONDS"):
    os.environ.pop(var, None)
S = Stack(STATE, BINARY, LISTEN)
LOG = os.path.join(STATE, "workers.log")


def token(key, kid=None, ttl=300):
    args = ["--sub", USER, "--ttl", str(ttl)]
    if kid is not None:
        args += ["--kid", kid]
    return mint(KEYS[key][0], *args)


def get(tok, rid=None):
    h = {"Authorization": "Bearer " + tok}
    if rid:
        h["X-Request-Id"] = rid
    return S.request(PATH, headers=h)


def log_lines(pattern):
    return S.log_lines(pattern)


def wait_log(pattern, count, timeout=10):
    S.wait_log(pattern, count, timeout)


def sighup_all():
    for pid in S.worker_pids:
        os.kill(pid, signal.SIGHUP)


def log_time(line):
    """The ts= of a log line, as seconds since the epoch."""
    stamp = re.search(r"ts=(\S+)Z", line).group(1)
    return (dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.timezone.utc)
            .timestamp())


def served_after(t, until_event=None):
    """Per worker, the requests it logged after time t (and before its
    until_event line, when given)."""
    count = {}
    for pid in S.worker_pids:
        n = 0
        for ln in log_lines(r"pid=%d " % pid):
            if log_time(ln) <= t:
                continue
            if until_event and until_event in ln:
                break
            n += "request_id=" in ln
        count[pid] = n
    return count


T_A, T_B = token("a", "ins_a"), token("b", "ins_b")

# ---- JWKS: choosing the key by kid -------------------------------------


def test_jwks_token_with_its_kid_passes():
    eq(outcome(get(T_A)), 200, "key A, kid ins_a")


def test_jwks_second_key_passes():
    eq(outcome(get(T_B)), 200, "key B, kid ins_b")


def test_jwks_unknown_kid_is_401():
    eq(outcome(get(token("a", "ins_zzz"))), "INVALID_TOKEN", "unknown kid")


def test_jwks_kid_of_another_key_is_401():
    eq(outcome(get(token("a", "ins_b"))), "INVALID_TOKEN", "key A under B's kid")


def test_jwks_only_token_without_kid_is_401():
    eq(outcome(get(token("a"))), "INVALID_TOKEN", "no kid, no PEM")


def test_jwks_kid_of_the_skipped_ec_key_is_401():
    eq(outcome(get(token("a", "ec_1"))), "INVALID_TOKEN", "kid of the EC key")


def test_jwks_non_rsa_key_skipped_and_logged():
    lines = log_lines(r'event=jwks_key_skipped kid="ec_1" reason="kty is not RSA"')
    eq(len(lines), len(S.worker_pids), "one skip line per worker")


def test_jwks_refusal_reason_is_logged_not_answered():
    r = get(token("a", "ins_zzz"), rid="kid-unknown-1")
    eq(r.json()["error"]["message"], "The session token is invalid or expired", "message")
    wait_log(r"kid-unknown-1 .*reason=\"token's kid is not in the key set\"", 1)

# ---- the verified-token cache ------------------------------------------


def test_cache_second_use_is_a_hit():
    tok = token("b", "ins_b")
    for i in range(6):
        eq(outcome(get(tok, rid="hit-%d" % i)), 200, "request %d" % i)
    wait_log(r"request_id=hit-\d .*token_cache=hit", 1)
    eq(len(log_lines(r"request_id=hit-\d .*token_cache=miss")) <= len(S.worker_pids), True,
       "at most one miss per worker")


def test_cache_hit_after_expiry_refused():
    # exp 2 s ago: valid within the 5 s leeway for 3 more seconds.
    now = int(time.time())
    tok = mint_claims(KEYS["a"][0], {"exp": now - 2, "iat": now - 62, "sub": USER},
                      header={"alg": "RS256", "typ": "JWT", "kid": "ins_a"})
    served = set()
    for i in range(40):
        eq(outcome(get(tok, rid="exp-pre-%d" % i)), 200, "before expiry")
        served |= {m.group(1) for m in (re.search(r"pid=(\d+)", ln)
                                        for ln in log_lines("request_id=exp-pre-"))}
        if len(served) == len(S.worker_pids):
            break
    time.sleep(max(0.0, now + 3.2 - time.time()))
    for i in range(12):
        eq(outcome(get(tok, rid="exp-post-%d" % i)), "INVALID_TOKEN", "after expiry")
    hits = log_lines(r'request_id=exp-post-\d+ .*token_cache=hit reason="token expired"')
    ok(len(hits) >= 1, "a cached token past exp + leeway is refused by the cache check")
    ok(not log_lines(r"request_id=exp-post-\d+ .*status=200"), "no 200 after expiry")


def test_cache_bounded_answers_stay_right_under_eviction():
    """Many more distinct tokens than the cache holds, of a member (200)
    and of a stranger (404), interleaved: each is verified or found, and
    never answered as another token's caller."""
    n = 20 * CACHE_ENTRIES

    def minted(sub):
        out = subprocess.run([MINT, "--key", KEYS["a"][0], "--kid", "ins_a", "--sub", sub,
                              "--count", str(n)], check=True, capture_output=True,
                             text=True).stdout.split()
        eq(len(out), n, "tokens minted")
        return out
    member, stranger = minted(USER), minted("user_stranger")
    misses = len(log_lines("token_cache=miss"))
    for rnd in range(2):
        for i in range(n):
            eq(outcome(get(member[i])), 200, "round %d member token %d" % (rnd, i))
            eq(outcome(get(stranger[i])), "NOT_FOUND", "round %d stranger %d" % (rnd, i))
    misses = len(log_lines("token_cache=miss")) - misses
    ok(misses >= 4 * n - 2 * len(S.worker_pids) * CACHE_ENTRIES,
       "%d misses: the cache held more than its %d entries" % (misses, CACHE_ENTRIES))

# ---- rotation: SIGHUP ----------------------------------------------------


def test_rotation_under_traffic_new_key_passes_removed_key_fails():
    T_C = token("c", "ins_c")
    before = len(log_lines("event=reloaded"))
    with Traffic(S, PATH, {"a": T_A, "b": T_B, "c": T_C}, 4.0) as tr:
        time.sleep(1.0)
        with HeldQueries(S, 1.5):
            t_hup, t_sig = time.monotonic(), time.time()
            write_jwks(KEYS["b"][1], KEYS["c"][1])
            sighup_all()
        wait_log("event=reloaded pem=no jwks_keys=2", before + len(S.worker_pids))
        t_done = time.monotonic()
    # Connections queued while the queries were held: each worker still
    # finishes only the request it had, then reloads before the next.
    for pid, n in served_after(t_sig, "event=reloaded").items():
        ok(n <= 1, "worker %d served %d requests between SIGHUP and its reload" % (pid, n))
    res = tr.results
    bad = [r for r in res if r[3] not in (200, "INVALID_TOKEN")]
    eq(bad, [], "responses other than 200 or 401 INVALID_TOKEN")
    eq([r for r in res if r[2] == "b" and r[3] != 200], [], "key B kept in both sets failed")
    # Before the signal: the old set. After every worker reloaded: the new.
    old = [r for r in res if r[1] < t_hup]
    new = [r for r in res if r[0] > t_done]
    ok(old and new, "traffic on both sides of the reload")
    eq({(r[2], r[3]) for r in old}, {("a", 200), ("b", 200), ("c", "INVALID_TOKEN")}, "before")
    eq({(r[2], r[3]) for r in new}, {("a", "INVALID_TOKEN"), ("b", 200), ("c", 200)}, "after")


def test_reload_with_bad_keys_keeps_the_old_ones():
    T_C = token("c", "ins_c")
    for raw, why in (('{"keys": [', "not a JSON document"),
                     ('{"keys": []}', "no RSA signing key"),
                     (json.dumps({"keys": [EC_JWK]}), "no RSA signing key")):
        before = len(log_lines("event=reload_failed"))
        write_jwks(raw=raw)
        sighup_all()
        wait_log("event=reload_failed", before + len(S.worker_pids))
        ok(log_lines(r'reload_failed reason="CLERK_JWKS_FILE %s: %s' % (
            re.escape(JWKS), why)), "reason names the file and the problem: " + why)
        for _ in range(4):
            eq(outcome(get(T_B)), 200, "B still passes")
            eq(outcome(get(T_C)), 200, "C still passes")
            eq(outcome(get(T_A)), "INVALID_TOKEN", "A still refused")
    for pid in S.worker_pids:
        ok(os.path.exists("/proc/%d" % pid), "worker %d alive" % pid)


def test_reload_with_missing_file_keeps_the_old_ones():
    before = len(log_lines("event=reload_failed"))
    os.unlink(JWKS)
    sighup_all()
    wait_log("event=reload_failed", before + len(S.worker_pids))
    ok(log_lines("reload_failed reason=\"CLERK_JWKS_FILE %s: No such file"
                 % re.escape(JWKS)), "missing file named")
    eq(outcome(get(T_B)), 200, "B still passes")


def test_reload_back_to_the_first_set():
    before = len(log_lines("event=reloaded"))
    write_jwks(KEYS["a"][1], EC_JWK, KEYS["b"][1])
    sighup_all()
    wait_log("event=reloaded pem=no jwks_keys=2", before + len(S.worker_pids))
    eq(outcome(get(T_A)), 200, "A passes again")
    eq(outcome(get(token("c", "ins_c"))), "INVALID_TOKEN", "C refused again")


def test_stop_signals_end_workers_between_requests_under_load():
    """SIGTERM and SIGUSR1 (the FastCGI stop signal) each end a worker
    after the request it is serving, though connections queue for it."""
    with Traffic(S, PATH, {"b": T_B}, 4.0) as tr:
        time.sleep(0.5)
        with HeldQueries(S, 1.5):
            t_sig = time.time()
            os.kill(S.worker_pids[0], signal.SIGTERM)
            os.kill(S.worker_pids[1], signal.SIGUSR1)
        wait_log('event=worker_exit reason="SIGTERM"', 1)
        wait_log('event=worker_exit reason="SIGUSR1"', 1)
    for pid, n in served_after(t_sig).items():
        ok(n <= 1, "worker %d served %d requests after its stop signal" % (pid, n))
    # Every request the workers took was answered whole; what came after
    # they left is nginx's 503, never a cut-off or garbled response.
    eq({r[3] for r in tr.results} - {200, "SERVICE_UNAVAILABLE"}, set(), "outcomes")
    ok(any(r[3] == 200 for r in tr.results), "served before the stop")


if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "keys"))
