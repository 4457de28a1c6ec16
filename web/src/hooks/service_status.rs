//! The service's health as the status line shows it, refreshed periodically.

use gallery_types::DatabaseState;
use gloo_timers::callback::Interval;
use yew::{hook, use_effect_with, use_state};

use crate::api::Api;

/// How often the status line asks the server again.
const REFRESH_MS: u32 = 30_000;

/// What the status line knows about the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceHealth {
    /// No answer yet.
    Checking,
    /// The server and its database answer.
    Online { version: String },
    /// The server answers but its database does not.
    Degraded { version: String },
    /// The server did not answer.
    Offline,
}

/// Asks `GET /api/status` on mount and every [`REFRESH_MS`] until unmounted.
#[hook]
pub fn use_service_status() -> ServiceHealth {
    let health = use_state(|| ServiceHealth::Checking);
    {
        let health = health.clone();
        use_effect_with((), move |_| {
            let refresh = move || {
                let health = health.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    health.set(match Api::default().status().await {
                        Ok(status) if status.database == DatabaseState::Ok => {
                            ServiceHealth::Online {
                                version: status.version,
                            }
                        }
                        Ok(status) => ServiceHealth::Degraded {
                            version: status.version,
                        },
                        Err(_) => ServiceHealth::Offline,
                    });
                });
            };
            refresh();
            let interval = Interval::new(REFRESH_MS, refresh);
            move || drop(interval)
        });
    }
    (*health).clone()
}
