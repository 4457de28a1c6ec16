//! Max Photo Gallery web client: entry point.

mod api;
mod app;
mod blurhash;
mod components;
mod hooks;
mod i18n;
mod max_bridge;
mod pages;
mod realtime;
mod route;
mod session;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
