//! My collection: the objects I own. Photos I upload elsewhere (another tab, the phone)
//! appear at the top as they arrive.

use yew::{Html, function_component, html};

use crate::{
    api::photos::FeedQuery,
    components::{NewPhotos, PageIntro, PhotoGrid, SignInPrompt, Skeleton},
    i18n::Text,
    session::{Session, use_session},
};

#[function_component(Collection)]
pub fn collection() -> Html {
    let session = use_session();
    let body = match &session.session {
        Session::Loading => html! { <Skeleton /> },
        Session::SignedOut => html! { <SignInPrompt /> },
        Session::SignedIn(signed_in) => html! {
            <PhotoGrid query={FeedQuery { owner: Some(signed_in.user.id), ..FeedQuery::default() }} empty={Text::EmptyCollection} new_photos={NewPhotos::Insert} />
        },
    };
    html! {
        <section class="page" data-page="collection">
            <PageIntro title={Text::CollectionTitle} lead={Text::CollectionLead} />
            { body }
        </section>
    }
}
