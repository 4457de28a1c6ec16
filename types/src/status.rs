//! What `GET /api/status` reports: the service's version and whether its database answers.

use serde::{Deserialize, Serialize};

/// The state of the service as the web client's status line shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ServiceStatus {
    /// The server's version (the backend crate's version).
    pub version: String,
    /// Whether the database answered a query just now.
    pub database: DatabaseState,
    /// The largest photo upload accepted, in bytes (clients check before sending).
    pub max_upload_bytes: u64,
}

/// Whether the database answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum DatabaseState {
    /// A query answered within the readiness timeout.
    Ok,
    /// The query failed or timed out.
    Unavailable,
}
