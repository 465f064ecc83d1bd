#!/usr/bin/env python3
"""Integration tests: real PostgreSQL 15, real nginx, spawn-fcgi workers.

One named test per row of SPEC.md's error table and per input rule; exact
status, headers and body. Expected numbers come from the fixture list in
this file (Python arithmetic), never from the service's SQL.

usage: test_api.py STATE_DIR BINARY HOST:PORT
"""
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ROLLUPS, Stack, collect, eq, main_exit, mint, mint_claims,  # noqa: E402
                     new_id, ok, run_tests, ROOT)

ISS = "https://clerk.example.test"
AZP = "http://localhost:3000"
os.environ["CLERK_ISSUER"] = "https://other.example.test, " + ISS
os.environ["CLERK_AUTHORIZED_PARTIES"] = AZP
os.environ.pop("JWT_LEEWAY_SECONDS", None)

STATE, BINARY, LISTEN = sys.argv[1], sys.argv[2], sys.argv[3]
S = Stack(STATE, BINARY, LISTEN)

UTC = dt.timezone.utc
US = 1_000_000


def ts(us):
    """Microseconds since the epoch -> an ISO 8601 literal for SQL."""
    return (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=us)).isoformat()


def us_of(text):
    d = dt.datetime.fromisoformat(text)
    return (d - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


# ---- fixtures ---------------------------------------------------------------
WS_A, WS_B, WS_DEL = new_id(), new_id(), new_id()
WF, WF_PENDING, WF_NODUR, WF_SOFTDEL, WF_IN_DELWS, WF_B = (new_id() for _ in range(6))
ALICE, BOB = "user_alice", "user_bob"

FROM = us_of("2024-03-01T00:00:00+00:00")
TO = us_of("2024-03-31T23:59:59.999999+00:00")

# (status, created_at, started_at, completed_at), microseconds or None.
RUNS = [
    ("completed", FROM, FROM + 1 * US, FROM + 3 * US + 250_000),         # on `from`
    ("completed", TO, TO - 10 * US, TO - 1),                              # on `to`
    ("completed", FROM - 1, FROM - 1, FROM + 100 * US),                   # 1 µs before
    ("failed", TO + 1, TO + 1, TO + 5 * US),                               # 1 µs after
    ("completed", FROM + 86400 * US, FROM + 86400 * US + 1, FROM + 86400 * US + 4),  # 3 µs
    ("completed", FROM + 2 * 86400 * US, None, FROM + 2 * 86400 * US + 9 * US),     # no start
    ("completed", FROM + 3 * 86400 * US, FROM + 3 * 86400 * US, None),              # no end
    ("completed", FROM + 4 * 86400 * US, FROM + 4 * 86400 * US, FROM + 4 * 86400 * US + 7_123_457),
    ("failed", FROM + 5 * 86400 * US, FROM + 5 * 86400 * US, FROM + 5 * 86400 * US + 2 * US),
    ("failed", FROM + 6 * 86400 * US, None, None),
    ("cancelled", FROM + 7 * 86400 * US, None, None),
    ("pending", FROM + 8 * 86400 * US, None, None),
    ("pending", FROM + 8 * 86400 * US, None, None),                        # same created_at
    ("running", FROM + 9 * 86400 * US, FROM + 9 * 86400 * US, None),
    ("paused", FROM + 10 * 86400 * US, FROM + 10 * 86400 * US, None),
    ("paused", FROM + 11 * 86400 * US, FROM + 11 * 86400 * US, None),
    ("completed", us_of("2023-06-01T12:00:00+00:00"), us_of("2023-06-01T12:00:00+00:00"),
     us_of("2023-06-01T12:10:00.5+00:00")),
]


def expected(runs, lo=None, hi=None):
    sel = [r for r in runs if (lo is None or r[1] >= lo) and (hi is None or r[1] <= hi)]
    n = {s: sum(1 for r in sel if r[0] == s)
         for s in ("pending", "running", "completed", "failed", "cancelled", "paused")}
    terminal = n["completed"] + n["failed"] + n["cancelled"]
    durs = [r[3] - r[2] for r in sel if r[0] == "completed" and r[2] is not None
            and r[3] is not None]
    return {
        "total_runs": len(sel), "completed": n["completed"], "failed": n["failed"],
        "cancelled": n["cancelled"], "pending": n["pending"], "running": n["running"],
        "paused": n["paused"],
        "pass_rate": n["completed"] / terminal if terminal else None,
        "average_duration_seconds": float(Fraction(sum(durs), len(durs) * US)) if durs else None,
    }


def insert_runs(wf, runs):
    rows = ",".join("('%s','%s','%s',%s,%s)" % (
        wf, st, ts(c), "'%s'" % ts(s) if s is not None else "NULL",
        "'%s'" % ts(e) if e is not None else "NULL") for st, c, s, e in runs)
    S.sql("INSERT INTO workflow_runs (workflow_id, status, created_at, started_at, "
          "completed_at) VALUES " + rows)


S.sql(f"""
INSERT INTO workspaces (id, name, deleted_at) VALUES
  ('{WS_A}', 'A', NULL), ('{WS_B}', 'B', NULL), ('{WS_DEL}', 'Deleted', now());
INSERT INTO workspace_members VALUES
  ('{WS_A}', '{ALICE}', 'viewer'), ('{WS_B}', '{BOB}', 'admin'),
  ('{WS_DEL}', '{ALICE}', 'admin');
INSERT INTO workflows (id, workspace_id, name, deleted_at) VALUES
  ('{WF}', '{WS_A}', 'main', NULL), ('{WF_PENDING}', '{WS_A}', 'pending', NULL),
  ('{WF_NODUR}', '{WS_A}', 'no durations', NULL),
  ('{WF_SOFTDEL}', '{WS_A}', 'gone', now()),
  ('{WF_IN_DELWS}', '{WS_DEL}', 'in deleted ws', NULL), ('{WF_B}', '{WS_B}', 'b', NULL);
""")
insert_runs(WF, RUNS)
insert_runs(WF_PENDING, [("pending", FROM, None, None), ("running", FROM, FROM, None)])
insert_runs(WF_NODUR, [("completed", FROM, None, None), ("failed", FROM, FROM, FROM + US)])
insert_runs(WF_SOFTDEL, [("completed", FROM, FROM, FROM + US)])
insert_runs(WF_IN_DELWS, [("completed", FROM, FROM, FROM + US)])
insert_runs(WF_B, [("completed", FROM, FROM, FROM + US)])
S.sql("VACUUM ANALYZE workflow_runs")

TOKEN = mint(S.key, "--sub", ALICE, "--iss", ISS, "--azp", AZP)
RID = "it-req.1:a_b-c"


def path(wf=WF, query=""):
    return "/api/v1/workflows/%s/runs/summary%s" % (wf, ("?" + query) if query else "")


def get(p, token=TOKEN, headers=None, method="GET"):
    h = {"X-Request-Id": RID}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    return S.request(p, method=method, headers=h)


TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def check_common(r, status, rid=RID):
    eq(r.status, status, "status")
    eq(r.headers.get("content-type"), "application/json", "Content-Type")
    eq(r.headers.get("cache-control"), "no-store", "Cache-Control")
    eq(r.headers.get("x-request-id"), rid, "X-Request-Id")
    eq(int(r.headers.get("content-length", "-1")), len(r.body), "Content-Length")
    body = r.json()
    eq(body["meta"]["request_id"], rid, "meta.request_id")
    ok(TS_RE.match(body["meta"]["timestamp"]), "meta.timestamp format")
    stamp = dt.datetime.strptime(body["meta"]["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    ok(abs(stamp.replace(tzinfo=UTC).timestamp() - time.time()) < 10, "meta.timestamp is now")
    return body


def golden_body(data_or_error, r):
    """The exact bytes: our key order, and floats as Python repr writes them."""
    meta = r.json()["meta"]
    return json.dumps({**data_or_error, "meta": meta}, separators=(",", ":")).encode()


def check_summary(r, exp, rid=RID):
    check_common(r, 200, rid)
    eq(r.body, golden_body({"data": exp}, r), "body")


ERRORS = {
    401: ("UNAUTHORIZED", "Authentication required"),
    "INVALID_TOKEN": (401, "The session token is invalid or expired"),
}


def check_error(r, status, code, message, details=None, header=None):
    check_common(r, status)
    want = {"error": {"code": code, "message": message, "details": details}}
    eq(r.body, golden_body(want, r), "body")
    if header:
        k, v = header
        eq(r.headers.get(k.lower()), v, k)


def check_invalid_token(r):
    check_error(r, 401, "INVALID_TOKEN", "The session token is invalid or expired",
                header=("WWW-Authenticate", 'Bearer error="invalid_token"'))


def check_not_found(r):
    check_error(r, 404, "NOT_FOUND", "Resource not found")


def check_422(r, details):
    check_error(r, 422, "VALIDATION_ERROR", "Invalid request parameters",
                details=[{"field": f, "message": m} for f, m in details])


MSG_UUID = "must be a UUID"
MSG_DT = "must be an ISO 8601 date-time with a UTC offset, e.g. 2024-01-15T09:30:00Z"
MSG_TWICE = "must be given at most once"
MSG_ORDER = "must not be later than to"
MSG_QUERY = "is not a valid percent-encoded query string"
Q_WINDOW = "from=2024-03-01T00:00:00Z&to=2024-03-31T23:59:59.999999Z"

# ---- 200: the numbers --------------------------------------------------------


def test_summary_window_includes_both_bounds_exactly():
    check_summary(get(path(query=Q_WINDOW)), expected(RUNS, FROM, TO))


def test_summary_without_window_counts_every_run():
    check_summary(get(path()), expected(RUNS))


def test_summary_only_from():
    check_summary(get(path(query="from=2024-03-01T00:00:00Z")), expected(RUNS, FROM))


def test_summary_only_to():
    check_summary(get(path(query="to=2024-03-31T23:59:59.999999Z")), expected(RUNS, None, TO))


def test_summary_empty_window_has_null_rates():
    exp = expected(RUNS, us_of("2020-01-01T00:00:00+00:00"), us_of("2020-01-02T00:00:00+00:00"))
    eq(exp["pass_rate"], None, "fixture")
    check_summary(get(path(query="from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z")), exp)


def test_pass_rate_null_without_terminal_runs():
    r = get(path(WF_PENDING))
    check_summary(r, expected([("pending", FROM, None, None), ("running", FROM, FROM, None)]))
    ok(b'"pass_rate":null' in r.body, "pass_rate is null")


def test_average_null_when_no_completed_run_has_both_timestamps():
    r = get(path(WF_NODUR))
    check_summary(r, expected([("completed", FROM, None, None), ("failed", FROM, FROM, FROM + US)]))
    ok(b'"average_duration_seconds":null' in r.body, "average is null")


def test_floats_are_shortest_round_trip():
    r = get(path(query=Q_WINDOW))
    exp = expected(RUNS, FROM, TO)
    ok(("\"pass_rate\":%r," % exp["pass_rate"]).encode() in r.body, "pass_rate text")
    ok(("\"average_duration_seconds\":%r}" % exp["average_duration_seconds"]).encode() in r.body,
       "average text")


def test_offsets_convert_to_the_same_instant():
    # 2024-03-01T00:00Z written with other offsets, seconds in the offset too.
    for q in ("from=2024-03-01T02:00:00%2B02:00", "from=2024-02-29T19:00:00-0500",
              "from=2024-03-01T05:30:00%2B05:30:00", "from=2024-03-01%2000:00Z",
              "from=2024-03-01t00:00:00.000000z"):
        check_summary(get(path(query=q)), expected(RUNS, FROM))


def test_extreme_years_cross_into_year_0_and_10000_utc():
    q = "from=0001-01-01T00:00:00%2B01:00&to=9999-12-31T23:59:59-05:00"
    check_summary(get(path(query=q)), expected(RUNS))


def test_unencoded_plus_in_offset_is_read_as_plus():
    check_summary(get(path(query="from=2024-03-01T02:00:00+02:00")), expected(RUNS, FROM))


def test_empty_parameter_counts_as_absent():
    check_summary(get(path(query="from=&to=")), expected(RUNS))


def test_unknown_parameters_are_ignored():
    check_summary(get(path(query="page=2&x=y&" + Q_WINDOW)), expected(RUNS, FROM, TO))


def test_workflow_id_32_hex_upper_case():
    check_summary(get(path(WF.replace("-", "").upper())), expected(RUNS))


def test_workspace_header_matching_is_accepted():
    check_summary(get(path(), headers={"X-Workspace-Id": WS_A.upper()}), expected(RUNS))


def test_empty_workspace_header_counts_as_absent():
    check_summary(get(path(), headers={"X-Workspace-Id": ""}), expected(RUNS))


def test_sdk_headers_are_ignored():
    r = get(path(), headers={"Accept": "*/*", "Accept-Encoding": "gzip, br",
                             "User-Agent": "onepin-python/1.4.0", "X-Sdk-Retry": "0"})
    check_summary(r, expected(RUNS))


def test_head_answers_like_get_without_body():
    g = get(path(query=Q_WINDOW))
    h = get(path(query=Q_WINDOW), method="HEAD")
    eq(h.status, 200, "status")
    eq(h.body, b"", "HEAD body")
    for k in ("content-type", "cache-control", "x-request-id", "content-length"):
        eq(h.headers.get(k), g.headers.get(k), k)


# ---- request ids ----------------------------------------------------------------


def test_request_id_valid_is_echoed():
    rid = "A" * 128
    check_summary(get(path(), headers={"X-Request-Id": rid}), expected(RUNS), rid)


def test_request_id_invalid_is_replaced_by_uuid4():
    for bad in ("has space", "A" * 129, "semi;colon", "ünïcode"):
        r = get(path(), headers={"X-Request-Id": bad.encode("utf-8").decode("latin-1")})
        rid = r.headers.get("x-request-id", "")
        ok(UUID4_RE.match(rid), "fresh UUIDv4 for %r, got %r" % (bad, rid))
        check_summary(r, expected(RUNS), rid)


def test_request_id_fresh_when_absent_and_on_errors():
    r = S.request(path(), headers={})
    rid = r.headers.get("x-request-id", "")
    ok(UUID4_RE.match(rid), "fresh UUIDv4, got %r" % rid)
    eq(r.json()["meta"]["request_id"], rid, "meta.request_id")

# ---- 401 ----------------------------------------------------------------------------


def test_401_unauthorized_without_authorization():
    check_error(get(path(), token=None), 401, "UNAUTHORIZED", "Authentication required",
                header=("WWW-Authenticate", 'Bearer realm="api"'))


def test_401_unauthorized_for_basic_scheme():
    r = get(path(), token=None, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    check_error(r, 401, "UNAUTHORIZED", "Authentication required",
                header=("WWW-Authenticate", 'Bearer realm="api"'))


def test_bearer_scheme_is_case_insensitive():
    for scheme in ("bearer", "BEARER", "BeArEr"):
        r = get(path(), token=None, headers={"Authorization": scheme + " " + TOKEN})
        check_summary(r, expected(RUNS))


def test_401_invalid_token_for_garbage():
    check_invalid_token(get(path(), token="not-a-jwt"))


def claims(**over):
    now = int(time.time())
    c = {"azp": AZP, "exp": now + 60, "iat": now, "iss": ISS, "nbf": now - 5,
         "sid": "sess_1", "sub": ALICE}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def test_jwt_refuses_alg_none():
    tok = mint_claims(S.key, claims(), sign="none")
    check_invalid_token(get(path(), token=tok))
    check_invalid_token(get(path(), token=tok + "AAAA"))


def test_jwt_refuses_hs256_signed_with_public_pem():
    check_invalid_token(get(path(), token=mint_claims(S.pubkey, claims(), sign="HS256")))


def test_jwt_refuses_lower_case_rs256():
    tok = mint_claims(S.key, claims(), header={"alg": "rs256", "typ": "JWT"})
    check_invalid_token(get(path(), token=tok))


def test_jwt_refuses_rs384():
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(), sign="RS384")))


def test_jwt_refuses_padding_on_signature():
    check_invalid_token(get(path(), token=TOKEN + "=="))


def test_jwt_refuses_9000_byte_token():
    tok = mint_claims(S.key, claims(pad="x" * 6300))
    ok(8192 < len(tok) < 9500, "token length %d" % len(tok))
    check_invalid_token(get(path(), token=tok))


def test_jwt_refuses_other_key():
    other = os.path.join(STATE, "other-key.pem")
    subprocess.run([os.path.join(ROOT, "tests/tools/mint-token"), "--genkey", other,
                    other + ".pub"], check=True)
    check_invalid_token(get(path(), token=mint_claims(other, claims())))


def test_jwt_refuses_expired():
    now = int(time.time())
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(exp=now - 6))))


def test_jwt_exp_within_leeway_accepted():
    now = int(time.time())
    check_summary(get(path(), token=mint_claims(S.key, claims(exp=now - 2))), expected(RUNS))


def test_jwt_refuses_missing_or_non_integer_exp():
    now = int(time.time())
    for bad in (None, str(now + 60), float(now + 60) + 0.5, True):
        c = claims()
        if bad is None:
            del c["exp"]
        else:
            c["exp"] = bad
        check_invalid_token(get(path(), token=mint_claims(S.key, c)))


def test_jwt_refuses_nbf_in_future():
    now = int(time.time())
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(nbf=now + 30))))


def test_jwt_nbf_within_leeway_accepted():
    now = int(time.time())
    check_summary(get(path(), token=mint_claims(S.key, claims(nbf=now + 2))), expected(RUNS))


def test_jwt_refuses_iat_in_future():
    now = int(time.time())
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(iat=now + 30))))


def test_jwt_refuses_wrong_issuer():
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(iss="https://evil.test"))))


def test_jwt_accepts_any_configured_issuer():
    tok = mint_claims(S.key, claims(iss="https://other.example.test"))
    check_summary(get(path(), token=tok), expected(RUNS))


def test_jwt_refuses_wrong_or_missing_azp():
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(azp="https://evil.test"))))
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(azp=None))))


def test_jwt_refuses_missing_or_empty_sub():
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(sub=None))))
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(sub=""))))
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(sub=42))))


def test_jwt_refuses_typ_other_than_jwt():
    tok = mint_claims(S.key, claims(), header={"alg": "RS256", "typ": "at+jwt"})
    check_invalid_token(get(path(), token=tok))


def test_jwt_refuses_crit_header():
    tok = mint_claims(S.key, claims(), header={"alg": "RS256", "crit": ["exp"]})
    check_invalid_token(get(path(), token=tok))


def test_jwt_refuses_pending_session():
    check_invalid_token(get(path(), token=mint_claims(S.key, claims(sts="pending"))))
    check_summary(get(path(), token=mint_claims(S.key, claims(sts="active"))), expected(RUNS))


def test_jwt_kid_not_required_with_single_pem():
    tok = mint_claims(S.key, claims(), header={"alg": "RS256", "kid": "ins_anything"})
    check_summary(get(path(), token=tok), expected(RUNS))


def test_jwt_bad_token_wins_over_bad_input():
    check_invalid_token(get(path("not-a-uuid", "from=bad"), token="x.y.z"))

# ---- 422 ----------------------------------------------------------------------------


def test_422_workflow_id_not_uuid():
    check_422(get(path("not-a-uuid")), [("workflow_id", MSG_UUID)])


def test_422_workflow_id_wrong_shape():
    for bad in (WF[:-1], WF + "0", WF.replace("-", "")[:31], "g" * 32, WF.replace("-", "_")):
        check_422(get(path(bad)), [("workflow_id", MSG_UUID)])


def test_422_workspace_header_not_uuid():
    check_422(get(path(), headers={"X-Workspace-Id": "ws_123"}), [("X-Workspace-Id", MSG_UUID)])


def test_422_datetime_naive():
    check_422(get(path(query="from=2024-03-01T00:00:00")), [("from", MSG_DT)])


def test_422_date_without_time():
    check_422(get(path(query="to=2024-03-01")), [("to", MSG_DT)])


def test_422_impossible_dates():
    for bad in ("2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-03-01T24:00:00Z",
                "2024-03-01T10:60:00Z", "2024-03-01T10:00:60Z", "2024-13-01T00:00:00Z",
                "2024-03-01T10:00:00.1234567Z", "2024-03-01T10:00:00+24:00",
                "2024-03-01T10:00:00+02", "0000-01-01T00:00:00Z", "2024-03-01T10:00:00.Z"):
        check_422(get(path(query="from=" + bad.replace("+", "%2B"))), [("from", MSG_DT)])


def test_422_from_later_than_to():
    check_422(get(path(query="from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z")),
              [("from", MSG_ORDER)])


def test_from_equal_to_is_allowed():
    check_summary(get(path(query="from=2024-03-01T00:00:00Z&to=2024-03-01T00:00:00Z")),
                  expected(RUNS, FROM, FROM))


def test_422_repeated_parameter():
    check_422(get(path(query="from=2024-03-01T00:00:00Z&from=2024-03-02T00:00:00Z")),
              [("from", MSG_TWICE)])
    check_422(get(path(query="to=&to=")), [("to", MSG_TWICE)])


def test_422_bad_percent_encoding():
    check_422(get(path(query="from=2024-03-01T00:00:00%2")), [("query", MSG_QUERY)])
    check_422(get(path(query="x=%zz")), [("query", MSG_QUERY)])


def test_422_lists_every_invalid_field():
    r = get(path("nope", "from=yesterday&to=tomorrow&q=%G0"), headers={"X-Workspace-Id": "x"})
    check_422(r, [("workflow_id", MSG_UUID), ("X-Workspace-Id", MSG_UUID),
                  ("query", MSG_QUERY), ("from", MSG_DT), ("to", MSG_DT)])

# ---- 404 ----------------------------------------------------------------------------


def test_404_unknown_workflow():
    check_not_found(get(path(new_id())))


def test_404_soft_deleted_workflow():
    check_not_found(get(path(WF_SOFTDEL)))


def test_404_workflow_in_deleted_workspace():
    check_not_found(get(path(WF_IN_DELWS)))


def test_404_workflow_outside_x_workspace_id():
    check_not_found(get(path(), headers={"X-Workspace-Id": WS_B}))


def test_404_caller_not_a_member():
    check_not_found(get(path(WF_B)))
    bob = mint(S.key, "--sub", BOB, "--iss", ISS, "--azp", AZP)
    check_summary(get(path(WF_B), token=bob),
                  expected([("completed", FROM, FROM, FROM + US)]))


def test_404_bodies_are_identical_for_every_reason():
    bodies = set()
    for p, h in ((path(new_id()), {}), (path(WF_SOFTDEL), {}), (path(WF_IN_DELWS), {}),
                 (path(), {"X-Workspace-Id": WS_B}), (path(WF_B), {})):
        r = get(p, headers=h)
        body = r.json()
        del body["meta"]["timestamp"]
        bodies.add(json.dumps(body, sort_keys=True))
    eq(len(bodies), 1, "distinct 404 bodies")

# ---- 405 ----------------------------------------------------------------------------


# ---- API keys ----------------------------------------------------------------------


def new_api_key():
    return "op_live_" + os.urandom(24).hex()[:32].replace("a", "A")


def api_key(workspace=WS_A, scopes=("workflows:read",), revoked=False, expires=None):
    """Inserts a key row as the OnePin API would (only the hash is stored)
    and returns the key itself."""
    key = new_api_key()
    scope_sql = "NULL" if scopes is None else \
        "ARRAY[%s]::text[]" % ",".join("'%s'" % x for x in scopes)
    S.sql("INSERT INTO api_keys (workspace_id, key_hash, scopes, revoked_at, expires_at) "
          "VALUES ('%s', '%s', %s, %s, %s)" % (
              workspace, hashlib.sha256(key.encode()).hexdigest(),
              scope_sql if scopes != () else "'{}'",
              "now() - interval '1 hour'" if revoked else "NULL",
              "NULL" if expires is None else "now() + interval '%d seconds'" % expires))
    return key


def check_invalid_api_key(r):
    check_error(r, 401, "INVALID_API_KEY", "The API key is invalid, revoked or expired",
                header=("WWW-Authenticate", 'Bearer error="invalid_token"'))


def check_forbidden(r):
    check_error(r, 403, "FORBIDDEN", "Access to this resource is not allowed")


KEY_A = api_key()


def test_api_key_summary_equals_the_jwt_summary():
    check_summary(get(path(query=Q_WINDOW), token=KEY_A), expected(RUNS, FROM, TO))
    check_summary(get(path(), token=KEY_A), expected(RUNS))


def test_api_key_head_answers_like_get_without_body():
    r = get(path(), token=KEY_A, method="HEAD")
    eq(r.status, 200, "status")
    eq(r.body, b"", "HEAD body")


def test_api_key_with_matching_x_workspace_id():
    check_summary(get(path(), token=KEY_A, headers={"X-Workspace-Id": WS_A}), expected(RUNS))


def test_api_key_403_when_x_workspace_id_differs():
    check_forbidden(get(path(), token=KEY_A, headers={"X-Workspace-Id": WS_B}))
    check_forbidden(get(path(WF_B), token=KEY_A, headers={"X-Workspace-Id": WS_B}))


def test_api_key_404_for_workflow_of_another_workspace():
    check_not_found(get(path(WF_B), token=KEY_A))


def test_api_key_404_for_unknown_soft_deleted_or_deleted_workspace():
    check_not_found(get(path(new_id()), token=KEY_A))
    check_not_found(get(path(WF_SOFTDEL), token=KEY_A))
    check_not_found(get(path(WF_IN_DELWS), token=api_key(WS_DEL)))


def test_api_key_403_without_workflows_read_scope():
    for scopes in ((), ("workflows:write",), ("workflows:read:all",),
                   ("Workflows:Read",)):
        check_forbidden(get(path(), token=api_key(scopes=scopes)))


def test_api_key_scope_among_others_is_enough():
    key = api_key(scopes=("runs:write", "workflows:read", "admin"))
    check_summary(get(path(), token=key), expected(RUNS))


def test_api_key_403_wins_over_404():
    check_forbidden(get(path(new_id()), token=api_key(scopes=("runs:read",))))


def test_api_key_401_unknown():
    check_invalid_api_key(get(path(), token=new_api_key()))


def test_api_key_401_revoked():
    check_invalid_api_key(get(path(), token=api_key(revoked=True)))


def test_api_key_401_expired_and_200_before_expiry():
    check_invalid_api_key(get(path(), token=api_key(expires=-1)))
    check_summary(get(path(), token=api_key(expires=3600)), expected(RUNS))


def test_api_key_401_wins_over_403_and_404():
    check_invalid_api_key(get(path(new_id()), token=new_api_key(),
                              headers={"X-Workspace-Id": WS_B}))
    check_invalid_api_key(get(path(), token=api_key(revoked=True, scopes=())))


def test_api_key_malformed_is_401_before_inputs():
    for bad in ("op_live_" + "a" * 31, "op_live_" + "a" * 33, "op_test_" + "a" * 32,
                "op_live_" + "a" * 31 + "-", "op_"):
        check_invalid_api_key(get(path("not-a-uuid"), token=bad))


def test_api_key_unknown_after_inputs_422():
    check_422(get(path("not-a-uuid"), token=new_api_key()), [("workflow_id", MSG_UUID)])


def test_api_key_hash_is_of_the_whole_key():
    """A key that differs in one character, or in case, is another key."""
    other = KEY_A[:-1] + ("0" if KEY_A[-1] != "0" else "1")
    check_invalid_api_key(get(path(), token=other))
    swapped = KEY_A[:8] + KEY_A[8:].swapcase()
    if swapped != KEY_A:
        check_invalid_api_key(get(path(), token=swapped))


def test_api_key_never_reaches_the_log():
    key = api_key()
    r = get(path(), token=key)
    eq(r.status, 200, "status")
    key_id = S.sql("SELECT id FROM api_keys WHERE key_hash = '%s'"
                   % hashlib.sha256(key.encode()).hexdigest())
    time.sleep(0.2)
    log = open(os.path.join(STATE, "workers.log")).read()
    ok(key not in log and key[8:] not in log, "the key is in the log")
    ok(hashlib.sha256(key.encode()).hexdigest() not in log, "the key's hash is in the log")
    ok("caller=api_key key_id=" + key_id in log, "the key's id is logged")


def test_jwt_caller_is_logged_by_sub_never_token():
    r = get(path(), headers={"X-Request-Id": "log-jwt-1"})
    eq(r.status, 200, "status")
    time.sleep(0.2)
    lines = [ln for ln in open(os.path.join(STATE, "workers.log")) if "log-jwt-1" in ln]
    eq(len(lines), 1, "log lines for the request")
    ok('caller=jwt sub="%s"' % ALICE in lines[0], "sub logged: " + lines[0])
    ok(TOKEN.split(".")[2] not in lines[0], "token signature in the log")

# ---- 405 ----------------------------------------------------------------------------


def test_405_for_other_methods():
    for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        check_error(get(path(), method=m), 405, "METHOD_NOT_ALLOWED", "Method not allowed",
                    header=("Allow", "GET, HEAD"))

# ---- 503 ----------------------------------------------------------------------------


def test_503_when_database_stops_then_200_again_same_workers():
    check_summary(get(path()), expected(RUNS))
    S.pg_stop()
    try:
        t0 = time.monotonic()
        r = get(path())
        check_error(r, 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable",
                    header=("Retry-After", "1"))
        ok(time.monotonic() - t0 < 3, "503 within 3 s")
        r = get(path())
        eq(r.status, 503, "second request while down")
    finally:
        S.pg_start()
    for _ in range(4):
        check_summary(get(path()), expected(RUNS))
    for pid in S.worker_pids:
        ok(os.path.exists("/proc/%d" % pid), "worker %d still alive" % pid)

# ---- smoke script --------------------------------------------------------------


def test_smoke_script_passes_against_this_stack():
    out = subprocess.run([os.path.join(ROOT, "scripts/smoke.sh"), "http://" + LISTEN, TOKEN,
                          WF, WS_A], capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, "smoke.sh exit status; output:\n" + out.stdout + out.stderr)


def test_smoke_script_passes_with_the_demo_api_key():
    demo_wf, demo_ws = "3f2b8c1d-9e4a-4b7c-8d6e-5a4b3c2d1e0f", "7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e"
    out = subprocess.run([os.path.join(ROOT, "scripts/smoke.sh"), "http://" + LISTEN,
                          S.env["RS_API_KEY"], demo_wf, demo_ws],
                         capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, "smoke.sh exit status; output:\n" + out.stdout + out.stderr)
    ok("ok   200 with a valid API key" in out.stdout, "smoke.sh names the API key")


def test_smoke_script_fails_with_a_bad_token():
    out = subprocess.run([os.path.join(ROOT, "scripts/smoke.sh"), "http://" + LISTEN, "x.y.z",
                          WF], capture_output=True, text=True, timeout=60)
    ok(out.returncode != 0, "smoke.sh must fail with a bad token")


def test_every_summary_was_summed_as_the_stack_was_set_up():
    plans = {ln.split("db_plan=")[1].split()[0] for ln in S.log_lines(" status=200 .*db_plan=")}
    eq(plans, {"rollups" if ROLLUPS else "scan"}, "db_plan of the summaries answered")


# ---- last: with the workers gone -----------------------------------------


def test_nginx_answers_503_in_the_envelope_when_the_pool_is_down():
    for pid in S.worker_pids:
        os.kill(pid, 15)
    for pid in S.worker_pids:
        for _ in range(50):
            if not os.path.exists("/proc/%d" % pid) or \
                    open("/proc/%d/stat" % pid).read().split()[2] == "Z":
                break
            time.sleep(0.1)
    check_error(get(path()), 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable",
                header=("Retry-After", "1"))
    r = S.request(path(), headers={"Authorization": "Bearer " + TOKEN})
    ok(re.match(r"^[0-9a-f]{32}$", r.headers.get("x-request-id", "")), "nginx request id")


if __name__ == "__main__":
    main_exit(run_tests(collect(globals()), "api"))
