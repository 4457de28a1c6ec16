//! `GET /metrics`: what the server is doing, in the Prometheus text format.
//!
//! Counters and histograms are recorded where things happen (the `metrics` crate's macros,
//! named by the constants below); gauges of the current state (open sockets, the database
//! pool) are read when the metrics are scraped. nginx answers 404 for `/metrics`: only
//! something that reaches an instance directly (Prometheus on the internal network) scrapes it.

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{Endpoint, Request, Response, handler, http::StatusCode, web::Data};
use poem_openapi::OperationId;
use sqlx::PgPool;

/// Requests answered, by `operation` and `status`.
pub const HTTP_REQUESTS: &str = "gallery_http_requests_total";
/// Seconds from a request's arrival to its response, by `operation` and `status`.
pub const HTTP_REQUEST_SECONDS: &str = "gallery_http_request_duration_seconds";
/// Requests refused by a rate limit (429), by `operation`.
pub const RATE_LIMITED: &str = "gallery_rate_limited_total";
/// Open WebSocket connections (and upgrades under way).
pub const OPEN_SOCKETS: &str = "gallery_websocket_connections";
/// Events read from the event log and handed to this instance's sockets.
pub const EVENTS_PUBLISHED: &str = "gallery_events_published_total";
/// Event frames written to sockets (live and replayed).
pub const EVENTS_DELIVERED: &str = "gallery_events_delivered_total";
/// Sockets closed because their client fell too far behind.
pub const SOCKETS_TOO_SLOW: &str = "gallery_websocket_closed_too_slow_total";
/// Database connections by `state`: `in_use` or `idle`.
pub const POOL_CONNECTIONS: &str = "gallery_db_pool_connections";
/// The most database connections this instance opens.
pub const POOL_MAX: &str = "gallery_db_pool_max_connections";
/// Database calls that waited for a connection longer than the pool timeout (answered 503).
pub const POOL_TIMEOUTS: &str = "gallery_db_pool_acquire_timeouts_total";
/// Bytes of uploaded files received.
pub const UPLOAD_BYTES: &str = "gallery_upload_bytes_total";
/// Seconds an upload spent in the image pipeline (decode, resize, encode), by `outcome`.
pub const DECODE_SECONDS: &str = "gallery_image_decode_seconds";

/// Latency buckets, in seconds: 1 ms to 60 s.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

/// The process's recorder, installed on first use (every server in a process shares it).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS_BUCKETS)
            .expect("the buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        describe();
        metrics::gauge!(OPEN_SOCKETS).set(0.0);
        handle
    })
}

/// Starts recording (before the server serves, so that nothing recorded is lost).
pub fn install() {
    recorder();
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "Requests answered, by operation and status.");
    describe_histogram!(
        HTTP_REQUEST_SECONDS,
        Unit::Seconds,
        "Time from a request's arrival to its response, by operation and status."
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit (429).");
    describe_gauge!(OPEN_SOCKETS, "Open WebSocket connections.");
    describe_counter!(
        EVENTS_PUBLISHED,
        "Events read from the event log and handed to this instance's sockets."
    );
    describe_counter!(EVENTS_DELIVERED, "Event frames written to sockets.");
    describe_counter!(
        SOCKETS_TOO_SLOW,
        "Sockets closed because their client fell too far behind."
    );
    describe_gauge!(POOL_CONNECTIONS, "Database connections, in use and idle.");
    describe_gauge!(
        POOL_MAX,
        "The most database connections this instance opens."
    );
    describe_counter!(
        POOL_TIMEOUTS,
        "Database calls that waited too long for a free connection."
    );
    describe_counter!(
        UPLOAD_BYTES,
        Unit::Bytes,
        "Bytes of uploaded files received."
    );
    describe_histogram!(
        DECODE_SECONDS,
        Unit::Seconds,
        "Time an upload spent in the image pipeline, by outcome."
    );
}

/// Middleware: counts and times every request by its operation (the OpenAPI operation id,
/// or the kind of route outside `/api`) and status.
pub async fn record_requests<E: Endpoint>(
    next: std::sync::Arc<E>,
    request: Request,
) -> poem::Result<Response> {
    let started = Instant::now();
    let route = route_kind(request.uri().path());
    let response = next.get_response(request).await;
    let operation = response
        .data::<OperationId>()
        .map_or(route, |operation| operation.0);
    observe(operation, response.status(), started.elapsed());
    Ok(response)
}

fn observe(operation: &'static str, status: StatusCode, elapsed: Duration) {
    let status = status.as_str().to_owned();
    metrics::counter!(HTTP_REQUESTS, "operation" => operation, "status" => status.clone())
        .increment(1);
    metrics::histogram!(HTTP_REQUEST_SECONDS, "operation" => operation, "status" => status.clone())
        .record(elapsed.as_secs_f64());
    if status == "429" {
        metrics::counter!(RATE_LIMITED, "operation" => operation).increment(1);
    }
}

/// The label of a request no API operation answered.
fn route_kind(path: &str) -> &'static str {
    match path {
        "/ws" => "socket",
        "/health" | "/ready" => "probe",
        "/metrics" => "metrics",
        _ if path.starts_with("/media/") => "media",
        _ if path.starts_with("/api/") => "api_unmatched",
        _ => "web_client",
    }
}

/// Counts a socket as open for as long as it lives.
pub struct OpenSocket(());

impl OpenSocket {
    pub fn count() -> Self {
        metrics::gauge!(OPEN_SOCKETS).increment(1.0);
        OpenSocket(())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!(OPEN_SOCKETS).decrement(1.0);
    }
}

/// `GET /metrics`.
#[handler]
pub fn scrape(pool: Data<&PgPool>) -> Response {
    let idle = pool.num_idle() as f64;
    let open = f64::from(pool.size());
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set((open - idle).max(0.0));
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(POOL_MAX).set(f64::from(pool.options().get_max_connections()));
    let handle = recorder();
    handle.run_upkeep();
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}
