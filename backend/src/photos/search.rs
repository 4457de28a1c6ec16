//! Search: photos by their words (title, tags, description; Russian and English word forms,
//! ranked) and people by name or handle (trigram similarity).

use gallery_types::{SearchResults, UserSummary};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use sqlx::PgPool;

use super::read::{PhotoRow, select_photos};
use crate::{
    api::ApiTag,
    auth::Viewer,
    db::{DbError, During},
    error_responses,
    rate_limit::limit_searches,
};

/// Most results of each kind a search returns.
const SEARCH_LIMIT: i64 = 30;

/// The longest query searched for: far more than anyone types, and short enough that a
/// query cannot make the database compare every name against a novel.
pub const MAX_QUERY_CHARS: usize = 200;

error_responses! {
    /// Errors of `GET /api/search`.
    pub enum SearchError {}
    rate_limited "Too many searches from this address; see `Retry-After`."
}

/// Search.
#[derive(Debug, Default)]
pub struct SearchApi;

#[OpenApi(tag = "ApiTag::Photos")]
impl SearchApi {
    /// Search
    ///
    /// Photos whose title, tags or description match `q` (Russian and English word forms,
    /// ranked), and people whose name or handle resembles it.
    #[oai(
        path = "/search",
        method = "get",
        operation_id = "search",
        transform = "limit_searches"
    )]
    async fn search(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        /// At most 200 characters; an empty query finds nothing.
        #[oai(validator(max_length = 200, pattern = r"^[^\u0000]*$"))]
        q: Query<String>,
    ) -> Result<Json<SearchResults>, SearchError> {
        Ok(Json(search(&pool, viewer.0, q.0.trim()).await?))
    }
}

/// What `viewer` finds for `query`.
pub async fn search(
    pool: &PgPool,
    viewer: Option<i64>,
    query: &str,
) -> Result<SearchResults, DbError> {
    if query.is_empty() {
        return Ok(SearchResults {
            photos: Vec::new(),
            users: Vec::new(),
        });
    }
    let photos = select_photos!(
        r#"
        cross join lateral (
            select websearch_to_tsquery('russian', $2) || websearch_to_tsquery('english', $2) as query
        ) q
        where p.deleted_at is null and collection_visible_to(w.id, w.is_private, $1) and p.search @@ q.query
        order by ts_rank(p.search, q.query) desc, p.id desc
        limit $3
        "#,
        viewer,
        query,
        SEARCH_LIMIT,
    )
    .fetch_all(pool)
    .await
    .during("search photos")?;
    // `%` and `_` are literal characters in a search, not wildcards.
    let literal = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let users = sqlx::query_as!(
        UserSummary,
        r#"
        select id, handle, display_name from users
        where display_name % $1 or handle % $1
           or display_name ilike '%' || $3 || '%' or handle ilike '%' || $3 || '%'
        order by greatest(similarity(display_name, $1), similarity(coalesce(handle, ''), $1)) desc, id
        limit $2
        "#,
        query,
        SEARCH_LIMIT,
        literal,
    )
    .fetch_all(pool)
    .await
    .during("search people")?;
    Ok(SearchResults {
        photos: photos.into_iter().map(PhotoRow::into_photo).collect(),
        users,
    })
}
