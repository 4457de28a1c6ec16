//! Calls to the server's JSON API. Every error body is the shared [`ErrorBody`].
//!
//! An [`Api`] carries a session's access token and sends it with every call;
//! `session::use_api` gives a component the one of its session, so no page handles tokens.
//! The session context owns the token; an `Api` is rebuilt whenever it changes.

use std::{cell::Cell, rc::Rc};

use gallery_types::{
    AuthOptions, ChangePasswordRequest, DevSignInRequest, ErrorBody, ErrorCode, LogoutRequest,
    MaxSignInRequest, Me, PasswordSignInRequest, QrApproveRequest, QrLoginCreated,
    QrLoginRequestInfo, RefreshRequest, RemovePasswordRequest, ServiceStatus, SessionInfo,
    TokenResponse, UpdateMeRequest, WsTicket,
};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::{Serialize, de::DeserializeOwned};

pub mod ownership;
pub mod photos;
pub mod profiles;

/// Browsers ask for the refresh token as an httpOnly cookie, out of reach of scripts.
const DELIVERY_HEADER: &str = "X-Token-Delivery";

/// Why an API call did not produce its value.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The server could not be reached at all (offline, DNS, connection refused).
    Network,
    /// The server answered with an error status and (usually) the JSON error body.
    Status {
        status: u16,
        body: Option<ErrorBody>,
    },
    /// The server answered 2xx with a body that does not fit the contract.
    Decode,
}

impl ApiFailure {
    /// The error code the server gave, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiFailure::Status {
                body: Some(body), ..
            } => Some(body.code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiFailure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The API as one session reaches it (anonymous without a token).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Api {
    token: Option<Rc<str>>,
}

impl Api {
    /// The API for the holder of `token` (anonymous for `None`).
    pub fn with_token(token: Option<&str>) -> Self {
        Self {
            token: token.map(Rc::from),
        }
    }

    /// Whether calls go out signed in.
    pub fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    /// `request`, carrying the session's token if there is one.
    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// `GET /api/status`.
    pub async fn status(&self) -> Result<ServiceStatus, ApiFailure> {
        receive(Request::get("/api/status")).await
    }

    /// `GET /api/auth/options`.
    pub async fn auth_options(&self) -> Result<AuthOptions, ApiFailure> {
        receive(Request::get("/api/auth/options")).await
    }

    /// `POST /api/auth/max`.
    /// The refresh token comes in the body: inside Max's frame a cookie of this site may not
    /// travel, so the app keeps the token itself (see `session`).
    pub async fn sign_in_with_max(&self, init_data: String) -> Result<TokenResponse, ApiFailure> {
        send(
            Request::post("/api/auth/max"),
            &MaxSignInRequest {
                init_data: init_data.into(),
            },
        )
        .await
    }

    /// `POST /api/auth/login`.
    pub async fn sign_in_with_password(
        &self,
        handle: String,
        password: String,
    ) -> Result<TokenResponse, ApiFailure> {
        send(
            Request::post("/api/auth/login").header(DELIVERY_HEADER, "cookie"),
            &PasswordSignInRequest {
                handle: handle.into(),
                password: password.into(),
            },
        )
        .await
    }

    /// `POST /api/auth/dev`.
    pub async fn sign_in_for_development(
        &self,
        request: DevSignInRequest,
    ) -> Result<TokenResponse, ApiFailure> {
        send(
            Request::post("/api/auth/dev").header(DELIVERY_HEADER, "cookie"),
            &request,
        )
        .await
    }

    /// `POST /api/auth/refresh` with the session cookie.
    pub async fn refresh(&self) -> Result<TokenResponse, ApiFailure> {
        send(
            Request::post("/api/auth/refresh").header(DELIVERY_HEADER, "cookie"),
            &RefreshRequest::default(),
        )
        .await
    }

    /// `POST /api/auth/refresh` with the refresh token the app keeps inside Max; the new one
    /// comes in the body.
    pub async fn refresh_with(&self, refresh_token: String) -> Result<TokenResponse, ApiFailure> {
        send(
            Request::post("/api/auth/refresh"),
            &RefreshRequest {
                refresh_token: Some(refresh_token.into()),
            },
        )
        .await
    }

    /// `POST /api/auth/refresh` with a refresh token the page was handed (a desktop's QR
    /// sign-in), asking for the cookie in return: afterwards no refresh token is left in the
    /// page's memory.
    pub async fn refresh_into_cookie(
        &self,
        refresh_token: String,
    ) -> Result<TokenResponse, ApiFailure> {
        send(
            Request::post("/api/auth/refresh").header(DELIVERY_HEADER, "cookie"),
            &RefreshRequest {
                refresh_token: Some(refresh_token.into()),
            },
        )
        .await
    }

    /// `POST /api/auth/logout` with the session cookie.
    pub async fn logout(&self) -> Result<(), ApiFailure> {
        send_expecting_nothing(Request::post("/api/auth/logout"), &LogoutRequest::default()).await
    }

    /// `POST /api/auth/logout` of the session of `refresh_token` (one the page was handed).
    pub async fn logout_token(&self, refresh_token: String) -> Result<(), ApiFailure> {
        send_expecting_nothing(
            Request::post("/api/auth/logout"),
            &LogoutRequest {
                refresh_token: Some(refresh_token.into()),
            },
        )
        .await
    }

    /// `POST /api/auth/logout-all`.
    pub async fn logout_everywhere(&self) -> Result<(), ApiFailure> {
        expect_nothing(self.authorized(Request::post("/api/auth/logout-all"))).await
    }

    /// `POST /api/auth/qr`.
    pub async fn start_qr_sign_in(&self) -> Result<QrLoginCreated, ApiFailure> {
        receive(Request::post("/api/auth/qr")).await
    }

    /// `GET /api/auth/qr/{id}/request`.
    pub async fn describe_qr_sign_in(&self, id: &str) -> Result<QrLoginRequestInfo, ApiFailure> {
        receive(self.authorized(Request::get(&format!("/api/auth/qr/{id}/request")))).await
    }

    /// `POST /api/auth/qr/{id}/approve`, with the number the person picked.
    pub async fn approve_qr_sign_in(&self, id: &str, match_code: u8) -> Result<(), ApiFailure> {
        send_expecting_nothing(
            self.authorized(Request::post(&format!("/api/auth/qr/{id}/approve"))),
            &QrApproveRequest { match_code },
        )
        .await
    }

    /// `POST /api/auth/qr/{id}/decline`.
    pub async fn decline_qr_sign_in(&self, id: &str) -> Result<(), ApiFailure> {
        expect_nothing(self.authorized(Request::post(&format!("/api/auth/qr/{id}/decline")))).await
    }

    /// `PATCH /api/me`.
    pub async fn update_me(&self, change: &UpdateMeRequest) -> Result<Me, ApiFailure> {
        send(self.authorized(Request::patch("/api/me")), change).await
    }

    /// `PUT /api/me/password`.
    pub async fn set_password(&self, change: &ChangePasswordRequest) -> Result<(), ApiFailure> {
        send_expecting_nothing(self.authorized(Request::put("/api/me/password")), change).await
    }

    /// `DELETE /api/me/password`.
    pub async fn remove_password(&self, proof: &RemovePasswordRequest) -> Result<(), ApiFailure> {
        send_expecting_nothing(self.authorized(Request::delete("/api/me/password")), proof).await
    }

    /// `GET /api/me/sessions`.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, ApiFailure> {
        receive(self.authorized(Request::get("/api/me/sessions"))).await
    }

    /// `DELETE /api/me/sessions/{id}`.
    pub async fn end_session(&self, id: &str) -> Result<(), ApiFailure> {
        expect_nothing(self.authorized(Request::delete(&format!("/api/me/sessions/{id}")))).await
    }

    /// `POST /api/ws/ticket`: a single-use pass for opening one signed-in socket.
    pub async fn ws_ticket(&self) -> Result<WsTicket, ApiFailure> {
        receive(self.authorized(Request::post("/api/ws/ticket"))).await
    }
}

async fn receive<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, ApiFailure> {
    decode(&exchange(request.build()).await?)
}

async fn send<B: Serialize, T: DeserializeOwned>(
    request: RequestBuilder,
    body: &B,
) -> Result<T, ApiFailure> {
    decode(&exchange(request.json(body)).await?)
}

async fn send_expecting_nothing<B: Serialize>(
    request: RequestBuilder,
    body: &B,
) -> Result<(), ApiFailure> {
    exchange(request.json(body)).await.map(drop)
}

async fn expect_nothing(request: RequestBuilder) -> Result<(), ApiFailure> {
    exchange(request.build()).await.map(drop)
}

thread_local! {
    /// The lowest `X-Event-Seq` any answer carried so far.
    static OLDEST_ANSWER_SEQ: Cell<Option<i64>> = const { Cell::new(None) };
}

/// The event sequence number of the oldest state an answer so far reflected (`X-Event-Seq`):
/// a socket that resumes after it misses nothing those answers did not show.
pub fn oldest_answer_seq() -> Option<i64> {
    OLDEST_ANSWER_SEQ.with(Cell::get)
}

/// Sends the request and reads the answer's body: the one place that touches the network.
/// Not generic: only the decoding ([`decode`]) is written out for each answer's type, which
/// keeps the download small.
async fn exchange(request: Result<Request, gloo_net::Error>) -> Result<String, ApiFailure> {
    let request = request.map_err(|_| ApiFailure::Decode)?;
    let response = request.send().await.map_err(|_| ApiFailure::Network)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    if let Some(seq) = response
        .headers()
        .get("x-event-seq")
        .and_then(|seq| seq.parse::<i64>().ok())
    {
        OLDEST_ANSWER_SEQ.with(|oldest| oldest.set(Some(oldest.get().map_or(seq, |o| o.min(seq)))));
    }
    response.text().await.map_err(|_| ApiFailure::Network)
}

fn decode<T: DeserializeOwned>(body: &str) -> Result<T, ApiFailure> {
    serde_json::from_str(body).map_err(|_| ApiFailure::Decode)
}

async fn failure(response: Response) -> ApiFailure {
    ApiFailure::Status {
        status: response.status(),
        body: response.json::<ErrorBody>().await.ok(),
    }
}
