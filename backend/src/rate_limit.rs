//! Rate limits (governor), attached to the operations they protect: per client address on
//! signing in, on QR sign-in and on searching; per handle and client on password attempts;
//! per session on refreshing and signing out; per user on changes. An operation declares its
//! address or user limit with `transform = "limit_sign_ins"`, `"limit_qr"`,
//! `"limit_searches"`, `"limit_writes"` or `"limit_profile_requests"` (checked before anything else of the request is
//! read); the password and session limits are checked by the operations themselves, once
//! they know the handle or the session. Refused requests get 429 with `Retry-After` and the
//! JSON error.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use poem::{Endpoint, EndpointExt, Request};

use uuid::Uuid;

use crate::{caller::Caller, client_ip::ClientIp, config::RateLimitConfig, error::ApiError};

/// The limiters, one per kind of key. Each kind of work has a bucket of its own, so spending
/// one (say, many QR sign-ins behind one NAT) never locks anyone out of another (refreshing
/// a session). Shared with every request as poem data.
pub struct RateLimits {
    sign_in_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    qr_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    searches_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Keyed by handle *and* client: junk attempts from one client cannot lock the handle's
    /// owner out from theirs.
    passwords_by_handle: DefaultKeyedRateLimiter<(String, IpAddr)>,
    sessions_by_id: DefaultKeyedRateLimiter<Uuid>,
    writes_by_user: DefaultKeyedRateLimiter<i64>,
    profile_requests_by_user: DefaultKeyedRateLimiter<i64>,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            sign_in_by_ip: RateLimiter::keyed(per_minute(config.sign_in_per_minute)),
            qr_by_ip: RateLimiter::keyed(per_minute(config.qr_per_minute)),
            searches_by_ip: RateLimiter::keyed(per_minute(config.searches_per_minute)),
            passwords_by_handle: RateLimiter::keyed(per_minute(config.login_per_handle_per_minute)),
            sessions_by_id: RateLimiter::keyed(per_minute(config.refresh_per_session_per_minute)),
            writes_by_user: RateLimiter::keyed(per_minute(config.writes_per_minute)),
            profile_requests_by_user: RateLimiter::keyed(per_hour(
                config.profile_requests_per_hour,
            )),
        }
    }

    /// Forgets keys whose buckets are full again, so memory does not grow with every address
    /// ever seen. Run periodically.
    pub fn forget_idle(&self) {
        self.sign_in_by_ip.retain_recent();
        self.qr_by_ip.retain_recent();
        self.searches_by_ip.retain_recent();
        self.passwords_by_handle.retain_recent();
        self.sessions_by_id.retain_recent();
        self.writes_by_user.retain_recent();
        self.profile_requests_by_user.retain_recent();
        self.sign_in_by_ip.shrink_to_fit();
        self.qr_by_ip.shrink_to_fit();
        self.searches_by_ip.shrink_to_fit();
        self.passwords_by_handle.shrink_to_fit();
        self.sessions_by_id.shrink_to_fit();
        self.writes_by_user.shrink_to_fit();
        self.profile_requests_by_user.shrink_to_fit();
    }

    /// One try of a password for `handle_key` (the handle as sign-in looks it up, so that no
    /// spelling of it gets a bucket of its own) from the client of `request`: signing in, or
    /// proving the current password to change it.
    pub fn password_attempt(
        &self,
        handle_key: &str,
        request: &Request,
    ) -> Result<(), TooManyRequests> {
        let client = ClientIp::of(request).map_or(IpAddr::from([0, 0, 0, 0]), address_key);
        check(
            &self.passwords_by_handle,
            &(handle_key.to_owned(), client),
            "too many password attempts for this handle",
        )
    }

    /// One refresh or sign-out of session `session_id`.
    pub fn session_use(&self, session_id: Uuid) -> Result<(), TooManyRequests> {
        check(
            &self.sessions_by_id,
            &session_id,
            "this session was refreshed too often",
        )
    }

    fn sign_in(&self, request: &Request) -> Result<(), TooManyRequests> {
        by_address(
            &self.sign_in_by_ip,
            request,
            "too many sign-in attempts from this address",
        )
    }

    fn qr(&self, request: &Request) -> Result<(), TooManyRequests> {
        by_address(
            &self.qr_by_ip,
            request,
            "too many QR sign-in requests from this address",
        )
    }

    fn search(&self, request: &Request) -> Result<(), TooManyRequests> {
        by_address(
            &self.searches_by_ip,
            request,
            "too many searches from this address",
        )
    }

    fn write(&self, request: &Request) -> Result<(), TooManyRequests> {
        match Caller::of(request).user_id() {
            Some(user_id) => check(
                &self.writes_by_user,
                &user_id,
                "too many changes in a short time",
            ),
            // Anonymous: the operation refuses it (401) anyway.
            None => Ok(()),
        }
    }

    fn profile_request(&self, request: &Request) -> Result<(), TooManyRequests> {
        self.write(request)?;
        match Caller::of(request).user_id() {
            Some(user_id) => check(
                &self.profile_requests_by_user,
                &user_id,
                "too many profile requests in a short time",
            ),
            None => Ok(()),
        }
    }
}

/// For `transform = "limit_sign_ins"`: the operation signs in (a signature check, a password
/// hash), limited per client address.
pub fn limit_sign_ins<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint {
    endpoint.before(|request: Request| async move {
        limits(&request).sign_in(&request).map_err(ApiError::from)?;
        Ok(request)
    })
}

/// For `transform = "limit_qr"`: the operation starts or waits on a desktop QR sign-in,
/// limited per client address.
pub fn limit_qr<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint {
    endpoint.before(|request: Request| async move {
        limits(&request).qr(&request).map_err(ApiError::from)?;
        Ok(request)
    })
}

/// For `transform = "limit_searches"`: the operation searches (every name and every photo's
/// words), limited per client address, signed in or not.
pub fn limit_searches<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint {
    endpoint.before(|request: Request| async move {
        limits(&request).search(&request).map_err(ApiError::from)?;
        Ok(request)
    })
}

/// For `transform = "limit_writes"`: the operation changes something, limited per signed-in
/// user.
pub fn limit_writes<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint {
    endpoint.before(|request: Request| async move {
        limits(&request).write(&request).map_err(ApiError::from)?;
        Ok(request)
    })
}

/// For `transform = "limit_profile_requests"`: the operation asks to see a private profile,
/// limited per signed-in user (besides the limit on changes).
pub fn limit_profile_requests<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint {
    endpoint.before(|request: Request| async move {
        limits(&request)
            .profile_request(&request)
            .map_err(ApiError::from)?;
        Ok(request)
    })
}

fn limits(request: &Request) -> &Arc<RateLimits> {
    request
        .data::<Arc<RateLimits>>()
        .expect("the rate limits are attached to every request")
}

/// A refused request: how long to wait, and what was limited.
#[derive(Debug, thiserror::Error)]
#[error("{what}; retry in {seconds} s")]
pub struct TooManyRequests {
    what: &'static str,
    /// Rounded up: retrying a fraction of a second early would be refused again.
    seconds: u64,
}

impl From<TooManyRequests> for ApiError {
    fn from(refused: TooManyRequests) -> Self {
        ApiError::rate_limited(refused.to_string(), refused.seconds)
    }
}

/// Checks the bucket of the request's client address (an unknown address is not limited:
/// only in-process tests make requests without one).
fn by_address(
    limiter: &DefaultKeyedRateLimiter<IpAddr>,
    request: &Request,
    what: &'static str,
) -> Result<(), TooManyRequests> {
    match ClientIp::of(request) {
        Some(ip) => check(limiter, &address_key(ip), what),
        None => Ok(()),
    }
}

fn per_minute(limit: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN))
}

fn per_hour(limit: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN))
}

fn check<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    what: &'static str,
) -> Result<(), TooManyRequests> {
    limiter.check_key(key).map_err(|not_until| {
        let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        TooManyRequests {
            what,
            seconds: seconds.max(1),
        }
    })
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
