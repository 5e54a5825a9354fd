//! [`CheckpointError`]: why a checkpoint, or closing the table, failed.

use std::io;
use std::path::{Path, PathBuf};

use worktable_core::rkyv::rancor;

use super::{MetaWriteError, WriteError};

/// Why a checkpoint failed: one taken by
/// [`PersistentTable::checkpoint`](crate::PersistentTable::checkpoint), the
/// last one [`close`](crate::PersistentTable::close) takes (`close` also
/// reports here that the log failed), or a background one
/// ([`background_checkpoint_error`](crate::PersistentTable::background_checkpoint_error)).
///
/// A failed checkpoint loses nothing: the checkpoint in the metadata file
/// stays the previous one, complete, the log keeps every change after it,
/// and the pages it did not write are written by the next checkpoint.
///
/// ```
/// use worktable_persist::CheckpointError;
///
/// /// Whether a later checkpoint may succeed without reopening the table:
/// /// not once the log has failed.
/// fn worth_retrying(error: &CheckpointError) -> bool {
///     !matches!(error, CheckpointError::LogFailed(_))
/// }
/// let error = CheckpointError::Io {
///     path: "pages".into(),
///     source: std::io::Error::other("disk full"),
/// };
/// assert!(worth_retrying(&error));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The table was closed: it takes no more checkpoints.
    #[error("the table in {} is closed: it takes no more checkpoints", path.display())]
    Closed {
        /// The table directory.
        path: PathBuf,
    },
    /// A file of the table (page file, manifest, metadata file, a log
    /// segment being cleared) or its directory cannot be created, written,
    /// synced or renamed, or the checkpoint's thread cannot be started.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The log has failed (now or before): no checkpoint takes effect until
    /// the table is closed and opened again, since a checkpoint may only
    /// hold changes the log holds durably.
    #[error(transparent)]
    LogFailed(WriteError),
    /// The new checkpoint manifest cannot be encoded.
    #[error("checkpoint manifest {}: {detail}", path.display())]
    ManifestEncode {
        /// The manifest's path.
        path: PathBuf,
        /// Why it cannot be encoded.
        detail: String,
    },
    /// The metadata file cannot be encoded (the table name is longer than
    /// 255 bytes).
    #[error("cannot write the metadata file {}: {source}", path.display())]
    MetaEncode {
        /// The metadata file's path.
        path: PathBuf,
        /// Why it cannot be encoded.
        source: crate::file_error::MetadataEncodeError,
    },
    /// The key generator's state (the largest deleted key) cannot be
    /// serialized for the metadata file.
    #[error("{}: the key generator's state cannot be serialized: {source}", path.display())]
    KeyState {
        /// The metadata file's path.
        path: PathBuf,
        /// What rkyv reported.
        source: rancor::Error,
    },
}

impl CheckpointError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<WriteError> for CheckpointError {
    fn from(error: WriteError) -> Self {
        Self::LogFailed(error)
    }
}

impl From<MetaWriteError> for CheckpointError {
    fn from(error: MetaWriteError) -> Self {
        match error {
            MetaWriteError::Encode { path, source } => Self::MetaEncode { path, source },
            MetaWriteError::Io { path, source } => Self::Io { path, source },
        }
    }
}
