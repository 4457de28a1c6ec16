//! Keeping what a page fetched current: events change photos in place.

use std::rc::Rc;

use gallery_types::{Event, Photo, PhotoDeleted, PhotoHidden, SearchResults};
use yew::Reducible;

use crate::api::ApiFailure;

/// Data a page shows that events can change in place.
pub trait LiveData: Clone {
    /// Applies `event`; says whether anything changed.
    fn apply(&mut self, event: &Event) -> bool;
}

impl LiveData for Photo {
    /// Favorite counts, edits and new owners. Deletion is for whoever shows the photo to
    /// handle.
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
            Event::ObjectTransferred(transferred) if transferred.photo_id == self.id => {
                self.owner = transferred.owner.clone();
                true
            }
            _ => false,
        }
    }
}

impl LiveData for Vec<Photo> {
    /// Favorite counts, edits, and photos deleted or hidden from this viewer.
    fn apply(&mut self, event: &Event) -> bool {
        match event {
            Event::PhotoDeleted(PhotoDeleted { photo_id })
            | Event::PhotoHidden(PhotoHidden { photo_id }) => {
                let before = self.len();
                self.retain(|photo| photo.id != *photo_id);
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

#[cfg(test)]
mod tests {
    use gallery_types::{FavoriteCount, PhotoUpdated, PhotoUrls, ProfileVisibility, UserSummary};

    use super::*;

    fn photo(id: i64) -> Photo {
        let someone = UserSummary {
            id: 1,
            handle: None,
            display_name: "Ann".into(),
        };
        Photo {
            id,
            object_id: id,
            title: format!("photo {id}"),
            description: String::new(),
            tags: Vec::new(),
            creator: someone.clone(),
            owner: someone,
            favorite_count: 0,
            favorited: false,
            format: "jpeg".into(),
            width: 4,
            height: 3,
            frame_count: 1,
            byte_size: 10,
            placeholder: String::new(),
            urls: PhotoUrls {
                original: String::new(),
                preview: String::new(),
                thumbnail: String::new(),
            },
            created_at: Default::default(),
        }
    }

    fn loaded(photos: Vec<Photo>) -> Rc<Live<Vec<Photo>>> {
        Rc::new(Live::default()).reduce(LiveAction::Loaded(Ok(photos)))
    }

    fn count(photo_id: i64, favorite_count: i32) -> LiveAction<Vec<Photo>> {
        LiveAction::Event(Event::FavoriteCount(FavoriteCount {
            photo_id,
            favorite_count,
        }))
    }

    #[test]
    fn events_in_a_row_each_apply_to_the_result_of_the_one_before() {
        let live = loaded(vec![photo(1), photo(2), photo(3)])
            .reduce(count(1, 5))
            .reduce(LiveAction::Event(Event::PhotoUpdated(PhotoUpdated {
                photo_id: 1,
                title: "renamed".into(),
                description: "d".into(),
                tags: vec!["sea".into()],
            })))
            .reduce(LiveAction::Event(Event::PhotoDeleted(PhotoDeleted {
                photo_id: 2,
            })))
            .reduce(LiveAction::Event(Event::PhotoHidden(PhotoHidden {
                photo_id: 3,
            })));
        let Some(Ok(photos)) = &live.value else {
            panic!("loaded")
        };
        assert_eq!(photos.len(), 1);
        assert_eq!(
            (photos[0].favorite_count, photos[0].title.as_str()),
            (5, "renamed")
        );
        assert_eq!(photos[0].tags, vec!["sea".to_owned()]);
    }

    #[test]
    fn unrelated_events_keep_the_same_value() {
        let live = loaded(vec![photo(1)]);
        let after = live.clone().reduce(count(99, 3));
        assert!(Rc::ptr_eq(&live, &after), "nothing to render again");
        let after = live
            .clone()
            .reduce(LiveAction::Event(Event::ProfileVisibility(
                ProfileVisibility {
                    user_id: 1,
                    is_private: true,
                },
            )));
        assert!(Rc::ptr_eq(&live, &after));
    }

    #[test]
    fn events_before_the_first_answer_are_ignored_and_a_new_answer_replaces() {
        let empty = Rc::new(Live::<Vec<Photo>>::default()).reduce(count(1, 5));
        assert!(empty.value.is_none());
        let replaced = loaded(vec![photo(1)]).reduce(LiveAction::Loaded(Ok(vec![photo(7)])));
        let Some(Ok(photos)) = &replaced.value else {
            panic!("loaded")
        };
        assert_eq!(photos.iter().map(|photo| photo.id).collect::<Vec<_>>(), [7]);
    }
}
