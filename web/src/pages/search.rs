//! Search: photos by words (Russian and English forms), people by name or handle. Found
//! photos keep their counts and edits current; deleted ones leave.

use gallery_types::SearchResults;
use gloo_timers::callback::Timeout;
use web_sys::HtmlInputElement;
use yew::{
    Html, InputEvent, TargetCast, function_component, html, use_effect_with, use_reducer, use_state,
};

use crate::{
    api::photos,
    components::{PageIntro, PhotoCard},
    i18n::{Text, use_i18n},
    realtime::{Live, LiveAction, use_realtime, use_realtime_event},
    session::use_session,
};

/// Wait this long after the last keystroke before asking.
const DEBOUNCE_MS: u32 = 300;

#[function_component(Search)]
pub fn search() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let query = use_state(String::new);
    let realtime = use_realtime();
    let results = use_reducer(Live::<SearchResults>::default);
    let token = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.access_token.clone());
    {
        let results = results.dispatcher();
        use_effect_with(
            ((*query).clone(), realtime.reload_generation),
            move |(query, _)| {
                let query = query.trim().to_owned();
                let timer = (!query.is_empty()).then(|| {
                    Timeout::new(DEBOUNCE_MS, move || {
                        wasm_bindgen_futures::spawn_local(async move {
                            if let Ok(found) = photos::search(&query, token.as_deref()).await {
                                results.dispatch(LiveAction::Loaded(Ok(found)));
                            }
                        });
                    })
                });
                move || drop(timer)
            },
        );
    }
    {
        let results = results.dispatcher();
        use_realtime_event(move |event| results.dispatch(LiveAction::Event(event.clone())));
    }
    let oninput = {
        let query = query.clone();
        move |event: InputEvent| {
            query.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    html! {
        <section class="page" data-page="search">
            <PageIntro title={Text::SearchTitle} lead={Text::SearchLead} />
            <input type="search" name="q" class="search-box" placeholder={i18n.t(Text::SearchPlaceholder)} value={(*query).clone()} {oninput} />
            if let Some(Ok(found)) = &results.value {
                if found.photos.is_empty() && found.users.is_empty() {
                    <div class="card muted" data-testid="no-results">{ i18n.t(Text::NothingFound) }</div>
                }
                if !found.users.is_empty() {
                    <ul class="people" data-testid="people-results">
                        { for found.users.iter().map(|user| html! {
                            <li><strong>{ &user.display_name }</strong>{ user.handle.as_ref().map(|handle| format!(" @{handle}")).unwrap_or_default() }</li>
                        }) }
                    </ul>
                }
                <div class="photo-grid" data-testid="photo-results">
                    { for found.photos.iter().map(|photo| html! { <PhotoCard key={photo.id} photo={photo.clone()} /> }) }
                </div>
            }
        </section>
    }
}
