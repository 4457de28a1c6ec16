//! Upload: pick (or drop, or shoot) a photo, see it, describe it, and watch it go up.

use web_sys::{DragEvent, File, FormData, HtmlInputElement};
use yew::{
    Callback, Html, InputEvent, SubmitEvent, TargetCast, function_component, html, use_effect_with,
    use_state,
};
use yew_router::{hooks::use_navigator, prelude::Link};

use crate::{
    api::photos::Uploaded,
    components::{PageIntro, SignInPrompt},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    max_bridge::{self, Haptic},
    route::Route,
    session::{Session, use_api, use_session},
};

/// The picked file and a URL to preview it.
#[derive(Clone, PartialEq)]
struct Picked {
    file: File,
    preview_url: String,
}

impl Picked {
    fn new(file: File) -> Option<Self> {
        let preview_url = web_sys::Url::create_object_url_with_blob(&file).ok()?;
        Some(Self { file, preview_url })
    }
}

#[function_component(Upload)]
pub fn upload() -> Html {
    let i18n = use_i18n();
    let session = use_session();
    let api = use_api();
    let navigator = use_navigator();
    let picked = use_state(|| None::<Picked>);
    let title = use_state(String::new);
    let description = use_state(String::new);
    let tags = use_state(String::new);
    let progress = use_state(|| None::<f64>);
    let error = use_state(|| None::<Text>);
    // Some(None): a duplicate whose original its owner keeps private.
    let duplicate = use_state(|| None::<Option<i64>>);
    let max_bytes = use_state(|| None::<u64>);
    {
        let (max_bytes, api) = (max_bytes.clone(), api.clone());
        use_load(
            (),
            move |_| async move { api.status().await },
            Callback::from(move |status: Result<gallery_types::ServiceStatus, _>| {
                if let Ok(status) = status {
                    max_bytes.set(Some(status.max_upload_bytes));
                }
            }),
        );
    }
    let max_upload_bytes = *max_bytes;
    // The preview's object URL is released when the page goes.
    {
        let picked = picked.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(old) = &*picked {
                    let _ = web_sys::Url::revoke_object_url(&old.preview_url);
                }
            }
        });
    }

    let Session::SignedIn(_) = &session.session else {
        return html! {
            <section class="page" data-page="upload">
                <PageIntro title={Text::UploadTitle} lead={Text::UploadLead} />
                <SignInPrompt />
            </section>
        };
    };

    let pick = {
        let (picked, error, duplicate) = (picked.clone(), error.clone(), duplicate.clone());
        Callback::from(move |file: Option<File>| {
            if let Some(old) = &*picked {
                let _ = web_sys::Url::revoke_object_url(&old.preview_url);
            }
            error.set(None);
            duplicate.set(None);
            picked.set(file.and_then(Picked::new));
        })
    };
    let on_file = {
        let pick = pick.clone();
        move |event: yew::Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            pick.emit(input.files().and_then(|files| files.get(0)));
        }
    };
    let on_drop = {
        let pick = pick.clone();
        move |event: DragEvent| {
            event.prevent_default();
            pick.emit(
                event
                    .data_transfer()
                    .and_then(|data| data.files())
                    .and_then(|files| files.get(0)),
            );
        }
    };
    let on_drag_over = |event: DragEvent| event.prevent_default();
    let text_input = |state: &yew::UseStateHandle<String>| {
        let state = state.clone();
        move |event: InputEvent| {
            state.set(event.target_unchecked_into::<HtmlInputElement>().value())
        }
    };

    let onsubmit = {
        let (picked, title, description, tags) = (
            (*picked).clone(),
            (*title).clone(),
            (*description).clone(),
            (*tags).clone(),
        );
        let (progress, error, duplicate, navigator) = (
            progress.clone(),
            error.clone(),
            duplicate.clone(),
            navigator.clone(),
        );
        move |event: SubmitEvent| {
            event.prevent_default();
            let Some(picked) = picked.clone() else {
                error.set(Some(Text::ChooseAFile));
                return;
            };
            // Refused before sending: a browser cut off mid-upload only sees a broken connection.
            if max_bytes.is_some_and(|max| picked.file.size() > max as f64) {
                error.set(Some(Text::ErrorFileTooLarge));
                return;
            }
            let Ok(form) = FormData::new() else { return };
            let appended = form
                .append_with_blob_and_filename("file", &picked.file, &picked.file.name())
                .is_ok()
                && form.append_with_str("title", &title).is_ok()
                && form.append_with_str("description", &description).is_ok()
                && form.append_with_str("tags", &tags).is_ok();
            if !appended {
                error.set(Some(Text::ErrorGeneric));
                return;
            }
            let (api, progress, error, duplicate, navigator) = (
                api.clone(),
                progress.clone(),
                error.clone(),
                duplicate.clone(),
                navigator.clone(),
            );
            progress.set(Some(0.0));
            error.set(None);
            let report = {
                let progress = progress.clone();
                Callback::from(move |share: f64| progress.set(Some(share)))
            };
            wasm_bindgen_futures::spawn_local(async move {
                // Closing the app now would lose the upload: Max asks first.
                let keep_open = max_bridge::KeepOpen::new();
                let uploaded = api.upload(form, report).await;
                drop(keep_open);
                match uploaded {
                    Ok(Uploaded::Created(photo)) => {
                        max_bridge::haptic(Haptic::Success);
                        progress.set(Some(1.0));
                        if let Some(navigator) = navigator {
                            navigator.push(&Route::Photo {
                                id: photo.id.to_string(),
                            });
                        }
                    }
                    Ok(Uploaded::Duplicate(photo)) => {
                        progress.set(None);
                        duplicate.set(Some(photo.map(|photo| photo.id)));
                    }
                    Err(failure) => {
                        max_bridge::haptic(Haptic::Error);
                        progress.set(None);
                        error.set(Some(failure_text(&failure)));
                    }
                }
            });
        }
    };

    let busy = progress.is_some();
    html! {
        <section class="page" data-page="upload">
            <PageIntro title={Text::UploadTitle} lead={Text::UploadLead} />
            <form class="card form" {onsubmit} data-testid="upload-form">
                <label class="dropzone" ondrop={on_drop} ondragover={on_drag_over}>
                    if let Some(picked) = &*picked {
                        <img class="upload-preview" src={picked.preview_url.clone()} alt="" />
                    } else {
                        <span>{ i18n.t(Text::DropHere) }</span>
                    }
                    <input type="file" name="file" accept="image/jpeg,image/png,image/gif,image/webp" onchange={on_file} />
                </label>
                <label>{ i18n.t(Text::PhotoTitleField) }<input name="title" maxlength="200" value={(*title).clone()} oninput={text_input(&title)} /></label>
                <label>{ i18n.t(Text::PhotoDescriptionField) }<input name="description" maxlength="2000" value={(*description).clone()} oninput={text_input(&description)} /></label>
                <label>{ i18n.t(Text::PhotoTagsField) }<input name="tags" value={(*tags).clone()} oninput={text_input(&tags)} /></label>
                if let Some(share) = *progress {
                    <progress data-testid="upload-progress" max="100" value={((share * 100.0).round() as u32).to_string()} />
                }
                if let Some(text) = *error {
                    <p class="error" role="alert" data-testid="upload-error">
                        { i18n.t(text) }
                        if let (Text::ErrorFileTooLarge, Some(max)) = (text, max_upload_bytes) {
                            { format!(" {} {} {}.", i18n.t(Text::UploadAtMost), max / (1024 * 1024), i18n.t(Text::Megabytes)) }
                        }
                    </p>
                }
                if let Some(existing) = *duplicate {
                    <p class="error" role="alert" data-testid="upload-duplicate">
                        { i18n.t(Text::ErrorDuplicatePhoto) }{" "}
                        if let Some(id) = existing {
                            <Link<Route> to={Route::Photo { id: id.to_string() }}>{ i18n.t(Text::SeeIt) }</Link<Route>>
                        }
                    </p>
                }
                <button type="submit" class="primary" disabled={busy}>{ i18n.t(Text::UploadButton) }</button>
            </form>
        </section>
    }
}
