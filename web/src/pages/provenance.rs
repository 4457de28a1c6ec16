//! An object's provenance, the page its QR code opens: the photo, who owns it now, every
//! change of hands, and whether the history's hash chain verifies. Open to everyone who may
//! see the object, signed in or not.

use gallery_types::{Event, Photo};
use yew::{Callback, Html, Properties, function_component, html, use_reducer};
use yew_router::prelude::Link;

use crate::{
    api::ApiFailure,
    components::{HistoryTimeline, PageIntro, Placeholder, Skeleton, person_link},
    hooks::use_load,
    i18n::{Text, failure_text, use_i18n},
    realtime::{Live, LiveAction, use_realtime, use_realtime_event},
    route::Route,
    session::use_api,
};

#[derive(Debug, PartialEq, Properties)]
pub struct ProvenanceProps {
    pub id: String,
}

#[function_component(Provenance)]
pub fn provenance(props: &ProvenanceProps) -> Html {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let object = use_reducer(Live::<Photo>::default);
    let id: Option<i64> = props.id.parse().ok();
    {
        let (object, api) = (object.dispatcher(), api.clone());
        use_load(
            (id, api.clone(), realtime.reload_generation),
            move |(id, _, _)| {
                let id = *id;
                async move {
                    match id {
                        Some(id) => api.object(id).await,
                        None => Err(ApiFailure::Status {
                            status: 404,
                            body: None,
                        }),
                    }
                }
            },
            Callback::from(move |loaded| object.dispatch(LiveAction::Loaded(loaded))),
        );
    }
    {
        let object = object.dispatcher();
        use_realtime_event(move |event: &Event| object.dispatch(LiveAction::Event(event.clone())));
    }
    let body = match &object.value {
        None => html! { <Skeleton /> },
        Some(Err(failure)) if failure.status() == Some(404) => {
            html! { <div class="card">{ i18n.t(Text::PhotoNotFound) }</div> }
        }
        Some(Err(failure)) => {
            html! { <p class="error" role="alert">{ i18n.t(failure_text(failure)) }</p> }
        }
        Some(Ok(photo)) => {
            let page_url = web_sys::window()
                .and_then(|window| window.location().origin().ok())
                .map(|origin| format!("{origin}/objects/{}", photo.object_id))
                .unwrap_or_default();
            let qr = format!(
                "/api/qr-code?url={}",
                js_sys::encode_uri_component(&page_url)
            );
            html! {
                <>
                    <div class="card provenance" data-testid="provenance">
                        <Link<Route> to={Route::Photo { id: photo.id.to_string() }} classes="provenance-photo">
                            <Placeholder hash={photo.placeholder.clone()} />
                            <img src={photo.urls.thumbnail.clone()} alt={photo.title.clone()} />
                        </Link<Route>>
                        <div>
                            <h2>{ if photo.title.is_empty() { "—".to_owned() } else { photo.title.clone() } }</h2>
                            <dl class="facts">
                                <dt>{ i18n.t(Text::Creator) }</dt><dd>{ person_link(&photo.creator) }</dd>
                                <dt>{ i18n.t(Text::Owner) }</dt><dd data-testid="provenance-owner">{ person_link(&photo.owner) }</dd>
                            </dl>
                        </div>
                        <figure class="provenance-qr">
                            <img class="qr-image" src={qr} alt={i18n.t(Text::ProvenanceQr)} width="160" height="160" />
                            <figcaption class="muted small">{ i18n.t(Text::ProvenanceQr) }</figcaption>
                        </figure>
                    </div>
                    <HistoryTimeline object_id={photo.object_id} />
                </>
            }
        }
    };
    html! {
        <section class="page" data-page="provenance">
            <PageIntro title={Text::ProvenanceTitle} lead={Text::ProvenanceLead} />
            { body }
        </section>
    }
}
