//! Starting the app for a test, and talking to it.

use std::{
    path::{Path, PathBuf},
    sync::LazyLock,
    time::{Duration, Instant},
};

use gallery::{
    config::{DatabaseConfig, ServeConfig, StorageConfig},
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
}

impl TestApp {
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
    LazyLock::force(&TRACING);
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    admin_execute(&format!(r#"create database "{database}""#)).await;

    let scratch = std::env::temp_dir().join(format!("gallery-{database}"));
    let web_dir = scratch.join("web");
    write_fake_web_client(&web_dir);

    let mut config = ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        web_dir: web_dir.clone(),
        shutdown_grace_seconds: 1,
        storage: StorageConfig {
            data_dir: scratch.join("data"),
        },
        database: DatabaseConfig {
            url: Some(SecretString::from(database_url(&database).to_string())),
            max_connections: 5,
            timeout_seconds: 2,
        },
    };
    adjust(&mut config);

    let app = Application::build(config).await.expect("the app builds");
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        database,
        web_dir,
    }
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
