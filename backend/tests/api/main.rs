//! Black-box tests: each starts the real server on port 0 with a fresh PostgreSQL database
//! and talks to it over real HTTP.
//!
//! They need `GALLERY_TEST_DATABASE_URL`, a superuser connection to a scratch cluster, which
//! `scripts/test.sh` sets up. `TEST_LOG=1` shows the server's logs.

mod contract;
mod deployment;
mod errors;
mod event_stream;
mod exchange;
mod health;
mod helpers;
mod images;
mod init_data;
mod input;
mod me;
mod modes;
mod openapi;
mod passwords;
mod photos;
mod profiles;
mod qr_sign_in;
mod rate_limits;
mod realtime;
mod schema;
mod sockets;
mod tokens;
mod trading;
mod uploads;
mod web_client;
