//! Calls to the server's JSON API. Every error body is the shared [`ErrorBody`].
//!
//! Signed-in calls take the access token explicitly: the session context owns it, and
//! nothing else keeps a copy.

use gallery_types::{
    AuthOptions, ChangePasswordRequest, DevSignInRequest, ErrorBody, ErrorCode, LogoutRequest,
    MaxSignInRequest, Me, PasswordSignInRequest, QrLoginCreated, QrLoginRequestInfo,
    RefreshRequest, ServiceStatus, SessionInfo, TokenResponse, UpdateMeRequest, WsTicket,
};
use gloo_net::http::{Request, RequestBuilder, Response};

pub mod photos;
use serde::{Serialize, de::DeserializeOwned};

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

/// `GET /api/status`.
pub async fn status() -> Result<ServiceStatus, ApiFailure> {
    receive(Request::get("/api/status")).await
}

/// `GET /api/auth/options`.
pub async fn auth_options() -> Result<AuthOptions, ApiFailure> {
    receive(Request::get("/api/auth/options")).await
}

/// `POST /api/auth/max`.
pub async fn sign_in_with_max(init_data: String) -> Result<TokenResponse, ApiFailure> {
    send(
        Request::post("/api/auth/max").header(DELIVERY_HEADER, "cookie"),
        &MaxSignInRequest { init_data },
    )
    .await
}

/// `POST /api/auth/login`.
pub async fn sign_in_with_password(
    handle: String,
    password: String,
) -> Result<TokenResponse, ApiFailure> {
    send(
        Request::post("/api/auth/login").header(DELIVERY_HEADER, "cookie"),
        &PasswordSignInRequest { handle, password },
    )
    .await
}

/// `POST /api/auth/dev`.
pub async fn sign_in_for_development(
    request: DevSignInRequest,
) -> Result<TokenResponse, ApiFailure> {
    send(
        Request::post("/api/auth/dev").header(DELIVERY_HEADER, "cookie"),
        &request,
    )
    .await
}

/// `POST /api/auth/refresh` with the session cookie.
pub async fn refresh() -> Result<TokenResponse, ApiFailure> {
    send(
        Request::post("/api/auth/refresh").header(DELIVERY_HEADER, "cookie"),
        &RefreshRequest::default(),
    )
    .await
}

/// `POST /api/auth/refresh` with a refresh token the page was handed (a desktop's QR
/// sign-in), asking for the cookie in return: afterwards no refresh token is left in the
/// page's memory.
pub async fn refresh_into_cookie(refresh_token: String) -> Result<TokenResponse, ApiFailure> {
    send(
        Request::post("/api/auth/refresh").header(DELIVERY_HEADER, "cookie"),
        &RefreshRequest {
            refresh_token: Some(refresh_token),
        },
    )
    .await
}

/// `POST /api/auth/logout` with the session cookie.
pub async fn logout() -> Result<(), ApiFailure> {
    send_expecting_nothing(Request::post("/api/auth/logout").json(&LogoutRequest::default())).await
}

/// `POST /api/auth/logout-all`.
pub async fn logout_everywhere(token: &str) -> Result<(), ApiFailure> {
    expect_nothing(
        Request::post("/api/auth/logout-all")
            .header("Authorization", &bearer(token))
            .send()
            .await,
    )
    .await
}

/// `POST /api/auth/qr`.
pub async fn start_qr_sign_in() -> Result<QrLoginCreated, ApiFailure> {
    receive(Request::post("/api/auth/qr")).await
}

/// `GET /api/auth/qr/{id}/request`.
pub async fn describe_qr_sign_in(token: &str, id: &str) -> Result<QrLoginRequestInfo, ApiFailure> {
    receive(
        Request::get(&format!("/api/auth/qr/{id}/request")).header("Authorization", &bearer(token)),
    )
    .await
}

/// `POST /api/auth/qr/{id}/approve`.
pub async fn approve_qr_sign_in(token: &str, id: &str) -> Result<(), ApiFailure> {
    expect_nothing(
        Request::post(&format!("/api/auth/qr/{id}/approve"))
            .header("Authorization", &bearer(token))
            .send()
            .await,
    )
    .await
}

/// `POST /api/auth/qr/{id}/decline`.
pub async fn decline_qr_sign_in(token: &str, id: &str) -> Result<(), ApiFailure> {
    expect_nothing(
        Request::post(&format!("/api/auth/qr/{id}/decline"))
            .header("Authorization", &bearer(token))
            .send()
            .await,
    )
    .await
}

/// `PATCH /api/me`.
pub async fn update_me(token: &str, change: &UpdateMeRequest) -> Result<Me, ApiFailure> {
    send(
        Request::patch("/api/me").header("Authorization", &bearer(token)),
        change,
    )
    .await
}

/// `PUT /api/me/password`.
pub async fn set_password(token: &str, change: &ChangePasswordRequest) -> Result<(), ApiFailure> {
    send_expecting_nothing(
        Request::put("/api/me/password")
            .header("Authorization", &bearer(token))
            .json(change),
    )
    .await
}

/// `GET /api/me/sessions`.
pub async fn sessions(token: &str) -> Result<Vec<SessionInfo>, ApiFailure> {
    receive(Request::get("/api/me/sessions").header("Authorization", &bearer(token))).await
}

/// `DELETE /api/me/sessions/{id}`.
pub async fn end_session(token: &str, id: &str) -> Result<(), ApiFailure> {
    expect_nothing(
        Request::delete(&format!("/api/me/sessions/{id}"))
            .header("Authorization", &bearer(token))
            .send()
            .await,
    )
    .await
}

/// `POST /api/ws/ticket`: a single-use pass for opening one signed-in socket.
pub async fn ws_ticket(token: &str) -> Result<WsTicket, ApiFailure> {
    receive(Request::post("/api/ws/ticket").header("Authorization", &bearer(token))).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn receive<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, ApiFailure> {
    let response = request.send().await.map_err(|_| ApiFailure::Network)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    decode(response).await
}

async fn send<B: Serialize, T: DeserializeOwned>(
    request: RequestBuilder,
    body: &B,
) -> Result<T, ApiFailure> {
    let response = request
        .json(body)
        .map_err(|_| ApiFailure::Decode)?
        .send()
        .await
        .map_err(|_| ApiFailure::Network)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    decode(response).await
}

async fn send_expecting_nothing(
    request: Result<Request, gloo_net::Error>,
) -> Result<(), ApiFailure> {
    let request = request.map_err(|_| ApiFailure::Decode)?;
    expect_nothing(request.send().await).await
}

async fn expect_nothing(response: Result<Response, gloo_net::Error>) -> Result<(), ApiFailure> {
    let response = response.map_err(|_| ApiFailure::Network)?;
    if response.ok() {
        Ok(())
    } else {
        Err(failure(response).await)
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiFailure> {
    response.json::<T>().await.map_err(|_| ApiFailure::Decode)
}

async fn failure(response: Response) -> ApiFailure {
    ApiFailure::Status {
        status: response.status(),
        body: response.json::<ErrorBody>().await.ok(),
    }
}
