//! The signed-in user's own sign-in settings: their sessions and their password.

use std::sync::Arc;

use gallery_types::{ChangePasswordRequest, ErrorCode, RemovePasswordRequest, SessionInfo, Text};
use poem::{Request, web::Data};
use poem_openapi::{OpenApi, param::Path, payload::Json};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    AuthState, BearerAuth,
    init_data::{self, InitDataError},
    passwords,
    sessions::{self, EndReason},
};
use crate::{
    api::{ApiTag, NoContent},
    db::{DbError, During},
    error::ApiError,
    error_responses,
    rate_limit::{RateLimits, limit_writes},
    users::{self, UserRow},
};

error_responses! {
    /// Errors of `GET /api/me/sessions`.
    pub enum ListSessionsError {
        401 Unauthorized "No valid access token.",
    }
}

error_responses! {
    /// Errors of `DELETE /api/me/sessions/{id}`.
    pub enum EndSessionError {
        401 Unauthorized "No valid access token.",
        404 NotFound "You have no active session with this id.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `PUT /api/me/password`.
    pub enum ChangePasswordError {
        401 Unauthorized "No valid access token; `init_data_malformed` or `init_data_invalid`: `init_data` is not initData signed by Max for this server.",
        403 Forbidden "`wrong_password`: the current password is missing or wrong; `fresh_sign_in_required`: a first password (or one set without the current password) needs this account's `init_data` from the last ten minutes.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        409 Conflict "`handle_required`: choose a handle first (password sign-in asks for it).",
        422 Unprocessable "`weak_password`: 8 to 128 characters.",
    }
    rate_limited "Too many changes, or wrong current passwords, in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `DELETE /api/me/password`.
    pub enum RemovePasswordError {
        401 Unauthorized "No valid access token; `init_data_malformed` or `init_data_invalid`: `init_data` is not initData signed by Max for this server.",
        403 Forbidden "`wrong_password` or `fresh_sign_in_required`: no proof that the account's person asks.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "Too many changes, or wrong current passwords, in a short time; see `Retry-After`."
}

/// The user's sessions and password.
#[derive(Debug, Default)]
pub struct AccountApi;

#[OpenApi(tag = "ApiTag::Auth")]
impl AccountApi {
    /// My sessions
    ///
    /// Every device signed in to this account, most recently used first.
    #[oai(
        path = "/me/sessions",
        method = "get",
        operation_id = "list_my_sessions"
    )]
    async fn sessions(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
    ) -> Result<Json<Vec<SessionInfo>>, ListSessionsError> {
        let caller = caller.0;
        Ok(Json(
            sessions::list(&pool, caller.user.id, caller.session_id).await?,
        ))
    }

    /// End one of my sessions
    #[oai(
        path = "/me/sessions/:id",
        method = "delete",
        operation_id = "end_my_session",
        transform = "limit_writes"
    )]
    async fn end_session(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<NoContent, EndSessionError> {
        if sessions::end_own_session(&pool, caller.0.user.id, id.0).await? {
            Ok(NoContent::Done)
        } else {
            Err(ApiError::new(ErrorCode::NotFound, "no such active session").into())
        }
    }

    /// Set or change my password
    ///
    /// Enables sign-in with handle and password, and ends every other session. Proof that the
    /// person, not only a token, asks: the current password, or (always possible, and the only
    /// way to set a first password) Max's `init_data` of this account from the last ten
    /// minutes. Wrong current passwords count against the same limit as password sign-ins.
    #[oai(
        path = "/me/password",
        method = "put",
        operation_id = "set_my_password",
        transform = "limit_writes"
    )]
    async fn change_password(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        limits: Data<&Arc<RateLimits>>,
        request: &Request,
        caller: BearerAuth,
        body: Json<ChangePasswordRequest>,
    ) -> Result<NoContent, ChangePasswordError> {
        let user = &caller.0.user;
        let ChangePasswordRequest {
            current_password,
            init_data,
            new_password,
        } = body.0;
        if user.handle.is_none() {
            return Err(ApiError::new(
                ErrorCode::HandleRequired,
                "choose a handle first: password sign-in asks for it",
            )
            .into());
        }
        passwords::check_rules(&new_password)
            .map_err(|rule| ApiError::new(ErrorCode::WeakPassword, rule.to_string()))?;
        prove_account(&auth, &limits, request, user, current_password, init_data).await?;
        let hash = auth
            .passwords
            .hash(SecretString::from(new_password.into_string()))
            .await?;
        replace_password(&pool, user.id, caller.0.session_id, Some(&hash)).await?;
        Ok(NoContent::Done)
    }

    /// Remove my password
    ///
    /// Password sign-in stops working, and every other session ends, as when changing it
    /// (one started with a leaked password among them). The same proof as changing it.
    #[oai(
        path = "/me/password",
        method = "delete",
        operation_id = "remove_my_password",
        transform = "limit_writes"
    )]
    async fn remove_password(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        limits: Data<&Arc<RateLimits>>,
        request: &Request,
        caller: BearerAuth,
        body: Json<RemovePasswordRequest>,
    ) -> Result<NoContent, RemovePasswordError> {
        let user = &caller.0.user;
        if user.password_hash.is_none() {
            return Ok(NoContent::Done);
        }
        let RemovePasswordRequest {
            current_password,
            init_data,
        } = body.0;
        prove_account(&auth, &limits, request, user, current_password, init_data).await?;
        replace_password(&pool, user.id, caller.0.session_id, None).await?;
        Ok(NoContent::Done)
    }
}

/// Sets (`Some`) or removes the user's password hash and ends every session but `current`,
/// in one transaction: a session started with the old password ends with it.
async fn replace_password(
    pool: &PgPool,
    user_id: i64,
    current: Uuid,
    hash: Option<&str>,
) -> Result<(), DbError> {
    let mut transaction = pool.begin().await.during("start a password change")?;
    users::set_password_hash(&mut transaction, user_id, hash).await?;
    sessions::end_all_sessions(
        &mut transaction,
        user_id,
        Some(current),
        EndReason::PasswordChanged,
    )
    .await?;
    transaction
        .commit()
        .await
        .during("commit a password change")
}

/// How recent Max's initData must be to prove, within a signed-in request, that the
/// account's person is there (a stolen access token lasts a quarter of an hour).
const FRESH_PROOF_SECONDS: i64 = 10 * 60;

/// Checks that the person, not only a token, asks: `init_data` of this very Max account from
/// the last ten minutes, or else the current password (its attempts limited like sign-ins).
async fn prove_account(
    auth: &AuthState,
    limits: &RateLimits,
    request: &Request,
    user: &UserRow,
    current_password: Option<Text>,
    init_data: Option<Text>,
) -> Result<(), ApiError> {
    let fresh_sign_in_required =
        |message: &str| ApiError::new(ErrorCode::FreshSignInRequired, message);
    if let Some(init_data) = init_data {
        let bot_token = auth
            .bot_token()
            .ok_or_else(|| ApiError::unavailable("Max sign-in is not configured on this server"))?;
        let now = auth.config.init_data_clock.now_unix();
        return match init_data::validate(&init_data, bot_token, now, FRESH_PROOF_SECONDS) {
            Ok(valid) if valid.user.id == user.max_user_id => Ok(()),
            Ok(_) => Err(fresh_sign_in_required(
                "this initData belongs to another Max account",
            )),
            Err(InitDataError::Expired) => Err(fresh_sign_in_required(
                "this initData is older than ten minutes; open the mini-app again",
            )),
            Err(error) => Err(error.into()),
        };
    }
    match (current_password, &user.password_hash) {
        (Some(current), Some(stored)) => {
            let handle = user.handle.as_deref().unwrap_or_default();
            limits.password_attempt(&users::handle_key(handle), request)?;
            let matches = auth
                .passwords
                .verify(
                    SecretString::from(current.into_string()),
                    Some(stored.clone()),
                )
                .await?;
            if matches {
                Ok(())
            } else {
                Err(ApiError::new(
                    ErrorCode::WrongPassword,
                    "the current password is wrong",
                ))
            }
        }
        (None, Some(_)) => Err(ApiError::new(
            ErrorCode::WrongPassword,
            "give the current password, or Max's initData from the last ten minutes",
        )),
        (_, None) => Err(fresh_sign_in_required(
            "a first password needs Max's initData from the last ten minutes: set it from the mini-app",
        )),
    }
}
