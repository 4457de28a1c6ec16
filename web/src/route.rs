//! Every page of the app, as one routable enum.

use yew_router::Routable;

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
