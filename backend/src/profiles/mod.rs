//! Profiles over HTTP:
//!
//! - [`me`]: the signed-in user's own (`/api/me`).
//! - [`view`]: anybody's (`/api/users/{user}`) and their collection, as the viewer may see it.
//! - [`requests`]: asking to see a private profile, and the owner's answer.
//!
//! Who may see a collection is decided in [`crate::users::access`].

pub mod me;
pub mod requests;
pub mod view;

pub use me::MeApi;
pub use requests::ProfileRequestsApi;
pub use view::UsersApi;
