//! Builds the whole application: pool, migrations, routes, middleware, listener.
//!
//! [`Application::build`] binds the listener before returning, so callers (and tests, which
//! bind port 0) learn the real address before the server runs.

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use poem::{
    EndpointExt, Route, Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    middleware::SetHeader,
};
use poem_openapi::{OpenApiService, Tags};
use sqlx::PgPool;

use crate::{config::ServeConfig, db, error, health, telemetry, web::WebClient};

/// State shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

/// The groups operations are listed under in the API documentation.
#[derive(Tags)]
pub enum ApiTag {
    /// The service itself.
    System,
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    config: ServeConfig,
    state: AppState,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, &config.storage).await?;
        db::migrate(&pool).await?;

        let acceptor = TcpListener::bind(config.addr)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let local_addr = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .context("the listener has no socket address")?;

        Ok(Self {
            acceptor,
            local_addr,
            config,
            state: AppState { pool },
        })
    }

    /// The address the server listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish within the
    /// configured grace period and closes the database pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr, "serving Max Photo Gallery on http://{}", self.local_addr);
        let routes = routes(&self.config, self.state.clone());
        Server::new_with_acceptor(self.acceptor)
            .name("gallery")
            .run_with_graceful_shutdown(routes, shutdown, Some(self.config.shutdown_grace()))
            .await
            .context("the HTTP server failed")?;
        self.state.pool.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The OpenAPI service: every `/api` operation, and the spec generated from them.
pub fn api_service() -> OpenApiService<health::StatusApi, ()> {
    OpenApiService::new(
        health::StatusApi,
        "Max Photo Gallery API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A realtime photo gallery with ownership and trading. Every error answers with \
             `{\"code\": \"...\", \"message\": \"...\"}`; clients branch on `code`.",
    )
    .server("/api")
}

fn routes(config: &ServeConfig, state: AppState) -> impl poem::Endpoint + 'static {
    let api = api_service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/health", health::health)
        .at("/ready", health::ready)
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest("/api", api)
        .nest("/", WebClient::new(&config.web_dir))
        .data(state)
        .around(error::json_errors)
        // Outside the error middleware, so error responses get these headers too.
        .with(
            SetHeader::new()
                .overriding("X-Content-Type-Options", "nosniff")
                .overriding("Referrer-Policy", "strict-origin-when-cross-origin"),
        )
        .around(telemetry::log_requests)
}
