//! Photos and the art objects they become: upload, the feed, a photo's page, editing,
//! deleting, favorites and search. Media files are served by [`media`].

pub mod gif_clean;
pub mod media;
pub mod pipeline;
pub mod storage;
mod upload;

use std::{path::PathBuf, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use gallery_types::{
    DuplicatePhoto, ErrorCode, Event, FavoriteCount, Photo, PhotoCreated, PhotoDeleted, PhotoPage,
    PhotoSort, PhotoUpdated, PhotoUrls, SearchResults, UpdatePhotoRequest, UserSummary,
};
use poem::{FromRequest, Request, RequestBody, http::StatusCode, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use sqlx::{PgConnection, PgExecutor, PgPool};
use tokio::sync::Semaphore;

use self::{
    pipeline::{PipelineError, Processed, UploadLimits},
    storage::MediaStore,
    upload::PhotoUploadForm,
};
use crate::{
    auth::{BearerAuth, sessions, tokens::AccessTokens},
    config::PhotoConfig,
    error::{ApiError, violated_constraint},
    error_responses,
    events::{self, Audience},
    ownership::{self, EntryKind},
    startup::{ApiTag, AppState},
};

/// Most characters of a title, a description, a tag; most tags.
const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2000;
const MAX_TAG_CHARS: usize = 40;
const MAX_TAGS: usize = 20;
/// Default and largest page sizes of the feed.
const DEFAULT_PAGE: i64 = 30;
const MAX_PAGE: i64 = 100;
/// Most results of each kind a search returns.
const SEARCH_LIMIT: i64 = 30;
/// An upload waits at most this long for a decoder before the server says it is busy.
const DECODE_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the photo routes share.
pub struct PhotosState {
    pub store: MediaStore,
    pub limits: UploadLimits,
    pub max_upload_bytes: u64,
    /// Decoding takes a core and up to hundreds of megabytes: a few at a time.
    pub decoders: Arc<Semaphore>,
}

impl PhotosState {
    pub fn new(config: &PhotoConfig, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            store: MediaStore::open(data_dir)?,
            limits: UploadLimits {
                max_pixels: config.max_megapixels * 1_000_000,
                max_side: config.max_side,
                max_frames: config.max_frames,
            },
            max_upload_bytes: config.max_upload_mib * 1024 * 1024,
            decoders: Arc::new(Semaphore::new(config.decode_concurrency.max(1))),
        })
    }

    pub fn staging_dir(&self) -> PathBuf {
        self.store.temp_dir()
    }
}

/// Tags from a comma-separated field: trimmed, empty ones dropped, duplicates removed
/// (case-insensitively, keeping the first spelling).
pub fn parse_tags(field: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in field
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
    {
        if !tags
            .iter()
            .any(|seen| seen.to_lowercase() == tag.to_lowercase())
        {
            tags.push(tag.to_owned());
        }
    }
    tags
}

fn check_fields(
    title: Option<&str>,
    description: Option<&str>,
    tags: Option<&[String]>,
) -> Result<(), ApiError> {
    let invalid = |message: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidPhoto,
            message,
        )
    };
    if title.is_some_and(|title| title.chars().count() > MAX_TITLE_CHARS) {
        return Err(invalid(format!(
            "a title is at most {MAX_TITLE_CHARS} characters"
        )));
    }
    if description.is_some_and(|description| description.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(invalid(format!(
            "a description is at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if let Some(tags) = tags {
        if tags.len() > MAX_TAGS {
            return Err(invalid(format!("at most {MAX_TAGS} tags")));
        }
        if tags
            .iter()
            .any(|tag| tag.chars().count() > MAX_TAG_CHARS || tag.contains(','))
        {
            return Err(invalid(format!(
                "a tag is at most {MAX_TAG_CHARS} characters, without commas"
            )));
        }
    }
    Ok(())
}

/// The signed-in viewer, if the request carries a valid access token of a live session;
/// anonymous otherwise. For reads that anyone may make but that show a signed-in viewer a
/// little more (their private photos, their private events).
#[derive(Debug, Clone, Copy)]
pub struct Viewer(pub Option<i64>);

impl<'a> FromRequest<'a> for Viewer {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = request
            .data::<AppState>()
            .expect("the app state is attached to every request");
        let claims = request
            .headers()
            .get(poem::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| state.auth.tokens.verify(token).ok());
        let Some(claims) = claims else {
            return Ok(Viewer(None));
        };
        let Ok(user_id) = AccessTokens::user_id(&claims) else {
            return Ok(Viewer(None));
        };
        // A token outlives its session by up to its lifetime: only a live session counts.
        let user = sessions::active_user(&state.pool, claims.sid, user_id).await?;
        Ok(Viewer(user.map(|user| user.id)))
    }
}

/// A row of the photo queries.
struct PhotoRow {
    id: i64,
    object_id: i64,
    title: String,
    description: String,
    tags: Vec<String>,
    creator_id: i64,
    creator_handle: Option<String>,
    creator_name: String,
    owner_id: i64,
    owner_handle: Option<String>,
    owner_name: String,
    favorite_count: i32,
    favorited: bool,
    format: String,
    width: i32,
    height: i32,
    frame_count: i32,
    byte_size: i64,
    placeholder: String,
    original_file: Option<String>,
    preview_file: Option<String>,
    thumbnail_file: Option<String>,
    created_at: DateTime<Utc>,
}

impl PhotoRow {
    fn into_photo(self) -> Photo {
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

/// One photo as `viewer` sees it; `None` if deleted or hidden by a private owner.
async fn photo_by_id(
    executor: impl PgExecutor<'_>,
    id: i64,
    viewer: Option<i64>,
) -> Result<Option<Photo>, ApiError> {
    let row = sqlx::query_as!(
        PhotoRow,
        r#"
        select p.id, o.id as object_id, p.title, p.description, p.tags,
               c.id as creator_id, c.handle as creator_handle, c.display_name as creator_name,
               w.id as owner_id, w.handle as owner_handle, w.display_name as owner_name,
               o.favorite_count,
               exists (select 1 from favorites f where f.object_id = o.id and f.user_id = $2) as "favorited!",
               p.format, p.width, p.height, p.frame_count, p.byte_size, p.placeholder,
               p.original_file, p.preview_file, p.thumbnail_file, p.created_at
        from photos p
        join art_objects o on o.photo_id = p.id
        join users c on c.id = p.creator_id
        join users w on w.id = o.owner_id
        where p.id = $1 and p.deleted_at is null and (not w.is_private or w.id = $2)
        "#,
        id,
        viewer,
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(PhotoRow::into_photo))
}

/// A position in the feed: the last item's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    favorite_count: i32,
    id: i64,
}

impl Cursor {
    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.favorite_count, self.id))
    }

    fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "the cursor is not one this server gave out",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (count, id) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Cursor {
            favorite_count: count.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

error_responses! {
    /// Errors of `POST /api/photos`.
    pub enum UploadError {
        400 BadRequest "The form is malformed or has no `file`.",
        401 Unauthorized "No valid access token.",
        413 TooLarge "`file_too_large`: the file is over the size limit.",
        415 Unsupported "`unsupported_image`: not a JPEG, PNG, GIF or WebP image (judged by its bytes).",
        422 Unprocessable "`invalid_image`: too many pixels, too long a side, too many frames, or undecodable; `invalid_photo`: a field is too long.",
        429 TooManyRequests "Too many changes in a short time; see `Retry-After`.",
    }
}

/// The answer to an upload.
#[derive(ApiResponse)]
pub enum UploadResponse {
    /// The photo is in the gallery, minted as an art object owned by the uploader.
    #[oai(status = 201)]
    Created(Json<Box<Photo>>),
    /// `duplicate_photo`: these bytes are already in the gallery, as `photo`.
    #[oai(status = 409)]
    Duplicate(Json<Box<DuplicatePhoto>>),
}

error_responses! {
    /// Errors of reading photos.
    pub enum ReadError {
        400 BadRequest "A parameter is malformed (an unknown cursor, a limit outside 1–100).",
        404 NotFound "No such photo, or it is not visible to you.",
    }
}

error_responses! {
    /// Errors of changing a photo.
    pub enum ChangeError {
        400 BadRequest "The body is not the documented JSON.",
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_owner`: only the current owner may do this.",
        404 NotFound "No such photo.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        422 Unprocessable "`invalid_photo`: a field is too long, or too many tags.",
        429 TooManyRequests "Too many changes in a short time; see `Retry-After`.",
    }
}

error_responses! {
    /// Errors of favoriting.
    pub enum FavoriteError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such photo, or it is not visible to you.",
        429 TooManyRequests "Too many changes in a short time; see `Retry-After`.",
    }
}

/// An answer without a body.
#[derive(ApiResponse)]
pub enum Deleted {
    /// Deleted.
    #[oai(status = 204)]
    Done,
}

/// Photos and their art objects.
pub struct PhotosApi;

#[OpenApi(tag = "ApiTag::Photos")]
impl PhotosApi {
    /// Upload a photo
    ///
    /// Streams the file (`multipart/form-data`: `file`, optional `title`, `description`,
    /// comma-separated `tags`), checks it, strips its metadata, makes a preview and a
    /// thumbnail, and mints it as an art object owned by the uploader.
    #[oai(path = "/photos", method = "post", operation_id = "upload_photo")]
    async fn upload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        form: PhotoUploadForm,
    ) -> Result<UploadResponse, UploadError> {
        upload_photo(&state, auth.0.user.id, form)
            .await
            .map_err(Into::into)
    }

    /// The gallery feed
    ///
    /// Newest first (`sort=new`) or most favorited first (`sort=popular`), optionally only
    /// one owner's, one creator's or one tag's photos. Pages are keyset-paginated: pass the
    /// `next_cursor` of a page as `cursor` for the next one. A valid bearer token marks the
    /// viewer's favorites.
    #[oai(path = "/photos", method = "get", operation_id = "list_photos")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        viewer: Viewer,
        #[oai(default)] sort: Query<PhotoSort>,
        owner: Query<Option<i64>>,
        creator: Query<Option<i64>>,
        tag: Query<Option<String>>,
        /// 1 to 100 (default 30).
        limit: Query<Option<i64>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<PhotoPage>, ReadError> {
        let filter = FeedFilter {
            owner: owner.0,
            creator: creator.0,
            tag: tag.0,
        };
        Ok(Json(
            feed(
                &state.pool,
                viewer.0,
                sort.0,
                &filter,
                limit.0,
                cursor.0.as_deref(),
            )
            .await?,
        ))
    }

    /// One photo
    #[oai(path = "/photos/:id", method = "get", operation_id = "get_photo")]
    async fn get(
        &self,
        state: Data<&AppState>,
        viewer: Viewer,
        id: Path<i64>,
    ) -> Result<Json<Photo>, ReadError> {
        let photo = photo_by_id(&state.pool, id.0, viewer.0)
            .await?
            .ok_or_else(not_found)?;
        Ok(Json(photo))
    }

    /// Edit a photo
    ///
    /// Title, description and tags; only the current owner may.
    #[oai(path = "/photos/:id", method = "patch", operation_id = "update_photo")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
        body: Json<UpdatePhotoRequest>,
    ) -> Result<Json<Photo>, ChangeError> {
        let change = body.0;
        let title = change.title.as_deref().map(str::trim);
        let description = change.description.as_deref().map(str::trim);
        let tags = change.tags.map(|tags| parse_tags(&tags.join(",")));
        check_fields(title, description, tags.as_deref())?;
        let owner = &auth.0.user;
        if owner_of(&state.pool, id.0).await? != owner.id {
            return Err(not_owner().into());
        }
        let mut transaction = state.pool.begin().await.map_err(ApiError::from)?;
        let updated = sqlx::query_as!(
            PhotoUpdated,
            r#"
            update photos set title = coalesce($2, title), description = coalesce($3, description),
                              tags = coalesce($4, tags), updated_at = now()
            where id = $1 and deleted_at is null
              and exists (select 1 from art_objects o where o.photo_id = photos.id and o.owner_id = $5)
            returning id as photo_id, title, description, tags
            "#,
            id.0,
            title,
            description,
            tags.as_deref(),
            owner.id,
        )
        .fetch_optional(&mut *transaction)
        .await
        .map_err(ApiError::from)?
        // Deleted or handed over since the check above.
        .ok_or_else(not_owner)?;
        publish_photo_event(&mut transaction, owner.id, &Event::PhotoUpdated(updated)).await?;
        transaction.commit().await.map_err(ApiError::from)?;
        let photo = photo_by_id(&state.pool, id.0, Some(owner.id))
            .await?
            .ok_or_else(not_found)?;
        Ok(Json(photo))
    }

    /// Delete a photo
    ///
    /// Only the current owner may. The art object's history records the deletion and keeps
    /// every earlier entry; the files are removed.
    #[oai(path = "/photos/:id", method = "delete", operation_id = "delete_photo")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Deleted, ChangeError> {
        delete_photo(&state, auth.0.user.id, id.0).await?;
        Ok(Deleted::Done)
    }

    /// Favorite a photo
    ///
    /// Idempotent: favoriting twice counts once.
    #[oai(
        path = "/photos/:id/favorite",
        method = "put",
        operation_id = "favorite_photo"
    )]
    async fn favorite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Json<Photo>, FavoriteError> {
        set_favorite(&state.pool, auth.0.user.id, id.0, true).await?;
        Ok(Json(
            photo_by_id(&state.pool, id.0, Some(auth.0.user.id))
                .await?
                .ok_or_else(not_found)?,
        ))
    }

    /// Unfavorite a photo
    #[oai(
        path = "/photos/:id/favorite",
        method = "delete",
        operation_id = "unfavorite_photo"
    )]
    async fn unfavorite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<i64>,
    ) -> Result<Json<Photo>, FavoriteError> {
        set_favorite(&state.pool, auth.0.user.id, id.0, false).await?;
        Ok(Json(
            photo_by_id(&state.pool, id.0, Some(auth.0.user.id))
                .await?
                .ok_or_else(not_found)?,
        ))
    }

    /// My favorites
    ///
    /// The photos I favorited, most recently favorited first.
    #[oai(
        path = "/me/favorites",
        method = "get",
        operation_id = "list_my_favorites"
    )]
    async fn my_favorites(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<Vec<Photo>>, FavoriteError> {
        let user = auth.0.user.id;
        let rows = sqlx::query_as!(
            PhotoRow,
            r#"
            select p.id, o.id as object_id, p.title, p.description, p.tags,
                   c.id as creator_id, c.handle as creator_handle, c.display_name as creator_name,
                   w.id as owner_id, w.handle as owner_handle, w.display_name as owner_name,
                   o.favorite_count, true as "favorited!",
                   p.format, p.width, p.height, p.frame_count, p.byte_size, p.placeholder,
                   p.original_file, p.preview_file, p.thumbnail_file, p.created_at
            from favorites f
            join art_objects o on o.id = f.object_id
            join photos p on p.id = o.photo_id
            join users c on c.id = p.creator_id
            join users w on w.id = o.owner_id
            where f.user_id = $1 and p.deleted_at is null and (not w.is_private or w.id = $1)
            order by f.created_at desc, o.id desc
            limit 500
            "#,
            user,
        )
        .fetch_all(&state.pool)
        .await
        .map_err(ApiError::from)?;
        Ok(Json(rows.into_iter().map(PhotoRow::into_photo).collect()))
    }

    /// Search
    ///
    /// Photos whose title, tags or description match `q` (Russian and English word forms,
    /// ranked), and people whose name or handle resembles it.
    #[oai(path = "/search", method = "get", operation_id = "search")]
    async fn search(
        &self,
        state: Data<&AppState>,
        viewer: Viewer,
        q: Query<String>,
    ) -> Result<Json<SearchResults>, ReadError> {
        Ok(Json(search(&state.pool, viewer.0, q.0.trim()).await?))
    }
}

/// Which photos a feed shows.
struct FeedFilter {
    owner: Option<i64>,
    creator: Option<i64>,
    tag: Option<String>,
}

async fn feed(
    pool: &PgPool,
    viewer: Option<i64>,
    sort: PhotoSort,
    filter: &FeedFilter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PhotoPage, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("limit is 1 to {MAX_PAGE}"),
        ));
    }
    let cursor = cursor.map(Cursor::decode).transpose()?;
    let popular = sort == PhotoSort::Popular;
    let mut rows = sqlx::query_as!(
        PhotoRow,
        r#"
        select p.id, o.id as object_id, p.title, p.description, p.tags,
               c.id as creator_id, c.handle as creator_handle, c.display_name as creator_name,
               w.id as owner_id, w.handle as owner_handle, w.display_name as owner_name,
               o.favorite_count,
               exists (select 1 from favorites f where f.object_id = o.id and f.user_id = $1) as "favorited!",
               p.format, p.width, p.height, p.frame_count, p.byte_size, p.placeholder,
               p.original_file, p.preview_file, p.thumbnail_file, p.created_at
        from photos p
        join art_objects o on o.photo_id = p.id
        join users c on c.id = p.creator_id
        join users w on w.id = o.owner_id
        where p.deleted_at is null
          and (not w.is_private or w.id = $1)
          and ($2::bigint is null or o.owner_id = $2)
          and ($3::bigint is null or p.creator_id = $3)
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
        limit + 1,
    )
    .fetch_all(pool)
    .await?;
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

async fn search(
    pool: &PgPool,
    viewer: Option<i64>,
    query: &str,
) -> Result<SearchResults, ApiError> {
    // `%` and `_` are literal characters in a search, not wildcards.
    let literal = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if query.is_empty() {
        return Ok(SearchResults {
            photos: Vec::new(),
            users: Vec::new(),
        });
    }
    let photos = sqlx::query_as!(
        PhotoRow,
        r#"
        with q as (
            select websearch_to_tsquery('russian', $2) || websearch_to_tsquery('english', $2) as query
        )
        select p.id, o.id as object_id, p.title, p.description, p.tags,
               c.id as creator_id, c.handle as creator_handle, c.display_name as creator_name,
               w.id as owner_id, w.handle as owner_handle, w.display_name as owner_name,
               o.favorite_count,
               exists (select 1 from favorites f where f.object_id = o.id and f.user_id = $1) as "favorited!",
               p.format, p.width, p.height, p.frame_count, p.byte_size, p.placeholder,
               p.original_file, p.preview_file, p.thumbnail_file, p.created_at
        from photos p
        cross join q
        join art_objects o on o.photo_id = p.id
        join users c on c.id = p.creator_id
        join users w on w.id = o.owner_id
        where p.deleted_at is null and (not w.is_private or w.id = $1) and p.search @@ q.query
        order by ts_rank(p.search, q.query) desc, p.id desc
        limit $3
        "#,
        viewer,
        query,
        SEARCH_LIMIT,
    )
    .fetch_all(pool)
    .await?;
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
    .await?;
    Ok(SearchResults {
        photos: photos.into_iter().map(PhotoRow::into_photo).collect(),
        users,
    })
}

/// The current owner of photo `id` (404 if there is none).
async fn owner_of(pool: &PgPool, id: i64) -> Result<i64, ApiError> {
    sqlx::query_scalar!(
        r#"
        select o.owner_id from photos p join art_objects o on o.photo_id = p.id
        where p.id = $1 and p.deleted_at is null
        "#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(not_found)
}

async fn set_favorite(
    pool: &PgPool,
    user_id: i64,
    photo_id: i64,
    favorite: bool,
) -> Result<(), ApiError> {
    let mut transaction = pool.begin().await?;
    let object = sqlx::query!(
        r#"
        select o.id, w.id as owner_id from photos p
        join art_objects o on o.photo_id = p.id
        join users w on w.id = o.owner_id
        where p.id = $1 and p.deleted_at is null and (not w.is_private or w.id = $2)
        "#,
        photo_id,
        user_id,
    )
    .fetch_optional(&mut *transaction)
    .await?
    .ok_or_else(not_found)?;
    // The count moves only when the favorite row really appears or goes, so concurrent
    // repeats cannot skew it.
    let changed = if favorite {
        sqlx::query!(
            "insert into favorites (user_id, object_id) values ($1, $2) on conflict do nothing",
            user_id,
            object.id
        )
        .execute(&mut *transaction)
        .await?
        .rows_affected()
    } else {
        sqlx::query!(
            "delete from favorites where user_id = $1 and object_id = $2",
            user_id,
            object.id
        )
        .execute(&mut *transaction)
        .await?
        .rows_affected()
    };
    if changed == 1 {
        let delta: i32 = if favorite { 1 } else { -1 };
        let favorite_count = sqlx::query_scalar!(
            "update art_objects set favorite_count = favorite_count + $2 where id = $1 returning favorite_count",
            object.id,
            delta
        )
        .fetch_one(&mut *transaction)
        .await?;
        publish_photo_event(
            &mut transaction,
            object.owner_id,
            &Event::FavoriteCount(FavoriteCount {
                photo_id,
                favorite_count,
            }),
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

async fn upload_photo(
    state: &AppState,
    user_id: i64,
    form: PhotoUploadForm,
) -> Result<UploadResponse, ApiError> {
    let photos = &state.photos;
    check_fields(Some(&form.title), Some(&form.description), Some(&form.tags))?;
    if let Some(existing) = existing_photo(&state.pool, &form.file.sha256, user_id).await? {
        return Ok(duplicate(existing));
    }

    let permit = tokio::time::timeout(DECODE_QUEUE_WAIT, photos.decoders.clone().acquire_owned())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                "too many uploads are being processed; try again shortly",
            )
        })?
        .map_err(anyhow::Error::from)?;
    let path = form.file.file.path().to_owned();
    let limits = photos.limits;
    // The permit lives as long as the decoding does, even if the client goes away meanwhile.
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        std::panic::catch_unwind(|| pipeline::process(&path, limits))
    })
    .await
    .map_err(anyhow::Error::from)?;
    let processed = match outcome {
        Ok(result) => result.map_err(pipeline_error)?,
        Err(_) => {
            tracing::error!("the image pipeline panicked on an upload");
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidImage,
                "the image cannot be decoded",
            ));
        }
    };
    let files = StoredFiles::of(&processed);
    match record_photo(
        &state.pool,
        &photos.store,
        user_id,
        &form,
        &processed,
        &files,
    )
    .await
    {
        Ok(photo) => Ok(UploadResponse::Created(Json(Box::new(photo)))),
        Err(error) => {
            remove_unreferenced(&state.pool, &photos.store, &files).await;
            if error.status == StatusCode::CONFLICT {
                // Someone minted the same bytes while this upload was being processed.
                let existing = existing_photo(&state.pool, &form.file.sha256, user_id).await?;
                return Ok(duplicate(existing.flatten()));
            }
            Err(error)
        }
    }
}

/// The served files of one photo, by store name.
struct StoredFiles {
    original: String,
    preview: String,
    thumbnail: String,
}

impl StoredFiles {
    /// The names `processed`'s files get in the store.
    fn of(processed: &Processed) -> Self {
        Self {
            original: MediaStore::name_of(&processed.original.bytes, processed.original.extension),
            preview: MediaStore::name_of(&processed.preview.bytes, processed.preview.extension),
            thumbnail: MediaStore::name_of(
                &processed.thumbnail.bytes,
                processed.thumbnail.extension,
            ),
        }
    }

    fn names(&self) -> Vec<String> {
        vec![
            self.original.clone(),
            self.preview.clone(),
            self.thumbnail.clone(),
        ]
    }
}

/// Writes (or refreshes) `processed`'s files in the store.
async fn store_files(store: &MediaStore, processed: &Processed) -> Result<StoredFiles, ApiError> {
    let store = store.clone();
    let (original, preview, thumbnail) = (
        processed.original.clone(),
        processed.preview.clone(),
        processed.thumbnail.clone(),
    );
    let stored = tokio::task::spawn_blocking(move || -> std::io::Result<StoredFiles> {
        Ok(StoredFiles {
            original: store.put(&original.bytes, original.extension)?,
            preview: store.put(&preview.bytes, preview.extension)?,
            thumbnail: store.put(&thumbnail.bytes, thumbnail.extension)?,
        })
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(|error| anyhow::Error::from(error).context("cannot store an upload's files"))?;
    Ok(stored)
}

/// Stores the files, then records the photo, its art object, the mint and the event in one
/// transaction; returns the photo as its owner sees it.
///
/// Files are shared (identical bytes are one file), so storing and removing take a lock per
/// file name: this transaction holds shared locks from before it writes the files until its
/// rows reference them, and a removal takes the exclusive lock to check references and
/// delete. A removal can therefore never take a file from under a photo being recorded.
async fn record_photo(
    pool: &PgPool,
    store: &MediaStore,
    user_id: i64,
    form: &PhotoUploadForm,
    processed: &Processed,
    files: &StoredFiles,
) -> Result<Photo, ApiError> {
    let mut transaction = pool.begin().await?;
    let mut names = files.names();
    names.sort();
    sqlx::query!(
        r#"
        select true as "locked!"
        from unnest($1::text[]) as name, pg_advisory_xact_lock_shared(hashtextextended(name, 0))
        "#,
        &names
    )
    .fetch_all(&mut *transaction)
    .await?;
    store_files(store, processed).await?;
    let inserted = sqlx::query_scalar!(
        r#"
        insert into photos (creator_id, content_sha256, original_file, preview_file, thumbnail_file,
                            format, width, height, frame_count, byte_size, placeholder,
                            title, description, tags)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        returning id
        "#,
        user_id,
        &form.file.sha256[..],
        files.original,
        files.preview,
        files.thumbnail,
        processed.format.name(),
        processed.width as i32,
        processed.height as i32,
        processed.frames as i32,
        form.file.size as i64,
        processed.placeholder,
        form.title,
        form.description,
        &form.tags,
    )
    .fetch_one(&mut *transaction)
    .await;
    let photo_id = match inserted {
        Ok(id) => id,
        Err(error) if violated_constraint(&error) == Some("photos_content_key") => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::DuplicatePhoto,
                "these bytes are already in the gallery",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let object_id = sqlx::query_scalar!(
        "insert into art_objects (photo_id, owner_id) values ($1, $2) returning id",
        photo_id,
        user_id
    )
    .fetch_one(&mut *transaction)
    .await?;
    ownership::append(
        &mut transaction,
        object_id,
        EntryKind::Mint,
        None,
        Some(user_id),
    )
    .await?;
    let photo = photo_by_id(&mut *transaction, photo_id, Some(user_id))
        .await?
        .ok_or_else(not_found)?;
    let created = Event::PhotoCreated(PhotoCreated {
        photo: Box::new(photo.clone()),
    });
    publish_photo_event(&mut transaction, user_id, &created).await?;
    transaction.commit().await?;
    Ok(photo)
}

/// Publishes `event` about one of `owner_id`'s photos to whoever may see them: everyone, or
/// the owner alone while their profile is private.
///
/// The owner's row is share-locked: a concurrent privacy change (which locks it for update)
/// commits first and is then read, so an event never goes out to everyone after the owner
/// has gone private.
async fn publish_photo_event(
    connection: &mut PgConnection,
    owner_id: i64,
    event: &Event,
) -> Result<(), ApiError> {
    let is_private = sqlx::query_scalar!(
        "select is_private from users where id = $1 for share",
        owner_id
    )
    .fetch_one(&mut *connection)
    .await?;
    let audience = Audience::owner_visible(owner_id, is_private);
    events::publish(connection, &audience, event).await?;
    Ok(())
}

/// Whether these bytes are already minted, and if so the photo as `viewer` may see it
/// (`Some(None)` when its owner keeps it private).
async fn existing_photo(
    pool: &PgPool,
    sha256: &[u8; 32],
    viewer: i64,
) -> Result<Option<Option<Photo>>, ApiError> {
    let id = sqlx::query_scalar!(
        "select id from photos where content_sha256 = $1 and deleted_at is null",
        &sha256[..]
    )
    .fetch_optional(pool)
    .await?;
    match id {
        Some(id) => Ok(Some(photo_by_id(pool, id, Some(viewer)).await?)),
        None => Ok(None),
    }
}

fn duplicate(photo: Option<Photo>) -> UploadResponse {
    UploadResponse::Duplicate(Json(Box::new(DuplicatePhoto {
        code: ErrorCode::DuplicatePhoto,
        message: "these bytes are already in the gallery".into(),
        photo,
    })))
}

async fn delete_photo(state: &AppState, user_id: i64, photo_id: i64) -> Result<(), ApiError> {
    let mut transaction = state.pool.begin().await?;
    let found = sqlx::query!(
        r#"
        select o.id as object_id, o.owner_id, p.original_file, p.preview_file, p.thumbnail_file
        from photos p join art_objects o on o.photo_id = p.id
        where p.id = $1 and p.deleted_at is null
        for update of o, p
        "#,
        photo_id
    )
    .fetch_optional(&mut *transaction)
    .await?
    .ok_or_else(not_found)?;
    if found.owner_id != user_id {
        return Err(not_owner());
    }
    sqlx::query!(
        r#"
        update photos set deleted_at = now(), original_file = null, preview_file = null, thumbnail_file = null
        where id = $1
        "#,
        photo_id
    )
    .execute(&mut *transaction)
    .await?;
    sqlx::query!(
        "update art_objects set deleted_at = now() where id = $1",
        found.object_id
    )
    .execute(&mut *transaction)
    .await?;
    ownership::append(
        &mut transaction,
        found.object_id,
        EntryKind::Delete,
        Some(user_id),
        None,
    )
    .await?;
    publish_photo_event(
        &mut transaction,
        user_id,
        &Event::PhotoDeleted(PhotoDeleted { photo_id }),
    )
    .await?;
    transaction.commit().await?;
    let files = [
        found.original_file,
        found.preview_file,
        found.thumbnail_file,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    remove_unreferenced(&state.pool, &state.photos.store, &files_from(files)).await;
    Ok(())
}

fn files_from(names: Vec<String>) -> StoredFiles {
    let mut names = names.into_iter();
    StoredFiles {
        original: names.next().unwrap_or_default(),
        preview: names.next().unwrap_or_default(),
        thumbnail: names.next().unwrap_or_default(),
    }
}

/// Deletes those of `files` that no photo references (another photo may share a file, e.g.
/// identical thumbnails of different uploads).
async fn remove_unreferenced(pool: &PgPool, store: &MediaStore, files: &StoredFiles) {
    for name in files.names().iter().filter(|name| !name.is_empty()) {
        if let Err(error) = remove_if_unreferenced(pool, store, name).await {
            tracing::warn!(%error, file = %name, "cannot check a file's references; the sweep will retry");
        }
    }
}

/// Deletes the stored file `name` if no photo references it, under the file's exclusive lock
/// (see [`record_photo`]). Returns whether it was deleted.
async fn remove_if_unreferenced(
    pool: &PgPool,
    store: &MediaStore,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    sqlx::query!(
        r#"select true as "locked!" from pg_advisory_xact_lock(hashtextextended($1, 0))"#,
        name
    )
    .fetch_one(&mut *transaction)
    .await?;
    let referenced = sqlx::query_scalar!(
        r#"
        select exists (
            select 1 from photos where original_file = $1 or preview_file = $1 or thumbnail_file = $1
        ) as "referenced!"
        "#,
        name
    )
    .fetch_one(&mut *transaction)
    .await?;
    if !referenced {
        store.remove(&[name.to_owned()]);
    }
    transaction.commit().await?;
    Ok(!referenced)
}

/// Which of `names` some photo references.
pub async fn referenced(pool: &PgPool, names: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select name as "name!" from unnest($1::text[]) as name
        where exists (
            select 1 from photos
            where original_file = name or preview_file = name or thumbnail_file = name
        )
        "#,
        names
    )
    .fetch_all(pool)
    .await
}

/// Removes stored files no photo references, and abandoned staging files.
pub async fn sweep(pool: &PgPool, store: &MediaStore) -> anyhow::Result<usize> {
    let store_for_listing = store.clone();
    let (stored, staging) =
        tokio::task::spawn_blocking(move || store_for_listing.sweepable()).await??;
    let referenced = referenced(pool, &stored).await?;
    let mut removed = 0;
    for name in stored.iter().filter(|name| !referenced.contains(name)) {
        // Checked again under the file's lock: an upload may have claimed it meanwhile.
        if remove_if_unreferenced(pool, store, name).await? {
            removed += 1;
        }
    }
    for path in &staging {
        if std::fs::remove_file(path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

fn pipeline_error(error: PipelineError) -> ApiError {
    match error {
        PipelineError::Unsupported => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedImage,
            error.to_string(),
        ),
        PipelineError::TooLarge(_) | PipelineError::Corrupt(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidImage,
            error.to_string(),
        ),
        PipelineError::Io(io) => anyhow::Error::from(io)
            .context("cannot read a staged upload")
            .into(),
    }
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such photo")
}

fn not_owner() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::NotOwner,
        "only the current owner may do this",
    )
}

/// Shared for [`media`]: everything it needs of the app.
pub type SharedPhotos = Arc<PhotosState>;
