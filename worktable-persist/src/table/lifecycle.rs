//! What a durable table or database holds while it is open — its flusher
//! and background checkpoint threads and its directory lock — and the
//! shutdown both run: `close` (stop the checkpoints, take a last one, stop
//! the flusher after its last sync, release the directory) and the
//! best-effort `Drop`.
//!
//! Depends on: `background` (the checkpoint thread), `writer` (the
//! flusher), `blocking`.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use super::background::{Background, Checkpoints};
use super::blocking;
use super::checkpoint::CheckpointReport;
use super::error::CheckpointError;
use super::writer::Shared;

/// What a table holds while it is open.
#[derive(Default)]
pub(crate) struct Open {
    /// The flusher thread, until it is stopped.
    pub(crate) flusher: Option<JoinHandle<()>>,
    /// The background checkpoint thread, until it is stopped.
    pub(crate) checkpoints: Option<JoinHandle<()>>,
    /// The directory lock, until closed (then dropped with the last
    /// owner).
    pub(crate) lock: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// [`Open`] behind the handle's mutex: taken once by `close` or `Drop`.
#[derive(Default)]
pub(crate) struct OpenState(Mutex<Open>);

impl OpenState {
    /// Open with `flusher` running and `lock` held (the checkpoint thread
    /// is added once started).
    pub(crate) fn new(flusher: JoinHandle<()>, lock: Box<dyn std::any::Any + Send + Sync>) -> Self {
        Self(Mutex::new(Open {
            flusher: Some(flusher),
            checkpoints: None,
            lock: Some(lock),
        }))
    }

    /// What the open handle holds.
    pub(crate) fn held(&self) -> MutexGuard<'_, Open> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes what the open handle holds, leaving it closed; `None` if it
    /// was closed before.
    pub(crate) fn take(&self) -> Option<Open> {
        let mut open = self.held();
        open.lock.is_some().then(|| std::mem::take(&mut *open))
    }

    /// Whether the handle was closed.
    pub(crate) fn closed(&self) -> bool {
        self.held().lock.is_none()
    }
}

/// Stops the background checkpoint thread (after a checkpoint in progress)
/// and waits for it.
pub(crate) fn stop_checkpoints(background: &Background, thread: Option<JoinHandle<()>>) {
    if let Some(thread) = thread {
        background.request_stop();
        let _ = thread.join();
    }
}

/// Stops the flusher (after its last write and sync) and waits for its
/// thread.
pub(crate) fn join_flusher(shared: &Shared, flusher: Option<JoinHandle<()>>) {
    if let Some(flusher) = flusher {
        shared.request_stop();
        // The flusher does not panic; if it did, there is nothing more to
        // flush.
        let _ = flusher.join();
    }
}

/// The shutdown `close` runs on what `open` held: stops the background
/// checkpoints (waiting for one in progress off the caller's runtime),
/// takes a last checkpoint (`checkpoint`), stops the flusher after its
/// last sync and releases the directory.
///
/// # Errors
///
/// [`CheckpointError::LogFailed`] if the log failed (now or earlier);
/// otherwise the last checkpoint's error. The directory is released in
/// every case.
pub(crate) async fn close<C: Checkpoints>(
    inner: &Arc<C>,
    shared: &Shared,
    open: Open,
    checkpoint: impl Future<Output = Result<CheckpointReport, CheckpointError>>,
) -> Result<(), CheckpointError> {
    // A background checkpoint in progress may take a while: wait for its
    // thread off the caller's runtime. (Asked to stop first, so that it
    // stops even if no thread can be started to wait for it.)
    inner.background().request_stop();
    let waiting = Arc::clone(inner);
    let checkpoints = open.checkpoints;
    let _ = blocking::on_thread("close", move || {
        stop_checkpoints(waiting.background(), checkpoints);
    })
    .await;
    let checkpointed = checkpoint.await;
    let mut progress = shared.watch();
    shared.request_stop();
    let failed = progress
        .wait_for(|p| p.stopped)
        .await
        .ok()
        .and_then(|p| p.failed.clone());
    join_flusher(shared, open.flusher);
    drop(open.lock);
    match failed {
        Some(source) => Err(CheckpointError::LogFailed(shared.write_error(source))),
        None => checkpointed.map(drop),
    }
}

/// What `Drop` runs on what `open` held: stops the background checkpoints,
/// writes and syncs what is buffered, stops the flusher, and has
/// `record_synced` note how far the log is synced (best effort).
pub(crate) fn drop_open(
    background: &Background,
    shared: &Shared,
    open: Open,
    record_synced: impl FnOnce(u64),
) {
    stop_checkpoints(background, open.checkpoints);
    if open.flusher.is_some() {
        join_flusher(shared, open.flusher);
        // The flusher synced the whole log as it stopped: record how far,
        // so that a later open refuses the log cut short below it.
        record_synced(shared.synced_through());
    }
}
