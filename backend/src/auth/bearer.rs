//! Who is asking. [`resolve_caller`] reads a request's access token once, checks its
//! signature and its session, and leaves the [`Caller`] in the request; [`BearerAuth`] (the
//! security scheme of every signed-in operation) and [`Viewer`] (the optional signed-in
//! viewer of public reads) read it from there, as do the rate limits and socket tickets.

use std::sync::Arc;

use gallery_types::ErrorCode;
use poem::{Endpoint, FromRequest, Request, RequestBody, Response, http::header};
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{AuthState, session_checks::SessionChecks, tokens::AccessTokens};
use crate::{
    caller::{Authenticated, Caller},
    error::ApiError,
};

/// The cookie a browser sends its access token to `/media` in: an `<img>` cannot send an
/// `Authorization` header, and files of a private collection are served only to those who may
/// see them. The web client keeps it equal to its access token; it is read for `/media` (and
/// nginx's `auth_request` for it) only (a read that changes nothing, so no other site can make
/// it do harm).
pub const MEDIA_COOKIE: &str = "gallery_media";

/// Middleware: resolves the request's [`Caller`] from its `Authorization: Bearer` token (or,
/// for media files, the [`MEDIA_COOKIE`]). Requests without one (static files, public media,
/// anonymous reads) cost nothing.
pub async fn resolve_caller<E: Endpoint>(
    next: Arc<E>,
    mut request: Request,
    auth: &AuthState,
    checks: &Arc<SessionChecks>,
) -> poem::Result<Response> {
    let caller = match bearer_token(&request).or_else(|| media_cookie(&request)) {
        None => Caller::Anonymous,
        Some(token) => identify(token, auth, checks).await,
    };
    request.extensions_mut().insert(caller);
    Ok(next.get_response(request).await)
}

fn bearer_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn media_cookie(request: &Request) -> Option<&str> {
    // `/api/media-access` is nginx asking on behalf of a `/media/` request (its headers).
    let path = request.uri().path();
    if !path.starts_with("/media/") && path != "/api/media-access" {
        return None;
    }
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| {
            let (name, value) = cookie.trim().split_once('=')?;
            (name == MEDIA_COOKIE && !value.is_empty()).then_some(value)
        })
}

/// Verifies the token (signature, algorithm, issuer, audience, expiry, type) and that its
/// session is still active, so that signing out takes effect at once rather than when the
/// token expires.
async fn identify(token: &str, auth: &AuthState, checks: &Arc<SessionChecks>) -> Caller {
    let claims = match auth.tokens.verify(token) {
        Ok(claims) => claims,
        Err(error) => {
            tracing::debug!(%error, "access token refused");
            return Caller::Refused;
        }
    };
    let Ok(user_id) = AccessTokens::user_id(&claims) else {
        return Caller::Refused;
    };
    match checks.active_user(claims.sid, user_id).await {
        Ok(Some(user)) => Caller::SignedIn(Authenticated {
            user,
            session_id: claims.sid,
        }),
        Ok(None) => Caller::Refused,
        Err(error) => Caller::Unknown(error),
    }
}

/// An access token from `POST /api/auth/max`, `/login`, `/refresh` or the QR sign-in.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "signed_in")]
pub struct BearerAuth(pub Authenticated);

async fn signed_in(request: &Request, _token: Bearer) -> poem::Result<Authenticated> {
    match Caller::of(request) {
        Caller::SignedIn(authenticated) => Ok(authenticated.clone()),
        Caller::Unknown(error) => Err(error.clone().into()),
        Caller::Anonymous | Caller::Refused => Err(ApiError::new(
            ErrorCode::InvalidToken,
            "the access token is invalid or expired, or its session has ended",
        )
        .into()),
    }
}

/// The signed-in viewer's id, if the request carries a valid access token of a live session;
/// anonymous otherwise. For reads that anyone may make but that show a signed-in viewer a
/// little more (their private photos, their private events).
#[derive(Debug, Clone, Copy)]
pub struct Viewer(pub Option<i64>);

impl<'a> FromRequest<'a> for Viewer {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        match Caller::of(request) {
            Caller::Unknown(error) => Err(error.clone().into()),
            caller => Ok(Viewer(caller.user_id())),
        }
    }
}
