//! Settings: profile (handle, name, bio, language, privacy), who may see a private profile
//! (with revoking), password, sessions (kept current when sessions end elsewhere), signing
//! out.

use gallery_types::{
    ChangePasswordRequest, Event, Language, Me, ProfileRequestBox, ProfileRequestState,
    RemovePasswordRequest, SessionInfo, UpdateMeRequest,
};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::{
    Callback, Html, InputEvent, Properties, SubmitEvent, TargetCast, function_component, html,
    use_state,
};

use crate::{
    components::{PageIntro, RequestList, SignInPrompt, Skeleton},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    max_bridge,
    realtime::{use_realtime, use_realtime_event},
    session::{Session, SignedIn, use_api, use_session},
};

#[function_component(Settings)]
pub fn settings() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let body = match &session.session {
        Session::Loading => html! { <Skeleton /> },
        Session::SignedOut => html! { <SignInPrompt /> },
        Session::SignedIn(signed_in) => html! {
            <div class="stack">
                <ProfileForm signed_in={(**signed_in).clone()} />
                <PasswordForm signed_in={(**signed_in).clone()} />
                if signed_in.user.is_private {
                    <section class="card" data-testid="access-list">
                        <h2>{ i18n.t(Text::AccessTitle) }</h2>
                        <p class="muted small">{ i18n.t(Text::AccessLead) }</p>
                        <RequestList box_={ProfileRequestBox::Incoming} state={Some(ProfileRequestState::Approved)} empty={Text::NoOneHasAccess} />
                    </section>
                }
                <Sessions />
                <SignOut has_password={signed_in.user.has_password} />
            </div>
        },
    };
    html! {
        <section class="page" data-page="settings">
            <PageIntro title={Text::SettingsTitle} lead={Text::SettingsLead} />
            { body }
        </section>
    }
}

#[derive(Debug, PartialEq, Properties)]
struct SignedInProps {
    signed_in: SignedIn,
}

/// The outcome line under a form.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Done(Text),
    Failed(Text),
}

fn outcome_line(i18n: &crate::i18n::I18n, outcome: Option<Outcome>) -> Html {
    match outcome {
        Some(Outcome::Done(text)) => html! { <p class="ok" role="status">{ i18n.t(text) }</p> },
        Some(Outcome::Failed(text)) => html! { <p class="error" role="alert">{ i18n.t(text) }</p> },
        None => html! {},
    }
}

fn text_input(state: &yew::UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |event: InputEvent| {
        state.set(event.target_unchecked_into::<HtmlInputElement>().value())
    })
}

#[function_component(ProfileForm)]
fn profile_form(props: &SignedInProps) -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let api = use_api();
    let user = &props.signed_in.user;
    let handle = use_state(|| user.handle.clone().unwrap_or_default());
    let display_name = use_state(|| user.display_name.clone());
    let bio = use_state(|| user.bio.clone());
    let language = use_state(|| user.language);
    let is_private = use_state(|| user.is_private);
    let outcome = use_state(|| None::<Outcome>);

    let onsubmit = {
        let change = UpdateMeRequest {
            handle: Some((*handle).trim().to_owned())
                .filter(|handle| !handle.is_empty())
                .map(Into::into),
            display_name: Some((*display_name).clone().into()),
            bio: Some((*bio).clone().into()),
            language: Some(*language),
            is_private: Some(*is_private),
        };
        let (outcome, update_user, set_lang) = (
            outcome.clone(),
            session.update_user.clone(),
            i18n.set_lang.clone(),
        );
        move |event: SubmitEvent| {
            event.prevent_default();
            let (api, change, outcome, update_user, set_lang) = (
                api.clone(),
                change.clone(),
                outcome.clone(),
                update_user.clone(),
                set_lang.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match api.update_me(&change).await {
                    Ok(me) => {
                        set_lang.emit(me.language);
                        update_user.emit(me);
                        outcome.set(Some(Outcome::Done(Text::Saved)));
                    }
                    Err(failure) => outcome.set(Some(Outcome::Failed(failure_text(&failure)))),
                }
            });
        }
    };
    let on_bio = {
        let bio = bio.clone();
        move |event: InputEvent| {
            bio.set(event.target_unchecked_into::<HtmlTextAreaElement>().value())
        }
    };
    let on_language = {
        let language = language.clone();
        move |event: yew::Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            language.set(Language::from_code(&value));
        }
    };
    let on_private = {
        let is_private = is_private.clone();
        move |event: yew::Event| {
            is_private.set(event.target_unchecked_into::<HtmlInputElement>().checked())
        }
    };
    html! {
        <form class="card form" {onsubmit} data-testid="profile-form">
            <h2>{ i18n.t(Text::ProfileSection) }</h2>
            <label>{ i18n.t(Text::Handle) }
                <input name="handle" autocomplete="username" value={(*handle).clone()} oninput={text_input(&handle)} />
            </label>
            <label>{ i18n.t(Text::DisplayName) }
                <input name="display_name" maxlength="64" value={(*display_name).clone()} oninput={text_input(&display_name)} />
            </label>
            <label>{ i18n.t(Text::Bio) }
                <textarea name="bio" maxlength="500" rows="3" value={(*bio).clone()} oninput={on_bio} />
            </label>
            <label>{ i18n.t(Text::Language) }
                <select name="language" onchange={on_language}>
                    <option value="ru" selected={*language == Language::Ru}>{ "Русский" }</option>
                    <option value="en" selected={*language == Language::En}>{ "English" }</option>
                </select>
            </label>
            <label class="check">
                <input type="checkbox" name="is_private" checked={*is_private} onchange={on_private} />
                { i18n.t(Text::PrivateProfile) }
            </label>
            { outcome_line(&i18n, *outcome) }
            <button type="submit" class="primary">{ i18n.t(Text::Save) }</button>
        </form>
    }
}

/// Setting, changing and removing the password. The server wants proof that the person asks:
/// inside Max the mini-app's initData (fresh when it opened), elsewhere the current password.
/// A first password can only be set inside Max.
#[function_component(PasswordForm)]
fn password_form(props: &SignedInProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let current = use_state(String::new);
    let new = use_state(String::new);
    let outcome = use_state(|| None::<Outcome>);
    let has_password = props.signed_in.user.has_password;
    let init_data = max_bridge::init_data().map(gallery_types::Text::from);
    let ask_current = has_password && init_data.is_none();

    if !has_password && init_data.is_none() {
        return html! {
            <div class="card" data-testid="password-settings">
                <h2>{ i18n.t(Text::PasswordSection) }</h2>
                <p class="muted">{ i18n.t(Text::PasswordFromMax) }</p>
            </div>
        };
    }

    let onsubmit = {
        let change = ChangePasswordRequest {
            current_password: Some((*current).clone().into()).filter(|_| ask_current),
            init_data: init_data.clone(),
            new_password: (*new).clone().into(),
        };
        let (api, outcome, current, new) =
            (api.clone(), outcome.clone(), current.clone(), new.clone());
        let (update_user, user) = (session.update_user.clone(), props.signed_in.user.clone());
        move |event: SubmitEvent| {
            event.prevent_default();
            let (api, change, outcome, current, new) = (
                api.clone(),
                change.clone(),
                outcome.clone(),
                current.clone(),
                new.clone(),
            );
            let (update_user, user) = (update_user.clone(), user.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.set_password(&change).await {
                    Ok(()) => {
                        current.set(String::new());
                        new.set(String::new());
                        outcome.set(Some(Outcome::Done(Text::PasswordSaved)));
                        update_user.emit(Me {
                            has_password: true,
                            ..user
                        });
                    }
                    Err(failure) => outcome.set(Some(Outcome::Failed(failure_text(&failure)))),
                }
            });
        }
    };
    let on_remove = {
        let proof = RemovePasswordRequest {
            current_password: Some((*current).clone().into()).filter(|_| ask_current),
            init_data,
        };
        let (outcome, update_user, user) = (
            outcome.clone(),
            session.update_user.clone(),
            props.signed_in.user.clone(),
        );
        move |_| {
            let (api, proof, outcome) = (api.clone(), proof.clone(), outcome.clone());
            let (update_user, user) = (update_user.clone(), user.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.remove_password(&proof).await {
                    Ok(()) => {
                        outcome.set(Some(Outcome::Done(Text::PasswordRemoved)));
                        update_user.emit(Me {
                            has_password: false,
                            ..user
                        });
                    }
                    Err(failure) => outcome.set(Some(Outcome::Failed(failure_text(&failure)))),
                }
            });
        }
    };
    html! {
        <form class="card form" {onsubmit} data-testid="password-settings">
            <h2>{ i18n.t(Text::PasswordSection) }</h2>
            if ask_current {
                <label>{ i18n.t(Text::CurrentPassword) }
                    <input type="password" name="current_password" autocomplete="current-password" value={(*current).clone()} oninput={text_input(&current)} />
                </label>
            }
            <label>{ i18n.t(Text::NewPassword) }
                <input type="password" name="new_password" autocomplete="new-password" minlength="8" maxlength="128" value={(*new).clone()} oninput={text_input(&new)} />
            </label>
            { outcome_line(&i18n, *outcome) }
            <div class="actions">
                <button type="submit" class="primary">{ i18n.t(Text::SetPassword) }</button>
                if has_password {
                    <button type="button" onclick={on_remove} data-testid="remove-password">{ i18n.t(Text::RemovePassword) }</button>
                }
            </div>
        </form>
    }
}

#[function_component(Sessions)]
fn sessions() -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let list = use_state(Vec::<SessionInfo>::new);
    let reload = use_state(|| 0u32);
    {
        let (list, api) = (list.clone(), api.clone());
        use_load(
            (*reload, realtime.reload_generation),
            move |_| async move { api.sessions().await },
            Callback::from(move |sessions| {
                if let Ok(sessions) = sessions {
                    list.set(sessions);
                }
            }),
        );
    }
    // Sessions ended elsewhere (another device signed out, or was signed out from there).
    // When this session is among them the tab is being signed out: its token no longer works.
    {
        let (reload, list) = (reload.clone(), list.clone());
        use_realtime_event(move |event| {
            if let Event::SessionsRevoked(revoked) = event {
                let this_one_ended = list
                    .iter()
                    .any(|session| session.current && revoked.session_ids.contains(&session.id));
                if !this_one_ended {
                    reload.set(*reload + 1);
                }
            }
        });
    }
    html! {
        <div class="card" data-testid="sessions">
            <h2>{ i18n.t(Text::SessionsSection) }</h2>
            <ul class="sessions">
                { for list.iter().map(|session| {
                    let end = {
                        let (api, id, reload) = (api.clone(), session.id.to_string(), reload.clone());
                        move |_| {
                            let (api, id, reload) = (api.clone(), id.clone(), reload.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                let _ = api.end_session(&id).await;
                                reload.set(*reload + 1);
                            });
                        }
                    };
                    html! {
                        <li>
                            <div>
                                <strong>{ &session.device }</strong>
                                if session.current {
                                    <span class="badge">{ i18n.t(Text::ThisDevice) }</span>
                                }
                                <div class="muted small">
                                    { session.ip.clone().unwrap_or_default() }{" · "}
                                    { i18n.t(Text::LastActive) }{": "}{ crate::i18n::moment(session.last_used_at) }
                                </div>
                            </div>
                            if !session.current {
                                <button type="button" onclick={end}>{ i18n.t(Text::EndSession) }</button>
                            }
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SignOutProps {
    /// A password keeps opening the account after signing out everywhere: say so.
    has_password: bool,
}

#[function_component(SignOut)]
fn sign_out(props: &SignOutProps) -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let api = use_api();
    let sign_out = {
        let clear = session.clear.clone();
        move |_| {
            let clear = clear.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = crate::session::sign_out().await;
                clear.emit(());
            });
        }
    };
    let everywhere = {
        let (clear, api) = (session.clear.clone(), api.clone());
        move |_| {
            let (clear, api) = (clear.clone(), api.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = api.logout_everywhere().await;
                clear.emit(());
            });
        }
    };
    html! {
        <div class="card actions">
            <button type="button" onclick={sign_out} data-testid="sign-out">{ i18n.t(Text::SignOut) }</button>
            <button type="button" onclick={everywhere}>{ i18n.t(Text::SignOutEverywhere) }</button>
            if props.has_password {
                <p class="muted small" data-testid="password-remains">{ i18n.t(Text::PasswordRemains) }</p>
            }
        </div>
    }
}
