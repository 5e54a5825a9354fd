//! [`WriteError`]: why a write could not be logged.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a write's change could not be logged.
///
/// A write that commits in memory but whose record cannot be made durable
/// fails with [`TableError::Durability`](worktable_core::TableError::Durability),
/// and a write refused because the log failed before it with
/// [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused):
/// either has this type as its `source()`.
/// [`PersistentTable::health`](crate::PersistentTable::health) reports the
/// same error once the log has failed.
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{Options, PersistentTable, WriteError};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
/// if let Some(WriteError::LogWrite { path, source }) = notes.health().error() {
///     eprintln!("the log of {} failed ({source}): reopen the table", path.display());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Writing or syncing the log failed; the table refuses every write from
    /// then on (see the [crate documentation](crate#when-the-log-cannot-be-written)).
    #[error(
        "cannot write or sync the write-ahead log of the table in {}: {source}",
        path.display()
    )]
    LogWrite {
        /// The table directory (the segment is its last `log-*` file).
        path: PathBuf,
        /// What the operating system said (shared by every write it fails).
        source: Arc<io::Error>,
    },
    /// The table was closed ([`PersistentTable::close`](crate::PersistentTable::close)):
    /// it refuses every write; reads keep working on what it held.
    #[error("the table in {} is closed: it takes no more writes", path.display())]
    Closed {
        /// The table directory.
        path: PathBuf,
    },
    /// The table was opened read-only
    /// ([`ReadOnlyTable`](crate::ReadOnlyTable)): it takes no writes.
    #[error("the table in {} is open read-only: it takes no writes", path.display())]
    ReadOnly {
        /// The table directory.
        path: PathBuf,
    },
    /// A bulk load of the database is running
    /// ([`DurableDatabase::bulk_load`](crate::DurableDatabase::bulk_load)):
    /// other commits are refused until it ends.
    #[error("the database in {} is being bulk loaded: commits resume when the load ends", path.display())]
    BulkLoad {
        /// The database directory.
        path: PathBuf,
    },
    /// The log has used every sequence number: the write is refused.
    #[error("the log of the table in {}: no sequence numbers are left", path.display())]
    SeqExhausted {
        /// The table directory.
        path: PathBuf,
    },
}
