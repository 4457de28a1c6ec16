//! One error shape for every failure: `{"code": "...", "message": "..."}`.
//!
//! Handlers answer their own errors as JSON through [`ApiError`]. Everything else that fails —
//! poem's unknown route and wrong method, poem-openapi's unparsable bodies and parameters,
//! static-file errors — answers with a plain-text body, which [`json_errors`] rewrites at the
//! edge. That middleware is the one place that turns any error into the wire shape, so no
//! route can forget to.

use std::sync::Arc;

use gallery_types::{ErrorBody, ErrorCode};
use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{StatusCode, header},
};
use poem_openapi::payload::Json;

use crate::db::DbError;

/// Error bodies longer than this are cut: they come from parsers that may echo input.
const MAX_MESSAGE_CHARS: usize = 300;

/// What a 5xx tells the client; the details go to the log.
const INTERNAL_MESSAGE: &str = "internal server error; the details are in the server log";

/// An error in the wire shape, the one type every domain error becomes at the edge. Its
/// status follows from its code ([`ErrorCode::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub body: ErrorBody,
    /// Seconds until a refused request may be repeated (`Retry-After`): rate limits only.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            body: ErrorBody {
                code,
                message: message.into(),
            },
            retry_after: None,
        }
    }

    /// A request over a rate limit, which may be repeated in `seconds`.
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.body.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> ErrorCode {
        self.body.code
    }

    /// A failure of the server itself; what failed goes to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, INTERNAL_MESSAGE)
    }

    /// Something the request needs is unavailable right now; the client may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceUnavailable, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status(), self.body.message)
    }
}

impl std::error::Error for ApiError {}

/// Lets checkers and middleware fail with an [`ApiError`] through `poem::Error`.
impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

/// Database failures: logged with what was being done, answered without details. A database
/// that cannot be reached is a 503 (retry later), anything else a 500.
impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(action = error.action, error = %error.source, "database unavailable");
            ApiError::unavailable("the database is not reachable; try again shortly")
        } else {
            tracing::error!(action = error.action, error = %error.source, "database error");
            ApiError::internal()
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "internal error");
        ApiError::internal()
    }
}

/// Declares an operation's error responses for the OpenAPI spec: one variant per status it
/// can answer (each documented with its description), plus 400, 500 and 503, which any
/// operation can answer, and — when a trailing `rate_limited "…"` is given — 429 with its
/// `Retry-After` header. A 400 always means the request does not match the spec; a request
/// that does but cannot be done gets another status. Anything that converts into an
/// [`ApiError`] (every domain error does) converts into it, by status, so handlers use `?` on
/// domain results.
#[macro_export]
macro_rules! error_responses {
    (
        $(#[$meta:meta])* $vis:vis enum $name:ident {
            $($status:literal $variant:ident $description:literal),* $(,)?
        }
        $(rate_limited $rate_limited:literal)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, poem_openapi::ApiResponse)]
        $vis enum $name {
            /// `bad_request`: the request does not match this operation in the spec (a
            /// parameter or field malformed, out of range or unknown); `invalid_text`: a NUL
            /// character.
            #[oai(status = 400)]
            BadRequest(poem_openapi::payload::Json<gallery_types::ErrorBody>),
            $(
                #[doc = $description]
                #[oai(status = $status)]
                $variant(poem_openapi::payload::Json<gallery_types::ErrorBody>),
            )*
            $(
                #[doc = $rate_limited]
                #[oai(status = 429)]
                TooManyRequests(
                    poem_openapi::payload::Json<gallery_types::ErrorBody>,
                    /// Seconds to wait before trying again.
                    #[oai(header = "Retry-After")]
                    u64,
                ),
            )?
            /// Something failed on the server; the details are in its log.
            #[oai(status = 500)]
            Internal(poem_openapi::payload::Json<gallery_types::ErrorBody>),
            /// The database is unreachable or the feature is not configured; retry later.
            #[oai(status = 503)]
            Unavailable(poem_openapi::payload::Json<gallery_types::ErrorBody>),
        }

        impl<E: Into<$crate::error::ApiError>> From<E> for $name {
            fn from(error: E) -> Self {
                let error: $crate::error::ApiError = error.into();
                match error.status().as_u16() {
                    400 => Self::BadRequest(poem_openapi::payload::Json(error.body)),
                    $($status => Self::$variant(poem_openapi::payload::Json(error.body)),)*
                    $(429 => {
                        let _: &str = $rate_limited;
                        let seconds = error.retry_after.unwrap_or(1);
                        Self::TooManyRequests(poem_openapi::payload::Json(error.body), seconds)
                    })?
                    500 => Self::Internal(poem_openapi::payload::Json(error.body)),
                    503 => Self::Unavailable(poem_openapi::payload::Json(error.body)),
                    status => {
                        tracing::error!(status, message = %error.body.message, concat!("an error not declared in ", stringify!($name)));
                        Self::Internal(poem_openapi::payload::Json($crate::error::ApiError::internal().body))
                    }
                }
            }
        }
    };
}

/// Middleware: rewrites every error response that is not JSON yet into [`ErrorBody`].
pub async fn json_errors<E: Endpoint>(next: Arc<E>, request: Request) -> poem::Result<Response> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.get_response(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return Ok(response);
    }

    let (parts, body) = response.into_parts();
    let original = body.into_string().await.unwrap_or_default();
    let message = if status.is_server_error() {
        tracing::error!(%method, %path, status = status.as_u16(), error = %original, "request failed");
        INTERNAL_MESSAGE.to_owned()
    } else {
        client_message(status, &original)
    };
    // The status stays what it was (a code shared by several statuses must not change it).
    let error = ErrorBody {
        code: ErrorCode::from_status(status.as_u16()),
        message,
    };

    // Keep headers such as `Allow`, `Retry-After` or `WWW-Authenticate`; drop the old body's.
    let mut rewritten = (status, Json(error)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(rewritten)
}

fn is_json(response: &Response) -> bool {
    response
        .content_type()
        .is_some_and(|content_type| content_type.starts_with("application/json"))
}

/// The client-facing message for a 4xx: the original text, or the status's reason if empty.
fn client_message(status: StatusCode, original: &str) -> String {
    let original = original.trim();
    if original.is_empty() {
        return status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase();
    }
    match original.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &original[..cut]),
        None => original.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use poem::{EndpointExt, test::TestClient};
    use poem_openapi::{OpenApi, OpenApiService};

    use super::*;

    struct EchoApi;

    #[OpenApi]
    impl EchoApi {
        #[oai(path = "/echo", method = "post")]
        async fn echo(&self, body: Json<serde_json::Value>) -> Json<serde_json::Value> {
            body
        }
    }

    async fn answer_to(body: &'static str) -> (StatusCode, serde_json::Value) {
        let app = OpenApiService::new(EchoApi, "test", "1").around(json_errors);
        let response = TestClient::new(app)
            .post("/echo")
            .content_type("application/json")
            .body(body)
            .send()
            .await
            .0;
        let status = response.status();
        (status, response.into_body().into_json().await.unwrap())
    }

    #[tokio::test]
    async fn an_unparsable_body_answers_the_json_error_shape() {
        let (status, body) = answer_to("{not json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "bad_request");
        assert!(
            body["message"].as_str().unwrap().contains("parse"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_json_success_passes_through_untouched() {
        let (status, body) = answer_to(r#"{"a":1}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, serde_json::json!({"a": 1}));
    }

    #[test]
    fn an_empty_body_becomes_the_status_reason() {
        assert_eq!(client_message(StatusCode::NOT_FOUND, ""), "not found");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "я".repeat(MAX_MESSAGE_CHARS + 10);
        let message = client_message(StatusCode::BAD_REQUEST, &long);
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }
}
