//! Keeping what a page fetched current: events change photos in place.

use std::rc::Rc;

use gallery_types::{Event, Photo, SearchResults};
use yew::Reducible;

use crate::api::ApiFailure;

/// Data a page shows that events can change in place.
pub trait LiveData: Clone {
    /// Applies `event`; says whether anything changed.
    fn apply(&mut self, event: &Event) -> bool;
}

impl LiveData for Photo {
    /// Favorite counts and edits. Deletion is for whoever shows the photo to handle.
    fn apply(&mut self, event: &Event) -> bool {
        match event {
            Event::FavoriteCount(change) if change.photo_id == self.id => {
                self.favorite_count = change.favorite_count;
                true
            }
            Event::PhotoUpdated(change) if change.photo_id == self.id => {
                self.title.clone_from(&change.title);
                self.description.clone_from(&change.description);
                self.tags.clone_from(&change.tags);
                true
            }
            _ => false,
        }
    }
}

impl LiveData for Vec<Photo> {
    /// Favorite counts, edits and deletions.
    fn apply(&mut self, event: &Event) -> bool {
        match event {
            Event::PhotoDeleted(deleted) => {
                let before = self.len();
                self.retain(|photo| photo.id != deleted.photo_id);
                self.len() != before
            }
            _ => {
                let mut changed = false;
                for photo in self.iter_mut() {
                    changed |= photo.apply(event);
                }
                changed
            }
        }
    }
}

impl LiveData for SearchResults {
    fn apply(&mut self, event: &Event) -> bool {
        self.photos.apply(event)
    }
}

/// A value a page fetched, kept current by events: use it with `use_reducer`, dispatch what
/// the server answers as [`LiveAction::Loaded`] and every event as [`LiveAction::Event`].
/// Being a reducer, several events arriving together all apply, each to the result of the
/// one before.
#[derive(Debug, Clone, PartialEq)]
pub struct Live<T> {
    /// None until the first answer.
    pub value: Option<Result<T, ApiFailure>>,
}

impl<T> Default for Live<T> {
    fn default() -> Self {
        Self { value: None }
    }
}

/// A change to a [`Live`] value.
#[derive(Debug, Clone)]
pub enum LiveAction<T> {
    /// The server's answer; replaces the value.
    Loaded(Result<T, ApiFailure>),
    /// An event; changes the value if it concerns it.
    Event(Event),
}

impl<T: LiveData + 'static> Reducible for Live<T> {
    type Action = LiveAction<T>;

    fn reduce(self: Rc<Self>, action: LiveAction<T>) -> Rc<Self> {
        match action {
            LiveAction::Loaded(value) => Rc::new(Self { value: Some(value) }),
            LiveAction::Event(event) => {
                let Some(Ok(current)) = &self.value else {
                    return self;
                };
                let mut next = current.clone();
                if next.apply(&event) {
                    Rc::new(Self {
                        value: Some(Ok(next)),
                    })
                } else {
                    self
                }
            }
        }
    }
}
