#!/usr/bin/env bash
# Builds everything and serves the whole app on http://127.0.0.1:8080 (GALLERY_ADDR).
#
# Unless DATABASE_URL is set, it keeps a private PostgreSQL cluster under
# $GALLERY_DATA_DIR/postgres (created on the first run, reused after) and stops it again when
# the server stops. Ctrl-C or SIGTERM stops both cleanly. Settings come from the environment
# or from a .env file in the repository root (see .env.example).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [ -f .env ]; then
  set -a
  # shellcheck disable=SC1091
  source .env
  set +a
fi
export GALLERY_ADDR="${GALLERY_ADDR:-127.0.0.1:8080}"
export GALLERY_DATA_DIR="${GALLERY_DATA_DIR:-./data}"
export GALLERY_ERROR_LOG="${GALLERY_ERROR_LOG:-$GALLERY_DATA_DIR/logs/errors.log}"
export GALLERY_WEB_DIR="${GALLERY_WEB_DIR:-web/dist}"

ensure_rust_tools
[ -n "${DATABASE_URL:-}" ] || ensure_postgres

# One run per data directory: a second one would stop the first one's database.
mkdir -p "$GALLERY_DATA_DIR"
exec 9>"$GALLERY_DATA_DIR/.run.lock"
flock -n 9 || die "another scripts/run.sh is already using $GALLERY_DATA_DIR"

build_web
log "building the server"
# Queries are checked against the committed .sqlx/, never against whatever DATABASE_URL names.
SQLX_OFFLINE=true cargo build --release --locked --bin gallery

server_pid=""
pg_base=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_base" ]; then
    log "stopping the private PostgreSQL"
    pg_stop "$pg_base"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${DATABASE_URL:-}" ]; then
  pg_base="$(cd "$GALLERY_DATA_DIR" && pwd)/postgres"
  if [ ! -f "$pg_base/cluster/PG_VERSION" ]; then
    log "creating the private PostgreSQL cluster in $pg_base"
  fi
  pg_init "$pg_base" gallery
  pg_stop "$pg_base" # left running by an earlier run that was killed (we hold the lock)
  log "starting the private PostgreSQL"
  pg_start "$pg_base"
  if ! as_pg_owner "$PG_BIN/psql" -h "$pg_base/run" -U gallery -d postgres -tAc \
    "select 1 from pg_database where datname = 'gallery'" | grep -q 1; then
    as_pg_owner "$PG_BIN/createdb" -h "$pg_base/run" -U gallery gallery
  fi
fi

log "serving on http://$GALLERY_ADDR (Ctrl-C stops)"
target/release/gallery serve &
server_pid=$!
wait "$server_pid"
