//! Starting the app for a test, and talking to it.

use std::{
    path::{Path, PathBuf},
    sync::LazyLock,
    time::{Duration, Instant},
};

use gallery::{
    config::{
        AuthConfig, DatabaseConfig, InitDataClock, PhotoConfig, ProfileConfig, RateLimitConfig,
        RealtimeConfig, ServeConfig, StorageConfig,
    },
    startup::Application,
};
use reqwest::Url;
use secrecy::SecretString;
use sqlx::{Connection, Executor, PgConnection};

/// Logs are noise unless a test is being debugged.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,sqlx=warn")
            .with_test_writer()
            .try_init();
    }
});

/// A running server with its own database and scratch directory.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    /// The name of this test's database.
    pub database: String,
    /// The server's web client directory.
    pub web_dir: PathBuf,
    /// The test's scratch directory (web client, uploads), removed when the test ends.
    _scratch: tempfile::TempDir,
}

impl TestApp {
    /// A handle on a server the test runs itself.
    pub fn for_running(address: String, database: String, web_dir: PathBuf) -> Self {
        TestApp {
            address,
            client: test_client(),
            database,
            web_dir,
            _scratch: tempfile::tempdir().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }
}

/// The bot token every test server validates initData with.
pub const BOT_TOKEN: &str = "447712782:TyGJMuHbEL31IeL2HPcHyGcFRl1SPnXNYvM";
pub const BOT_USERNAME: &str = "test_gallery_bot";
/// The test servers' access-token secret (tests forge tokens with it and with others).
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A fake web client build: an index and one content-hashed asset, as trunk would leave them.
pub const INDEX_HTML: &str = "<!doctype html><title>test client</title>";
pub const HASHED_ASSET: &str = "/gallery-web-0123456789abcdef.js";
pub const HASHED_ASSET_BODY: &str = "console.log('hello');";

/// Starts the app with a fresh database and a fake web client build.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let (mut config, database, scratch) = test_config().await;
    adjust(&mut config);
    let web_dir = config.web_dir.clone();

    let app = Application::build(config).await.expect("the app builds");
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    TestApp {
        address,
        client: test_client(),
        database,
        web_dir,
        _scratch: scratch,
    }
}

fn test_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A test server's configuration, with a fresh database (whose name comes second) and a
/// fake web client build in a scratch directory (third: it is removed when dropped).
pub async fn test_config() -> (ServeConfig, String, tempfile::TempDir) {
    LazyLock::force(&TRACING);
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&format!(r#"create database "{database}""#)).await;

    let scratch_dir = tempfile::Builder::new()
        .prefix("gallery-test-")
        .tempdir()
        .unwrap();
    let scratch = scratch_dir.path();
    let web_dir = scratch.join("web");
    write_fake_web_client(&web_dir);

    let config = ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        web_dir: web_dir.clone(),
        frame_ancestors: vec!["https://web.max.ru".to_owned()],
        shutdown_grace_seconds: 1,
        production: false,
        storage: StorageConfig {
            data_dir: scratch.join("data"),
        },
        database: DatabaseConfig {
            url: Some(SecretString::from(database_url(&database).to_string())),
            max_connections: 5,
            timeout_seconds: 2,
            statement_timeout_ms: 5000,
        },
        auth: AuthConfig {
            bot_token: Some(SecretString::from(BOT_TOKEN)),
            bot_username: BOT_USERNAME.to_owned(),
            jwt_secret: Some(SecretString::from(JWT_SECRET)),
            init_data_max_age_seconds: 86_400,
            access_token_ttl_seconds: 900,
            refresh_token_ttl_days: 30,
            password_hash_concurrency: 2,
            password_hash_queue_seconds: 5,
            dev_login: false,
            init_data_clock: InitDataClock::System,
        },
        // Generous: tests of the limits lower them.
        rate_limits: RateLimitConfig {
            sign_in_per_minute: 10_000,
            searches_per_minute: 10_000,
            qr_per_minute: 10_000,
            refresh_per_session_per_minute: 10_000,
            login_per_handle_per_minute: 10_000,
            writes_per_minute: 10_000,
            profile_requests_per_hour: 10_000,
            trusted_proxies: Vec::new(),
        },
        photos: PhotoConfig {
            max_upload_mib: 20,
            max_megapixels: 40,
            max_side: 10_000,
            max_frames: 300,
            feed_cache_pages: 1024,
            decode_concurrency: 2,
            uploads_per_user: 2,
            storage_quota_mib: 1024,
            upload_read_seconds: 120,
            decode_seconds: 60,
            sweep_grace_seconds: 900,
        },
        realtime: RealtimeConfig {
            allowed_origins: Vec::new(),
            events_window: 10_000,
            queue: 512,
            ping_seconds: 25,
            idle_seconds: 60,
            send_timeout_seconds: 10,
            messages_per_second: 5,
            threads: None,
        },
        profiles: ProfileConfig {
            request_cooling_off_seconds: 3_600,
        },
    };
    (config, database, scratch_dir)
}

/// The scratch cluster's superuser URL, from `GALLERY_TEST_DATABASE_URL`.
pub fn admin_url() -> Url {
    let url = std::env::var("GALLERY_TEST_DATABASE_URL").expect(
        "GALLERY_TEST_DATABASE_URL is not set: run the tests through scripts/test.sh, which \
         starts a throwaway PostgreSQL",
    );
    Url::parse(&url).expect("GALLERY_TEST_DATABASE_URL is a URL")
}

/// The URL of database `name` in the scratch cluster.
pub fn database_url(name: &str) -> Url {
    let mut url = admin_url();
    url.set_path(&format!("/{name}"));
    url
}

/// Runs one statement as the scratch cluster's superuser.
pub async fn admin_execute(sql: &str) {
    let mut connection = PgConnection::connect(admin_url().as_str())
        .await
        .expect("the scratch cluster answers");
    connection
        .execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// Polls `check` until it returns true or `timeout` passes; returns how long it took.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

fn write_fake_web_client(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("index.html"), INDEX_HTML).unwrap();
    std::fs::write(
        dir.join(HASHED_ASSET.trim_start_matches('/')),
        HASHED_ASSET_BODY,
    )
    .unwrap();
}

/// Asserts an error response has `status` and the JSON error shape with `code`.
pub async fn assert_json_error(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["code"], code, "code in {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message in {body}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only code and message in {body}"
    );
}

impl TestApp {
    /// POSTs `body` as JSON.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request failed")
    }

    /// GETs with an access token.
    pub async fn get_as(&self, path: &str, access_token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request failed")
    }

    /// Signs in through `POST /api/auth/max` with freshly signed initData.
    pub async fn sign_in(
        &self,
        max_user_id: i64,
        first_name: &str,
        username: Option<&str>,
    ) -> SignedIn {
        let init_data = sign_init_data(
            BOT_TOKEN,
            &[("user", &max_user_json(max_user_id, first_name, username))],
            chrono::Utc::now().timestamp(),
        );
        let response = self
            .post_json(
                "/api/auth/max",
                &serde_json::json!({ "init_data": init_data }),
            )
            .await;
        assert_eq!(response.status(), 200, "sign-in failed");
        response.json().await.unwrap()
    }
}

impl TestApp {
    /// Signs in through `POST /api/auth/max` as a browser does: with `client` (give it a
    /// cookie store to keep the session) and cookie delivery of the refresh token.
    pub async fn sign_in_by_cookie(
        &self,
        client: &reqwest::Client,
        max_user_id: i64,
    ) -> reqwest::Response {
        let init_data = sign_init_data(
            BOT_TOKEN,
            &[("user", &max_user_json(max_user_id, "Ann", None))],
            chrono::Utc::now().timestamp(),
        );
        client
            .post(self.url("/api/auth/max"))
            .header("X-Token-Delivery", "cookie")
            .json(&serde_json::json!({ "init_data": init_data }))
            .send()
            .await
            .expect("request failed")
    }
}

/// The parts of a token response the tests use.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignedIn {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub user: serde_json::Value,
}

impl SignedIn {
    pub fn refresh_token(&self) -> &str {
        self.refresh_token
            .as_deref()
            .expect("a refresh token in the body")
    }

    pub fn user_id(&self) -> i64 {
        self.user["id"].as_i64().unwrap()
    }
}

/// initData Max would give the mini-app of Max user `max_user_id` right now.
pub fn fresh_init_data(max_user_id: i64) -> String {
    sign_init_data(
        BOT_TOKEN,
        &[("user", &max_user_json(max_user_id, "Someone", None))],
        chrono::Utc::now().timestamp(),
    )
}

/// A Max `user` JSON object.
pub fn max_user_json(id: i64, first_name: &str, username: Option<&str>) -> String {
    serde_json::json!({
        "id": id,
        "first_name": first_name,
        "last_name": null,
        "username": username,
        "language_code": "en",
        "photo_url": null,
    })
    .to_string()
}

/// Signs initData the way Max does, written independently of the server's code from Max's
/// documentation: HMAC-SHA256 keyed by HMAC-SHA256("WebAppData", token) over the sorted
/// `key=value` lines.
pub fn sign_init_data(bot_token: &str, fields: &[(&str, &str)], auth_date: i64) -> String {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    let auth_date = auth_date.to_string();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("auth_date", &auth_date));
    all.sort();
    let check_string = all
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut secret = Hmac::<Sha256>::new_from_slice(b"WebAppData").unwrap();
    secret.update(bot_token.as_bytes());
    let secret = secret.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(check_string.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());

    let mut url = Url::parse("http://x/").unwrap();
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in &all {
            query.append_pair(key, value);
        }
        query.append_pair("hash", &hash);
    }
    url.query().unwrap().to_owned()
}
