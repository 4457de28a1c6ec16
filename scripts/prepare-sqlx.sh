#!/usr/bin/env bash
# Regenerates .sqlx/, the query descriptions that let `sqlx::query!` compile offline (CI,
# Docker builds, scripts/test.sh). Run it after adding or changing a query or a migration,
# and commit .sqlx/. It does what `cargo sqlx prepare` does, without installing sqlx-cli:
# a throwaway PostgreSQL gets the schema from backend/migrations, then the backend is compiled
# against it with SQLX_OFFLINE_DIR set, which makes the macros write their descriptions.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres

scratch=$(mktemp -d -t gallery-sqlx.XXXXXX)
chmod 755 "$scratch"
cleanup() { pg_stop "$scratch/postgres"; rm -rf "$scratch"; }
trap cleanup EXIT

pg_init "$scratch/postgres" postgres
pg_start "$scratch/postgres"
as_pg_owner "$PG_BIN/createdb" -h "$scratch/postgres/run" -U postgres gallery
for migration in backend/migrations/*.sql; do
  as_pg_owner "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$scratch/postgres/run" -U postgres -d gallery -f - <"$migration"
done

rm -rf .sqlx && mkdir .sqlx
touch backend/src/lib.rs # make cargo expand the macros again
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" \
  DATABASE_URL="postgres://postgres@localhost/gallery?host=$scratch/postgres/run" \
  cargo check --quiet -p gallery --all-targets
log "$(ls .sqlx | wc -l) query descriptions written to .sqlx/"
