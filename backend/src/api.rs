//! What every domain's HTTP operations share: the groups the spec lists them under, and the
//! answer without a body. A leaf: it imports no domain, so every domain may import it.

use poem_openapi::{ApiResponse, Tags};

/// The groups operations are listed under in the API documentation.
#[derive(Tags)]
pub enum ApiTag {
    /// The service itself.
    System,
    /// Signing in and out, sessions.
    Auth,
    /// The signed-in user's own profile.
    Me,
    /// Photos, the art objects they become, favorites and search.
    Photos,
    /// Other people's profiles and their collections, and profile requests.
    Profiles,
    /// Objects changing hands: gifts, claim links, trade offers, the ownership history.
    Ownership,
    /// Live events: WebSocket tickets (the socket is `GET /ws`) and the event log.
    Realtime,
}

/// An answer without a body.
#[derive(Debug, ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}
