#!/usr/bin/env bash
# Smoke-tests a deployed runs-summary:
#   scripts/smoke.sh BASE_URL TOKEN WORKFLOW_ID [WORKSPACE_ID]
# TOKEN is a Clerk session JWT or an API key (op_live_...).
# One line per check; exits non-zero if any fails. Needs curl only.
set -u
[ $# -ge 3 ] || { echo "usage: $0 BASE_URL TOKEN WORKFLOW_ID [WORKSPACE_ID]" >&2; exit 2; }
base=${1%/} token=$2 wf=$3 ws=${4:-}
[ -n "$token" ] || { echo "smoke.sh: TOKEN is empty (a session JWT or an API key)" >&2; exit 2; }
url="$base/api/v1/workflows/$wf/runs/summary"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() { # name, condition result (0 = ok), detail
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok   $1"
  else fail=$((fail + 1)); echo "FAIL $1${3:+: $3}"; fi
}

# fetch NAME [curl args...]: head in $tmp/NAME.h, body in $tmp/NAME.b
fetch() {
  local name=$1; shift
  curl -sS --max-time 10 -D "$tmp/$name.h" -o "$tmp/$name.b" "$@" >/dev/null 2>"$tmp/$name.err"
}
status() { awk 'NR==1 {print $2}' "$tmp/$1.h"; }
header() { grep -i "^$2:" "$tmp/$1.h" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

ws_args=()
[ -n "$ws" ] && ws_args=(-H "X-Workspace-Id: $ws")

fetch ok -H "Authorization: Bearer $token" -H "X-Request-Id: smoke-1" "${ws_args[@]}" "$url"
check "reachable: $url" $? "$(cat "$tmp/ok.err" 2>/dev/null)"
check "200 with a valid $([ "${token#op_}" != "$token" ] && echo "API key" || echo token)" "$([ "$(status ok)" = 200 ]; echo $?)" "got $(status ok)"
check "data has every field" "$(grep -q '"data":{"total_runs":[0-9]*,"completed":[0-9]*,"failed":[0-9]*,"cancelled":[0-9]*,"pending":[0-9]*,"running":[0-9]*,"paused":[0-9]*,"pass_rate":[-0-9.e+null]*,"average_duration_seconds":[-0-9.e+null]*}' "$tmp/ok.b"; echo $?)" "$(head -c 300 "$tmp/ok.b")"
check "meta echoes the request id" "$(grep -q '"meta":{"request_id":"smoke-1","timestamp":"[0-9-]*T[0-9:]*Z"}' "$tmp/ok.b"; echo $?)"
check "Content-Type: application/json" "$([ "$(header ok Content-Type)" = application/json ]; echo $?)" "$(header ok Content-Type)"
check "Cache-Control: no-store" "$([ "$(header ok Cache-Control)" = no-store ]; echo $?)"
check "X-Request-Id echoed" "$([ "$(header ok X-Request-Id)" = smoke-1 ]; echo $?)"
check "Content-Length matches the body" "$([ "$(header ok Content-Length)" = "$(wc -c < "$tmp/ok.b" | tr -d ' ')" ]; echo $?)"

fetch noauth "$url"
check "401 without a token" "$([ "$(status noauth)" = 401 ]; echo $?)" "got $(status noauth)"
check "401 says UNAUTHORIZED" "$(grep -q '"code":"UNAUTHORIZED"' "$tmp/noauth.b"; echo $?)"
check "401 has WWW-Authenticate" "$(header noauth WWW-Authenticate | grep -q '^Bearer'; echo $?)"

fetch badfrom -H "Authorization: Bearer $token" "${ws_args[@]}" "$url?from=not-a-date"
check "422 for a bad from" "$([ "$(status badfrom)" = 422 ]; echo $?)" "got $(status badfrom)"
check "422 names the field" "$(grep -q '"details":\[{"field":"from"' "$tmp/badfrom.b"; echo $?)"
check "422 carries a fresh request id" "$(header badfrom X-Request-Id | grep -Eq '^[0-9a-f-]{36}$'; echo $?)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
