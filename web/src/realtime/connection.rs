//! The tab's socket: a ticket, the connection, reading what arrives, and trying again with
//! backoff when it drops.
//!
//! Written on `web_sys::WebSocket` directly: the browser's socket is all this needs, and its
//! callbacks map one to one onto the steps below.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use gallery_types::{ClientMessage, Event, ProfileRequestState, ServerMessage, close_code};
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use yew::Callback;

use super::StatusChange;
use crate::api::Api;

/// The first retry waits up to this long; each further one up to twice as long as the last.
const FIRST_RETRY_MS: f64 = 500.0;
/// Retries never wait longer than this: a server back from a restart is found soon enough.
const LONGEST_RETRY_MS: f64 = 30_000.0;
/// A connection that stayed live this long was a success: the next drop starts the backoff
/// over. (Starting over at every Hello would hammer a server that greets and then fails.)
const STABLE_MS: f64 = 10_000.0;
/// A socket that has not said Hello this long after it was created is given up: something
/// on the way (a proxy) took it without reaching the server.
const HELLO_TIMEOUT_MS: u32 = 15_000;

/// A component listening to server messages.
pub(super) type Listener = Rc<dyn Fn(&ServerMessage)>;

/// What outlives any one connection: who listens, where the stream stands, and the way to
/// the live socket.
#[derive(Default)]
pub(super) struct Hub {
    /// Components listening, with their subscription ids, in the order they subscribed.
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_listener: Cell<u64>,
    /// The `seq` of the last event received (or of the last Hello): the next connection
    /// resumes after it, also across sign-in and sign-out.
    last_seq: Cell<Option<i64>>,
    /// The socket that said Hello and is still open, for sending.
    live_socket: RefCell<Option<WebSocket>>,
    /// The session's access token as it is now: renewed while a socket stays open, and
    /// needed for the ticket of the next one.
    access_token: RefCell<Option<String>>,
}

impl Hub {
    /// Adds a listener; the id takes it away again.
    pub(super) fn listen(&self, listener: Listener) -> u64 {
        let id = self.next_listener.get();
        self.next_listener.set(id + 1);
        self.listeners.borrow_mut().push((id, listener));
        id
    }

    pub(super) fn unlisten(&self, id: u64) {
        self.listeners
            .borrow_mut()
            .retain(|(listening, _)| *listening != id);
    }

    /// Sends on the live socket; false if there is none.
    pub(super) fn send(&self, message: &ClientMessage) -> bool {
        let Some(socket) = self.live_socket.borrow().clone() else {
            return false;
        };
        let Ok(text) = serde_json::to_string(message) else {
            return false;
        };
        socket.send_with_str(&text).is_ok()
    }

    pub(super) fn set_access_token(&self, token: Option<String>) {
        *self.access_token.borrow_mut() = token;
    }

    /// Hands `message` to every listener. The list is copied first: what a listener does
    /// may make components subscribe or leave.
    fn deliver(&self, message: &ServerMessage) {
        let listeners: Vec<Listener> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, listener)| listener.clone())
            .collect();
        for listener in listeners {
            listener(message);
        }
    }
}

/// One identity's connection, from its first attempt until [`Connection::stop`]: it
/// reopens the socket for as long as it lives. Its callbacks hold it weakly, so dropping the
/// last [`Rc`] (after `stop`) frees everything.
pub(super) struct Connection {
    hub: Rc<Hub>,
    /// Signed-in connections need a ticket for every attempt.
    signed_in: bool,
    on_status: Callback<StatusChange>,
    /// Forgets the session locally when the server says it ended.
    end_session: Callback<()>,
    /// Attempts that failed since the last stable connection: they set the pause before
    /// the next.
    failures: Cell<u32>,
    /// When the current socket said Hello (`Date.now()`), to judge how it did once it drops.
    live_since: Cell<Option<f64>>,
    /// The user the last Hello named: a change to anyone else's profile reloads the pages.
    viewer: Cell<Option<i64>>,
    /// The `after` the current socket was opened with.
    opened_after: Cell<Option<i64>>,
    phase: RefCell<Phase>,
    /// Browser events that cut a pause short or end a socket the network left behind.
    browser_events: RefCell<Vec<EventListener>>,
}

/// What a connection is doing.
enum Phase {
    /// Asking for a ticket.
    Ticket,
    /// A socket is opening, or open and waiting for its Hello (`hello_timer` runs until it
    /// comes), or live.
    Socket {
        socket: OpenSocket,
        hello_timer: Option<Timeout>,
    },
    /// Pausing before the next attempt (the timer starts it; dropping it cancels).
    Waiting {
        _retry: Timeout,
    },
    Stopped,
}

impl Connection {
    /// Starts connecting at once.
    pub(super) fn start(
        hub: Rc<Hub>,
        signed_in: bool,
        on_status: Callback<StatusChange>,
        end_session: Callback<()>,
    ) -> Rc<Self> {
        on_status.emit(StatusChange::Connecting);
        let connection = Rc::new(Self {
            hub,
            signed_in,
            on_status,
            end_session,
            failures: Cell::new(0),
            live_since: Cell::new(None),
            viewer: Cell::new(None),
            opened_after: Cell::new(None),
            phase: RefCell::new(Phase::Stopped),
            browser_events: RefCell::new(Vec::new()),
        });
        connection.watch_browser();
        connection.attempt();
        connection
    }

    /// Closes the socket and cancels every timer and listener; nothing happens after this.
    pub(super) fn stop(&self) {
        self.browser_events.borrow_mut().clear();
        self.hub.live_socket.borrow_mut().take();
        *self.phase.borrow_mut() = Phase::Stopped;
    }

    /// The session's access token changed: a signed-in connection pausing (its ticket was
    /// perhaps refused with the old token) tries again at once.
    pub(super) fn token_changed(self: &Rc<Self>) {
        if self.signed_in {
            self.retry_now();
        }
    }

    /// Cuts a pause short: the network is back, the tab is in view again, or the session
    /// has a new token. Does nothing while connecting or connected.
    fn retry_now(self: &Rc<Self>) {
        if matches!(*self.phase.borrow(), Phase::Waiting { .. }) {
            self.attempt();
        }
    }

    /// One try: a ticket if signed in, then the socket.
    fn attempt(self: &Rc<Self>) {
        if !browser_online() {
            // Every try would fail, and each would log an error: the `online` event wakes it.
            self.failed();
            return;
        }
        if !self.signed_in {
            self.open(None);
            return;
        }
        let Some(token) = self.hub.access_token.borrow().clone() else {
            self.failed();
            return;
        };
        *self.phase.borrow_mut() = Phase::Ticket;
        let connection = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let ticket = Api::with_token(Some(&token)).ws_ticket().await;
            let Some(connection) = connection.upgrade() else {
                return;
            };
            if !matches!(*connection.phase.borrow(), Phase::Ticket) {
                return;
            }
            match ticket {
                Ok(ticket) => connection.open(Some(&ticket.ticket)),
                // A 401 means the access token expired (a sleeping laptop): the session
                // renews it soon, and the new token wakes this connection. A session that
                // really ended signs the tab out, which replaces this connection. Connecting
                // anonymously meanwhile would skip the user's private events for good.
                Err(_) => connection.failed(),
            }
        });
    }

    fn open(self: &Rc<Self>, ticket: Option<&str>) {
        // The tab's first socket starts from what the pages already show.
        let after = self
            .hub
            .last_seq
            .get()
            .or_else(crate::api::oldest_answer_seq);
        self.opened_after.set(after);
        let socket = socket_url(ticket, after).and_then(|url| WebSocket::new(&url).ok());
        let Some(socket) = socket else {
            self.failed();
            return;
        };
        let on_message = {
            let connection = Rc::downgrade(self);
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                // Binary frames are not part of the protocol; the server sends none.
                if let (Some(connection), Some(text)) =
                    (connection.upgrade(), event.data().as_string())
                {
                    connection.receive(&text);
                }
            })
        };
        let on_close = {
            let connection = Rc::downgrade(self);
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                if let Some(connection) = connection.upgrade() {
                    connection.closed(event.code());
                }
            })
        };
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let hello_timer = {
            let connection = Rc::downgrade(self);
            Timeout::new(HELLO_TIMEOUT_MS, move || {
                if let Some(connection) = connection.upgrade() {
                    connection.failed();
                }
            })
        };
        *self.phase.borrow_mut() = Phase::Socket {
            socket: OpenSocket {
                socket,
                _on_message: on_message,
                _on_close: on_close,
            },
            hello_timer: Some(hello_timer),
        };
    }

    fn receive(&self, text: &str) {
        let message = match serde_json::from_str::<ServerMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                warn(&format!("realtime: an unreadable message ({error})"));
                return;
            }
        };
        match &message {
            ServerMessage::Hello {
                seq,
                reload,
                user_id,
            } => {
                self.hub.last_seq.set(Some(*seq));
                self.viewer.set(*user_id);
                self.live_since.set(Some(js_sys::Date::now()));
                if let Phase::Socket {
                    socket,
                    hello_timer,
                } = &mut *self.phase.borrow_mut()
                {
                    hello_timer.take();
                    *self.hub.live_socket.borrow_mut() = Some(socket.socket.clone());
                }
                // Opened before any page had answered: changes between an answer and this
                // Hello reached neither, so the pages load again.
                let missed = self.opened_after.get().is_none()
                    && crate::api::oldest_answer_seq().is_some_and(|oldest| oldest < *seq);
                self.on_status.emit(StatusChange::Live {
                    reload: *reload || missed,
                });
            }
            ServerMessage::Event { seq, event } => {
                // Each event once, even if a server replays one it already sent.
                if self.hub.last_seq.get().is_some_and(|last| *seq <= last) {
                    return;
                }
                self.hub.last_seq.set(Some(*seq));
                // Someone's photos appeared or disappeared: which ones, only a reload tells.
                let viewer = self.viewer.get();
                let reload = match event {
                    Event::ProfileVisibility(change) => Some(change.user_id) != viewer,
                    // Access to a private collection granted or taken back, for this viewer.
                    Event::ProfileRequestChanged(changed) => {
                        Some(changed.request.requester.id) == viewer
                            && matches!(
                                changed.request.state,
                                ProfileRequestState::Approved | ProfileRequestState::Revoked
                            )
                    }
                    _ => false,
                };
                if reload {
                    self.on_status.emit(StatusChange::Reload);
                }
            }
            ServerMessage::Error { code, message } => {
                warn(&format!(
                    "realtime: the server refused a message: {code:?}: {message}"
                ));
            }
            _ => {}
        }
        self.hub.deliver(&message);
    }

    fn closed(self: &Rc<Self>, code: u16) {
        match code {
            close_code::SESSION_ENDED if self.signed_in => self.end_session.emit(()),
            close_code::UNSUPPORTED_DATA
            | close_code::POLICY_VIOLATION
            | close_code::MESSAGE_TOO_BIG => {
                warn(&format!(
                    "realtime: the server refused what this tab sent (close code {code})"
                ));
            }
            _ => {}
        }
        self.failed();
    }

    /// The browser says the network is gone: an open socket would take long to notice.
    fn went_offline(self: &Rc<Self>) {
        if matches!(*self.phase.borrow(), Phase::Socket { .. }) {
            self.failed();
        }
    }

    /// Gives up the current try (closing its socket, if any) and pauses before the next.
    fn failed(self: &Rc<Self>) {
        self.hub.live_socket.borrow_mut().take();
        if self
            .live_since
            .take()
            .is_some_and(|since| js_sys::Date::now() - since >= STABLE_MS)
        {
            self.failures.set(0);
        }
        let attempt = self.failures.get() + 1;
        self.failures.set(attempt);
        let timer = {
            let connection = Rc::downgrade(self);
            Timeout::new(backoff_ms(attempt, js_sys::Math::random()), move || {
                if let Some(connection) = connection.upgrade() {
                    connection.attempt();
                }
            })
        };
        *self.phase.borrow_mut() = Phase::Waiting { _retry: timer };
        self.on_status.emit(StatusChange::Reconnecting { attempt });
    }

    fn watch_browser(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let connection = Rc::downgrade(self);
        let mut events = vec![
            EventListener::new(&window, "online", {
                let connection = connection.clone();
                move |_| {
                    if let Some(connection) = connection.upgrade() {
                        connection.retry_now();
                    }
                }
            }),
            EventListener::new(&window, "offline", {
                let connection = connection.clone();
                move |_| {
                    if let Some(connection) = connection.upgrade() {
                        connection.went_offline();
                    }
                }
            }),
        ];
        if let Some(document) = window.document() {
            // Phones suspend background tabs; coming back should not wait out a long pause.
            events.push(EventListener::new(
                &document,
                "visibilitychange",
                move |_| {
                    if let Some(connection) = connection.upgrade()
                        && tab_visible()
                    {
                        connection.retry_now();
                    }
                },
            ));
        }
        *self.browser_events.borrow_mut() = events;
    }
}

/// A socket with the handlers it was given. Dropping it detaches them and closes it.
struct OpenSocket {
    socket: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        if self.socket.ready_state() == WebSocket::CONNECTING {
            // Closing a socket before it opens makes the browser log an error: close it as
            // soon as it opens instead. (If it never opens, this small closure is not freed.)
            let socket = self.socket.clone();
            let close_when_open = Closure::once_into_js(move || {
                let _ = socket.close();
            });
            self.socket
                .set_onopen(Some(close_when_open.unchecked_ref()));
        } else {
            // Closing a socket that is already closed does nothing.
            let _ = self.socket.close();
        }
    }
}

/// The pause before try number `attempt` (from 1): a ceiling doubling from
/// [`FIRST_RETRY_MS`] up to [`LONGEST_RETRY_MS`], and a point in its upper half chosen by
/// `random` (in `0..1`), so that the many clients a restarting server dropped together do
/// not return together.
fn backoff_ms(attempt: u32, random: f64) -> u32 {
    let doublings = attempt.saturating_sub(1).min(16) as i32;
    let ceiling = (FIRST_RETRY_MS * 2f64.powi(doublings)).min(LONGEST_RETRY_MS);
    (ceiling * (0.5 + random.clamp(0.0, 1.0) / 2.0)) as u32
}

/// `ws(s)://<this host>/ws?ticket=..&after=..`.
fn socket_url(ticket: Option<&str>, after: Option<i64>) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().ok()?;
    let mut query = Vec::new();
    if let Some(ticket) = ticket {
        query.push(format!(
            "ticket={}",
            String::from(js_sys::encode_uri_component(ticket))
        ));
    }
    if let Some(after) = after {
        query.push(format!("after={after}"));
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    Some(format!("{scheme}://{host}/ws{query}"))
}

/// Whether the browser believes it is online (false means surely not).
fn browser_online() -> bool {
    web_sys::window().is_none_or(|window| window.navigator().on_line())
}

fn tab_visible() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| !document.hidden())
}

/// A note for developers in the console (a warning: errors are for what breaks the app).
fn warn(text: &str) {
    web_sys::console::warn_1(&JsValue::from_str(text));
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn the_pause_doubles_up_to_the_longest_and_stays_in_the_upper_half() {
        let ceilings: Vec<u32> = (1..=8).map(|attempt| backoff_ms(attempt, 1.0)).collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]
        );
        assert_eq!(backoff_ms(1, 0.0), 250);
        assert_eq!(backoff_ms(40, 0.0), 15_000);
        for attempt in 1..=20 {
            let (low, high) = (backoff_ms(attempt, 0.0), backoff_ms(attempt, 0.999));
            assert!(
                low > 0 && low <= high && high <= 30_000,
                "attempt {attempt}"
            );
        }
    }
}
