//! `/media/<name>`: the stored files, with a strong ETag (the name is the content's hash),
//! a year of immutable caching, range requests and 304s; and the question nginx's
//! `auth_request` asks before it serves a file itself.

use std::io::SeekFrom;

use gallery_types::ErrorCode;
use poem::{
    Body, Endpoint, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
    web::Data,
};
use poem_openapi::{ApiResponse, OpenApi, param::Header};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::Viewer;
use crate::{
    error::ApiError,
    startup::{ApiTag, AppState},
};

/// Content-addressed files never change: cache them for a year.
const CACHE_PUBLIC: &str = "public, max-age=31536000, immutable";
/// A private owner's file may be cached by their own browser only.
const CACHE_PRIVATE: &str = "private, max-age=31536000, immutable";

/// Who may see a stored file.
enum Access {
    Public,
    /// Only its owner (a private profile).
    OwnerOnly,
}

/// The access rule of a stored file; `None` if no live photo references it.
async fn access_of(
    pool: &PgPool,
    name: &str,
    viewer: Option<i64>,
) -> Result<Option<Access>, ApiError> {
    let owner = sqlx::query!(
        r#"
        select w.id, w.is_private from photos p
        join art_objects o on o.photo_id = p.id
        join users w on w.id = o.owner_id
        where p.deleted_at is null
          and (p.original_file = $1 or p.preview_file = $1 or p.thumbnail_file = $1)
        limit 1
        "#,
        name
    )
    .fetch_optional(pool)
    .await?;
    Ok(
        owner.and_then(|owner| match (owner.is_private, viewer == Some(owner.id)) {
            (false, _) => Some(Access::Public),
            (true, true) => Some(Access::OwnerOnly),
            (true, false) => None,
        }),
    )
}

/// The `/media` endpoint.
pub struct MediaFiles;

impl Endpoint for MediaFiles {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "media files answer GET and HEAD",
            )
            .into());
        }
        let state = request
            .data::<AppState>()
            .expect("the app state is attached to every request");
        let name = request.uri().path().trim_start_matches('/');
        let path = state.photos.store.path_of(name).ok_or_else(not_found)?;
        let viewer = <Viewer as poem::FromRequest>::from_request_without_body(&request).await?;
        let access = access_of(&state.pool, name, viewer.0)
            .await?
            .ok_or_else(not_found)?;

        let etag = format!("\"{}\"", name.split('.').next().unwrap_or_default());
        let cache = match access {
            Access::Public => CACHE_PUBLIC,
            Access::OwnerOnly => CACHE_PRIVATE,
        };
        let mut response = Response::builder()
            .header(header::ETAG, etag.as_str())
            .header(header::CACHE_CONTROL, cache)
            .header(header::ACCEPT_RANGES, "bytes");
        let matches = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .split(',')
                    .any(|tag| tag.trim() == etag || tag.trim() == "*")
            });
        if matches {
            return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
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
            Some("jpg") => "image/jpeg",
            Some("png") => "image/png",
            Some("gif") => "image/gif",
            _ => "image/webp",
        };
        response = response.content_type(content_type);

        let range = request
            .headers()
            .get(header::RANGE)
            .and_then(|value| value.to_str().ok());
        let (status, start, end) = match range.map(|range| parse_range(range, length)) {
            None => (StatusCode::OK, 0, length),
            Some(Some((start, end))) => {
                response = response.header(
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{length}", end - 1),
                );
                (StatusCode::PARTIAL_CONTENT, start, end)
            }
            Some(None) => {
                return Ok(response
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{length}"))
                    .finish());
            }
        };
        response = response
            .status(status)
            .header(header::CONTENT_LENGTH, HeaderValue::from(end - start));
        if request.method() == Method::HEAD {
            return Ok(response.finish());
        }
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|error| ApiError::from(anyhow::Error::from(error)))?;
        Ok(response.body(Body::from_async_read(file.take(end - start))))
    }
}

/// One byte range `bytes=a-b`, `bytes=a-` or `bytes=-n` of a `length`-byte file, as a
/// half-open interval; `None` if it cannot be satisfied. (Several ranges are answered with
/// the first one only, which RFC 9110 allows.)
fn parse_range(header: &str, length: u64) -> Option<(u64, u64)> {
    let spec = header.strip_prefix("bytes=")?.split(',').next()?.trim();
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let suffix: u64 = suffix.parse().ok()?;
            (length.saturating_sub(suffix), length)
        }
        (start, "") => (start.parse().ok()?, length),
        (start, end) => (
            start.parse().ok()?,
            end.parse::<u64>().ok()?.saturating_add(1).min(length),
        ),
    };
    (start < end && start < length).then_some((start, end))
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such file")
}

/// The answer to nginx's `auth_request`.
#[derive(ApiResponse)]
pub enum MediaAccess {
    /// The requester may see the file.
    #[oai(status = 204)]
    Allowed,
    /// The requester may not see it, or it does not exist.
    #[oai(status = 403)]
    Denied,
}

/// Whether a media file may be served, for nginx's `auth_request`.
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
        state: Data<&AppState>,
        viewer: Viewer,
        #[oai(name = "X-Original-URI")] uri: Header<String>,
    ) -> MediaAccess {
        let name = uri.0.strip_prefix("/media/").unwrap_or_default();
        let name = name.split(['?', '#']).next().unwrap_or_default();
        match access_of(&state.pool, name, viewer.0).await {
            Ok(Some(_)) => MediaAccess::Allowed,
            Ok(None) => MediaAccess::Denied,
            Err(error) => {
                tracing::warn!(?error, "media access check failed");
                MediaAccess::Denied
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 1000)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}
