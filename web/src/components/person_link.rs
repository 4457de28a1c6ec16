//! A person's name, linking to their profile.

use gallery_types::UserSummary;
use yew::{Html, html};
use yew_router::prelude::Link;

use crate::route::Route;

/// `user`'s name as a link to their profile (a plain function, not a component: it holds no
/// state, and every component costs the web client's download).
pub fn person_link(user: &UserSummary) -> Html {
    html! {
        <Link<Route> to={Route::profile_of(user)} classes="person-link">
            { &user.display_name }
        </Link<Route>>
    }
}
