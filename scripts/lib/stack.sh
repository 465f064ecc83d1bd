#!/usr/bin/env bash
# The throwaway stack in one state directory DIR:
#   stack.sh up DIR [--workers N] [--binary PATH] [--listen HOST:PORT] [--db-only]
#                   [--pool supervisor|spawn-fcgi] [--pgbouncer] [--rollups]
#   stack.sh front DIR --listen HOST:PORT --socket PATH
#                              nginx alone, before another FastCGI socket
#   stack.sh down DIR          stops everything it started, by PID
#   stack.sh pg-stop DIR | pg-start DIR
# After `up`, DIR/env holds shell assignments for what it started:
# DATABASE_URL, RS_BASE_URL, RS_SOCKET, RS_KEY (private PEM for
# tests/tools/mint-token), RS_PUBKEY, RS_API_KEY (a demo API key),
# RS_WORKER_PIDS, RS_POOL_PID (the supervisor; with spawn-fcgi, none),
# RS_NGINX_PID. The pool is the program's own supervisor (--listen), or
# spawn-fcgi's workers. With --pgbouncer the workers reach the database
# through PgBouncer in transaction pooling mode (2 server connections,
# whatever the number of workers; DB_TRANSACTION_POOLING=1), and DIR/env
# also holds RS_PGBOUNCER_URL. --rollups installs scripts/rollups.sql
# and backfills it before the workers start.
# PostgreSQL listens on a unix socket in DIR only, nginx on 127.0.0.1.
# The workers verify tokens with DIR/dev-key.pub, or with the file named
# by RS_STACK_KEY_FILE (empty: no PEM); the rest of their settings come
# from the environment (CLERK_JWKS_FILE, TOKEN_CACHE_ENTRIES, ...).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# initdb and postgres refuse to run as root: run them as postgres then,
# in a directory of their own under /tmp, since DIR may sit below one
# that postgres cannot enter (a root home, a mktemp -d).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_base() {
  local dir=$1
  if [ "$(id -u)" -ne 0 ]; then echo "$dir"; return; fi
  if [ ! -s "$dir/pgbase" ]; then
    local base
    base=$(mktemp -d /tmp/runs-summary-pg.XXXXXX)
    chmod 755 "$base"
    mkdir -p "$base/pgrun" "$base/pg"
    chown postgres "$base/pgrun" "$base/pg"
    echo "$base" > "$dir/pgbase"
  fi
  cat "$dir/pgbase"
}

pg_start() {
  local base
  base=$(pg_base "$1")
  as_pg "$RS_PG_BIN/pg_ctl" -D "$base/pg" -l "$base/pgrun/pg.log" -w -t 30 \
    -o "-c listen_addresses='' -c unix_socket_directories='$base/pgrun' -c port=5432" \
    start >/dev/null || { tail -20 "$base/pgrun/pg.log" >&2; rs_die "PostgreSQL did not start"; }
}

# PgBouncer in transaction pooling mode in front of the cluster, on a unix
# socket beside PostgreSQL's (port 6432). It will not run as root.
pgbouncer_start() {
  local base=$1
  cat > "$base/pgbouncer.ini" <<EOF
[databases]
runs_summary = host=$base/pgrun port=5432 dbname=runs_summary user=postgres
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $base/pgrun
auth_type = trust
admin_users = postgres
auth_file = $base/pgbouncer.users
pool_mode = transaction
default_pool_size = 2
max_client_conn = 500
logfile = $base/pgrun/pgbouncer.log
pidfile = $base/pgrun/pgbouncer.pid
EOF
  echo '"postgres" ""' > "$base/pgbouncer.users"
  chown postgres "$base/pgbouncer.ini" "$base/pgbouncer.users" 2>/dev/null || true
  as_pg pgbouncer -d -q "$base/pgbouncer.ini" ||
    { tail -20 "$base/pgrun/pgbouncer.log" >&2 2>/dev/null; rs_die "PgBouncer did not start"; }
  for _ in $(seq 1 50); do
    [ -S "$base/pgrun/.s.PGSQL.6432" ] && return 0
    sleep 0.1
  done
  rs_die "PgBouncer did not open its socket"
}

# Stops the process a pid file names, and removes the file.
stop_pid_file() {
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null && wait_gone "$pid"
  rm -f "$1"
}

pg_stop() {
  local base
  base=$(pg_base "$1")
  [ -f "$base/pg/postmaster.pid" ] || return 0
  as_pg "$RS_PG_BIN/pg_ctl" -D "$base/pg" -m fast -w -t 30 stop >/dev/null || true
}

up() {
  local dir=$1; shift
  local workers=4 binary="$RS_ROOT/fcgi/runs-summary" listen=127.0.0.1:8080 web=1
  local pool=supervisor bouncer=0 rollups=0
  while [ $# -gt 0 ]; do
    case $1 in
      --db-only) web=0; shift ;;
      --pgbouncer) bouncer=1; shift ;;
      --rollups) rollups=1; shift ;;
      --workers) workers=$2; shift 2 ;;
      --binary) binary=$2; shift 2 ;;
      --listen) listen=$2; shift 2 ;;
      --pool) pool=$2; shift 2 ;;
      *) rs_die "stack.sh up: unknown option $1" ;;
    esac
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  : > "$dir/env"

  # PostgreSQL: a fresh cluster, the schema, and the demo data.
  local base
  base=$(pg_base "$dir")
  mkdir -p "$base/pg" "$base/pgrun"
  if [ ! -f "$base/pg/PG_VERSION" ]; then
    as_pg "$RS_PG_BIN/initdb" -D "$base/pg" -U postgres -A trust -E UTF8 \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rs_die "initdb failed"; }
  fi
  pg_start "$dir"
  local url="host=$base/pgrun port=5432 user=postgres dbname=runs_summary"
  psql "host=$base/pgrun port=5432 user=postgres dbname=postgres" -qAt \
    -c "SELECT 1 FROM pg_database WHERE datname = 'runs_summary'" | grep -q 1 ||
    psql "host=$base/pgrun port=5432 user=postgres dbname=postgres" -q \
      -c "CREATE DATABASE runs_summary" >/dev/null
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$RS_ROOT/scripts/schema.sql" >/dev/null
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$RS_ROOT/scripts/seed-demo.sql" >/dev/null
  if [ "$rollups" -eq 1 ]; then
    DATABASE_URL=$url "$RS_ROOT/scripts/rollups" install
    DATABASE_URL=$url "$RS_ROOT/scripts/rollups" backfill
  fi
  echo "DATABASE_URL='$url'" >> "$dir/env"

  # A demo API key for the demo workspace, new for every stack; only its
  # hash goes into the database, as the OnePin API stores keys.
  local apikey
  apikey=op_live_$(od -An -N64 -tu1 /dev/urandom |
    awk '{for (i = 1; i <= NF; i++) printf "%c", substr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", $i % 62 + 1, 1)}' |
    head -c 32)
  psql "$url" -q -v ON_ERROR_STOP=1 -c "INSERT INTO api_keys (workspace_id, key_hash, scopes)
    VALUES ('7a1e0c52-5d0b-4c1e-9a57-1f2a3b4c5d6e',
            '$(printf %s "$apikey" | sha256sum | cut -d' ' -f1)', '{workflows:read}')" >/dev/null
  echo "RS_API_KEY='$apikey'" >> "$dir/env"

  # A dev RSA key pair: the workers verify with the public half.
  [ -f "$dir/dev-key.pem" ] ||
    "$RS_ROOT/tests/tools/mint-token" --genkey "$dir/dev-key.pem" "$dir/dev-key.pub"
  echo "RS_KEY='$dir/dev-key.pem'" >> "$dir/env"
  echo "RS_PUBKEY='$dir/dev-key.pub'" >> "$dir/env"
  local workers_url=$url
  if [ "$bouncer" -eq 1 ]; then
    pgbouncer_start "$base"
    workers_url="host=$base/pgrun port=6432 user=postgres dbname=runs_summary"
    echo "RS_PGBOUNCER_URL='$workers_url'" >> "$dir/env"
    export DB_TRANSACTION_POOLING=1
  fi
  [ "$web" -eq 1 ] || return 0

  refuse_busy_port "$listen"

  # The worker pool: the program's own supervisor, or spawn-fcgi (whose
  # children's stderr would go to /dev/null, so each worker's log goes to
  # a file through sh). Either way the log is DIR/workers.log.
  local sock="$dir/runs-summary.sock" pid
  rm -f "$sock" "$dir/workers.pid" "$dir/pool.pid"
  export DATABASE_URL=$workers_url CLERK_JWT_KEY_FILE="${RS_STACK_KEY_FILE-$dir/dev-key.pub}" \
    ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:log_path=$dir/asan" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$dir/asan"
  case $pool in
    supervisor)
      # Its exit status lands in DIR/pool.exit, for the tests.
      rm -f "$dir/pool.exit"
      # The log may hold an earlier pool's lines: count this one's only.
      local seen=0 ready
      [ -f "$dir/workers.log" ] && seen=$(wc -l < "$dir/workers.log")
      ( "$binary" --listen "unix:$sock" --workers "$workers" </dev/null >/dev/null \
          2>>"$dir/workers.log" & echo $! > "$dir/pool.pid"; wait $!
        echo $? > "$dir/pool.exit" ) >/dev/null 2>&1 &
      for _ in $(seq 1 50); do
        ready=$(tail -n "+$((seen + 1))" "$dir/workers.log" 2>/dev/null | grep -c 'event=worker_ready' || true)
        [ "${ready:-0}" -ge "$workers" ] && break
        [ -f "$dir/pool.exit" ] &&
          { cat "$dir/workers.log" >&2; rs_die "the pool exited at start (its log is above)"; }
        sleep 0.1
      done
      [ -s "$dir/pool.pid" ] || rs_die "the pool did not start"
      pgrep -P "$(cat "$dir/pool.pid")" > "$dir/workers.pid" || true
      echo "RS_POOL_PID=$(cat "$dir/pool.pid")" >> "$dir/env"
      ;;
    spawn-fcgi)
      spawn-fcgi -F "$workers" -s "$sock" -M 0600 -P "$dir/workers.pid" -- \
        /bin/sh -c "exec \"\$0\" 2>>'$dir/workers.log'" "$binary" </dev/null >/dev/null ||
        rs_die "spawn-fcgi failed"
      sleep 0.3
      ;;
    *) rs_die "stack.sh up: --pool is supervisor or spawn-fcgi" ;;
  esac
  for pid in $(cat "$dir/workers.pid"); do
    kill -0 "$pid" 2>/dev/null ||
      { cat "$dir/workers.log" >&2; rs_die "worker $pid exited at start (its log is above)"; }
  done
  [ -s "$dir/workers.pid" ] || { cat "$dir/workers.log" >&2; rs_die "no workers started"; }
  echo "RS_SOCKET='$sock'" >> "$dir/env"
  echo "RS_WORKER_PIDS='$(tr '\n' ' ' < "$dir/workers.pid")'" >> "$dir/env"

  nginx_start "$dir" "$listen" "$sock"
}

# nginx refuses to share: a port someone else already answers on would
# have the tests talk to that server instead.
refuse_busy_port() {
  if curl -s -o /dev/null --max-time 2 "http://$1/"; then
    rs_die "$1 is already in use: set another address"
  fi
}

# nginx with the drop-in location, in front of the FastCGI socket SOCK, on
# LISTEN; its files, pid and env lines in DIR.
nginx_start() {
  local dir=$1 listen=$2 sock=$3 i
  mkdir -p "$dir/nginx-tmp"
  cp /etc/nginx/fastcgi_params "$dir/fastcgi_params"
  sed "s|unix:/run/runs-summary/runs-summary.sock|unix:$sock|" \
    "$RS_ROOT/conf/runs-summary.nginx.conf" > "$dir/runs-summary.nginx.conf"
  sed -e "s|@PREFIX@|$dir|g" -e "s|@LISTEN@|$listen|g" \
    -e "s|@USER@|$(id -un) $(id -gn)|g" "$RS_ROOT/conf/nginx.conf" > "$dir/nginx.conf"
  nginx -p "$dir" -c "$dir/nginx.conf" -t -q 2>"$dir/nginx-t.log" ||
    { cat "$dir/nginx-t.log" >&2; rs_die "nginx configuration test failed"; }
  # Its own files for every stream: an inherited pipe would keep a caller
  # such as `| tee` waiting for as long as nginx lives.
  nginx -p "$dir" -c "$dir/nginx.conf" </dev/null >>"$dir/nginx-error.log" 2>&1 &
  echo $! > "$dir/nginx.master"
  echo "RS_NGINX_PID=$!" >> "$dir/env"
  echo "RS_BASE_URL='http://$listen'" >> "$dir/env"
  for i in $(seq 1 50); do
    kill -0 "$(cat "$dir/nginx.master")" 2>/dev/null ||
      { cat "$dir/nginx-error.log" >&2; rs_die "nginx exited"; }
    curl -s -o /dev/null --max-time 2 "http://$listen/" && return 0
    sleep 0.1
  done
  rs_die "nginx did not answer on $listen within 5 s"
}

# nginx alone, in front of a FastCGI socket that something else serves
# (the bench's floor responder).
front() {
  local dir=$1 listen=127.0.0.1:8080 sock=; shift
  while [ $# -gt 0 ]; do
    case $1 in
      --listen) listen=$2; shift 2 ;;
      --socket) sock=$2; shift 2 ;;
      *) rs_die "stack.sh front: unknown option $1" ;;
    esac
  done
  [ -n "$sock" ] || rs_die "stack.sh front: --socket PATH is needed"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  : >> "$dir/env"
  refuse_busy_port "$listen"
  nginx_start "$dir" "$listen" "$sock"
}

down() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  stop_pid_file "$dir/nginx.master"
  if [ -f "$dir/pool.pid" ]; then
    # The pool stops its own workers; the pids recorded at start may be
    # long gone (replaced, recycled) and reused by other processes.
    stop_pid_file "$dir/pool.pid"
    rm -f "$dir/workers.pid" "$dir/runs-summary.sock"
  fi
  if [ -f "$dir/workers.pid" ]; then
    for pid in $(cat "$dir/workers.pid"); do kill "$pid" 2>/dev/null || true; done
    for pid in $(cat "$dir/workers.pid"); do wait_gone "$pid"; done
    rm -f "$dir/workers.pid" "$dir/runs-summary.sock"
  fi
  # Nothing more where only nginx ran (stack.sh front).
  [ -s "$dir/pgbase" ] || [ -d "$dir/pg" ] || return 0
  local base=$dir
  [ -s "$dir/pgbase" ] && base=$(cat "$dir/pgbase")
  stop_pid_file "$base/pgrun/pgbouncer.pid"
  # A standby a test made beside the cluster (tests/integration/test_replica.py).
  if [ -f "$base/standby/postmaster.pid" ]; then
    as_pg "$RS_PG_BIN/pg_ctl" -D "$base/standby" -m immediate -w -t 30 stop >/dev/null || true
  fi
  pg_stop "$dir"
  if [ -s "$dir/pgbase" ]; then
    rm -rf "$(cat "$dir/pgbase")"
    rm -f "$dir/pgbase"
  fi
}

# Waits up to 5 s for a process to end (a zombie counts as ended: its
# parent may be slow to reap it), then kills it.
wait_gone() {
  local i
  for i in $(seq 1 50); do
    kill -0 "$1" 2>/dev/null || return 0
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
}

cmd=${1:-}; shift || true
case $cmd in
  up) up "$@" ;;
  front) front "$@" ;;
  down) down "$@" ;;
  pg-stop) pg_stop "$@" ;;
  pg-start) pg_start "$(cd "$1" && pwd)" ;;
  *) rs_die "usage: stack.sh up|front|down|pg-stop|pg-start DIR" ;;
esac
