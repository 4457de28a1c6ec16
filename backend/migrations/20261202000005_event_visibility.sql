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
