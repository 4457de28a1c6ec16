#!/usr/bin/env bash
# Runs every check and test: formatting, lints, the web client build, unit and integration
# tests against a throwaway PostgreSQL (the deployment's among them: Debian's nginx in front
# of two server processes), the browser tests in headless Chromium against
# the real server, and the API contract checks (schemathesis, and a generated Python client).
# Installs what is missing; tears everything down even on failure; exits non-zero if anything
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rust_tools
ensure_postgres
ensure_nginx
ensure_node
find_chromium
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

scratch=$(mktemp -d -t gallery-test.XXXXXX)
chmod 755 "$scratch"
pg_base="$scratch/postgres"
server_pids=()
child_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${server_pids[@]}" $child_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
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

# The deployment tests serve the built client through nginx.
build_web

log "cargo test"
cargo test --locked --workspace

# start_server NAME [VAR=value...]: serves a fresh database NAME, with these settings, in the
# background until the cleanup; sets SERVER_URL.
start_server() {
  local name=$1
  shift
  local server_log="$scratch/$name.log"
  as_pg_owner "$PG_BIN/createdb" -h "$pg_base/run" -U postgres "$name"
  env "$@" GALLERY_ADDR=127.0.0.1:0 GALLERY_WEB_DIR=web/dist GALLERY_DATA_DIR="$scratch/$name-data" \
    DATABASE_URL="postgres://postgres@localhost/$name?host=$pg_base/run" \
    target/debug/gallery serve >"$server_log" 2>&1 &
  local pid=$!
  server_pids+=("$pid")
  SERVER_URL=""
  for _ in $(seq 1 100); do
    SERVER_URL=$(grep -o 'serving Max Photo Gallery on http://[0-9.:]*' "$server_log" | head -n 1 | sed 's/.* on //') || true
    [ -n "$SERVER_URL" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$server_log"; die "the server exited before listening"; }
    sleep 0.2
  done
  cat "$server_log"
  die "the server did not start listening within 20 s"
}

# in_background DIR COMMAND...: runs the command in DIR in the background and waits for it,
# so that a signal reaches the cleanup at once.
in_background() {
  local dir=$1
  shift
  (cd "$dir" && exec "$@") &
  child_pid=$!
  wait "$child_pid"
  child_pid=""
}

# target/debug/gallery was built by `cargo test` (the integration tests run it), with the
# same features; building it alone would resolve features anew and recompile much.
[ -x target/debug/gallery ] || die "cargo test did not build target/debug/gallery"
# Throwaway secrets for this run; the tests sign Max initData with the same token.
export GALLERY_BOT_TOKEN="test-bot:$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GALLERY_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GALLERY_BIN="$PWD/target/debug/gallery"

log "browser tests"
(cd web/tests && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; })
# Every browser signs in from 127.0.0.1: the per-IP sign-in limit (tested on its own in the
# integration tests) would otherwise throttle the suite.
start_server gallery_browser GALLERY_RATE_SIGN_IN_PER_MINUTE=1000
mkdir -p "$scratch/browser"
# Each test has three minutes at most, and a file's process ends once its tests have: a
# connection left open must not hang the suite.
in_background web/tests env TMPDIR="$scratch/browser" GALLERY_BASE_URL="$SERVER_URL" \
  node --test --test-timeout=180000 --test-force-exit

log "write ceiling benchmark (quick mode: the harness keeps working)"
scripts/bench-writes.sh --quick >/dev/null
log "web client benchmark (quick mode)"
scripts/bench-web.sh --quick >/dev/null
log "feed, sign-in, fan-out and upload benchmarks (quick mode)"
cargo build --locked -p gallery-load
GALLERY_LOAD=target/debug/gallery-load scripts/bench.sh --quick >/dev/null

log "API contract: schemathesis and a generated Python client"
ensure_contract_tools
contract_tools="$PWD/$CONTRACT_VENV/bin"
contract_checks="$PWD/backend/tests/contract"
# One client makes every request: no rate limit may get in the way of the checks.
unlimited=()
for limit in SIGN_IN QR SEARCHES WRITES LOGIN_PER_HANDLE REFRESH_PER_SESSION; do
  unlimited+=("GALLERY_RATE_${limit}_PER_MINUTE=100000")
done
start_server gallery_contract "${unlimited[@]}"
token=$("$contract_tools/python" "$contract_checks/sign_in.py" "$SERVER_URL" 7300 Schemathesis)
# A bounded run with a new seed each time (the report names it, to replay a failure), the
# checks set in the config file; the README gives the longer run. Signing out everywhere and
# ending a session would end the session the run signs in with.
in_background "$scratch" "$contract_tools/st" \
  --config-file "$contract_checks/schemathesis.toml" run "$SERVER_URL/api/openapi.json" \
  --url "$SERVER_URL/api" -H "Authorization: Bearer $token" \
  --phases examples,coverage,fuzzing,stateful --max-examples 40 --workers 1 \
  --exclude-operation-id sign_out_everywhere --exclude-operation-id end_my_session
# The generated client runs against a database of its own.
start_server gallery_client "${unlimited[@]}"
PATH="$contract_tools:$PATH" "$contract_tools/openapi-python-client" generate --meta none \
  --url "$SERVER_URL/api/openapi.json" --output-path "$scratch/python-client/gallery_client" >/dev/null
in_background . env PYTHONPATH="$scratch/python-client" \
  "$contract_tools/python" "$contract_checks/client_scenario.py" "$SERVER_URL"

log "all checks passed"
