//! Reading a database directory without writing to it:
//! [`ReadOnlyDatabase`], the database counterpart of
//! [`ReadOnlyTable`](crate::ReadOnlyTable).

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::events::{CommitBatch, DatabaseHook, Durable, Refusal};
use worktable_core::storage::{CommitOrder, DatabaseTables};

use super::recover::{self, Build};
use crate::table::{OpenError, WriteError};
use crate::vfs::{RealFs, Vfs};

/// A durable database opened to be read only: every table as of the
/// directory's last checkpoint and the log after it, with every read
/// (through `Deref` to `D`, snapshots included). Every commit is refused
/// with [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused),
/// whose source is [`WriteError::ReadOnly`].
///
/// Opening writes nothing — no lock file, no new database, no cut of a
/// torn tail, no removal of files an earlier run left — so it works on a
/// read-only directory, such as a backup. It takes no lock: open read-only
/// a directory no writer has open.
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{DurableDatabase, Options, ReadOnlyDatabase};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
///     text: String,
/// }
///
/// #[derive(Database)]
/// struct Notes {
///     notes: WorkTable<Note>,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// rt.block_on(async {
///     let db = DurableDatabase::<Notes>::open(dir.path(), Options::default())?;
///     db.notes.insert(Note { id: 1, text: "kept".into() }).await?;
///     db.close().await?;
///
///     let copy = ReadOnlyDatabase::<Notes>::open(dir.path())?;
///     assert_eq!(copy.notes.get(&1).map(|n| n.text), Some("kept".to_owned()));
///     assert!(copy.notes.insert(Note { id: 2, text: "no".into() }).await.is_err());
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReadOnlyDatabase<D: DatabaseTables> {
    db: D,
    dir: PathBuf,
}

impl<D: DatabaseTables> ReadOnlyDatabase<D> {
    /// Reads the database kept in `dir`. **Blocking**, as
    /// [`DurableDatabase::open`](super::DurableDatabase::open) is.
    ///
    /// # Errors
    ///
    /// [`OpenError::NoTable`] when `dir` holds no database (none is
    /// created); otherwise those of `DurableDatabase::open` but
    /// [`OpenError::AlreadyOpen`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_on(&RealFs, dir.as_ref())
    }

    /// [`open`](Self::open) on the file system `vfs`. With the `testing`
    /// feature only, for tests.
    #[cfg(feature = "testing")]
    pub fn open_in(vfs: &dyn Vfs, dir: &Path) -> Result<Self, OpenError> {
        Self::open_on(vfs, dir)
    }

    fn open_on(vfs: &dyn Vfs, dir: &Path) -> Result<Self, OpenError> {
        let refuse = Arc::new(Refuse {
            dir: dir.to_owned(),
        });
        Ok(Self {
            db: build_in_memory(vfs, dir, refuse)?,
            dir: dir.to_owned(),
        })
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl<D: DatabaseTables> Deref for ReadOnlyDatabase<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.db
    }
}

impl<D: DatabaseTables> fmt::Debug for ReadOnlyDatabase<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOnlyDatabase")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Reads the database kept in `dir` into memory, writing nothing, its
/// commits handed to `hook` (which decides which it takes).
pub(crate) fn build_in_memory<D: DatabaseTables>(
    vfs: &dyn Vfs,
    dir: &Path,
    hook: Arc<dyn DatabaseHook>,
) -> Result<D, OpenError> {
    let types = recover::describe::<D>();
    let recovered = recover::recover(vfs, dir, &types, false)?;
    let order = CommitOrder::restored(recovered.last_seq, hook);
    D::build(&mut Build {
        tables: recovered
            .tables
            .into_iter()
            .map(|loaded| Some(loaded.slot))
            .collect(),
        order: &order,
        dir,
    })
}

/// The commit hook of a read-only database: refuses every commit.
struct Refuse {
    dir: PathBuf,
}

impl DatabaseHook for Refuse {
    fn on_commit(&self, _: &CommitBatch) -> Result<Option<Durable>, Refusal> {
        Err(Box::new(WriteError::ReadOnly {
            path: self.dir.clone(),
        }))
    }
}
