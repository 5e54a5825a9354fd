//! Bulk load of a durable table: [`PersistentTable::create_loaded`], the
//! table counterpart of [`DurableDatabase::create_loaded`](crate::DurableDatabase::create_loaded).

use std::path::Path;
use std::sync::Arc;

use worktable_core::Row;
use worktable_core::rkyv::{self, rancor};

use super::error::OpenError;
use super::{Options, PersistentTable, recover};
use crate::database::LoadError;
use crate::meta;
use crate::vfs::{RealFs, Vfs};

impl<R: Row> PersistentTable<R> {
    /// Creates a table in `dir` (new or empty) holding `rows`, written as
    /// its first checkpoint — one step, all rows or none after a crash —
    /// and opens it: no log record per row, indexes built once. Rows keep
    /// their own keys (a key generator goes on above the largest).
    /// **Blocking**, like [`open`](Self::open).
    ///
    /// ```
    /// # use worktable_core::prelude::*;
    /// # use worktable_persist::{Options, PersistentTable};
    /// # #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// # #[rkyv(crate = worktable_core::rkyv)]
    /// # struct Note { #[pk] id: u64, text: String }
    /// let dir = tempfile::tempdir()?;
    /// let notes = PersistentTable::<Note>::create_loaded(
    ///     dir.path(),
    ///     Options::default(),
    ///     (0..1_000).map(|id| Note { id, text: format!("note {id}") }),
    /// )?;
    /// assert_eq!(notes.len(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LoadError::Exists`] when `dir` holds a table;
    /// [`LoadError::Rejected`] (a primary key given twice, a row too large
    /// for a page); [`LoadError::Row`]; [`LoadError::Open`] (a unique key
    /// given twice is found as the indexes are built); and
    /// [`LoadError::Checkpoint`]. After an error `dir` holds an empty table
    /// or none.
    pub fn create_loaded(
        dir: impl AsRef<Path>,
        options: Options,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self, LoadError> {
        Self::create_loaded_on(Arc::new(RealFs), dir.as_ref(), options, rows)
    }

    fn create_loaded_on(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self, LoadError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir).map_err(OpenError::from)?;
        if !matches!(
            meta::read(&*vfs, dir, meta::FILE_NAME),
            Err(meta::MetaError::Missing { .. })
        ) {
            return Err(LoadError::Exists {
                dir: dir.to_owned(),
            });
        }
        let mut recovered = recover::recover::<R>(&*vfs, dir, true)?;
        let mut arena = rkyv::ser::allocator::Arena::new();
        for row in rows {
            let bytes = rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(
                &row,
                rkyv::util::AlignedVec::<16>::new(),
                arena.acquire(),
            )
            .map_err(|source| LoadError::Row {
                table: R::TABLE_NAME,
                source,
            })?;
            recovered
                .restore
                .put_new(&bytes)
                .map_err(|source| LoadError::Rejected {
                    table: R::TABLE_NAME,
                    source,
                })?;
        }
        Ok(Self::start(vfs, dir, options, lock, recovered, true)?)
    }
}
