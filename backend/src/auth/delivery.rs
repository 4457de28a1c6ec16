//! How tokens reach the client. They go in the JSON body; browsers instead ask for cookie
//! delivery (`X-Token-Delivery: cookie`): the refresh token is then set as an httpOnly,
//! SameSite=Strict cookie scoped to `/api/auth`, out of reach of scripts, and left out of the
//! body; `/refresh` and `/logout` read it from there.

use std::time::Duration;

use gallery_types::{Text, TokenResponse};
use poem::{
    Request,
    http::header,
    web::cookie::{Cookie, SameSite},
};

use super::{AuthState, sessions::Device, sessions::Issued};
use crate::{client_ip::ClientIp, users::UserRow};

/// The refresh-token cookie.
const REFRESH_COOKIE: &str = "gallery_refresh";
/// Where the browser sends it: only to the routes that use it.
const REFRESH_COOKIE_PATH: &str = "/api/auth";
/// A script-readable companion of the refresh cookie, holding no secret: it only tells the web
/// client that a session cookie exists, so it tries to resume one only when there is one.
const SESSION_HINT_COOKIE: &str = "gallery_session";
/// The request header by which browsers ask for cookie delivery.
const DELIVERY_HEADER: &str = "x-token-delivery";
/// The longest User-Agent kept with a session.
const MAX_USER_AGENT_CHARS: usize = 512;

/// How the refresh token travels to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Body,
    Cookie,
}

impl Delivery {
    /// Cookie if the request asked for it (`X-Token-Delivery: cookie`), else the body.
    pub fn requested_by(request: &Request) -> Self {
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

/// Where a presented refresh token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Body,
    Cookie,
}

/// The requesting browser and address, recorded with a session.
pub fn device(request: &Request) -> Device {
    Device {
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(MAX_USER_AGENT_CHARS)
            .collect(),
        ip: ClientIp::of(request),
    }
}

/// The tokens for the client, delivered as the request asked.
pub fn deliver(
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
pub fn deliver_as(
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

/// Clears the refresh cookie and its hint.
pub fn clear_refresh_cookie(request: &Request, auth: &AuthState) {
    let mut cookie = refresh_cookie(auth, String::new());
    cookie.set_max_age(Duration::ZERO);
    request.cookie().add(cookie);
    let mut hint = session_hint_cookie(auth, "");
    hint.set_max_age(Duration::ZERO);
    request.cookie().add(hint);
}

/// The refresh token from the body, else from the cookie, if there is one.
pub fn presented_refresh_token(
    request: &Request,
    from_body: Option<Text>,
) -> Option<(String, TokenSource)> {
    let from_cookie = || {
        request
            .cookie()
            .get(REFRESH_COOKIE)
            .map(|cookie| cookie.value_str().to_owned())
            .filter(|token| !token.is_empty())
    };
    from_body
        .map(Text::into_string)
        .filter(|token| !token.is_empty())
        .map(|token| (token, TokenSource::Body))
        .or_else(|| from_cookie().map(|token| (token, TokenSource::Cookie)))
}
