//! The one-permit gate behind each row lock.

use std::future::Future;

/// An async lock without data: one permit, taken and given back.
pub(crate) trait Gate: Send + Sync + 'static {
    /// A gate whose permit is free.
    fn open() -> Self;

    /// Takes the permit if it is free.
    fn try_take(&self) -> bool;

    /// Waits for the permit and takes it. Dropping the future before it
    /// completes leaves the permit untaken.
    fn take(&self) -> impl Future<Output = ()> + Send + '_;

    /// Gives the taken permit back, waking a waiter.
    fn give_back(&self);
}

impl Gate for tokio::sync::Semaphore {
    fn open() -> Self {
        Self::new(1)
    }

    fn try_take(&self) -> bool {
        self.try_acquire().map(|permit| permit.forget()).is_ok()
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
