//! The sign-in and session routes.
//!
//! Tokens go to the client in the JSON body. Browsers instead ask for cookie delivery
//! (`X-Token-Delivery: cookie`): the refresh token is then set as an httpOnly,
//! SameSite=Strict cookie scoped to `/api/auth`, out of reach of scripts, and left out of
//! the body; `/refresh` and `/logout` read it from there.

use std::time::Duration;

use gallery_types::{
    AuthOptions, ChangePasswordRequest, DevSignInRequest, ErrorCode, LogoutRequest,
    MaxSignInRequest, PasswordSignInRequest, QrLoginCreated, QrLoginPending, QrLoginRequestInfo,
    RefreshRequest, SessionInfo, SignInMethod, TokenResponse,
};
use poem::{
    Request,
    http::{StatusCode, header},
    web::{
        Data,
        cookie::{Cookie, SameSite},
    },
};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use secrecy::SecretString;
use uuid::Uuid;

use super::{
    AuthState, BearerAuth, init_data, passwords,
    qr::{self, PollOutcome},
    sessions::{self, Device, EndReason, Issued},
};
use crate::{
    client_ip::ClientIp,
    error::ApiError,
    error_responses,
    startup::{ApiTag, AppState},
    users::{self, UserRow},
};

/// The refresh-token cookie.
const REFRESH_COOKIE: &str = "gallery_refresh";
/// Where the browser sends it: only to the routes that use it.
const REFRESH_COOKIE_PATH: &str = "/api/auth";
/// A script-readable companion of the refresh cookie, holding no secret: it only tells the web
/// client that a session cookie exists, so it tries to resume one only when there is one.
const SESSION_HINT_COOKIE: &str = "gallery_session";
/// The request header by which browsers ask for cookie delivery.
const DELIVERY_HEADER: &str = "x-token-delivery";

error_responses! {
    /// Errors of `POST /api/auth/max`.
    pub enum MaxSignInError {
        400 BadRequest "`init_data_malformed`: initData cannot be parsed or lacks `hash`, `auth_date` or `user` (or the body is not the documented JSON).",
        401 Unauthorized "`init_data_invalid`: the signature does not match; `init_data_expired`: too old or dated in the future.",
        429 TooManyRequests "Too many sign-ins from this address; see `Retry-After`.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/dev`.
    pub enum DevSignInError {
        400 BadRequest "The body is not the documented JSON, or `user_id` is not positive.",
        404 NotFound "Development sign-in is not enabled.",
        429 TooManyRequests "Too many sign-ins from this address; see `Retry-After`.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/login`.
    pub enum PasswordSignInError {
        400 BadRequest "The body is not the documented JSON.",
        401 Unauthorized "`invalid_credentials`: wrong handle or password.",
        429 TooManyRequests "Too many attempts from this address or for this handle; see `Retry-After`.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/refresh`.
    pub enum RefreshError {
        400 BadRequest "No refresh token in the body or the cookie.",
        401 Unauthorized "`invalid_refresh_token`: unknown, expired or ended; `refresh_token_reused`: already used, so its session was ended.",
        429 TooManyRequests "Too many requests from this address; see `Retry-After`.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/logout`.
    pub enum LogoutError {
        400 BadRequest "No refresh token in the body or the cookie.",
        429 TooManyRequests "Too many requests from this address; see `Retry-After`.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
}

error_responses! {
    /// Errors of operations that only need a signed-in user.
    pub enum SignedInError {
        401 Unauthorized "No valid access token.",
        429 TooManyRequests "Too many requests; see `Retry-After`.",
    }
}

error_responses! {
    /// Errors of `DELETE /api/me/sessions/{id}`.
    pub enum EndSessionError {
        400 BadRequest "The id is not a UUID.",
        401 Unauthorized "No valid access token.",
        404 NotFound "You have no active session with this id.",
        429 TooManyRequests "Too many changes in a short time; see `Retry-After`.",
    }
}

error_responses! {
    /// Errors of `PUT /api/me/password`.
    pub enum ChangePasswordError {
        400 BadRequest "The body is not the documented JSON.",
        401 Unauthorized "No valid access token.",
        403 Forbidden "`wrong_password`: the current password is missing or wrong.",
        422 Unprocessable "`weak_password`: 8 to 128 characters; `invalid_handle`: choose a handle first (password sign-in uses it).",
        429 TooManyRequests "Too many changes in a short time; see `Retry-After`.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/qr`.
    pub enum QrCreateError {
        429 TooManyRequests "Too many requests from this address; see `Retry-After`.",
    }
}

error_responses! {
    /// Errors of `GET /api/auth/qr/{id}`.
    pub enum QrPollError {
        400 BadRequest "The `X-Poll-Secret` header is missing.",
        404 NotFound "No such request, or the poll secret is wrong.",
        410 Gone "`qr_login_gone`: the request expired or was already used.",
    }
}

error_responses! {
    /// Errors of `GET /api/auth/qr/{id}/request`.
    pub enum QrDescribeError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such request.",
        410 Gone "`qr_login_gone`: the request expired or was already used.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/qr/{id}/approve`.
    pub enum QrApproveError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such request.",
        409 Conflict "`qr_login_already_approved`.",
        410 Gone "`qr_login_gone`: the request expired or was already used.",
        429 TooManyRequests "Too many requests; see `Retry-After`.",
    }
}

/// The answer to waiting on a QR sign-in request.
#[derive(ApiResponse)]
pub enum QrPollResponse {
    /// Approved: the desktop is signed in (this works once).
    #[oai(status = 200)]
    SignedIn(Json<Box<TokenResponse>>),
    /// Not approved yet: ask again.
    #[oai(status = 202)]
    Pending(Json<QrLoginPending>),
}

/// An answer without a body.
#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// Signing in and out, and the user's sessions.
pub struct AuthApi;

#[OpenApi(tag = "ApiTag::Auth")]
impl AuthApi {
    /// Sign-in options
    ///
    /// What the sign-in page should offer besides Max, QR and password sign-in.
    #[oai(
        path = "/auth/options",
        method = "get",
        operation_id = "get_auth_options"
    )]
    async fn options(&self, state: Data<&AppState>) -> Json<AuthOptions> {
        Json(AuthOptions {
            dev_login: state.auth.config.dev_login,
        })
    }

    /// Sign in with Max
    ///
    /// Validates Max's signed `initData` (either encoding; `auth_date` in seconds or
    /// milliseconds), creates or updates the user, and starts a session.
    #[oai(path = "/auth/max", method = "post", operation_id = "sign_in_with_max")]
    async fn sign_in_with_max(
        &self,
        state: Data<&AppState>,
        request: &Request,
        body: Json<MaxSignInRequest>,
    ) -> Result<Json<TokenResponse>, MaxSignInError> {
        let auth = &state.auth;
        let bot_token = auth.bot_token().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                "Max sign-in is not configured on this server",
            )
        })?;
        let valid = init_data::validate(
            &body.init_data,
            bot_token,
            auth.config.init_data_clock.now_unix(),
            auth.config.init_data_max_age_seconds,
        )
        .map_err(init_data_error)?;
        let tokens = sign_in_max_user(
            &state,
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
        operation_id = "sign_in_for_development"
    )]
    async fn sign_in_for_development(
        &self,
        state: Data<&AppState>,
        request: &Request,
        body: Json<DevSignInRequest>,
    ) -> Result<Json<TokenResponse>, DevSignInError> {
        let auth = &state.auth;
        if !auth.config.dev_login {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "development sign-in is not enabled",
            )
            .into());
        }
        if body.user_id <= 0 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "user_id must be positive",
            )
            .into());
        }
        // Development accounts live at negative Max ids, which Max never gives out, so this
        // route can never sign in as a real Max user.
        let max_user = init_data::MaxUser {
            id: -body.user_id,
            first_name: body.first_name.clone(),
            last_name: None,
            username: body.username.clone(),
            language_code: body.language.map(|language| language.code().to_owned()),
            photo_url: None,
        };
        let tokens = sign_in_max_user(&state, request, &max_user, SignInMethod::Dev, None).await?;
        Ok(Json(tokens))
    }

    /// Sign in with handle and password
    ///
    /// For desktop browsers, once a password has been set from the mini-app. Answers in the
    /// same time whether or not the handle exists.
    #[oai(
        path = "/auth/login",
        method = "post",
        operation_id = "sign_in_with_password"
    )]
    async fn sign_in_with_password(
        &self,
        state: Data<&AppState>,
        request: &Request,
        body: Json<PasswordSignInRequest>,
    ) -> Result<Json<TokenResponse>, PasswordSignInError> {
        let auth = &state.auth;
        let PasswordSignInRequest { handle, password } = body.0;
        let user = users::by_handle(&state.pool, &handle).await?;
        let stored = user.as_ref().and_then(|user| user.password_hash.clone());
        let matches = auth
            .passwords
            .verify(SecretString::from(password), stored)
            .await
            .map_err(ApiError::from)?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "wrong handle or password",
            )
            .into());
        };
        let mut transaction = state.pool.begin().await.map_err(ApiError::from)?;
        let issued = sessions::start(
            &mut transaction,
            auth,
            user.id,
            SignInMethod::Password,
            &device(request),
        )
        .await?;
        transaction.commit().await.map_err(ApiError::from)?;
        Ok(Json(deliver(request, auth, issued, &user, None)))
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
        state: Data<&AppState>,
        request: &Request,
        body: Json<RefreshRequest>,
    ) -> Result<Json<TokenResponse>, RefreshError> {
        let (token, source) = presented_refresh_token(request, body.0.refresh_token)?;
        let (issued, user) = sessions::rotate(&state.pool, &state.auth, &token).await?;
        let delivery = match source {
            // A token that came from the cookie goes back only into the cookie, so that a
            // script in the page can never read a refresh token by asking for one.
            TokenSource::Cookie => Delivery::Cookie,
            TokenSource::Body => Delivery::requested_by(request),
        };
        Ok(Json(deliver_as(
            delivery,
            request,
            &state.auth,
            issued,
            &user,
            None,
        )))
    }

    /// Sign out
    ///
    /// Ends the session of the refresh token given (body or cookie); its tokens stop working
    /// at once. Signing out of an already-ended session also answers 204.
    #[oai(path = "/auth/logout", method = "post", operation_id = "sign_out")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        request: &Request,
        body: Json<LogoutRequest>,
    ) -> Result<NoContent, LogoutError> {
        let (token, _) = presented_refresh_token(request, body.0.refresh_token)?;
        if let Some(session_id) = sessions::of_refresh_token(&state.pool, &token).await? {
            let mut transaction = state.pool.begin().await.map_err(ApiError::from)?;
            sessions::end_session(&mut transaction, session_id, EndReason::Logout).await?;
            transaction.commit().await.map_err(ApiError::from)?;
        }
        clear_refresh_cookie(request, &state.auth);
        Ok(NoContent::Done)
    }

    /// Sign out everywhere
    ///
    /// Ends every session of the signed-in user, this one included.
    #[oai(
        path = "/auth/logout-all",
        method = "post",
        operation_id = "sign_out_everywhere"
    )]
    async fn logout_all(
        &self,
        state: Data<&AppState>,
        request: &Request,
        auth: BearerAuth,
    ) -> Result<NoContent, SignedInError> {
        let mut transaction = state.pool.begin().await.map_err(ApiError::from)?;
        sessions::end_all_sessions(&mut transaction, auth.0.user.id, None, EndReason::LogoutAll)
            .await?;
        transaction.commit().await.map_err(ApiError::from)?;
        clear_refresh_cookie(request, &state.auth);
        Ok(NoContent::Done)
    }

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
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<Vec<SessionInfo>>, SignedInError> {
        Ok(Json(
            sessions::list(&state.pool, auth.0.user.id, auth.0.session_id).await?,
        ))
    }

    /// End one of my sessions
    #[oai(
        path = "/me/sessions/:id",
        method = "delete",
        operation_id = "end_my_session"
    )]
    async fn end_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<NoContent, EndSessionError> {
        if sessions::end_own_session(&state.pool, auth.0.user.id, id.0).await? {
            Ok(NoContent::Done)
        } else {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such active session",
            )
            .into())
        }
    }

    /// Set or change my password
    ///
    /// Enables sign-in with handle and password. Changing an existing password needs the
    /// current one, and ends every other session.
    #[oai(
        path = "/me/password",
        method = "put",
        operation_id = "set_my_password"
    )]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<ChangePasswordRequest>,
    ) -> Result<NoContent, ChangePasswordError> {
        let user = &auth.0.user;
        let ChangePasswordRequest {
            current_password,
            new_password,
        } = body.0;
        if user.handle.is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidHandle,
                "choose a handle first: password sign-in asks for it",
            )
            .into());
        }
        passwords::check_rules(&new_password).map_err(|rule| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::WeakPassword,
                rule.to_string(),
            )
        })?;
        if user.password_hash.is_some() {
            let current = current_password.unwrap_or_default();
            let matches = state
                .auth
                .passwords
                .verify(SecretString::from(current), user.password_hash.clone())
                .await
                .map_err(ApiError::from)?;
            if !matches {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::WrongPassword,
                    "the current password is wrong",
                )
                .into());
            }
        }
        let hash = state
            .auth
            .passwords
            .hash(SecretString::from(new_password))
            .await
            .map_err(ApiError::from)?;
        let mut transaction = state.pool.begin().await.map_err(ApiError::from)?;
        sqlx::query!(
            "update users set password_hash = $2, updated_at = now() where id = $1",
            user.id,
            hash
        )
        .execute(&mut *transaction)
        .await
        .map_err(ApiError::from)?;
        sessions::end_all_sessions(
            &mut transaction,
            user.id,
            Some(auth.0.session_id),
            EndReason::PasswordChanged,
        )
        .await?;
        transaction.commit().await.map_err(ApiError::from)?;
        Ok(NoContent::Done)
    }

    /// Start a QR sign-in
    ///
    /// For a desktop browser: returns a Max deep link to show as a QR code. Once a signed-in
    /// user approves it from the mini-app, `GET /api/auth/qr/{id}` hands out the tokens.
    /// Expires in two minutes.
    #[oai(path = "/auth/qr", method = "post", operation_id = "start_qr_sign_in")]
    async fn start_qr(
        &self,
        state: Data<&AppState>,
        request: &Request,
    ) -> Result<Json<QrLoginCreated>, QrCreateError> {
        Ok(Json(
            qr::create(&state.pool, &state.auth, &device(request)).await?,
        ))
    }

    /// Wait for a QR sign-in
    ///
    /// Answers as soon as the request is approved (200, with tokens: once only), or after
    /// `wait` seconds (at most 25) with 202 if it is still pending.
    #[oai(
        path = "/auth/qr/:id",
        method = "get",
        operation_id = "wait_for_qr_sign_in"
    )]
    async fn wait_for_qr(
        &self,
        state: Data<&AppState>,
        request: &Request,
        id: Path<String>,
        /// The `poll_secret` from `POST /api/auth/qr`.
        #[oai(name = "X-Poll-Secret")]
        poll_secret: Header<String>,
        /// Seconds to wait for an approval (0 to 25).
        #[oai(default = "default_wait")]
        wait: Query<u64>,
    ) -> Result<QrPollResponse, QrPollError> {
        let wait = Duration::from_secs(wait.0);
        match qr::poll(&state.pool, &state.auth, &id.0, &poll_secret.0, wait).await? {
            PollOutcome::SignedIn(signed_in) => {
                let (issued, user) = *signed_in;
                let tokens = deliver(request, &state.auth, issued, &user, None);
                Ok(QrPollResponse::SignedIn(Json(Box::new(tokens))))
            }
            PollOutcome::Pending { expires_at } => {
                Ok(QrPollResponse::Pending(Json(QrLoginPending { expires_at })))
            }
        }
    }

    /// See a QR sign-in request
    ///
    /// What the approving user is shown before approving: the requesting browser and address.
    #[oai(
        path = "/auth/qr/:id/request",
        method = "get",
        operation_id = "describe_qr_sign_in"
    )]
    async fn describe_qr(
        &self,
        state: Data<&AppState>,
        _auth: BearerAuth,
        id: Path<String>,
    ) -> Result<Json<QrLoginRequestInfo>, QrDescribeError> {
        Ok(Json(qr::describe(&state.pool, &id.0).await?))
    }

    /// Approve a QR sign-in
    ///
    /// Signs the requesting desktop browser in to the approving user's account.
    #[oai(
        path = "/auth/qr/:id/approve",
        method = "post",
        operation_id = "approve_qr_sign_in"
    )]
    async fn approve_qr(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> Result<NoContent, QrApproveError> {
        qr::approve(&state.pool, &id.0, auth.0.user.id).await?;
        Ok(NoContent::Done)
    }

    /// Decline a QR sign-in
    ///
    /// Ends the request at once: nobody can approve or collect it any more. For a sign-in the
    /// user did not start (someone may have sent them the link).
    #[oai(
        path = "/auth/qr/:id/decline",
        method = "post",
        operation_id = "decline_qr_sign_in"
    )]
    async fn decline_qr(
        &self,
        state: Data<&AppState>,
        _auth: BearerAuth,
        id: Path<String>,
    ) -> Result<NoContent, QrApproveError> {
        qr::decline(&state.pool, &id.0).await?;
        Ok(NoContent::Done)
    }
}

/// Creates or refreshes the user of a Max account and starts their session, in one
/// transaction.
async fn sign_in_max_user(
    state: &AppState,
    request: &Request,
    max_user: &init_data::MaxUser,
    method: SignInMethod,
    start_param: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let mut transaction = state.pool.begin().await?;
    let user = users::upsert_from_max(&mut transaction, max_user).await?;
    let issued = sessions::start(
        &mut transaction,
        &state.auth,
        user.id,
        method,
        &device(request),
    )
    .await?;
    transaction.commit().await?;
    Ok(deliver(request, &state.auth, issued, &user, start_param))
}

fn default_wait() -> u64 {
    qr::MAX_WAIT.as_secs()
}

fn init_data_error(error: init_data::InitDataError) -> ApiError {
    use init_data::InitDataError::*;
    let (status, code) = match error {
        Malformed(_) => (StatusCode::BAD_REQUEST, ErrorCode::InitDataMalformed),
        BadSignature => (StatusCode::UNAUTHORIZED, ErrorCode::InitDataInvalid),
        Expired => (StatusCode::UNAUTHORIZED, ErrorCode::InitDataExpired),
    };
    ApiError::new(status, code, error.to_string())
}

/// The requesting browser and address, recorded with a session.
fn device(request: &Request) -> Device {
    Device {
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(512)
            .collect(),
        ip: ClientIp::of(request),
    }
}

/// How the refresh token travels to the client.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Body,
    Cookie,
}

impl Delivery {
    /// Cookie if the request asked for it (`X-Token-Delivery: cookie`), else the body.
    fn requested_by(request: &Request) -> Self {
        let by_cookie = request
            .headers()
            .get(DELIVERY_HEADER)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cookie"));
        if by_cookie {
            Delivery::Cookie
        } else {
            Delivery::Body
        }
    }
}

/// The tokens for the client, delivered as the request asked.
fn deliver(
    request: &Request,
    auth: &AuthState,
    issued: Issued,
    user: &UserRow,
    start_param: Option<String>,
) -> TokenResponse {
    deliver_as(
        Delivery::requested_by(request),
        request,
        auth,
        issued,
        user,
        start_param,
    )
}

/// The tokens for the client: the refresh token in the body, or in the httpOnly cookie.
fn deliver_as(
    delivery: Delivery,
    request: &Request,
    auth: &AuthState,
    issued: Issued,
    user: &UserRow,
    start_param: Option<String>,
) -> TokenResponse {
    let refresh_token = match delivery {
        Delivery::Cookie => {
            let mut cookie = refresh_cookie(auth, issued.refresh_token);
            cookie.set_max_age(auth.refresh_ttl);
            request.cookie().add(cookie);
            let mut hint = session_hint_cookie(auth, "1");
            hint.set_max_age(auth.refresh_ttl);
            request.cookie().add(hint);
            None
        }
        Delivery::Body => Some(issued.refresh_token),
    };
    token_response(auth, issued.access_token, refresh_token, user, start_param)
}

/// The tokens with the refresh token in the body: for clients without cookies, and for the
/// QR sign-in delivered over the socket.
pub fn tokens_in_body(auth: &AuthState, issued: Issued, user: &UserRow) -> TokenResponse {
    token_response(
        auth,
        issued.access_token,
        Some(issued.refresh_token),
        user,
        None,
    )
}

fn token_response(
    auth: &AuthState,
    access_token: String,
    refresh_token: Option<String>,
    user: &UserRow,
    start_param: Option<String>,
) -> TokenResponse {
    TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: auth.tokens.ttl().as_secs(),
        refresh_token,
        user: user.to_me(),
        start_param,
    }
}

fn refresh_cookie(auth: &AuthState, value: String) -> Cookie {
    let mut cookie = Cookie::new_with_str(REFRESH_COOKIE, value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path(REFRESH_COOKIE_PATH);
    cookie.set_secure(auth.secure_cookies);
    cookie
}

fn session_hint_cookie(auth: &AuthState, value: &str) -> Cookie {
    let mut cookie = Cookie::new_with_str(SESSION_HINT_COOKIE, value);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path("/");
    cookie.set_secure(auth.secure_cookies);
    cookie
}

fn clear_refresh_cookie(request: &Request, auth: &AuthState) {
    let mut cookie = refresh_cookie(auth, String::new());
    cookie.set_max_age(Duration::ZERO);
    request.cookie().add(cookie);
    let mut hint = session_hint_cookie(auth, "");
    hint.set_max_age(Duration::ZERO);
    request.cookie().add(hint);
}

/// Where a refresh token came from.
enum TokenSource {
    Body,
    Cookie,
}

/// The refresh token from the body, else from the cookie.
fn presented_refresh_token(
    request: &Request,
    from_body: Option<String>,
) -> Result<(String, TokenSource), ApiError> {
    let from_cookie = || {
        request
            .cookie()
            .get(REFRESH_COOKIE)
            .map(|cookie| cookie.value_str().to_owned())
            .filter(|token| !token.is_empty())
    };
    from_body
        .filter(|token| !token.is_empty())
        .map(|token| (token, TokenSource::Body))
        .or_else(|| from_cookie().map(|token| (token, TokenSource::Cookie)))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "no refresh token: send it as `refresh_token` or in the session cookie",
            )
        })
}
