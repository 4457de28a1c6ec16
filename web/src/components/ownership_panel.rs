//! What a photo's page offers about its ownership: to its owner, giving it away or handing
//! it over by a QR code; to anyone else signed in, proposing a trade.

use gallery_types::{ClaimLink, CreateClaimLinkRequest, GiftRequest, Photo, UserSummary};
use web_sys::HtmlInputElement;
use yew::{
    Html, InputEvent, Properties, TargetCast, function_component, html, use_effect_with, use_state,
};
use yew_router::prelude::Navigator;

use crate::{
    i18n::{I18n, Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    pages::TradeQuery,
    route::Route,
    session::use_api,
};

use super::PersonPicker;

/// The ownership part of `photo`'s page for `viewer` (the signed-in user, if any).
pub fn ownership_panel(
    i18n: &I18n,
    navigator: Option<Navigator>,
    photo: &Photo,
    viewer: Option<i64>,
) -> Html {
    match viewer {
        Some(viewer) if viewer == photo.owner.id => html! {
            <>
                <GiveForm key={photo.object_id} object_id={photo.object_id} />
                <HandOver key={photo.object_id} object_id={photo.object_id} />
            </>
        },
        Some(_) => {
            let query = TradeQuery {
                to: Some(photo.owner.id),
                ask: Some(photo.object_id),
            };
            let propose = move |_| {
                if let Some(navigator) = &navigator {
                    // Only fails for a query that does not serialize; ours always does.
                    let _ = navigator.push_with_query(&Route::Trades, &query);
                }
            };
            html! {
                <div class="card actions">
                    <button type="button" class="primary" onclick={propose} data-testid="propose-trade">
                        { i18n.t(Text::ProposeTrade) }
                    </button>
                </div>
            }
        }
        None => html! {},
    }
}

#[derive(Debug, PartialEq, Properties)]
struct ObjectProps {
    object_id: i64,
}

/// Giving the object to somebody, picked by name.
#[function_component(GiveForm)]
fn give_form(props: &ObjectProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let recipient = use_state(|| None::<UserSummary>);
    let message = use_state(String::new);
    let outcome = use_state(|| None::<Result<(), Text>>);
    let on_pick = {
        let recipient = recipient.clone();
        yew::Callback::from(move |person: UserSummary| recipient.set(Some(person)))
    };
    let on_message = {
        let message = message.clone();
        move |event: InputEvent| {
            message.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    let on_give = {
        let (api, recipient, message, outcome, object_id) = (
            api.clone(),
            recipient.clone(),
            message.clone(),
            outcome.clone(),
            props.object_id,
        );
        move |_| {
            let Some(to) = (*recipient).clone() else {
                return;
            };
            let gift = GiftRequest {
                object_id,
                to_user_id: to.id,
                message: Some((*message).clone())
                    .filter(|message| !message.trim().is_empty())
                    .map(Into::into),
            };
            let (api, outcome) = (api.clone(), outcome.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.give(&gift).await {
                    Ok(_) => {
                        max_bridge::haptic(Haptic::Success);
                        outcome.set(Some(Ok(())));
                    }
                    Err(failure) => {
                        max_bridge::haptic(Haptic::Error);
                        outcome.set(Some(Err(failure_text(&failure))));
                    }
                }
            });
        }
    };
    html! {
        <div class="card" data-testid="give-form">
            <h3>{ i18n.t(Text::GiveTitle) }</h3>
            if let Some(Ok(())) = *outcome {
                <p class="ok" role="status">{ i18n.t(Text::Gifted) }</p>
            } else if let Some(to) = &*recipient {
                <p>{ format!("{} {}", i18n.t(Text::GiveTo), to.display_name) }</p>
                <label>
                    { i18n.t(Text::GiftMessage) }
                    <input type="text" value={(*message).clone()} oninput={on_message} maxlength="500" />
                </label>
                <div class="actions">
                    <button type="button" class="primary" onclick={on_give} data-testid="give">{ i18n.t(Text::GiveTitle) }</button>
                    <button type="button" onclick={let recipient = recipient.clone(); move |_| recipient.set(None)}>{ i18n.t(Text::Cancel) }</button>
                </div>
            } else {
                <PersonPicker {on_pick} />
            }
            if let Some(Err(text)) = *outcome {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
        </div>
    }
}

/// A claim link for the object, shown as a QR code and shareable.
#[function_component(HandOver)]
fn hand_over(props: &ObjectProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let link = use_state(|| None::<ClaimLink>);
    let error = use_state(|| None::<Text>);
    let copied = use_state(|| false);
    // The screen is at its brightest while a code is shown (inside Max), so that another
    // phone's camera reads it at once.
    use_effect_with(link.is_some(), |shown| {
        if *shown {
            max_bridge::request_max_brightness();
        }
        let shown = *shown;
        move || {
            if shown {
                max_bridge::restore_brightness();
            }
        }
    });
    let on_create = {
        let (api, link, error, object_id) =
            (api.clone(), link.clone(), error.clone(), props.object_id);
        move |_| {
            let (api, link, error) = (api.clone(), link.clone(), error.clone());
            let request = CreateClaimLinkRequest {
                object_id,
                expires_in_minutes: None,
            };
            wasm_bindgen_futures::spawn_local(async move {
                match api.create_claim_link(&request).await {
                    Ok(created) => {
                        error.set(None);
                        link.set(Some(created));
                    }
                    Err(failure) => error.set(Some(failure_text(&failure))),
                }
            });
        }
    };
    let body = match &*link {
        None => html! {
            <>
                <p class="muted">{ i18n.t(Text::HandOverLead) }</p>
                <button type="button" class="primary" onclick={on_create} data-testid="make-claim-link">{ i18n.t(Text::MakeClaimLink) }</button>
            </>
        },
        Some(created) => {
            let qr = format!(
                "/api/qr-code?url={}",
                js_sys::encode_uri_component(&created.deep_link)
            );
            let on_share = {
                let (url, title, copied) = (
                    created.deep_link.clone(),
                    created.title.clone(),
                    copied.clone(),
                );
                move |_| {
                    // Started by the click itself: sharing needs the person's gesture.
                    let shared = max_bridge::share(&url, &title);
                    let copied = copied.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        copied.set(shared.await);
                    });
                }
            };
            let on_revoke = {
                let (api, link, error, id) = (api.clone(), link.clone(), error.clone(), created.id);
                move |_| {
                    let (api, link, error) = (api.clone(), link.clone(), error.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match api.revoke_claim_link(id).await {
                            Ok(()) => link.set(None),
                            Err(failure) => error.set(Some(failure_text(&failure))),
                        }
                    });
                }
            };
            html! {
                <div class="claim-link" data-testid="claim-link">
                    <img class="qr-image" src={qr} alt={i18n.t(Text::HandOverTitle)} width="256" height="256" data-testid="claim-qr" />
                    <p class="muted small">
                        { i18n.t(Text::LinkExpires) }{ ": " }{ crate::i18n::moment(created.expires_at) }
                    </p>
                    <input type="text" readonly=true value={created.deep_link.clone()} data-testid="claim-url" />
                    <div class="actions">
                        <button type="button" class="primary" onclick={on_share} data-testid="share-link">{ i18n.t(Text::ShareLink) }</button>
                        <button type="button" onclick={on_revoke} data-testid="revoke-link">{ i18n.t(Text::RevokeLink) }</button>
                    </div>
                    if *copied {
                        <p class="ok" role="status">{ i18n.t(Text::Shared) }</p>
                    }
                </div>
            }
        }
    };
    html! {
        <div class="card" data-testid="hand-over">
            <h3>{ i18n.t(Text::HandOverTitle) }</h3>
            { body }
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
        </div>
    }
}
