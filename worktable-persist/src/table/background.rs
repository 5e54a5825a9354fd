//! The background checkpoint thread: one per table, it takes a checkpoint
//! once the log has grown by
//! [`checkpoint_log_bytes`](super::Options::checkpoint_log_bytes), or
//! [`checkpoint_interval`](super::Options::checkpoint_interval) after the
//! last checkpoint if anything was logged since, until the handle stops it.
//!
//! The thread only decides *when*; the checkpoint itself is
//! [`Checkpointer::run`](super::checkpoint::Checkpointer::run), the same as
//! for [`PersistentTable::checkpoint`](super::PersistentTable::checkpoint).
//! A failed background checkpoint is kept here, for
//! [`background_checkpoint_error`](super::PersistentTable::background_checkpoint_error),
//! until a later one succeeds.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::Options;
use super::checkpoint::CheckpointReport;
use super::error::CheckpointError;

/// What the background checkpoint thread needs of a durable table or
/// database.
pub(crate) trait Checkpoints: Send + Sync + 'static {
    /// The handle's side of the thread.
    fn background(&self) -> &Background;
    /// Bytes logged since the last checkpoint rotated the log.
    fn logged_since_rotation(&self) -> u64;
    /// The options it was opened with.
    fn options(&self) -> &Options;
    /// Takes one checkpoint (on this thread), if anything changed.
    fn checkpoint_now(&self) -> Result<CheckpointReport, CheckpointError>;
}

/// How often the thread looks at the log's size and the clock.
const POLL: Duration = Duration::from_millis(50);

/// What the handle and the background checkpoint thread tell each other.
#[derive(Debug, Default)]
pub(crate) struct Background {
    control: Mutex<Control>,
    /// Wakes the thread when it is told to stop.
    wake: Condvar,
}

/// The state behind [`Background`]'s mutex.
#[derive(Debug, Default)]
struct Control {
    /// The thread must return (after a checkpoint in progress).
    stop: bool,
    /// The last background checkpoint failed: its error (the thread tries
    /// again at the next trigger).
    failed: Option<Arc<CheckpointError>>,
}

impl Background {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error of the last background checkpoint, if it failed.
    pub(crate) fn last_error(&self) -> Option<Arc<CheckpointError>> {
        self.lock().failed.clone()
    }

    /// Tells the thread to return once a checkpoint in progress is done.
    pub(crate) fn request_stop(&self) {
        self.lock().stop = true;
        self.wake.notify_all();
    }
}

/// Starts the background checkpoint thread of `inner`, named after it.
pub(crate) fn spawn_checkpointer<C: Checkpoints>(
    name: &str,
    inner: &Arc<C>,
) -> io::Result<JoinHandle<()>> {
    let inner = Arc::clone(inner);
    thread::Builder::new()
        .name(format!("worktable-checkpoint-{name}"))
        .spawn(move || run_checkpointer(&*inner))
}

/// The background checkpoint thread's body: checkpoints when one is due,
/// until stopped.
fn run_checkpointer<C: Checkpoints>(inner: &C) {
    let background = inner.background();
    let mut last = Instant::now();
    let mut control = background.lock();
    loop {
        // Checked before waiting too: a stop asked for before this
        // thread first waited sent its wake-up to nobody.
        if control.stop {
            return;
        }
        control = background
            .wake
            .wait_timeout(control, POLL)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if control.stop {
            return;
        }
        if !checkpoint_due(inner, last) {
            continue;
        }
        drop(control);
        let outcome = inner.checkpoint_now();
        last = Instant::now();
        control = background.lock();
        control.failed = outcome.err().map(Arc::new);
    }
}

/// Whether a checkpoint is due, the last one having been taken at `last`:
/// the log has grown by `checkpoint_log_bytes`, or anything was logged and
/// `checkpoint_interval` has passed.
fn checkpoint_due<C: Checkpoints>(inner: &C, last: Instant) -> bool {
    let logged = inner.logged_since_rotation();
    let by_size = logged >= inner.options().checkpoint_log_bytes;
    let by_time = logged > 0
        && inner
            .options()
            .checkpoint_interval
            .is_some_and(|interval| last.elapsed() >= interval);
    by_size || by_time
}
