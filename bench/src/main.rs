//! `gallery-load`: the load tool `scripts/bench.sh` drives. Each command runs one measurement
//! against a running server (the gallery, or a reference the script starts) and prints what it
//! measured as one JSON object on stdout.

mod fanout;
mod http;
mod photos;
mod stats;
mod uploads;

use std::{ops::RangeInclusive, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use reqwest::{
    Method,
    header::{HeaderMap, HeaderName, HeaderValue},
};
use serde_json::json;

use crate::stats::Process;

#[derive(Parser)]
#[command(about = "Load for the gallery's benchmarks; prints JSON")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The same request over many connections for a while: requests/s and latency.
    Http {
        #[command(flatten)]
        request: RequestArgs,
        /// Another request sent at the same time on connections of its own (a storm).
        #[arg(long)]
        beside_url: Option<String>,
        #[arg(long, default_value = "POST")]
        beside_method: Method,
        #[arg(long = "beside-header")]
        beside_headers: Vec<String>,
        #[arg(long)]
        beside_body: Option<String>,
        #[arg(long, default_value_t = 200)]
        beside_expect: u16,
        #[arg(long, default_value_t = 8)]
        beside_connections: usize,
    },
    /// Many idle sockets, then events at a steady rate.
    Fanout {
        /// Where the sockets connect.
        #[arg(long)]
        socket_url: String,
        #[arg(long)]
        clients: usize,
        #[arg(long)]
        events: usize,
        /// Events per second.
        #[arg(long)]
        rate: f64,
        /// The request that causes an event.
        #[arg(long)]
        trigger_url: String,
        #[arg(long, default_value = "POST")]
        trigger_method: Method,
        #[arg(long = "trigger-header")]
        trigger_headers: Vec<String>,
        /// Its body, with `{marker}` where the event's marker goes.
        #[arg(long)]
        trigger_body: String,
        /// The server process, for its memory and CPU time.
        #[arg(long)]
        server_pid: u32,
    },
    /// Uploads every .jpg of a folder as photos.
    Uploads {
        /// The API's base, e.g. http://127.0.0.1:8080/api.
        #[arg(long)]
        api: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        folder: PathBuf,
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        #[arg(long)]
        server_pid: u32,
    },
    /// Writes test photos (JPEGs) into a folder.
    Photos {
        #[arg(long)]
        folder: PathBuf,
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 4000)]
        width: u32,
        #[arg(long, default_value_t = 3000)]
        height: u32,
    },
}

#[derive(Args)]
struct RequestArgs {
    /// With `--ids`, `{id}` in it stands for each request's id.
    #[arg(long)]
    url: String,
    /// `FIRST-LAST`: each request takes the next id of this range; the run ends early when
    /// they run out.
    #[arg(long, value_parser = id_range)]
    ids: Option<RangeInclusive<u64>>,
    #[arg(long, default_value = "GET")]
    method: Method,
    /// `Name: value`; repeatable.
    #[arg(long = "header")]
    headers: Vec<String>,
    #[arg(long)]
    body: Option<String>,
    /// The status every answer must have.
    #[arg(long, default_value_t = 200)]
    expect: u16,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
}

fn id_range(text: &str) -> anyhow::Result<RangeInclusive<u64>> {
    let (first, last) = text
        .split_once('-')
        .with_context(|| format!("ids are `FIRST-LAST`, not {text:?}"))?;
    let range = first.trim().parse()?..=last.trim().parse()?;
    anyhow::ensure!(!range.is_empty(), "the id range {text:?} is empty");
    Ok(range)
}

fn header_map(headers: &[String]) -> anyhow::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for header in headers {
        let (name, value) = header
            .split_once(':')
            .with_context(|| format!("a header is `Name: value`, not {header:?}"))?;
        map.append(
            HeaderName::from_bytes(name.trim().as_bytes())?,
            HeaderValue::from_str(value.trim())?,
        );
    }
    Ok(map)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = match Cli::parse().command {
        Command::Http {
            request,
            beside_url,
            beside_method,
            beside_headers,
            beside_body,
            beside_expect,
            beside_connections,
        } => {
            let warmup = Duration::from_secs_f64(request.warmup);
            let duration = Duration::from_secs_f64(request.seconds);
            anyhow::ensure!(
                request.ids.is_none() || request.url.contains("{id}"),
                "with --ids, the URL must contain {{id}}"
            );
            let spec = http::RequestSpec {
                method: request.method,
                url: request.url,
                ids: request.ids,
                headers: header_map(&request.headers)?,
                body: request.body,
                expect: request.expect,
            };
            match beside_url {
                None => {
                    json!({ "main": http::run(&spec, request.connections, warmup, duration).await? })
                }
                Some(url) => {
                    let beside = http::RequestSpec {
                        method: beside_method,
                        url,
                        ids: None,
                        headers: header_map(&beside_headers)?,
                        body: beside_body,
                        expect: beside_expect,
                    };
                    let (main, beside) = tokio::join!(
                        http::run(&spec, request.connections, warmup, duration),
                        http::run(&beside, beside_connections, warmup, duration),
                    );
                    json!({ "main": main?, "beside": beside? })
                }
            }
        }
        Command::Fanout {
            socket_url,
            clients,
            events,
            rate,
            trigger_url,
            trigger_method,
            trigger_headers,
            trigger_body,
            server_pid,
        } => {
            let trigger = fanout::Trigger {
                method: trigger_method,
                url: trigger_url,
                headers: header_map(&trigger_headers)?,
                body_template: trigger_body,
            };
            json!(
                fanout::run(
                    &socket_url,
                    clients,
                    events,
                    rate,
                    &trigger,
                    Process(server_pid)
                )
                .await?
            )
        }
        Command::Uploads {
            api,
            token,
            folder,
            concurrency,
            server_pid,
        } => {
            let files = uploads::jpegs_in(&folder)?;
            json!(uploads::run(&api, &token, files, concurrency, Process(server_pid)).await?)
        }
        Command::Photos {
            folder,
            count,
            width,
            height,
        } => {
            photos::write(&folder, count, width, height)?;
            json!({ "written": count, "folder": folder })
        }
    };
    println!("{report}");
    Ok(())
}
