//! The PostgreSQL pool, the embedded migrations, and the readiness ping.

use std::{path::Path, time::Duration};

use anyhow::Context;
use gallery_types::DatabaseState;
use secrecy::ExposeSecret;
use sqlx::{
    Connection, PgConnection, PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::{DatabaseConfig, StorageConfig};

/// The schema's migrations, compiled into the binary so a deployment is one file.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The role and database of the private cluster that `scripts/run.sh` creates.
pub const PRIVATE_CLUSTER_NAME: &str = "gallery";

/// A pooled connection idle for longer than this is pinged before it is lent out, in case
/// PostgreSQL closed it meanwhile (a restart, an idle timeout). One in steady use is not:
/// sqlx's default pings on every acquire, a round trip to the database before each request's
/// own, which cost the feed a fifth of its throughput.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// A readiness probe must answer before the prober gives up (usually 1–5 s), so a database
/// that does not answer within this is reported as unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the private cluster's Unix socket lives, relative to the data directory.
pub fn private_socket_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("postgres").join("run")
}

/// Connection options from `DATABASE_URL`, or for the private cluster when it is unset.
pub fn connect_options(
    database: &DatabaseConfig,
    storage: &StorageConfig,
) -> anyhow::Result<PgConnectOptions> {
    match &database.url {
        Some(url) => url
            .expose_secret()
            .parse()
            .context("DATABASE_URL is not a valid PostgreSQL URL"),
        None => {
            let data_dir = std::path::absolute(&storage.data_dir)
                .context("cannot resolve GALLERY_DATA_DIR to an absolute path")?;
            Ok(PgConnectOptions::new()
                .socket(private_socket_dir(&data_dir))
                .username(PRIVATE_CLUSTER_NAME)
                .database(PRIVATE_CLUSTER_NAME))
        }
    }
}

/// Opens the pool; fails if the database cannot be reached now. Every statement on its
/// connections is cancelled after the configured statement timeout.
pub async fn connect(database: &DatabaseConfig, storage: &StorageConfig) -> anyhow::Result<PgPool> {
    let options = connect_options(database, storage)?;
    let target = describe(&options);
    let timeout = database.statement_timeout_ms.to_string();
    PgPoolOptions::new()
        .max_connections(database.max_connections)
        .acquire_timeout(database.timeout())
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options.options([("statement_timeout", timeout.as_str())]))
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {target}"))
}

/// Applies every migration not yet applied, on a connection of its own that no statement
/// timeout applies to (a migration may take long). Safe to run from several instances at
/// once: the migrator holds an advisory lock while it works.
pub async fn migrate(database: &DatabaseConfig, storage: &StorageConfig) -> anyhow::Result<()> {
    let options = connect_options(database, storage)?;
    let target = describe(&options);
    let mut connection = PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {target}"))?;
    MIGRATOR
        .run(&mut connection)
        .await
        .context("cannot apply database migrations")?;
    connection
        .close()
        .await
        .context("cannot close the migration connection")
}

/// Starts a transaction in which PostgreSQL runs each statement on its generic plan, the one
/// it keeps per connection, instead of planning the statement again at every call.
///
/// For the transactions of trading and deleting, whose statements look rows up by ids, arrays
/// of them among others (`id = any($1)`), and have no optional conditions that a plan made for
/// the values would simplify: a plan made for an array's actual few elements always
/// looks cheaper than the generic plan, which assumes more of them, so PostgreSQL planned
/// those statements at every call, which took as long as running them, although both plans
/// are the same index lookups (`scripts/bench.sh`'s trades: 825 accepts/s, 1,130 with the
/// generic plans). `set local` ends with the transaction: the connection goes back to the
/// pool as it came.
pub async fn begin_with_generic_plans(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with("begin; set local plan_cache_mode = force_generic_plan")
        .await
}

/// Whether the database answers a trivial query within [`PING_TIMEOUT`].
pub async fn ping(pool: &PgPool) -> DatabaseState {
    let query = sqlx::query_scalar!(r#"select 1 as "one!""#).fetch_one(pool);
    match tokio::time::timeout(PING_TIMEOUT, query).await {
        Ok(Ok(_)) => DatabaseState::Ok,
        Ok(Err(error)) => {
            tracing::warn!(%error, "database ping failed");
            DatabaseState::Unavailable
        }
        Err(_) => {
            tracing::warn!(timeout = ?PING_TIMEOUT, "database ping timed out");
            DatabaseState::Unavailable
        }
    }
}

/// Host, port and database of a connection, without credentials, for messages and logs.
fn describe(options: &PgConnectOptions) -> String {
    let server = match options.get_socket() {
        Some(socket_dir) => format!("socket {}", socket_dir.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let database = options.get_database().unwrap_or("(default database)");
    format!("{server}, database {database}")
}

/// A database failure and what was being done when it happened: the log line of every
/// database error says which query failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action}: {source}")]
pub struct DbError {
    /// What was being done, as "cannot …" finishes it: `"read the feed"`.
    pub action: &'static str,
    #[source]
    pub source: sqlx::Error,
}

impl DbError {
    /// The name of the unique or check constraint the failed statement violated, if any.
    pub fn constraint(&self) -> Option<&str> {
        self.source
            .as_database_error()
            .and_then(|error| error.constraint())
    }

    /// Whether the transaction lost a race the database detected (a serialization failure or a
    /// deadlock) and may simply be run again.
    pub fn is_retryable(&self) -> bool {
        const SERIALIZATION_FAILURE: &str = "40001";
        const DEADLOCK_DETECTED: &str = "40P01";
        self.source
            .as_database_error()
            .and_then(|error| error.code())
            .is_some_and(|code| code == SERIALIZATION_FAILURE || code == DEADLOCK_DETECTED)
    }

    /// Whether the database could not serve the statement right now (it cannot be reached,
    /// or it cancelled the statement at the statement timeout), rather than refusing it:
    /// trying again later may work.
    pub fn is_unavailable(&self) -> bool {
        /// SQLSTATE `query_canceled`, which a statement timeout raises.
        const QUERY_CANCELED: &str = "57014";
        match &self.source {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(error) => error.code().as_deref() == Some(QUERY_CANCELED),
            _ => false,
        }
    }
}

/// Names what a database call was doing, for its error.
pub trait During<T> {
    fn during(self, action: &'static str) -> Result<T, DbError>;
}

impl<T> During<T> for Result<T, sqlx::Error> {
    fn during(self, action: &'static str) -> Result<T, DbError> {
        self.map_err(|source| {
            if matches!(source, sqlx::Error::PoolTimedOut) {
                metrics::counter!(crate::telemetry::metrics::POOL_TIMEOUTS).increment(1);
            }
            DbError { action, source }
        })
    }
}
