//! Realtime: one WebSocket per tab, shared by every page through a context.
//!
//! [`RealtimeProvider`] keeps the socket open for the session's identity (anonymous, or
//! signed in with a fresh single-use ticket per connection), resumes after every drop from
//! the last `seq` seen, and reopens it when the person signs in or out. Pages read the
//! connection state and the reload generation with [`use_realtime`], receive events with
//! [`use_realtime_event`] (other server messages with [`use_realtime_message`]), and keep
//! fetched data current with [`Live`].

mod connection;
mod live;

use std::{cell::RefCell, rc::Rc};

use gallery_types::{ClientMessage, Event, ServerMessage};
use yew::{
    Callback, ContextProvider, Html, Properties, Reducible, function_component, hook, html,
    use_context, use_effect_with, use_memo, use_mut_ref, use_reducer,
};

use crate::session::{Session, use_session};
use connection::{Connection, Hub, Listener};
pub use live::{Live, LiveAction, LiveData};

/// Where the tab's socket stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the first connection for this session (or still finding out who is signed
    /// in).
    #[default]
    Connecting,
    /// The server said Hello: events arrive as they happen.
    Live,
    /// The connection dropped or could not be opened; the next try is number `attempt`
    /// (counting from 1 since the last connection that lasted), after a growing pause.
    Reconnecting { attempt: u32 },
}

impl ConnectionState {
    /// The name tests and styles see in `data-state`.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Live => "live",
            ConnectionState::Reconnecting { .. } => "reconnecting",
        }
    }
}

/// What a connection reports to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusChange {
    Connecting,
    /// A Hello: `reload` when the server could not replay everything missed.
    Live {
        reload: bool,
    },
    Reconnecting {
        attempt: u32,
    },
    /// Something changed that every page must load again.
    Reload,
}

/// The provider's rendered state: changed only through [`StatusChange`]s, so that several
/// reports in one tick all count.
#[derive(Debug, Clone, Default, PartialEq)]
struct Status {
    state: ConnectionState,
    reload_generation: u64,
    connections: u64,
}

impl Reducible for Status {
    type Action = StatusChange;

    fn reduce(self: Rc<Self>, change: StatusChange) -> Rc<Self> {
        let mut next = (*self).clone();
        match change {
            StatusChange::Connecting => next.state = ConnectionState::Connecting,
            StatusChange::Live { reload } => {
                next.state = ConnectionState::Live;
                next.connections += 1;
                if reload {
                    next.reload_generation += 1;
                }
            }
            StatusChange::Reconnecting { attempt } => {
                next.state = ConnectionState::Reconnecting { attempt }
            }
            StatusChange::Reload => next.reload_generation += 1,
        }
        Rc::new(next)
    }
}

/// The realtime context.
#[derive(Clone)]
pub struct Realtime {
    pub state: ConnectionState,
    /// Bumped whenever pages must load their data again (the server could not replay what
    /// the tab missed, or a profile's photos appeared or disappeared): effects that fetch
    /// list it among their dependencies.
    pub reload_generation: u64,
    /// How many connections have said Hello so far. A new value means a new connection,
    /// which knows nothing of what the tab asked the previous one (a QR sign-in to watch).
    pub connections: u64,
    hub: Rc<Hub>,
}

impl PartialEq for Realtime {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && self.reload_generation == other.reload_generation
            && self.connections == other.connections
            && Rc::ptr_eq(&self.hub, &other.hub)
    }
}

impl Realtime {
    /// Sends `message` on the live socket; false if there is none right now (send it again
    /// when [`Realtime::connections`] changes).
    pub fn send(&self, message: &ClientMessage) -> bool {
        self.hub.send(message)
    }
}

#[derive(Debug, PartialEq, Properties)]
pub struct RealtimeProviderProps {
    pub children: Html,
}

/// Owns the tab's socket; goes inside the session provider, whose identity it follows.
#[function_component(RealtimeProvider)]
pub fn realtime_provider(props: &RealtimeProviderProps) -> Html {
    let session = use_session();
    let hub = use_memo((), |_| Hub::default());
    let status = use_reducer(Status::default);
    // The connection of the current identity, for the token effect to wake.
    let current: Rc<RefCell<Option<Rc<Connection>>>> = use_mut_ref(|| None);

    // Declared before the connection's effect, so that a new connection finds the token.
    // Tokens are renewed without reconnecting; a connection waiting to retry (say its
    // ticket was refused with an expired token) tries again at once with the new one.
    let token = session
        .session
        .signed_in()
        .map(|signed_in| signed_in.access_token.clone());
    {
        let (hub, current) = (hub.clone(), current.clone());
        use_effect_with(token, move |token| {
            hub.set_access_token(token.clone());
            if let Some(connection) = current.borrow().as_ref() {
                connection.token_changed();
            }
        });
    }

    // One connection per identity: None while the session is still loading (connecting
    // anonymously first would only mean reconnecting a moment later).
    let identity = match &session.session {
        Session::Loading => None,
        Session::SignedOut => Some(None),
        Session::SignedIn(signed_in) => Some(Some(signed_in.user.id)),
    };
    {
        let (hub, current) = (hub.clone(), current.clone());
        let on_status = {
            let status = status.dispatcher();
            Callback::from(move |change| status.dispatch(change))
        };
        let end_session = session.clear.clone();
        use_effect_with(identity, move |identity| {
            let connection = identity
                .map(|user| Connection::start(hub, user.is_some(), on_status.clone(), end_session));
            if connection.is_none() {
                on_status.emit(StatusChange::Connecting);
            }
            *current.borrow_mut() = connection.clone();
            move || {
                current.borrow_mut().take();
                if let Some(connection) = connection {
                    connection.stop();
                }
            }
        });
    }

    let context = Realtime {
        state: status.state,
        reload_generation: status.reload_generation,
        connections: status.connections,
        hub: hub.clone(),
    };
    html! {
        <ContextProvider<Realtime> {context}>{ props.children.clone() }</ContextProvider<Realtime>>
    }
}

/// The realtime context; panics outside [`RealtimeProvider`], which wraps the whole app.
#[hook]
pub fn use_realtime() -> Realtime {
    use_context::<Realtime>().expect("RealtimeProvider wraps the app")
}

/// Calls `on_message` with every message the server sends this tab, in order, while the
/// calling component is mounted. The closure of the latest render is the one called, so it
/// may use that render's state.
#[hook]
pub fn use_realtime_message<F>(on_message: F)
where
    F: Fn(&ServerMessage) + 'static,
{
    let realtime = use_realtime();
    let latest: Rc<RefCell<Listener>> = use_mut_ref(|| Rc::new(|_: &ServerMessage| {}) as Listener);
    *latest.borrow_mut() = Rc::new(on_message);
    // The hub lives as long as the app: listening once per mount is enough.
    let hub = realtime.hub;
    use_effect_with((), move |_| {
        let id = hub.listen(Rc::new(move |message: &ServerMessage| {
            let on_message = latest.borrow().clone();
            on_message(message);
        }));
        move || hub.unlisten(id)
    });
}

/// Calls `on_event` with every event this tab receives, in order, while the calling
/// component is mounted (see [`use_realtime_message`]).
#[hook]
pub fn use_realtime_event<F>(on_event: F)
where
    F: Fn(&Event) + 'static,
{
    use_realtime_message(move |message| {
        if let ServerMessage::Event { event, .. } = message {
            on_event(event);
        }
    });
}
