//! Caps the size of request bodies read whole. Every JSON body (and every other body an
//! operation reads whole) is a few kilobytes at most; a larger one is refused with 413 before
//! anything parses it. `multipart/form-data` bodies are the exception: only operations that
//! stream them accept them (the photo upload, which counts the bytes against its own, much
//! larger, limit as they arrive); every other operation refuses them by their content type
//! without reading a byte.

use std::sync::Arc;

use gallery_types::ErrorCode;
use poem::{Body, Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;

/// The largest body any operation reads whole.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// The media type of streamed bodies.
const STREAMED_CONTENT_TYPE: &str = "multipart/form-data";

/// Middleware: refuses bodies over [`MAX_JSON_BODY`], except streamed ones.
pub async fn cap<E: Endpoint>(next: Arc<E>, mut request: Request) -> poem::Result<Response> {
    let streamed = request.content_type().is_some_and(|content_type| {
        content_type
            .get(..STREAMED_CONTENT_TYPE.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(STREAMED_CONTENT_TYPE))
    });
    if !streamed {
        match request.take_body().into_bytes_limit(MAX_JSON_BODY).await {
            Ok(body) => request.set_body(Body::from(body)),
            Err(_) => {
                return Ok(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request bodies are at most {} KiB", MAX_JSON_BODY / 1024),
                )
                .into_response());
            }
        }
    }
    Ok(next.get_response(request).await)
}
