//! The wire contract of Max Photo Gallery.
//!
//! Every JSON body the server sends or accepts is defined here once and compiled into both the
//! server (with the `openapi` feature, which also derives the OpenAPI schemas) and the web
//! client (WebAssembly, serde only).

mod error;
mod status;

pub use error::{ErrorBody, ErrorCode};
pub use status::{DatabaseState, ServiceStatus};
