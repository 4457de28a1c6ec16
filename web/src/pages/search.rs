//! Search: photos by words (Russian and English forms), people by name or handle. Found
//! photos keep their counts and edits current; deleted ones leave.

use gallery_types::SearchResults;
use web_sys::HtmlInputElement;
use yew::{
    Callback, Html, InputEvent, TargetCast, function_component, html, use_reducer, use_state,
};

use crate::{
    components::{PageIntro, PhotoCard, person_link},
    hooks::use_load_after,
    i18n::{Text, use_i18n},
    realtime::{Live, LiveAction, use_realtime, use_realtime_event},
    session::use_api,
};

/// Wait this long after the last keystroke before asking.
const DEBOUNCE_MS: u32 = 300;

#[function_component(Search)]
pub fn search() -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let query = use_state(String::new);
    let realtime = use_realtime();
    let results = use_reducer(Live::<SearchResults>::default);
    {
        let results = results.dispatcher();
        use_load_after(
            DEBOUNCE_MS,
            (
                (*query).trim().to_owned(),
                api.signed_in(),
                realtime.reload_generation,
            ),
            move |(query, _, _)| {
                let query = query.clone();
                async move {
                    if query.is_empty() {
                        None
                    } else {
                        Some(api.search(&query).await)
                    }
                }
            },
            Callback::from(move |found: Option<Result<SearchResults, _>>| {
                if let Some(Ok(found)) = found {
                    results.dispatch(LiveAction::Loaded(Ok(found)));
                }
            }),
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
                            <li>{ person_link(user) }{ user.handle.as_ref().map(|handle| format!(" @{handle}")).unwrap_or_default() }</li>
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
