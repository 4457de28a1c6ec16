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
