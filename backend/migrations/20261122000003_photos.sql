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
