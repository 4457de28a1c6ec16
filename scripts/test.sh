#!/usr/bin/env bash
# Runs every check and test: formatting, lints, unit and integration tests against a
# throwaway PostgreSQL, the web client build, and the browser tests in headless Chromium
# against the real server. Installs what is missing; tears everything down even on failure;
# exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust_tools
ensure_postgres
ensure_node
find_chromium
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

scratch=$(mktemp -d -t gallery-test.XXXXXX)
chmod 755 "$scratch"
pg_base="$scratch/postgres"
server_pid=""
node_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  # Playwright closes its Chromium; this catches one orphaned by a crashed run (its profile
  # lives in this run's scratch directory, so nothing else is touched).
  pkill -f "$scratch/" 2>/dev/null || true
  pg_stop "$pg_base"
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting a throwaway PostgreSQL"
pg_init "$pg_base" postgres
pg_start "$pg_base"
# Tests create one fresh database each through this superuser connection.
export GALLERY_TEST_DATABASE_URL="postgres://postgres@localhost/postgres?host=$pg_base/run"

# Compile-checked queries are verified against the committed .sqlx/ data, as in CI builds.
export SQLX_OFFLINE=true

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p gallery-web --target wasm32-unknown-unknown -- -D warnings

log "cargo test"
cargo test --locked --workspace

build_web

log "browser tests"
# target/debug/gallery was built by `cargo test` (the integration tests run it), with the
# same features; building it alone would resolve features anew and recompile much.
[ -x target/debug/gallery ] || die "cargo test did not build target/debug/gallery"
(cd web/tests && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; })
as_pg_owner "$PG_BIN/createdb" -h "$pg_base/run" -U postgres gallery_browser
server_log="$scratch/server.log"
# Throwaway secrets for this run; the browser tests sign Max initData with the same token.
export GALLERY_BOT_TOKEN="test-bot:$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GALLERY_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GALLERY_BIN="$PWD/target/debug/gallery"
# Every browser signs in from 127.0.0.1: the per-IP sign-in limit (tested on its own in the
# integration tests) would otherwise throttle the suite.
GALLERY_RATE_SIGN_IN_PER_MINUTE=1000 \
GALLERY_ADDR=127.0.0.1:0 GALLERY_WEB_DIR=web/dist GALLERY_DATA_DIR="$scratch/data" \
  DATABASE_URL="postgres://postgres@localhost/gallery_browser?host=$pg_base/run" \
  target/debug/gallery serve >"$server_log" 2>&1 &
server_pid=$!
base_url=""
for _ in $(seq 1 100); do
  base_url=$(grep -o 'serving Max Photo Gallery on http://[0-9.:]*' "$server_log" | head -n 1 | sed 's/.* on //') || true
  [ -n "$base_url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log"; die "the server exited before listening"; }
  sleep 0.2
done
[ -n "$base_url" ] || { cat "$server_log"; die "the server did not start listening within 20 s"; }
mkdir -p "$scratch/browser"
# In the background, so that a signal reaches the cleanup at once.
(cd web/tests && TMPDIR="$scratch/browser" GALLERY_BASE_URL="$base_url" node --test) &
node_pid=$!
wait "$node_pid"
node_pid=""

log "all checks passed"
