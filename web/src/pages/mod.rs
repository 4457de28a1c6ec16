//! One component per route. Each page grows into its own file when its feature lands; until
//! then it introduces the section in the reader's language.

mod approve;
mod settings;
mod sign_in;

pub use approve::Approve;
pub use settings::Settings;
pub use sign_in::SignIn;

use yew::{Html, Properties, function_component, html};
use yew_router::prelude::Link;

use crate::{
    components::PageIntro,
    i18n::{Text, use_i18n},
    route::Route,
};

#[derive(Debug, PartialEq, Properties)]
struct SectionProps {
    name: &'static str,
    title: Text,
    lead: Text,
}

/// A section whose feature has not landed yet: its purpose, and that it is coming.
#[function_component(Section)]
fn section(props: &SectionProps) -> Html {
    let i18n = use_i18n();
    html! {
        <section class="page" data-page={props.name}>
            <PageIntro title={props.title} lead={props.lead} />
            <div class="card">{ i18n.t(Text::ComingSoon) }</div>
        </section>
    }
}

#[function_component(Gallery)]
pub fn gallery() -> Html {
    html! { <Section name="gallery" title={Text::GalleryTitle} lead={Text::GalleryLead} /> }
}

#[derive(Debug, PartialEq, Properties)]
pub struct ObjectProps {
    pub id: String,
}

#[function_component(Photo)]
pub fn photo(_props: &ObjectProps) -> Html {
    html! { <Section name="photo" title={Text::PhotoTitle} lead={Text::PhotoLead} /> }
}

#[function_component(Provenance)]
pub fn provenance(_props: &ObjectProps) -> Html {
    html! { <Section name="provenance" title={Text::ProvenanceTitle} lead={Text::ProvenanceLead} /> }
}

#[function_component(Upload)]
pub fn upload() -> Html {
    html! { <Section name="upload" title={Text::UploadTitle} lead={Text::UploadLead} /> }
}

#[function_component(Collection)]
pub fn collection() -> Html {
    html! { <Section name="collection" title={Text::CollectionTitle} lead={Text::CollectionLead} /> }
}

#[function_component(Favorites)]
pub fn favorites() -> Html {
    html! { <Section name="favorites" title={Text::FavoritesTitle} lead={Text::FavoritesLead} /> }
}

#[function_component(Trades)]
pub fn trades() -> Html {
    html! { <Section name="trades" title={Text::TradesTitle} lead={Text::TradesLead} /> }
}

#[derive(Debug, PartialEq, Properties)]
pub struct ProfileProps {
    pub handle: String,
}

#[function_component(Profile)]
pub fn profile(_props: &ProfileProps) -> Html {
    html! { <Section name="profile" title={Text::ProfileTitle} lead={Text::ProfileLead} /> }
}

#[function_component(ProfileRequests)]
pub fn profile_requests() -> Html {
    html! { <Section name="requests" title={Text::RequestsTitle} lead={Text::RequestsLead} /> }
}

#[function_component(Search)]
pub fn search() -> Html {
    html! { <Section name="search" title={Text::SearchTitle} lead={Text::SearchLead} /> }
}

#[function_component(Scanner)]
pub fn scanner() -> Html {
    html! { <Section name="scan" title={Text::ScanTitle} lead={Text::ScanLead} /> }
}

#[function_component(NotFound)]
pub fn not_found() -> Html {
    let i18n = use_i18n();
    html! {
        <section class="page" data-page="not-found">
            <PageIntro title={Text::NotFoundTitle} lead={Text::NotFoundLead} />
            <Link<Route> to={Route::Gallery}>{ i18n.t(Text::BackToGallery) }</Link<Route>>
        </section>
    }
}
