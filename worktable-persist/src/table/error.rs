//! The errors of a durable table, one type per operation family, as redb
//! splits its errors: what failed tells which type a caller matches on.
//!
//! | Call | Error |
//! | ---- | ----- |
//! | `PersistentTable::open`, `open_migrating` (and the hidden `open_in`, `open_migrating_in`) | [`OpenError`] |
//! | a write through the table (`insert`, `update`, `delete`, ...) | `TableError::Durability` or `TableError::WriteRefused`, whose source is a [`WriteError`] |
//! | `PersistentTable::health` | `Health::Failed`, holding a [`WriteError`] |
//! | `PersistentTable::checkpoint`, `close`, `background_checkpoint_error` | [`CheckpointError`] |
//! | `PersistentTable::subscribe_from`, `subscribe_to_from` | [`ResumeError`] |
//!
//! A checkpoint or a resumed feed that fails because the log has failed
//! says so with the same [`WriteError`] the writes get
//! (`CheckpointError::LogFailed`, `ResumeError::LogFailed`); the
//! checkpoint that `open_migrating` writes fails as
//! `OpenError::Checkpoint`. Helpers shared by two families return a
//! private error (`MetaWriteError`) that each family converts into its own
//! variants.
//!
//! [`PersistError`] is the umbrella: every family converts into it with
//! `From`, so code that propagates any of them with `?` into one type
//! keeps a single error type, and its message and `source()` chain are the
//! family's own.
//!
//! Every variant names the file it is about, and its message includes the
//! reason (the `source()` chain holds the same reason as a typed error).

mod checkpoint;
mod open;
mod resume;
mod write;

use std::io;
use std::path::PathBuf;

pub use checkpoint::CheckpointError;
pub use open::OpenError;
pub use resume::ResumeError;
pub use write::WriteError;

/// Any error of a durable table: one of the families, each with the
/// message and `source()` chain of the error it holds.
///
/// Each operation returns its own family; this type is for code that
/// handles them all alike, and converts from each with `?`.
///
/// | Call | Error |
/// | ---- | ----- |
/// | [`PersistentTable::open`](crate::PersistentTable::open), [`open_migrating`](crate::PersistentTable::open_migrating) | [`OpenError`] |
/// | a write through the table (`insert`, `update`, `delete`, ...) | [`TableError::Durability`](worktable_core::TableError::Durability) or [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused), whose source is a [`WriteError`] |
/// | [`PersistentTable::health`](crate::PersistentTable::health) | [`Health::Failed`](crate::Health::Failed), holding a [`WriteError`] |
/// | [`PersistentTable::checkpoint`](crate::PersistentTable::checkpoint), [`close`](crate::PersistentTable::close), [`background_checkpoint_error`](crate::PersistentTable::background_checkpoint_error) | [`CheckpointError`] |
/// | [`PersistentTable::subscribe_from`](crate::PersistentTable::subscribe_from), [`subscribe_to_from`](crate::PersistentTable::subscribe_to_from) | [`ResumeError`] |
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{Options, PersistError, PersistentTable};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
/// }
///
/// fn reopen(dir: &std::path::Path) -> Result<PersistentTable<Note>, PersistError> {
///     Ok(PersistentTable::open(dir, Options::default())?)
/// }
/// let dir = tempfile::tempdir()?;
/// drop(reopen(dir.path())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Opening the table failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A write could not be logged.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A checkpoint (or `close`) failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A change feed could not be resumed.
    #[error(transparent)]
    Resume(#[from] ResumeError),
}

/// Why the metadata file could not be replaced, reported as the
/// `MetaEncode` or `Io` variant of the caller's family (opening a new
/// table, or a checkpoint).
#[derive(Debug)]
pub(crate) enum MetaWriteError {
    /// The metadata file cannot be encoded.
    Encode {
        path: PathBuf,
        source: crate::file_error::MetadataEncodeError,
    },
    /// The file cannot be written, synced or renamed into place.
    Io { path: PathBuf, source: io::Error },
}
