//! Texts of the wire contract whose rules the OpenAPI spec states: how long they may be,
//! what they may hold (never a NUL character). Generated clients see the rules; the server
//! checks them itself and answers each broken rule with its own error code (`weak_password`,
//! `invalid_handle`, …), so the parser accepts any string and leaves the judgement to it.

use serde::{Deserialize, Serialize};

/// Declares a text type: a `String` on the wire, with the rules in its OpenAPI schema.
macro_rules! text_type {
    (
        $(#[$meta:meta])*
        $name:ident {
            chars: $min:literal..=$max:literal,
            pattern: $pattern:expr,
            refused_when_parsed: $refused_when_parsed:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Fewest and most characters (Unicode scalar values) it may have.
            pub const MIN_CHARS: usize = $min;
            pub const MAX_CHARS: usize = $max;

            /// Whether parsing a request refuses a text outside the bounds (a 400). Otherwise
            /// the server checks them itself and answers with its own error code.
            pub const REFUSED_WHEN_PARSED: bool = $refused_when_parsed;

            /// Whether its length is within the bounds.
            pub fn has_allowed_length(&self) -> bool {
                (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&self.0.chars().count())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        #[cfg(feature = "openapi")]
        impl $name {
            fn refuse_when_parsed(self) -> poem_openapi::types::ParseResult<Self> {
                if Self::REFUSED_WHEN_PARSED && !self.has_allowed_length() {
                    return Err(poem_openapi::types::ParseError::custom(format!(
                        "{} to {} characters",
                        Self::MIN_CHARS,
                        Self::MAX_CHARS
                    )));
                }
                Ok(self)
            }
        }

        #[cfg(feature = "openapi")]
        impl poem_openapi::types::Type for $name {
            const IS_REQUIRED: bool = true;

            type RawValueType = String;

            type RawElementValueType = String;

            fn name() -> std::borrow::Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                let mut schema = poem_openapi::registry::MetaSchema::new("string");
                schema.min_length = Some($min).filter(|&min: &usize| min > 0);
                schema.max_length = Some($max);
                schema.pattern = Some($pattern.to_owned());
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        #[cfg(feature = "openapi")]
        impl poem_openapi::types::ParseFromJSON for $name {
            fn parse_from_json(
                value: Option<serde_json::Value>,
            ) -> poem_openapi::types::ParseResult<Self> {
                // Strictly a JSON string (poem-openapi's `String` would take `false` as "false").
                match value {
                    Some(serde_json::Value::String(text)) => Self(text).refuse_when_parsed(),
                    other => Err(poem_openapi::types::ParseError::expected_type(
                        other.unwrap_or_default(),
                    )),
                }
            }
        }

        #[cfg(feature = "openapi")]
        impl poem_openapi::types::ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> poem_openapi::types::ParseResult<Self> {
                Self(value.to_owned()).refuse_when_parsed()
            }
        }

        #[cfg(feature = "openapi")]
        impl poem_openapi::types::ParseFromMultipartField for $name {
            async fn parse_from_multipart(
                field: Option<poem::web::Field>,
            ) -> poem_openapi::types::ParseResult<Self> {
                <String as poem_openapi::types::ParseFromMultipartField>::parse_from_multipart(
                    field,
                )
                .await
                .map(Self)
                .map_err(poem_openapi::types::ParseError::propagate)?
                .refuse_when_parsed()
            }
        }

        #[cfg(feature = "openapi")]
        impl poem_openapi::types::ToJSON for $name {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.0.clone()))
            }
        }
    };
}

/// Any text but a NUL (ECMA-262 and the `regex` crate read the escape alike).
#[cfg_attr(not(feature = "openapi"), allow(dead_code))]
const NO_NUL: &str = "^[^\\u0000]*$";

/// Any text but a NUL with at least one character that is not white space (Unicode's
/// `White_Space`, the characters Rust's `str::trim` removes, listed because regex dialects
/// disagree on what `\s` means).
#[cfg_attr(not(feature = "openapi"), allow(dead_code))]
const NOT_BLANK: &str = "^[^\\u0000]*[^\\u0000\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$";

text_type! {
    /// Free text a person or a client sends (a credential, a name to look up): anything but a
    /// NUL, at most 4096 characters.
    Text { chars: 0..=4096, pattern: NO_NUL, refused_when_parsed: true }
}

text_type! {
    /// A note to someone (with a gift or a trade offer): at most 500 characters.
    Message { chars: 0..=500, pattern: NO_NUL, refused_when_parsed: true }
}

text_type! {
    /// A new password: 8 to 128 characters (OWASP ASVS; no composition rules).
    NewPassword { chars: 8..=128, pattern: NO_NUL, refused_when_parsed: false }
}

text_type! {
    /// A handle: 3–32 ASCII letters, digits or `_`, starting with a letter.
    Handle { chars: 3..=32, pattern: "^[A-Za-z][A-Za-z0-9_]*$", refused_when_parsed: false }
}

text_type! {
    /// A display name: 1 to 64 characters, not all of them white space.
    DisplayName { chars: 1..=64, pattern: NOT_BLANK, refused_when_parsed: false }
}

text_type! {
    /// A bio: at most 500 characters.
    Bio { chars: 0..=500, pattern: NO_NUL, refused_when_parsed: false }
}

text_type! {
    /// A photo's title: at most 200 characters.
    PhotoTitle { chars: 0..=200, pattern: NO_NUL, refused_when_parsed: false }
}

text_type! {
    /// A photo's description: at most 2000 characters.
    PhotoDescription { chars: 0..=2000, pattern: NO_NUL, refused_when_parsed: false }
}

text_type! {
    /// A tag: at most 40 characters, without commas.
    Tag { chars: 0..=40, pattern: "^[^,\\u0000]*$", refused_when_parsed: false }
}

text_type! {
    /// A photo's tags in one form field: at most 20, separated by commas, each at most 40
    /// characters (blank ones are left out).
    TagsField {
        chars: 0..=819,
        pattern: "^[^,\\u0000]{0,40}(,[^,\\u0000]{0,40}){0,19}$",
        refused_when_parsed: false,
    }
}

/// A photo's tags: at most 20.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(pub Vec<Tag>);

impl Tags {
    /// Most tags of a photo.
    pub const MAX_COUNT: usize = 20;

    /// The tags as plain strings.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|tag| tag.0.clone()).collect()
    }
}

impl From<Vec<String>> for Tags {
    fn from(tags: Vec<String>) -> Self {
        Self(tags.into_iter().map(Tag).collect())
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::Type for Tags {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = String;

    fn name() -> std::borrow::Cow<'static, str> {
        "[string]".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        let mut schema = poem_openapi::registry::MetaSchema::new("array");
        schema.items = Some(Box::new(<Tag as poem_openapi::types::Type>::schema_ref()));
        schema.max_items = Some(Self::MAX_COUNT);
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(self.0.iter().map(|tag| &tag.0))
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::ParseFromJSON for Tags {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        <Vec<Tag> as poem_openapi::types::ParseFromJSON>::parse_from_json(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::ToJSON for Tags {
    fn to_json(&self) -> Option<serde_json::Value> {
        <Vec<Tag> as poem_openapi::types::ToJSON>::to_json(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_a_plain_string_on_the_wire() {
        let title = PhotoTitle::from("Sunset");
        assert_eq!(serde_json::to_string(&title).unwrap(), r#""Sunset""#);
        assert_eq!(
            serde_json::from_str::<PhotoTitle>(r#""Sunset""#).unwrap(),
            title
        );
        assert_eq!(&*title, "Sunset");
    }

    #[test]
    fn the_not_blank_pattern_agrees_with_trim() {
        let pattern = regex::Regex::new(NOT_BLANK).unwrap();
        for c in ('\0'..='\u{30000}').chain(['\u{10FFFF}']) {
            let text = c.to_string();
            let not_blank = c != '\0' && !text.trim().is_empty();
            assert_eq!(pattern.is_match(&text), not_blank, "U+{:04X}", c as u32);
        }
        assert!(pattern.is_match(" \u{3000}a "));
    }
}
