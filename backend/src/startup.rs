//! Builds the whole application: pool, migrations, routes, middleware, listener.
//!
//! [`Application::build`] binds the listener before returning, so callers (and tests, which
//! bind port 0) learn the real address before the server runs.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use poem::{
    EndpointExt, Route, Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    middleware::{CookieJarManager, SetHeader},
};
use poem_openapi::{OpenApiService, Tags};
use sqlx::{PgPool, postgres::PgListener};

use crate::{
    auth::{self, AuthApi, AuthState},
    body_limit,
    client_ip::{self, TrustedProxies},
    config::ServeConfig,
    db, error,
    events::{self, EventHub},
    health,
    photos::{
        self, PhotosApi, PhotosState,
        media::{MediaApi, MediaFiles},
    },
    rate_limit::{self, RateLimits},
    realtime::{self, Realtime, RealtimeApi},
    telemetry,
    users::MeApi,
    web::WebClient,
};

/// How often idle rate-limit keys and old sign-in requests are cleared away.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Ended sessions stay listed this long (for the record), then go.
const SESSION_RETENTION_DAYS: f64 = 30.0;

/// State shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub auth: Arc<AuthState>,
    pub rate_limits: Arc<RateLimits>,
    pub photos: Arc<PhotosState>,
    pub realtime: Arc<Realtime>,
}

/// The groups operations are listed under in the API documentation.
#[derive(Tags)]
pub enum ApiTag {
    /// The service itself.
    System,
    /// Signing in and out, sessions.
    Auth,
    /// The signed-in user's own profile.
    Me,
    /// Photos, the art objects they become, favorites and search.
    Photos,
    /// Live events: WebSocket tickets (the socket is `GET /ws`) and the event log.
    Realtime,
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    config: ServeConfig,
    state: AppState,
    event_listener: PgListener,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        let auth = AuthState::new(config.auth.clone(), config.production)?;
        auth.passwords.warm_up().await;
        let rate_limits = RateLimits::new(&config.rate_limits);
        let photos = PhotosState::new(&config.photos, &config.storage.data_dir)
            .context("cannot open the uploads directory")?;
        let pool = db::connect(&config.database, &config.storage).await?;
        db::migrate(&pool).await?;
        let (hub, event_listener) = EventHub::connect(&pool, config.realtime.queue).await?;

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
            state: AppState {
                pool,
                auth: Arc::new(auth),
                rate_limits: Arc::new(rate_limits),
                photos: Arc::new(photos),
                realtime: Arc::new(Realtime {
                    hub,
                    config: config.realtime.clone(),
                }),
            },
            config,
            event_listener,
        })
    }

    /// The address the server listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then closes every socket ("going away"), lets
    /// in-flight requests finish within the configured grace period and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr, "serving Max Photo Gallery on http://{}", self.local_addr);
        let routes = routes(&self.config, self.state.clone());
        let maintenance = tokio::spawn(maintain(self.state.clone()));
        let hub = self.state.realtime.hub.clone();
        let fan_out = tokio::spawn(hub.clone().run(
            self.state.pool.clone(),
            self.event_listener,
            self.state.auth.clone(),
        ));
        let grace = self.config.shutdown_grace();
        let shutdown = async move {
            shutdown.await;
            // Upgraded sockets are not requests the server waits for: close them first.
            hub.stop(grace).await;
        };
        let served = Server::new_with_acceptor(self.acceptor)
            .name("gallery")
            .run_with_graceful_shutdown(routes, shutdown, Some(grace))
            .await;
        maintenance.abort();
        fan_out.abort();
        served.context("the HTTP server failed")?;
        self.state.pool.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The OpenAPI service: every `/api` operation, and the spec generated from them.
pub fn api_service() -> OpenApiService<
    (
        health::StatusApi,
        AuthApi,
        MeApi,
        PhotosApi,
        MediaApi,
        RealtimeApi,
    ),
    (),
> {
    OpenApiService::new(
        (
            health::StatusApi,
            AuthApi,
            MeApi,
            PhotosApi,
            MediaApi,
            RealtimeApi,
        ),
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
    let trusted = TrustedProxies(config.rate_limits.trusted_proxies.clone());
    let api = api_service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/health", health::health)
        .at("/ready", health::ready)
        .at("/ws", realtime::socket)
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest("/api", api)
        .nest("/media", MediaFiles)
        .nest("/", WebClient::new(&config.web_dir))
        .data(state.clone())
        .with(CookieJarManager::new())
        .around(move |next, request| {
            let state = state.clone();
            async move {
                rate_limit::enforce(next, request, &state.rate_limits, &state.auth.tokens).await
            }
        })
        .around(body_limit::cap)
        .around(move |next, request| {
            let trusted = trusted.clone();
            async move { client_ip::resolve(next, request, &trusted).await }
        })
        .around(error::json_errors)
        // Outside the error middleware, so error responses get these headers too.
        .with(
            SetHeader::new()
                .overriding("X-Content-Type-Options", "nosniff")
                .overriding("Referrer-Policy", "strict-origin-when-cross-origin"),
        )
        .around(telemetry::log_requests)
}

/// Periodic housekeeping, until the server stops (the task is aborted then).
async fn maintain(state: AppState) {
    let mut every = tokio::time::interval(MAINTENANCE_EVERY);
    loop {
        // The first tick is immediate: a start sweeps what a crash may have left.
        every.tick().await;
        state.rate_limits.forget_idle();
        match photos::sweep(&state.pool, &state.photos.store).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "swept unreferenced upload files"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot sweep upload files"),
        }
        if let Err(error) = auth::delete_old_qr_logins(&state.pool).await {
            tracing::warn!(%error, "cannot delete old QR sign-in requests");
        }
        if let Err(error) = auth::delete_old_sessions(&state.pool, SESSION_RETENTION_DAYS).await {
            tracing::warn!(%error, "cannot delete old sessions");
        }
        if let Err(error) = realtime::tickets::delete_expired(&state.pool).await {
            tracing::warn!(%error, "cannot delete expired socket tickets");
        }
        let window = state.realtime.config.events_window;
        if let Err(error) = events::delete_old(&state.pool, window).await {
            tracing::warn!(%error, "cannot delete old events");
        }
    }
}
