//! The root component: language, session and realtime contexts, router and layout.

use yew::{Html, function_component, html, use_effect_with, use_state};
use yew_router::{
    BrowserRouter, Switch,
    hooks::{use_navigator, use_route},
};

use crate::{
    components::Layout,
    i18n::I18nProvider,
    max_bridge, pages,
    realtime::RealtimeProvider,
    route::Route,
    session::{SessionProvider, use_session},
};

#[function_component(App)]
pub fn app() -> Html {
    html! {
        <I18nProvider>
            <SessionProvider>
                <RealtimeProvider>
                    <BrowserRouter>
                        <DeepLinks />
                        <MaxBackButton />
                        <Layout>
                            <Switch<Route> render={pages::switch} />
                        </Layout>
                    </BrowserRouter>
                </RealtimeProvider>
            </SessionProvider>
        </I18nProvider>
    }
}

/// Opens the page a Max deep link (`?startapp=<payload>`) points to, once signed in.
#[function_component(DeepLinks)]
fn deep_links() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    use_effect_with(session.start_param.clone(), move |start_param| {
        if let (Some(param), Some(navigator)) = (start_param, navigator)
            && let Some(route) = Route::from_start_param(param)
        {
            navigator.push(&route);
        }
    });
    html! {}
}

/// Max's back button: shown on every page but the gallery, it goes back (or, on a page a
/// deep link opened, to the gallery). Nothing outside Max.
#[function_component(MaxBackButton)]
fn max_back_button() -> Html {
    let route = use_route::<Route>();
    let navigator = use_navigator();
    // The bridge script may arrive after the app starts.
    let bridge_ready = use_state(|| false);
    {
        let bridge_ready = bridge_ready.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                max_bridge::settled().await;
                if !max_bridge::inside_max() {
                    max_bridge::arrived_late().await;
                }
                if let Some(navigator) = navigator {
                    max_bridge::on_back_button(move || {
                        let has_history = web_sys::window()
                            .and_then(|window| window.history().ok())
                            .and_then(|history| history.length().ok())
                            .is_some_and(|length| length > 1);
                        if has_history {
                            navigator.back();
                        } else {
                            navigator.push(&Route::Gallery);
                        }
                    });
                }
                bridge_ready.set(true);
            });
        });
    }
    use_effect_with((route, *bridge_ready), |(route, _)| {
        max_bridge::show_back_button(!matches!(route, None | Some(Route::Gallery)));
    });
    html! {}
}
