//! A profile: who the person is, what they hold and made. A private one shows strangers only
//! the name and avatar, and lets them ask to see the rest; once the owner approves, the
//! collection appears without a reload (the socket tells this tab, which loads again).

use gallery_types::{
    CollectionTab, CreateProfileRequest, Event, Message, Profile as ProfileData, ProfileAccess,
    ProfileRequestState,
};
use web_sys::HtmlTextAreaElement;
use yew::{
    Callback, Html, InputEvent, Properties, TargetCast, UseStateHandle, function_component, html,
    use_state,
};

use crate::{
    api::{ApiFailure, photos::FeedQuery, profiles::RequestAction},
    components::{PhotoGrid, SignInPrompt, Skeleton},
    hooks::use_load,
    i18n::{I18n, Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    realtime::{use_realtime, use_realtime_event},
    session::use_api,
};

#[derive(Debug, PartialEq, Properties)]
pub struct ProfileProps {
    /// A handle, or an id.
    pub user: String,
}

#[function_component(Profile)]
pub fn profile(props: &ProfileProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let profile = use_state(|| None::<Result<ProfileData, ApiFailure>>);
    let tab = use_state(|| CollectionTab::Owned);
    // Bumped when a request about this profile changes: it is read again.
    let changes = use_state(|| 0u32);
    {
        let profile = profile.clone();
        use_load(
            (
                props.user.clone(),
                api.clone(),
                *changes,
                realtime.reload_generation,
            ),
            |(user, api, _, _)| {
                let (user, api) = (user.clone(), api.clone());
                async move { api.profile(&user).await }
            },
            Callback::from(move |answer| profile.set(Some(answer))),
        );
    }
    let refresh = {
        let changes = changes.clone();
        Callback::from(move |()| changes.set(*changes + 1))
    };
    {
        let (refresh, shown) = (
            refresh.clone(),
            profile
                .as_ref()
                .and_then(|loaded| loaded.as_ref().ok())
                .map(|profile| profile.id),
        );
        use_realtime_event(move |event| {
            if let Event::ProfileRequestChanged(changed) = event
                && Some(changed.request.owner.id) == shown
            {
                refresh.emit(());
            }
        });
    }
    // Until there is a name to head the page, the page says what it is.
    let untitled = |body: Html| {
        html! {
            <>
                <h1>{ i18n.t(Text::ProfileTitle) }</h1>
                { body }
            </>
        }
    };
    let body = match &*profile {
        None => untitled(html! { <Skeleton /> }),
        Some(Err(failure)) if failure.status() == Some(404) => untitled(
            html! { <div class="card" data-testid="user-not-found">{ i18n.t(Text::UserNotFound) }</div> },
        ),
        Some(Err(failure)) => {
            untitled(html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> })
        }
        Some(Ok(profile)) => html! {
            <>
                { header(&i18n, profile) }
                if profile.access.sees_collection() {
                    if profile.access == ProfileAccess::Granted {
                        <p class="ok" role="status" data-testid="access-granted">{ i18n.t(Text::AccessGranted) }</p>
                    }
                    { collection(&i18n, profile.id, &tab) }
                } else {
                    <Restricted profile={profile.clone()} on_changed={refresh} />
                }
            </>
        },
    };
    html! {
        <section class="page" data-page="profile">
            { body }
        </section>
    }
}

/// Avatar, name, handle, bio and counts (the last two only for those who may see them).
fn header(i18n: &I18n, profile: &ProfileData) -> Html {
    let initial = profile
        .display_name
        .chars()
        .next()
        .map(|first| first.to_uppercase().collect::<String>())
        .unwrap_or_default();
    html! {
        <header class="card profile-header" data-testid="profile-header">
            if let Some(url) = &profile.photo_url {
                <img class="avatar" src={url.clone()} alt="" width="72" height="72" referrerpolicy="no-referrer" />
            } else {
                <span class="avatar" aria-hidden="true">{ initial }</span>
            }
            <div>
                <h1 data-testid="profile-name">{ &profile.display_name }</h1>
                <p class="muted">
                    { profile.handle.as_ref().map(|handle| format!("@{handle}")).unwrap_or_default() }
                    if profile.is_private {
                        { " " }<span class="badge" data-testid="private-badge">{ i18n.t(Text::PrivateBadge) }</span>
                    }
                </p>
                if let Some(bio) = profile.bio.as_ref().filter(|bio| !bio.is_empty()) {
                    <p data-testid="profile-bio">{ bio }</p>
                }
                if let Some(counts) = &profile.counts {
                    <p class="counts" data-testid="profile-counts">
                        <span><strong>{ counts.owned }</strong>{ " " }{ i18n.t(Text::CountOwned) }</span>
                        <span><strong>{ counts.created }</strong>{ " " }{ i18n.t(Text::CountCreated) }</span>
                        <span><strong>{ counts.favorites_received }</strong>{ " " }{ i18n.t(Text::CountFavorites) }</span>
                    </p>
                }
                if profile.access == ProfileAccess::Own {
                    <p class="muted small">{ i18n.t(Text::OwnProfileNote) }</p>
                }
            </div>
        </header>
    }
}

/// The objects `owner` owns, or the photos they made, a tab each.
fn collection(i18n: &I18n, owner: i64, tab: &UseStateHandle<CollectionTab>) -> Html {
    let tab_button = |which: CollectionTab, label: Text, test_id: &'static str| {
        let selected = **tab == which;
        let tab = tab.clone();
        html! {
            <button type="button" role="tab" aria-selected={selected.to_string()} class={if selected { "primary" } else { "" }}
                onclick={move |_| tab.set(which)} data-testid={test_id}>
                { i18n.t(label) }
            </button>
        }
    };
    let query = match **tab {
        CollectionTab::Owned => FeedQuery {
            owner: Some(owner),
            ..FeedQuery::default()
        },
        CollectionTab::Created => FeedQuery {
            creator: Some(owner),
            ..FeedQuery::default()
        },
    };
    html! {
        <div data-testid="profile-collection">
            <div class="tabs" role="tablist">
                { tab_button(CollectionTab::Owned, Text::TabOwned, "tab-owned") }
                { tab_button(CollectionTab::Created, Text::TabCreated, "tab-created") }
            </div>
            <PhotoGrid {query} empty={Text::EmptyProfileCollection} />
        </div>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct RestrictedProps {
    profile: ProfileData,
    on_changed: Callback<()>,
}

/// A private profile seen without access: what the viewer's request stands at, and asking.
#[function_component(Restricted)]
fn restricted(props: &RestrictedProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let message = use_state(String::new);
    let error = use_state(|| None::<Text>);
    let busy = use_state(|| false);
    let profile = &props.profile;
    let pending = profile
        .request
        .as_ref()
        .filter(|request| request.state == ProfileRequestState::Pending);

    let on_ask = {
        let (api, message, error, busy, on_changed, owner_id) = (
            api.clone(),
            message.clone(),
            error.clone(),
            busy.clone(),
            props.on_changed.clone(),
            profile.id,
        );
        move |_| {
            let text = message.trim().to_owned();
            let request = CreateProfileRequest {
                owner_id,
                message: (!text.is_empty()).then(|| Message::from(text)),
            };
            let (api, message, error, busy, on_changed) = (
                api.clone(),
                message.clone(),
                error.clone(),
                busy.clone(),
                on_changed.clone(),
            );
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = api.ask_to_see(&request).await;
                busy.set(false);
                match answer {
                    Ok(_) => {
                        max_bridge::haptic(Haptic::Success);
                        message.set(String::new());
                        error.set(None);
                        on_changed.emit(());
                    }
                    Err(failure) => {
                        max_bridge::haptic(Haptic::Error);
                        error.set(Some(failure_text(&failure)));
                    }
                }
            });
        }
    };
    let on_withdraw = {
        let (api, error, busy, on_changed) = (
            api.clone(),
            error.clone(),
            busy.clone(),
            props.on_changed.clone(),
        );
        let id = pending.map(|request| request.id);
        move |_| {
            let Some(id) = id else { return };
            let (api, error, busy, on_changed) =
                (api.clone(), error.clone(), busy.clone(), on_changed.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = api
                    .act_on_profile_request(id, RequestAction::Withdraw)
                    .await;
                busy.set(false);
                match answer {
                    Ok(_) => on_changed.emit(()),
                    Err(failure) => error.set(Some(failure_text(&failure))),
                }
            });
        }
    };
    let on_message = {
        let message = message.clone();
        move |event: InputEvent| {
            message.set(event.target_unchecked_into::<HtmlTextAreaElement>().value())
        }
    };

    let last_answer = match profile.request.as_ref().map(|request| request.state) {
        Some(ProfileRequestState::Rejected) => Some(Text::RequestRejectedNote),
        Some(ProfileRequestState::Revoked) => Some(Text::RequestRevokedNote),
        _ => None,
    };
    let asking = if !api.signed_in() {
        html! { <SignInPrompt /> }
    } else if pending.is_some() {
        html! {
            <div class="actions">
                <p role="status" data-testid="request-pending">{ i18n.t(Text::RequestSent) }</p>
                <button type="button" disabled={*busy} onclick={on_withdraw} data-testid="withdraw-request">{ i18n.t(Text::Withdraw) }</button>
            </div>
        }
    } else if let Some(after) = profile.may_request_at {
        html! {
            <p class="muted" data-testid="request-cooling-off">
                { i18n.t(Text::RequestAgainAfter) }{ " " }{ crate::i18n::moment(after) }
            </p>
        }
    } else {
        html! {
            <div class="stack">
                <label>
                    { i18n.t(Text::RequestMessage) }
                    <textarea name="message" maxlength="500" rows="2" value={(*message).clone()} oninput={on_message} />
                </label>
                <div class="actions">
                    <button type="button" class="primary" disabled={*busy} onclick={on_ask} data-testid="request-access">{ i18n.t(Text::RequestAccess) }</button>
                </div>
            </div>
        }
    };
    html! {
        <div class="card" data-testid="profile-restricted">
            <h2>{ i18n.t(Text::ProfilePrivate) }</h2>
            <p class="muted">{ i18n.t(Text::ProfilePrivateLead) }</p>
            if let Some(text) = last_answer {
                <p class="muted">{ i18n.t(text) }</p>
            }
            { asking }
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
        </div>
    }
}
