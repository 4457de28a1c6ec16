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

-- migration 20261122000003 (photos)
-- Photos, the art objects they become, favorites, and the append-only ownership history.

-- Tags as one string for full-text search. array_to_string is only STABLE in general (it
-- calls element output functions), but for text[] it cannot change: immutable in fact, so
-- a generated column may use it through this wrapper.
create function photo_tags_text(tags text[]) returns text
language sql immutable parallel safe
return array_to_string(tags, ' ');

create table photos (
    id bigint generated always as identity primary key,
    creator_id bigint not null references users (id),
    -- SHA-256 of the uploaded bytes: one image content is minted once.
    content_sha256 bytea not null,
    -- The served files, named by the SHA-256 of their own bytes (never by user input);
    -- null once the photo is deleted, so the sweep can remove them.
    original_file text,
    preview_file text,
    thumbnail_file text,
    format text not null,
    width integer not null,
    height integer not null,
    frame_count integer not null default 1,
    byte_size bigint not null,
    -- A blurhash of the image, painted while the thumbnail loads.
    placeholder text not null,
    title text not null default '',
    description text not null default '',
    tags text[] not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz,
    -- Russian and English stemming together: people write titles in either.
    search tsvector generated always as (
        setweight(to_tsvector('russian', title), 'A') ||
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('russian', photo_tags_text(tags)), 'B') ||
        setweight(to_tsvector('english', photo_tags_text(tags)), 'B') ||
        setweight(to_tsvector('russian', description), 'C') ||
        setweight(to_tsvector('english', description), 'C')
    ) stored,
    constraint photos_format check (format in ('jpeg', 'png', 'gif', 'webp')),
    constraint photos_title_length check (char_length(title) <= 200),
    constraint photos_description_length check (char_length(description) <= 2000),
    constraint photos_tags_count check (cardinality(tags) <= 20),
    constraint photos_files_present check (
        deleted_at is not null
        or (original_file is not null and preview_file is not null and thumbnail_file is not null)
    )
);

create unique index photos_content_key on photos (content_sha256) where deleted_at is null;
create index photos_search_idx on photos using gin (search);
create index photos_tags_idx on photos using gin (tags);
create index photos_creator_idx on photos (creator_id, id desc);

create table art_objects (
    id bigint generated always as identity primary key,
    photo_id bigint not null unique references photos (id),
    owner_id bigint not null references users (id),
    favorite_count integer not null default 0 check (favorite_count >= 0),
    created_at timestamptz not null default now(),
    deleted_at timestamptz
);

create index art_objects_owner_idx on art_objects (owner_id, id desc) where deleted_at is null;
create index art_objects_popular_idx on art_objects (favorite_count desc, id desc) where deleted_at is null;

create table favorites (
    user_id bigint not null references users (id) on delete cascade,
    object_id bigint not null references art_objects (id),
    created_at timestamptz not null default now(),
    primary key (user_id, object_id)
);

create index favorites_object_idx on favorites (object_id);

-- Every change of hands, in order, each entry linked to the previous one by a hash so that
-- any tampering shows. Rows can be added, never changed or removed.
create table ownership_history (
    id bigint generated always as identity primary key,
    object_id bigint not null references art_objects (id),
    -- 1 for the mint, then 2, 3, ... per object.
    position integer not null,
    kind text not null,
    from_user_id bigint references users (id),
    to_user_id bigint references users (id),
    created_at timestamptz not null default now(),
    -- SHA-256 over the previous entry's hash and this entry's fields (see the server's
    -- ownership module for the exact encoding); the mint's previous hash is 32 zero bytes.
    previous_hash bytea not null,
    hash bytea not null,
    unique (object_id, position),
    constraint ownership_history_kind check (kind in ('mint', 'gift', 'claim', 'trade', 'delete')),
    constraint ownership_history_hash_length check (octet_length(hash) = 32 and octet_length(previous_hash) = 32)
);

create function ownership_history_is_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'ownership_history is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger ownership_history_no_update_or_delete
    before update or delete on ownership_history
    for each row execute function ownership_history_is_append_only();

create trigger ownership_history_no_truncate
    before truncate on ownership_history
    for each statement execute function ownership_history_is_append_only();

-- Serving a file asks which photo it belongs to (and whether its owner shows it).
create index photos_original_file_idx on photos (original_file);
create index photos_preview_file_idx on photos (preview_file);
create index photos_thumbnail_file_idx on photos (thumbnail_file);

-- migration 20261122000004 (events)
-- Realtime: every change is an event with a global sequence number, written in the same
-- transaction as the change (see backend/src/events). Clients resume from the last `seq` they
-- saw; the newest `GALLERY_EVENTS_WINDOW` events are kept for that, older ones are deleted.

create table events (
    seq bigint generated always as identity primary key,
    kind text not null,
    -- Who may see it: null for everyone, otherwise exactly these users.
    audience bigint[],
    -- The event as clients receive it (`gallery_types::Event`), serialized once.
    payload json not null,
    created_at timestamptz not null default now(),
    constraint events_audience_not_empty check (audience is null or cardinality(audience) > 0)
);

-- Single-use passes for opening a signed-in WebSocket (`POST /api/ws/ticket`).
create table ws_tickets (
    ticket_hash bytea primary key,
    session_id uuid not null references sessions (id) on delete cascade,
    expires_at timestamptz not null
);
create index ws_tickets_expires_at_idx on ws_tickets (expires_at);

-- Appends an event and announces it to every instance's listener (`NOTIFY gallery_events`,
-- payload: the sequence number; delivered when the transaction commits). Call it as the last
-- statement of the transaction that makes the change.
--
-- Ordering: the transaction-level advisory lock is held from before the sequence number is
-- drawn until the transaction ends, so event-writing transactions commit in sequence order.
-- A reader that sees event N therefore sees every event before N that will ever commit:
-- nothing can commit "late" behind a number already delivered, and gaps are only rolled-back
-- transactions. (Committing a NOTIFY takes a database-wide lock anyway, so this costs little
-- concurrency on top.)
create function publish_event(event_kind text, event_audience bigint[], event_payload json)
returns bigint
language plpgsql
as $$
declare
    new_seq bigint;
begin
    perform pg_advisory_xact_lock(7412063001);
    insert into events (kind, audience, payload)
    values (event_kind, event_audience, event_payload)
    returning seq into new_seq;
    perform pg_notify('gallery_events', new_seq::text);
    return new_seq;
end;
$$;

-- migration 20261202000005 (event visibility)
-- Who may see an event is decided again whenever it is read (replayed on a socket, or served
-- by GET /api/events), not only when it was written: an event about a photo is shown only
-- while the photo exists (its deletion excepted) and its current owner's profile is public,
-- or to that owner. A photo's title, tags and files are never replayed to anyone who may no
-- longer see them.

-- The photo an event is about, if any.
alter table events add column photo_id bigint;

-- Events written before this column existed name their photo only in the payload.
update events
set photo_id = coalesce((payload -> 'photo' ->> 'id')::bigint, (payload ->> 'photo_id')::bigint)
where kind in ('photo_created', 'photo_updated', 'photo_deleted', 'favorite_count');

-- Whether `viewer` (null: anonymous) may see an event with these columns now. Every read of
-- the events table for a client goes through it.
create function event_visible_to(
    event_audience bigint[],
    event_kind text,
    event_photo_id bigint,
    viewer bigint
)
returns boolean
language sql
stable
as $$
    select (event_audience is null or viewer = any (event_audience))
       and (event_photo_id is null or exists (
               select 1
               from photos p
               join art_objects o on o.photo_id = p.id
               join users w on w.id = o.owner_id
               where p.id = event_photo_id
                 and (not w.is_private or w.id = viewer)
                 and (p.deleted_at is null or event_kind = 'photo_deleted')
           ))
$$;

-- As before (see migration 0004), now also recording the event's photo.
drop function publish_event(text, bigint[], json);
create function publish_event(
    event_kind text,
    event_audience bigint[],
    event_payload json,
    event_photo_id bigint
)
returns bigint
language plpgsql
as $$
declare
    new_seq bigint;
begin
    perform pg_advisory_xact_lock(7412063001);
    insert into events (kind, audience, payload, photo_id)
    values (event_kind, event_audience, event_payload, event_photo_id)
    returning seq into new_seq;
    perform pg_notify('gallery_events', new_seq::text);
    return new_seq;
end;
$$;

-- migration 20261202000006 (handle search)
-- People are searched by handle as well as by name (`%` similarity and ILIKE): without an
-- index of its own every search read the whole users table.
create index users_handle_trgm_idx on users using gin (handle gin_trgm_ops);

-- migration 20261202000007 (qr number matching)
-- QR sign-in against phishing and fixation: the desktop shows a number, the phone must pick
-- it among decoys (a link forwarded in a chat cannot be approved blindly), and the first
-- signed-in user to open a request is the only one who may see, approve or decline it.
alter table qr_logins
    add column match_code smallint,
    add column match_choices smallint[],
    add column viewed_by bigint references users (id) on delete cascade;

-- Requests open while this migrates (they live two minutes) cannot be matched: they expire.
update qr_logins set match_code = 0, match_choices = '{}', expires_at = least(expires_at, now())
where match_code is null;

alter table qr_logins
    alter column match_code set not null,
    alter column match_choices set not null,
    add constraint qr_logins_match_code_range check (match_code between 0 and 99);

-- migration 20261202000008 (trading)
-- Ownership changing hands: claim links (QR hand-over), trade offers, idempotency keys, and
-- events that the users taking part always see.

-- One-time links that hand an object to whoever claims it first. The token is the link's
-- secret (the owner may show its QR code again, so it is kept as it is).
create table claim_links (
    id bigint generated always as identity primary key,
    token text not null unique,
    object_id bigint not null references art_objects (id),
    owner_id bigint not null references users (id),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    -- At most one of these ends the link: claimed, or revoked (by its owner, or because the
    -- object changed hands another way).
    claimed_at timestamptz,
    claimed_by bigint references users (id),
    revoked_at timestamptz,
    constraint claim_links_claimed_together check ((claimed_at is null) = (claimed_by is null)),
    constraint claim_links_ended_once check (claimed_at is null or revoked_at is null)
);

create index claim_links_owner_idx on claim_links (owner_id, id desc);
create index claim_links_open_object_idx on claim_links (object_id)
    where claimed_at is null and revoked_at is null;

-- Trade offers: the proposer gives some objects and asks for some of the recipient's.
create table trade_offers (
    id bigint generated always as identity primary key,
    proposer_id bigint not null references users (id),
    recipient_id bigint not null references users (id),
    message text not null default '',
    state text not null default 'pending',
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    closed_at timestamptz,
    -- The offer this one answers (its `countered_by` names this one).
    counter_of bigint references trade_offers (id),
    countered_by bigint references trade_offers (id),
    constraint trade_offers_state check (
        state in ('pending', 'accepted', 'declined', 'cancelled', 'countered', 'expired', 'invalidated')
    ),
    constraint trade_offers_closed check ((state = 'pending') = (closed_at is null)),
    constraint trade_offers_two_parties check (proposer_id <> recipient_id)
);

create index trade_offers_recipient_idx on trade_offers (recipient_id, id desc);
create index trade_offers_proposer_idx on trade_offers (proposer_id, id desc);
create index trade_offers_pending_expiry_idx on trade_offers (expires_at) where state = 'pending';

-- What an offer moves: `give` from the proposer to the recipient, `ask` the other way.
create table trade_offer_items (
    offer_id bigint not null references trade_offers (id),
    object_id bigint not null references art_objects (id),
    side text not null,
    primary key (offer_id, object_id),
    constraint trade_offer_items_side check (side in ('give', 'ask'))
);

-- Open offers holding an object are found (and invalidated) whenever it changes hands.
create index trade_offer_items_object_idx on trade_offer_items (object_id);

-- `Idempotency-Key`s of the last 24 hours: the first answer, replayed for a repeat.
create table idempotency_keys (
    user_id bigint not null references users (id) on delete cascade,
    key text not null,
    -- The operation and a SHA-256 of what was asked (path and body): a key reused for another
    -- request is refused.
    fingerprint bytea not null,
    -- Null while the first request runs.
    response jsonb,
    created_at timestamptz not null default now(),
    primary key (user_id, key)
);

create index idempotency_keys_created_idx on idempotency_keys (created_at);

-- The users an event concerns: they see it even when the photo it is about has become
-- invisible to them (the previous owner of an object now in a private collection).
alter table events add column parties bigint[];

drop function event_visible_to(bigint[], text, bigint, bigint);
create function event_visible_to(
    event_audience bigint[],
    event_kind text,
    event_photo_id bigint,
    event_parties bigint[],
    viewer bigint
)
returns boolean
language sql
stable
as $$
    select (event_audience is null or viewer = any (event_audience))
       and (event_photo_id is null
            or viewer = any (event_parties)
            or exists (
               select 1
               from photos p
               join art_objects o on o.photo_id = p.id
               join users w on w.id = o.owner_id
               where p.id = event_photo_id
                 and (not w.is_private or w.id = viewer)
                 and (p.deleted_at is null or event_kind = 'photo_deleted')
           ))
$$;

drop function publish_event(text, bigint[], json, bigint);
create function publish_event(
    event_kind text,
    event_audience bigint[],
    event_payload json,
    event_photo_id bigint,
    event_parties bigint[]
)
returns bigint
language plpgsql
as $$
declare
    new_seq bigint;
begin
    perform pg_advisory_xact_lock(7412063001);
    insert into events (kind, audience, payload, photo_id, parties)
    values (event_kind, event_audience, event_payload, event_photo_id, event_parties)
    returning seq into new_seq;
    perform pg_notify('gallery_events', new_seq::text);
    return new_seq;
end;
$$;

-- migration 20261202000009 (profile requests)
-- Profile requests: who asked to see a private profile, and who may. A private user's
-- collection is visible to them, to whoever holds an approved request, and to nobody else;
-- `collection_visible_to` is that rule, and every read of photos, objects, history, events
-- and media goes through it.

create table profile_requests (
    id bigint generated always as identity primary key,
    -- The profile asked about, and who asks.
    owner_id bigint not null references users (id) on delete cascade,
    requester_id bigint not null references users (id) on delete cascade,
    message text not null default '',
    state text not null default 'pending',
    created_at timestamptz not null default now(),
    -- When it was approved, rejected or withdrawn; an approval keeps this time when revoked.
    decided_at timestamptz,
    -- When an approved request was revoked.
    revoked_at timestamptz,
    constraint profile_requests_state check (
        state in ('pending', 'approved', 'rejected', 'withdrawn', 'revoked')
    ),
    constraint profile_requests_not_own check (owner_id <> requester_id),
    constraint profile_requests_message_length check (char_length(message) <= 500)
);

-- At most one open (pending or approved) request between two people.
create unique index profile_requests_open_idx on profile_requests (owner_id, requester_id)
    where state in ('pending', 'approved');
create index profile_requests_owner_idx on profile_requests (owner_id, id desc);
create index profile_requests_requester_idx on profile_requests (requester_id, id desc);

-- Whether `viewer` (null: anonymous) may see the collection of `owner`, whose profile is
-- private or not (`owner_is_private`, passed in because every caller has the row at hand).
-- Never null: an anonymous viewer of a private collection gets false.
create function collection_visible_to(owner bigint, owner_is_private boolean, viewer bigint)
returns boolean
language sql
stable
as $$
    select not owner_is_private
        or coalesce(owner = viewer, false)
        or exists (
            select 1 from profile_requests r
            where r.owner_id = owner and r.requester_id = viewer and r.state = 'approved'
        )
$$;

-- As before (migration 0008), with profile access: an event about a photo is seen by whoever
-- may see the collection the photo is in now.
drop function event_visible_to(bigint[], text, bigint, bigint[], bigint);
create function event_visible_to(
    event_audience bigint[],
    event_kind text,
    event_photo_id bigint,
    event_parties bigint[],
    viewer bigint
)
returns boolean
language sql
stable
as $$
    select (event_audience is null or viewer = any (event_audience))
       and (event_photo_id is null
            or viewer = any (event_parties)
            or exists (
               select 1
               from photos p
               join art_objects o on o.photo_id = p.id
               join users w on w.id = o.owner_id
               where p.id = event_photo_id
                 and collection_visible_to(w.id, w.is_private, viewer)
                 and (p.deleted_at is null or event_kind = 'photo_deleted')
           ))
$$;

-- migration 20261202000010 (event relay)
-- Writers no longer line up: an event is appended with the id of the transaction writing it,
-- without a global lock and without a NOTIFY, so event-writing transactions commit as freely
-- as any others. Its place in the stream (`seq`, what clients see and resume from) is given
-- later, in batches, by the relay (backend/src/events/relay.rs, one per database at a time):
-- once no transaction that started before it is still running.
--
-- The rule (the transactional-outbox horizon): `pg_snapshot_xmin(pg_current_snapshot())` is
-- the oldest transaction still running. Every event written by an older transaction is final
-- (committed, or gone with a rollback), and every event yet to commit comes from that
-- transaction or a newer one. The relay numbers the final events in (transaction id, entry)
-- order, after everything numbered before: so whoever has seen event N has seen every event
-- before N that will ever exist, exactly as when writers took turns.

-- The order events were appended in (any order of commits), and the transaction that wrote
-- each. Events already here were numbered long ago: their transaction is left as 0, below
-- every real one.
alter table events drop constraint events_pkey;
alter table events alter column seq drop identity;
alter table events add column entry bigint generated always as identity primary key;
alter table events add column xid xid8 not null default '0';
alter table events alter column xid set default pg_current_xact_id();
create index events_xid_idx on events (xid, entry);

-- The relay's batches: events `entries[1..n]` have the numbers `first_seq .. last_seq`, in that
-- order; every event written by a transaction older than `horizon` is in this batch or an
-- earlier one. One row per batch, not an update per event: numbering costs writers nothing.
create table event_batches (
    first_seq bigint primary key,
    last_seq bigint not null unique,
    horizon xid8 not null,
    entries bigint[] not null,
    constraint event_batches_length check (last_seq - first_seq + 1 = cardinality(entries))
);

-- The events already here keep their numbers: a batch each (numbers may have gaps).
insert into event_batches (first_seq, last_seq, horizon, entries)
select seq, seq, '1', array[entry] from events;
alter table events drop column seq;

-- The numbered events with `after_seq < seq <= until_seq`, with their numbers: every read of
-- the stream goes through it (it looks only at the batches that hold such numbers).
create function events_between(after_seq bigint, until_seq bigint)
returns table (
    seq bigint, entry bigint, kind text, audience bigint[], payload json, photo_id bigint,
    parties bigint[]
)
language sql
stable
as $$
    select b.first_seq + u.position - 1, e.entry, e.kind, e.audience, e.payload, e.photo_id,
           e.parties
    from event_batches b
    cross join lateral unnest(b.entries) with ordinality as u(entry, position)
    join events e on e.entry = u.entry
    where b.last_seq > after_seq and b.first_seq <= until_seq
      and b.first_seq + u.position - 1 > after_seq
      and b.first_seq + u.position - 1 <= until_seq
$$;

-- Appends an event, which becomes visible when the transaction commits and is numbered by the
-- relay soon after. Returns the event's entry (not yet its `seq`).
drop function publish_event(text, bigint[], json, bigint, bigint[]);
create function publish_event(
    event_kind text,
    event_audience bigint[],
    event_payload json,
    event_photo_id bigint,
    event_parties bigint[]
)
returns bigint
language plpgsql
as $$
declare
    new_entry bigint;
begin
    -- PL/pgSQL keeps the insert's plan for the session; an SQL function would plan it anew
    -- at every call.
    insert into events (kind, audience, payload, photo_id, parties)
    values (event_kind, event_audience, event_payload, event_photo_id, event_parties)
    returning entry into new_entry;
    return new_entry;
end;
$$;

-- Numbers the events no running transaction can precede any more — those written by
-- transactions older than the oldest still running (`pg_snapshot_xmin`) and newer than the
-- last batch's horizon — in (transaction, entry) order, after the highest number given so
-- far, as one batch; announces them to every instance's listener (one `NOTIFY`, payload: the
-- newest number). Returns the newest number (null: nothing was ready). The relay calls it
-- every few milliseconds, and a read of the event log first, so that the log includes what
-- committed just before. One caller numbers at a time: the lock is held to the end of the
-- caller's transaction.
create function settle_events()
returns bigint
language plpgsql
as $$
declare
    previous_last bigint;
    previous_horizon xid8;
    horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
    picked bigint[];
    first bigint;
    last bigint;
begin
    perform pg_advisory_xact_lock(7412063003);
    select b.last_seq, b.horizon into previous_last, previous_horizon
    from event_batches b order by b.last_seq desc limit 1;
    select array_agg(e.entry order by e.xid, e.entry) into picked
    from events e
    where e.xid < horizon and (previous_horizon is null or e.xid >= previous_horizon);
    if picked is null then
        return null;
    end if;
    first := coalesce(previous_last, 0) + 1;
    last := first + cardinality(picked) - 1;
    insert into event_batches (first_seq, last_seq, horizon, entries)
    values (first, last, horizon, picked);
    perform pg_notify('gallery_events', last::text);
    return last;
end;
$$;

-- migration 20261202000011 (popular order)
-- The popular feed's order, most favorited first and then newest photo first, read straight
-- from an index: art objects by favorite count and photo (an object's photo_id is its
-- photo's id). The index it replaces ordered by the object's own id, which no query sorts by,
-- so every popular page sorted all visible photos.
drop index art_objects_popular_idx;
create index art_objects_popular_idx on art_objects (favorite_count desc, photo_id desc)
    where deleted_at is null;

-- migration 20261202000012 (inline collection visibility)
-- `collection_visible_to` (migration 0009), the same rule in a form PostgreSQL inlines into
-- the statements that call it. A SQL function whose body holds a subquery is never inlined:
-- it ran as a function call for every row a read looked at, even for a public collection,
-- and that cost a feed page a quarter of its database time. The subquery now lives in a
-- function of its own, reached only for a private collection that is not the viewer's.

-- Whether `viewer` holds an approved request to see the collection of `owner`.
create function profile_access_granted(owner bigint, viewer bigint)
returns boolean
language sql
stable
as $$
    select exists (
        select 1 from profile_requests r
        where r.owner_id = owner and r.requester_id = viewer and r.state = 'approved'
    )
$$;

-- Whether `viewer` (null: anonymous) may see the collection of `owner`, whose profile is
-- private or not. Never null: an anonymous viewer of a private collection gets false.
create or replace function collection_visible_to(owner bigint, owner_is_private boolean, viewer bigint)
returns boolean
language sql
stable
as $$
    select not owner_is_private
        or coalesce(owner = viewer, false)
        or profile_access_granted(owner, viewer)
$$;

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
    (20261122000002, 'users and sessions', true, '\x6f1c8b2e2d95678e9088d7f84d688dab741e7f14194e01dbdcafa2556b283eae6263c67d72b34a1613b97194056eae12', 0),
    (20261122000003, 'photos', true, '\xcfd1d54c9ee808edcd2d3138a6b27ac15ead516cb94cc010e6a40eda2a9bcd7f3a72fe90ef08798bcd0d49c4c442d3eb', 0),
    (20261122000004, 'events', true, '\xff253a6abd011f34ed333a80e3774f03be95f850913726ae3f4370c194913030dfdf18df7170429e9f2ac8139cd36e86', 0),
    (20261202000005, 'event visibility', true, '\x7a81ee3676c69caa26f478ff2b4adab68278b5f7a098d70006fc6f2505e8078d738569120d6f1a95124b5435828bc51a', 0),
    (20261202000006, 'handle search', true, '\x6ae921900041090b7e45cd98a2de0bbaf86a7fbee2eeb256220251164fd74591b856be0ced544eee7e380cc742d1807c', 0),
    (20261202000007, 'qr number matching', true, '\xb16c09d96a22d16edab1b9638e1ca538f5b51a9da61939a2a38a8a25afa62599c30133a39f418564ffd1aefc10e25fbd', 0),
    (20261202000008, 'trading', true, '\xfe47c1ce67260cc82864f9e9cfef885628054fd71e15b609d02cfe2011d708db07fedaeff76c0982172fda79f069d327', 0),
    (20261202000009, 'profile requests', true, '\xebe5a74be68dbacdf9bf1f5305b5c80925df2c77760a0468cc9b2bd865b643adb3a0e186be09cc96f39987667fa93765', 0),
    (20261202000010, 'event relay', true, '\xd44c1baf032a178a0c19c1dca1b7ea3d0282ba63580f86456f9716f6800c6727ed3a52f7fdbe5dc7e32d08475ec41470', 0),
    (20261202000011, 'popular order', true, '\x3ec8ffb1c8f088f32989b7168f393ef53389d9ccbac1a034cf8c3641756fd7369d28f569fe192312f567b70baf27d088', 0),
    (20261202000012, 'inline collection visibility', true, '\x8ef9140681a71a3668499e2d0074e78b511082ccbe052b0fe7788935c7fd64177c1bfcbe7fcce86748ace19a014e08e3', 0);

commit;
