-- The popular feed's order, most favorited first and then newest photo first, read straight
-- from an index: art objects by favorite count and photo (an object's photo_id is its
-- photo's id). The index it replaces ordered by the object's own id, which no query sorts by,
-- so every popular page sorted all visible photos.
drop index art_objects_popular_idx;
create index art_objects_popular_idx on art_objects (favorite_count desc, photo_id desc)
    where deleted_at is null;
