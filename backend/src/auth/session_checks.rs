//! Checking that access tokens' sessions are live, many requests in one query.
//!
//! Every signed-in request asks whether its session is still live, so that signing out
//! takes effect at once. Asked one at a time, under load, the question was a round trip per
//! request and cost more than the rest of a page served from memory. Here the requests that
//! arrive while a check is running wait for the next one, which answers all of them together:
//! each request is still answered by a query that started after it arrived.

use std::{
    mem,
    sync::{Arc, Mutex},
};

use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::sessions;
use crate::{error::ApiError, users::UserRow};

/// The session checks of this process.
pub struct SessionChecks {
    pool: PgPool,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    /// Whether a task is checking (it takes everything waiting when its query is done).
    checking: bool,
}

struct Waiter {
    session_id: Uuid,
    user_id: i64,
    answer: oneshot::Sender<Result<Option<UserRow>, ApiError>>,
}

impl SessionChecks {
    pub fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            queue: Mutex::default(),
        })
    }

    /// The user of `session_id` if it is one of `user_id`'s and has not ended, read by a
    /// query that starts after this call.
    pub async fn active_user(
        self: &Arc<Self>,
        session_id: Uuid,
        user_id: i64,
    ) -> Result<Option<UserRow>, ApiError> {
        let (answer, answered) = oneshot::channel();
        let start_checking = {
            let mut queue = self
                .queue
                .lock()
                .expect("the queue's lock is never poisoned");
            queue.waiting.push(Waiter {
                session_id,
                user_id,
                answer,
            });
            !mem::replace(&mut queue.checking, true)
        };
        if start_checking {
            // A task of its own, so that a request that goes away does not leave the others
            // it would have answered waiting.
            tokio::spawn(Arc::clone(self).check_while_waited_for());
        }
        answered.await.unwrap_or_else(|_| {
            Err(ApiError::unavailable(
                "the session could not be checked; try again",
            ))
        })
    }

    /// Answers everything waiting, one query per round, until nothing waits.
    async fn check_while_waited_for(self: Arc<Self>) {
        loop {
            let waiting = {
                let mut queue = self
                    .queue
                    .lock()
                    .expect("the queue's lock is never poisoned");
                if queue.waiting.is_empty() {
                    queue.checking = false;
                    return;
                }
                mem::take(&mut queue.waiting)
            };
            let session_ids: Vec<Uuid> = waiting.iter().map(|waiter| waiter.session_id).collect();
            match sessions::active_users(&self.pool, &session_ids).await {
                Ok(live) => {
                    for waiter in waiting {
                        let user = live
                            .iter()
                            .find(|(session_id, user)| {
                                *session_id == waiter.session_id && user.id == waiter.user_id
                            })
                            .map(|(_, user)| user.clone());
                        let _ = waiter.answer.send(Ok(user));
                    }
                }
                Err(error) => {
                    let error = ApiError::from(error);
                    for waiter in waiting {
                        let _ = waiter.answer.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}
