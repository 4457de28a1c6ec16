//! Choosing a person by name or handle: the search's people, as the name is typed.

use gallery_types::UserSummary;
use web_sys::HtmlInputElement;
use yew::{
    Callback, Html, InputEvent, Properties, TargetCast, function_component, html, use_state,
};

use crate::{
    hooks::use_load_after,
    i18n::{Text, use_i18n},
    session::{use_api, use_session},
};

/// The search waits this long after the last key.
const TYPING_PAUSE_MS: u32 = 250;

#[derive(Debug, PartialEq, Properties)]
pub struct PersonPickerProps {
    pub on_pick: Callback<UserSummary>,
}

#[function_component(PersonPicker)]
pub fn person_picker(props: &PersonPickerProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let session = use_session();
    let me = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.user.id);
    let query = use_state(String::new);
    let people = use_state(Vec::<UserSummary>::new);
    {
        let people = people.clone();
        use_load_after(
            TYPING_PAUSE_MS,
            ((*query).trim().to_owned(), api.clone()),
            |(query, api)| {
                let (query, api) = (query.clone(), api.clone());
                async move {
                    if query.is_empty() {
                        return Vec::new();
                    }
                    api.search(&query)
                        .await
                        .map(|results| results.users)
                        .unwrap_or_default()
                }
            },
            Callback::from(move |found: Vec<UserSummary>| {
                people.set(
                    found
                        .into_iter()
                        .filter(|person| Some(person.id) != me)
                        .collect(),
                )
            }),
        );
    }
    let oninput = {
        let query = query.clone();
        move |event: InputEvent| {
            query.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    html! {
        <div class="person-picker" data-testid="person-picker">
            <label>
                { i18n.t(Text::PickPerson) }
                <input type="search" value={(*query).clone()} {oninput} maxlength="200" autocomplete="off" />
            </label>
            if !people.is_empty() {
                <ul class="people">
                    { for people.iter().map(|person| {
                        let (on_pick, chosen) = (props.on_pick.clone(), person.clone());
                        html! {
                            <li key={person.id}>
                                <button type="button" data-testid="person" onclick={move |_| on_pick.emit(chosen.clone())}>
                                    { &person.display_name }
                                    if let Some(handle) = &person.handle {
                                        <span class="muted small">{ format!(" @{handle}") }</span>
                                    }
                                </button>
                            </li>
                        }
                    }) }
                </ul>
            }
        </div>
    }
}
