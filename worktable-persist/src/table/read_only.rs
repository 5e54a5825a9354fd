//! Reading a table directory without writing to it: [`ReadOnlyTable`].
//!
//! Recovery as [`PersistentTable::open`](super::PersistentTable::open)
//! does it — the checkpoint, then the log after it, every checksum and row
//! checked, a torn tail left out — but nothing is created, cut, removed or
//! locked: the directory may be read-only (a mounted backup, a copy, a
//! stopped service's data). The table it builds refuses every write.
//!
//! Depends on: `recover` (the same recovery, told not to create), `error`,
//! `vfs`.

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::events::{ChangeEvent, CommitHook, Durable, Refusal};
use worktable_core::{Row, WorkTable};

use super::error::{OpenError, WriteError};
use super::recover;
use crate::vfs::{RealFs, Vfs};

/// A durable table opened to be read only, from
/// [`ReadOnlyTable::open`]: the rows of the directory's last checkpoint
/// and of the log after it, with every read of a [`WorkTable`] (through
/// `Deref`). Every write is refused with
/// [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused),
/// whose source is [`WriteError::ReadOnly`].
///
/// Opening writes nothing — no lock file, no new table, no cut of a torn
/// tail, no removal of files an earlier run left — so it works on a
/// read-only directory. It takes no lock either: open read-only a
/// directory no writer has open (a writer's checkpoint may remove files
/// while they are read, which then fails with a typed error, never a
/// wrong row).
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{Options, PersistentTable, ReadOnlyTable};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
///     text: String,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// rt.block_on(async {
///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
///     notes.insert(Note { id: 1, text: "kept".into() }).await?;
///     notes.close().await?;
///
///     let notes = ReadOnlyTable::<Note>::open(dir.path())?;
///     assert_eq!(notes.get(&1).map(|n| n.text), Some("kept".to_owned()));
///     assert!(notes.insert(Note { id: 2, text: "no".into() }).await.is_err());
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReadOnlyTable<R: Row> {
    table: WorkTable<R>,
    dir: PathBuf,
}

impl<R: Row> ReadOnlyTable<R> {
    /// Reads the table kept in `dir`.
    ///
    /// **Blocking**, as [`PersistentTable::open`](super::PersistentTable::open)
    /// is.
    ///
    /// # Errors
    ///
    /// [`OpenError::NoTable`] when `dir` holds no table (it is not
    /// created); otherwise the errors of
    /// [`PersistentTable::open`](super::PersistentTable::open) but
    /// [`OpenError::AlreadyOpen`] (no lock is taken).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_on(&RealFs, dir.as_ref())
    }

    /// [`open`](Self::open) on the file system `vfs`. With the `testing`
    /// feature only, for tests: see [`testing`](crate::testing).
    #[cfg(feature = "testing")]
    pub fn open_in(vfs: &dyn Vfs, dir: &Path) -> Result<Self, OpenError> {
        Self::open_on(vfs, dir)
    }

    fn open_on(vfs: &dyn Vfs, dir: &Path) -> Result<Self, OpenError> {
        let recovered = recover::recover::<R>(vfs, dir, false)?;
        let refuse = Arc::new(Refuse {
            dir: dir.to_owned(),
        });
        let table = recover::build_table(recovered.restore, dir, recovered.last_seq, refuse)?;
        Ok(Self {
            table,
            dir: dir.to_owned(),
        })
    }

    /// The table directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The in-memory table (also reachable through `Deref`).
    pub fn table(&self) -> &WorkTable<R> {
        &self.table
    }
}

impl<R: Row> Deref for ReadOnlyTable<R> {
    type Target = WorkTable<R>;

    fn deref(&self) -> &WorkTable<R> {
        &self.table
    }
}

impl<R: Row> fmt::Debug for ReadOnlyTable<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOnlyTable")
            .field("dir", &self.dir)
            .field("table", &self.table)
            .finish()
    }
}

/// The commit hook of a read-only table: refuses every change before it
/// is made.
struct Refuse {
    dir: PathBuf,
}

impl<R: Row> CommitHook<R> for Refuse {
    fn on_commit(&self, _: &ChangeEvent<R>) -> Result<Option<Durable>, Refusal> {
        Err(Box::new(WriteError::ReadOnly {
            path: self.dir.clone(),
        }))
    }
}
