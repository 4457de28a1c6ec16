//! Reusable components: they take props and hold no app state of their own.

mod layout;
mod page_intro;
mod status_line;

pub use layout::Layout;
pub use page_intro::PageIntro;
pub use status_line::StatusLine;
