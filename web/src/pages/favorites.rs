//! My favorites.

use gallery_types::Photo;
use yew::{Html, function_component, html, use_effect_with, use_state};

use crate::{
    api::{ApiFailure, photos},
    components::{PageIntro, PhotoCard, SignInPrompt},
    i18n::{Text, failure_text, use_i18n},
    session::{Session, use_session},
};

#[function_component(Favorites)]
pub fn favorites() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let list = use_state(|| None::<Result<Vec<Photo>, ApiFailure>>);
    let token = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.access_token.clone());
    {
        let list = list.clone();
        let token = token.clone();
        use_effect_with(token.is_some(), move |signed_in| {
            if let (true, Some(token)) = (*signed_in, token) {
                wasm_bindgen_futures::spawn_local(async move {
                    list.set(Some(photos::my_favorites(&token).await));
                });
            }
        });
    }
    let body = match (&session.session, &*list) {
        (Session::SignedOut, _) => html! { <SignInPrompt /> },
        (_, None) => html! { <p class="muted">{ i18n.t(Text::Loading) }</p> },
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
