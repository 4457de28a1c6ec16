//! Reusable components: they take props and hold no app state of their own.

mod layout;
mod page_intro;
mod photo_card;
mod photo_grid;
mod sign_in_prompt;
mod status_line;

pub use layout::Layout;
pub use page_intro::PageIntro;
pub use photo_card::{PhotoCard, Placeholder};
pub use photo_grid::{NewPhotos, PhotoGrid};
pub use sign_in_prompt::SignInPrompt;
pub use status_line::StatusLine;
