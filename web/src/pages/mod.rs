//! One component per route. Each page grows into its own file when its feature lands; until
//! then it introduces the section in the reader's language.

mod approve;
mod claim;
mod collection;
mod favorites;
mod gallery;
mod photo;
mod provenance;
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
pub use provenance::Provenance;
pub use scanner::Scanner;
pub use search::Search;
pub use settings::Settings;
pub use sign_in::SignIn;
pub use trades::{TradeQuery, Trades};
pub use upload::Upload;

use yew::{Html, Properties, function_component, html};
use yew_router::prelude::Link;

use crate::{
    components::PageIntro,
    i18n::{Text, use_i18n},
    route::Route,
};

#[derive(Debug, PartialEq, Properties)]
struct SectionProps {
    name: &'static str,
    title: Text,
    lead: Text,
}

/// A section whose feature has not landed yet: its purpose, and that it is coming.
#[function_component(Section)]
fn section(props: &SectionProps) -> Html {
    let i18n = use_i18n();
    html! {
        <section class="page" data-page={props.name}>
            <PageIntro title={props.title} lead={props.lead} />
            <div class="card">{ i18n.t(Text::ComingSoon) }</div>
        </section>
    }
}

#[derive(Debug, PartialEq, Properties)]
pub struct ProfileProps {
    pub handle: String,
}

#[function_component(Profile)]
pub fn profile(_props: &ProfileProps) -> Html {
    html! { <Section name="profile" title={Text::ProfileTitle} lead={Text::ProfileLead} /> }
}

#[function_component(ProfileRequests)]
pub fn profile_requests() -> Html {
    html! { <Section name="requests" title={Text::RequestsTitle} lead={Text::RequestsLead} /> }
}

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
        Route::Profile { handle } => html! { <Profile {handle} /> },
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
