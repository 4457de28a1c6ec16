#!/usr/bin/env bash
# The write ceiling of the event stream: event-writing commits per second at 64 clients
# through the product's own write path (`publish_event`, numbered by the running server's
# relay as in production) against the same insert into an identical table with no event
# machinery — one run, one throwaway PostgreSQL, the two measured in turns; then the latency
# from commit to the sockets at a steady 1,000 writes/s (scripts/event-latency.mjs). Writes the
# result into BENCHMARKS.md (the "Write ceiling" section), with the command and the machine.
#
#   scripts/bench-writes.sh           the full run (4 × 20 s per path, 20 s of latency);
#                                     updates BENCHMARKS.md
#   scripts/bench-writes.sh --quick   2 × 2 s per path, 3 s of latency, printed only
#                                     (scripts/test.sh runs it so that the harness keeps working)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

quick=false
[ "${1:-}" = "--quick" ] && quick=true
clients=64
if $quick; then rounds=2 seconds=2 latency_seconds=3; else rounds=4 seconds=20 latency_seconds=20; fi
# The latency run: writes per second, and sockets listening on the server.
rate=1000 sockets=50

ensure_postgres
ensure_node
if [ -z "${GALLERY_BIN:-}" ]; then
  log "building the server (release)"
  cargo build --release --locked -p gallery --bin gallery
fi

scratch=$(mktemp -d -t gallery-bench.XXXXXX)
chmod 755 "$scratch"
pg_base="$scratch/postgres"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_gallery
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
as_pg_owner "$PG_BIN/createdb" -h "$pg_base/run" -U postgres bench
database_url="postgres://postgres@localhost/bench?host=$pg_base/run"
psql_bench() { as_pg_owner "$PG_BIN/psql" -h "$pg_base/run" -U postgres -d bench -v ON_ERROR_STOP=1 -qAt "$@"; }

log "starting the server on it (it applies the migrations and runs the relay)"
start_gallery "$scratch/server.log" DATABASE_URL="$database_url" GALLERY_DATA_DIR="$scratch/data" \
  GALLERY_WEB_DIR="$scratch/no-web-client" GALLERY_BOT_TOKEN="bench-bot:0123456789abcdef" \
  GALLERY_JWT_SECRET="bench-secret-0123456789abcdef0123456789abcdef"
server_url=$GALLERY_URL

# The baseline: the same row into a table just like `events` (columns, defaults, indexes),
# with nothing else.
psql_bench -c "create table plain_events (like events including all)"
payload='{"kind":"favorite_count","photo_id":1,"favorite_count":1}'
echo "insert into plain_events (kind, audience, payload) values ('favorite_count', null, '$payload');" \
  >"$scratch/plain.sql"
echo "select publish_event('favorite_count', null, '$payload'::json, null, null);" \
  >"$scratch/product.sql"

# Latency first, on a quiet server: a steady $rate writes/s, each event carrying the time just
# before its commit; the sockets note when it reached them.
log "latency: $rate writes/s for $latency_seconds s, $sockets sockets"
echo "select publish_event('favorite_count', null, json_build_object('kind', 'favorite_count', 'photo_id', 0, 'favorite_count', 0, 'sent_at', extract(epoch from clock_timestamp())), null, null);" \
  >"$scratch/latency.sql"
node --experimental-websocket scripts/event-latency.mjs "$server_url" "$sockets" "$((latency_seconds + 10))" \
  "$((rate * latency_seconds * 99 / 100))" >"$scratch/latency.json" 2>"$scratch/latency.log" &
latency_pid=$!
for _ in $(seq 1 300); do
  grep -q 'all sockets open' "$scratch/latency.log" && break
  kill -0 "$latency_pid" 2>/dev/null || { cat "$scratch/latency.log" >&2; die "the latency client stopped"; }
  sleep 0.1
done
as_pg_owner "$PG_BIN/pgbench" -h "$pg_base/run" -U postgres -n -c 8 -j 2 -R "$rate" \
  -T "$latency_seconds" -f "$scratch/latency.sql" bench >/dev/null 2>&1
wait "$latency_pid"
latency=$(cat "$scratch/latency.json")
field() { printf '%s' "$latency" | sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p"; }
deliveries=$(field deliveries) p50=$(field p50_ms) p99=$(field p99_ms) max=$(field max_ms)

# tps of one pgbench run of SCRIPT.
measure() {
  as_pg_owner "$PG_BIN/pgbench" -h "$pg_base/run" -U postgres -n -c "$clients" -j 2 -T "$seconds" \
    -f "$1" bench 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
plain_runs=() product_runs=()
for round in $(seq 1 "$rounds"); do
  log "round $round of $rounds: $clients clients, $seconds s each"
  plain_runs+=("$(measure "$scratch/plain.sql")")
  product_runs+=("$(measure "$scratch/product.sql")")
done

# Every event written is numbered by the relay soon after (the bench also checks that).
numbered() { psql_bench -c 'select count(*) from events_between(0, 9223372036854775807)'; }
written() { psql_bench -c 'select count(*) from events'; }
for _ in $(seq 1 600); do
  [ "$(numbered)" = "$(written)" ] && break
  sleep 0.1
done
[ "$(numbered)" = "$(written)" ] || die "$(( $(written) - $(numbered) )) events were not numbered within a minute"
# The server keeps the newest events only (GALLERY_EVENTS_WINDOW): those have no gaps.
gaps=$(psql_bench -c 'select max(seq) - min(seq) + 1 - count(*) from events_between(0, 9223372036854775807)')
[ "$gaps" = 0 ] || die "the numbers have $gaps gaps"

mean() { printf '%s\n' "$@" | awk '{ sum += $1 } END { printf "%.0f", sum / NR }'; }
plain=$(mean "${plain_runs[@]}")
product=$(mean "${product_runs[@]}")
ratio=$(awk -v a="$product" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
events=$(psql_bench -c 'select max(seq) from events_between(0, 9223372036854775807)')
machine="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $("$PG_BIN/postgres" --version)"

report=$(cat <<EOF
## Write ceiling

Event-writing commits per second at $clients clients, through the product's write path
(\`publish_event\`, while a running server's relay numbers every event) and, as the limit, the
same insert into a table just like \`events\` with no event machinery. $rounds turns of $seconds s
each, alternating; the figure is the mean. The relay numbered all $events events, without gaps.

| path | commits/s | runs | ratio to the limit |
|---|---|---|---|
| \`insert into plain_events …\` (the limit) | $plain | ${plain_runs[*]} | 1.00 |
| \`select publish_event(…)\` (the product) | $product | ${product_runs[*]} | $ratio |

Latency from commit to the sockets at $rate event-writing commits/s for $latency_seconds s
(\`pgbench -R $rate\`), $sockets sockets on the server, timed from just before each commit (so
the commit's own WAL flush counts too): $deliveries deliveries; p50 $p50 ms, **p99 $p99 ms**
(the target: at most 50 ms), max $max ms.

Machine: $machine. Command: \`scripts/bench-writes.sh\` ($(date -u +%Y-%m-%d)).
EOF
)

if $quick; then
  printf '%s\n' "$report"
  log "write ceiling (quick): product $product commits/s, limit $plain, ratio $ratio, latency p99 $p99 ms"
  exit 0
fi

write_benchmark_section "Write ceiling" "$report"
log "BENCHMARKS.md: product $product commits/s, limit $plain, ratio $ratio"
