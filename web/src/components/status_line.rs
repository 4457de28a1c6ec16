//! One line at the foot of the screen: is the server, and its database, reachable?

use yew::{Html, function_component, html};

use crate::{
    hooks::{ServiceHealth, use_service_status},
    i18n::{Text, use_i18n},
};

#[function_component(StatusLine)]
pub fn status_line() -> Html {
    let i18n = use_i18n();
    let health = use_service_status();
    let (state, text, version) = match &health {
        ServiceHealth::Checking => ("checking", Text::StatusChecking, None),
        ServiceHealth::Online { version } => ("online", Text::StatusOnline, Some(version)),
        ServiceHealth::Degraded { version } => ("degraded", Text::StatusDegraded, Some(version)),
        ServiceHealth::Offline => ("offline", Text::StatusOffline, None),
    };
    html! {
        <div class="status-line" data-testid="status-line" data-state={state} role="status" aria-live="polite">
            <span class="dot" aria-hidden="true" />
            <span>{ i18n.t(text) }</span>
            if let Some(version) = version {
                <span>{ format!("· v{version}") }</span>
            }
        </div>
    }
}
