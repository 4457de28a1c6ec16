//! Structured logging: text for people, JSON lines for collectors, filtered by `GALLERY_LOG`;
//! warnings and errors also go to the error log file (`GALLERY_ERROR_LOG`) when one is set.

pub mod metrics;

use std::{fs, path::Path, sync::Mutex};

use anyhow::Context;
use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer, filter::LevelFilter, fmt, fmt::MakeWriter, layer::SubscriberExt,
    registry::LookupSpan, util::SubscriberInitExt,
};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. Call once, first thing.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    subscriber(config)?
        .try_init()
        .map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
}

/// Every line `config` lets through to standard error; warnings and errors to the error log.
fn subscriber(config: &LogConfig) -> anyhow::Result<impl Subscriber + Send + Sync> {
    let filter = EnvFilter::try_new(&config.filter)
        .with_context(|| format!("GALLERY_LOG is not a valid log filter: {:?}", config.filter))?;
    let console = lines(config.format, std::io::stderr, true).with_filter(filter);
    let error_log = match &config.error_log {
        Some(path) => {
            let file = open_error_log(path)?;
            Some(lines(config.format, Mutex::new(file), false).with_filter(LevelFilter::WARN))
        }
        None => None,
    };
    Ok(tracing_subscriber::registry().with(console).with(error_log))
}

/// Log lines in `format`, written to `writer` (in colour if `ansi`).
fn lines<S, W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let layer = fmt::layer().with_writer(writer).with_ansi(ansi);
    match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
    }
}

fn open_error_log(path: &Path) -> anyhow::Result<fs::File> {
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        fs::create_dir_all(folder).with_context(|| {
            format!("cannot create the error log's folder {}", folder.display())
        })?;
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the error log {}", path.display()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_and_errors_are_appended_to_the_error_log() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("logs").join("errors.log");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "an earlier line\n").unwrap();
        let config = LogConfig {
            filter: "info".into(),
            format: LogFormat::Json,
            error_log: Some(path.clone()),
        };
        tracing::subscriber::with_default(subscriber(&config).unwrap(), || {
            tracing::info!(path = "/api/photos", "request");
            tracing::warn!(attempt = 2, "the database is slow");
            tracing::error!("an upload failed");
        });
        let written = std::fs::read_to_string(&path).unwrap();
        let mut lines = written.lines();
        assert_eq!(lines.next(), Some("an earlier line"));
        let levels: Vec<(String, String)> = lines
            .map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    line["level"].as_str().unwrap().to_owned(),
                    line["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            levels,
            [
                ("WARN".to_owned(), "the database is slow".to_owned()),
                ("ERROR".to_owned(), "an upload failed".to_owned()),
            ]
        );
    }

    #[test]
    fn an_error_log_that_cannot_be_opened_stops_the_start() {
        let folder = tempfile::tempdir().unwrap();
        let config = LogConfig {
            filter: "info".into(),
            format: LogFormat::Text,
            // A folder is not a file.
            error_log: Some(folder.path().to_owned()),
        };
        let error = subscriber(&config)
            .err()
            .expect("a folder cannot be the error log");
        assert!(
            format!("{error:#}").contains("cannot open the error log"),
            "{error:#}"
        );
    }
}
