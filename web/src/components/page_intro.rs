//! A page's heading and one-line description.

use yew::{Html, Properties, function_component, html};

use crate::i18n::{Text, use_i18n};

#[derive(Debug, PartialEq, Properties)]
pub struct PageIntroProps {
    pub title: Text,
    pub lead: Text,
}

#[function_component(PageIntro)]
pub fn page_intro(props: &PageIntroProps) -> Html {
    let i18n = use_i18n();
    html! {
        <>
            <h1>{ i18n.t(props.title) }</h1>
            <p class="lead">{ i18n.t(props.lead) }</p>
        </>
    }
}
