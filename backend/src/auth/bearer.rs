//! `Authorization: Bearer <access token>`: the security scheme of every signed-in operation.

use gallery_types::ErrorCode;
use poem::{Request, http::StatusCode};
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

use super::{sessions, tokens::AccessTokens};
use crate::{error::ApiError, startup::AppState, users::UserRow};

/// A request's verified user and session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: UserRow,
    pub session_id: Uuid,
}

/// An access token from `POST /api/auth/max`, `/login`, `/refresh` or the QR sign-in.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "authenticate")]
pub struct BearerAuth(pub Authenticated);

/// Verifies the token (signature, algorithm, issuer, audience, expiry, type) and that its
/// session is still active, so that signing out takes effect at once rather than when the
/// token expires.
async fn authenticate(request: &Request, bearer: Bearer) -> poem::Result<Authenticated> {
    let state = request
        .data::<AppState>()
        .expect("the app state is attached to every request");
    let claims = state.auth.tokens.verify(&bearer.token).map_err(|error| {
        tracing::debug!(%error, "access token refused");
        invalid_token()
    })?;
    let user_id = AccessTokens::user_id(&claims).map_err(|_| invalid_token())?;
    let user = sessions::active_user(&state.pool, claims.sid, user_id)
        .await?
        .ok_or_else(invalid_token)?;
    Ok(Authenticated {
        user,
        session_id: claims.sid,
    })
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidToken,
        "the access token is invalid or expired, or its session has ended",
    )
}
