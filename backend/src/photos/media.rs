//! `/media/<name>`: the stored files, with a strong ETag (the name is the content's hash),
//! a year of immutable caching, range requests and 304s; and the question nginx's
//! `auth_request` asks before it serves a file itself.

use std::{io::SeekFrom, ops::Bound, sync::Arc};

use gallery_types::ErrorCode;
use poem::{
    Body, Endpoint, FromRequest, IntoResponse, Request, Response,
    http::{Method, StatusCode, header},
    web::{
        Data,
        headers::{
            AcceptRanges, ContentLength, ContentRange, ContentType, ETag, HeaderMapExt,
            IfNoneMatch, Range,
        },
    },
};
use poem_openapi::{ApiResponse, OpenApi, param::Header};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::PhotosState;
use crate::{
    api::ApiTag,
    auth::Viewer,
    db::{DbError, During},
    error::ApiError,
};

/// Content-addressed files never change: cache them for a year (written out in the order
/// PRODUCT.md and the tests spell it).
const CACHE_PUBLIC: &str = "public, max-age=31536000, immutable";
/// A file of a private collection: who may see it can change (a request approved, access
/// revoked, the object given away), so a browser keeps it to itself and asks again before each
/// use (a 304 while it still may).
const CACHE_PRIVATE: &str = "private, no-cache";

/// Who may see a stored file.
enum Access {
    Public,
    /// Some: the owner of a private collection and those they let see it.
    Restricted,
}

impl Access {
    fn cache_control(&self) -> &'static str {
        match self {
            Access::Public => CACHE_PUBLIC,
            Access::Restricted => CACHE_PRIVATE,
        }
    }
}

/// The access rule of a stored file for `viewer`; `None` if no live photo references it or
/// the viewer may not see it.
async fn access_of(
    pool: &PgPool,
    name: &str,
    viewer: Option<i64>,
) -> Result<Option<Access>, DbError> {
    let owner = sqlx::query!(
        r#"
        select w.is_private, collection_visible_to(w.id, w.is_private, $2) as "visible!"
        from photos p
        join art_objects o on o.photo_id = p.id
        join users w on w.id = o.owner_id
        where p.deleted_at is null
          and (p.original_file = $1 or p.preview_file = $1 or p.thumbnail_file = $1)
        limit 1
        "#,
        name,
        viewer,
    )
    .fetch_optional(pool)
    .await
    .during("find who may see a media file")?;
    Ok(owner
        .filter(|owner| owner.visible)
        .map(|owner| match owner.is_private {
            false => Access::Public,
            true => Access::Restricted,
        }))
}

/// The `/media` endpoint.
pub struct MediaFiles;

impl Endpoint for MediaFiles {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut refused = ApiError::new(
                ErrorCode::MethodNotAllowed,
                "media files answer GET and HEAD",
            )
            .into_response();
            refused
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return Ok(refused);
        }
        let photos = request
            .data::<Arc<PhotosState>>()
            .expect("the photos state is attached to every request");
        let pool = request
            .data::<PgPool>()
            .expect("the pool is attached to every request");
        let name = request.uri().path().trim_start_matches('/');
        let path = photos.store.path_of(name).ok_or_else(not_found)?;
        let viewer = Viewer::from_request_without_body(&request).await?;
        let access = access_of(pool, name, viewer.0)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(not_found)?;

        let mut response = Response::builder().finish();
        let headers = response.headers_mut();
        let etag = format!("\"{}\"", name.split('.').next().unwrap_or_default())
            .parse::<ETag>()
            .expect("a hex digest in quotes is an entity tag");
        headers.typed_insert(etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(access.cache_control()),
        );
        headers.typed_insert(AcceptRanges::bytes());
        let unchanged = request
            .headers()
            .typed_get::<IfNoneMatch>()
            .is_some_and(|if_none_match| !if_none_match.precondition_passes(&etag));
        if unchanged {
            response.set_status(StatusCode::NOT_MODIFIED);
            return Ok(response);
        }

        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| not_found())?;
        let length = file
            .metadata()
            .await
            .map_err(|error| ApiError::from(anyhow::Error::from(error)))?
            .len();
        let content_type = match path.extension().and_then(|extension| extension.to_str()) {
            Some("jpg") => ContentType::jpeg(),
            Some("png") => ContentType::png(),
            Some("gif") => "image/gif".parse().expect("a valid media type"),
            _ => "image/webp".parse().expect("a valid media type"),
        };
        let headers = response.headers_mut();
        headers.typed_insert(content_type);
        let (start, end) = match request.headers().typed_get::<Range>() {
            None => (0, length),
            Some(range) => match byte_range(&range, length) {
                Some((start, end)) => {
                    let content_range = ContentRange::bytes(start..end, length)
                        .expect("a satisfiable range within the file");
                    headers.typed_insert(content_range);
                    response.set_status(StatusCode::PARTIAL_CONTENT);
                    (start, end)
                }
                None => {
                    headers.typed_insert(ContentRange::unsatisfied_bytes(length));
                    response.set_status(StatusCode::RANGE_NOT_SATISFIABLE);
                    return Ok(response);
                }
            },
        };
        response
            .headers_mut()
            .typed_insert(ContentLength(end - start));
        if request.method() == Method::HEAD {
            return Ok(response);
        }
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|error| ApiError::from(anyhow::Error::from(error)))?;
        response.set_body(Body::from_async_read(file.take(end - start)));
        Ok(response)
    }
}

/// The first satisfiable range of `range` within a `length`-byte file, as a half-open
/// interval. (Several ranges are answered with the first one only, which RFC 9110 allows.)
fn byte_range(range: &Range, length: u64) -> Option<(u64, u64)> {
    let (start, end) = range.satisfiable_ranges(length).next()?;
    let start = match start {
        Bound::Included(start) => start,
        Bound::Excluded(start) => start.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match end {
        Bound::Included(end) => end.saturating_add(1).min(length),
        Bound::Excluded(end) => end.min(length),
        Bound::Unbounded => length,
    };
    (start < end).then_some((start, end))
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such file")
}

/// The answer to nginx's `auth_request`.
#[derive(ApiResponse)]
pub enum MediaAccess {
    /// The requester may see the file; nginx serves it with this `Cache-Control`.
    #[oai(status = 204)]
    Allowed(#[oai(header = "Cache-Control")] String),
    /// The requester may not see it, it does not exist, or no `X-Original-URI` was given.
    #[oai(status = 403)]
    Denied,
}

crate::error_responses! {
    /// Errors of `GET /api/media-access`.
    pub enum MediaAccessError {}
}

/// Whether a media file may be served, for nginx's `auth_request`.
#[derive(Debug, Default)]
pub struct MediaApi;

#[OpenApi(tag = "ApiTag::Photos")]
impl MediaApi {
    /// May I see this file?
    ///
    /// For nginx's `auth_request`: nginx passes the file's URI in `X-Original-URI` (and the
    /// client's `Authorization`), and serves the file itself only after a 204.
    #[oai(
        path = "/media-access",
        method = "get",
        operation_id = "check_media_access"
    )]
    async fn check(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        #[oai(name = "X-Original-URI")] uri: Header<Option<String>>,
    ) -> Result<MediaAccess, MediaAccessError> {
        let Some(uri) = uri.0 else {
            return Ok(MediaAccess::Denied);
        };
        let name = uri.strip_prefix("/media/").unwrap_or_default();
        let name = name.split(['?', '#']).next().unwrap_or_default();
        match access_of(&pool, name, viewer.0).await? {
            Some(access) => Ok(MediaAccess::Allowed(access.cache_control().to_owned())),
            None => Ok(MediaAccess::Denied),
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderMap;

    use super::*;

    fn range(value: &'static str) -> Range {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, header::HeaderValue::from_static(value));
        headers.typed_get::<Range>().expect("a valid Range header")
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(byte_range(&range("bytes=0-99"), 1000), Some((0, 100)));
        assert_eq!(byte_range(&range("bytes=900-"), 1000), Some((900, 1000)));
        assert_eq!(byte_range(&range("bytes=-100"), 1000), Some((900, 1000)));
        assert_eq!(
            byte_range(&range("bytes=990-2000"), 1000),
            Some((990, 1000))
        );
        assert_eq!(byte_range(&range("bytes=1000-"), 1000), None);
        assert_eq!(byte_range(&range("bytes=5-1"), 1000), None);
    }
}
