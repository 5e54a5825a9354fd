//! [`ResumeError`]: why a change feed cannot be resumed.

use std::io;
use std::path::{Path, PathBuf};

use worktable_core::rkyv::rancor;

use super::WriteError;
use crate::file_error::FileError;

/// Why [`PersistentTable::subscribe_from`](crate::PersistentTable::subscribe_from)
/// or [`subscribe_to_from`](crate::PersistentTable::subscribe_to_from)
/// cannot resume a change feed. The table is unchanged.
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{Options, PersistentTable, ResumeError};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// rt.block_on(async {
///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
///     // The new table has no change 5 to resume after.
///     let resumed = notes.subscribe_from(5).await;
///     assert!(matches!(resumed, Err(ResumeError::Ahead { last: 0, .. })));
///     notes.close().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// The feed asked for changes the log no longer holds: a checkpoint
    /// removed them.
    #[error(
        "table in {}: changes after {after} were asked for, but the log holds changes from {oldest} on (earlier ones were checkpointed and their log removed); re-read the table and resume from there",
        dir.display()
    )]
    TooOld {
        /// The table directory.
        dir: PathBuf,
        /// The last change the consumer had.
        after: u64,
        /// The oldest change the log holds.
        oldest: u64,
    },
    /// The feed asked for changes after one the table does not have.
    #[error(
        "table in {}: changes after {after} were asked for, but the table's last change is {last}: the consumer saw changes the table does not have (lost in a crash before they were durable, or numbered by another table)",
        dir.display()
    )]
    Ahead {
        /// The table directory.
        dir: PathBuf,
        /// The last change the consumer had.
        after: u64,
        /// The table's last change.
        last: u64,
    },
    /// The log has failed (now or before): what it holds cannot be synced
    /// and read back.
    #[error(transparent)]
    LogFailed(WriteError),
    /// A log segment or the directory cannot be listed or read, or the
    /// thread reading the log cannot be started.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A log segment cannot be read back: damaged or malformed.
    #[error("log segment {} cannot be read: {source}", path.display())]
    Log {
        /// The segment's path.
        path: PathBuf,
        /// What is wrong with it.
        source: FileError,
    },
    /// A log segment holding changes the feed needs is missing, or does not
    /// continue the one before it.
    #[error("log segment {} is missing: the resumed feed needs the changes it would hold", path.display())]
    LogMissing {
        /// The path the missing segment would have.
        path: PathBuf,
    },
    /// A log record's row image is not a valid archive of the row type.
    #[error(
        "log segment {}: the row image of the record at byte offset {offset} is not a valid row: {source}",
        path.display()
    )]
    BadRow {
        /// The segment's path.
        path: PathBuf,
        /// Byte offset of the record's frame.
        offset: usize,
        /// What validation reported.
        source: rancor::Error,
    },
    /// A log record read back does not make a change event (its images do
    /// not fit its kind).
    #[error(
        "log segment {}: the record at byte offset {offset} is not a change of this table: {source}",
        path.display()
    )]
    HistoryRecord {
        /// The segment's path.
        path: PathBuf,
        /// Byte offset of the record's frame.
        offset: usize,
        /// What is wrong.
        source: worktable_core::events::EventDecodeError,
    },
}

impl ResumeError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<WriteError> for ResumeError {
    fn from(error: WriteError) -> Self {
        Self::LogFailed(error)
    }
}
