//! Password hashing with argon2id, off the async runtime, bounded in concurrency and below
//! the priority of the threads that serve requests.

use std::{
    panic::{self, AssertUnwindSafe},
    sync::{Arc, LazyLock, Mutex, mpsc},
    thread,
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use secrecy::{ExposeSecret, SecretString};
use thread_priority::{
    NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};
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

/// Hashes and verifies on `limit` threads of its own, which run only when nothing else would
/// ([`lower_priority`]): each hash takes 19 MiB and tens of milliseconds, so an unbounded
/// burst could exhaust memory. A request waits at most `queue_wait` for its turn; a longer
/// queue answers [`HashingError::Busy`] rather than letting requests pile up.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    /// To the hashing threads, which end when the last clone of the pool is dropped. As many
    /// threads as permits: at most `limit` hashes run at once, even when a request that
    /// started one has gone and given its turn to the next.
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl PasswordHasherPool {
    pub fn new(limit: usize, queue_wait: Duration) -> Self {
        let limit = limit.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..limit {
            let queue = Arc::clone(&queue);
            thread::Builder::new()
                .name("password-hashing".into())
                .spawn(move || {
                    lower_priority();
                    while let Some(job) = next_job(&queue) {
                        // A job that panics fails its request (its answer is dropped) only.
                        let _ = panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })
                .expect("the system can start a thread");
        }
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            queue_wait,
            jobs,
        }
    }

    async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashingError> {
        match tokio::time::timeout(self.queue_wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(HashingError::Busy),
        }
    }

    /// Runs `work` on a hashing thread when a turn comes.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = self.turn().await?;
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // The request may have gone meanwhile: nobody to answer then.
                let _ = answer.send(work());
            }))
            .map_err(|_| HashingError::Failed)?;
        answered.await.map_err(|_| HashingError::Failed)
    }

    /// A PHC-format argon2id hash of `password` with a fresh salt.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashingError> {
        self.run(move || hash_blocking(&password)).await
    }

    /// Whether `password` matches `stored`; with no stored hash, burns the same time against
    /// a dummy and answers false.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashingError> {
        self.run(move || {
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
            .run(|| {
                LazyLock::force(&DUMMY_HASH);
            })
            .await;
    }
}

/// A hashing thread's next job; `None` once the pool is gone. The queue is locked only while
/// waiting for it.
fn next_job(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Job> {
    let queue = queue.lock().ok()?;
    queue.recv().ok()
}

/// Gives the calling thread the hashing threads' priority: Linux's `SCHED_IDLE`, under which a
/// thread runs only on a core that would otherwise idle. Each hash is tens of milliseconds of
/// one core, so that a storm of sign-ins never delays requests, which come first; sign-ins take
/// what is left (and answer busy when nothing is left for longer than the queue wait). Where
/// the system refuses, hashing goes on at the usual priority.
fn lower_priority() {
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(error) =
        set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
    {
        tracing::warn!(
            ?error,
            "cannot lower the password hashing threads' priority"
        );
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
    async fn hashing_runs_only_when_nothing_else_would() {
        let pool = PasswordHasherPool::new(1, Duration::from_secs(5));
        let policy = pool
            .run(thread_priority::thread_schedule_policy)
            .await
            .unwrap();
        assert_eq!(
            policy.unwrap(),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        // The threads serving requests keep theirs.
        assert_eq!(
            thread_priority::thread_schedule_policy().unwrap(),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
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
