//! Reusable components: they take props and hold no app state of their own.

mod history;
mod layout;
mod ownership_panel;
mod page_intro;
mod person_link;
mod person_picker;
mod photo_card;
mod photo_grid;
mod request_list;
mod sign_in_prompt;
mod skeleton;
mod status_line;

pub use history::HistoryTimeline;
pub use layout::Layout;
pub use ownership_panel::ownership_panel;
pub use page_intro::PageIntro;
pub use person_link::person_link;
pub use person_picker::PersonPicker;
pub use photo_card::{PhotoCard, Placeholder};
pub use photo_grid::{NewPhotos, PhotoGrid};
pub use request_list::RequestList;
pub use sign_in_prompt::SignInPrompt;
pub use skeleton::Skeleton;
pub use status_line::StatusLine;
