//! Who is signed in: a context with the access token and the user, and how it is gained,
//! kept fresh and lost.
//!
//! The access token lives only in memory. In a browser the refresh token is an httpOnly
//! cookie the server sets, so a reload signs the browser back in through
//! `POST /api/auth/refresh`. Inside Max (a frame where this site's cookies may not travel)
//! initData starts one session per launch, whose rotating refresh token the app keeps in
//! memory and in Max's storage: renewals refresh it, and the next launch resumes it.

use std::rc::Rc;

use gallery_types::{Me, TokenResponse};
use gloo_timers::callback::Timeout;
use yew::{
    Callback, ContextProvider, Html, Properties, function_component, hook, html, use_context,
    use_effect_with, use_state,
};

use crate::{
    api::{Api, ApiFailure},
    i18n::{Text, failure_text, use_i18n},
    max_bridge,
};

/// Refresh the access token when this share of its lifetime has passed.
const REFRESH_AT_SHARE: f64 = 0.8;

/// A signed-in session.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub access_token: String,
    pub user: Me,
    /// Seconds the access token lives from when it was issued.
    pub expires_in: u64,
}

/// The state of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    /// Still finding out (restoring from the cookie, or signing in through Max).
    Loading,
    SignedOut,
    SignedIn(Rc<SignedIn>),
}

impl Session {
    pub fn signed_in(&self) -> Option<&SignedIn> {
        match self {
            Session::SignedIn(signed_in) => Some(signed_in),
            _ => None,
        }
    }
}

/// The session context: its state and the ways to change it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionHandle {
    pub session: Session,
    /// Adopt tokens from any sign-in.
    pub adopt: Callback<TokenResponse>,
    /// Replace the user after a profile change.
    pub update_user: Callback<Me>,
    /// Forget the session locally (after signing out, or when the server ended it).
    pub clear: Callback<()>,
    /// The deep-link payload Max opened the app with, until a page consumes it.
    pub start_param: Option<String>,
    /// Why signing in through Max failed, until a sign-in succeeds.
    pub max_sign_in_failure: Option<Text>,
}

#[derive(Debug, PartialEq, Properties)]
pub struct SessionProviderProps {
    pub children: Html,
}

#[function_component(SessionProvider)]
pub fn session_provider(props: &SessionProviderProps) -> Html {
    let session = use_state(|| Session::Loading);
    let start_param = use_state(|| None::<String>);
    let max_sign_in_failure = use_state(|| None::<Text>);
    // A signed-in user's interface speaks their profile's language (set from Max's
    // `language_code` at their first sign-in, then chosen in settings), whatever the browser's.
    let set_lang = use_i18n().set_lang;

    let adopt = {
        let (session, set_lang) = (session.clone(), set_lang.clone());
        let max_sign_in_failure = max_sign_in_failure.clone();
        Callback::from(move |tokens: TokenResponse| {
            max_sign_in_failure.set(None);
            set_lang.emit(tokens.user.language);
            session.set(Session::SignedIn(Rc::new(SignedIn {
                access_token: tokens.access_token,
                user: tokens.user,
                expires_in: tokens.expires_in,
            })));
        })
    };

    // On start: inside Max, resume this device's session or start one with initData;
    // elsewhere, try the session cookie.
    {
        let session = session.clone();
        let adopt = adopt.clone();
        let start_param = start_param.clone();
        let max_sign_in_failure = max_sign_in_failure.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                max_bridge::settled().await;
                max_bridge::ready();
                // A failed Max sign-in is shown (the person opened the app to be signed in);
                // a session cookie that no longer works just means signed out.
                let signed_in = match max_bridge::init_data() {
                    Some(init_data) => max_session::start(init_data).await.map_err(Some),
                    None if has_session_cookie() => {
                        one_tab_at_a_time(|| async { Api::default().refresh().await })
                            .await
                            .map_err(|_| None)
                    }
                    None => {
                        session.set(Session::SignedOut);
                        // A web view that did not look like Max's: the bridge may come yet.
                        max_bridge::arrived_late().await;
                        max_bridge::ready();
                        let Some(init_data) = max_bridge::init_data() else {
                            return;
                        };
                        max_session::start(init_data).await.map_err(Some)
                    }
                };
                match signed_in {
                    Ok(tokens) => {
                        start_param.set(max_bridge::start_param().or(tokens.start_param.clone()));
                        adopt.emit(tokens);
                    }
                    Err(failure) => {
                        max_sign_in_failure.set(failure.as_ref().map(failure_text));
                        session.set(Session::SignedOut);
                    }
                }
            });
        });
    }

    // While signed in, renew the access token before it expires.
    {
        let session_state = session.clone();
        let adopt = adopt.clone();
        use_effect_with((*session).clone(), move |current| {
            let timer = current.signed_in().map(|signed_in| {
                let delay_ms = (signed_in.expires_in as f64 * REFRESH_AT_SHARE * 1000.0) as u32;
                Timeout::new(delay_ms.max(1000), move || {
                    wasm_bindgen_futures::spawn_local(async move {
                        let renewed = if max_session::active() {
                            max_session::renew().await
                        } else {
                            one_tab_at_a_time(|| async { Api::default().refresh().await }).await
                        };
                        match renewed {
                            Ok(tokens) => adopt.emit(tokens),
                            Err(failure) if failure.status() == Some(401) => {
                                session_state.set(Session::SignedOut)
                            }
                            // Offline for a moment: the next action will tell.
                            Err(_) => {}
                        }
                    });
                })
            });
            move || drop(timer)
        });
    }

    let update_user = {
        let session = session.clone();
        Callback::from(move |user: Me| {
            set_lang.emit(user.language);
            if let Session::SignedIn(current) = &*session {
                session.set(Session::SignedIn(Rc::new(SignedIn {
                    user,
                    ..(**current).clone()
                })));
            }
        })
    };
    let clear = {
        let session = session.clone();
        let start_param = start_param.clone();
        Callback::from(move |()| {
            max_session::forget();
            start_param.set(None);
            session.set(Session::SignedOut);
        })
    };

    // Images of private collections are served only to those who may see them: their
    // requests carry the access token in a cookie, as `<img>` cannot send a header.
    use_effect_with((*session).clone(), |session| {
        set_media_cookie(session.signed_in())
    });

    let context = SessionHandle {
        session: (*session).clone(),
        adopt,
        update_user,
        clear,
        start_param: (*start_param).clone(),
        max_sign_in_failure: *max_sign_in_failure,
    };
    html! {
        <ContextProvider<SessionHandle> {context}>{ props.children.clone() }</ContextProvider<SessionHandle>>
    }
}

/// Ends this session on the server: inside Max with its refresh token, in a browser with the
/// session cookie. (Then [`SessionHandle::clear`] forgets it here.)
pub async fn sign_out() -> Result<(), ApiFailure> {
    match max_session::refresh_token() {
        Some(token) => Api::default().logout_token(token).await,
        None => Api::default().logout().await,
    }
}

/// The session inside Max: one per launch, resumed by the next launch on this device.
mod max_session {
    use std::cell::RefCell;

    use gallery_types::TokenResponse;

    use crate::{
        api::{Api, ApiFailure},
        max_bridge,
    };

    /// Where Max keeps it between launches: `<Max user id> <refresh token>` (so that another
    /// account on the device never resumes it).
    const STORAGE_KEY: &str = "gallery_session";

    thread_local! {
        static REFRESH_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Whether this launch holds a Max session.
    pub fn active() -> bool {
        refresh_token().is_some()
    }

    pub fn refresh_token() -> Option<String> {
        REFRESH_TOKEN.with_borrow(Clone::clone)
    }

    /// Resumes the session this device kept for this Max user, or signs in with initData.
    pub async fn start(init_data: String) -> Result<TokenResponse, ApiFailure> {
        super::one_tab_at_a_time(move || async move {
            if let Some(token) = kept().await
                && let Ok(tokens) = Api::default().refresh_with(token).await
            {
                return Ok(keep(tokens));
            }
            // None kept, or it ended (signed out elsewhere, expired): a new session.
            Api::default().sign_in_with_max(init_data).await.map(keep)
        })
        .await
    }

    /// Refreshes the session's tokens (the refresh token rotates). Another launch on this
    /// device (a second tab of Max's web client) may have rotated it meanwhile: the newest is
    /// the one in Max's storage.
    pub async fn renew() -> Result<TokenResponse, ApiFailure> {
        super::one_tab_at_a_time(|| async {
            match kept().await.or_else(refresh_token) {
                Some(token) => Api::default().refresh_with(token).await.map(keep),
                None => Err(ApiFailure::Status {
                    status: 401,
                    body: None,
                }),
            }
        })
        .await
    }

    /// The refresh token Max's storage keeps for the Max user of this launch.
    async fn kept() -> Option<String> {
        let user = max_bridge::max_user_id()?;
        let stored = max_bridge::stored(STORAGE_KEY).await?;
        let (owner, token) = stored.split_once(' ')?;
        (owner.parse().ok() == Some(user)).then(|| token.to_owned())
    }

    /// Forgets the session here and in Max's storage.
    pub fn forget() {
        if REFRESH_TOKEN.take().is_some() {
            max_bridge::store(STORAGE_KEY, None);
        }
    }

    fn keep(tokens: TokenResponse) -> TokenResponse {
        if let Some(token) = &tokens.refresh_token {
            REFRESH_TOKEN.set(Some(token.clone()));
            if let Some(user) = max_bridge::max_user_id() {
                max_bridge::store(STORAGE_KEY, Some(&format!("{user} {token}")));
            }
        }
        tokens
    }
}

/// Runs `refresh` (a `POST /api/auth/refresh`) holding a lock that every tab of this site
/// shares (the Web Locks API). Refresh tokens work once, so two tabs refreshing at the same
/// moment would look like a stolen token and end the session; in turn, each finds the token
/// the previous one left (in the cookie, or in Max's storage).
async fn one_tab_at_a_time<F>(
    refresh: impl FnOnce() -> F + 'static,
) -> Result<TokenResponse, ApiFailure>
where
    F: std::future::Future<Output = Result<TokenResponse, ApiFailure>> + 'static,
{
    use std::cell::RefCell;

    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure};

    let locks = web_sys::window()
        .and_then(|window| Reflect::get(&window.navigator(), &JsValue::from_str("locks")).ok())
        .filter(|locks| locks.is_object());
    let request = locks
        .as_ref()
        .and_then(|locks| Reflect::get(locks, &JsValue::from_str("request")).ok())
        .and_then(|request| request.dyn_into::<Function>().ok());
    // Run once, under the lock where there is one.
    let work = Rc::new(RefCell::new(Some(refresh)));
    let run = move || {
        let refresh = work.borrow_mut().take();
        async move {
            match refresh {
                Some(refresh) => refresh().await,
                None => Err(ApiFailure::Network),
            }
        }
    };
    let (Some(locks), Some(request)) = (locks, request) else {
        return run().await;
    };

    let outcome = Rc::new(RefCell::new(None));
    let slot = outcome.clone();
    let run_locked = run.clone();
    let while_locked = Closure::once(move |_lock: JsValue| -> Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            *slot.borrow_mut() = Some(run_locked().await);
            Ok(JsValue::UNDEFINED)
        })
    });
    let locked = request
        .call2(
            &locks,
            &JsValue::from_str("gallery-refresh"),
            while_locked.as_ref(),
        )
        .ok()
        .and_then(|promise| promise.dyn_into::<Promise>().ok());
    match locked {
        Some(locked) => {
            let _ = wasm_bindgen_futures::JsFuture::from(locked).await;
        }
        None => return run().await,
    }
    drop(while_locked);
    outcome.take().unwrap_or(Err(ApiFailure::Network))
}

/// Keeps the `gallery_media` cookie (read by the server for `/media` only) equal to the
/// access token, for as long as it lives; removes it when signed out. Over HTTPS it is also
/// sent when Max shows the app in a frame of its own site (`SameSite=None`, partitioned).
fn set_media_cookie(signed_in: Option<&SignedIn>) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok())
    else {
        return;
    };
    let secure = document
        .location()
        .and_then(|location| location.protocol().ok())
        .is_some_and(|protocol| protocol == "https:");
    let attributes = if secure {
        "Path=/media; Secure; SameSite=None; Partitioned"
    } else {
        "Path=/media; SameSite=Lax"
    };
    let cookie = match signed_in {
        Some(signed_in) => format!(
            "gallery_media={}; {attributes}; Max-Age={}",
            signed_in.access_token, signed_in.expires_in
        ),
        None => format!("gallery_media=; {attributes}; Max-Age=0"),
    };
    // Refused only where cookies are off: then private images stay hidden, as before.
    let _ = document.set_cookie(&cookie);
}

/// Whether the server left its session hint cookie (the refresh cookie itself is invisible
/// to scripts).
fn has_session_cookie() -> bool {
    use wasm_bindgen::JsCast;
    web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok())
        .and_then(|document| document.cookie().ok())
        .is_some_and(|cookies| {
            cookies
                .split(';')
                .any(|cookie| cookie.trim() == "gallery_session=1")
        })
}

/// The session context; panics outside [`SessionProvider`], which wraps the whole app.
#[hook]
pub fn use_session() -> SessionHandle {
    use_context::<SessionHandle>().expect("SessionProvider wraps the app")
}

/// The API as the calling component's session reaches it: signed-in calls carry its access
/// token.
#[hook]
pub fn use_api() -> Api {
    let session = use_session();
    Api::with_token(
        session
            .session
            .signed_in()
            .map(|signed_in| signed_in.access_token.as_str()),
    )
}
