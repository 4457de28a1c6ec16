//! Realtime: the events every change produces, and the WebSocket protocol that carries them.
//!
//! # The socket, for client authors
//!
//! 1. Signed-in clients first get a ticket: `POST /api/ws/ticket` (valid 30 s, single use).
//!    Anonymous clients skip this and receive public events only.
//! 2. Connect to `GET /ws?ticket=<ticket>&after=<seq>`. Both parameters are optional. `after`
//!    is the `seq` of the last event the client has seen (from an earlier connection).
//! 3. The first message is always [`ServerMessage::Hello`]. Its `seq` is where the stream
//!    starts: every event after it that the client may see follows, in `seq` order, each
//!    exactly once; first the ones missed since `after`, then live ones. When `reload` is true
//!    the client was too far behind (or `after` is unknown): it reloads what it shows, then
//!    follows the stream from `seq`.
//! 4. Sequence numbers are global and increase, but have gaps: events the client may not see
//!    are left out. Remember the last `seq` received and pass it as `after` on reconnecting.
//! 5. The client may send [`ClientMessage`]s (JSON text, at most 64 KiB, a few per second).
//!
//! The server pings every ~25 s (browsers answer by themselves) and drops peers it has not
//! heard from for ~60 s. See [`close_code`] for how it ends a connection.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    ErrorCode, HistoryKind, Photo, ProfileRequest, TokenResponse, TradeOffer, Transfer, UserSummary,
};

/// The close codes the server ends a socket with, and what a client should do.
pub mod close_code {
    /// The server is shutting down ("going away"): reconnect (another instance answers) and
    /// resume with `after`.
    pub const GOING_AWAY: u16 = 1001;
    /// The client sent a binary frame; the protocol is JSON text only.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// The client sent messages faster than the inbound rate limit allows.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// The client sent a message larger than 64 KiB.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// Something failed on the server: reconnect with backoff and resume.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The session the socket was opened for has ended (signed out, revoked, or ran out without
    /// a refresh, noticed at the next ping): sign in again.
    pub const SESSION_ENDED: u16 = 4001;
    /// Nothing was heard from the client (not even a pong) for too long.
    pub const IDLE: u16 = 4002;
    /// The client did not read its events fast enough and its queue overflowed: reconnect and
    /// resume with `after`; nothing is lost.
    pub const TOO_SLOW: u16 = 4008;
}

/// `POST /api/ws/ticket`: a single-use pass for opening one signed-in socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct WsTicket {
    /// Pass as `GET /ws?ticket=...` within 30 seconds; it works once.
    pub ticket: String,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// Something that happened, as every client that may see it is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Union))]
#[cfg_attr(feature = "openapi", oai(discriminator_name = "kind"))]
pub enum Event {
    /// Public (only the owner's, if their profile is private): a photo was uploaded.
    #[cfg_attr(feature = "openapi", oai(mapping = "photo_created"))]
    PhotoCreated(PhotoCreated),
    /// A photo's title, description or tags changed.
    #[cfg_attr(feature = "openapi", oai(mapping = "photo_updated"))]
    PhotoUpdated(PhotoUpdated),
    /// A photo was deleted by its owner.
    #[cfg_attr(feature = "openapi", oai(mapping = "photo_deleted"))]
    PhotoDeleted(PhotoDeleted),
    /// A photo's object moved into a collection not everybody may see: to everybody who may
    /// not see it any more (everyone, when it was public before), so that they stop showing
    /// the photo. Whoever may still see it is also sent the `object_transferred` that follows.
    #[cfg_attr(feature = "openapi", oai(mapping = "photo_hidden"))]
    PhotoHidden(PhotoHidden),
    /// A photo's favorite count changed.
    #[cfg_attr(feature = "openapi", oai(mapping = "favorite_count"))]
    FavoriteCount(FavoriteCount),
    /// A profile was made private or public: its owner's photos disappear for (or appear to)
    /// everybody else; clients reload what they show.
    #[cfg_attr(feature = "openapi", oai(mapping = "profile_visibility"))]
    ProfileVisibility(ProfileVisibility),
    /// Private, to the sessions' user: these sessions ended (signed out, revoked, password
    /// changed). Sockets of those sessions are closed with [`close_code::SESSION_ENDED`].
    #[cfg_attr(feature = "openapi", oai(mapping = "sessions_revoked"))]
    SessionsRevoked(SessionsRevoked),
    /// An object changed hands (a gift, a claim, a trade): to everyone who may see it, and to
    /// both sides.
    #[cfg_attr(feature = "openapi", oai(mapping = "object_transferred"))]
    ObjectTransferred(ObjectTransferred),
    /// Private, to both parties: an offer was made, or changed state.
    #[cfg_attr(feature = "openapi", oai(mapping = "offer_changed"))]
    OfferChanged(OfferChanged),
    /// Private, to the recipient: somebody gave them an object.
    #[cfg_attr(feature = "openapi", oai(mapping = "gift_received"))]
    GiftReceived(GiftReceived),
    /// Private, to the link's owner: somebody claimed an object through their link.
    #[cfg_attr(feature = "openapi", oai(mapping = "claim_completed"))]
    ClaimCompleted(ClaimCompleted),
    /// Private, to both sides: a profile request was made, or changed state. An approval or a
    /// revocation changes what the requester may see of the owner: clients reload it.
    #[cfg_attr(feature = "openapi", oai(mapping = "profile_request_changed"))]
    ProfileRequestChanged(ProfileRequestChanged),
}

impl Event {
    /// The `kind` tag, as stored and sent.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::PhotoCreated(_) => "photo_created",
            Event::PhotoUpdated(_) => "photo_updated",
            Event::PhotoDeleted(_) => "photo_deleted",
            Event::PhotoHidden(_) => "photo_hidden",
            Event::FavoriteCount(_) => "favorite_count",
            Event::ProfileVisibility(_) => "profile_visibility",
            Event::SessionsRevoked(_) => "sessions_revoked",
            Event::ObjectTransferred(_) => "object_transferred",
            Event::OfferChanged(_) => "offer_changed",
            Event::GiftReceived(_) => "gift_received",
            Event::ClaimCompleted(_) => "claim_completed",
            Event::ProfileRequestChanged(_) => "profile_request_changed",
        }
    }

    /// The photo the event is about, if any: who may see the event follows who may see the
    /// photo, decided anew whenever the event is read.
    pub fn photo_id(&self) -> Option<i64> {
        match self {
            Event::PhotoCreated(created) => Some(created.photo.id),
            Event::PhotoUpdated(PhotoUpdated { photo_id, .. })
            | Event::PhotoDeleted(PhotoDeleted { photo_id })
            | Event::FavoriteCount(FavoriteCount { photo_id, .. }) => Some(*photo_id),
            Event::ObjectTransferred(ObjectTransferred { photo_id, .. }) => Some(*photo_id),
            Event::GiftReceived(GiftReceived { transfer })
            | Event::ClaimCompleted(ClaimCompleted { transfer, .. }) => Some(transfer.photo_id),
            // Meant for those who may no longer see the photo.
            Event::PhotoHidden(_)
            | Event::ProfileVisibility(_)
            | Event::SessionsRevoked(_)
            | Event::OfferChanged(_)
            | Event::ProfileRequestChanged(_) => None,
        }
    }

    /// The users the event concerns: they see it even once the photo it is about is hidden
    /// from them (its new owner keeps their collection private).
    pub fn parties(&self) -> Vec<i64> {
        match self {
            Event::ObjectTransferred(transferred) => transferred
                .previous_owner_id
                .into_iter()
                .chain([transferred.owner.id])
                .collect(),
            Event::OfferChanged(OfferChanged { offer }) => {
                vec![offer.proposer.id, offer.recipient.id]
            }
            Event::GiftReceived(GiftReceived { transfer })
            | Event::ClaimCompleted(ClaimCompleted { transfer, .. }) => {
                vec![transfer.from.id, transfer.to.id]
            }
            Event::ProfileRequestChanged(ProfileRequestChanged { request }) => {
                vec![request.owner.id, request.requester.id]
            }
            Event::PhotoCreated(_)
            | Event::PhotoUpdated(_)
            | Event::PhotoDeleted(_)
            | Event::PhotoHidden(_)
            | Event::FavoriteCount(_)
            | Event::ProfileVisibility(_)
            | Event::SessionsRevoked(_) => Vec::new(),
        }
    }
}

/// `photo_created`. `photo.favorited` is always false: events are the same for every viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PhotoCreated {
    pub photo: Box<Photo>,
}

/// `photo_updated`: the new values of the editable fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PhotoUpdated {
    pub photo_id: i64,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
}

/// `photo_deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PhotoDeleted {
    pub photo_id: i64,
}

/// `photo_hidden`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PhotoHidden {
    pub photo_id: i64,
}

/// `favorite_count`: the exact count after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct FavoriteCount {
    pub photo_id: i64,
    pub favorite_count: i32,
}

/// `profile_visibility`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProfileVisibility {
    pub user_id: i64,
    pub is_private: bool,
}

/// `sessions_revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SessionsRevoked {
    pub session_ids: Vec<Uuid>,
}

/// `object_transferred`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ObjectTransferred {
    pub object_id: i64,
    pub photo_id: i64,
    /// How it changed hands (`gift`, `claim` or `trade`); not `kind`, which names the event.
    pub via: HistoryKind,
    /// The previous owner, named only while their collection is public: who kept an object
    /// in a private collection is not told to others (as in the object's history).
    pub previous_owner_id: Option<i64>,
    /// The new owner.
    pub owner: UserSummary,
}

/// `offer_changed`: the offer as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct OfferChanged {
    pub offer: Box<TradeOffer>,
}

/// `profile_request_changed`: the request as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProfileRequestChanged {
    pub request: Box<ProfileRequest>,
}

/// `gift_received`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct GiftReceived {
    pub transfer: Transfer,
}

/// `claim_completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ClaimCompleted {
    pub link_id: i64,
    pub transfer: Transfer,
}

/// An event and its place in the global sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SequencedEvent {
    pub seq: i64,
    pub event: Event,
}

/// `GET /api/events`: the events after `after` that the caller may see, for clients that
/// catch up over HTTP instead of a socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct EventPage {
    /// In `seq` order.
    pub events: Vec<SequencedEvent>,
    /// Pass as `after` for the next page (the last `seq` examined, seen or not).
    pub next_after: i64,
    /// More events are waiting: ask again at once.
    pub more: bool,
    /// `after` is too far behind (or unknown): reload everything, then continue from
    /// `next_after`.
    pub reload: bool,
}

/// What the server sends on the socket (JSON text frames, tagged by `type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The first message of every connection. Events after `seq` follow.
    Hello {
        seq: i64,
        /// The client missed more than can be replayed: reload, then follow from `seq`.
        reload: bool,
        /// The signed-in user, or null for an anonymous socket.
        user_id: Option<i64>,
    },
    /// One event.
    Event { seq: i64, event: Event },
    /// Answer to [`ClientMessage::WatchQrLogin`]: the request waits for its approval.
    QrLoginPending {
        id: String,
        #[serde(with = "crate::timestamp::rfc3339")]
        expires_at: DateTime<Utc>,
    },
    /// The watched sign-in request was approved: the desktop's tokens (the refresh token is
    /// always included; browsers trade it at once for the cookie with `POST
    /// /api/auth/refresh` and `X-Token-Delivery: cookie`).
    QrLoginSignedIn { id: String, tokens: TokenResponse },
    /// The watched sign-in request expired, was declined or was used elsewhere.
    QrLoginGone { id: String },
    /// A message from the client was refused; the connection stays open.
    Error { code: ErrorCode, message: String },
}

/// What a client may send on the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Desktop QR sign-in: deliver this request's tokens on this socket once it is approved
    /// (`id` and `poll_secret` from `POST /api/auth/qr`).
    WatchQrLogin { id: String, poll_secret: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_kind() {
        let event = Event::PhotoDeleted(PhotoDeleted { photo_id: 7 });
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(json, r#"{"kind":"photo_deleted","photo_id":7}"#);
        assert_eq!(event.kind(), "photo_deleted");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }

    #[test]
    fn ownership_events_read_back_as_they_were_written() {
        let anna = UserSummary {
            id: 1,
            handle: Some("anna".into()),
            display_name: "Anna".into(),
        };
        let transfer = Transfer {
            object_id: 3,
            photo_id: 4,
            kind: HistoryKind::Gift,
            from: anna.clone(),
            to: anna.clone(),
            message: String::new(),
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        };
        let events = [
            Event::ObjectTransferred(ObjectTransferred {
                object_id: 3,
                photo_id: 4,
                via: HistoryKind::Trade,
                previous_owner_id: Some(2),
                owner: anna,
            }),
            Event::GiftReceived(GiftReceived {
                transfer: transfer.clone(),
            }),
            Event::ClaimCompleted(ClaimCompleted {
                link_id: 9,
                transfer,
            }),
        ];
        // A field named like the tag (`kind`) would be written twice and never read back.
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<Event>(&json).unwrap(),
                event,
                "{json}"
            );
        }
    }

    #[test]
    fn an_event_frame_reads_back_as_a_server_message() {
        let frame = r#"{"type":"event","seq":42,"event":{"kind":"favorite_count","photo_id":3,"favorite_count":5}}"#;
        assert_eq!(
            serde_json::from_str::<ServerMessage>(frame).unwrap(),
            ServerMessage::Event {
                seq: 42,
                event: Event::FavoriteCount(FavoriteCount {
                    photo_id: 3,
                    favorite_count: 5
                }),
            }
        );
    }
}
