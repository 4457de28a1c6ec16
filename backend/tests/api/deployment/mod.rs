//! The deployment as docker-compose runs it, on this machine: Debian's nginx, configured from
//! the repository's `nginx.conf` template by `scripts/render-nginx.sh`, in front of several
//! `gallery serve` processes that share one database and one data folder. The processes are
//! real (they are signalled and killed); nginx serves the web client built by trunk
//! (`web/dist`, which `scripts/test.sh` builds before the tests run).

mod backup;
mod compose;
mod crash;
mod failover;
mod proxy;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use sha2::{Digest, Sha256};
use tokio::process::{Child, Command};

use crate::helpers::{BOT_TOKEN, BOT_USERNAME, JWT_SECRET, TestApp, admin_execute, wait_until};

/// How long a process may take to start serving, or to stop.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The repository's root.
pub fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the backend crate lives in the repository")
}

/// One `gallery serve` process.
pub struct Instance {
    /// Talks to this instance directly, past nginx.
    pub app: TestApp,
    port: u16,
    process: Option<Child>,
    log: PathBuf,
}

/// nginx and the instances behind it.
pub struct Deployment {
    pub database: String,
    /// The instances' shared `GALLERY_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Talks to nginx.
    pub front: TestApp,
    pub instances: Vec<Instance>,
    nginx: Child,
    settings: Vec<(String, String)>,
    scratch: tempfile::TempDir,
}

impl Deployment {
    /// A fresh database, `count` instances with these extra settings (`GALLERY_*` variables),
    /// and nginx in front of them.
    pub async fn start(count: usize, settings: &[(&str, &str)]) -> Self {
        let web_dir = repository().join("web/dist");
        assert!(
            web_dir.join("index.html").is_file(),
            "no web client build in {}: scripts/test.sh builds it before the tests",
            web_dir.display()
        );
        let database = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin_execute(&format!(r#"create database "{database}""#)).await;
        let scratch = tempfile::Builder::new()
            .prefix("gallery-deployment-")
            .tempdir()
            .unwrap();
        // nginx's workers run as another user (as in docker-compose): they must reach the
        // uploads and write their temporary files.
        set_mode(scratch.path(), 0o755);
        let data_dir = scratch.path().join("data");
        let run_dir = scratch.path().join("nginx");
        std::fs::create_dir_all(&run_dir).unwrap();
        set_mode(&run_dir, 0o1777);

        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let mut deployment_instances = Vec::new();
        for index in 0..count {
            let log = scratch.path().join(format!("instance-{index}.log"));
            let (process, port) = launch(&database, &data_dir, &web_dir, &settings, &log, 0).await;
            deployment_instances.push(Instance {
                app: TestApp::for_running(
                    format!("http://127.0.0.1:{port}"),
                    database.clone(),
                    web_dir.clone(),
                ),
                port,
                process: Some(process),
                log,
            });
        }

        let nginx_port = free_port();
        let backends = deployment_instances
            .iter()
            .map(|instance| format!("127.0.0.1:{}", instance.port))
            .collect::<Vec<_>>()
            .join(" ");
        let max_upload = settings
            .iter()
            .find(|(name, _)| name == "GALLERY_MAX_UPLOAD_MIB")
            .map_or("20", |(_, value)| value.as_str());
        let rendered = std::process::Command::new("sh")
            .arg(repository().join("scripts/render-nginx.sh"))
            .env("GALLERY_NGINX_BACKENDS", &backends)
            .env("GALLERY_NGINX_WEB_ROOT", &web_dir)
            .env("GALLERY_NGINX_UPLOADS", data_dir.join("uploads"))
            .env("GALLERY_NGINX_LISTEN", format!("127.0.0.1:{nginx_port}"))
            .env("GALLERY_NGINX_RUN_DIR", &run_dir)
            .env("GALLERY_MAX_UPLOAD_MIB", max_upload)
            .output()
            .expect("scripts/render-nginx.sh runs");
        assert!(
            rendered.status.success(),
            "render-nginx.sh: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let config = run_dir.join("nginx.conf");
        std::fs::write(&config, &rendered.stdout).unwrap();
        let nginx_log = std::fs::File::create(scratch.path().join("nginx.log")).unwrap();
        let nginx = Command::new(nginx_binary())
            .arg("-c")
            .arg(&config)
            .args(["-e", "stderr", "-g", "daemon off;"])
            .stdout(nginx_log.try_clone().unwrap())
            .stderr(nginx_log)
            .spawn()
            .expect("nginx starts (scripts/test.sh installs it)");
        let front = TestApp::for_running(
            format!("http://127.0.0.1:{nginx_port}"),
            database.clone(),
            web_dir,
        );
        let deployment = Deployment {
            database,
            data_dir,
            front,
            instances: deployment_instances,
            nginx,
            settings,
            scratch,
        };
        let ready = wait_until(START_TIMEOUT, || async {
            matches!(
                deployment.front.client.get(deployment.front.url("/health")).send().await,
                Ok(response) if response.status() == 200
            )
        })
        .await;
        if ready.is_none() {
            panic!(
                "nginx does not answer:\n{}",
                std::fs::read_to_string(deployment.scratch.path().join("nginx.log"))
                    .unwrap_or_default()
            );
        }
        deployment
    }

    /// Another handle on instance `index`, directly.
    pub fn instance_handle(&self, index: usize) -> TestApp {
        TestApp::for_running(
            self.instances[index].app.address.clone(),
            self.database.clone(),
            self.front.web_dir.clone(),
        )
    }

    /// Another handle on nginx, for a test that also stops and starts instances.
    pub fn front_handle(&self) -> TestApp {
        TestApp::for_running(
            self.front.address.clone(),
            self.database.clone(),
            self.front.web_dir.clone(),
        )
    }

    /// The instances' shared uploads directory.
    pub fn uploads(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    /// The process id of instance `index`.
    fn pid(&self, index: usize) -> u32 {
        self.instances[index]
            .process
            .as_ref()
            .and_then(Child::id)
            .expect("the instance is running")
    }

    /// Kills instance `index` at once (SIGKILL), as a crash would.
    pub async fn kill(&mut self, index: usize) {
        let mut process = self.instances[index]
            .process
            .take()
            .expect("the instance is running");
        process.kill().await.expect("the instance is killed");
    }

    /// Sends SIGTERM to instance `index` (it drains and exits: see [`Self::exited`]).
    pub fn terminate(&self, index: usize) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid(index).to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM sent");
    }

    /// Waits for instance `index` to exit by itself; its exit status and log.
    pub async fn exited(&mut self, index: usize) -> (std::process::ExitStatus, String) {
        let instance = &mut self.instances[index];
        let mut process = instance.process.take().expect("the instance is running");
        let status = tokio::time::timeout(START_TIMEOUT, process.wait())
            .await
            .expect("the instance exits in time")
            .expect("the instance's status");
        let log = std::fs::read_to_string(&instance.log).unwrap_or_default();
        (status, log)
    }

    /// Starts instance `index` again, on its port (nginx knows it by that).
    pub async fn restart(&mut self, index: usize) {
        assert!(
            self.instances[index].process.is_none(),
            "instance {index} is still running"
        );
        let web_dir = repository().join("web/dist");
        let (process, _) = launch(
            &self.database,
            &self.data_dir,
            &web_dir,
            &self.settings,
            &self.instances[index].log,
            self.instances[index].port,
        )
        .await;
        self.instances[index].process = Some(process);
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // nginx's master stops its workers on SIGTERM (killed, it would leave them behind);
        // the instances hold nothing a test still needs.
        if let Some(pid) = self.nginx.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        for instance in &mut self.instances {
            if let Some(process) = instance.process.as_mut() {
                let _ = process.start_kill();
            }
        }
    }
}

/// Starts `gallery serve` on `port` (0: any) and waits until it serves; its process and port.
async fn launch(
    database: &str,
    data_dir: &Path,
    web_dir: &Path,
    settings: &[(String, String)],
    log: &Path,
    port: u16,
) -> (Child, u16) {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let already_logged = std::fs::metadata(log).map_or(0, |metadata| metadata.len());
    let mut command = Command::new(env!("CARGO_BIN_EXE_gallery"));
    command.arg("serve");
    // Only what is set here: nothing from the environment the tests run in.
    for (name, _) in std::env::vars() {
        if name.starts_with("GALLERY_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
        .env("GALLERY_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "DATABASE_URL",
            crate::helpers::database_url(database).as_str(),
        )
        .env("GALLERY_DATA_DIR", data_dir)
        .env("GALLERY_WEB_DIR", web_dir)
        .env("GALLERY_BOT_TOKEN", BOT_TOKEN)
        .env("GALLERY_BOT_USERNAME", BOT_USERNAME)
        .env("GALLERY_JWT_SECRET", JWT_SECRET)
        .env("GALLERY_TRUSTED_PROXIES", "127.0.0.1")
        .env("GALLERY_DB_MAX_CONNECTIONS", "8")
        .env("GALLERY_SHUTDOWN_GRACE_SECONDS", "10")
        .env("GALLERY_LOG", "info,sqlx=warn")
        .env("NO_COLOR", "1");
    for limit in [
        "SIGN_IN",
        "QR",
        "SEARCHES",
        "WRITES",
        "LOGIN_PER_HANDLE",
        "REFRESH_PER_SESSION",
    ] {
        command.env(format!("GALLERY_RATE_{limit}_PER_MINUTE"), "100000");
    }
    command.envs(settings.iter().map(|(name, value)| (name, value)));
    let mut process = command
        .stdout(Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .expect("the gallery binary starts");

    let started = std::time::Instant::now();
    loop {
        let text = std::fs::read(log).unwrap_or_default();
        let new = String::from_utf8_lossy(&text[already_logged.min(text.len() as u64) as usize..])
            .into_owned();
        if let Some(address) = new
            .split("serving Max Photo Gallery on http://127.0.0.1:")
            .nth(1)
        {
            let port: String = address.chars().take_while(char::is_ascii_digit).collect();
            return (process, port.parse().expect("a port in the log"));
        }
        if let Ok(Some(status)) = process.try_wait() {
            panic!("the instance exited ({status}) before serving:\n{new}");
        }
        assert!(
            started.elapsed() < START_TIMEOUT,
            "the instance did not start serving:\n{new}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .expect("nginx is installed (scripts/test.sh installs Debian's nginx)")
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every stored file in `uploads` (not the staging directory): its name and its bytes' hash.
pub fn stored_files(uploads: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let Ok(shards) = std::fs::read_dir(uploads) else {
        return files;
    };
    for shard in shards {
        let shard = shard.unwrap();
        if shard.file_name() == "tmp" || !shard.file_type().unwrap().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(shard.path()).unwrap() {
            let file = file.unwrap();
            let bytes = std::fs::read(file.path()).unwrap();
            files.push((
                file.file_name().to_string_lossy().into_owned(),
                hex::encode(Sha256::digest(&bytes)),
            ));
        }
    }
    files.sort();
    files
}

/// Asserts that every stored file's bytes hash to its name: none is half written.
pub fn assert_files_whole(uploads: &Path) {
    for (name, hash) in stored_files(uploads) {
        assert!(
            name.starts_with(&hash),
            "{name} holds other bytes (sha256 {hash}): a half-written file"
        );
    }
}

/// The files in the staging directory.
pub fn staged_files(uploads: &Path) -> usize {
    std::fs::read_dir(uploads.join("tmp")).map_or(0, Iterator::count)
}

/// One sample of a Prometheus text exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Parses the Prometheus text format (version 0.0.4) strictly: every line is a `# HELP`, a
/// `# TYPE` or a sample `name{label="value",...} number`; panics on anything else.
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    let is_name = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    };
    let mut samples = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default(),
            );
            assert!(is_name(name), "a metric name in {line:?}");
            match kind {
                "HELP" => {}
                "TYPE" => assert!(
                    matches!(
                        words.next(),
                        Some("counter" | "gauge" | "histogram" | "summary" | "untyped")
                    ),
                    "a metric type in {line:?}"
                ),
                _ => panic!("an unknown comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a sample {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("a number in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("closed labels in {line:?}"));
                let labels = body
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (label, quoted) = pair
                            .split_once('=')
                            .unwrap_or_else(|| panic!("label=value in {line:?}"));
                        assert!(is_name(label), "a label name in {line:?}");
                        let value = quoted
                            .strip_prefix('"')
                            .unwrap_or_else(|| panic!("a quoted value in {line:?}"))
                            .trim_end_matches('"');
                        (label.to_owned(), value.to_owned())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(is_name(name), "a metric name in {line:?}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// The sum of the samples named `name` whose labels include every one of `labels`.
pub fn metric(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|sample| {
            sample.name == name
                && labels.iter().all(|(label, value)| {
                    sample
                        .labels
                        .iter()
                        .any(|(have, is)| have == label && is == value)
                })
        })
        .map(|sample| sample.value)
        .sum()
}

/// Scrapes `/metrics` of `app` (an instance, directly).
pub async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "Prometheus text: {content_type}"
    );
    parse_prometheus(&response.text().await.unwrap())
}
