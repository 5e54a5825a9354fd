//! The gate behind a contended row lock: an async semaphore through which
//! a leaving holder hands the lock to one waiter.

use std::fmt;
use std::future::Future;

use super::task::TaskId;

/// An async lock without data, created taken: a waiter takes the permit
/// a leaving holder gives.
pub(crate) trait Gate: Send + Sync + 'static {
    /// Identifies the tasks that wait at gates of this kind (tokio tasks
    /// for tokio's semaphore, threads in the loom model).
    type Task: Copy + Eq + fmt::Debug + Send + Sync + 'static;

    /// The running task, if it has an identity.
    fn current_task() -> Option<Self::Task>;

    /// A gate whose permit is taken (by the current holder of the lock).
    fn closed() -> Self;

    /// Waits for the permit and takes it. Dropping the future before it
    /// completes leaves the permit untaken.
    fn take(&self) -> impl Future<Output = ()> + Send + '_;

    /// Gives the taken permit back, waking a waiter.
    fn give_back(&self);
}

impl Gate for tokio::sync::Semaphore {
    type Task = TaskId;

    fn current_task() -> Option<TaskId> {
        TaskId::current()
    }

    fn closed() -> Self {
        Self::new(0)
    }

    async fn take(&self) {
        self.acquire()
            .await
            .expect("row-lock semaphores are never closed")
            .forget();
    }

    fn give_back(&self) {
        self.add_permits(1);
    }
}
