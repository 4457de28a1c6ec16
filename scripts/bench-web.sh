#!/usr/bin/env bash
# The web client on a phone's first visit: the bytes of wasm and js on the wire (brotli, as
# served), and how soon the first gallery photo shows at 390 px over an emulated fast 4G link
# (9 Mbit/s, 60 ms; web/tests/first-image.bench.mjs in Debian's Chromium), against the release
# server and the built client. Writes the "Web client" section of BENCHMARKS.md.
#
#   scripts/bench-web.sh           11 visits; updates BENCHMARKS.md
#   scripts/bench-web.sh --quick   1 visit, printed only (scripts/test.sh runs it)
#
# Uses web/dist as built (scripts/run.sh or scripts/test.sh build it) and GALLERY_BIN if set,
# else builds the release server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

quick=false
[ "${1:-}" = "--quick" ] && quick=true
if $quick; then visits=1; else visits=11; fi

ensure_postgres
ensure_node
find_chromium
[ -f web/dist/index.html ] || die "no web/dist: build the client first (scripts/run.sh builds it)"
gallery_bin=${GALLERY_BIN:-target/release/gallery}
if [ -z "${GALLERY_BIN:-}" ]; then
  log "building the server (release)"
  cargo build --release --locked -p gallery --bin gallery
fi
gallery_bin=$(realpath "$gallery_bin")
(cd web/tests && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error; })

scratch=$(mktemp -d -t gallery-bench-web.XXXXXX)
chmod 755 "$scratch"
pg_base="$scratch/postgres"
server_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  pkill -f "$scratch/" 2>/dev/null || true
  pg_stop "$pg_base"
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_init "$pg_base" postgres
pg_start "$pg_base"
as_pg_owner "$PG_BIN/createdb" -h "$pg_base/run" -U postgres bench
export GALLERY_BOT_TOKEN="bench-bot:0123456789abcdef"
DATABASE_URL="postgres://postgres@localhost/bench?host=$pg_base/run" GALLERY_ADDR=127.0.0.1:0 \
  GALLERY_DATA_DIR="$scratch/data" GALLERY_WEB_DIR=web/dist \
  GALLERY_JWT_SECRET="bench-secret-0123456789abcdef0123456789abcdef" GALLERY_LOG=warn,gallery=info \
  "$gallery_bin" serve >"$scratch/server.log" 2>&1 &
server_pid=$!
server_url=""
for _ in $(seq 1 300); do
  server_url=$(grep -o 'serving Max Photo Gallery on http://[0-9.:]*' "$scratch/server.log" | head -1 | sed 's/.* on //' || true)
  [ -n "$server_url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$scratch/server.log" >&2; die "the server did not start"; }
  sleep 0.1
done
[ -n "$server_url" ] || die "the server did not say where it listens"

log "first photo on a phone over fast 4G: $visits visits"
result=$(cd web/tests && TMPDIR="$scratch" GALLERY_BASE_URL="$server_url" GALLERY_BIN="$gallery_bin" \
  node first-image.bench.mjs "$visits")
median=$(printf '%s' "$result" | sed -n 's/.*"median_ms":\([0-9]*\).*/\1/p')
runs=$(printf '%s' "$result" | sed -n 's/.*"runs":\[\([0-9,]*\)\].*/\1/p' | tr ',' ' ')
brotli=$(wire_bytes br) gzip=$(wire_bytes gz)
machine="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(chromium --version 2>/dev/null || echo Chromium)"

budget=300000
if [ "$brotli" -le "$budget" ]; then size_verdict="within"; else size_verdict="**over**"; fi

report=$(cat <<REPORT
## Web client

A phone's first visit: **$brotli bytes** of wasm and js on the wire with brotli, $size_verdict
the budget of $budget bytes (300 kB; gzip-only clients get $gzip). The first gallery photo shows **$median ms**
(median of $visits visits; the target: at most 1000 ms) after navigation starts, at 390 px over
an emulated fast 4G link (9 Mbit/s, 60 ms latency), nothing cached. Every visit: $runs ms.

Machine: $machine; the server and the browser on the same host. Command:
\`scripts/bench-web.sh\` ($(date -u +%Y-%m-%d)).
REPORT
)

if $quick; then
  printf '%s\n' "$report"
  log "web client (quick): $brotli bytes (brotli), first photo at $median ms"
  exit 0
fi

write_benchmark_section "Web client" "$report"
log "BENCHMARKS.md: first photo at $median ms, $brotli bytes"
