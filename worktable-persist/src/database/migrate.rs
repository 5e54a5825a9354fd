//! Migrating tables of a durable database to changed row types:
//! [`DurableDatabase::open_migrating`] with [`Migrations`].
//!
//! A table whose files were written for the old row type of its migration
//! is loaded and its log replayed as that type, every row is converted,
//! and the converted tables are written as a checkpoint of the whole
//! database before the open returns: the database file switches to the
//! new row types in one atomic rename. A crash before leaves the old
//! files, and the next `open_migrating` starts over; a table already
//! written for the new type (a migration that completed) opens as it is,
//! its migration unused.

use std::any::Any;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use worktable_core::storage::{DatabaseTables, RestoreError, TableRestore};
use worktable_core::{Row, WorkTable};

use super::DurableDatabase;
use super::load::{Empty, slot_of};
use super::recover::{self, KeyState, Loaded, Slot, SlotRestore, load_slot};
use crate::log::Record;
use crate::meta::Meta;
use crate::table::recover::note_deleted;
use crate::table::{OpenError, Options};
use crate::vfs::{RealFs, Vfs};

/// The migrations of some tables of a database of type `D`, for
/// [`DurableDatabase::open_migrating`].
pub struct Migrations<D: DatabaseTables> {
    /// By slot.
    slots: Vec<Option<Box<dyn MigrateSlot>>>,
    /// Empty tables, to tell which one a picker names.
    shape: D,
}

impl<D: DatabaseTables> std::fmt::Debug for Migrations<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slots: Vec<usize> = (0..self.slots.len())
            .filter(|&slot| self.slots[slot].is_some())
            .collect();
        f.debug_struct("Migrations").field("slots", &slots).finish()
    }
}

impl<D: DatabaseTables> Default for Migrations<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: DatabaseTables> Migrations<D> {
    /// No migration.
    pub fn new() -> Self {
        let shape = match D::build(&mut Empty) {
            Ok(shape) => shape,
            Err(never) => match never {},
        };
        Self {
            slots: Vec::new(),
            shape,
        }
    }

    /// Migrates the table `table` picks (`|db| &db.accounts`), whose files
    /// may have been written for rows `Old`: each row is converted with
    /// `migrate`.
    #[must_use]
    pub fn table<Old: Row, New: Row>(
        mut self,
        table: fn(&D) -> &WorkTable<New>,
        migrate: impl FnMut(Old) -> New + Send + 'static,
    ) -> Self {
        let slot = slot_of(&self.shape, table(&self.shape));
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot] = Some(Box::new(Migrate {
            migrate,
            rows: PhantomData::<fn(Old) -> New>,
        }));
        self
    }
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// Opens `dir` as [`open`](Self::open) does, migrating each table of
    /// `migrations` whose files were written for its old row type: it is
    /// loaded and its log replayed as that type, every row converted, and
    /// the converted tables written as one checkpoint of the whole
    /// database before this returns (the database file switches to the
    /// new types in one rename; a crash before leaves the old files, and
    /// the next `open_migrating` starts over). A table already written for
    /// its new type opens as it is. Blocking, like `open`.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{DurableDatabase, Migrations, Options};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// #[table(name = "people")]
    /// struct PersonV1 { #[pk] id: u32, name: String }
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// #[table(name = "people")]
    /// struct PersonV2 { #[pk] id: u32, #[index(unique)] name: String, age: Option<u8> }
    ///
    /// #[derive(Database)]
    /// struct V1 { people: WorkTable<PersonV1> }
    /// #[derive(Database)]
    /// struct V2 { people: WorkTable<PersonV2> }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
    ///     let v1 = DurableDatabase::<V1>::open(dir.path(), Options::default())?;
    ///     v1.people.insert(PersonV1 { id: 1, name: "ada".into() }).await?;
    ///     v1.close().await?;
    ///
    ///     // The new type does not open the old files by accident...
    ///     assert!(DurableDatabase::<V2>::open(dir.path(), Options::default()).is_err());
    ///     // ...but migrates them once.
    ///     let migrations = Migrations::<V2>::new().table(|db| &db.people, |old: PersonV1| PersonV2 {
    ///         id: old.id,
    ///         name: old.name,
    ///         age: None,
    ///     });
    ///     let v2 = DurableDatabase::open_migrating(dir.path(), Options::default(), migrations)?;
    ///     assert_eq!(v2.people.get_by(PersonV2::NAME, "ada").map(|p| p.id), Some(1));
    ///     v2.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`open`](Self::open) (a table written for neither its old
    /// nor its new type: [`OpenError::SchemaMismatch`]), and
    /// [`OpenError::MigratedRow`] when a converted row cannot be
    /// serialized.
    pub fn open_migrating(
        dir: impl AsRef<Path>,
        options: Options,
        migrations: Migrations<D>,
    ) -> Result<Self, OpenError> {
        Self::open_migrating_on(Arc::new(RealFs), dir.as_ref(), options, migrations)
    }

    /// [`open_migrating`](Self::open_migrating) on the file system `vfs`.
    /// With the `testing` feature only, for tests.
    #[cfg(feature = "testing")]
    pub fn open_migrating_in(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        migrations: Migrations<D>,
    ) -> Result<Self, OpenError> {
        Self::open_migrating_on(vfs, dir, options, migrations)
    }

    fn open_migrating_on(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        mut migrations: Migrations<D>,
    ) -> Result<Self, OpenError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir)?;
        let types = recover::describe::<D>();
        let recovered =
            recover::recover_migrating(&*vfs, dir, &types, true, &mut migrations.slots)?;
        Self::start(vfs, dir, options, lock, types, recovered, false)
    }
}

/// A slot's restore while it is being converted.
pub(super) struct Placeholder;

impl SlotRestore for Placeholder {
    fn apply(&mut self, _: &Record<'_>) -> Result<(), RestoreError> {
        unreachable!("a slot being converted is not replayed")
    }

    fn key_state(&self) -> Option<KeyState> {
        None
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A table's migration, whatever its row types: what
/// [`recover_migrating`] needs of it.
pub(crate) trait MigrateSlot: Send {
    /// The old row type's fingerprint, which the table's files carry.
    fn old_fingerprint(&self) -> u64;
    /// Loads the table's checkpoint as the old row type.
    fn load_old(&self, vfs: &dyn Vfs, dir: &Path, meta: &Meta) -> Result<Loaded, OpenError>;
    /// Converts the replayed old rows into a restore of the new type.
    fn convert(
        &mut self,
        old: Box<dyn SlotRestore>,
        dir: &Path,
    ) -> Result<Box<dyn SlotRestore>, OpenError>;
}

/// The migration of a table from rows `Old` to rows `New`.
pub(crate) struct Migrate<Old: Row, New: Row, F> {
    pub(crate) migrate: F,
    pub(crate) rows: std::marker::PhantomData<fn(Old) -> New>,
}

impl<Old: Row, New: Row, F: FnMut(Old) -> New + Send> MigrateSlot for Migrate<Old, New, F> {
    fn old_fingerprint(&self) -> u64 {
        Old::SCHEMA_FINGERPRINT
    }

    fn load_old(&self, vfs: &dyn Vfs, dir: &Path, meta: &Meta) -> Result<Loaded, OpenError> {
        load_slot::<Old>(vfs, dir, meta)
    }

    fn convert(
        &mut self,
        old: Box<dyn SlotRestore>,
        dir: &Path,
    ) -> Result<Box<dyn SlotRestore>, OpenError> {
        let restore_error = |source| OpenError::Restore {
            path: dir.to_owned(),
            source,
        };
        let old = old
            .into_any()
            .downcast::<Slot<Old>>()
            .unwrap_or_else(|_| unreachable!("loaded as the old row type"));
        let Slot {
            restore,
            deleted_max,
        } = *old;
        let table = restore.finish(None).map_err(restore_error)?;
        let mut converted = Slot::<New> {
            restore: TableRestore::new(),
            deleted_max: None,
        };
        for row in table.iter() {
            let bytes =
                worktable_core::rkyv::to_bytes::<worktable_core::rkyv::rancor::Error>(&(self
                    .migrate)(
                    row
                ))
                .map_err(|source| OpenError::MigratedRow {
                    dir: dir.to_owned(),
                    source,
                })?;
            converted.restore.put(&bytes).map_err(restore_error)?;
        }
        // The largest deleted key carries over when the key is the same
        // type in both (its bytes then mean the same key).
        if let Some(pk) = deleted_max
            .filter(|_| crate::table::migrate::same_key_types(&Old::SCHEMA, &New::SCHEMA))
            .and_then(|pk| Old::encode_pk(&pk).ok())
            .and_then(|bytes| New::decode_pk(&bytes).ok())
        {
            note_deleted(&mut converted.restore, &mut converted.deleted_max, pk);
        }
        Ok(Box::new(converted))
    }
}
