//! Signing in and out: with Max's initData, with handle and password, for development;
//! refreshing tokens; signing out here or everywhere.

use std::sync::Arc;

use gallery_types::{
    AuthOptions, DevSignInRequest, ErrorCode, Language, LogoutRequest, MaxSignInRequest,
    PasswordSignInRequest, RefreshRequest, SignInMethod, SignedOutEverywhere, Text, TokenResponse,
};
use poem::{Request, web::Data};
use poem_openapi::{OpenApi, payload::Json};
use secrecy::SecretString;
use sqlx::PgPool;

use super::{
    AuthState, BearerAuth,
    delivery::{self, Delivery, TokenSource},
    init_data::{self, MaxUser},
    sessions::{self, EndReason},
};
use crate::{
    api::{ApiTag, NoContent},
    db::During,
    error::ApiError,
    error_responses,
    rate_limit::{RateLimits, limit_sign_ins, limit_writes},
    users::{self, SignedInAccount},
};

error_responses! {
    /// Errors of `POST /api/auth/max`.
    pub enum MaxSignInError {
        401 Unauthorized "`init_data_malformed`: initData cannot be parsed or lacks `hash`, `auth_date` or `user`; `init_data_invalid`: the signature does not match; `init_data_expired`: too old or dated in the future.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "Too many sign-ins from this address; see `Retry-After`."
}

error_responses! {
    /// Errors of `POST /api/auth/dev`.
    pub enum DevSignInError {
        404 NotFound "Development sign-in is not enabled.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "Too many sign-ins from this address; see `Retry-After`."
}

error_responses! {
    /// Errors of `POST /api/auth/login`.
    pub enum PasswordSignInError {
        401 Unauthorized "`invalid_credentials`: wrong handle or password.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "Too many sign-ins from this address, or password attempts for this handle from this client; see `Retry-After`."
}

error_responses! {
    /// Errors of `POST /api/auth/refresh`.
    pub enum RefreshError {
        401 Unauthorized "`invalid_refresh_token`: none given, or unknown, expired or ended; `refresh_token_reused`: already used, so its session was ended.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "This session was refreshed too often; see `Retry-After`."
}

error_responses! {
    /// Errors of `POST /api/auth/logout`.
    pub enum LogoutError {
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "This session was refreshed or signed out of too often; see `Retry-After`."
}

error_responses! {
    /// Errors of `POST /api/auth/logout-all`.
    pub enum LogoutAllError {
        401 Unauthorized "No valid access token.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// Signing in and out.
#[derive(Debug, Default)]
pub struct SignInApi;

#[OpenApi(tag = "ApiTag::Auth")]
impl SignInApi {
    /// Sign-in options
    ///
    /// What the sign-in page should offer besides Max, QR and password sign-in.
    #[oai(
        path = "/auth/options",
        method = "get",
        operation_id = "get_auth_options"
    )]
    async fn options(&self, auth: Data<&Arc<AuthState>>) -> Json<AuthOptions> {
        Json(AuthOptions {
            dev_login: auth.config.dev_login,
        })
    }

    /// Sign in with Max
    ///
    /// Validates Max's signed `initData` (either encoding; `auth_date` in seconds or
    /// milliseconds), creates or updates the user, and starts a session.
    #[oai(
        path = "/auth/max",
        method = "post",
        operation_id = "sign_in_with_max",
        transform = "limit_sign_ins"
    )]
    async fn sign_in_with_max(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        request: &Request,
        body: Json<MaxSignInRequest>,
    ) -> Result<Json<TokenResponse>, MaxSignInError> {
        let bot_token = auth
            .bot_token()
            .ok_or_else(|| ApiError::unavailable("Max sign-in is not configured on this server"))?;
        let valid = init_data::validate(
            &body.init_data,
            bot_token,
            auth.config.init_data_clock.now_unix(),
            auth.config.init_data_max_age_seconds,
        )?;
        let tokens = sign_in_max_user(
            &auth,
            &pool,
            request,
            &valid.user,
            SignInMethod::Max,
            valid.start_param,
        )
        .await?;
        Ok(Json(tokens))
    }

    /// Development sign-in
    ///
    /// Signs in as a made-up user, without Max. Only when the server runs with
    /// `GALLERY_DEV_LOGIN=1` (never in production). Development users are separate from
    /// every real Max account.
    #[oai(
        path = "/auth/dev",
        method = "post",
        operation_id = "sign_in_for_development",
        transform = "limit_sign_ins"
    )]
    async fn sign_in_for_development(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        request: &Request,
        body: Json<DevSignInRequest>,
    ) -> Result<Json<TokenResponse>, DevSignInError> {
        if !auth.config.dev_login {
            return Err(
                ApiError::new(ErrorCode::NotFound, "development sign-in is not enabled").into(),
            );
        }
        // Development accounts live at negative Max ids, which Max never gives out, so this
        // route can never sign in as a real Max user.
        let max_user = MaxUser {
            id: -body.user_id,
            first_name: body.first_name.to_string(),
            last_name: None,
            username: body.username.as_ref().map(Text::to_string),
            language_code: body.language.map(|language| language.code().to_owned()),
            photo_url: None,
        };
        let tokens =
            sign_in_max_user(&auth, &pool, request, &max_user, SignInMethod::Dev, None).await?;
        Ok(Json(tokens))
    }

    /// Sign in with handle and password
    ///
    /// For desktop browsers, once a password has been set from the mini-app. Answers in the
    /// same time whether or not the handle exists.
    #[oai(
        path = "/auth/login",
        method = "post",
        operation_id = "sign_in_with_password",
        transform = "limit_sign_ins"
    )]
    async fn sign_in_with_password(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        limits: Data<&Arc<RateLimits>>,
        request: &Request,
        body: Json<PasswordSignInRequest>,
    ) -> Result<Json<TokenResponse>, PasswordSignInError> {
        let PasswordSignInRequest { handle, password } = body.0;
        // Keyed exactly as the lookup below finds the user, so no spelling gets a bucket of
        // its own; checked before the expensive hash.
        limits.password_attempt(&users::handle_key(&handle), request)?;
        // No account has a handle of another form: no need to hash anything to say so.
        if users::check_handle(handle.trim()).is_err() {
            return Err(wrong_credentials().into());
        }
        let user = users::by_handle(&pool, &handle).await?;
        let stored = user.as_ref().and_then(|user| user.password_hash.clone());
        let matches = auth
            .passwords
            .verify(SecretString::from(password.into_string()), stored)
            .await?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(wrong_credentials().into());
        };
        let mut transaction = pool.begin().await.during("start a password sign-in")?;
        let issued = sessions::start(
            &mut transaction,
            &auth,
            user.id,
            SignInMethod::Password,
            &delivery::device(request),
        )
        .await?;
        transaction
            .commit()
            .await
            .during("commit a password sign-in")?;
        Ok(Json(delivery::deliver(request, &auth, issued, &user, None)))
    }

    /// Refresh tokens
    ///
    /// Trades a refresh token (from the body, or the browser's cookie) for new tokens. Each
    /// refresh token works once; using one twice ends its session.
    #[oai(
        path = "/auth/refresh",
        method = "post",
        operation_id = "refresh_tokens"
    )]
    async fn refresh(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        limits: Data<&Arc<RateLimits>>,
        request: &Request,
        body: Json<RefreshRequest>,
    ) -> Result<Json<TokenResponse>, RefreshError> {
        let (token, source) = delivery::presented_refresh_token(request, body.0.refresh_token)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidRefreshToken,
                    "no refresh token: send it as `refresh_token` or in the session cookie",
                )
            })?;
        if let Some(session_id) = sessions::of_refresh_token(&pool, &token).await? {
            limits.session_use(session_id)?;
        }
        let (issued, user) = sessions::rotate(&pool, &auth, &token).await?;
        let delivery = match source {
            // A token that came from the cookie goes back only into the cookie, so that a
            // script in the page can never read a refresh token by asking for one.
            TokenSource::Cookie => Delivery::Cookie,
            TokenSource::Body => Delivery::requested_by(request),
        };
        Ok(Json(delivery::deliver_as(
            delivery, request, &auth, issued, &user, None,
        )))
    }

    /// Sign out
    ///
    /// Ends the session of the refresh token given (body or cookie); its tokens stop working
    /// at once. Signing out of an already-ended session also answers 204.
    #[oai(path = "/auth/logout", method = "post", operation_id = "sign_out")]
    async fn logout(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        limits: Data<&Arc<RateLimits>>,
        request: &Request,
        body: Json<LogoutRequest>,
    ) -> Result<NoContent, LogoutError> {
        // Without a token (or with one that ended already) there is nothing left to end.
        let token = delivery::presented_refresh_token(request, body.0.refresh_token);
        let session = match token {
            Some((token, _)) => sessions::of_refresh_token(&pool, &token).await?,
            None => None,
        };
        if let Some(session_id) = session {
            limits.session_use(session_id)?;
            let mut transaction = pool.begin().await.during("start signing out")?;
            sessions::end_session(&mut transaction, session_id, EndReason::Logout).await?;
            transaction.commit().await.during("commit signing out")?;
        }
        delivery::clear_refresh_cookie(request, &auth);
        Ok(NoContent::Done)
    }

    /// Sign out everywhere
    ///
    /// Ends every session of the signed-in user, this one included, and says whether a
    /// password still opens the account (remove it with `DELETE /api/me/password`).
    #[oai(
        path = "/auth/logout-all",
        method = "post",
        operation_id = "sign_out_everywhere",
        transform = "limit_writes"
    )]
    async fn logout_all(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        request: &Request,
        caller: BearerAuth,
    ) -> Result<Json<SignedOutEverywhere>, LogoutAllError> {
        let mut transaction = pool.begin().await.during("start signing out everywhere")?;
        let sessions_ended = sessions::end_all_sessions(
            &mut transaction,
            caller.0.user.id,
            None,
            EndReason::LogoutAll,
        )
        .await?;
        transaction
            .commit()
            .await
            .during("commit signing out everywhere")?;
        delivery::clear_refresh_cookie(request, &auth);
        Ok(Json(SignedOutEverywhere {
            sessions_ended,
            password_set: caller.0.user.password_hash.is_some(),
        }))
    }
}

fn wrong_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "wrong handle or password")
}

/// Creates or refreshes the user of a Max account and starts their session, in one
/// transaction.
async fn sign_in_max_user(
    auth: &AuthState,
    pool: &PgPool,
    request: &Request,
    max_user: &MaxUser,
    method: SignInMethod,
    start_param: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let display_name = match max_user.last_name.as_deref().map(str::trim) {
        Some(last) if !last.is_empty() => format!("{} {last}", max_user.first_name.trim()),
        _ => max_user.first_name.trim().to_owned(),
    };
    let account = SignedInAccount {
        max_user_id: max_user.id,
        display_name: &display_name,
        preferred_handle: max_user.username.as_deref(),
        language: Language::from_code(max_user.language_code.as_deref().unwrap_or("ru")),
        photo_url: max_user.photo_url.as_deref(),
    };
    let mut transaction = pool.begin().await.during("start a sign-in")?;
    let user = users::upsert_signed_in(&mut transaction, &account).await?;
    let issued = sessions::start(
        &mut transaction,
        auth,
        user.id,
        method,
        &delivery::device(request),
    )
    .await?;
    transaction.commit().await.during("commit a sign-in")?;
    Ok(delivery::deliver(request, auth, issued, &user, start_param))
}
