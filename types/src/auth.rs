//! Signing in and sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Language, Me, NewPassword, Text};

/// `POST /api/auth/max`: Max's `window.WebApp.initData`, exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct MaxSignInRequest {
    pub init_data: Text,
}

/// `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct PasswordSignInRequest {
    pub handle: Text,
    pub password: Text,
}

/// `POST /api/auth/dev` (development mode only): sign in as a made-up Max user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct DevSignInRequest {
    /// A positive number: development users live apart from real Max accounts.
    #[cfg_attr(feature = "openapi", oai(validator(minimum(value = "1"))))]
    pub user_id: i64,
    pub first_name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub username: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub language: Option<Language>,
}

/// `POST /api/auth/refresh`. Browsers leave `refresh_token` out: theirs is in a cookie.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct RefreshRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub refresh_token: Option<Text>,
}

/// `POST /api/auth/logout`. Browsers leave `refresh_token` out: theirs is in a cookie.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct LogoutRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub refresh_token: Option<Text>,
}

/// `POST /api/auth/logout-all`: what signing out everywhere ended, and what still opens the
/// account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SignedOutEverywhere {
    /// How many sessions ended, this one included.
    pub sessions_ended: u64,
    /// Whether a password is still set: with it (and the handle) the account can still be
    /// signed in to from a desktop. `DELETE /api/me/password` removes it.
    pub password_set: bool,
}

/// A signed-in session's tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    /// Single use: trade it at `POST /api/auth/refresh` for new tokens. Null when the request
    /// asked for cookie delivery (`X-Token-Delivery: cookie`), where it is set as an httpOnly
    /// cookie instead.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub refresh_token: Option<String>,
    pub user: Me,
    /// The deep-link payload the mini-app was opened with (Max sign-in only).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub start_param: Option<String>,
}

/// How a session was signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum SignInMethod {
    Max,
    Password,
    Qr,
    Dev,
}

/// `PUT /api/me/password`. A first password, or one set without the current password,
/// needs proof of the Max account from the last ten minutes: `init_data` (the mini-app has
/// it). A stolen access token alone can never set one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct ChangePasswordRequest {
    /// The password now set, if any (alternatively `init_data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub current_password: Option<Text>,
    /// Max's signed `initData`, at most ten minutes old, of this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub init_data: Option<Text>,
    /// 8–128 characters.
    pub new_password: NewPassword,
}

/// `DELETE /api/me/password`: the same proof as changing it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct RemovePasswordRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub current_password: Option<Text>,
    /// Max's signed `initData`, at most ten minutes old, of this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub init_data: Option<Text>,
}

/// One signed-in device, in `GET /api/me/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SessionInfo {
    pub id: Uuid,
    pub method: SignInMethod,
    /// Browser and system, e.g. "Chrome on Windows".
    pub device: String,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub ip: Option<String>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub last_used_at: DateTime<Utc>,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// `POST /api/auth/qr`: a desktop sign-in request to show as a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct QrLoginCreated {
    pub id: String,
    /// Proves to `GET /api/auth/qr/{id}` (header `X-Poll-Secret`) that the caller made the
    /// request. Keep it in memory; never show it.
    pub poll_secret: String,
    /// The Max deep link to encode in the QR code.
    pub deep_link: String,
    /// Shown beside the QR code: the phone must pick this number to approve.
    pub match_code: u8,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// `GET /api/auth/qr/{id}` while nobody has approved the request yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct QrLoginPending {
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// What the approving user sees of a desktop sign-in request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct QrLoginRequestInfo {
    pub id: String,
    /// Browser and system of the requesting computer, e.g. "Firefox on Linux".
    pub device: String,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub ip: Option<String>,
    /// The numbers to offer: one of them is shown on the requesting computer.
    pub match_choices: Vec<u8>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/auth/qr/{id}/approve`: the number the person picked, the one their computer
/// shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct QrApproveRequest {
    /// Two digits (10 to 99).
    #[cfg_attr(
        feature = "openapi",
        oai(validator(minimum(value = "10"), maximum(value = "99")))
    )]
    pub match_code: u8,
}

/// `GET /api/auth/options`: what the sign-in page should offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct AuthOptions {
    /// Whether the development sign-in (`POST /api/auth/dev`) is enabled.
    pub dev_login: bool,
}
