//! Russian and English: the chosen language as a context, and every UI string in both.
//!
//! The language starts as the one remembered on this device, else the browser's; inside Max
//! the sign-in will set it from the user's `language_code`.

mod errors;
mod texts;

use gloo_storage::{LocalStorage, Storage};
use yew::{
    Callback, ContextProvider, Html, Properties, function_component, hook, html, use_context,
    use_effect_with, use_state,
};

pub use errors::failure_text;
pub use texts::Text;

/// Where the chosen language is remembered.
const STORAGE_KEY: &str = "gallery.lang";

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// Both languages, in the order the switch shows them.
    pub const ALL: [Lang; 2] = [Lang::Ru, Lang::En];

    /// The BCP 47 code, as in `<html lang>` and Max's `language_code`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Russian for `ru*` codes, English for anything else.
    pub fn from_code(code: &str) -> Lang {
        if code.to_ascii_lowercase().starts_with("ru") {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    fn initial() -> Lang {
        if let Ok(code) = LocalStorage::get::<String>(STORAGE_KEY) {
            return Lang::from_code(&code);
        }
        web_sys::window()
            .and_then(|window| window.navigator().language())
            .map_or(Lang::Ru, |code| Lang::from_code(&code))
    }
}

/// The language context: the current language and a way to change it.
#[derive(Debug, Clone, PartialEq)]
pub struct I18n {
    pub lang: Lang,
    pub set_lang: Callback<Lang>,
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
    let lang = use_state(Lang::initial);
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
        set_lang: Callback::from(move |new: Lang| lang.set(new)),
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
