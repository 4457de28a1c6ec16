//! A list of profile requests with what each side may do to them: the owner approves,
//! rejects and revokes, the requester withdraws. Read again whenever a request changes.

use gallery_types::{Event, ProfileRequest, ProfileRequestBox, ProfileRequestState};
use yew::{Callback, Html, MouseEvent, Properties, function_component, html, use_state};

use super::person_link;
use crate::{
    api::{ApiFailure, profiles::RequestAction},
    components::Skeleton,
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    realtime::{use_realtime, use_realtime_event},
    session::use_api,
};

#[derive(Debug, PartialEq, Properties)]
pub struct RequestListProps {
    pub box_: ProfileRequestBox,
    /// Only requests in this state.
    #[prop_or_default]
    pub state: Option<ProfileRequestState>,
    /// Shown when there are none.
    pub empty: Text,
}

#[function_component(RequestList)]
pub fn request_list(props: &RequestListProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let requests = use_state(|| None::<Result<Vec<ProfileRequest>, ApiFailure>>);
    // Bumped by every request event and action: the list is read again.
    let changes = use_state(|| 0u32);
    {
        let requests = requests.clone();
        use_load(
            (
                props.box_,
                props.state,
                api.clone(),
                *changes,
                realtime.reload_generation,
            ),
            |(box_, state, api, _, _)| {
                let (box_, state, api) = (*box_, *state, api.clone());
                async move {
                    api.profile_requests(box_, state)
                        .await
                        .map(|page| page.items)
                }
            },
            Callback::from(move |answer| requests.set(Some(answer))),
        );
    }
    let on_changed = {
        let changes = changes.clone();
        Callback::from(move |()| changes.set(*changes + 1))
    };
    {
        let on_changed = on_changed.clone();
        use_realtime_event(move |event| {
            if matches!(event, Event::ProfileRequestChanged(_)) {
                on_changed.emit(());
            }
        });
    }
    // One action at a time; its failure is shown on the request it was about.
    let busy = use_state(|| false);
    let error = use_state(|| None::<(i64, Text)>);
    let act = |id: i64, action: RequestAction| {
        let (api, busy, error, on_changed) =
            (api.clone(), busy.clone(), error.clone(), on_changed.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, busy, error, on_changed) =
                (api.clone(), busy.clone(), error.clone(), on_changed.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = api.act_on_profile_request(id, action).await;
                busy.set(false);
                match answer {
                    Ok(_) => {
                        max_bridge::haptic(Haptic::Success);
                        error.set(None);
                        on_changed.emit(());
                    }
                    Err(failure) => {
                        max_bridge::haptic(Haptic::Error);
                        error.set(Some((id, failure_text(&failure))));
                    }
                }
            });
        })
    };
    let incoming = props.box_ == ProfileRequestBox::Incoming;
    let card = |request: &ProfileRequest| {
        let (label, other) = if incoming {
            (Text::RequestFrom, &request.requester)
        } else {
            (Text::RequestTo, &request.owner)
        };
        let button = |action: RequestAction,
                      text: Text,
                      class: &'static str,
                      test_id: &'static str| {
            html! {
                <button type="button" class={class} disabled={*busy} onclick={act(request.id, action)} data-testid={test_id}>
                    { i18n.t(text) }
                </button>
            }
        };
        let actions = match (incoming, request.state) {
            (true, ProfileRequestState::Pending) => html! {
                <>
                    { button(RequestAction::Approve, Text::Approve, "primary", "approve-request") }
                    { button(RequestAction::Reject, Text::Reject, "", "reject-request") }
                </>
            },
            (true, ProfileRequestState::Approved) => button(
                RequestAction::Revoke,
                Text::RevokeAccess,
                "danger",
                "revoke-access",
            ),
            (false, ProfileRequestState::Pending) => button(
                RequestAction::Withdraw,
                Text::Withdraw,
                "",
                "withdraw-request",
            ),
            _ => Html::default(),
        };
        let failed = (*error).filter(|(id, _)| *id == request.id);
        html! {
            <li key={request.id} class="card request" data-testid="profile-request" data-request-id={request.id.to_string()} data-state={request.state.as_str()}>
                <p>
                    <strong>{ i18n.t(label) }{ " " }{ person_link(other) }</strong>
                    { " " }<span class="badge">{ i18n.t(state_text(request.state)) }</span>
                </p>
                if !request.message.is_empty() {
                    <p class="muted">{ format!("“{}”", request.message) }</p>
                }
                <p class="muted small">{ crate::i18n::moment(request.created_at) }</p>
                <div class="actions">{ actions }</div>
                if let Some((_, text)) = failed {
                    <p class="error" role="alert">{ i18n.t(text) }</p>
                }
            </li>
        }
    };
    match &*requests {
        None => html! { <Skeleton /> },
        Some(Err(failure)) => {
            html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> }
        }
        Some(Ok(requests)) if requests.is_empty() => {
            html! { <p class="muted" data-testid="no-requests">{ i18n.t(props.empty) }</p> }
        }
        Some(Ok(requests)) => html! {
            <ul class="requests">{ for requests.iter().map(card) }</ul>
        },
    }
}

/// How a request's state reads.
pub fn state_text(state: ProfileRequestState) -> Text {
    match state {
        ProfileRequestState::Pending => Text::RequestPending,
        ProfileRequestState::Approved => Text::RequestApproved,
        ProfileRequestState::Rejected => Text::RequestRejected,
        ProfileRequestState::Withdrawn => Text::RequestWithdrawn,
        ProfileRequestState::Revoked => Text::RequestRevoked,
    }
}
