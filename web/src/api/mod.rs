//! Calls to the server's JSON API. Every error body is the shared [`ErrorBody`].

use gallery_types::{ErrorBody, ServiceStatus};
use gloo_net::http::Request;
use serde::de::DeserializeOwned;

/// Why an API call did not produce its value.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The server could not be reached at all (offline, DNS, connection refused).
    Network,
    /// The server answered with an error status and (usually) the JSON error body.
    Status {
        status: u16,
        body: Option<ErrorBody>,
    },
    /// The server answered 2xx with a body that does not fit the contract.
    Decode,
}

/// `GET /api/status`.
pub async fn status() -> Result<ServiceStatus, ApiFailure> {
    get_json("/api/status").await
}

async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    let response = Request::get(path)
        .send()
        .await
        .map_err(|_| ApiFailure::Network)?;
    if !response.ok() {
        return Err(ApiFailure::Status {
            status: response.status(),
            body: response.json::<ErrorBody>().await.ok(),
        });
    }
    response.json::<T>().await.map_err(|_| ApiFailure::Decode)
}
