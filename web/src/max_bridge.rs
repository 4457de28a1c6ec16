//! The Max mini-app bridge (`window.WebApp`, from `https://st.max.ru/js/max-web-app.js`).
//! Outside Max the bridge is absent or has no initData, and every call here does nothing.

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

/// Tells Max the app has loaded (it then hides its loading screen).
pub fn ready() {
    let Some(web_app) = web_app() else {
        return;
    };
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

/// A buzz confirming what just happened (inside Max; phones only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Haptic {
    Success,
    Error,
}

pub fn haptic(kind: Haptic) {
    let feedback = web_app()
        .filter(|_| inside_max())
        .and_then(|web_app| Reflect::get(&web_app, &JsValue::from_str("HapticFeedback")).ok())
        .filter(JsValue::is_object);
    let kind = match kind {
        Haptic::Success => "success",
        Haptic::Error => "error",
    };
    fire(
        feedback,
        "notificationOccurred",
        vec![JsValue::from_str(kind)],
    );
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
