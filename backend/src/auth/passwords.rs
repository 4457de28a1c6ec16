//! Password hashing with argon2id, off the async runtime, bounded in concurrency, and at a
//! lower scheduling priority than the rest of the server.

use std::{
    sync::{Arc, LazyLock, Mutex, mpsc},
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use secrecy::{ExposeSecret, SecretString};
use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
use tokio::sync::{Semaphore, oneshot};

use crate::error::ApiError;

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// OWASP ASVS: at least 8 characters, at most 128 (long enough for passphrases, short
/// enough that hashing cannot be abused), no composition rules.
pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// A hash of a random password, verified against when the handle is unknown or has no
/// password, so that such sign-ins cost the same time as real ones.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking(&SecretString::from(crate::auth::tokens::random_urlsafe(24))));

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    #[error("the password must be at least 8 characters long")]
    TooShort,
    #[error("the password must be at most 128 characters long")]
    TooLong,
}

/// Checks a new password against the rules.
pub fn check_rules(password: &str) -> Result<(), PasswordRuleError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        Err(PasswordRuleError::TooShort)
    } else if chars > MAX_CHARS {
        Err(PasswordRuleError::TooLong)
    } else {
        Ok(())
    }
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("too many passwords are being checked right now; try again shortly")]
    Busy,
    #[error("a password hashing thread failed")]
    Failed,
}

impl From<HashingError> for ApiError {
    fn from(error: HashingError) -> Self {
        match error {
            HashingError::Busy => ApiError::unavailable(error.to_string()),
            HashingError::Failed => anyhow::Error::from(error).into(),
        }
    }
}

/// Hashes and verifies on threads of its own, at most `limit` at a time: each hash takes
/// 19 MiB and tens of milliseconds, so an unbounded burst could exhaust memory. A request
/// waits at most `queue_wait` for its turn; a longer queue answers [`HashingError::Busy`]
/// rather than letting requests pile up. The threads run at a lower priority (nice 9) than
/// the server's others: during a storm of password sign-ins the cores serve everyone else
/// first, and the sign-ins take what is left.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    threads: Arc<LowPriorityThreads>,
}

impl PasswordHasherPool {
    pub fn new(limit: usize, queue_wait: Duration) -> Self {
        let limit = limit.max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            queue_wait,
            threads: Arc::new(LowPriorityThreads::start(limit)),
        }
    }

    async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashingError> {
        match tokio::time::timeout(self.queue_wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(HashingError::Busy),
        }
    }

    /// A PHC-format argon2id hash of `password` with a fresh salt.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashingError> {
        let _permit = self.turn().await?;
        self.threads.run(move || hash_blocking(&password)).await
    }

    /// Whether `password` matches `stored`; with no stored hash, burns the same time against
    /// a dummy and answers false.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashingError> {
        let _permit = self.turn().await?;
        self.threads
            .run(move || {
                let known = stored.is_some();
                let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
                let matches = PasswordHash::new(&hash).is_ok_and(|parsed| {
                    argon2()
                        .verify_password(password.expose_secret().as_bytes(), &parsed)
                        .is_ok()
                });
                known && matches
            })
            .await
    }

    /// Computes the dummy hash now, so the first unknown-handle sign-in is not slower.
    pub async fn warm_up(&self) {
        let _ = self
            .threads
            .run(|| LazyLock::force(&DUMMY_HASH).len())
            .await;
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads: they take jobs from one queue in turn.
struct LowPriorityThreads {
    queue: mpsc::Sender<Job>,
}

/// Niceness 9 (thread-priority maps 25 of its 0–99 scale onto nice −20…19 so): under full
/// load a hashing thread gets about a tenth of a core, never none.
const HASHING_PRIORITY: u8 = 25;

impl LowPriorityThreads {
    fn start(count: usize) -> Self {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..count {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    let priority = ThreadPriorityValue::try_from(HASHING_PRIORITY)
                        .expect("within thread-priority's scale");
                    if let Err(error) =
                        set_current_thread_priority(ThreadPriority::Crossplatform(priority))
                    {
                        tracing::warn!(?error, "password hashing runs at the normal priority");
                    }
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The pool is gone.
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })
                .expect("the operating system starts a thread");
        }
        Self { queue }
    }

    /// Runs `work` on a hashing thread and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic drops `done` (the answer is a failure); the thread lives on.
            if let Ok(value) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
                let _ = done.send(value);
            }
        });
        self.queue.send(job).map_err(|_| HashingError::Failed)?;
        result.await.map_err(|_| HashingError::Failed)
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &SecretString) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pool = PasswordHasherPool::new(1, Duration::from_secs(5));
        let hash = pool
            .hash(SecretString::from("correct horse"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            pool.verify(SecretString::from("correct horse"), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(SecretString::from("wrong horse"), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(SecretString::from("correct horse"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_waiting_forever() {
        let pool = PasswordHasherPool::new(1, Duration::from_millis(50));
        let held = pool.turn().await.unwrap();
        assert!(matches!(
            pool.verify(SecretString::from("x"), None).await,
            Err(HashingError::Busy)
        ));
        drop(held);
        assert!(!pool.verify(SecretString::from("x"), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashing_threads_run_below_the_normal_priority_and_survive_a_panic() {
        let pool = PasswordHasherPool::new(1, Duration::from_secs(5));
        let stat = pool
            .threads
            .run(|| std::fs::read_to_string("/proc/thread-self/stat").unwrap())
            .await
            .unwrap();
        // The nice value is the 19th field; the command name before it is in parentheses.
        let after_name: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let nice: i32 = after_name[16].parse().unwrap();
        assert_eq!(nice, 9, "{stat}");

        let panicked = pool
            .threads
            .run(|| -> u8 { panic!("a failing hash") })
            .await;
        assert!(matches!(panicked, Err(HashingError::Failed)));
        assert!(pool.hash(SecretString::from("still working")).await.is_ok());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(&DUMMY_HASH).unwrap();
        let real = hash_blocking(&SecretString::from("a real password"));
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
    }

    #[test]
    fn rules_count_characters_not_bytes() {
        assert_eq!(check_rules("пароль1"), Err(PasswordRuleError::TooShort));
        assert_eq!(check_rules("пароль12"), Ok(()));
        assert_eq!(
            check_rules(&"я".repeat(129)),
            Err(PasswordRuleError::TooLong)
        );
    }
}
