//! What a page shows while its content is on the way: grey shapes where it will be, announced
//! to screen readers as busy (and "Loading…"), instead of a blank page.

use yew::{Html, Properties, function_component, html};

use crate::i18n::{Text, use_i18n};

#[derive(Debug, PartialEq, Properties)]
pub struct SkeletonProps {
    /// Photo tiles in the shape of a grid; none: lines of text.
    #[prop_or_default]
    pub tiles: u8,
}

#[function_component(Skeleton)]
pub fn skeleton(props: &SkeletonProps) -> Html {
    let i18n = use_i18n();
    html! {
        <div class={if props.tiles > 0 { "skeleton photo-grid" } else { "skeleton" }} role="status" aria-busy="true" data-testid="skeleton">
            <span class="visually-hidden">{ i18n.t(Text::Loading) }</span>
            if props.tiles > 0 {
                { for (0..props.tiles).map(|_| html! { <div class="skeleton-tile" aria-hidden="true" /> }) }
            } else {
                <div class="skeleton-line wide" aria-hidden="true" />
                <div class="skeleton-line" aria-hidden="true" />
                <div class="skeleton-line short" aria-hidden="true" />
            }
        </div>
    }
}
