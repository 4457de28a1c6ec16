//! A claim link opened (from its QR code, a chat, or the scanner): what it gives, and the
//! button that takes it.

use gallery_types::{ClaimPreview, Transfer};
use yew::{Callback, Html, Properties, function_component, html, use_state};
use yew_router::prelude::Link;

use crate::{
    api::ApiFailure,
    components::{PageIntro, Placeholder, SignInPrompt, Skeleton, person_link},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    route::Route,
    session::{Session, use_api, use_session},
};

#[derive(Debug, PartialEq, Properties)]
pub struct ClaimProps {
    pub token: String,
}

#[function_component(Claim)]
pub fn claim(props: &ClaimProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let preview = use_state(|| None::<Result<ClaimPreview, ApiFailure>>);
    let claimed = use_state(|| None::<Result<Transfer, ApiFailure>>);
    {
        let preview = preview.clone();
        use_load(
            (props.token.clone(), api.clone()),
            |(token, api)| {
                let (token, api) = (token.clone(), api.clone());
                async move { api.preview_claim(&token).await }
            },
            Callback::from(move |answer| preview.set(Some(answer))),
        );
    }
    let on_claim = {
        let (api, claimed, token) = (api.clone(), claimed.clone(), props.token.clone());
        move |_| {
            let (api, claimed, token) = (api.clone(), claimed.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = api.claim(&token).await;
                max_bridge::haptic(if outcome.is_ok() {
                    Haptic::Success
                } else {
                    Haptic::Error
                });
                claimed.set(Some(outcome));
            });
        }
    };
    let me = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.user.id);
    let body = match (&*preview, &*claimed) {
        (_, Some(Ok(transfer))) => html! {
            <div class="card" data-testid="claimed">
                <p class="ok" role="status">{ i18n.t(Text::Claimed) }</p>
                <Link<Route> to={Route::Photo { id: transfer.photo_id.to_string() }}>{ i18n.t(Text::OpenPhoto) }</Link<Route>>
            </div>
        },
        (None, _) => html! { <Skeleton /> },
        (Some(Err(failure)), _) => html! {
            <div class="card" data-testid="claim-unavailable">
                <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p>
            </div>
        },
        (Some(Ok(preview)), claimed) => {
            let photo = &preview.photo;
            let action = match &session.session {
                Session::Loading => html! {},
                Session::SignedOut => html! { <SignInPrompt /> },
                Session::SignedIn(_) if me == Some(photo.owner.id) => {
                    html! { <p class="muted" data-testid="own-link">{ i18n.t(Text::OwnClaimLink) }</p> }
                }
                Session::SignedIn(_) => html! {
                    <button type="button" class="primary" onclick={on_claim} data-testid="claim">{ i18n.t(Text::ClaimButton) }</button>
                },
            };
            html! {
                <div class="card claim-preview" data-testid="claim-preview">
                    <div class="claim-photo">
                        <Placeholder hash={photo.placeholder.clone()} />
                        <img src={photo.urls.thumbnail.clone()} alt={photo.title.clone()} />
                    </div>
                    <div>
                        <h2>{ if photo.title.is_empty() { "—".to_owned() } else { photo.title.clone() } }</h2>
                        <dl class="facts">
                            <dt>{ i18n.t(Text::Creator) }</dt><dd>{ person_link(&photo.creator) }</dd>
                            <dt>{ i18n.t(Text::Owner) }</dt><dd>{ person_link(&photo.owner) }</dd>
                            <dt>{ i18n.t(Text::LinkExpires) }</dt><dd>{ crate::i18n::moment(preview.expires_at) }</dd>
                        </dl>
                        { action }
                        if let Some(Err(failure)) = claimed {
                            <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p>
                        }
                    </div>
                </div>
            }
        }
    };
    html! {
        <section class="page" data-page="claim">
            <PageIntro title={Text::ClaimTitle} lead={Text::ClaimLead} />
            { body }
        </section>
    }
}
