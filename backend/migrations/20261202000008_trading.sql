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
