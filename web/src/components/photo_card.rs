//! A photo in a grid: its blurhash placeholder at once, the thumbnail when it arrives.

use gallery_types::Photo;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::{
    Html, Properties, classes, function_component, html, use_effect_with, use_node_ref, use_state,
};
use yew_router::prelude::Link;

use crate::{blurhash, route::Route};

/// The placeholder is decoded this small and stretched: blurhashes hold no detail anyway.
const PLACEHOLDER_SIZE: u32 = 32;

#[derive(Debug, PartialEq, Properties)]
pub struct PlaceholderProps {
    pub hash: String,
}

/// Paints a blurhash into a small canvas that CSS stretches over the frame.
#[function_component(Placeholder)]
pub fn placeholder(props: &PlaceholderProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.hash.clone(), move |hash| {
            let painted = (|| {
                let canvas = canvas.cast::<HtmlCanvasElement>()?;
                let context = canvas
                    .get_context("2d")
                    .ok()??
                    .dyn_into::<CanvasRenderingContext2d>()
                    .ok()?;
                let pixels = blurhash::decode(hash, PLACEHOLDER_SIZE, PLACEHOLDER_SIZE)?;
                let image = ImageData::new_with_u8_clamped_array_and_sh(
                    Clamped(&pixels),
                    PLACEHOLDER_SIZE,
                    PLACEHOLDER_SIZE,
                )
                .ok()?;
                context.put_image_data(&image, 0.0, 0.0).ok()
            })();
            // An undecodable hash leaves the neutral background; nothing to report.
            let _ = painted;
        });
    }
    html! {
        <canvas ref={canvas} class="placeholder" width={PLACEHOLDER_SIZE.to_string()} height={PLACEHOLDER_SIZE.to_string()} aria-hidden="true" />
    }
}

#[derive(Debug, PartialEq, Properties)]
pub struct PhotoCardProps {
    pub photo: Photo,
}

#[function_component(PhotoCard)]
pub fn photo_card(props: &PhotoCardProps) -> Html {
    let photo = &props.photo;
    let loaded = use_state(|| false);
    let onload = {
        let loaded = loaded.clone();
        move |_| loaded.set(true)
    };
    let title = if photo.title.is_empty() {
        "—".to_owned()
    } else {
        photo.title.clone()
    };
    html! {
        <Link<Route> to={Route::Photo { id: photo.id.to_string() }} classes="photo-card">
            <div class="frame">
                <Placeholder hash={photo.placeholder.clone()} />
                <img
                    class={classes!((*loaded).then_some("loaded"))}
                    src={photo.urls.thumbnail.clone()}
                    alt={photo.title.clone()}
                    loading="lazy"
                    decoding="async"
                    {onload}
                />
            </div>
            <div class="caption">
                <span class="title">{ title }</span>
                <span class="favorites" aria-label="favorites">{ format!("♥ {}", photo.favorite_count) }</span>
            </div>
        </Link<Route>>
    }
}
