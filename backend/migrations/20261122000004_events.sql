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
