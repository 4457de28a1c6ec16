-- Max Photo Gallery: the whole schema, for a fresh database (docker-compose's first start).
--
-- Generated from backend/migrations; do not edit. After changing a migration run
--   UPDATE_DATABASE_SQL=1 scripts/test.sh   (or that variable with `cargo test --test api schema`)
-- The server applies the same migrations at start; the rows at the end tell it that they
-- are already applied here.

begin;

-- migration 20261122000001 (extensions)
-- Extensions the schema relies on.
-- pg_trgm: trigram indexes, so people can be found by a misspelt name or handle.
create extension if not exists pg_trgm;

-- sqlx's record of applied migrations
create table if not exists _sqlx_migrations (
    version bigint primary key,
    description text not null,
    installed_on timestamptz not null default now(),
    success boolean not null,
    checksum bytea not null,
    execution_time bigint not null
);

insert into _sqlx_migrations (version, description, success, checksum, execution_time) values
    (20261122000001, 'extensions', true, '\xef1d97c9498465194072440ab6a8115756ae51e7251c8844f980d765415f325b2039325cdc5b630285ae62caf0fe1ffb', 0);

commit;
