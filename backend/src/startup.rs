//! Assembles the application: pool, migrations, each domain's state, routes, middleware,
//! listener, and the background tasks. The one module that knows every domain; none of them
//! knows it.
//!
//! [`Application::build`] binds the listener before returning, so callers (and tests, which
//! bind port 0) learn the real address before the server runs.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use poem::{
    EndpointExt, IntoResponse, Response, Route, Server,
    endpoint::make_sync,
    http::{HeaderValue, header},
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    middleware::{CookieJarManager, SetHeader},
    web::Html,
};
use poem_openapi::OpenApiService;
use sqlx::{PgPool, postgres::PgListener};

use crate::{
    auth::{self, AccountApi, AuthState, QrApi, QrSocketRequests, SignInApi},
    client_ip::{self, TrustedProxies},
    config::ServeConfig,
    csp, db, error,
    events::{self, EventHub},
    health, idempotency,
    photos::{
        PhotosState, api::PhotosApi, favorites::FavoritesApi, files, hot_pages, media::MediaApi,
        media::MediaFiles, search::SearchApi,
    },
    profiles::{MeApi, ProfileRequestsApi, UsersApi},
    rate_limit::RateLimits,
    realtime::{self, Realtime, RealtimeApi, SocketThreads},
    request_guard,
    share::ShareApi,
    spec::{self, ApiSpec},
    telemetry,
    trading::{self, claims::ClaimsApi, gifts::GiftsApi, objects::ObjectsApi, offers::OffersApi},
    web::WebClient,
};

/// How often idle rate-limit keys and old sign-in requests are cleared away.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// How often trade offers past their expiry are closed.
const OFFER_EXPIRY_EVERY: Duration = Duration::from_secs(10);

/// Ended sessions stay listed this long (for the record), then go.
const SESSION_RETENTION_DAYS: f64 = 30.0;

/// Every domain's state, shared with the requests (as poem data) and the background tasks.
#[derive(Clone)]
struct Shared {
    pool: PgPool,
    auth: Arc<AuthState>,
    rate_limits: Arc<RateLimits>,
    photos: Arc<PhotosState>,
    realtime: Arc<Realtime>,
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    local_addr: SocketAddr,
    config: ServeConfig,
    shared: Shared,
    event_listener: PgListener,
    socket_threads: SocketThreads,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: ServeConfig) -> anyhow::Result<Self> {
        telemetry::metrics::install();
        db::migrate(&config.database, &config.storage).await?;
        let pool = db::connect(&config.database, &config.storage).await?;
        let (hub, event_listener) =
            EventHub::connect(&pool, config.realtime.queue, &[auth::QR_CHANNEL]).await?;
        let auth = Arc::new(AuthState::new(
            config.auth.clone(),
            config.production,
            hub.signal(auth::QR_CHANNEL),
        )?);
        auth.passwords.warm_up().await;
        let photos = PhotosState::new(&config.photos, &config.storage.data_dir)
            .context("cannot open the uploads directory")?;
        let qr_sign_in = QrSocketRequests::new(pool.clone(), auth.clone());
        let socket_threads = SocketThreads::start(config.realtime.threads)?;
        let realtime = Realtime {
            hub,
            sockets: socket_threads.handle(),
            config: config.realtime.clone(),
            client_requests: vec![Arc::new(move |message| qr_sign_in.answer(message))],
        };

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
            shared: Shared {
                pool,
                auth,
                rate_limits: Arc::new(RateLimits::new(&config.rate_limits)),
                photos: Arc::new(photos),
                realtime: Arc::new(realtime),
            },
            config,
            event_listener,
            socket_threads,
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
        let routes = routes(&self.config, self.shared.clone());
        let maintenance = tokio::spawn(maintain(self.shared.clone()));
        let offer_expiry = tokio::spawn(expire_offers(self.shared.pool.clone()));
        let event_relay = tokio::spawn(events::relay::run(self.shared.pool.clone()));
        let hub = self.shared.realtime.hub.clone();
        // The hub wakes the sockets: on their threads.
        let fan_out = self.socket_threads.spawn(
            hub.clone()
                .run(self.shared.pool.clone(), self.event_listener),
        );
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
        offer_expiry.abort();
        event_relay.abort();
        fan_out.abort();
        drop(self.socket_threads);
        served.context("the HTTP server failed")?;
        self.shared.pool.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Every `/api` operation, in the order the spec lists them (grouped by domain: a tuple
/// has a `Default` of at most twelve members).
pub type Operations = (
    health::StatusApi,
    (SignInApi, QrApi, AccountApi),
    (MeApi, UsersApi, ProfileRequestsApi),
    (PhotosApi, FavoritesApi, SearchApi, MediaApi),
    (GiftsApi, ClaimsApi, OffersApi, ObjectsApi, ShareApi),
    RealtimeApi,
);

/// The OpenAPI service: every `/api` operation, and the spec generated from them.
pub fn api_service() -> OpenApiService<Operations, ()> {
    OpenApiService::new(
        Operations::default(),
        "Max Photo Gallery API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A realtime photo gallery with ownership and trading. Every error answers with \
             `{\"code\": \"...\", \"message\": \"...\"}`; clients branch on `code`.",
    )
    .server("/api")
}

fn routes(config: &ServeConfig, shared: Shared) -> impl poem::Endpoint + 'static {
    let trusted = TrustedProxies(config.rate_limits.trusted_proxies.clone());
    let api = api_service();
    let spec = Arc::new(ApiSpec::new(&api.spec(), &api.swagger_ui_html()));
    let document = spec.json().to_owned();
    let (docs_page, docs_policy) = (spec.docs_html().to_owned(), spec.docs_policy().to_owned());
    let (auth, session_checks) = (
        shared.auth.clone(),
        auth::SessionChecks::new(shared.pool.clone()),
    );
    let hub = shared.realtime.hub.clone();
    let photos = shared.photos.clone();
    let web_client = WebClient::new(&config.web_dir, &config.frame_ancestors);
    let content_security_policy = HeaderValue::from_str(web_client.content_security_policy())
        .expect("the policy is header-safe");
    Route::new()
        .at("/health", health::health)
        .at("/ready", health::ready)
        .at("/ws", realtime::socket)
        .at("/metrics", telemetry::metrics::scrape)
        .at(
            "/api/openapi.json",
            make_sync(move |_| {
                Response::builder()
                    .content_type("application/json")
                    .body(document.clone())
            }),
        )
        .nest(
            "/api/docs",
            make_sync(move |_| {
                Html(docs_page.clone())
                    .with_header(header::CONTENT_SECURITY_POLICY, docs_policy.clone())
            }),
        )
        .nest(
            "/api",
            api.around(move |next, request| {
                let spec = spec.clone();
                async move { spec::allow_methods(next, request, &spec).await }
            })
            .boxed()
            .around(move |next, request| {
                let hub = hub.clone();
                async move { realtime::stamp_event_seq(next, request, &hub).await }
            })
            .boxed()
            .around(move |next, request| {
                let photos = photos.clone();
                async move { hot_pages::retire_on_writes(next, request, &photos.hot_pages).await }
            }),
        )
        .nest("/media", MediaFiles)
        .nest("/", web_client)
        .around(move |next, request| {
            let (auth, session_checks) = (auth.clone(), session_checks.clone());
            async move { auth::resolve_caller(next, request, &auth, &session_checks).await }
        })
        .data(shared.pool)
        .data(shared.auth)
        .data(shared.rate_limits)
        .data(shared.photos)
        .data(shared.realtime)
        .data(config.profiles.clone())
        .with(CookieJarManager::new())
        // The layers' types nest too deep for the compiler to lay out the whole stack.
        .boxed()
        .around(request_guard::guard)
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
        .boxed()
        .around(move |next, request| {
            let policy = content_security_policy.clone();
            async move { csp::default_policy(next, request, policy).await }
        })
        .around(telemetry::metrics::record_requests)
        .around(telemetry::log_requests)
}

/// Closes trade offers as their time runs out (reads already show them expired: this tells
/// their parties), until the server stops (the task is aborted then).
async fn expire_offers(pool: PgPool) {
    let mut every = tokio::time::interval(OFFER_EXPIRY_EVERY);
    loop {
        every.tick().await;
        match trading::offers::expire_due(&pool).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "expired trade offers"),
            Err(error) => tracing::warn!(%error, "cannot expire trade offers"),
        }
    }
}

/// Periodic housekeeping, until the server stops (the task is aborted then).
async fn maintain(shared: Shared) {
    let mut every = tokio::time::interval(MAINTENANCE_EVERY);
    loop {
        // The first tick is immediate: a start sweeps what a crash may have left.
        every.tick().await;
        shared.rate_limits.forget_idle();
        match files::sweep(&shared.pool, &shared.photos.store).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "swept unreferenced upload files"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot sweep upload files"),
        }
        if let Err(error) = auth::qr::delete_old(&shared.pool).await {
            tracing::warn!(%error, "cannot delete old QR sign-in requests");
        }
        if let Err(error) = auth::sessions::delete_old(&shared.pool, SESSION_RETENTION_DAYS).await {
            tracing::warn!(%error, "cannot delete old sessions");
        }
        if let Err(error) = idempotency::delete_old(&shared.pool).await {
            tracing::warn!(%error, "cannot delete old idempotency keys");
        }
        if let Err(error) = realtime::tickets::delete_expired(&shared.pool).await {
            tracing::warn!(%error, "cannot delete expired socket tickets");
        }
        let window = shared.realtime.config.events_window;
        if let Err(error) = events::delete_old(&shared.pool, window).await {
            tracing::warn!(%error, "cannot delete old events");
        }
    }
}
