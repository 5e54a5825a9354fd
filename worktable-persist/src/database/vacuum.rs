//! A background vacuum of one table of a durable database
//! ([`DurableDatabase::spawn_vacuum`]).

use std::ops::Deref;
use std::sync::Arc;

use worktable_core::storage::DatabaseTables;
use worktable_core::{Row, VacuumHandle, VacuumPolicy, VacuumReport, WorkTable};

use super::{DurableDatabase, Inner};

/// A running vacuum of one table of a durable database, from
/// [`DurableDatabase::spawn_vacuum`]: a [`VacuumHandle`] (through `Deref`:
/// `set_policy`, `policy`, `progress`) that also keeps the database's
/// state alive while the vacuum runs. Stopped by [`stop`](Self::stop) or
/// when dropped.
#[must_use = "the vacuum stops when this is dropped"]
pub struct DatabaseVacuum {
    handle: VacuumHandle,
    /// The table the vacuum's thread reaches (it holds a weak reference).
    _table: Arc<dyn Send + Sync>,
}

impl std::fmt::Debug for DatabaseVacuum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseVacuum")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl DatabaseVacuum {
    /// Stops the vacuum after the step in progress; returns what it did.
    pub fn stop(self) -> VacuumReport {
        self.handle.stop()
    }
}

impl Deref for DatabaseVacuum {
    type Target = VacuumHandle;

    fn deref(&self) -> &VacuumHandle {
        &self.handle
    }
}

/// One table of a database's state, as the vacuum thread reaches it.
struct Picked<D: DatabaseTables, R: Row> {
    inner: Arc<Inner<D>>,
    pick: fn(&D) -> &WorkTable<R>,
}

impl<D: DatabaseTables, R: Row> AsRef<WorkTable<R>> for Picked<D, R> {
    fn as_ref(&self) -> &WorkTable<R> {
        (self.pick)(&self.inner.db)
    }
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// Starts a background vacuum of the table `table` picks (see
    /// [`WorkTable::spawn_vacuum`]): it moves rows out of sparse pages
    /// while writers and checkpoints go on. It ends when the returned
    /// handle is stopped or dropped.
    ///
    /// ```
    /// use worktable_core::VacuumPolicy;
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{DurableDatabase, Options};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    /// }
    ///
    /// #[derive(Database)]
    /// struct Notes {
    ///     notes: WorkTable<Note>,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = DurableDatabase::<Notes>::open(dir.path(), Options::default())?;
    /// let vacuum = db.spawn_vacuum(|db| &db.notes, VacuumPolicy::default());
    /// // ... the application runs ...
    /// assert_eq!(vacuum.stop().rows_moved, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_vacuum<R: Row>(
        &self,
        table: fn(&D) -> &WorkTable<R>,
        policy: VacuumPolicy,
    ) -> DatabaseVacuum {
        let picked = Arc::new(Picked {
            inner: Arc::clone(&self.inner),
            pick: table,
        });
        DatabaseVacuum {
            handle: WorkTable::spawn_vacuum_in(&picked, policy),
            _table: picked,
        }
    }
}
