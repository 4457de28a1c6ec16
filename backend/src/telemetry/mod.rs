//! Structured logging: text for people, JSON lines for collectors, filtered by `GALLERY_LOG`.

pub mod metrics;

use anyhow::Context;
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. Call once, first thing.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.filter)
        .with_context(|| format!("GALLERY_LOG is not a valid log filter: {:?}", config.filter))?;
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
}

/// Middleware: one log line per request with method, path, status and duration.
pub async fn log_requests<E: poem::Endpoint>(
    next: std::sync::Arc<E>,
    request: poem::Request,
) -> poem::Result<poem::Response> {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.get_response(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        latency = ?started.elapsed(),
        "request"
    );
    Ok(response)
}
