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
