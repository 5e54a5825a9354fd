//! How a durable table is opened: [`Options`] and [`Durability`].

use std::time::Duration;

/// When a write's change is on disk, relative to when the write returns.
///
/// See the [crate documentation](crate#durability) for what each mode
/// promises after a process kill and after a power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// A write returns once its log record is written and synced
    /// (`fdatasync`). Concurrent writes share one sync (group commit).
    Sync,
    /// Writes return at once; the log is written and synced every interval
    /// (at least 1 ms) and when the table closes.
    Periodic(Duration),
    /// Writes return at once; the log is handed to the operating system
    /// every 100 ms, without syncing, and synced only when the table
    /// closes.
    None,
}

/// How a [`PersistentTable`](super::PersistentTable) is opened.
///
/// ```
/// use std::time::Duration;
/// use worktable_persist::{Durability, Options};
///
/// let options = Options::durability(Durability::Sync)
///     .checkpoint_after_log_bytes(16 << 20)
///     .checkpoint_interval(Some(Duration::from_secs(30)));
/// assert_eq!(options.checkpoint_log_bytes, 16 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// When writes are on disk. Default: [`Durability::Sync`].
    pub durability: Durability,
    /// A background checkpoint starts once the log has grown by this many
    /// bytes since the last one. Default: 64 MiB.
    pub checkpoint_log_bytes: u64,
    /// A background checkpoint also starts this long after the last one if
    /// anything was logged since; `None`: only by log size. Default: 60 s.
    pub checkpoint_interval: Option<Duration>,
    /// Clear deleted data from the files at each checkpoint, as SQLite's
    /// `secure_delete` does: every page-file frame the checkpoint stops
    /// using (and any other frame no checkpoint uses) is overwritten with
    /// zeros, every log segment it removes is overwritten with zeros before
    /// it is removed, and both are synced before the checkpoint returns.
    /// Costs a write of each released frame and of the removed log per
    /// checkpoint. See the [crate documentation](crate#deleted-rows) for
    /// exactly what it guarantees. Default: `false`.
    pub secure_delete: bool,
}

impl Options {
    /// Options with the given durability and the default checkpoint
    /// triggers.
    pub fn durability(durability: Durability) -> Self {
        Self {
            durability,
            checkpoint_log_bytes: 64 << 20,
            checkpoint_interval: Some(Duration::from_secs(60)),
            secure_delete: false,
        }
    }

    /// Clear deleted data from the files at each checkpoint (see
    /// [`secure_delete`](Self::secure_delete)).
    #[must_use]
    pub fn secure_delete(mut self, on: bool) -> Self {
        self.secure_delete = on;
        self
    }

    /// Checkpoint once the log has grown by `bytes` (at least 1).
    #[must_use]
    pub fn checkpoint_after_log_bytes(mut self, bytes: u64) -> Self {
        self.checkpoint_log_bytes = bytes.max(1);
        self
    }

    /// Checkpoint this long after the last checkpoint if anything changed
    /// (`None`: only by log size).
    #[must_use]
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::durability(Durability::Sync)
    }
}
