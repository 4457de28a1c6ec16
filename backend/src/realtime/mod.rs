//! Realtime over WebSockets: `GET /ws`, its tickets, the HTTP catch-up on events, and the
//! `X-Event-Seq` of every answer that reflects state.
//!
//! The upgrade checks everything that can be refused with an HTTP status (the handshake
//! itself, the `Origin`, the ticket) before switching protocols; then [`connection`] serves
//! the socket. The protocol for client authors is documented in `gallery_types::realtime`.

mod api;
mod connection;
pub mod threads;
pub mod tickets;

use std::sync::Arc;

use futures_util::stream::BoxStream;
use gallery_types::{ClientMessage, ErrorCode, ServerMessage};
use poem::{
    Body, Endpoint, IntoResponse, Request, Response, handler,
    http::{HeaderMap, Method, StatusCode, header},
    web::{Data, Query},
};
use serde::Deserialize;
use sqlx::PgPool;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{handshake::derive_accept_key, protocol::Role, protocol::WebSocketConfig},
};

pub use api::RealtimeApi;
pub use threads::SocketThreads;

/// The header of an answer that reflects state: the sequence number of the newest event it
/// reflects. A client opening its socket with `after` set to it misses nothing.
pub const EVENT_SEQ_HEADER: &str = "X-Event-Seq";

/// Middleware for the `/api` routes: a successful `GET` answer carries [`EVENT_SEQ_HEADER`],
/// this instance's watermark read before the request was handled (whatever the handler reads
/// from the database reflects at least that event). An answer that set its own (a feed page
/// from memory, labelled with the event it was read at) keeps it.
pub async fn stamp_event_seq<E: Endpoint>(
    next: Arc<E>,
    request: Request,
    hub: &EventHub,
) -> poem::Result<Response> {
    let reads_state = request.method() == Method::GET;
    let watermark = hub.watermark();
    let mut response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    if reads_state
        && response.status().is_success()
        && !response.headers().contains_key(EVENT_SEQ_HEADER)
    {
        response
            .headers_mut()
            .insert(EVENT_SEQ_HEADER, watermark.into());
    }
    Ok(response)
}

use crate::{config::RealtimeConfig, error::ApiError, events::EventHub};

/// The largest message a client may send (and frame it may use).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Socket buffers are kept small: most connections sit idle, and idle ones should cost little.
const READ_BUFFER_BYTES: usize = 512;
const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// Past this, writes wait: the queue of a slow client lives in the event hub, not here.
const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Answers one kind of message a client may send on its socket: the replies to send, as a
/// stream the socket forwards until it ends, or `None` when the message is not this
/// handler's. The socket knows the protocol's framing and limits; what a message means
/// belongs to the feature that handles it (QR sign-in answers `watch_qr_login`).
pub type ClientRequests =
    Arc<dyn Fn(&ClientMessage) -> Option<BoxStream<'static, ServerMessage>> + Send + Sync>;

/// The event hub, the socket settings, and the features answering client messages.
pub struct Realtime {
    pub hub: Arc<EventHub>,
    /// Where sockets are served: [`SocketThreads`].
    pub sockets: tokio::runtime::Handle,
    pub config: RealtimeConfig,
    pub client_requests: Vec<ClientRequests>,
}

/// `GET /ws` query parameters.
#[derive(Debug, Deserialize)]
struct SocketParams {
    ticket: Option<String>,
    after: Option<i64>,
}

/// `GET /ws`: checks the request, then switches to the WebSocket protocol.
#[handler]
pub async fn socket(
    request: &Request,
    realtime: Data<&Arc<Realtime>>,
    pool: Data<&PgPool>,
    Query(params): Query<SocketParams>,
) -> poem::Result<Response> {
    let key = handshake_key(request)?;
    if !origin_allowed(request.headers(), &realtime.config.allowed_origins) {
        return Err(ApiError::new(
            ErrorCode::ForbiddenOrigin,
            "this origin may not open the socket",
        )
        .into());
    }
    // Subscribed before the ticket is checked: whatever happens to its session after the
    // check (it may end) is then an event in this connection's queue.
    let subscription = realtime.hub.subscribe();
    let holder = match params.ticket.as_deref() {
        None => None,
        Some(ticket) => Some(tickets::redeem(&pool, ticket).await.map_err(ApiError::from)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidTicket,
                "the ticket is unknown, expired or used; get a new one from POST /api/ws/ticket",
            )
        })?),
    };
    let upgrade = request.take_upgrade()?;
    let (realtime, pool) = (realtime.0.clone(), pool.0.clone());
    let after = params.after;
    let sockets = realtime.sockets.clone();
    sockets.spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let socket = WebSocketStream::from_raw_socket(upgraded, Role::Server, Some(config())).await;
        connection::serve(socket, &realtime, &pool, holder, after, subscription).await;
    });
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .body(Body::empty()))
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

/// The client's `Sec-WebSocket-Key`, if this is a well-formed WebSocket upgrade (RFC 6455 §4.2.1).
fn handshake_key(request: &Request) -> Result<String, ApiError> {
    let headers = request.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|key| key.to_str().ok());
    match key {
        Some(key)
            if request.method() == Method::GET
                && has_token(header::UPGRADE, "websocket")
                && has_token(header::CONNECTION, "upgrade")
                && has_token(header::SEC_WEBSOCKET_VERSION, "13") =>
        {
            Ok(key.to_owned())
        }
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "this endpoint speaks WebSocket (version 13) only",
        )),
    }
}

/// Whether a socket from this `Origin` may open: browsers always send one, and a page from a
/// foreign site must not open a socket with the user's ticket (cross-site WebSocket
/// hijacking). No `Origin` means no browser, which is allowed. The server's own origin (its
/// `Host`) always is; `allowed` adds others.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|allowed| {
        allowed
            .trim()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(origin)
    }) {
        return true;
    }
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_own_origin_and_listed_ones_are_allowed() {
        let own = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert!(origin_allowed(&own, &[]));
        let listed = headers(&[
            ("origin", "https://web.max.ru"),
            ("host", "gallery.example"),
        ]);
        assert!(origin_allowed(&listed, &["https://web.max.ru/".into()]));
    }

    #[test]
    fn foreign_origins_are_refused() {
        let foreign = headers(&[
            ("origin", "https://evil.example"),
            ("host", "gallery.example"),
        ]);
        assert!(!origin_allowed(&foreign, &["https://web.max.ru".into()]));
        let null = headers(&[("origin", "null"), ("host", "gallery.example")]);
        assert!(!origin_allowed(&null, &[]));
    }

    #[test]
    fn clients_without_an_origin_are_not_browsers_and_pass() {
        assert!(origin_allowed(
            &headers(&[("host", "gallery.example")]),
            &[]
        ));
    }
}
