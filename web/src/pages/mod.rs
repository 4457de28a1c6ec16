//! One component per route, each in its own file.

mod approve;
mod claim;
mod collection;
mod favorites;
mod gallery;
mod photo;
mod profile;
mod provenance;
mod requests;
mod scanner;
mod search;
mod settings;
mod sign_in;
mod trades;
mod upload;

pub use approve::Approve;
pub use claim::Claim;
pub use collection::Collection;
pub use favorites::Favorites;
pub use gallery::Gallery;
pub use photo::PhotoPage as Photo;
pub use profile::Profile;
pub use provenance::Provenance;
pub use requests::ProfileRequests;
pub use scanner::Scanner;
pub use search::Search;
pub use settings::Settings;
pub use sign_in::SignIn;
pub use trades::{TradeQuery, Trades};
pub use upload::Upload;

use yew::{Html, function_component, html};
use yew_router::prelude::Link;

use crate::{
    components::PageIntro,
    i18n::{Text, use_i18n},
    route::Route,
};

#[function_component(NotFound)]
pub fn not_found() -> Html {
    let i18n = use_i18n();
    html! {
        <section class="page" data-page="not-found">
            <PageIntro title={Text::NotFoundTitle} lead={Text::NotFoundLead} />
            <Link<Route> to={Route::Gallery}>{ i18n.t(Text::BackToGallery) }</Link<Route>>
        </section>
    }
}

/// Renders the page for a route.
pub fn switch(route: Route) -> Html {
    match route {
        Route::Gallery => html! { <Gallery /> },
        Route::Photo { id } => html! { <Photo {id} /> },
        Route::Provenance { id } => html! { <Provenance {id} /> },
        Route::Upload => html! { <Upload /> },
        Route::Collection => html! { <Collection /> },
        Route::Favorites => html! { <Favorites /> },
        Route::Trades => html! { <Trades /> },
        Route::Profile { user } => html! { <Profile {user} /> },
        Route::ProfileRequests => html! { <ProfileRequests /> },
        Route::Search => html! { <Search /> },
        Route::Settings => html! { <Settings /> },
        Route::SignIn => html! { <SignIn /> },
        Route::Scanner => html! { <Scanner /> },
        Route::Approve { id } => html! { <Approve {id} /> },
        Route::Claim { token } => html! { <Claim {token} /> },
        Route::NotFound => html! { <NotFound /> },
    }
}
