//! One photo: the image, its creator and owner, favorites, and for the owner, editing and
//! deleting. Its count and details follow live events, and a deletion elsewhere shows.

use gallery_types::{Event, Photo, UpdatePhotoRequest};
use web_sys::HtmlInputElement;
use yew::{
    Callback, Html, InputEvent, Properties, SubmitEvent, TargetCast, function_component, html,
    use_effect_with, use_reducer, use_state,
};
use yew_router::{hooks::use_navigator, prelude::Link};

use crate::{
    api::ApiFailure,
    components::{HistoryTimeline, PageIntro, Placeholder, Skeleton, ownership_panel, person_link},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    realtime::{Live, LiveAction, use_realtime, use_realtime_event},
    route::Route,
    session::{use_api, use_session},
};

#[derive(Debug, PartialEq, Properties)]
pub struct PhotoProps {
    pub id: String,
}

#[function_component(PhotoPage)]
pub fn photo_page(props: &PhotoProps) -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let navigator = use_navigator();
    let realtime = use_realtime();
    let photo = use_reducer(Live::<Photo>::default);
    // The photo this page showed when its owner deleted it.
    let deleted = use_state(|| None::<i64>);
    // Counts the times the photo left what this viewer may see: each time it is asked for
    // again (it is gone for most; those who may still see it see its new owner).
    let hidden = use_state(|| 0_u32);
    let error = use_state(|| None::<Text>);
    let api = use_api();
    let viewer = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.user.id);
    let id: Option<i64> = props.id.parse().ok();

    {
        let (photo, api) = (photo.dispatcher(), api.clone());
        use_load(
            (id, api.signed_in(), realtime.reload_generation, *hidden),
            move |(id, _, _, _)| {
                let id = *id;
                async move {
                    match id {
                        Some(id) => api.photo(id).await,
                        None => Err(ApiFailure::Status {
                            status: 404,
                            body: None,
                        }),
                    }
                }
            },
            Callback::from(move |loaded| photo.dispatch(LiveAction::Loaded(loaded))),
        );
    }
    {
        let (photo, deleted, hidden) = (photo.dispatcher(), deleted.clone(), hidden.clone());
        use_realtime_event(move |event| {
            match event {
                Event::PhotoDeleted(gone) if id == Some(gone.photo_id) => {
                    deleted.set(Some(gone.photo_id));
                }
                Event::PhotoHidden(gone) if id == Some(gone.photo_id) => hidden.set(*hidden + 1),
                _ => {}
            }
            photo.dispatch(LiveAction::Event(event.clone()));
        });
    }

    let body = match &photo.value {
        None => html! { <Skeleton /> },
        Some(Err(failure)) if failure.status() == Some(404) => {
            html! { <div class="card">{ i18n.t(Text::PhotoNotFound) }</div> }
        }
        Some(Err(failure)) => {
            html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> }
        }
        Some(Ok(current)) => {
            let is_owner = viewer == Some(current.owner.id);
            let was_deleted = *deleted == Some(current.id);
            let on_favorite = {
                let (photo, error, api, current) = (
                    photo.dispatcher(),
                    error.clone(),
                    api.clone(),
                    current.clone(),
                );
                move |_| {
                    if !api.signed_in() {
                        error.set(Some(Text::SignInToSee));
                        return;
                    }
                    // Shown at once; put back if the server says no.
                    let mut toggled = current.clone();
                    toggled.favorited = !current.favorited;
                    toggled.favorite_count += if toggled.favorited { 1 } else { -1 };
                    max_bridge::haptic(Haptic::Selection);
                    photo.dispatch(LiveAction::Loaded(Ok(toggled.clone())));
                    error.set(None);
                    let (photo, error, api, current) =
                        (photo.clone(), error.clone(), api.clone(), current.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match api.set_favorite(current.id, toggled.favorited).await {
                            Ok(updated) => photo.dispatch(LiveAction::Loaded(Ok(updated))),
                            Err(failure) => {
                                max_bridge::haptic(Haptic::Error);
                                photo.dispatch(LiveAction::Loaded(Ok(current)));
                                error.set(Some(failure_text(&failure)));
                            }
                        }
                    });
                }
            };
            let on_delete = {
                let (error, api, navigator, id) =
                    (error.clone(), api.clone(), navigator.clone(), current.id);
                let question = i18n.t(Text::ConfirmDeletePhoto);
                move |_| {
                    let confirmed = web_sys::window()
                        .and_then(|window| window.confirm_with_message(question).ok())
                        .unwrap_or(false);
                    if !confirmed {
                        return;
                    }
                    let (error, api, navigator) = (error.clone(), api.clone(), navigator.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match api.delete_photo(id).await {
                            Ok(()) => {
                                if let Some(navigator) = navigator {
                                    navigator.push(&Route::Collection);
                                }
                            }
                            Err(failure) => error.set(Some(failure_text(&failure))),
                        }
                    });
                }
            };
            html! {
                <article class="photo-detail" data-testid="photo-detail">
                    <div class="viewer" data-testid="photo-viewer" style={viewer_style(current)}>
                        <Placeholder hash={current.placeholder.clone()} />
                        <img src={current.urls.preview.clone()} alt={current.title.clone()} />
                    </div>
                    <div class="card">
                        <h2 data-testid="photo-title">{ if current.title.is_empty() { "—".to_owned() } else { current.title.clone() } }</h2>
                        if !current.description.is_empty() {
                            <p>{ &current.description }</p>
                        }
                        if !current.tags.is_empty() {
                            <p class="tags">{ for current.tags.iter().map(|tag| html! { <span class="badge">{ format!("#{tag}") }</span> }) }</p>
                        }
                        <dl class="facts">
                            <dt>{ i18n.t(Text::Creator) }</dt><dd>{ person_link(&current.creator) }</dd>
                            <dt>{ i18n.t(Text::Owner) }</dt><dd data-testid="photo-owner">{ person_link(&current.owner) }</dd>
                            <dt>{ i18n.t(Text::Size) }</dt><dd>{ format!("{} × {} · {}", current.width, current.height, current.format.to_ascii_uppercase()) }</dd>
                        </dl>
                        if was_deleted {
                            <p class="warning" role="status" data-testid="photo-deleted">{ i18n.t(Text::PhotoWasDeleted) }</p>
                        } else {
                            <div class="actions">
                                <button type="button" class={if current.favorited { "primary" } else { "" }} aria-pressed={current.favorited.to_string()} onclick={on_favorite} data-testid="favorite">
                                    { format!("♥ {}", current.favorite_count) }
                                </button>
                                <a href={current.urls.original.clone()} target="_blank" rel="noopener" onclick={max_bridge::open_link_in_max(current.urls.original.clone())}>{ i18n.t(Text::OpenOriginal) }</a>
                                if is_owner {
                                    <button type="button" onclick={on_delete} data-testid="delete-photo">{ i18n.t(Text::Delete) }</button>
                                }
                            </div>
                        }
                        if let Some(text) = *error {
                            <p class="error" role="alert">{ i18n.t(text) }</p>
                        }
                    </div>
                    if !was_deleted {
                        { ownership_panel(&i18n, navigator.clone(), current, viewer) }
                        <HistoryTimeline object_id={current.object_id} />
                        <p><Link<Route> to={Route::Provenance { id: current.object_id.to_string() }}>{ i18n.t(Text::ProvenanceLink) }</Link<Route>></p>
                    }
                    if is_owner && !was_deleted {
                        <EditForm key={current.id} photo={current.clone()} on_saved={
                            let photo = photo.dispatcher();
                            yew::Callback::from(move |updated: Photo| photo.dispatch(LiveAction::Loaded(Ok(updated))))
                        } />
                    }
                </article>
            }
        }
    };
    html! {
        <section class="page" data-page="photo">
            <PageIntro title={Text::PhotoTitle} lead={Text::PhotoLead} />
            { body }
        </section>
    }
}

/// The viewer's box: the photo's aspect ratio, as wide as the column allows while no taller
/// than 75% of the screen.
fn viewer_style(photo: &Photo) -> String {
    let (width, height) = (photo.width.max(1), photo.height.max(1));
    format!("aspect-ratio: {width} / {height}; width: min(100%, calc(75vh * {width} / {height}))")
}

#[derive(Debug, PartialEq, Properties)]
struct EditFormProps {
    photo: Photo,
    on_saved: yew::Callback<Photo>,
}

/// Title, description and tags, for the owner.
#[function_component(EditForm)]
fn edit_form(props: &EditFormProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let title = use_state(|| props.photo.title.clone());
    let description = use_state(|| props.photo.description.clone());
    let tags = use_state(|| props.photo.tags.join(", "));
    let error = use_state(|| None::<Text>);
    // Saved elsewhere (another tab, or this form): the fields show what is saved now.
    {
        let (title, description, tags) = (title.clone(), description.clone(), tags.clone());
        let saved = (
            props.photo.title.clone(),
            props.photo.description.clone(),
            props.photo.tags.clone(),
        );
        use_effect_with(
            saved,
            move |(saved_title, saved_description, saved_tags)| {
                title.set(saved_title.clone());
                description.set(saved_description.clone());
                tags.set(saved_tags.join(", "));
            },
        );
    }
    let onsubmit = {
        let change = UpdatePhotoRequest {
            title: Some((*title).clone().into()),
            description: Some((*description).clone().into()),
            tags: Some(
                tags.split(',')
                    .map(|tag| tag.trim().to_owned())
                    .filter(|tag| !tag.is_empty())
                    .collect::<Vec<_>>()
                    .into(),
            ),
        };
        let (error, on_saved, id) = (error.clone(), props.on_saved.clone(), props.photo.id);
        move |event: SubmitEvent| {
            event.prevent_default();
            let (api, change, error, on_saved) =
                (api.clone(), change.clone(), error.clone(), on_saved.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.update_photo(id, &change).await {
                    Ok(updated) => {
                        error.set(None);
                        on_saved.emit(updated);
                    }
                    Err(failure) => error.set(Some(failure_text(&failure))),
                }
            });
        }
    };
    let input = |state: &yew::UseStateHandle<String>| {
        let state = state.clone();
        move |event: InputEvent| {
            state.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };
    html! {
        <form class="card form" {onsubmit} data-testid="edit-photo">
            <h2>{ i18n.t(Text::EditPhoto) }</h2>
            <label>{ i18n.t(Text::PhotoTitleField) }<input name="title" maxlength="200" value={(*title).clone()} oninput={input(&title)} /></label>
            <label>{ i18n.t(Text::PhotoDescriptionField) }<input name="description" maxlength="2000" value={(*description).clone()} oninput={input(&description)} /></label>
            <label>{ i18n.t(Text::PhotoTagsField) }<input name="tags" value={(*tags).clone()} oninput={input(&tags)} /></label>
            if let Some(text) = *error {
                <p class="error" role="alert">{ i18n.t(text) }</p>
            }
            <button type="submit" class="primary">{ i18n.t(Text::Save) }</button>
        </form>
    }
}
