//! The signed-in user's own profile (`/api/me`). The accounts themselves, their rules and
//! queries, are in [`crate::users`].

use gallery_types::{Me, UpdateMeRequest};
use poem::web::Data;
use poem_openapi::{OpenApi, payload::Json};
use sqlx::PgPool;

use crate::{api::ApiTag, auth::BearerAuth, error_responses, rate_limit::limit_writes, users};

error_responses! {
    /// Errors of `GET /api/me`.
    pub enum GetMeError {
        401 Unauthorized "No valid access token.",
    }
}

error_responses! {
    /// Errors of `PATCH /api/me`.
    pub enum UpdateMeError {
        401 Unauthorized "No valid access token.",
        409 Conflict "`handle_taken`: somebody already has this handle.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        422 Unprocessable "`invalid_handle` or `invalid_profile`: a field breaks its rules.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// The signed-in user's own profile.
#[derive(Debug, Default)]
pub struct MeApi;

#[OpenApi(tag = "ApiTag::Me")]
impl MeApi {
    /// My profile
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn get_me(&self, auth: BearerAuth) -> Result<Json<Me>, GetMeError> {
        Ok(Json(auth.0.user.to_me()))
    }

    /// Change my profile
    ///
    /// Handle, display name, bio, language and privacy; absent fields stay as they are.
    #[oai(
        path = "/me",
        method = "patch",
        operation_id = "update_me",
        transform = "limit_writes"
    )]
    async fn update_me(
        &self,
        pool: Data<&PgPool>,
        auth: BearerAuth,
        body: Json<UpdateMeRequest>,
    ) -> Result<Json<Me>, UpdateMeError> {
        let user = users::update_profile(&pool, auth.0.user.id, body.0).await?;
        Ok(Json(user.to_me()))
    }
}
