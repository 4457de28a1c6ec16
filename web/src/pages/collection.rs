//! My collection: the objects I own.

use yew::{Html, function_component, html};
use yew_router::prelude::Link;

use crate::{
    api::photos::FeedQuery,
    components::{PageIntro, PhotoGrid},
    i18n::{Text, use_i18n},
    route::Route,
    session::{Session, use_session},
};

#[function_component(Collection)]
pub fn collection() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let body = match &session.session {
        Session::Loading => html! { <p class="muted">{ i18n.t(Text::Loading) }</p> },
        Session::SignedOut => html! {
            <div class="card">
                <p>{ i18n.t(Text::SignInToSee) }</p>
                <Link<Route> to={Route::SignIn}>{ i18n.t(Text::NavSignIn) }</Link<Route>>
            </div>
        },
        Session::SignedIn(signed_in) => html! {
            <PhotoGrid query={FeedQuery { owner: Some(signed_in.user.id), ..FeedQuery::default() }} empty={Text::EmptyCollection} />
        },
    };
    html! {
        <section class="page" data-page="collection">
            <PageIntro title={Text::CollectionTitle} lead={Text::CollectionLead} />
            { body }
        </section>
    }
}
