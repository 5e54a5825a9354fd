//! Blocking work and async callers, bridged without a runtime of the
//! table's own.
//!
//! The table's blocking work (file I/O, waiting for the log's flusher)
//! never runs on a worker of the caller's async runtime:
//! `PersistentTable::on_thread` runs it on a thread of its own and hands
//! its result to the awaiting caller through a oneshot channel. The other
//! way round, a plain thread that must wait for a future (the flusher's
//! progress, published on a `watch` channel) polls it with [`block_on`],
//! parking between wake-ups.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use tokio::sync::oneshot;
use worktable_core::Row;

use super::PersistentTable;

impl<R: Row> PersistentTable<R> {
    /// Runs `work` on a thread of its own (it blocks: file I/O, waiting for
    /// the log) and waits for its result without blocking the caller's
    /// runtime. `work` must let go of the table before it returns: once
    /// `close` has its answer, the directory lock must be released with the
    /// handle.
    ///
    /// # Errors
    ///
    /// The thread cannot be started, or ended without a result (it
    /// panicked); the caller reports it in its own error family.
    pub(super) async fn on_thread<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<T> {
        on_thread(&format!("{what}-{}", R::TABLE_NAME), work).await
    }
}

/// Runs `work` on a thread of its own, named `worktable-{name}`, and waits
/// for its result without blocking the caller's runtime.
///
/// # Errors
///
/// The thread cannot be started, or ended without a result (it panicked).
pub(crate) async fn on_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let (sender, receiver) = oneshot::channel();
    thread::Builder::new()
        .name(format!("worktable-{name}"))
        .spawn(move || {
            let _ = sender.send(work());
        })?;
    receiver
        .await
        .map_err(|_| io::Error::other(format!("the {name} thread ended without a result")))
}

/// Wakes the thread that polls a future.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread (a background thread waiting
/// for the flusher's progress).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        thread::park();
    }
}
