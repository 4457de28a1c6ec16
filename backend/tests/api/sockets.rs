//! A WebSocket client for the tests: opens `/ws`, reads typed server messages with timeouts.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gallery_types::{ClientMessage, Event, ServerMessage};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, client_async,
    tungstenite::{self, Message, client::IntoClientRequest, http},
};

use crate::helpers::{SignedIn, TestApp};

/// How long any single expected message may take.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(15);

pub type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An open socket.
pub struct Socket {
    pub stream: Stream,
}

/// What to open a socket with.
#[derive(Default)]
pub struct Open<'a> {
    pub ticket: Option<&'a str>,
    pub after: Option<i64>,
    pub origin: Option<&'a str>,
    /// A small receive buffer makes a client that stops reading stall the server quickly.
    pub receive_buffer: Option<u32>,
}

impl TestApp {
    /// `ws://127.0.0.1:<port>/ws?...`.
    pub fn socket_url(&self, ticket: Option<&str>, after: Option<i64>) -> String {
        let mut url = format!("{}/ws?", self.address.replacen("http://", "ws://", 1));
        if let Some(ticket) = ticket {
            url.push_str(&format!("ticket={ticket}&"));
        }
        if let Some(after) = after {
            url.push_str(&format!("after={after}"));
        }
        url
    }

    /// A single-use socket ticket for `user`.
    pub async fn ticket(&self, user: &SignedIn) -> String {
        let response = self
            .client
            .post(self.url("/api/ws/ticket"))
            .bearer_auth(&user.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "a ticket");
        let body: serde_json::Value = response.json().await.unwrap();
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// Opens a socket; the HTTP refusal if the upgrade is refused.
    pub async fn try_open(&self, open: Open<'_>) -> Result<Socket, tungstenite::Error> {
        let mut request = self
            .socket_url(open.ticket, open.after)
            .into_client_request()?;
        if let Some(origin) = open.origin {
            request
                .headers_mut()
                .insert("origin", http::HeaderValue::from_str(origin).unwrap());
        }
        let address = self.address.trim_start_matches("http://");
        let socket = tokio::net::TcpSocket::new_v4()?;
        if let Some(size) = open.receive_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let tcp = socket.connect(address.parse().unwrap()).await?;
        let (stream, _) = client_async(request, MaybeTlsStream::Plain(tcp)).await?;
        Ok(Socket { stream })
    }

    /// Opens a socket (anonymous unless a ticket is given) and reads its hello.
    pub async fn open(&self, open: Open<'_>) -> (Socket, Hello) {
        let mut socket = self.try_open(open).await.expect("the socket opens");
        let hello = socket.hello().await;
        (socket, hello)
    }

    /// Opens a signed-in socket for `user` and reads its hello.
    pub async fn open_as(&self, user: &SignedIn) -> (Socket, Hello) {
        let ticket = self.ticket(user).await;
        self.open(Open {
            ticket: Some(&ticket),
            ..Open::default()
        })
        .await
    }
}

/// The first message of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub seq: i64,
    pub reload: bool,
    pub user_id: Option<i64>,
}

/// The HTTP status and JSON body of a refused upgrade.
pub fn refusal(error: tungstenite::Error) -> (u16, serde_json::Value) {
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            let body = response.body().clone().unwrap_or_default();
            (status, serde_json::from_slice(&body).expect("a JSON error"))
        }
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

impl Socket {
    /// The next frame; panics if none comes in time or the socket has ended.
    async fn next_frame(&mut self) -> Message {
        tokio::time::timeout(MESSAGE_TIMEOUT, self.stream.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a readable frame")
    }

    /// The next server message (pings and pongs skipped); panics on close or timeout.
    pub async fn next(&mut self) -> ServerMessage {
        loop {
            match self.next_frame().await {
                Message::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|error| panic!("{text}: {error}"));
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    pub async fn hello(&mut self) -> Hello {
        match self.next().await {
            ServerMessage::Hello {
                seq,
                reload,
                user_id,
            } => Hello {
                seq,
                reload,
                user_id,
            },
            other => panic!("expected hello, got {other:?}"),
        }
    }

    /// The next event and its sequence number.
    pub async fn event(&mut self) -> (i64, Event) {
        match self.next().await {
            ServerMessage::Event { seq, event } => (seq, event),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&serde_json::to_string(message).unwrap())
            .await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// Waits for the server's next ping, skipping messages; panics on a close or timeout.
    pub async fn ping(&mut self) {
        loop {
            match self.next_frame().await {
                Message::Ping(_) => return,
                Message::Close(frame) => panic!("closed while waiting for a ping: {frame:?}"),
                _ => {}
            }
        }
    }

    /// Reads until the server closes; the close code, or None if the connection just ended.
    /// Also returns how many events arrived before the end.
    pub async fn until_closed(&mut self) -> (Option<u16>, usize) {
        let mut events = 0;
        loop {
            let frame = tokio::time::timeout(MESSAGE_TIMEOUT, self.stream.next())
                .await
                .expect("the server ends the connection in time");
            match frame {
                Some(Ok(Message::Close(frame))) => {
                    return (frame.map(|frame| u16::from(frame.code)), events);
                }
                Some(Ok(Message::Text(text))) if text.starts_with(r#"{"type":"event""#) => {
                    events += 1;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (None, events),
            }
        }
    }
}
