//! Configuration, read from command-line options or the environment variables they name.
//!
//! Secrets are held as [`SecretString`], whose `Debug` prints a placeholder, so logging a
//! configuration never leaks them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use secrecy::SecretString;

/// Options of `gallery serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address and port to listen on; port 0 picks a free port (the log says which).
    #[arg(long, env = "GALLERY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory of the built web client (trunk's output), served at `/` with every unknown
    /// non-API path falling back to its index.html.
    #[arg(long, env = "GALLERY_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,

    /// Seconds that in-flight requests get to finish after SIGINT or SIGTERM.
    #[arg(long, env = "GALLERY_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,

    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub database: DatabaseConfig,
}

impl ServeConfig {
    /// How long in-flight requests get after a shutdown signal.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

/// Options of `gallery migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateConfig {
    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub database: DatabaseConfig,
}

/// Where the server keeps its files.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Data directory: the private PostgreSQL cluster (`postgres/`) and uploaded files live
    /// under it.
    #[arg(long, env = "GALLERY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

/// How to reach PostgreSQL.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL, e.g. `postgres://user:password@host:5432/gallery`. Unset:
    /// the private cluster that `scripts/run.sh` keeps under `<data dir>/postgres`, reached
    /// through its Unix socket as user and database `gallery`.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true, value_parser = parse_secret)]
    pub url: Option<SecretString>,

    /// Most database connections this process opens.
    #[arg(
        long = "db-max-connections",
        env = "GALLERY_DB_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub max_connections: u32,

    /// Seconds to wait for a database connection before a request fails with 503.
    #[arg(
        long = "db-timeout-seconds",
        env = "GALLERY_DB_TIMEOUT_SECONDS",
        default_value_t = 3
    )]
    pub timeout_seconds: u64,
}

impl DatabaseConfig {
    /// How long to wait for a connection from the pool.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

/// Logging options, common to every command.
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// Which log lines to keep, as a tracing filter: `info`, `debug`,
    /// `gallery=debug,sqlx=warn`, ...
    #[arg(
        long = "log",
        env = "GALLERY_LOG",
        default_value = "info",
        global = true
    )]
    pub filter: String,

    /// Log line format: `text` for people, `json` for log collectors.
    #[arg(long = "log-format", env = "GALLERY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use secrecy::ExposeSecret;

    use crate::cli::{Cli, Command};

    #[test]
    fn the_database_url_never_shows_in_debug_output() {
        let cli = Cli::try_parse_from([
            "gallery",
            "serve",
            "--database-url",
            "postgres://u:hunter2@db/gallery",
        ])
        .unwrap();
        let Command::Serve(config) = cli.command else {
            panic!("expected the serve command");
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let url = config.database.url.expect("url is set");
        assert_eq!(url.expose_secret(), "postgres://u:hunter2@db/gallery");
    }

    #[test]
    fn serve_defaults_match_the_documented_ones() {
        let cli = Cli::try_parse_from(["gallery", "serve"]).unwrap();
        let Command::Serve(config) = cli.command else {
            panic!("expected the serve command");
        };
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.storage.data_dir.to_str(), Some("./data"));
    }
}
