//! A feed as an endless grid: the next page loads when the end comes into view, and live
//! events keep it current (favorite counts, edits and deletions in place; new photos
//! announced, or put at the top where that is what the person expects).

use std::rc::Rc;

use gallery_types::{Event, Photo, PhotoSort};
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{IntersectionObserver, IntersectionObserverEntry};
use yew::{
    Callback, Html, Properties, Reducible, function_component, html, use_effect_with, use_mut_ref,
    use_node_ref, use_reducer, use_state,
};

use crate::{
    api::{ApiFailure, photos::FeedQuery},
    components::{PhotoCard, Skeleton},
    i18n::{Text, failure_text, use_i18n},
    realtime::{LiveData, use_realtime, use_realtime_event},
    session::use_api,
};

/// At most this many announced photos wait for the person; beyond it, showing them loads
/// the feed again (a tab left open for days should not hoard every upload).
const FRESH_LIMIT: usize = 100;

/// What a grid does with a photo uploaded while it is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NewPhotos {
    /// Counts it on a "N new photos" button, and shows it when that is pressed: the grid
    /// does not move under someone scrolling it.
    #[default]
    Announce,
    /// Puts it at the top at once (the person's own collection: they just uploaded it).
    Insert,
}

/// Where paging stands; kept outside rendering so callbacks always see the latest.
#[derive(Debug, Default)]
struct Paging {
    /// Bumped when the feed starts over: answers to an older start are dropped.
    generation: u64,
    next_cursor: Option<String>,
    loading: bool,
    finished: bool,
}

/// What the grid shows. Changed only through [`FeedChange`]s, so that events arriving
/// together all apply, each to the result of the one before.
#[derive(Debug, Clone, Default, PartialEq)]
struct Feed {
    photos: Vec<Photo>,
    /// Photos uploaded since the grid loaded, newest first, waiting to be shown.
    fresh: Vec<Photo>,
    /// More than [`FRESH_LIMIT`] arrived: `fresh` is incomplete.
    fresh_overflowed: bool,
    finished: bool,
    error: Option<ApiFailure>,
}

enum FeedChange {
    StartOver,
    Page {
        photos: Vec<Photo>,
        finished: bool,
    },
    Failed(ApiFailure),
    /// A new photo, at the top at once.
    Insert(Photo),
    /// A new photo, counted on the button.
    Announce(Photo),
    /// The button was pressed.
    ShowFresh,
    /// Counts, edits and deletions.
    Event(Event),
    /// A photo left what the grid shows (its object went to another owner).
    Remove(i64),
}

impl Feed {
    fn shows(&self, id: i64) -> bool {
        self.photos
            .iter()
            .chain(&self.fresh)
            .any(|photo| photo.id == id)
    }
}

impl Reducible for Feed {
    type Action = FeedChange;

    fn reduce(self: Rc<Self>, change: FeedChange) -> Rc<Self> {
        let mut next = (*self).clone();
        match change {
            FeedChange::StartOver => next = Feed::default(),
            FeedChange::Page { photos, finished } => {
                // A popular feed can shift while paging, and an announced photo can be on the
                // first page: never show a photo twice.
                for photo in photos {
                    next.fresh.retain(|fresh| fresh.id != photo.id);
                    if !next.photos.iter().any(|seen| seen.id == photo.id) {
                        next.photos.push(photo);
                    }
                }
                next.finished = finished;
                next.error = None;
            }
            FeedChange::Failed(failure) => next.error = Some(failure),
            FeedChange::Insert(photo) if !next.shows(photo.id) => next.photos.insert(0, photo),
            // Nothing shown that could move: no need to ask.
            FeedChange::Announce(photo)
                if next.photos.is_empty() && next.fresh.is_empty() && next.finished =>
            {
                next.photos.push(photo)
            }
            FeedChange::Announce(photo) if !next.shows(photo.id) => {
                if next.fresh.len() < FRESH_LIMIT {
                    next.fresh.insert(0, photo);
                } else {
                    next.fresh_overflowed = true;
                }
            }
            FeedChange::Insert(_) | FeedChange::Announce(_) => return self,
            FeedChange::ShowFresh => {
                let mut photos = std::mem::take(&mut next.fresh);
                photos.append(&mut next.photos);
                next.photos = photos;
            }
            FeedChange::Remove(id) if next.shows(id) => {
                next.photos.retain(|photo| photo.id != id);
                next.fresh.retain(|photo| photo.id != id);
            }
            FeedChange::Remove(_) => return self,
            FeedChange::Event(event) => {
                let in_grid = next.photos.apply(&event);
                let in_fresh = next.fresh.apply(&event);
                if !in_grid && !in_fresh {
                    return self;
                }
            }
        }
        Rc::new(next)
    }
}

/// What a new photo means for a grid showing `query`, if anything.
fn placement(query: &FeedQuery, new_photos: NewPhotos, photo: &Photo) -> Option<FeedChange> {
    // A new photo has no favorites yet: its place in a popular feed is at the far end.
    let belongs = query.sort == PhotoSort::New
        && query.owner.is_none_or(|owner| owner == photo.owner.id)
        && query.creator.is_none_or(|creator| creator == photo.creator.id)
        // The feed matches a tag exactly, as it is written.
        && query
            .tag
            .as_ref()
            .is_none_or(|tag| photo.tags.contains(tag));
    belongs.then(|| match new_photos {
        NewPhotos::Announce => FeedChange::Announce(photo.clone()),
        NewPhotos::Insert => FeedChange::Insert(photo.clone()),
    })
}

#[derive(Debug, PartialEq, Properties)]
pub struct PhotoGridProps {
    pub query: FeedQuery,
    /// Shown when the feed is empty.
    pub empty: Text,
    #[prop_or_default]
    pub new_photos: NewPhotos,
}

#[function_component(PhotoGrid)]
pub fn photo_grid(props: &PhotoGridProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let feed = use_reducer(Feed::default);
    let paging = use_mut_ref(Paging::default);
    // Bumped to load the feed again from the top.
    let restarts = use_state(|| 0u32);
    let grid = use_node_ref();
    let sentinel = use_node_ref();

    let load_more = {
        let (feed, paging, query, api) = (
            feed.dispatcher(),
            paging.clone(),
            props.query.clone(),
            api.clone(),
        );
        Callback::from(move |()| {
            let (cursor, generation) = {
                let mut paging = paging.borrow_mut();
                if paging.loading || paging.finished {
                    return;
                }
                paging.loading = true;
                (paging.next_cursor.clone(), paging.generation)
            };
            let (feed, paging, query, api) =
                (feed.clone(), paging.clone(), query.clone(), api.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let page = api.feed(&query, cursor.as_deref()).await;
                let change = {
                    let mut state = paging.borrow_mut();
                    if state.generation != generation {
                        return;
                    }
                    state.loading = false;
                    match page {
                        Ok(page) => {
                            state.finished = page.next_cursor.is_none();
                            state.next_cursor = page.next_cursor;
                            FeedChange::Page {
                                photos: page.items,
                                finished: state.finished,
                            }
                        }
                        Err(failure) => FeedChange::Failed(failure),
                    }
                };
                feed.dispatch(change);
            });
        })
    };

    // A new query, viewer or reload starts over.
    {
        let (paging, feed, load_more) = (paging.clone(), feed.dispatcher(), load_more.clone());
        use_effect_with(
            (
                props.query.clone(),
                api.signed_in(),
                realtime.reload_generation,
                *restarts,
            ),
            move |_| {
                let generation = paging.borrow().generation + 1;
                *paging.borrow_mut() = Paging {
                    generation,
                    ..Paging::default()
                };
                feed.dispatch(FeedChange::StartOver);
                load_more.emit(());
            },
        );
    }

    {
        let (feed, query, new_photos, api) = (
            feed.dispatcher(),
            props.query.clone(),
            props.new_photos,
            api.clone(),
        );
        use_realtime_event(move |event| match event {
            Event::PhotoCreated(created) => {
                if let Some(change) = placement(&query, new_photos, &created.photo) {
                    feed.dispatch(change);
                }
            }
            // In someone's collection, an object that changed hands leaves it or joins it.
            Event::ObjectTransferred(transferred) if query.owner.is_some() => {
                if query.owner == Some(transferred.owner.id) {
                    let (feed, query, api, id) = (
                        feed.clone(),
                        query.clone(),
                        api.clone(),
                        transferred.photo_id,
                    );
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(photo) = api.photo(id).await
                            && let Some(change) = placement(&query, NewPhotos::Insert, &photo)
                        {
                            feed.dispatch(change);
                        }
                    });
                } else {
                    feed.dispatch(FeedChange::Remove(transferred.photo_id));
                }
            }
            _ => feed.dispatch(FeedChange::Event(event.clone())),
        });
    }

    // The end of the grid coming into view asks for the next page. Observed anew with every
    // page and query, so the callback is current and a still-visible end asks again.
    {
        let (sentinel, load_more) = (sentinel.clone(), load_more.clone());
        use_effect_with(
            (props.query.clone(), api.clone(), feed.photos.len()),
            move |_| {
                let on_visible =
                    Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                        let visible = entries
                            .iter()
                            .filter_map(|entry| entry.dyn_into::<IntersectionObserverEntry>().ok())
                            .any(|entry| entry.is_intersecting());
                        if visible {
                            load_more.emit(());
                        }
                    });
                let observer = IntersectionObserver::new(on_visible.as_ref().unchecked_ref()).ok();
                if let (Some(observer), Some(element)) =
                    (&observer, sentinel.cast::<web_sys::Element>())
                {
                    observer.observe(&element);
                }
                move || {
                    if let Some(observer) = observer {
                        observer.disconnect();
                    }
                    drop(on_visible);
                }
            },
        );
    }

    let on_more = {
        let load_more = load_more.clone();
        move |_| load_more.emit(())
    };
    let on_show_fresh = {
        let (feed, restarts, grid, overflowed) = (
            feed.dispatcher(),
            restarts.clone(),
            grid.clone(),
            feed.fresh_overflowed,
        );
        move |_| {
            if overflowed {
                restarts.set(*restarts + 1);
            } else {
                feed.dispatch(FeedChange::ShowFresh);
            }
            // They go at the top: bring the top into view if it was scrolled away.
            if let Some(grid) = grid.cast::<web_sys::Element>()
                && grid.get_bounding_client_rect().top() < 0.0
            {
                grid.scroll_into_view();
            }
        }
    };
    let fresh_count = if feed.fresh_overflowed {
        format!("{}+", feed.fresh.len())
    } else {
        feed.fresh.len().to_string()
    };
    html! {
        <>
            if !feed.fresh.is_empty() {
                <button type="button" class="primary new-photos" data-testid="new-photos" onclick={on_show_fresh}>
                    { format!("↑ {} · {fresh_count}", i18n.t(Text::NewPhotos)) }
                </button>
            }
            if feed.photos.is_empty() && !feed.finished && feed.error.is_none() {
                <Skeleton tiles={6} />
            }
            if feed.photos.is_empty() && feed.finished {
                <div class="card muted" data-testid="empty-feed">{ i18n.t(props.empty) }</div>
            }
            <div ref={grid} class="photo-grid" data-testid="photo-grid">
                { for feed.photos.iter().map(|photo| html! { <PhotoCard key={photo.id} photo={photo.clone()} /> }) }
            </div>
            if let Some(failure) = &feed.error {
                <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p>
            }
            <div ref={sentinel} class="sentinel">
                if !feed.finished {
                    <button type="button" onclick={on_more}>{ i18n.t(Text::LoadMore) }</button>
                }
            </div>
        </>
    }
}
