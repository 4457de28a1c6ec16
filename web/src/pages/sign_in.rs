//! Sign-in: automatic inside Max; on a desktop, a QR code to scan with the phone, or handle
//! and password; in development mode, a demo account.

use gallery_types::{
    ClientMessage, DevSignInRequest, QrLoginCreated, ServerMessage, TokenResponse,
};
use web_sys::HtmlInputElement;
use yew::{
    Callback, Html, SubmitEvent, TargetCast, function_component, html, use_effect_with,
    use_mut_ref, use_state,
};
use yew_router::prelude::Link;

use crate::{
    api::Api,
    components::{PageIntro, Skeleton},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    realtime::{ConnectionState, use_realtime, use_realtime_message},
    route::Route,
    session::{Session, use_api, use_session},
};

#[function_component(SignIn)]
pub fn sign_in() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let body = match &session.session {
        Session::Loading => html! { <Skeleton /> },
        Session::SignedIn(signed_in) => html! {
            <div class="card" data-testid="signed-in">
                <p>{ i18n.t(Text::SignedInAs) }{" "}<strong>{ &signed_in.user.display_name }</strong></p>
                <Link<Route> to={Route::Gallery}>{ i18n.t(Text::BackToGallery) }</Link<Route>>
            </div>
        },
        Session::SignedOut => html! {
            <div class="stack">
                <QrSignIn />
                <PasswordSignIn />
                <DevSignIn />
            </div>
        },
    };
    html! {
        <section class="page" data-page="sign-in">
            <PageIntro title={Text::SignInTitle} lead={Text::SignInLead} />
            { body }
        </section>
    }
}

/// Shows a QR sign-in request and waits for its approval on the tab's socket, starting a new
/// request when one expires.
#[function_component(QrSignIn)]
fn qr_sign_in() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let realtime = use_realtime();
    let request = use_state(|| None::<QrLoginCreated>);
    // The id of the request whose answer is awaited; cleared once it came, so that a second
    // answer (the request was watched on two connections) changes nothing.
    let awaited = use_mut_ref(|| None::<String>);
    let expired_once = use_state(|| false);
    let error = use_state(|| None::<Text>);
    // An approved request's tokens, held until the person confirms the account is theirs.
    let confirming = use_state(|| None::<TokenResponse>);
    // Bumped to start over with a fresh request.
    let generation = use_state(|| 0u32);

    {
        let (request, awaited, error) = (request.clone(), awaited.clone(), error.clone());
        // Leaving the page drops a request still being made.
        use_load(
            *generation,
            |_| async { Api::default().start_qr_sign_in().await },
            Callback::from(move |created: Result<QrLoginCreated, _>| match created {
                Ok(created) => {
                    *awaited.borrow_mut() = Some(created.id.clone());
                    request.set(Some(created));
                }
                Err(failure) => error.set(Some(failure_text(&failure))),
            }),
        );
    }

    // Ask the socket to deliver the approval; again on every new connection, which knows
    // nothing of what the previous one was asked.
    {
        let realtime = realtime.clone();
        let watch = request.as_ref().map(|created| ClientMessage::WatchQrLogin {
            id: created.id.clone(),
            poll_secret: created.poll_secret.clone(),
        });
        use_effect_with((watch, realtime.connections), move |(watch, _)| {
            if let Some(watch) = watch {
                // Not live yet: the next connection's Hello runs this again.
                realtime.send(watch);
            }
        });
    }

    {
        let (awaited, expired_once, generation, confirming) = (
            awaited.clone(),
            expired_once.clone(),
            generation.clone(),
            confirming.clone(),
        );
        use_realtime_message(move |message| {
            let answered = |id: &String| {
                let mut awaited = awaited.borrow_mut();
                let matches = awaited.as_ref() == Some(id);
                if matches {
                    *awaited = None;
                }
                matches
            };
            match message {
                ServerMessage::QrLoginSignedIn { id, tokens } if answered(id) => {
                    // Whose phone approved is shown first: someone who saw this screen's code
                    // could have approved it with their own account.
                    confirming.set(Some(tokens.clone()));
                }
                ServerMessage::QrLoginGone { id } if answered(id) => {
                    expired_once.set(true);
                    generation.set(*generation + 1);
                }
                _ => {}
            }
        });
    }

    if let Some(tokens) = (*confirming).clone() {
        let on_continue = {
            let (tokens, adopt, error) = (tokens.clone(), session.adopt.clone(), error.clone());
            move |_| {
                let (mut tokens, adopt, error) = (tokens.clone(), adopt.clone(), error.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    // Trade the refresh token for the httpOnly cookie at once, so that no
                    // refresh token stays in the page's memory.
                    let signed_in = match tokens.refresh_token.take() {
                        Some(refresh_token) => {
                            Api::default().refresh_into_cookie(refresh_token).await
                        }
                        None => Ok(tokens),
                    };
                    match signed_in {
                        Ok(tokens) => adopt.emit(tokens),
                        Err(failure) => error.set(Some(failure_text(&failure))),
                    }
                });
            }
        };
        let on_not_me = {
            let (tokens, confirming, generation) =
                (tokens.clone(), confirming.clone(), generation.clone());
            move |_| {
                if let Some(refresh_token) = tokens.refresh_token.clone() {
                    wasm_bindgen_futures::spawn_local(async move {
                        // Ends the session that was started here: it never was this person's.
                        let _ = Api::default().logout_token(refresh_token).await;
                    });
                }
                confirming.set(None);
                generation.set(*generation + 1);
            }
        };
        let handle = tokens
            .user
            .handle
            .as_ref()
            .map(|handle| format!(" @{handle}"));
        return html! {
            <div class="card" data-testid="qr-confirm">
                <h2>{ i18n.t(Text::QrTitle) }</h2>
                <p>{ i18n.t(Text::QrSignedInAs) }{" "}<strong data-testid="qr-confirm-name">{ &tokens.user.display_name }</strong>{ handle.unwrap_or_default() }</p>
                if let Some(text) = *error {
                    <p class="error" role="alert">{ i18n.t(text) }</p>
                }
                <div class="actions">
                    <button type="button" class="primary" onclick={on_continue}>{ i18n.t(Text::QrContinue) }</button>
                    <button type="button" onclick={on_not_me}>{ i18n.t(Text::QrNotMe) }</button>
                </div>
            </div>
        };
    }

    let code = request.as_ref().map(|created| {
        // Drawn by the server, like every share link's code.
        let qr = format!(
            "/api/qr-code?url={}",
            js_sys::encode_uri_component(&created.deep_link)
        );
        html! {
            <>
                <img class="qr-image" src={qr} alt={i18n.t(Text::QrTitle)} width="220" height="220" data-testid="qr-code" />
                <p class="match-code">{ i18n.t(Text::QrMatchHint) }{" "}<strong data-testid="qr-match-code">{ created.match_code }</strong></p>
                <a class="muted small" href={created.deep_link.clone()} onclick={crate::max_bridge::open_link_in_max(created.deep_link.clone())} data-testid="qr-link">{ i18n.t(Text::QrOpenLink) }</a>
            </>
        }
    });
    html! {
        <div class="card">
            <h2>{ i18n.t(Text::QrTitle) }</h2>
            <p class="muted">{ i18n.t(Text::QrHint) }</p>
            if *expired_once {
                <p class="muted small">{ i18n.t(Text::QrExpired) }</p>
            }
            { code.unwrap_or_else(|| html! { <Skeleton /> }) }
            // The approval arrives on the socket: say so while it is away.
            if request.is_some() && realtime.state != ConnectionState::Live {
                <p class="muted small" data-testid="qr-waiting">{ i18n.t(Text::RealtimeConnecting) }</p>
            }
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
        </div>
    }
}

#[function_component(PasswordSignIn)]
fn password_sign_in() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let handle = use_state(String::new);
    let password = use_state(String::new);
    let error = use_state(|| None::<Text>);
    let busy = use_state(|| false);

    let onsubmit = {
        let (handle, password, error, busy) = (
            handle.clone(),
            password.clone(),
            error.clone(),
            busy.clone(),
        );
        let adopt = session.adopt.clone();
        move |event: SubmitEvent| {
            event.prevent_default();
            let (handle, password, error, busy, adopt) = (
                (*handle).clone(),
                (*password).clone(),
                error.clone(),
                busy.clone(),
                adopt.clone(),
            );
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match Api::default().sign_in_with_password(handle, password).await {
                    Ok(tokens) => adopt.emit(tokens),
                    Err(failure) => error.set(Some(failure_text(&failure))),
                }
                busy.set(false);
            });
        }
    };
    let on_handle = {
        let handle = handle.clone();
        move |event: yew::InputEvent| {
            handle.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    let on_password = {
        let password = password.clone();
        move |event: yew::InputEvent| {
            password.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    html! {
        <form class="card form" {onsubmit} data-testid="password-form">
            <h2>{ i18n.t(Text::PasswordTitle) }</h2>
            <label>{ i18n.t(Text::Handle) }
                <input name="handle" autocomplete="username" required=true value={(*handle).clone()} oninput={on_handle} />
            </label>
            <label>{ i18n.t(Text::Password) }
                <input name="password" type="password" autocomplete="current-password" required=true value={(*password).clone()} oninput={on_password} />
            </label>
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
            <button type="submit" class="primary" disabled={*busy}>{ i18n.t(Text::SignInButton) }</button>
        </form>
    }
}

/// The demo account, offered only when the server runs with GALLERY_DEV_LOGIN=1.
#[function_component(DevSignIn)]
fn dev_sign_in() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let enabled = use_state(|| false);
    let error = use_state(|| None::<Text>);
    let api = use_api();
    {
        let (enabled, api) = (enabled.clone(), api.clone());
        use_load(
            (),
            move |_| async move { api.auth_options().await },
            Callback::from(move |options: Result<gallery_types::AuthOptions, _>| {
                if let Ok(options) = options {
                    enabled.set(options.dev_login);
                }
            }),
        );
    }
    if !*enabled {
        return html! {};
    }
    let onclick = {
        let adopt = session.adopt.clone();
        let error = error.clone();
        let language = i18n.lang;
        move |_| {
            let (adopt, error, api) = (adopt.clone(), error.clone(), api.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let request = DevSignInRequest {
                    user_id: 1,
                    first_name: "Demo".into(),
                    username: Some("demo".into()),
                    language: Some(language),
                };
                match api.sign_in_for_development(request).await {
                    Ok(tokens) => adopt.emit(tokens),
                    Err(failure) => error.set(Some(failure_text(&failure))),
                }
            });
        }
    };
    html! {
        <div class="card" data-testid="dev-sign-in">
            <h2>{ i18n.t(Text::DevTitle) }</h2>
            <p class="muted">{ i18n.t(Text::DevHint) }</p>
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
            <button type="button" class="primary" {onclick}>{ i18n.t(Text::DevButton) }</button>
        </div>
    }
}
