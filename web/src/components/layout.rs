//! The frame of every page: top bar, navigation (tab bar on phones, top bar on desktop),
//! the page itself and the status line.

use gallery_types::UpdateMeRequest;
use yew::{Html, Properties, classes, function_component, html};
use yew_router::{hooks::use_route, prelude::Link};

use crate::{
    components::StatusLine,
    i18n::{LANGUAGES, Text, use_i18n},
    route::Route,
    session::{Session, use_api, use_session},
};

/// The five sections a phone's tab bar shows, with their icons.
const TABS: [(Route, Text, &str); 5] = [
    (Route::Gallery, Text::NavGallery, "▦"),
    (Route::Search, Text::NavSearch, "⌕"),
    (Route::Upload, Text::NavUpload, "+"),
    (Route::Trades, Text::NavTrades, "⇄"),
    (Route::Collection, Text::NavCollection, "◈"),
];

/// The sections that phones reach from the strip under the top bar.
const MORE: [(Route, Text); 4] = [
    (Route::Favorites, Text::NavFavorites),
    (Route::ProfileRequests, Text::NavRequests),
    (Route::Scanner, Text::NavScan),
    (Route::Settings, Text::NavSettings),
];

#[derive(Debug, PartialEq, Properties)]
pub struct LayoutProps {
    pub children: Html,
}

#[function_component(Layout)]
pub fn layout(props: &LayoutProps) -> Html {
    let i18n = use_i18n();
    let current = use_route::<Route>();
    let active = |route: &Route| (current.as_ref() == Some(route)).then_some("active");

    let all_sections = TABS
        .iter()
        .map(|(route, text, _)| (route.clone(), *text))
        .chain(MORE.iter().cloned());

    html! {
        <div class="app">
            <header class="topbar">
                <Link<Route> to={Route::Gallery} classes="brand">{ i18n.t(Text::AppName) }</Link<Route>>
                <nav class="mainnav" aria-label={i18n.t(Text::AppName)}>
                    { for all_sections.map(|(route, text)| html! {
                        <Link<Route> to={route.clone()} classes={classes!(active(&route))}>{ i18n.t(text) }</Link<Route>>
                    }) }
                </nav>
                <span class="spacer" />
                <Account />
                <LangSwitch />
            </header>
            <nav class="subnav">
                { for MORE.iter().map(|(route, text)| html! {
                    <Link<Route> to={route.clone()} classes={classes!(active(route))}>{ i18n.t(*text) }</Link<Route>>
                }) }
            </nav>
            <main><MaxSignInFailed />{ props.children.clone() }</main>
            <StatusLine />
            <nav class="tabbar">
                { for TABS.iter().map(|(route, text, icon)| html! {
                    <Link<Route> to={route.clone()} classes={classes!(active(route))}>
                        <span class="icon" aria-hidden="true">{ *icon }</span>
                        <span>{ i18n.t(*text) }</span>
                    </Link<Route>>
                }) }
            </nav>
        </div>
    }
}

/// Why opening the app in Max did not sign the person in, while nothing else has.
#[function_component(MaxSignInFailed)]
fn max_sign_in_failed() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    match (&session.session, session.max_sign_in_failure) {
        (Session::SignedOut, Some(failure)) => html! {
            <p class="error notice" role="alert" data-testid="max-sign-in-failed">{ i18n.t(failure) }</p>
        },
        _ => html! {},
    }
}

/// The signed-in user's name (to settings), or the way to sign in.
#[function_component(Account)]
fn account() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    match &session.session {
        Session::Loading => html! {},
        Session::SignedIn(signed_in) => html! {
            <Link<Route> to={Route::Settings} classes="account" >
                <span data-testid="account-name">{ &signed_in.user.display_name }</span>
            </Link<Route>>
        },
        Session::SignedOut => html! {
            <Link<Route> to={Route::SignIn} classes="account">{ i18n.t(Text::NavSignIn) }</Link<Route>>
        },
    }
}

/// Русский / English. A signed-in user's choice is their profile's language, kept for every
/// device they sign in on.
#[function_component(LangSwitch)]
fn lang_switch() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let api = use_api();
    html! {
        <div class="lang-switch" role="group" aria-label={i18n.t(Text::LanguageSwitch)}>
            { for LANGUAGES.iter().map(|&lang| {
                let set_lang = {
                    let (set_lang, update_user, api) =
                        (i18n.set_lang.clone(), session.update_user.clone(), api.clone());
                    move |_| {
                        set_lang.emit(lang);
                        if api.signed_in() {
                            let (update_user, api) = (update_user.clone(), api.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                let change = UpdateMeRequest {
                                    language: Some(lang),
                                    ..UpdateMeRequest::default()
                                };
                                // Unsaved, the switch still holds for this visit.
                                if let Ok(me) = api.update_me(&change).await {
                                    update_user.emit(me);
                                }
                            });
                        }
                    }
                };
                html! {
                    <button
                        type="button"
                        data-lang={lang.code()}
                        aria-pressed={(i18n.lang == lang).to_string()}
                        onclick={set_lang}
                    >{ lang.code().to_ascii_uppercase() }</button>
                }
            }) }
        </div>
    }
}
