//! [`PersistentTable::open_migrating`]: opening a directory written for
//! another row type, converting every row once.

use std::path::Path;
use std::sync::Arc;

use worktable_core::rkyv::{self, rancor};
use worktable_core::{Row, TableRestore};

use super::error::PersistError;
use super::recover::{self, Recovered};
use super::{Options, PersistentTable};
use crate::meta::{self, MetaError};
use crate::vfs::{RealFs, Vfs};

impl<R: Row> PersistentTable<R> {
    /// Opens `dir`, whose files were written for the row type `Old`, as a
    /// table of `R`: every row is converted with `migrate` and the result
    /// is written as a checkpoint of `R` before this returns. A directory
    /// already written for `R` (a migration that completed, even if the
    /// process died right after) or with no table opens as
    /// [`open`](Self::open) does, without calling `migrate`.
    ///
    /// The metadata file switches from `Old` to `R` in one atomic step,
    /// after the converted rows are synced: a crash during the migration
    /// leaves the directory as `Old` wrote it, and the next
    /// `open_migrating` starts over. When both row types have a key
    /// generator and the same key types, `R`'s generator also stays above
    /// every key deleted before the migration; when the key type changes,
    /// only above the converted rows' keys (a key deleted earlier and
    /// larger than all of them may be handed out again).
    ///
    /// Blocking, like [`open`](Self::open); the converted table is built in
    /// memory next to the old one.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Options, PersistentTable};
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
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// let dir = tempfile::tempdir()?;
    /// block_on(async {
    ///     let v1 = PersistentTable::<PersonV1>::open(dir.path(), Options::default())?;
    ///     v1.insert(PersonV1 { id: 1, name: "ada".into() }).await?;
    ///     v1.close().await?;
    ///
    ///     // The old type no longer opens the new files, and vice versa.
    ///     assert!(PersistentTable::<PersonV2>::open(dir.path(), Options::default()).is_err());
    ///     let v2 = PersistentTable::<PersonV2>::open_migrating::<PersonV1>(
    ///         dir.path(),
    ///         Options::default(),
    ///         |old| PersonV2 { id: old.id, name: old.name, age: None },
    ///     )?;
    ///     assert_eq!(v2.get_by(PersonV2::NAME, "ada").map(|p| p.id), Some(1));
    ///     v2.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`open`](Self::open), for the old files or the new ones
    /// ([`PersistError::ArchiveFormat`] among them, before the fingerprint
    /// is compared);
    /// [`PersistError::SchemaMismatch`] when the directory was written for
    /// neither `Old` nor `R`; [`PersistError::MigratedRow`] when a
    /// converted row cannot be serialized; [`PersistError::Restore`] when
    /// the converted rows break a unique index of `R`.
    pub fn open_migrating<Old: Row>(
        dir: impl AsRef<Path>,
        options: Options,
        migrate: impl FnMut(Old) -> R,
    ) -> Result<Self, PersistError> {
        Self::open_migrating_on(Arc::new(RealFs), dir.as_ref(), options, migrate)
    }

    /// [`open_migrating`](Self::open_migrating) on the file system `vfs`: in
    /// tests, a simulated disk. With the `testing` feature only, for tests:
    /// see [`testing`](crate::testing).
    #[cfg(feature = "testing")]
    pub fn open_migrating_in<Old: Row>(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        migrate: impl FnMut(Old) -> R,
    ) -> Result<Self, PersistError> {
        Self::open_migrating_on(vfs, dir, options, migrate)
    }

    /// [`open_migrating`](Self::open_migrating) on the file system `vfs`.
    fn open_migrating_on<Old: Row>(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        mut migrate: impl FnMut(Old) -> R,
    ) -> Result<Self, PersistError> {
        vfs.create_dir_all(dir)
            .map_err(|source| PersistError::io(dir, source))?;
        let lock = vfs.lock_dir(dir)?;
        let stored = meta::read(&*vfs, dir, meta::FILE_NAME);
        if let Ok(stored) = &stored {
            // Before the fingerprints, as `open` does: rows of another
            // archive format cannot be read as `Old` or as `R`.
            recover::check_archive_format(&dir.join(meta::FILE_NAME), stored.archive_format)?;
        }
        match stored {
            Ok(stored) if stored.schema_fingerprint == Old::SCHEMA_FINGERPRINT => {}
            Ok(stored) if stored.schema_fingerprint != R::SCHEMA_FINGERPRINT => {
                return Err(recover::schema_mismatch::<R>(
                    dir.join(meta::FILE_NAME),
                    stored.schema_fingerprint,
                    Some(&stored.schema),
                ));
            }
            // Written for `R` already, or no table yet.
            Ok(_) | Err(MetaError::Missing { .. }) => {
                let recovered = recover::recover::<R>(&*vfs, dir)?;
                return Self::start(vfs, dir, options, lock, recovered, false);
            }
            Err(other) => return Err(other.into()),
        }

        let old = recover::recover::<Old>(&*vfs, dir)?;
        let old_table = old
            .restore
            .finish(None)
            .map_err(|source| PersistError::Restore {
                path: dir.to_owned(),
                source,
            })?;
        let converted = |row: Old, migrate: &mut dyn FnMut(Old) -> R| {
            rkyv::to_bytes::<rancor::Error>(&migrate(row)).map_err(|source| {
                PersistError::MigratedRow {
                    dir: dir.to_owned(),
                    source,
                }
            })
        };
        let restore_error = |source| PersistError::Restore {
            path: dir.to_owned(),
            source,
        };
        let mut restore = TableRestore::<R>::new();
        for row in old_table.iter() {
            restore
                .put(&converted(row, &mut migrate)?)
                .map_err(restore_error)?;
        }
        drop(old_table);
        // The largest deleted key carries over when the key is the same
        // type, written the same way, in both row types (its bytes then
        // mean the same key); otherwise `R`'s generator only stays above
        // the converted rows' keys.
        let mut deleted_max = None;
        if let Some(old_max) = old.deleted_max
            && same_key_types(&Old::SCHEMA, &R::SCHEMA)
            && let Ok(pk) = Old::encode_pk(&old_max).and_then(|bytes| R::decode_pk(&bytes))
        {
            recover::note_deleted(&mut restore, &mut deleted_max, pk);
        }
        // The converted table is written as a checkpoint at the old log's
        // last sequence number, whose next segment the start creates (for
        // `R`) before the forced checkpoint switches the metadata file.
        let mut meta = old.meta;
        meta.schema_fingerprint = R::SCHEMA_FINGERPRINT;
        meta.table_name = R::TABLE_NAME.to_owned();
        let recovered = Recovered {
            restore,
            meta,
            manifest: old.manifest,
            last_segment: None,
            last_seq: old.last_seq,
            deleted_max,
            obsolete: old.obsolete,
        };
        Self::start(vfs, dir, options, lock, recovered, true)
    }
}

/// Whether the primary keys of two schemas are the same types, in order.
fn same_key_types(old: &worktable_core::Schema, new: &worktable_core::Schema) -> bool {
    let types = |schema: &worktable_core::Schema| -> Vec<&'static str> {
        schema
            .key_fields()
            .iter()
            .filter_map(|name| {
                schema
                    .fields()
                    .iter()
                    .find(|field| field.name() == *name)
                    .map(|field| field.ty())
            })
            .collect()
    };
    types(old) == types(new)
}
