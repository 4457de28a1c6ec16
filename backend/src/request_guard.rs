//! What every request must be before any operation sees it.
//!
//! - Bodies read whole are a few kilobytes: one over 64 KiB is refused with 413 before
//!   anything parses it. `multipart/form-data` bodies are the exception: only operations that
//!   stream them accept them (the photo upload, which counts the bytes against its own, much
//!   larger, limits as they arrive); every other operation refuses them by their content
//!   type without reading a byte.
//! - No text may hold a NUL character (PostgreSQL cannot store one, and no person types one):
//!   not the path, not the query, not a JSON body. Refused with 400 `invalid_text` here, at
//!   the edge, so that no operation ever passes one on. (The upload form checks its own text
//!   fields as it parses them.)

use std::sync::Arc;

use gallery_types::ErrorCode;
use poem::{Body, Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;

/// The largest body any operation reads whole.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// The media type of streamed bodies.
const STREAMED_CONTENT_TYPE: &str = "multipart/form-data";

/// What a refused text is told.
const NUL_MESSAGE: &str = "text may not contain NUL characters (U+0000)";

/// Middleware: enforces the rules above.
pub async fn guard<E: Endpoint>(next: Arc<E>, mut request: Request) -> poem::Result<Response> {
    let uri = request.uri();
    let encoded_nul = |text: &str| text.as_bytes().windows(3).any(|w| w == b"%00");
    if encoded_nul(uri.path()) || uri.query().is_some_and(encoded_nul) {
        return Ok(ApiError::new(ErrorCode::InvalidText, NUL_MESSAGE).into_response());
    }
    let streamed = request.content_type().is_some_and(|content_type| {
        content_type
            .get(..STREAMED_CONTENT_TYPE.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(STREAMED_CONTENT_TYPE))
    });
    if !streamed {
        let Ok(body) = request.take_body().into_bytes_limit(MAX_JSON_BODY).await else {
            return Ok(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("request bodies are at most {} KiB", MAX_JSON_BODY / 1024),
            )
            .into_response());
        };
        if json_holds_nul(&body) {
            return Ok(ApiError::new(ErrorCode::InvalidText, NUL_MESSAGE).into_response());
        }
        request.set_body(Body::from(body));
    }
    Ok(next.get_response(request).await)
}

/// Whether a JSON text holds a NUL character: a raw NUL byte, or the escape `\u0000` inside a
/// string (an escaped backslash followed by `u0000` is not one).
fn json_holds_nul(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut at = 0;
    while let Some(&byte) = json.get(at) {
        match byte {
            0 => return true,
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if json.get(at + 1..at + 6) == Some(b"u0000") {
                    return true;
                }
                // Skip the escaped character, so an escaped quote or backslash is not read as
                // the end of the string or the start of another escape.
                at += 1;
            }
            _ => {}
        }
        at += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_holds_nul;

    #[test]
    fn a_nul_escape_inside_a_string_is_found() {
        assert!(json_holds_nul(br#"{"title":"a\u0000b"}"#));
        assert!(json_holds_nul(br#"{"tags":["ok","\u0000"]}"#));
        assert!(json_holds_nul(b"{\"title\":\"a\x00b\"}"));
        assert!(
            json_holds_nul(br#"{"a":"\\\u0000"}"#),
            "a backslash, then a NUL"
        );
    }

    #[test]
    fn look_alikes_are_not_nul() {
        assert!(!json_holds_nul(
            br#"{"title":"\\u0000 is how JSON writes NUL"}"#
        ));
        assert!(!json_holds_nul(br#"{"title":"\"\\","b":"u0000"}"#));
        assert!(!json_holds_nul(br#"{"title":"\u0001"}"#));
        assert!(!json_holds_nul(br#"{"n":0}"#));
    }
}
