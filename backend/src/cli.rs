//! The `gallery` command line: `serve`, `migrate`, and their options.
//!
//! Every option can also be given as an environment variable (named in `--help` and in
//! `.env.example`), which is how deployments configure the server.

use clap::{Parser, Subcommand};

use crate::config::{LogConfig, MigrateConfig, ServeConfig, SignInitDataConfig};
use secrecy::ExposeSecret;

use crate::{auth::init_data, db, startup::Application, telemetry};

/// Max Photo Gallery: a realtime photo gallery with ownership and trading.
#[derive(Debug, Parser)]
#[command(name = "gallery", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogConfig,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations, then serve the API and the web client until
    /// SIGINT or SIGTERM.
    Serve(Box<ServeConfig>),
    /// Apply pending database migrations and exit.
    Migrate(MigrateConfig),
    /// Print a valid Max initData for GALLERY_BOT_TOKEN, to sign in without Max
    /// (`POST /api/auth/max`) during development and testing.
    SignInitData(SignInitDataConfig),
}

impl Cli {
    /// Runs the chosen command to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        telemetry::init(&self.log)?;
        match self.command {
            Command::Serve(config) => {
                let app = Application::build(*config).await?;
                app.run_until(shutdown_signal()).await
            }
            Command::Migrate(config) => {
                db::migrate(&config.database, &config.storage).await?;
                tracing::info!("database schema is up to date");
                Ok(())
            }
            Command::SignInitData(config) => {
                println!("{}", sign_init_data(&config));
                Ok(())
            }
        }
    }
}

/// initData for the user `config` describes, signed with its bot token and dated now.
fn sign_init_data(config: &SignInitDataConfig) -> String {
    let user = serde_json::json!({
        "id": config.user_id,
        "first_name": config.first_name,
        "last_name": config.last_name,
        "username": config.username,
        "language_code": config.language,
        "photo_url": null,
    })
    .to_string();
    let auth_date = chrono::Utc::now().timestamp().to_string();
    let query_id = uuid::Uuid::new_v4().to_string();
    let mut fields = vec![
        ("auth_date", auth_date.as_str()),
        ("query_id", query_id.as_str()),
        ("user", user.as_str()),
    ];
    if let Some(start_param) = &config.start_param {
        fields.push(("start_param", start_param));
    }
    init_data::sign(&fields, config.bot_token.expose_secret())
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (`docker stop`, systemd, `kill`).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
