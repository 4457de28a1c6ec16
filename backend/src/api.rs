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
#[derive(Debug)]
pub struct JsonBytes<T> {
    json: Bytes,
    of: PhantomData<fn() -> T>,
}

impl<T: ToJSON> JsonBytes<T> {
    /// `value` as `Json<T>` sends it.
    pub fn serialize(value: &T) -> Bytes {
        serde_json::to_vec(&value.to_json())
            .expect("a JSON value always serializes")
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
