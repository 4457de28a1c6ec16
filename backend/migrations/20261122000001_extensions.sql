-- Extensions the schema relies on.
-- pg_trgm: trigram indexes, so people can be found by a misspelt name or handle.
create extension if not exists pg_trgm;
