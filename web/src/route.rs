//! Every page of the app, as one routable enum.

use yew::{Html, html};
use yew_router::Routable;

use crate::pages;

/// The app's URL space. Paths are part of the product: QR codes and shared links point here.
#[derive(Debug, Clone, PartialEq, Eq, Routable)]
pub enum Route {
    #[at("/")]
    Gallery,
    #[at("/photos/:id")]
    Photo { id: String },
    #[at("/objects/:id")]
    Provenance { id: String },
    #[at("/upload")]
    Upload,
    #[at("/collection")]
    Collection,
    #[at("/favorites")]
    Favorites,
    #[at("/trades")]
    Trades,
    #[at("/users/:handle")]
    Profile { handle: String },
    #[at("/requests")]
    ProfileRequests,
    #[at("/search")]
    Search,
    #[at("/settings")]
    Settings,
    #[at("/login")]
    SignIn,
    #[at("/scan")]
    Scanner,
    /// Opened inside Max from a desktop's sign-in QR code (`startapp=login_<id>`).
    #[at("/approve/:id")]
    Approve { id: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// Renders the page for a route.
pub fn switch(route: Route) -> Html {
    match route {
        Route::Gallery => html! { <pages::Gallery /> },
        Route::Photo { id } => html! { <pages::Photo {id} /> },
        Route::Provenance { id } => html! { <pages::Provenance {id} /> },
        Route::Upload => html! { <pages::Upload /> },
        Route::Collection => html! { <pages::Collection /> },
        Route::Favorites => html! { <pages::Favorites /> },
        Route::Trades => html! { <pages::Trades /> },
        Route::Profile { handle } => html! { <pages::Profile {handle} /> },
        Route::ProfileRequests => html! { <pages::ProfileRequests /> },
        Route::Search => html! { <pages::Search /> },
        Route::Settings => html! { <pages::Settings /> },
        Route::SignIn => html! { <pages::SignIn /> },
        Route::Scanner => html! { <pages::Scanner /> },
        Route::Approve { id } => html! { <pages::Approve {id} /> },
        Route::NotFound => html! { <pages::NotFound /> },
    }
}
