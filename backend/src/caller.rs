//! Who is asking: resolved once per request, from its access token, by the middleware in
//! [`crate::auth`], and kept in the request for everything after it (the bearer check, the
//! optional viewer of public reads, the per-user rate limit, socket tickets) to read.

use poem::Request;
use uuid::Uuid;

use crate::{error::ApiError, users::UserRow};

/// A signed-in caller: a live session and its user.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: UserRow,
    pub session_id: Uuid,
}

/// What the request's `Authorization` header came to.
#[derive(Debug, Clone, Default)]
pub enum Caller {
    /// No access token.
    #[default]
    Anonymous,
    /// A valid access token of a live session.
    SignedIn(Authenticated),
    /// A token that is malformed, forged, expired, or whose session has ended.
    Refused,
    /// The session could not be checked (the database did not answer).
    Unknown(ApiError),
}

impl Caller {
    /// The caller of `request`, as the middleware resolved it (anonymous if it did not run).
    pub fn of(request: &Request) -> &Caller {
        static ANONYMOUS: Caller = Caller::Anonymous;
        request.extensions().get::<Caller>().unwrap_or(&ANONYMOUS)
    }

    /// The signed-in user's id, if any.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Caller::SignedIn(authenticated) => Some(authenticated.user.id),
            _ => None,
        }
    }
}
