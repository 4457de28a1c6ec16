//! The gallery: every photo, newest or most favorited first, loading as you scroll, with
//! live counts and a button for the photos uploaded since.

use gallery_types::PhotoSort;
use yew::{Html, function_component, html, use_state};

use crate::{
    api::photos::FeedQuery,
    components::{PageIntro, PhotoGrid},
    i18n::{Text, use_i18n},
};

#[function_component(Gallery)]
pub fn gallery() -> Html {
    let i18n = use_i18n();
    let sort = use_state(PhotoSort::default);
    let tab = |value: PhotoSort, text: Text| {
        let sort = sort.clone();
        let pressed = *sort == value;
        html! {
            <button type="button" aria-pressed={pressed.to_string()} onclick={move |_| sort.set(value)}>{ i18n.t(text) }</button>
        }
    };
    html! {
        <section class="page" data-page="gallery">
            <PageIntro title={Text::GalleryTitle} lead={Text::GalleryLead} />
            <div class="segmented" role="group">
                { tab(PhotoSort::New, Text::SortNew) }
                { tab(PhotoSort::Popular, Text::SortPopular) }
            </div>
            <PhotoGrid query={FeedQuery { sort: *sort, ..FeedQuery::default() }} empty={Text::EmptyGallery} />
        </section>
    }
}
