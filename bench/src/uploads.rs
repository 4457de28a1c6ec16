//! Uploads: every file in a folder posted as a photo, a few at a time, timed end to end, with
//! the server's resident memory sampled throughout.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use reqwest::multipart::{Form, Part};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::stats::{Percentiles, Process};

#[derive(Debug, Serialize)]
pub struct Uploads {
    pub files: usize,
    pub concurrency: usize,
    pub megapixels: f64,
    pub seconds: f64,
    pub megapixels_per_second: f64,
    #[serde(flatten)]
    pub latency: Percentiles,
    pub rss_before_bytes: u64,
    /// The highest resident memory sampled (every 2 ms) while the uploads ran.
    pub peak_rss_bytes: u64,
    /// (peak − before) / concurrency: what each upload under way costs at most.
    pub peak_rss_per_upload_bytes: f64,
}

/// The JPEGs in `folder`, in name order.
pub fn jpegs_in(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot read {}", folder.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|extension| extension == "jpg"));
    files.sort();
    if files.is_empty() {
        bail!("no .jpg files in {}", folder.display());
    }
    Ok(files)
}

pub async fn run(
    api: &str,
    token: &str,
    files: Vec<PathBuf>,
    concurrency: usize,
    server: Process,
) -> anyhow::Result<Uploads> {
    let rss_before = server.rss()?;
    let peak = Arc::new(AtomicU64::new(rss_before));
    let finished = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, finished) = (peak.clone(), finished.clone());
        tokio::spawn(async move {
            while !finished.load(Ordering::Relaxed) {
                if let Ok(rss) = server.rss() {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let slots = Arc::new(Semaphore::new(concurrency));
    let count = files.len();
    let started = Instant::now();
    let mut uploads = Vec::with_capacity(count);
    for path in files {
        let bytes = tokio::fs::read(&path).await?;
        let permit = slots.clone().acquire_owned().await?;
        let (client, url, token) = (client.clone(), format!("{api}/photos"), token.to_owned());
        uploads.push(tokio::spawn(async move {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let form = Form::new().part(
                "file",
                Part::bytes(bytes)
                    .file_name(name.clone())
                    .mime_str("image/jpeg")?,
            );
            let sent = Instant::now();
            let response = client
                .post(&url)
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await?;
            let status = response.status();
            let photo: serde_json::Value = response.json().await?;
            let took = sent.elapsed();
            drop(permit);
            if status.as_u16() != 201 {
                bail!("uploading {name} answered {status}: {photo}");
            }
            let pixels =
                photo["width"].as_f64().unwrap_or(0.0) * photo["height"].as_f64().unwrap_or(0.0);
            anyhow::Ok((pixels / 1e6, took))
        }));
    }
    let mut megapixels = 0.0;
    let mut latencies = Vec::with_capacity(count);
    for upload in uploads {
        let (upload_megapixels, took) = upload.await??;
        megapixels += upload_megapixels;
        latencies.push(took);
    }
    let seconds = started.elapsed().as_secs_f64();
    finished.store(true, Ordering::Relaxed);
    sampler.await?;
    let peak_rss = peak.load(Ordering::Relaxed);
    Ok(Uploads {
        files: count,
        concurrency,
        megapixels,
        seconds,
        megapixels_per_second: megapixels / seconds,
        latency: Percentiles::of(&mut latencies),
        rss_before_bytes: rss_before,
        peak_rss_bytes: peak_rss,
        peak_rss_per_upload_bytes: (peak_rss - rss_before) as f64 / concurrency as f64,
    })
}
