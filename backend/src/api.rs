//! What every domain's HTTP operations share: the groups the spec lists them under, the
//! answer without a body, and JSON serialized ahead of time. A leaf: it imports no domain, so
//! every domain may import it.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse, Tags,
    payload::Payload,
    registry::{MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};
use serde::Serialize;

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

/// A JSON answer serialized before it is sent (so that it can be kept and sent again): the
/// bytes [`poem_openapi::payload::Json`] would send for the same `T`, under the same schema.
/// They are written by serde straight from `T`, without the tree of JSON values poem-openapi
/// builds first (whose allocations and hashing were a fifth of the server's time on a feed
/// page); the tests below hold the two to the same bytes.
#[derive(Debug)]
pub struct JsonBytes<T> {
    json: Bytes,
    of: PhantomData<fn() -> T>,
}

impl<T: ToJSON + Serialize> JsonBytes<T> {
    /// `value` as `Json<T>` sends it.
    pub fn serialize(value: &T) -> Bytes {
        serde_json::to_vec(value)
            .expect("the contract's types always serialize")
            .into()
    }

    /// Bytes made by [`JsonBytes::serialize`] for a `T`.
    pub fn from_serialized(json: Bytes) -> Self {
        Self {
            json,
            of: PhantomData,
        }
    }
}

impl<T: Type> Payload for JsonBytes<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for JsonBytes<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.json)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use gallery_types::{Photo, PhotoPage, PhotoUrls, UserSummary};

    use super::*;

    /// What `Json<T>` would send for `value`, and what `JsonBytes<T>` sends, byte for byte.
    fn assert_same_bytes<T: ToJSON + Serialize>(value: &T) {
        let poem = serde_json::to_vec(&value.to_json()).unwrap();
        let serialized = JsonBytes::<T>::serialize(value);
        assert_eq!(
            String::from_utf8_lossy(&serialized),
            String::from_utf8_lossy(&poem)
        );
    }

    fn photo(id: i64, owner_handle: Option<&str>, title: &str, tags: &[&str]) -> Photo {
        Photo {
            id,
            object_id: id + 1000,
            title: title.to_owned(),
            description: "Line one\nline two\t\"quoted\" \\ </script> \u{1} ёж 🌅".to_owned(),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            creator: UserSummary {
                id: 7,
                handle: Some("maker".to_owned()),
                display_name: "Мастер".to_owned(),
            },
            owner: UserSummary {
                id: 8,
                handle: owner_handle.map(str::to_owned),
                display_name: String::new(),
            },
            favorite_count: i32::MAX,
            favorited: id % 2 == 0,
            format: "jpeg".to_owned(),
            width: 4000,
            height: 3000,
            frame_count: 1,
            byte_size: i64::MAX,
            placeholder: "LKO2?U%2Tw=w]~RBVZRi};RPxuwH".to_owned(),
            urls: PhotoUrls {
                original: format!("/media/{id}/original.jpg"),
                preview: format!("/media/{id}/preview.jpg"),
                thumbnail: format!("/media/{id}/thumbnail.jpg"),
            },
            created_at: Utc.with_ymd_and_hms(2026, 12, 2, 22, 57, 10).unwrap()
                + chrono::Duration::nanoseconds(id * 123_456_789 % 1_000_000_000),
        }
    }

    #[test]
    fn a_page_serialized_ahead_is_what_json_would_send() {
        assert_same_bytes(&PhotoPage {
            items: vec![
                photo(1, Some("owner"), "Sunset", &["sea", "вечер"]),
                photo(2, None, "", &[]),
                photo(8, Some("x"), "\u{7f}\u{2028}", &["a,b"]),
            ],
            next_cursor: Some("0_8".to_owned()),
        });
        assert_same_bytes(&PhotoPage {
            items: Vec::new(),
            next_cursor: None,
        });
    }
}
