//! The mini-app's answer to a desktop QR sign-in: who is asking, and approve or decline.

use gallery_types::QrLoginRequestInfo;
use yew::{Callback, Html, Properties, function_component, html, use_state};
use yew_router::prelude::Link;

use crate::{
    components::{PageIntro, Skeleton},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    route::Route,
    session::{Session, use_api, use_session},
};

#[derive(Debug, PartialEq, Properties)]
pub struct ApproveProps {
    pub id: String,
}

/// Where the approval stands.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Loading,
    Asking(QrLoginRequestInfo),
    Approved,
    Declined,
    Failed(Text),
}

#[function_component(Approve)]
pub fn approve(props: &ApproveProps) -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let stage = use_state(|| Stage::Loading);
    let api = use_api();

    {
        let (stage, api) = (stage.clone(), api.clone());
        use_load(
            (props.id.clone(), api.signed_in()),
            move |(id, signed_in)| {
                let (id, signed_in) = (id.clone(), *signed_in);
                async move {
                    if signed_in {
                        Some(api.describe_qr_sign_in(&id).await)
                    } else {
                        None
                    }
                }
            },
            Callback::from(move |described| match described {
                Some(Ok(info)) => stage.set(Stage::Asking(info)),
                Some(Err(failure)) => stage.set(Stage::Failed(failure_text(&failure))),
                None => {}
            }),
        );
    }

    let body = match (&session.session, &*stage) {
        (Session::SignedOut, _) => {
            html! { <div class="card">{ i18n.t(Text::ApproveNeedsSignIn) }</div> }
        }
        (Session::Loading, _) | (Session::SignedIn(_), Stage::Loading) => {
            html! { <Skeleton /> }
        }
        (Session::SignedIn(_), Stage::Asking(info)) => {
            let pick = |number: u8| {
                let (stage, api, id) = (stage.clone(), api.clone(), props.id.clone());
                move |_| {
                    let (stage, api, id) = (stage.clone(), api.clone(), id.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        stage.set(match api.approve_qr_sign_in(&id, number).await {
                            Ok(()) => Stage::Approved,
                            Err(failure) => Stage::Failed(failure_text(&failure)),
                        });
                    });
                }
            };
            let on_decline = {
                let (stage, api, id) = (stage.clone(), api.clone(), props.id.clone());
                move |_| {
                    let (stage, api, id) = (stage.clone(), api.clone(), id.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        stage.set(match api.decline_qr_sign_in(&id).await {
                            Ok(()) => Stage::Declined,
                            Err(failure) => Stage::Failed(failure_text(&failure)),
                        });
                    });
                }
            };
            html! {
                <div class="card" data-testid="approve-request">
                    <p><strong>{ i18n.t(Text::ApproveQuestion) }</strong></p>
                    <p class="warning" role="note">{ i18n.t(Text::ApproveWarning) }</p>
                    <dl class="facts">
                        <dt>{ i18n.t(Text::ApproveDevice) }</dt><dd data-testid="approve-device">{ &info.device }</dd>
                        <dt>{ i18n.t(Text::ApproveAddress) }</dt><dd>{ info.ip.clone().unwrap_or_default() }</dd>
                    </dl>
                    <p>{ i18n.t(Text::ApprovePickNumber) }</p>
                    <div class="actions match-choices" data-testid="match-choices">
                        { for info.match_choices.iter().map(|&number| html! {
                            <button type="button" class="primary match-choice" onclick={pick(number)}>{ number }</button>
                        }) }
                    </div>
                    <div class="actions">
                        <button type="button" onclick={on_decline}>{ i18n.t(Text::Decline) }</button>
                    </div>
                </div>
            }
        }
        (Session::SignedIn(_), Stage::Approved) => {
            html! { <div class="card" data-testid="approve-done">{ i18n.t(Text::ApproveDone) }</div> }
        }
        (Session::SignedIn(_), Stage::Declined) => {
            html! { <div class="card">{ i18n.t(Text::ApproveDeclined) }</div> }
        }
        (Session::SignedIn(_), Stage::Failed(text)) => {
            html! { <div class="card error" role="alert">{ i18n.t(*text) }</div> }
        }
    };
    html! {
        <section class="page" data-page="approve">
            <PageIntro title={Text::ApproveTitle} lead={Text::ApproveLead} />
            { body }
            <p><Link<Route> to={Route::Gallery}>{ i18n.t(Text::BackToGallery) }</Link<Route>></p>
        </section>
    }
}
