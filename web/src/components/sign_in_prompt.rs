//! What a signed-out visitor sees on a page that needs an account.

use yew::{Html, function_component, html};
use yew_router::prelude::Link;

use crate::{
    i18n::{Text, use_i18n},
    route::Route,
};

#[function_component(SignInPrompt)]
pub fn sign_in_prompt() -> Html {
    let i18n = use_i18n();
    html! {
        <div class="card" data-testid="sign-in-prompt">
            <p>{ i18n.t(Text::SignInToSee) }</p>
            <Link<Route> to={Route::SignIn}>{ i18n.t(Text::NavSignIn) }</Link<Route>>
        </div>
    }
}
