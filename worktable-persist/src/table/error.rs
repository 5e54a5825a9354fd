//! The errors of opening, writing and closing a durable table.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::TableError;
use worktable_core::rkyv::rancor;

use crate::dir_lock::LockError;
use crate::log::LogError;
use crate::meta::MetaError;

/// Why a durable table cannot be opened, written durably or closed.
///
/// Every variant names the file it is about. A write that commits in memory
/// but cannot be made durable fails with
/// [`TableError::Durability`](worktable_core::TableError::Durability),
/// whose source is this type ([`LogWrite`](Self::LogWrite)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// A file or directory of the table cannot be created, read, written,
    /// truncated or synced.
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The directory is open already, by this process or another.
    #[error(
        "the table directory is already open: {} is locked by another opener, in this process or another",
        path.display()
    )]
    AlreadyOpen {
        /// The lock file's path.
        path: PathBuf,
    },
    /// The directory's lock file cannot be created or locked.
    #[error(transparent)]
    Lock(LockError),
    /// The metadata file cannot be read or decoded (its path is inside).
    #[error(transparent)]
    Meta(MetaError),
    /// The metadata file of a new table cannot be encoded (the table name is
    /// longer than 255 bytes).
    #[error("cannot write the metadata file {}", path.display())]
    MetaEncode {
        /// The metadata file's path.
        path: PathBuf,
        /// Why it cannot be encoded.
        source: crate::meta::EncodeError,
    },
    /// The files were written for another row type (another schema
    /// fingerprint, see
    /// [`Row::SCHEMA_FINGERPRINT`](worktable_core::Row::SCHEMA_FINGERPRINT)).
    #[error(
        "{} was written for another schema: stored fingerprint {stored:#018x}, this row type's is {expected:#018x}",
        path.display()
    )]
    SchemaMismatch {
        /// The file holding the other fingerprint (metadata file or log
        /// segment).
        path: PathBuf,
        /// The stored fingerprint.
        stored: u64,
        /// The row type's fingerprint.
        expected: u64,
    },
    /// The metadata file names another table.
    #[error(
        "{} belongs to table `{stored}`, not to `{expected}`",
        path.display()
    )]
    TableNameMismatch {
        /// The metadata file's path.
        path: PathBuf,
        /// The stored name.
        stored: String,
        /// The row type's table name.
        expected: &'static str,
    },
    /// The metadata file records a checkpoint, which this version cannot
    /// read (it has no page file yet: the whole history is in the log).
    #[error(
        "{} records a checkpoint at sequence number {checkpoint_seq}; this version of worktable-persist keeps no page file and cannot open it",
        path.display()
    )]
    CheckpointUnsupported {
        /// The metadata file's path.
        path: PathBuf,
        /// The stored checkpoint sequence number.
        checkpoint_seq: u64,
    },
    /// A log segment does not start where the log must start.
    #[error(
        "log segment {} starts at sequence number {first_seq}, expected {expected}",
        path.display()
    )]
    LogStart {
        /// The segment's path.
        path: PathBuf,
        /// The header's `first_seq`.
        first_seq: u64,
        /// The sequence number it must start at.
        expected: u64,
    },
    /// A log segment cannot be read: damaged (not torn) or malformed.
    #[error("log segment {} cannot be read", path.display())]
    Log {
        /// The segment's path.
        path: PathBuf,
        /// What is wrong with it.
        source: LogError,
    },
    /// A log record's row image is not a valid archive of the row type.
    #[error(
        "log segment {}: the row image of the record at byte offset {offset} is not a valid row",
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
    /// Applying a valid log record to the table failed (the log does not
    /// describe a history the table can have had, e.g. a unique-key clash).
    #[error(
        "log segment {}: the record at byte offset {offset} cannot be replayed",
        path.display()
    )]
    Replay {
        /// The segment's path.
        path: PathBuf,
        /// Byte offset of the record's frame.
        offset: usize,
        /// What the table reported.
        source: TableError,
    },
    /// Writing or syncing the log failed; the table refuses every write from
    /// then on (see the [crate documentation](crate#when-the-log-cannot-be-written)).
    #[error("cannot write or sync the log segment {}", path.display())]
    LogWrite {
        /// The segment's path.
        path: PathBuf,
        /// What the operating system said (shared by every write it fails).
        source: Arc<io::Error>,
    },
    /// The log has used every sequence number.
    #[error("log segment {}: no sequence numbers are left", path.display())]
    SeqExhausted {
        /// The segment's path.
        path: PathBuf,
    },
}

impl PersistError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<LockError> for PersistError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::AlreadyOpen { path } => Self::AlreadyOpen { path },
            other => Self::Lock(other),
        }
    }
}
