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
