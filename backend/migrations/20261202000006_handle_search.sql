-- People are searched by handle as well as by name (`%` similarity and ILIKE): without an
-- index of its own every search read the whole users table.
create index users_handle_trgm_idx on users using gin (handle gin_trgm_ops);
