//! Sign-in: automatic inside Max; on a desktop, a QR code to scan with the phone, or handle
//! and password; in development mode, a demo account.

use std::{cell::Cell, rc::Rc};

use gallery_types::{DevSignInRequest, QrLoginCreated};
use qrcode::{QrCode, render::svg};
use web_sys::HtmlInputElement;
use yew::{
    AttrValue, Html, SubmitEvent, TargetCast, function_component, html, use_effect_with, use_state,
};
use yew_router::prelude::Link;

use crate::{
    api::{self, QrWait},
    components::PageIntro,
    i18n::{Text, failure_text, use_i18n},
    route::Route,
    session::{Session, use_session},
};

#[function_component(SignIn)]
pub fn sign_in() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let body = match &session.session {
        Session::Loading => html! { <p class="muted">{ i18n.t(Text::Loading) }</p> },
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

/// Shows a QR sign-in request and waits for its approval, starting a new one when it expires.
#[function_component(QrSignIn)]
fn qr_sign_in() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let request = use_state(|| None::<QrLoginCreated>);
    let expired_once = use_state(|| false);
    let error = use_state(|| None::<Text>);
    // Bumped to start over with a fresh request.
    let generation = use_state(|| 0u32);

    {
        let request = request.clone();
        let expired_once = expired_once.clone();
        let error = error.clone();
        let generation_handle = generation.clone();
        let adopt = session.adopt.clone();
        use_effect_with(*generation, move |_| {
            // Leaving the page stops the loop and aborts the request it is waiting on.
            let alive = Rc::new(Cell::new(true));
            let still_alive = alive.clone();
            let cancel = web_sys::AbortController::new().ok();
            let signal = cancel.as_ref().map(web_sys::AbortController::signal);
            wasm_bindgen_futures::spawn_local(async move {
                let Some(signal) = signal else { return };
                let created = match api::start_qr_sign_in().await {
                    Ok(created) => created,
                    Err(failure) => {
                        error.set(Some(failure_text(&failure)));
                        return;
                    }
                };
                request.set(Some(created.clone()));
                while still_alive.get() {
                    let waited =
                        api::wait_for_qr_sign_in(&created.id, &created.poll_secret, &signal).await;
                    if !still_alive.get() {
                        return;
                    }
                    match waited {
                        Ok(QrWait::SignedIn(tokens)) => {
                            adopt.emit(*tokens);
                            return;
                        }
                        Ok(QrWait::Pending) => continue,
                        Err(failure) if failure.status() == Some(410) => {
                            expired_once.set(true);
                            generation_handle.set(*generation_handle + 1);
                            return;
                        }
                        Err(failure) => {
                            error.set(Some(failure_text(&failure)));
                            return;
                        }
                    }
                }
            });
            move || {
                alive.set(false);
                if let Some(cancel) = cancel {
                    cancel.abort();
                }
            }
        });
    }

    let code = request.as_ref().map(|created| {
        let svg = QrCode::new(created.deep_link.as_bytes())
            .map(|code| {
                code.render::<svg::Color>()
                    .min_dimensions(220, 220)
                    .quiet_zone(true)
                    .build()
            })
            .unwrap_or_default();
        html! {
            <>
                <div class="qr" data-testid="qr-code">{ Html::from_html_unchecked(AttrValue::from(svg)) }</div>
                <a class="muted small" href={created.deep_link.clone()} data-testid="qr-link">{ i18n.t(Text::QrOpenLink) }</a>
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
            { code.unwrap_or_else(|| html! { <p class="muted">{ i18n.t(Text::Loading) }</p> }) }
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
                match api::sign_in_with_password(handle, password).await {
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
    {
        let enabled = enabled.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(options) = api::auth_options().await {
                    enabled.set(options.dev_login);
                }
            });
        });
    }
    if !*enabled {
        return html! {};
    }
    let onclick = {
        let adopt = session.adopt.clone();
        let error = error.clone();
        let language = i18n.lang;
        move |_| {
            let (adopt, error) = (adopt.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let request = DevSignInRequest {
                    user_id: 1,
                    first_name: "Demo".into(),
                    username: Some("demo".into()),
                    language: Some(gallery_types::Language::from_code(language.code())),
                };
                match api::sign_in_for_development(request).await {
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
