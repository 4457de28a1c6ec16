//! Requests at a fixed concurrency: each connection sends its next request as soon as the
//! answer to the last one has been read, for a set time (or until a range of ids runs out).
//! Optionally a storm of other requests runs beside, on connections of its own.

use std::{
    ops::RangeInclusive,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use reqwest::{Client, Method, header::HeaderMap};
use serde::Serialize;

use crate::stats::Percentiles;

/// One kind of request, sent again and again.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    /// With `ids`, `{id}` in it stands for the request's id.
    pub url: String,
    /// Ids used once each, in order, over all connections (for requests that consume what
    /// they name, such as accepting an offer): the run ends early when they run out.
    pub ids: Option<RangeInclusive<u64>>,
    pub headers: HeaderMap,
    pub body: Option<String>,
    /// The status every answer must have.
    pub expect: u16,
}

/// What one kind of request achieved.
#[derive(Debug, Serialize)]
pub struct Throughput {
    pub connections: usize,
    /// Seconds measured: the whole duration, or until the ids ran out.
    pub seconds: f64,
    pub requests: u64,
    pub per_second: f64,
    #[serde(flatten)]
    pub latency: Percentiles,
    /// Answers with another status than expected (each fails the run).
    pub errors: u64,
    /// Bytes of the last answer's body.
    pub body_bytes: usize,
    /// The `X-Event-Seq` header of the last answer, if it had one.
    pub event_seq: Option<i64>,
}

/// A client holding exactly one connection, so `connections` clients make that many.
pub fn one_connection_client() -> anyhow::Result<Client> {
    Client::builder()
        .http1_only()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")
}

/// Sends `spec` over `connections` connections for `warmup` (not counted), then `duration`.
pub async fn run(
    spec: &RequestSpec,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Throughput> {
    let started = Instant::now();
    let measure_from = started + warmup;
    let until = measure_from + duration;
    let next_id = Arc::new(AtomicU64::new(
        spec.ids.as_ref().map_or(0, |ids| *ids.start()),
    ));
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let spec = spec.clone();
        let next_id = Arc::clone(&next_id);
        let client = one_connection_client()?;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut last = (0usize, None);
            let mut finished = measure_from;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let url = match &spec.ids {
                    None => spec.url.clone(),
                    Some(ids) => {
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        if id > *ids.end() {
                            break;
                        }
                        spec.url.replace("{id}", &id.to_string())
                    }
                };
                let mut request = client
                    .request(spec.method.clone(), &url)
                    .headers(spec.headers.clone());
                if let Some(body) = &spec.body {
                    request = request.body(body.clone());
                }
                let response = request.send().await?;
                let status = response.status().as_u16();
                let event_seq = response
                    .headers()
                    .get("x-event-seq")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.parse().ok());
                let body = response.bytes().await?;
                if sent < measure_from {
                    continue;
                }
                finished = Instant::now();
                latencies.push(finished - sent);
                if status != spec.expect {
                    errors += 1;
                    if errors == 1 {
                        eprintln!(
                            "{} {url}: {status}: {}",
                            spec.method,
                            String::from_utf8_lossy(&body)
                        );
                    }
                }
                last = (body.len(), event_seq);
            }
            anyhow::Ok((latencies, errors, last, finished))
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut last = (0, None);
    let mut last_finished = measure_from;
    for worker in workers {
        let (mut worker_latencies, worker_errors, worker_last, worker_finished) = worker.await??;
        latencies.append(&mut worker_latencies);
        errors += worker_errors;
        last = worker_last;
        last_finished = last_finished.max(worker_finished);
    }
    let requests = latencies.len() as u64;
    if requests == 0 {
        bail!("no request finished within {duration:?} (after the warmup)");
    }
    // Until the last answer: all of `duration`, or less when the ids ran out.
    let seconds = (last_finished - measure_from).min(duration).as_secs_f64();
    Ok(Throughput {
        connections,
        seconds,
        requests,
        per_second: requests as f64 / seconds,
        latency: Percentiles::of(&mut latencies),
        errors,
        body_bytes: last.0,
        event_seq: last.1,
    })
}
