//! The signed-in user's own profile.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Bio, DisplayName, Handle};

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(feature = "sqlx", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Language {
    Ru,
    En,
}

impl Language {
    /// The code as stored and sent: `ru` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    /// Russian for `ru*` codes, English for anything else (Max's `language_code`).
    pub fn from_code(code: &str) -> Self {
        if code.to_ascii_lowercase().starts_with("ru") {
            Language::Ru
        } else {
            Language::En
        }
    }
}

/// The signed-in user, as they see themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Me {
    pub id: i64,
    /// Unique (case-insensitively) public name: 3–32 letters, digits or `_`, starting with a
    /// letter. Null until one is chosen (or taken from the Max username at first sign-in).
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub handle: Option<String>,
    pub display_name: String,
    pub bio: String,
    pub language: Language,
    /// Whether others see only the name until the user approves their request.
    pub is_private: bool,
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub photo_url: Option<String>,
    /// Whether password sign-in is set up.
    pub has_password: bool,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// `PATCH /api/me`: every field is optional; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(deny_unknown_fields))]
pub struct UpdateMeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub handle: Option<Handle>,
    /// 1–64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub display_name: Option<DisplayName>,
    /// At most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub bio: Option<Bio>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub language: Option<Language>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub is_private: Option<bool>,
}
