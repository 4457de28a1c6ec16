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
