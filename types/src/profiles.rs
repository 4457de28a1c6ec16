//! Other people's profiles, and profile requests: asking to see a private profile.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Message, UserSummary};

/// What a viewer may see of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum ProfileAccess {
    /// The viewer's own profile.
    Own,
    /// A public profile: everything.
    Public,
    /// A private profile whose owner approved the viewer's request: everything.
    Granted,
    /// A private profile: the name and avatar only.
    Restricted,
}

impl ProfileAccess {
    /// Whether the viewer sees the whole profile and its collection.
    pub fn sees_collection(self) -> bool {
        self != ProfileAccess::Restricted
    }
}

/// How many objects a profile holds and made, and how often its objects were favorited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProfileCounts {
    /// Objects the user owns now.
    pub owned: i64,
    /// Photos the user uploaded that still exist (whoever owns them now).
    pub created: i64,
    /// Favorites on the objects the user owns.
    pub favorites_received: i64,
}

/// `GET /api/users/{user}`: a profile as the viewer may see it. Of a private profile without
/// access, only who it is (id, name, handle, avatar) is shown; `bio` and `counts` are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Profile {
    pub id: i64,
    pub display_name: String,
    /// The avatar's URL (from Max).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub photo_url: Option<String>,
    pub is_private: bool,
    pub access: ProfileAccess,
    /// Null until one is chosen.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub handle: Option<String>,
    /// Null without access.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub bio: Option<String>,
    /// Null without access.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub counts: Option<ProfileCounts>,
    /// The viewer's newest request to this profile, in any state; null for anonymous viewers,
    /// the owner, and those who never asked.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub request: Option<ProfileRequest>,
    /// While a rejection or revocation cools off: when the viewer may ask again.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(with = "crate::timestamp::rfc3339_or_null")]
    pub may_request_at: Option<DateTime<Utc>>,
}

/// Which objects of a profile `GET /api/users/{user}/photos` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum CollectionTab {
    /// Objects the user owns now.
    #[default]
    Owned,
    /// Photos the user uploaded, whoever owns them now (those in other people's private
    /// collections left out).
    Created,
}

/// Where a profile request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum ProfileRequestState {
    /// Waiting for the owner.
    Pending,
    /// The requester sees the profile.
    Approved,
    Rejected,
    /// The requester took it back before the owner decided.
    Withdrawn,
    /// The owner took an approval back.
    Revoked,
}

impl ProfileRequestState {
    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileRequestState::Pending => "pending",
            ProfileRequestState::Approved => "approved",
            ProfileRequestState::Rejected => "rejected",
            ProfileRequestState::Withdrawn => "withdrawn",
            ProfileRequestState::Revoked => "revoked",
        }
    }
}

/// A request to see a private profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProfileRequest {
    pub id: i64,
    /// Whose profile is asked about.
    pub owner: UserSummary,
    pub requester: UserSummary,
    pub message: String,
    pub state: ProfileRequestState,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was approved, rejected or withdrawn (null while pending).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(with = "crate::timestamp::rfc3339_or_null")]
    pub decided_at: Option<DateTime<Utc>>,
    /// When an approval was revoked.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    #[serde(with = "crate::timestamp::rfc3339_or_null")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/profile-requests`: ask to see a private profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct CreateProfileRequest {
    /// Whose profile.
    #[cfg_attr(feature = "openapi", oai(validator(minimum(value = "1"))))]
    pub owner_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub message: Option<Message>,
}

/// Which requests `GET /api/profile-requests` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum ProfileRequestBox {
    /// Requests to see my profile.
    #[default]
    Incoming,
    /// My requests to see others'.
    Outgoing,
}

/// One page of profile requests, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProfileRequestPage {
    pub items: Vec<ProfileRequest>,
    /// Pass as `before` for the next page; null on the last one.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_before: Option<i64>,
}
