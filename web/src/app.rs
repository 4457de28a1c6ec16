//! The root component: language, session and realtime contexts, router and layout.

use yew::{Html, function_component, html, use_effect_with};
use yew_router::{BrowserRouter, Switch, hooks::use_navigator};

use crate::{
    components::Layout,
    i18n::I18nProvider,
    pages,
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
