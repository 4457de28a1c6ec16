//! A feed as an endless grid: the next page loads when the end comes into view.

use std::{cell::RefCell, rc::Rc};

use gallery_types::Photo;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{IntersectionObserver, IntersectionObserverEntry};
use yew::{
    Callback, Html, Properties, function_component, html, use_effect_with, use_mut_ref,
    use_node_ref, use_state,
};

use crate::{
    api::{
        ApiFailure,
        photos::{self, FeedQuery},
    },
    components::PhotoCard,
    i18n::{Text, failure_text, use_i18n},
    session::use_session,
};

/// Where paging stands; kept outside rendering so callbacks always see the latest.
#[derive(Debug, Default)]
struct Paging {
    /// Bumped when the query changes: answers to an older query are dropped.
    generation: u64,
    next_cursor: Option<String>,
    loading: bool,
    finished: bool,
}

#[derive(Debug, PartialEq, Properties)]
pub struct PhotoGridProps {
    pub query: FeedQuery,
    /// Shown when the feed is empty.
    pub empty: Text,
}

#[function_component(PhotoGrid)]
pub fn photo_grid(props: &PhotoGridProps) -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let token = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.access_token.clone());
    let items = use_state(Vec::<Photo>::new);
    let error = use_state(|| None::<ApiFailure>);
    let finished = use_state(|| false);
    let paging = use_mut_ref(Paging::default);
    // Items are appended through this list, not the state handle, which is stale in callbacks.
    let loaded: Rc<RefCell<Vec<Photo>>> = use_mut_ref(Vec::new);
    let sentinel = use_node_ref();

    let load_more = {
        let (items, error, finished, paging, loaded, query, token) = (
            items.clone(),
            error.clone(),
            finished.clone(),
            paging.clone(),
            loaded.clone(),
            props.query.clone(),
            token.clone(),
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
            let (items, error, finished, paging, loaded, query, token) = (
                items.clone(),
                error.clone(),
                finished.clone(),
                paging.clone(),
                loaded.clone(),
                query.clone(),
                token.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let page = photos::feed(&query, cursor.as_deref(), token.as_deref()).await;
                let mut state = paging.borrow_mut();
                if state.generation != generation {
                    return;
                }
                state.loading = false;
                match page {
                    Ok(page) => {
                        state.finished = page.next_cursor.is_none();
                        state.next_cursor = page.next_cursor;
                        let mut list = loaded.borrow_mut();
                        // A popular feed can shift while paging: never show a photo twice.
                        for photo in page.items {
                            if !list.iter().any(|seen| seen.id == photo.id) {
                                list.push(photo);
                            }
                        }
                        items.set(list.clone());
                        finished.set(state.finished);
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };

    // A new query (or viewer) starts over.
    {
        let (paging, loaded, items, finished, load_more) = (
            paging.clone(),
            loaded.clone(),
            items.clone(),
            finished.clone(),
            load_more.clone(),
        );
        use_effect_with((props.query.clone(), token.is_some()), move |_| {
            let generation = paging.borrow().generation + 1;
            *paging.borrow_mut() = Paging {
                generation,
                ..Paging::default()
            };
            loaded.borrow_mut().clear();
            items.set(Vec::new());
            finished.set(false);
            load_more.emit(());
        });
    }

    // The end of the grid coming into view asks for the next page. Observed anew with every
    // page and query, so the callback is current and a still-visible end asks again.
    {
        let (sentinel, load_more) = (sentinel.clone(), load_more.clone());
        use_effect_with(
            (props.query.clone(), token.clone(), items.len()),
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
    html! {
        <>
            if items.is_empty() && *finished {
                <div class="card muted" data-testid="empty-feed">{ i18n.t(props.empty) }</div>
            }
            <div class="photo-grid" data-testid="photo-grid">
                { for items.iter().map(|photo| html! { <PhotoCard key={photo.id} photo={photo.clone()} /> }) }
            </div>
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p>
            }
            <div ref={sentinel} class="sentinel">
                if !*finished {
                    <button type="button" onclick={on_more}>{ i18n.t(Text::LoadMore) }</button>
                }
            </div>
        </>
    }
}
