//! Caps the size of request bodies. Every API body is JSON of a few kilobytes at most;
//! a larger one is refused with 413 before anything parses it. Photo uploads stream to disk
//! with their own, much larger, limit and are left alone here.

use std::sync::Arc;

use gallery_types::ErrorCode;
use poem::{Body, Endpoint, IntoResponse, Request, Response, http::Method, http::StatusCode};

use crate::error::ApiError;

/// The largest JSON body any API operation takes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// The upload route, which enforces its own limit while streaming.
const UPLOAD_PATH: &str = "/api/photos";

/// Middleware: refuses API bodies over [`MAX_JSON_BODY`].
pub async fn cap<E: Endpoint>(next: Arc<E>, mut request: Request) -> poem::Result<Response> {
    let path = request.uri().path();
    let exempt =
        !path.starts_with("/api/") || (request.method() == Method::POST && path == UPLOAD_PATH);
    if !exempt {
        match request.take_body().into_bytes_limit(MAX_JSON_BODY).await {
            Ok(body) => request.set_body(Body::from(body)),
            Err(_) => {
                return Ok(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    format!("request bodies are at most {} KiB", MAX_JSON_BODY / 1024),
                )
                .into_response());
            }
        }
    }
    Ok(next.get_response(request).await)
}
