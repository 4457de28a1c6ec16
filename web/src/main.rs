//! Max Photo Gallery web client: entry point.

mod api;
mod app;
mod components;
mod hooks;
mod i18n;
mod pages;
mod route;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
