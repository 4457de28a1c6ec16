//! Photos (each one an art object with an owner), the feed, favorites and search.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ErrorCode, PhotoDescription, PhotoTitle, Tags};

/// Who made or owns something, as lists show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct UserSummary {
    pub id: i64,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub handle: Option<String>,
    pub display_name: String,
}

/// Where a photo's files are served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PhotoUrls {
    /// Full size, upright, without metadata.
    pub original: String,
    /// About 1600 px on the long side.
    pub preview: String,
    /// About 400 px on the long side.
    pub thumbnail: String,
}

/// A photo and the art object it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Photo {
    pub id: i64,
    /// The art object's id (its ownership history is at `/api/objects/{object_id}/history`).
    pub object_id: i64,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub creator: UserSummary,
    pub owner: UserSummary,
    pub favorite_count: i32,
    /// Whether the signed-in viewer has favorited it (false for anonymous viewers).
    pub favorited: bool,
    /// `jpeg`, `png`, `gif` or `webp`.
    pub format: String,
    /// Upright dimensions of the original, in pixels.
    pub width: i32,
    pub height: i32,
    /// More than 1 for animated GIFs.
    pub frame_count: i32,
    /// Size of the uploaded file, in bytes.
    pub byte_size: i64,
    /// A blurhash to paint while the thumbnail loads.
    pub placeholder: String,
    pub urls: PhotoUrls,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// One page of photos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PhotoPage {
    pub items: Vec<Photo>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_cursor: Option<String>,
}

/// The order of the feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum PhotoSort {
    /// Newest first.
    #[default]
    New,
    /// Most favorited first.
    Popular,
}

/// `PATCH /api/photos/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct UpdatePhotoRequest {
    /// At most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub title: Option<PhotoTitle>,
    /// At most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub description: Option<PhotoDescription>,
    /// At most 20 tags of at most 40 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub tags: Option<Tags>,
}

/// 409 from `POST /api/photos`: these bytes are already in the gallery, as `photo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct DuplicatePhoto {
    /// Always `duplicate_photo`.
    pub code: ErrorCode,
    pub message: String,
    /// The photo already minted from these bytes; null when its owner keeps it private.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub photo: Option<Photo>,
}

/// `GET /api/search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SearchResults {
    /// Photos ranked by relevance to the query (Russian and English word forms).
    pub photos: Vec<Photo>,
    /// People whose name or handle resembles the query.
    pub users: Vec<UserSummary>,
}
