//! Russian and English: the chosen language as a context, and every UI string in both.
//!
//! The language starts as the one remembered on this device, else the browser's; inside Max
//! the sign-in will set it from the user's `language_code`.

mod errors;
mod texts;

use gallery_types::Language;
use gloo_storage::{LocalStorage, Storage};
use yew::{
    Callback, ContextProvider, Html, Properties, function_component, hook, html, use_context,
    use_effect_with, use_state,
};

pub use errors::failure_text;
pub use texts::Text;

/// Where the chosen language is remembered.
const STORAGE_KEY: &str = "gallery.lang";

/// Both languages, in the order the switch shows them.
pub const LANGUAGES: [Language; 2] = [Language::Ru, Language::En];

/// The language to start with: the one remembered on this device, else the browser's.
fn initial_language() -> Language {
    if let Ok(code) = LocalStorage::get::<String>(STORAGE_KEY) {
        return Language::from_code(&code);
    }
    web_sys::window()
        .and_then(|window| window.navigator().language())
        .map_or(Language::Ru, |code| Language::from_code(&code))
}

/// The language context: the current language and a way to change it.
#[derive(Debug, Clone, PartialEq)]
pub struct I18n {
    pub lang: Language,
    pub set_lang: Callback<Language>,
}

impl I18n {
    /// The string for `text` in the current language.
    pub fn t(&self, text: Text) -> &'static str {
        text.in_lang(self.lang)
    }
}

#[derive(Debug, PartialEq, Properties)]
pub struct I18nProviderProps {
    pub children: Html,
}

/// Provides [`I18n`] to the tree and keeps `<html lang>` and storage in step with it.
#[function_component(I18nProvider)]
pub fn i18n_provider(props: &I18nProviderProps) -> Html {
    let lang = use_state(initial_language);
    use_effect_with(*lang, |lang| {
        let code = lang.code();
        if let Some(root) = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.document_element())
        {
            // Screen readers and hyphenation follow <html lang>; failure only loses those.
            let _ = root.set_attribute("lang", code);
        }
        // Private browsing may refuse storage; the choice then lasts for this visit only.
        let _ = LocalStorage::set(STORAGE_KEY, code);
    });
    let context = I18n {
        lang: *lang,
        set_lang: Callback::from(move |new: Language| lang.set(new)),
    };
    html! {
        <ContextProvider<I18n> {context}>{ props.children.clone() }</ContextProvider<I18n>>
    }
}

/// The language context; panics outside [`I18nProvider`], which wraps the whole app.
#[hook]
pub fn use_i18n() -> I18n {
    use_context::<I18n>().expect("I18nProvider wraps the app")
}

/// A moment as the interface shows it: `2026-12-02 14:05 UTC`. Written by hand: chrono's
/// `format` would bring its whole pattern parser into the download.
pub fn moment(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}
