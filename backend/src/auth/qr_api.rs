//! The QR sign-in routes: a desktop starts a request and waits on it; the phone's signed-in
//! user looks at it and approves or declines.

use std::{sync::Arc, time::Duration};

use gallery_types::{
    QrApproveRequest, QrLoginCreated, QrLoginPending, QrLoginRequestInfo, TokenResponse,
};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use sqlx::PgPool;

use super::{
    AuthState, BearerAuth, delivery,
    qr::{self, PollOutcome},
};
use crate::{
    api::{ApiTag, NoContent},
    error_responses,
    rate_limit::{limit_qr, limit_writes},
};

error_responses! {
    /// Errors of `POST /api/auth/qr`.
    pub enum QrCreateError {}
    rate_limited "Too many requests from this address; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/auth/qr/{id}`.
    pub enum QrPollError {
        404 NotFound "No such request, or the poll secret is wrong.",
        410 Gone "`qr_login_gone`: the request expired or was already used.",
    }
    rate_limited "Too many requests from this address; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/auth/qr/{id}/request`.
    pub enum QrDescribeError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such request, or another user opened it first (only they may see it).",
        410 Gone "`qr_login_gone`: the request expired or was already used.",
    }
}

error_responses! {
    /// Errors of `POST /api/auth/qr/{id}/approve`.
    pub enum QrApproveError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`qr_login_mismatch`: not the number the computer shows; the request is cancelled.",
        404 NotFound "No such request, or another user opened it first.",
        409 Conflict "`qr_login_already_approved`.",
        410 Gone "`qr_login_gone`: the request expired, was declined or was already used.",
        415 UnsupportedMediaType "The body is not `application/json`.",
    }
    rate_limited "Too many requests; see `Retry-After`."
}

error_responses! {
    /// Errors of `POST /api/auth/qr/{id}/decline`.
    pub enum QrDeclineError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such request, or another user opened it first.",
        410 Gone "`qr_login_gone`: the request expired, was declined or was already used.",
    }
    rate_limited "Too many requests; see `Retry-After`."
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

/// Desktop sign-in by QR code.
#[derive(Debug, Default)]
pub struct QrApi;

#[OpenApi(tag = "ApiTag::Auth")]
impl QrApi {
    /// Start a QR sign-in
    ///
    /// For a desktop browser: returns a Max deep link to show as a QR code. Once a signed-in
    /// user approves it from the mini-app, `GET /api/auth/qr/{id}` (or the WebSocket message
    /// `watch_qr_login`) hands out the tokens. Expires in two minutes.
    #[oai(
        path = "/auth/qr",
        method = "post",
        operation_id = "start_qr_sign_in",
        transform = "limit_qr"
    )]
    async fn start(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        request: &Request,
    ) -> Result<Json<QrLoginCreated>, QrCreateError> {
        Ok(Json(
            qr::create(&pool, &auth, &delivery::device(request)).await?,
        ))
    }

    /// Wait for a QR sign-in
    ///
    /// Answers as soon as the request is approved (200, with tokens: once only), or after
    /// `wait` seconds (at most 25) with 202 if it is still pending.
    #[oai(
        path = "/auth/qr/:id",
        method = "get",
        operation_id = "wait_for_qr_sign_in",
        transform = "limit_qr"
    )]
    async fn wait(
        &self,
        auth: Data<&Arc<AuthState>>,
        pool: Data<&PgPool>,
        request: &Request,
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] id: Path<String>,
        /// The `poll_secret` from `POST /api/auth/qr`.
        #[oai(name = "X-Poll-Secret")]
        poll_secret: Header<String>,
        /// Seconds to wait for an approval (0 to 25).
        #[oai(
            default = "default_wait",
            validator(minimum(value = "0"), maximum(value = "25"))
        )]
        wait: Query<u64>,
    ) -> Result<QrPollResponse, QrPollError> {
        let wait = Duration::from_secs(wait.0);
        match qr::poll(&pool, &auth, &id.0, &poll_secret.0, wait).await? {
            PollOutcome::SignedIn(signed_in) => {
                let (issued, user) = *signed_in;
                let tokens = delivery::deliver(request, &auth, issued, &user, None);
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
    async fn describe(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] id: Path<String>,
    ) -> Result<Json<QrLoginRequestInfo>, QrDescribeError> {
        Ok(Json(qr::describe(&pool, &id.0, caller.0.user.id).await?))
    }

    /// Approve a QR sign-in
    ///
    /// Signs the requesting desktop browser in to the approving user's account.
    #[oai(
        path = "/auth/qr/:id/approve",
        method = "post",
        operation_id = "approve_qr_sign_in",
        transform = "limit_writes"
    )]
    async fn approve(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] id: Path<String>,
        body: Json<QrApproveRequest>,
    ) -> Result<NoContent, QrApproveError> {
        qr::approve(&pool, &id.0, caller.0.user.id, body.match_code).await?;
        Ok(NoContent::Done)
    }

    /// Decline a QR sign-in
    ///
    /// Ends the request at once: nobody can approve or collect it any more. For a sign-in the
    /// user did not start (someone may have sent them the link).
    #[oai(
        path = "/auth/qr/:id/decline",
        method = "post",
        operation_id = "decline_qr_sign_in",
        transform = "limit_writes"
    )]
    async fn decline(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] id: Path<String>,
    ) -> Result<NoContent, QrDeclineError> {
        qr::decline(&pool, &id.0, caller.0.user.id).await?;
        Ok(NoContent::Done)
    }
}

fn default_wait() -> u64 {
    qr::MAX_WAIT.as_secs()
}
