//! Hooks that own the app's side effects; each effect returns its cleanup.

mod service_status;

pub use service_status::{ServiceHealth, use_service_status};
