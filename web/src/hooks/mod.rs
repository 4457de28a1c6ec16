//! Hooks that own the app's side effects; each effect returns its cleanup.

mod load;
mod service_status;

pub use load::{use_load, use_load_after};
pub use service_status::{ServiceHealth, use_service_status};
