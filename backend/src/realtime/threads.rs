//! The threads the sockets run on, apart from the threads that serve requests.
//!
//! Every event is a write on every socket that may see it, ten thousand writes at once on a
//! busy instance. Run by the request threads, those socket tasks were spread over every core
//! and stolen back and forth between them at each event, their buffers with them, beside the
//! requests; on threads of their own they stay put, and the request threads keep serving
//! (`scripts/bench.sh`'s fan-out, 10,000 sockets on two cores: 8.5 µs of CPU per delivery and
//! a p99 to the last client of 175 ms on the request threads; 7.4 µs and 167–170 ms on one
//! thread of their own, on an Intel Xeon). One thread per core, so that an event's writes go
//! out on every core at once (on an AMD EPYC: 13.1–15.9 µs and 181–197 ms on two threads,
//! 14.1–15.8 µs and 187–223 ms on one); they idle between events. The event hub runs here
//! too, so that an event wakes the sockets on their own threads.
//!
//! A socket's connection stays registered with the runtime that accepted it; its writes are
//! made here directly, and its reads are woken from there.

use std::{future::Future, num::NonZeroUsize, thread};

use anyhow::Context;
use tokio::{
    runtime::{Builder, Handle, Runtime},
    task::JoinHandle,
};

/// The sockets' runtime. Dropping it ends the threads, and any socket still open with them.
pub struct SocketThreads {
    runtime: Option<Runtime>,
}

impl SocketThreads {
    /// Starts `threads` threads, or one per core when `None`.
    pub fn start(threads: Option<NonZeroUsize>) -> anyhow::Result<Self> {
        let threads = threads.map_or_else(default_threads, NonZeroUsize::get);
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("sockets")
            .enable_all()
            .build()
            .context("cannot start the sockets' threads")?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Where to spawn the sockets' tasks.
    pub fn handle(&self) -> Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until the threads are dropped")
            .handle()
            .clone()
    }

    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(task)
    }
}

impl Drop for SocketThreads {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropped from async code (the server's own runtime), which may not block.
            runtime.shutdown_background();
        }
    }
}

fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_run_on_the_sockets_threads_until_they_are_dropped() {
        let threads = SocketThreads::start(NonZeroUsize::new(1)).unwrap();
        let name = threads
            .spawn(async { thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("sockets"));

        let forever = threads.spawn(std::future::pending::<()>());
        drop(threads);
        assert!(forever.await.unwrap_err().is_cancelled());
    }
}
