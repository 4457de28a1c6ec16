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

-- migration 20261122000002 (users and sessions)
-- Users, their signed-in sessions (refresh-token families), and desktop QR sign-in requests.

create table users (
    id bigint generated always as identity primary key,
    -- The Max account this user signs in with.
    max_user_id bigint not null unique,
    handle text,
    display_name text not null,
    bio text not null default '',
    language text not null default 'ru',
    is_private boolean not null default false,
    photo_url text,
    -- argon2id, PHC string format; null until the user sets a password.
    password_hash text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_handle_format check (handle ~ '^[A-Za-z][A-Za-z0-9_]{2,31}$'),
    constraint users_display_name_length check (char_length(display_name) between 1 and 64),
    constraint users_bio_length check (char_length(bio) <= 500),
    constraint users_language check (language in ('ru', 'en'))
);

-- Handles are unique regardless of case: "Anna" and "anna" are the same person.
create unique index users_handle_key on users (lower(handle));
-- People search by name or handle (misspellings included).
create index users_display_name_trgm_idx on users using gin (display_name gin_trgm_ops);

create table sessions (
    id uuid primary key,
    user_id bigint not null references users (id) on delete cascade,
    method text not null,
    user_agent text not null default '',
    ip inet,
    created_at timestamptz not null default now(),
    last_used_at timestamptz not null default now(),
    -- Sliding: each refresh moves it forward by the refresh-token lifetime.
    expires_at timestamptz not null,
    revoked_at timestamptz,
    revoked_reason text,
    constraint sessions_method check (method in ('max', 'password', 'qr', 'dev')),
    constraint sessions_revoked_reason check (
        revoked_reason in ('logout', 'logout_all', 'ended', 'password_changed', 'token_reuse')
    ),
    constraint sessions_revoked_together check ((revoked_at is null) = (revoked_reason is null))
);

create index sessions_active_by_user_idx on sessions (user_id) where revoked_at is null;

-- Refresh tokens are kept only as SHA-256 digests. Using one marks it used and issues its
-- successor in the same session; presenting a used one again means it was stolen, and the
-- whole session is revoked.
create table refresh_tokens (
    token_hash bytea primary key,
    session_id uuid not null references sessions (id) on delete cascade,
    issued_at timestamptz not null default now(),
    used_at timestamptz
);

create index refresh_tokens_session_idx on refresh_tokens (session_id);

-- A desktop browser asking to be signed in by a phone that scans its QR code.
create table qr_logins (
    -- Random, URL-safe: it travels in the deep link's start parameter.
    id text primary key,
    poll_secret_hash bytea not null,
    user_agent text not null default '',
    ip inet,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    approved_by bigint references users (id) on delete cascade,
    approved_at timestamptz,
    -- Set when the desktop collected its tokens: a request signs in once.
    consumed_at timestamptz,
    constraint qr_logins_approved_together check ((approved_by is null) = (approved_at is null))
);

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
    (20261122000001, 'extensions', true, '\xef1d97c9498465194072440ab6a8115756ae51e7251c8844f980d765415f325b2039325cdc5b630285ae62caf0fe1ffb', 0),
    (20261122000002, 'users and sessions', true, '\x6f1c8b2e2d95678e9088d7f84d688dab741e7f14194e01dbdcafa2556b283eae6263c67d72b34a1613b97194056eae12', 0);

commit;
