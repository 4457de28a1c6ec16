//! Rate limits (governor), enforced as middleware in front of the API:
//! per client IP on every sign-in route, per handle on password sign-in, per user on writes.
//! Refused requests get 429 with `Retry-After` and the JSON error.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use gallery_types::ErrorCode;
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};

use crate::{
    auth::tokens::AccessTokens, client_ip::ClientIp, config::RateLimitConfig, error::ApiError,
};

/// A password sign-in body is tiny; a longer one is refused before it is parsed.
const MAX_SIGN_IN_BODY: usize = 4096;

/// The limiters, one per kind of key.
pub struct RateLimits {
    sign_in_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_by_handle: DefaultKeyedRateLimiter<String>,
    writes_by_user: DefaultKeyedRateLimiter<i64>,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            sign_in_by_ip: RateLimiter::keyed(per_minute(config.sign_in_per_minute)),
            login_by_handle: RateLimiter::keyed(per_minute(config.login_per_handle_per_minute)),
            writes_by_user: RateLimiter::keyed(per_minute(config.writes_per_minute)),
        }
    }

    /// Forgets keys whose buckets are full again, so memory does not grow with every address
    /// ever seen. Run periodically.
    pub fn forget_idle(&self) {
        self.sign_in_by_ip.retain_recent();
        self.login_by_handle.retain_recent();
        self.writes_by_user.retain_recent();
        self.sign_in_by_ip.shrink_to_fit();
        self.login_by_handle.shrink_to_fit();
        self.writes_by_user.shrink_to_fit();
    }
}

fn per_minute(limit: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN))
}

fn check<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), Duration> {
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// Whether a request signs in (or otherwise spends sign-in work): every POST under
/// `/api/auth/`, and waiting on a QR sign-in.
fn is_sign_in_route(method: &Method, path: &str) -> bool {
    (method == Method::POST && path.starts_with("/api/auth/"))
        || (method == Method::GET && path.starts_with("/api/auth/qr/"))
}

/// The key an address is limited by. An IPv6 client usually holds a whole /64, so its
/// addresses count as one.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
    }
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// Middleware: refuses a request that is over any of its limits.
pub async fn enforce<E: Endpoint>(
    next: Arc<E>,
    mut request: Request,
    limits: &RateLimits,
    tokens: &AccessTokens,
) -> poem::Result<Response> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    if is_sign_in_route(&method, &path)
        && let Some(ip) = ClientIp::of(&request)
        && let Err(wait) = check(&limits.sign_in_by_ip, &address_key(ip))
    {
        return Ok(too_many(
            wait,
            "too many sign-in attempts from this address",
        ));
    }

    if method == Method::POST && path == "/api/auth/login" {
        let Ok(body) = request.take_body().into_bytes_limit(MAX_SIGN_IN_BODY).await else {
            return Ok(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "a sign-in body is at most 4 KiB",
            )
            .into_response());
        };
        // Keyed exactly as the sign-in looks the handle up, so no spelling gets a bucket of
        // its own.
        let handle = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json.get("handle")?.as_str().map(crate::users::handle_key));
        request.set_body(Body::from(body));
        if let Some(handle) = handle
            && let Err(wait) = check(&limits.login_by_handle, &handle)
        {
            return Ok(too_many(wait, "too many sign-in attempts for this handle"));
        }
    }

    if is_write(&method)
        && let Some(user_id) = bearer_user(&request, tokens)
        && let Err(wait) = check(&limits.writes_by_user, &user_id)
    {
        return Ok(too_many(wait, "too many changes in a short time"));
    }

    Ok(next.get_response(request).await)
}

/// The user of a request's valid access token, if it has one.
fn bearer_user(request: &Request, tokens: &AccessTokens) -> Option<i64> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let claims = tokens.verify(token).ok()?;
    AccessTokens::user_id(&claims).ok()
}

fn too_many(wait: Duration, what: &str) -> Response {
    // Round up: retrying a fraction of a second early would be refused again.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        format!("{what}; retry in {seconds} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_64_is_one_client() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let v4: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(address_key(v4), v4);
    }
}
