//! Bulk load: a new durable database created holding many rows at once,
//! written as its first checkpoint rather than one log record per row
//! ([`DurableDatabase::create_loaded`]).
//!
//! The rows go straight into each table's restore (as recovery puts log
//! images: archived into pages, keys collected, indexes built once at the
//! end, on as many threads as there are parts), then a checkpoint of every
//! table is taken before the database is handed back. All or nothing: the
//! database file of the new database is written empty first; the
//! checkpoint's rename of it, holding every loaded row, is the one moment
//! the load takes effect. A crash before leaves an empty database (the
//! frames written so far belong to no manifest, and are reused); after,
//! the whole load.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::rkyv::{self, rancor};
use worktable_core::storage::{BuildTables, DatabaseTables, RestoreError, VisitTables};
use worktable_core::{Row, WorkTable};

use super::DurableDatabase;
use super::recover::{self, Loaded};
use crate::table::{CheckpointError, OpenError, Options};
use crate::vfs::{RealFs, Vfs};

/// Why a bulk load failed ([`DurableDatabase::create_loaded`],
/// [`PersistentTable::create_loaded`](crate::PersistentTable::create_loaded)).
/// Nothing was loaded: the directory holds no database (or table), or an
/// empty one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The directory already holds a database (or table): a bulk load
    /// creates one.
    #[error("{} already holds a database or table: a bulk load creates a new one", dir.display())]
    Exists {
        /// The directory.
        dir: PathBuf,
    },
    /// Opening the new database failed (a unique key loaded twice is
    /// found as the indexes are built: [`OpenError::Restore`]).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A row could not be serialized.
    #[error("table {table}: a row cannot be serialized: {source}")]
    Row {
        /// The table's field (of a database) or name (a table on its own).
        table: &'static str,
        /// rkyv's error.
        source: rancor::Error,
    },
    /// A row was not loaded: its primary key was loaded before, or it is
    /// too large for a page.
    #[error("table {table}: {source}")]
    Rejected {
        /// The table's field (of a database) or name (a table on its own).
        table: &'static str,
        /// Why.
        source: RestoreError,
    },
    /// The checkpoint holding the rows could not be written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A row was refused by its table (a bulk load into an open database:
    /// a key or unique key taken).
    #[error(transparent)]
    Table(worktable_core::TableError),
}

/// Loads rows into the tables of a database being created, in
/// [`DurableDatabase::create_loaded`].
pub struct Loader<'a, D: DatabaseTables> {
    /// Each table's restore, by slot.
    tables: &'a mut [Loaded],
    /// Empty tables, to tell which one a picker names.
    shape: D,
    /// The tables' field names, by slot.
    fields: Vec<&'static str>,
    /// Serialization scratch, reused row to row.
    arena: rkyv::ser::allocator::Arena,
}

impl<D: DatabaseTables> std::fmt::Debug for Loader<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("tables", &self.fields)
            .finish_non_exhaustive()
    }
}

impl<D: DatabaseTables> Loader<'_, D> {
    /// Loads `rows` into the table `table` picks (`|db| &db.accounts`);
    /// returns how many. May be called several times, for one table or
    /// several. Rows keep their own keys (an autoincrement or generated
    /// key's generator then goes on above the largest loaded).
    ///
    /// # Errors
    ///
    /// [`LoadError::Rejected`] for a primary key loaded twice or a row
    /// too large for a page, [`LoadError::Row`] for a row rkyv cannot
    /// serialize. The whole load then fails.
    pub fn rows<R: Row>(
        &mut self,
        table: fn(&D) -> &WorkTable<R>,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64, LoadError> {
        let slot = slot_of(&self.shape, table(&self.shape));
        self.rows_at(slot, rows)
    }

    /// [`rows`](Self::rows) into the table at `slot`, whose rows are `R`.
    pub(crate) fn rows_at<R: Row>(
        &mut self,
        slot: usize,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64, LoadError> {
        let field = self.fields[slot];
        let restore = self.tables[slot]
            .slot
            .restore_mut::<R>()
            .expect("a picked table is a table of the database");
        let mut count = 0;
        for row in rows {
            let bytes = rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(
                &row,
                rkyv::util::AlignedVec::<16>::new(),
                self.arena.acquire(),
            )
            .map_err(|source| LoadError::Row {
                table: field,
                source,
            })?;
            restore
                .put_new(&bytes)
                .map_err(|source| LoadError::Rejected {
                    table: field,
                    source,
                })?;
            count += 1;
        }
        Ok(count)
    }
}

/// The slot of `table`, one of `db`'s tables (by address).
pub(crate) fn slot_of<D: DatabaseTables, R: Row>(db: &D, table: &WorkTable<R>) -> usize {
    struct Find<'t, R: Row> {
        table: &'t WorkTable<R>,
        found: Option<usize>,
    }
    impl<R: Row> VisitTables<'_> for Find<'_, R> {
        fn table<S: Row>(&mut self, slot: usize, _: &'static str, table: &WorkTable<S>) {
            if std::ptr::eq(
                std::ptr::from_ref(table).cast::<()>(),
                std::ptr::from_ref(self.table).cast::<()>(),
            ) {
                self.found = Some(slot);
            }
        }
    }
    let mut find = Find { table, found: None };
    db.visit(&mut find);
    find.found
        .expect("the picker returns one of the database's tables, not another table")
}

/// Builds a database of empty tables, outside any order (to tell tables
/// apart).
pub(crate) struct Empty;

impl BuildTables for Empty {
    type Error = std::convert::Infallible;

    fn table<R: Row>(&mut self, _: usize, _: &'static str) -> Result<WorkTable<R>, Self::Error> {
        Ok(WorkTable::new())
    }
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// Creates a database in `dir` (new or empty) holding the rows `fill`
    /// loads, written as its first checkpoint — one step, all rows or none
    /// after a crash — and opens it. Far faster than inserting the rows
    /// one commit at a time: no log record per row, indexes built once.
    /// **Blocking**, like [`open`](Self::open).
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{DurableDatabase, Options};
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
    /// let db = DurableDatabase::<Notes>::create_loaded(dir.path(), Options::default(), |load| {
    ///     load.rows(|db| &db.notes, (0..1_000).map(|id| Note { id, text: format!("note {id}") }))?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(db.notes.len(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LoadError::Exists`] when `dir` holds a database; the error `fill`
    /// returns; [`LoadError::Open`] (a unique key loaded twice is found
    /// here, as [`OpenError::Restore`]); [`LoadError::Checkpoint`]. After
    /// an error `dir` holds an empty database or none.
    pub fn create_loaded(
        dir: impl AsRef<Path>,
        options: Options,
        fill: impl FnOnce(&mut Loader<'_, D>) -> Result<(), LoadError>,
    ) -> Result<Self, LoadError> {
        Self::create_loaded_after(Arc::new(RealFs), dir.as_ref(), options, 0, fill)
    }

    /// [`create_loaded`](Self::create_loaded) on the file system `vfs`.
    /// With the `testing` feature only, for tests.
    #[cfg(feature = "testing")]
    pub fn create_loaded_in(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        fill: impl FnOnce(&mut Loader<'_, D>) -> Result<(), LoadError>,
    ) -> Result<Self, LoadError> {
        Self::create_loaded_after(vfs, dir, options, 0, fill)
    }

    /// [`create_loaded`](Self::create_loaded) whose first checkpoint holds
    /// commit `commit`: the database's commits are numbered on after it.
    pub(crate) fn create_loaded_after(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        commit: u64,
        fill: impl FnOnce(&mut Loader<'_, D>) -> Result<(), LoadError>,
    ) -> Result<Self, LoadError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir).map_err(OpenError::from)?;
        if super::file::read(&*vfs, dir).map_or(true, |file| file.is_some()) {
            return Err(LoadError::Exists {
                dir: dir.to_owned(),
            });
        }
        let types = recover::describe::<D>();
        let mut recovered = recover::recover(&*vfs, dir, &types, true)?;
        recovered.last_seq = commit;
        let shape = match D::build(&mut Empty) {
            Ok(shape) => shape,
            Err(never) => match never {},
        };
        fill(&mut Loader {
            tables: &mut recovered.tables,
            shape,
            fields: types.iter().map(|ty| ty.field).collect(),
            arena: rkyv::ser::allocator::Arena::new(),
        })?;
        Ok(Self::start(
            vfs, dir, options, lock, types, recovered, true,
        )?)
    }
}
