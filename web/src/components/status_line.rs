//! One line at the foot of the screen: is the server, and its database, reachable, and are
//! live updates arriving?

use yew::{Html, function_component, html};

use crate::{
    hooks::{ServiceHealth, use_service_status},
    i18n::{Text, use_i18n},
    realtime::{ConnectionState, use_realtime},
};

#[function_component(StatusLine)]
pub fn status_line() -> Html {
    let i18n = use_i18n();
    let health = use_service_status();
    let realtime = use_realtime();
    let (state, text, version) = match &health {
        ServiceHealth::Checking => ("checking", Text::StatusChecking, None),
        ServiceHealth::Online { version } => ("online", Text::StatusOnline, Some(version)),
        ServiceHealth::Degraded { version } => ("degraded", Text::StatusDegraded, Some(version)),
        ServiceHealth::Offline => ("offline", Text::StatusOffline, None),
    };
    let (live_text, attempt) = match realtime.state {
        ConnectionState::Connecting => (Text::RealtimeConnecting, None),
        ConnectionState::Live => (Text::RealtimeLive, None),
        ConnectionState::Reconnecting { attempt } => {
            (Text::RealtimeReconnecting, Some(attempt.to_string()))
        }
    };
    html! {
        <div class="status-line" data-testid="status-line" data-state={state} role="status" aria-live="polite">
            <span class="dot" aria-hidden="true" />
            <span>{ i18n.t(text) }</span>
            if let Some(version) = version {
                <span>{ format!("· v{version}") }</span>
            }
            <span class="realtime" data-testid="realtime-state" data-state={realtime.state.name()} data-attempt={attempt}>
                <span class="dot" aria-hidden="true" />
                { i18n.t(live_text) }
            </span>
        </div>
    }
}
