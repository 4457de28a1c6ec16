//! Reading photos: one projection for every read ([`select_photos!`]), the photo by id, and
//! the keyset-paged feed. Favorites and search read through the same projection.

use chrono::{DateTime, Utc};
use gallery_types::{ErrorCode, Photo, PhotoPage, PhotoSort, PhotoUrls, UserSummary};
use sqlx::PgExecutor;

use crate::{
    db::{DbError, During},
    error::ApiError,
};

/// Default and largest page sizes of the feed.
const DEFAULT_PAGE: i64 = 30;
pub const MAX_PAGE: i64 = 100;

/// Every photo read: the projection of a photo card (photo, art object, creator, owner, and
/// whether the viewer favorited it), written once, followed by the rest of the query, which
/// continues the `from` clause (aliases `p` photos, `o` art objects, `c` creator, `w`
/// owner). The viewer is always `$1` (null when anonymous); further arguments follow.
///
/// `select_photos!(within "before", "rest", "after", arguments…)` puts the whole between
/// `before` and `after` (a subquery, see [`whole_gallery_page`]).
macro_rules! select_photos {
    (within $before:literal, $rest:literal, $after:literal $(, $argument:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::photos::read::PhotoRow,
            $before + r#"
            select p.id, o.id as object_id, p.title, p.description, p.tags,
                   c.id as creator_id, c.handle as creator_handle, c.display_name as creator_name,
                   w.id as owner_id, w.handle as owner_handle, w.display_name as owner_name,
                   o.favorite_count,
                   exists (
                       select 1 from favorites f where f.object_id = o.id and f.user_id = $1
                   ) as "favorited!",
                   p.format, p.width, p.height, p.frame_count, p.byte_size, p.placeholder,
                   p.original_file, p.preview_file, p.thumbnail_file, p.created_at
            from photos p
            join art_objects o on o.photo_id = p.id
            join users c on c.id = p.creator_id
            join users w on w.id = o.owner_id
            "# + $rest + $after,
            $($argument),*
        )
    };
    ($rest:literal $(, $argument:expr)* $(,)?) => {
        select_photos!(within "", $rest, "" $(, $argument)*)
    };
}
pub(crate) use select_photos;

/// A row of [`select_photos!`].
pub struct PhotoRow {
    pub id: i64,
    pub object_id: i64,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub creator_id: i64,
    pub creator_handle: Option<String>,
    pub creator_name: String,
    pub owner_id: i64,
    pub owner_handle: Option<String>,
    pub owner_name: String,
    pub favorite_count: i32,
    pub favorited: bool,
    pub format: String,
    pub width: i32,
    pub height: i32,
    pub frame_count: i32,
    pub byte_size: i64,
    pub placeholder: String,
    pub original_file: Option<String>,
    pub preview_file: Option<String>,
    pub thumbnail_file: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl PhotoRow {
    pub fn into_photo(self) -> Photo {
        let url = |file: Option<String>| format!("/media/{}", file.unwrap_or_default());
        Photo {
            id: self.id,
            object_id: self.object_id,
            title: self.title,
            description: self.description,
            tags: self.tags,
            creator: UserSummary {
                id: self.creator_id,
                handle: self.creator_handle,
                display_name: self.creator_name,
            },
            owner: UserSummary {
                id: self.owner_id,
                handle: self.owner_handle,
                display_name: self.owner_name,
            },
            favorite_count: self.favorite_count,
            favorited: self.favorited,
            format: self.format,
            width: self.width,
            height: self.height,
            frame_count: self.frame_count,
            byte_size: self.byte_size,
            placeholder: self.placeholder,
            urls: PhotoUrls {
                original: url(self.original_file),
                preview: url(self.preview_file),
                thumbnail: url(self.thumbnail_file),
            },
            created_at: self.created_at,
        }
    }
}

/// One photo as `viewer` sees it; `None` if deleted or in a private collection the viewer may
/// not see.
pub async fn by_id(
    executor: impl PgExecutor<'_>,
    id: i64,
    viewer: Option<i64>,
) -> Result<Option<Photo>, DbError> {
    let row = select_photos!(
        "where p.id = $2 and p.deleted_at is null and collection_visible_to(w.id, w.is_private, $1)",
        viewer,
        id,
    )
    .fetch_optional(executor)
    .await
    .during("read a photo")?;
    Ok(row.map(PhotoRow::into_photo))
}

/// The photo of art object `object_id` as `viewer` sees it; `None` if deleted or in a private
/// collection the viewer may not see.
pub async fn by_object(
    executor: impl PgExecutor<'_>,
    object_id: i64,
    viewer: Option<i64>,
) -> Result<Option<Photo>, DbError> {
    let row = select_photos!(
        "where o.id = $2 and p.deleted_at is null and collection_visible_to(w.id, w.is_private, $1)",
        viewer,
        object_id,
    )
    .fetch_optional(executor)
    .await
    .during("read an object's photo")?;
    Ok(row.map(PhotoRow::into_photo))
}

/// One photo, unless deleted, even from a private collection: for whoever holds a right to
/// see it that privacy does not know of (a claim link's token).
pub async fn by_id_regardless_of_privacy(
    executor: impl PgExecutor<'_>,
    id: i64,
    viewer: Option<i64>,
) -> Result<Option<Photo>, DbError> {
    let row = select_photos!("where p.id = $2 and p.deleted_at is null", viewer, id)
        .fetch_optional(executor)
        .await
        .during("read a photo")?;
    Ok(row.map(PhotoRow::into_photo))
}

/// Which photos a feed shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FeedFilter {
    pub owner: Option<i64>,
    pub creator: Option<i64>,
    pub tag: Option<String>,
}

impl FeedFilter {
    /// Whether it shows the whole gallery.
    pub fn is_empty(&self) -> bool {
        self.owner.is_none() && self.creator.is_none() && self.tag.is_none()
    }
}

/// Why a feed cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("limit is 1 to {MAX_PAGE}")]
    Limit,
    #[error("the cursor is not one this server gave out")]
    Cursor,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<FeedError> for ApiError {
    fn from(error: FeedError) -> Self {
        match error {
            FeedError::Database(error) => error.into(),
            error => ApiError::new(ErrorCode::BadRequest, error.to_string()),
        }
    }
}

/// One page of the feed after `cursor`, newest or most favorited first.
pub async fn feed(
    executor: impl PgExecutor<'_>,
    viewer: Option<i64>,
    sort: PhotoSort,
    filter: &FeedFilter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PhotoPage, FeedError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(FeedError::Limit);
    }
    let cursor = cursor.map(Cursor::decode).transpose()?;
    let popular = sort == PhotoSort::Popular;
    let rows = if filter.is_empty() {
        whole_gallery_page(executor, viewer, popular, cursor, limit + 1).await
    } else {
        filtered_page(executor, viewer, popular, filter, cursor, limit + 1).await
    };
    let mut rows = rows.during("read the feed")?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().filter(|_| more).map(|last| {
        Cursor {
            favorite_count: if popular { last.favorite_count } else { 0 },
            id: last.id,
        }
        .encode()
    });
    Ok(PhotoPage {
        items: rows.into_iter().map(PhotoRow::into_photo).collect(),
        next_cursor,
    })
}

/// A page of the whole gallery. Each sort has a statement of its own with no optional
/// conditions, and a missing cursor is the position before the first photo, so that
/// PostgreSQL can walk the sort's index from the cursor and stop after `rows` (a statement
/// with `$n is null or …` conditions gets a plan for every case at once, which sorts
/// everything visible). The popular order names the art object's columns (its `photo_id` is
/// the photo's id, its `deleted_at` set with the photo's) so that `art_objects_popular_idx`
/// gives it.
///
/// The index walk is a subquery limited to the largest page, a constant, with the page's own
/// size outside it: PostgreSQL's plan for any parameters (its generic plan) is then as cheap
/// as one made for the values, so it keeps that plan instead of planning every call again,
/// which cost as much as running the statement. Rows are still read only as the page needs
/// them.
async fn whole_gallery_page(
    executor: impl PgExecutor<'_>,
    viewer: Option<i64>,
    popular: bool,
    cursor: Option<Cursor>,
    rows: i64,
) -> Result<Vec<PhotoRow>, sqlx::Error> {
    // The subqueries' `limit 101`.
    const _: () = assert!(
        MAX_PAGE + 1 == 101,
        "a page reads at most MAX_PAGE + 1 rows"
    );
    // No user has id 0 (ids start at 1): for the favorites and the private collections it
    // is the same as no viewer. A null viewer would be folded away in a plan made for it,
    // which then always looks cheaper than the generic plan: every anonymous call would be
    // planned again.
    const NOBODY: i64 = 0;
    let viewer = viewer.unwrap_or(NOBODY);
    let cursor = cursor.unwrap_or(Cursor::BEFORE_FIRST);
    if popular {
        select_photos!(
            within "select * from (",
            r#"
            where p.deleted_at is null and o.deleted_at is null
              and collection_visible_to(w.id, w.is_private, $1)
              and (o.favorite_count, o.photo_id) < ($2, $3)
            order by o.favorite_count desc, o.photo_id desc
            limit 101
            "#,
            ") page order by favorite_count desc, id desc limit $4",
            viewer,
            cursor.favorite_count,
            cursor.id,
            rows,
        )
        .fetch_all(executor)
        .await
    } else {
        select_photos!(
            within "select * from (",
            r#"
            where p.deleted_at is null
              and collection_visible_to(w.id, w.is_private, $1)
              and p.id < $2
            order by p.id desc
            limit 101
            "#,
            ") page order by id desc limit $3",
            viewer,
            cursor.id,
            rows,
        )
        .fetch_all(executor)
        .await
    }
}

/// A page of one owner's, creator's or tag's photos.
async fn filtered_page(
    executor: impl PgExecutor<'_>,
    viewer: Option<i64>,
    popular: bool,
    filter: &FeedFilter,
    cursor: Option<Cursor>,
    rows: i64,
) -> Result<Vec<PhotoRow>, sqlx::Error> {
    select_photos!(
        r#"
        where p.deleted_at is null
          and collection_visible_to(w.id, w.is_private, $1)
          and ($2::bigint is null or o.owner_id = $2)
          and ($3::bigint is null
               or p.creator_id = $3 and collection_visible_to(c.id, c.is_private, $1))
          and ($4::text is null or p.tags @> array[$4::text])
          and (
              $6::bigint is null
              or (not $5 and p.id < $6)
              or ($5 and (o.favorite_count, p.id) < ($7::integer, $6))
          )
        order by case when $5 then o.favorite_count end desc, p.id desc
        limit $8
        "#,
        viewer,
        filter.owner,
        filter.creator,
        filter.tag,
        popular,
        cursor.map(|cursor| cursor.id),
        cursor.map(|cursor| cursor.favorite_count),
        rows,
    )
    .fetch_all(executor)
    .await
}

/// A position in the feed: the last item's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    favorite_count: i32,
    id: i64,
}

impl Cursor {
    /// Before the first photo in either order.
    const BEFORE_FIRST: Cursor = Cursor {
        favorite_count: i32::MAX,
        id: i64::MAX,
    };

    /// `<favorite count>_<id>`, the form the spec's pattern for `cursor` states.
    fn encode(self) -> String {
        format!("{}_{}", self.favorite_count, self.id)
    }

    fn decode(text: &str) -> Result<Self, FeedError> {
        let (count, id) = text.split_once('_').ok_or(FeedError::Cursor)?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !(digits(count) && digits(id)) {
            return Err(FeedError::Cursor);
        }
        Ok(Cursor {
            favorite_count: count.parse().map_err(|_| FeedError::Cursor)?,
            id: id.parse().map_err(|_| FeedError::Cursor)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_foreign_ones_are_refused() {
        let cursor = Cursor {
            favorite_count: 7,
            id: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(cursor.encode(), "7_42");
        for foreign in [
            "7",
            "7_",
            "_42",
            "-7_42",
            "7_+42",
            "7_42_1",
            "99999999999_1",
        ] {
            assert!(Cursor::decode(foreign).is_err(), "{foreign}");
        }
    }
}
