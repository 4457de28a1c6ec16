//! Development helpers and production's refusals.

use secrecy::SecretString;

use crate::helpers::{BOT_TOKEN, assert_json_error, spawn_app, spawn_app_with, test_config};

#[tokio::test]
async fn sign_init_data_prints_initdata_the_server_accepts() {
    let app = spawn_app().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gallery"))
        .args([
            "sign-init-data",
            "--user-id",
            "7001",
            "--first-name",
            "Dev",
            "--username",
            "dev_user",
            "--start-param",
            "o_42",
        ])
        .env("GALLERY_BOT_TOKEN", BOT_TOKEN)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let init_data = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let response = app
        .post_json(
            "/api/auth/max",
            &serde_json::json!({ "init_data": init_data }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["handle"], "dev_user");
    assert_eq!(body["start_param"], "o_42");
}

#[tokio::test]
async fn development_sign_in_exists_only_when_enabled() {
    let body = serde_json::json!({ "user_id": 7002, "first_name": "Demo" });
    let off = spawn_app().await;
    assert_json_error(
        off.post_json("/api/auth/dev", &body).await,
        404,
        "not_found",
    )
    .await;
    let options: serde_json::Value = off.get("/api/auth/options").await.json().await.unwrap();
    assert_eq!(options["dev_login"], false);

    let on = spawn_app_with(|config| config.auth.dev_login = true).await;
    let options: serde_json::Value = on.get("/api/auth/options").await.json().await.unwrap();
    assert_eq!(options["dev_login"], true);
    let response = on.post_json("/api/auth/dev", &body).await;
    assert_eq!(response.status(), 200);
    let signed_in: serde_json::Value = response.json().await.unwrap();
    assert_eq!(signed_in["user"]["display_name"], "Demo");
    // Development accounts never are real Max accounts with the same number.
    let real = on.sign_in(7002, "Real", None).await;
    assert_ne!(real.user_id(), signed_in["user"]["id"].as_i64().unwrap());
    let zero = serde_json::json!({ "user_id": 0, "first_name": "Zero" });
    assert_json_error(
        on.post_json("/api/auth/dev", &zero).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn production_refuses_development_sign_in_and_missing_or_weak_secrets() {
    let (mut config, _database, _scratch) = test_config().await;
    config.production = true;
    assert!(
        gallery::startup::Application::build(config.clone())
            .await
            .is_ok(),
        "a sound production configuration starts"
    );

    let mut dev = config.clone();
    dev.auth.dev_login = true;
    let error = gallery::startup::Application::build(dev)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("GALLERY_DEV_LOGIN"), "{error}");

    let mut no_secret = config.clone();
    no_secret.auth.jwt_secret = None;
    let error = gallery::startup::Application::build(no_secret)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("GALLERY_JWT_SECRET"), "{error}");

    let mut no_bot = config.clone();
    no_bot.auth.bot_token = None;
    let error = gallery::startup::Application::build(no_bot)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("GALLERY_BOT_TOKEN"), "{error}");

    let mut weak = config;
    weak.production = false;
    weak.auth.jwt_secret = Some(SecretString::from("short"));
    let error = gallery::startup::Application::build(weak)
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("at least 32 bytes"), "{error}");
}

#[tokio::test]
async fn production_cookies_are_secure() {
    let app = spawn_app_with(|config| config.production = true).await;
    let response = app.sign_in_by_cookie(&app.client, 7003).await;
    assert_eq!(response.status(), 200);
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2);
    assert!(
        cookies.iter().all(|cookie| cookie.contains("Secure")),
        "{cookies:?}"
    );
}

/// Every setting the server reads from the environment is documented in `.env.example` and
/// in the README's configuration table.
#[test]
fn every_setting_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let config = read("backend/src/config.rs");
    let (example, readme) = (read(".env.example"), read("README.md"));
    let settings: Vec<&str> = config
        .split("env = \"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(settings.len() > 20, "{settings:?}");
    for setting in settings {
        assert!(
            example.contains(&format!("{setting}=")),
            "{setting} in .env.example"
        );
        assert!(
            readme.contains(&format!("| `{setting}` |")),
            "{setting} in the README's table"
        );
    }
}
