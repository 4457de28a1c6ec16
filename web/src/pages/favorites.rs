//! My favorites, with live counts and edits; a photo deleted by its owner leaves the list.

use gallery_types::Photo;
use yew::{Callback, Html, function_component, html, use_reducer};

use crate::{
    components::{PageIntro, PhotoCard, SignInPrompt, Skeleton},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    realtime::{Live, LiveAction, use_realtime, use_realtime_event},
    session::{Session, use_api, use_session},
};

#[function_component(Favorites)]
pub fn favorites() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let realtime = use_realtime();
    let list = use_reducer(Live::<Vec<Photo>>::default);
    let api = use_api();
    {
        let list = list.dispatcher();
        use_load(
            (api.signed_in(), realtime.reload_generation),
            move |(signed_in, _)| {
                let signed_in = *signed_in;
                async move {
                    if signed_in {
                        Some(api.my_favorites().await)
                    } else {
                        None
                    }
                }
            },
            Callback::from(move |loaded| {
                if let Some(loaded) = loaded {
                    list.dispatch(LiveAction::Loaded(loaded));
                }
            }),
        );
    }
    {
        let list = list.dispatcher();
        use_realtime_event(move |event| list.dispatch(LiveAction::Event(event.clone())));
    }
    let body = match (&session.session, &list.value) {
        (Session::SignedOut, _) => html! { <SignInPrompt /> },
        (_, None) => html! { <Skeleton /> },
        (_, Some(Err(failure))) => {
            html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> }
        }
        (_, Some(Ok(photos))) if photos.is_empty() => {
            html! { <div class="card muted">{ i18n.t(Text::EmptyFavorites) }</div> }
        }
        (_, Some(Ok(photos))) => html! {
            <div class="photo-grid" data-testid="photo-grid">
                { for photos.iter().map(|photo| html! { <PhotoCard key={photo.id} photo={photo.clone()} /> }) }
            </div>
        },
    };
    html! {
        <section class="page" data-page="favorites">
            <PageIntro title={Text::FavoritesTitle} lead={Text::FavoritesLead} />
            { body }
        </section>
    }
}
