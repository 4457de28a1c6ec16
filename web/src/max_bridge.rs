//! The Max mini-app bridge (`window.WebApp`, from `https://st.max.ru/js/max-web-app.js`).
//! Outside Max the bridge is absent or has no initData, and every call here does nothing.
//!
//! `index.html` loads the bridge script `async`, so that a browser which cannot reach Max's
//! CDN paints at once: the app may start before the script has run ([`settled`]).

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

fn web_app() -> Option<JsValue> {
    let window = web_sys::window()?;
    Reflect::get(&window, &JsValue::from_str("WebApp"))
        .ok()
        .filter(|value| value.is_object())
}

/// The signed initData, when the app runs inside Max.
pub fn init_data() -> Option<String> {
    let init_data = Reflect::get(&web_app()?, &JsValue::from_str("initData")).ok()?;
    init_data.as_string().filter(|data| !data.is_empty())
}

/// Tells Max the app has loaded (it then hides its loading screen), and marks the page with
/// Max's platform (`<html data-platform="ios">`) for the styles.
pub fn ready() {
    let Some(web_app) = web_app() else {
        return;
    };
    if let Some(platform) = platform()
        && let Some(root) = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.document_element())
    {
        let _ = root.set_attribute("data-platform", &platform);
    }
    if let Ok(ready) = Reflect::get(&web_app, &JsValue::from_str("ready"))
        && let Some(ready) = ready.dyn_ref::<Function>()
    {
        // A bridge that fails here leaves Max's loading screen up a little longer; nothing else.
        let _ = ready.call0(&web_app);
    }
}

/// Calls `target.name(...arguments)`, if `target` has such a method.
fn call(target: &JsValue, name: &str, arguments: &[JsValue]) -> Option<JsValue> {
    let method = Reflect::get(target, &JsValue::from_str(name)).ok()?;
    let method = method.dyn_ref::<Function>()?;
    let arguments: js_sys::Array = arguments.iter().collect();
    method.apply(target, &arguments).ok()
}

/// Waits for what a bridge call returned, if it is a promise; its rejection (a MAX client
/// without the feature, a cancelled dialog) is an answer like any other, never an unhandled
/// error.
async fn settle(returned: Option<JsValue>) -> Option<JsValue> {
    let promise = returned?.dyn_into::<js_sys::Promise>().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise).await.ok()
}

/// Calls a bridge method for its effect alone.
fn fire(target: Option<JsValue>, name: &'static str, arguments: Vec<JsValue>) {
    let Some(target) = target else {
        return;
    };
    let returned = call(&target, name, &arguments);
    wasm_bindgen_futures::spawn_local(async move {
        let _ = settle(returned).await;
    });
}

/// Whether the app runs inside Max (its bridge with initData).
pub fn inside_max() -> bool {
    init_data().is_some()
}

/// The bridge object inside Max; `None` in a browser.
fn in_max() -> Option<JsValue> {
    web_app().filter(|_| inside_max())
}

/// `WebApp.<name>` (`BackButton`, `HapticFeedback`, a storage), inside Max.
fn part(name: &str) -> Option<JsValue> {
    Reflect::get(&in_max()?, &JsValue::from_str(name))
        .ok()
        .filter(JsValue::is_object)
}

/// A buzz confirming what just happened (inside Max; phones only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Haptic {
    Success,
    Error,
    /// A choice changed (a toggle, a picked item).
    Selection,
}

pub fn haptic(kind: Haptic) {
    let (method, arguments) = match kind {
        Haptic::Success => ("notificationOccurred", vec![JsValue::from_str("success")]),
        Haptic::Error => ("notificationOccurred", vec![JsValue::from_str("error")]),
        Haptic::Selection => ("selectionChanged", Vec::new()),
    };
    fire(part("HapticFeedback"), method, arguments);
}

/// Shows or hides Max's back button (in its header, beside the app's title).
pub fn show_back_button(visible: bool) {
    fire(
        part("BackButton"),
        if visible { "show" } else { "hide" },
        Vec::new(),
    );
}

/// Calls `go_back` whenever Max's back button is pressed, for as long as the app runs.
pub fn on_back_button(go_back: impl Fn() + 'static) {
    let handler = wasm_bindgen::closure::Closure::<dyn Fn()>::new(go_back);
    fire(
        part("BackButton"),
        "onClick",
        vec![handler.as_ref().clone()],
    );
    // Registered for the app's whole life.
    handler.forget();
}

thread_local! {
    /// Work under way that closing the app would lose (uploads, offers being sent).
    static UNFINISHED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Max asks before closing the app while one of these lives: hold it across an upload or a
/// trade being sent.
#[derive(Debug)]
pub struct KeepOpen(());

impl KeepOpen {
    pub fn new() -> Self {
        if UNFINISHED.replace(UNFINISHED.get() + 1) == 0 {
            fire(in_max(), "enableClosingConfirmation", Vec::new());
        }
        KeepOpen(())
    }
}

impl Drop for KeepOpen {
    fn drop(&mut self) {
        let left = UNFINISHED.get().saturating_sub(1);
        UNFINISHED.set(left);
        if left == 0 {
            fire(in_max(), "disableClosingConfirmation", Vec::new());
        }
    }
}

/// For a link that leaves the app: inside Max it opens through Max (`openMaxLink` for Max's
/// own links, `openLink` for the web) instead of the web view; in a browser the link opens
/// itself.
pub fn open_link_in_max(url: String) -> yew::Callback<web_sys::MouseEvent> {
    yew::Callback::from(move |event: web_sys::MouseEvent| {
        let Some(web_app) = in_max() else {
            return;
        };
        let Some(absolute) = web_sys::window()
            .and_then(|window| window.location().href().ok())
            .and_then(|page| web_sys::Url::new_with_base(&url, &page).ok())
            .map(|url| url.href())
        else {
            return;
        };
        event.prevent_default();
        let method = if absolute.starts_with("https://max.ru/") {
            "openMaxLink"
        } else {
            "openLink"
        };
        fire(Some(web_app), method, vec![JsValue::from_str(&absolute)]);
    })
}

/// The platform Max runs on (`ios`, `android`, `desktop`, `web`), inside Max.
pub fn platform() -> Option<String> {
    Reflect::get(&in_max()?, &JsValue::from_str("platform"))
        .ok()?
        .as_string()
}

/// The `start_param` Max opened the app with (`?startapp=<payload>`), from initData.
pub fn start_param() -> Option<String> {
    web_sys::UrlSearchParams::new_with_str(&init_data()?)
        .ok()?
        .get("start_param")
        .filter(|param| !param.is_empty())
}

/// The Max user the initData names.
pub fn max_user_id() -> Option<i64> {
    let params = web_sys::UrlSearchParams::new_with_str(&init_data()?).ok()?;
    let user = js_sys::JSON::parse(&params.get("user")?).ok()?;
    Reflect::get(&user, &JsValue::from_str("id"))
        .ok()?
        .as_f64()
        .map(|id| id as i64)
}

/// Max's storage for this app and user: `SecureStorage` (the device's keychain) where the
/// client has it, else `DeviceStorage`.
fn storages() -> impl Iterator<Item = JsValue> {
    ["SecureStorage", "DeviceStorage"]
        .into_iter()
        .filter_map(part)
}

/// The value stored under `key` inside Max, if any.
pub async fn stored(key: &str) -> Option<String> {
    for storage in storages() {
        let answer = settle(call(&storage, "getItem", &[JsValue::from_str(key)])).await;
        // Answered `{value}` (or the value itself, by older clients).
        let value = answer.and_then(|answer| {
            answer.as_string().or_else(|| {
                Reflect::get(&answer, &JsValue::from_str("value"))
                    .ok()?
                    .as_string()
            })
        });
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            return Some(value);
        }
    }
    None
}

/// Stores `value` under `key` inside Max (in the first storage that has the method), or
/// removes it.
pub fn store(key: &str, value: Option<&str>) {
    for storage in storages() {
        match value {
            Some(value) => fire(
                Some(storage),
                "setItem",
                vec![JsValue::from_str(key), JsValue::from_str(value)],
            ),
            None => fire(Some(storage), "removeItem", vec![JsValue::from_str(key)]),
        }
    }
}

/// Resolves once the bridge script has run, or at once where waiting makes no sense: the
/// bridge is there already, or nothing suggests Max (a top-level page without Max's launch
/// parameters). Inside Max's frame or web view it waits for the script, at most 3 s.
pub async fn settled() {
    if web_app().is_none() && maybe_inside_max() {
        script_done(Some(BRIDGE_PATIENCE_MS)).await;
    }
}

/// Resolves when the bridge script, still on its way, has run and brought initData: the app
/// started as a browser page, and turns out to be inside Max after all (a web view that did
/// not look like Max's). Never resolves otherwise.
pub async fn arrived_late() {
    if web_app().is_none() {
        script_done(None).await;
    }
    if init_data().is_none() {
        std::future::pending::<()>().await;
    }
}

/// Waits for the bridge script's `load` or `error` event, or `patience_ms`.
async fn script_done(patience_ms: Option<i32>) {
    let Some(script) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id("max-bridge"))
    else {
        return;
    };
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        for event in ["load", "error"] {
            let _ = script.add_event_listener_with_callback(event, &resolve);
        }
        if let (Some(window), Some(patience_ms)) = (web_sys::window(), patience_ms) {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, patience_ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
}

/// The longest the app waits for Max's bridge script before starting as a browser page.
const BRIDGE_PATIENCE_MS: i32 = 3000;

/// Whether the page may be Max's mini-app: shown in a frame (Max's web client), or opened
/// with Max's launch parameters in its URL, or in Max's own web view.
fn maybe_inside_max() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let framed = window
        .top()
        .ok()
        .flatten()
        .is_some_and(|top| !js_sys::Object::is(&top, &window));
    // Searched by JavaScript: a substring search compiled in costs more than this function.
    let has = |text: Result<String, JsValue>, part: &str| {
        text.is_ok_and(|text| js_sys::JsString::from(text).includes(part, 0))
    };
    let location = window.location();
    let launch = has(location.hash(), "WebApp") || has(location.search(), "WebApp");
    let web_view = has(window.navigator().user_agent(), "MAX");
    framed || launch || web_view
}

/// Turns the screen to its brightest while a QR code is shown (Max restores it after 30 s,
/// or at [`restore_brightness`]).
pub fn request_max_brightness() {
    fire(
        web_app().filter(|_| inside_max()),
        "requestScreenMaxBrightness",
        Vec::new(),
    );
}

pub fn restore_brightness() {
    fire(
        web_app().filter(|_| inside_max()),
        "restoreScreenBrightness",
        Vec::new(),
    );
}

/// Opens Max's QR code reader (the camera, or a picture from the gallery); the text read,
/// or `None` outside Max and when the person cancels.
pub async fn read_code() -> Option<String> {
    let web_app = web_app().filter(|_| inside_max())?;
    let read = settle(call(&web_app, "openCodeReader", &[JsValue::TRUE])).await?;
    Reflect::get(&read, &JsValue::from_str("value"))
        .ok()?
        .as_string()
}

/// The browser's `navigator`.
fn navigator() -> Option<JsValue> {
    web_sys::window().map(|window| window.navigator().into())
}

/// Shares `link`: inside Max into a chat (`shareMaxContent`), in a browser through its share
/// sheet, or else by copying it. Call it from the click itself (Max and browsers require a
/// person's gesture), then await the answer: whether it was shared or copied.
pub fn share(link: &str, text: &str) -> impl std::future::Future<Output = bool> + 'static {
    let content = js_sys::Object::new();
    let returned = if let Some(web_app) = web_app().filter(|_| inside_max()) {
        let _ = Reflect::set(
            &content,
            &JsValue::from_str("text"),
            &JsValue::from_str(text),
        );
        let _ = Reflect::set(
            &content,
            &JsValue::from_str("link"),
            &JsValue::from_str(link),
        );
        call(&web_app, "shareMaxContent", &[content.into()])
    } else {
        let navigator = navigator();
        let can_share = navigator.as_ref().is_some_and(|navigator| {
            Reflect::get(navigator, &JsValue::from_str("share"))
                .is_ok_and(|share| share.is_function())
        });
        if can_share {
            let _ = Reflect::set(
                &content,
                &JsValue::from_str("text"),
                &JsValue::from_str(text),
            );
            let _ = Reflect::set(
                &content,
                &JsValue::from_str("url"),
                &JsValue::from_str(link),
            );
            navigator.and_then(|navigator| call(&navigator, "share", &[content.into()]))
        } else {
            navigator
                .and_then(|navigator| {
                    Reflect::get(&navigator, &JsValue::from_str("clipboard")).ok()
                })
                .filter(JsValue::is_object)
                .and_then(|clipboard| call(&clipboard, "writeText", &[JsValue::from_str(link)]))
        }
    };
    async move {
        match settle(returned).await {
            // Max answers {status: "shared" | "cancelled"}; the browser's share and copy
            // answer nothing when done.
            Some(answer) => Reflect::get(&answer, &JsValue::from_str("status"))
                .ok()
                .and_then(|status| status.as_string())
                .is_none_or(|status| status == "shared"),
            None => false,
        }
    }
}
