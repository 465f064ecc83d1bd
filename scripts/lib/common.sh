# Shared by scripts/run-local, scripts/test and the test suites: packages,
# and the throwaway stack (PostgreSQL cluster, worker pool, nginx) that
# lives in one state directory and is stopped by the PIDs it recorded.
# shellcheck shell=bash

RS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RS_PG_BIN=${RS_PG_BIN:-/usr/lib/postgresql/15/bin}
RS_PACKAGES="gcc make pkg-config libjson-c-dev libpq-dev libjwt-dev
  libssl-dev check postgresql-15 pgbouncer nginx-light spawn-fcgi curl python3 procps
  clang libclang-rt-14-dev valgrind"

rs_say() { printf '%s\n' "$*" >&2; }
rs_die() { rs_say "error: $*"; exit 1; }

# Installs what is missing with apt-get (as root, or through sudo).
rs_ensure_packages() {
  local missing="" p
  for p in $RS_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null ||
      rs_die "missing Debian packages:$missing (install them as root: apt-get install$missing)"
    sudo=sudo
  fi
  rs_say "installing:$missing"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
    rs_die "apt-get install$missing failed"
}

rs_build() {
  make -C "$RS_ROOT" -s "$@" >&2 || rs_die "build failed"
}
