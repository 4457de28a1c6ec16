//! Signing in (Max initData, password, desktop QR, development), tokens and sessions, and
//! who is asking: the middleware that resolves every request's caller once, and the
//! extractors operations read it with ([`BearerAuth`], [`Viewer`]).

mod account_api;
mod bearer;
mod delivery;
pub mod device;
pub mod init_data;
pub mod passwords;
pub mod qr;
mod qr_api;
mod session_checks;
pub mod sessions;
mod sign_in_api;
pub mod tokens;

use std::{sync::Arc, time::Duration};

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;

pub use account_api::AccountApi;
pub use bearer::{BearerAuth, Viewer, resolve_caller};
pub use qr::{QR_CHANNEL, QrSocketRequests};
pub use qr_api::QrApi;
pub use session_checks::SessionChecks;
pub use sign_in_api::SignInApi;

use crate::config::AuthConfig;

/// Everything the auth routes share.
pub struct AuthState {
    pub config: AuthConfig,
    pub tokens: tokens::AccessTokens,
    pub passwords: passwords::PasswordHasherPool,
    /// How long a session lives without a refresh.
    pub refresh_ttl: Duration,
    /// Whether the refresh cookie is `Secure` (HTTPS only): in production.
    pub secure_cookies: bool,
    /// Woken whenever a QR sign-in request is approved or declined on any instance (the
    /// event hub hears [`QR_CHANNEL`]), so waiting desktops answer at once.
    pub qr_changed: Arc<Notify>,
}

impl AuthState {
    /// Checks the configuration against production's demands and prepares the keys.
    /// `qr_changed` is the event hub's signal for [`QR_CHANNEL`].
    pub fn new(
        config: AuthConfig,
        production: bool,
        qr_changed: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        if production && config.dev_login {
            bail!("GALLERY_DEV_LOGIN cannot be enabled together with GALLERY_PRODUCTION");
        }
        if production && config.bot_token.is_none() {
            bail!("GALLERY_PRODUCTION needs GALLERY_BOT_TOKEN, the Max bot's token");
        }
        let secret = match &config.jwt_secret {
            Some(secret) if secret.expose_secret().len() < tokens::MIN_SECRET_BYTES => {
                bail!(
                    "GALLERY_JWT_SECRET must be at least {} bytes",
                    tokens::MIN_SECRET_BYTES
                )
            }
            Some(secret) => secret.clone(),
            None if production => {
                bail!("GALLERY_PRODUCTION needs GALLERY_JWT_SECRET (at least 32 random bytes)")
            }
            None => {
                tracing::warn!(
                    "GALLERY_JWT_SECRET is not set: using a random one; access tokens end with this process (set it for several instances)"
                );
                SecretString::from(tokens::random_urlsafe(48))
            }
        };
        if config.bot_token.is_none() {
            tracing::warn!("GALLERY_BOT_TOKEN is not set: Max sign-in answers 503");
        }
        let refresh_days = u64::from(config.refresh_token_ttl_days.max(1));
        Ok(Self {
            tokens: tokens::AccessTokens::new(
                &secret,
                Duration::from_secs(config.access_token_ttl_seconds),
            ),
            passwords: passwords::PasswordHasherPool::new(
                config.password_hash_concurrency,
                Duration::from_secs(config.password_hash_queue_seconds),
            ),
            refresh_ttl: Duration::from_secs(refresh_days * 24 * 60 * 60),
            secure_cookies: production,
            qr_changed,
            config,
        })
    }

    /// The Max bot token, if Max sign-in is configured.
    pub fn bot_token(&self) -> Option<&str> {
        self.config
            .bot_token
            .as_ref()
            .map(|token| token.expose_secret())
    }
}
