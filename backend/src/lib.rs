//! Max Photo Gallery server.
//!
//! One process serves the JSON API (documented by OpenAPI at `/api/openapi.json`), the health
//! probes, and the built Yew web client, on top of one PostgreSQL database.
//!
//! Imports run one way: [`startup`] assembles the domains (`auth`, `profiles`, `photos`,
//! `realtime`, …); domains import the shared pieces (`api`, `caller`, `db`, `error`,
//! `events`, `rate_limit`, `users`, …) and never `startup`.

pub mod api;
pub mod auth;
pub mod caller;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod csp;
pub mod db;
pub mod error;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod ownership;
pub mod photos;
pub mod profiles;
pub mod rate_limit;
pub mod realtime;
pub mod request_guard;
pub mod share;
pub mod spec;
pub mod startup;
pub mod telemetry;
pub mod trading;
pub mod users;
pub mod web;
