//! The signed-in user's own sign-in settings: their sessions and their password.

use std::sync::Arc;

use gallery_types::{ChangePasswordRequest, ErrorCode, SessionInfo};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Path, payload::Json};
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    AuthState, BearerAuth, passwords,
    sessions::{self, EndReason},
};
use crate::{
    api::{ApiTag, NoContent},
    db::During,
    error::ApiError,
    error_responses,
    rate_limit::limit_writes,
    users,
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
        400 BadRequest "The id is not a UUID.",
        401 Unauthorized "No valid access token.",
        404 NotFound "You have no active session with this id.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `PUT /api/me/password`.
    pub enum ChangePasswordError {
        400 BadRequest "The body is not the documented JSON.",
        401 Unauthorized "No valid access token.",
        403 Forbidden "`wrong_password`: the current password is missing or wrong.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        422 Unprocessable "`weak_password`: 8 to 128 characters; `invalid_handle`: choose a handle first (password sign-in uses it).",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
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
    /// Enables sign-in with handle and password. Changing an existing password needs the
    /// current one, and ends every other session.
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
        caller: BearerAuth,
        body: Json<ChangePasswordRequest>,
    ) -> Result<NoContent, ChangePasswordError> {
        let user = &caller.0.user;
        let ChangePasswordRequest {
            current_password,
            new_password,
        } = body.0;
        if user.handle.is_none() {
            return Err(ApiError::new(
                ErrorCode::InvalidHandle,
                "choose a handle first: password sign-in asks for it",
            )
            .into());
        }
        passwords::check_rules(&new_password)
            .map_err(|rule| ApiError::new(ErrorCode::WeakPassword, rule.to_string()))?;
        if user.password_hash.is_some() {
            let current = current_password.unwrap_or_default();
            let matches = auth
                .passwords
                .verify(SecretString::from(current), user.password_hash.clone())
                .await?;
            if !matches {
                return Err(ApiError::new(
                    ErrorCode::WrongPassword,
                    "the current password is wrong",
                )
                .into());
            }
        }
        let hash = auth
            .passwords
            .hash(SecretString::from(new_password))
            .await?;
        let mut transaction = pool.begin().await.during("start a password change")?;
        users::set_password_hash(&mut transaction, user.id, &hash).await?;
        sessions::end_all_sessions(
            &mut transaction,
            user.id,
            Some(caller.0.session_id),
            EndReason::PasswordChanged,
        )
        .await?;
        transaction
            .commit()
            .await
            .during("commit a password change")?;
        Ok(NoContent::Done)
    }
}
