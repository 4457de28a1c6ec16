//! Max Photo Gallery server.
//!
//! One process serves the JSON API (documented by OpenAPI at `/api/openapi.json`), the health
//! probes, and the built Yew web client, on top of one PostgreSQL database.

pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod startup;
pub mod telemetry;
pub mod web;
