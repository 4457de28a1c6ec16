//! Configuration, read from command-line options or the environment variables they name.
//!
//! Secrets are held as [`SecretString`], whose `Debug` prints a placeholder, so logging a
//! configuration never leaks them.

use std::{net::SocketAddr, num::NonZeroUsize, path::PathBuf, time::Duration};

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

    /// Sites that may show the app in a frame (the CSP's `frame-ancestors`), comma-separated;
    /// Max's web client embeds mini-apps.
    #[arg(
        long,
        env = "GALLERY_FRAME_ANCESTORS",
        value_delimiter = ',',
        default_value = "https://web.max.ru"
    )]
    pub frame_ancestors: Vec<String>,

    /// Seconds that in-flight requests get to finish after SIGINT or SIGTERM.
    #[arg(long, env = "GALLERY_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,

    /// Production mode: refuses to start without real secrets (bot token, JWT secret) or
    /// with the development sign-in, and marks cookies `Secure` (HTTPS only).
    #[arg(long, env = "GALLERY_PRODUCTION", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub production: bool,

    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub rate_limits: RateLimitConfig,

    #[command(flatten)]
    pub photos: PhotoConfig,

    #[command(flatten)]
    pub realtime: RealtimeConfig,

    #[command(flatten)]
    pub profiles: ProfileConfig,
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

/// Options of `gallery sign-init-data`: the Max user to sign initData for.
#[derive(Debug, Clone, Args)]
pub struct SignInitDataConfig {
    /// The bot token to sign with (the server must be configured with the same one).
    #[arg(long = "bot-token", env = "GALLERY_BOT_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub bot_token: SecretString,

    /// The Max user id.
    #[arg(long)]
    pub user_id: i64,

    /// The user's first name.
    #[arg(long)]
    pub first_name: String,

    /// The user's last name.
    #[arg(long)]
    pub last_name: Option<String>,

    /// The user's Max username (becomes their handle if free).
    #[arg(long)]
    pub username: Option<String>,

    /// The user's language.
    #[arg(long, value_parser = ["ru", "en"])]
    pub language: Option<String>,

    /// A deep-link payload, as if the mini-app were opened with `?startapp=<P>`.
    #[arg(long)]
    pub start_param: Option<String>,
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

    /// Most database connections this process opens. A transaction that changes hands makes
    /// a round trip per statement: with ten, the cores idled between them while requests
    /// queued for a connection (trades 6% slower than with twenty).
    #[arg(
        long = "db-max-connections",
        env = "GALLERY_DB_MAX_CONNECTIONS",
        default_value_t = 20
    )]
    pub max_connections: u32,

    /// Seconds to wait for a database connection before a request fails with 503.
    #[arg(
        long = "db-timeout-seconds",
        env = "GALLERY_DB_TIMEOUT_SECONDS",
        default_value_t = 3
    )]
    pub timeout_seconds: u64,

    /// Milliseconds any one statement may run before PostgreSQL cancels it (the request then
    /// fails with 503 instead of holding a connection). Migrations are not limited.
    #[arg(
        long = "db-statement-timeout-ms",
        env = "GALLERY_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub statement_timeout_ms: u64,
}

impl DatabaseConfig {
    /// How long to wait for a connection from the pool.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

/// Sign-in and sessions.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// The Max bot's token: initData is signed with it. Without it, Max sign-in answers 503.
    #[arg(long = "bot-token", env = "GALLERY_BOT_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub bot_token: Option<SecretString>,

    /// The Max bot's name, for deep links `https://max.ru/<bot>?startapp=...`.
    #[arg(
        long = "bot-username",
        env = "GALLERY_BOT_USERNAME",
        default_value = "max_gallery_bot"
    )]
    pub bot_username: String,

    /// Secret for signing access tokens (HS256), at least 32 bytes. Unset outside production:
    /// a random one per start (access tokens then end with the process; sessions survive).
    #[arg(long = "jwt-secret", env = "GALLERY_JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<SecretString>,

    /// Oldest initData accepted, in seconds.
    #[arg(
        long,
        env = "GALLERY_INIT_DATA_MAX_AGE_SECONDS",
        default_value_t = 86_400
    )]
    pub init_data_max_age_seconds: i64,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "GALLERY_ACCESS_TOKEN_TTL_SECONDS", default_value_t = 900)]
    pub access_token_ttl_seconds: u64,

    /// A session ends after this many days without a refresh.
    #[arg(long, env = "GALLERY_REFRESH_TOKEN_TTL_DAYS", default_value_t = 30)]
    pub refresh_token_ttl_days: u32,

    /// Most password hashes computed at once (each takes 19 MiB for tens of milliseconds).
    #[arg(long, env = "GALLERY_PASSWORD_HASH_CONCURRENCY", default_value_t = 2)]
    pub password_hash_concurrency: usize,

    /// Seconds a password check may wait for a free hasher before the server answers 503.
    #[arg(long, env = "GALLERY_PASSWORD_HASH_QUEUE_SECONDS", default_value_t = 5)]
    pub password_hash_queue_seconds: u64,

    /// Development sign-in: the sign-in page offers a demo account, and `POST /api/auth/dev`
    /// signs in as any made-up Max user. Never in production (the server refuses to start).
    #[arg(long, env = "GALLERY_DEV_LOGIN", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub dev_login: bool,

    /// The clock initData is judged by; only tests pin it, to replay recorded vectors.
    #[arg(skip)]
    pub init_data_clock: InitDataClock,
}

/// The time initData's `auth_date` is compared with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InitDataClock {
    /// The system clock.
    #[default]
    System,
    /// A fixed Unix time.
    Fixed(i64),
}

impl InitDataClock {
    pub fn now_unix(self) -> i64 {
        match self {
            InitDataClock::System => chrono::Utc::now().timestamp(),
            InitDataClock::Fixed(now) => now,
        }
    }
}

/// What uploads may be.
#[derive(Debug, Clone, Args)]
pub struct PhotoConfig {
    /// Largest upload, in MiB (413 past it).
    #[arg(long, env = "GALLERY_MAX_UPLOAD_MIB", default_value_t = 20)]
    pub max_upload_mib: u64,

    /// Most pixels an image may have, in megapixels (422 past it).
    #[arg(long, env = "GALLERY_MAX_MEGAPIXELS", default_value_t = 40)]
    pub max_megapixels: u64,

    /// Longest side an image may have, in pixels (422 past it).
    #[arg(long, env = "GALLERY_MAX_IMAGE_SIDE", default_value_t = 10_000)]
    pub max_side: u32,

    /// Most frames an animated GIF may have (422 past it).
    #[arg(long, env = "GALLERY_MAX_GIF_FRAMES", default_value_t = 300)]
    pub max_frames: u32,

    /// Feed pages kept in memory (each until the next event, at most a second); 0 reads every
    /// page from the database.
    #[arg(long, env = "GALLERY_FEED_CACHE_PAGES", default_value_t = 1024)]
    pub feed_cache_pages: usize,

    /// Most images decoded at once (each takes a core and up to a few hundred MB).
    #[arg(long, env = "GALLERY_DECODE_CONCURRENCY", default_value_t = 2)]
    pub decode_concurrency: usize,

    /// Most uploads one user may have under way at once (429 past it).
    #[arg(long, env = "GALLERY_UPLOADS_PER_USER", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub uploads_per_user: u64,

    /// MiB of uploads each user may keep (the photos they created; 413 past it).
    #[arg(long, env = "GALLERY_STORAGE_QUOTA_MIB", default_value_t = 1024)]
    pub storage_quota_mib: u64,

    /// Seconds an upload may take to arrive (408 past it).
    #[arg(long, env = "GALLERY_UPLOAD_READ_SECONDS", default_value_t = 120)]
    pub upload_read_seconds: u64,

    /// Seconds the image pipeline may take for one upload (503 past it).
    #[arg(long, env = "GALLERY_DECODE_SECONDS", default_value_t = 60)]
    pub decode_seconds: u64,

    /// Seconds a stored or staged file must be left alone before the sweep may remove it
    /// (unreferenced after a crash or a failed upload). Keep it above
    /// GALLERY_UPLOAD_READ_SECONDS + GALLERY_DECODE_SECONDS: an upload's staging file is
    /// untouched while the image is processed.
    #[arg(long, env = "GALLERY_SWEEP_GRACE_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub sweep_grace_seconds: u64,
}

/// Request quotas: each key may spend this many requests a minute (the full quota may come
/// as one burst), after which it gets 429.
#[derive(Debug, Clone, Args)]
pub struct RateLimitConfig {
    /// Sign-ins (with Max, with a password, for development) per client IP per minute.
    #[arg(long, env = "GALLERY_RATE_SIGN_IN_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_per_minute: u32,

    /// QR sign-in requests (starting one, waiting on one) per client IP per minute.
    #[arg(long, env = "GALLERY_RATE_QR_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub qr_per_minute: u32,

    /// Refreshes and sign-outs of one session per minute.
    #[arg(long, env = "GALLERY_RATE_REFRESH_PER_SESSION_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub refresh_per_session_per_minute: u32,

    /// Password attempts (signing in, or proving the current password) per handle and client
    /// IP per minute.
    #[arg(long, env = "GALLERY_RATE_LOGIN_PER_HANDLE_PER_MINUTE", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_per_handle_per_minute: u32,

    /// Searches per client IP per minute.
    #[arg(long, env = "GALLERY_RATE_SEARCHES_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub searches_per_minute: u32,

    /// Writes (POST, PUT, PATCH, DELETE) per signed-in user per minute.
    #[arg(long, env = "GALLERY_RATE_WRITES_PER_MINUTE", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..))]
    pub writes_per_minute: u32,

    /// Profile requests (asking to see a private profile) per signed-in user per hour.
    #[arg(long, env = "GALLERY_RATE_PROFILE_REQUESTS_PER_HOUR", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub profile_requests_per_hour: u32,

    /// Proxies (IPs or CIDR ranges, comma-separated) whose `X-Forwarded-For` / `X-Real-IP`
    /// headers are believed. From anyone else, the connection's address is the client's.
    #[arg(long, env = "GALLERY_TRUSTED_PROXIES", value_delimiter = ',', num_args = 0.., value_parser = parse_ip_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Profile options.
#[derive(Debug, Clone, Args)]
pub struct ProfileConfig {
    /// Seconds a user whose profile request was rejected, or whose access was revoked, waits
    /// before asking the same person again.
    #[arg(long, env = "GALLERY_PROFILE_REQUEST_COOLING_OFF_SECONDS", default_value_t = 7 * 86_400)]
    pub request_cooling_off_seconds: u64,
}

/// Realtime (WebSocket) options.
#[derive(Debug, Clone, Args)]
pub struct RealtimeConfig {
    /// Browser origins allowed to open `/ws`, e.g. `https://gallery.example`; comma-separated.
    /// Empty (the default): only the server's own origin (the `Host` the request came to).
    /// Clients that send no `Origin` (not browsers) are always allowed.
    #[arg(long, env = "GALLERY_WS_ALLOWED_ORIGINS", value_delimiter = ',', num_args = 0..)]
    pub allowed_origins: Vec<String>,

    /// How many of the newest events are kept for clients to resume from; a client further
    /// behind is told to reload.
    #[arg(long, env = "GALLERY_EVENTS_WINDOW", default_value_t = 10_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub events_window: i64,

    /// How many events a connection may fall behind before it is closed as too slow (4008).
    #[arg(long, env = "GALLERY_WS_QUEUE", default_value_t = 512, value_parser = clap::value_parser!(u64).range(16..))]
    pub queue: u64,

    /// Seconds between server pings.
    #[arg(long, env = "GALLERY_WS_PING_SECONDS", default_value_t = 25)]
    pub ping_seconds: u64,

    /// Seconds of silence from a client (no message, no pong) after which it is dropped.
    #[arg(long, env = "GALLERY_WS_IDLE_SECONDS", default_value_t = 60)]
    pub idle_seconds: u64,

    /// Seconds a single write to a client may take before the client is dropped as stuck.
    #[arg(long, env = "GALLERY_WS_SEND_TIMEOUT_SECONDS", default_value_t = 10)]
    pub send_timeout_seconds: u64,

    /// Messages per second a client may send (bursts of five times as many pass).
    #[arg(long, env = "GALLERY_WS_MESSAGES_PER_SECOND", default_value_t = 5)]
    pub messages_per_second: u32,

    /// Threads the sockets run on, apart from those serving requests. Default: one per core.
    #[arg(long, env = "GALLERY_WS_THREADS")]
    pub threads: Option<NonZeroUsize>,
}

impl RealtimeConfig {
    pub fn ping_every(&self) -> Duration {
        Duration::from_secs(self.ping_seconds.max(1))
    }

    pub fn idle_after(&self) -> Duration {
        Duration::from_secs(self.idle_seconds.max(1))
    }

    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_seconds.max(1))
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

    /// A file that also gets every warning and error, appended to (its folder is created):
    /// the lines that need a person, apart from the stream of requests. Unset: none.
    #[arg(long = "error-log", env = "GALLERY_ERROR_LOG", global = true)]
    pub error_log: Option<PathBuf>,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// An address range (`10.0.0.0/8`) or a single address (`10.0.0.2`).
fn parse_ip_net(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR range"))
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
