//! Profile requests: incoming (to see my private profile: approve, reject, and later revoke)
//! and outgoing (mine to see others': withdraw while pending). Both follow changes live.

use gallery_types::ProfileRequestBox;
use yew::{Html, function_component, html, use_state};

use crate::{
    components::{PageIntro, RequestList, SignInPrompt, Skeleton},
    i18n::{Text, use_i18n},
    session::{Session, use_session},
};

#[function_component(ProfileRequests)]
pub fn profile_requests() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let tab = use_state(|| ProfileRequestBox::Incoming);
    let tab_button = |box_: ProfileRequestBox, label: Text, test_id: &'static str| {
        let selected = *tab == box_;
        let tab = tab.clone();
        html! {
            <button type="button" role="tab" aria-selected={selected.to_string()} class={if selected { "primary" } else { "" }}
                onclick={move |_| tab.set(box_)} data-testid={test_id}>
                { i18n.t(label) }
            </button>
        }
    };
    let body = match &session.session {
        Session::Loading => html! { <Skeleton /> },
        Session::SignedOut => html! { <SignInPrompt /> },
        Session::SignedIn(_) => html! {
            <>
                <div class="tabs" role="tablist">
                    { tab_button(ProfileRequestBox::Incoming, Text::RequestsIncoming, "tab-incoming") }
                    { tab_button(ProfileRequestBox::Outgoing, Text::RequestsOutgoing, "tab-outgoing") }
                </div>
                <RequestList box_={*tab} empty={Text::NoRequests} />
            </>
        },
    };
    html! {
        <section class="page" data-page="requests">
            <PageIntro title={Text::RequestsTitle} lead={Text::RequestsLead} />
            { body }
        </section>
    }
}
