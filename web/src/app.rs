//! The root component: language context, router and layout.

use yew::{Html, function_component, html};
use yew_router::{BrowserRouter, Switch};

use crate::{components::Layout, i18n::I18nProvider, route};

#[function_component(App)]
pub fn app() -> Html {
    html! {
        <I18nProvider>
            <BrowserRouter>
                <Layout>
                    <Switch<route::Route> render={route::switch} />
                </Layout>
            </BrowserRouter>
        </I18nProvider>
    }
}
