//! Objects changing hands: gifts, claim links (QR hand-over), trade offers, and the
//! hash-chained ownership history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Message, Photo, UserSummary};

/// How an entry of the history came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum HistoryKind {
    /// The photo was uploaded: its creator is the first owner.
    Mint,
    Gift,
    /// Handed over by a claim link.
    Claim,
    Trade,
    /// The owner deleted the photo.
    Delete,
}

impl HistoryKind {
    /// The name stored in the database and hashed into the chain.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Mint => "mint",
            HistoryKind::Gift => "gift",
            HistoryKind::Claim => "claim",
            HistoryKind::Trade => "trade",
            HistoryKind::Delete => "delete",
        }
    }
}

/// `POST /api/transfers`: give an object of yours to somebody, at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct GiftRequest {
    #[cfg_attr(feature = "openapi", oai(validator(minimum(value = "1"))))]
    pub object_id: i64,
    #[cfg_attr(feature = "openapi", oai(validator(minimum(value = "1"))))]
    pub to_user_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub message: Option<Message>,
}

/// One object changing hands (a gift or a claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Transfer {
    pub object_id: i64,
    pub photo_id: i64,
    pub kind: HistoryKind,
    pub from: UserSummary,
    pub to: UserSummary,
    /// The giver's note (empty when none).
    pub message: String,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub at: DateTime<Utc>,
}

/// Someone in an object's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct HistoryParty {
    /// Null for a private collector (someone whose profile the viewer may not see).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub user: Option<UserSummary>,
}

/// One change of hands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct HistoryEntry {
    /// 1 for the mint, then 2, 3, …
    pub position: i32,
    pub kind: HistoryKind,
    /// Null for a mint.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub from: Option<HistoryParty>,
    /// Null for a deletion.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub to: Option<HistoryParty>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub at: DateTime<Utc>,
    /// The previous entry's hash (64 zeros for the mint), hexadecimal.
    pub previous_hash: String,
    /// SHA-256 over `previous_hash` and this entry's fields, hexadecimal.
    pub hash: String,
}

/// `GET /api/objects/{id}/history`: every change of hands, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ObjectHistory {
    pub object_id: i64,
    pub photo_id: i64,
    pub entries: Vec<HistoryEntry>,
}

/// `GET /api/objects/{id}/history/verify`: whether the stored chain is intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct HistoryVerification {
    pub object_id: i64,
    /// Every entry's hash matches its fields and the entry before it.
    pub valid: bool,
    pub entries: i32,
    /// The first position whose stored hash does not match (null when valid).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub broken_at: Option<i32>,
}

/// `POST /api/claim-links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct CreateClaimLinkRequest {
    #[cfg_attr(feature = "openapi", oai(validator(minimum(value = "1"))))]
    pub object_id: i64,
    /// 5 minutes to 7 days (default 1 day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        oai(nullable, validator(minimum(value = "5"), maximum(value = "10080")))
    )]
    pub expires_in_minutes: Option<u32>,
}

/// Where a claim link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum ClaimLinkState {
    Active,
    Claimed,
    /// Revoked by its owner, or void because the object changed hands another way.
    Revoked,
    Expired,
}

/// A one-time link handing an object to whoever claims it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ClaimLink {
    pub id: i64,
    /// The link's secret: `GET /api/claims/{token}` previews, `POST` claims.
    pub token: String,
    pub object_id: i64,
    pub photo_id: i64,
    pub title: String,
    /// The app's page for it: `/claim/{token}`.
    pub path: String,
    /// The Max deep link that opens it in the mini-app (`startapp=claim_{token}`): put this in
    /// the QR code.
    pub deep_link: String,
    pub state: ClaimLinkState,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub claimed_by: Option<UserSummary>,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(with = "crate::timestamp::rfc3339_or_null")]
    pub claimed_at: Option<DateTime<Utc>>,
}

/// `GET /api/claims/{token}`: what claiming would give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ClaimPreview {
    pub photo: Photo,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// Where a trade offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum OfferState {
    /// Waiting for the recipient.
    Pending,
    Accepted,
    Declined,
    /// Withdrawn by the proposer.
    Cancelled,
    /// Answered with a counter-offer (`countered_by`).
    Countered,
    Expired,
    /// An object in it changed hands another way.
    Invalidated,
}

impl OfferState {
    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Pending => "pending",
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Cancelled => "cancelled",
            OfferState::Countered => "countered",
            OfferState::Expired => "expired",
            OfferState::Invalidated => "invalidated",
        }
    }
}

/// An object in an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct OfferItem {
    pub object_id: i64,
    pub photo_id: i64,
    pub title: String,
    /// The thumbnail's URL (under `/media`); null once the photo is deleted (its files are
    /// gone with it), as in the history of offers.
    pub thumbnail: Option<String>,
    /// A blurhash to paint while the thumbnail loads.
    pub placeholder: String,
}

/// A trade offer (Steam's model): the proposer gives `give` and asks for `ask`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TradeOffer {
    pub id: i64,
    pub proposer: UserSummary,
    pub recipient: UserSummary,
    /// Objects the proposer gives.
    pub give: Vec<OfferItem>,
    /// Objects the proposer asks of the recipient.
    pub ask: Vec<OfferItem>,
    pub message: String,
    pub state: OfferState,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// When it stopped being pending (null while pending).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(with = "crate::timestamp::rfc3339_or_null")]
    pub closed_at: Option<DateTime<Utc>>,
    /// The offer this one counters.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub counter_of: Option<i64>,
    /// The offer that countered this one.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub countered_by: Option<i64>,
}

/// `POST /api/offers`; `POST /api/offers/{id}/counter` takes the same, from the side of whoever
/// counters (the recipient is then the other party).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct CreateOfferRequest {
    /// Who the offer is for (ignored by a counter-offer, which goes to the other party).
    #[cfg_attr(feature = "openapi", oai(validator(minimum(value = "1"))))]
    pub recipient_id: i64,
    /// Object ids you give (at most 20); this and `ask` may not both be empty.
    #[cfg_attr(
        feature = "openapi",
        oai(validator(max_items = 20, unique_items, minimum(value = "1")))
    )]
    pub give: Vec<i64>,
    /// Object ids of the recipient's you ask for (at most 20).
    #[cfg_attr(
        feature = "openapi",
        oai(validator(max_items = 20, unique_items, minimum(value = "1")))
    )]
    pub ask: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub message: Option<Message>,
    /// 1 hour to 30 days (default 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        oai(nullable, validator(minimum(value = "1"), maximum(value = "720")))
    )]
    pub expires_in_hours: Option<u32>,
}

/// Which offers `GET /api/offers` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum OfferBox {
    /// Pending offers made to me.
    #[default]
    Incoming,
    /// Pending offers I made.
    Outgoing,
    /// Closed offers either way.
    History,
}

/// One page of offers, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct OfferPage {
    pub items: Vec<TradeOffer>,
    /// Pass as `before` for the next page; null on the last one.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_before: Option<i64>,
}
