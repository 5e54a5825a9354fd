//! [`PersistentTable::open_migrating`]: opening a directory written for
//! another row type, converting every row once.

use std::path::Path;
use std::sync::Arc;

use worktable_core::Row;
use worktable_core::rkyv::{self, rancor};
use worktable_core::storage::TableRestore;

use super::error::OpenError;
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
    /// let dir = tempfile::tempdir()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
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
    /// ([`OpenError::ArchiveFormat`] among them, before the fingerprint
    /// is compared);
    /// [`OpenError::SchemaMismatch`] when the directory was written for
    /// neither `Old` nor `R`; [`OpenError::MigratedRow`] when a
    /// converted row cannot be serialized; [`OpenError::Restore`] when
    /// the converted rows break a unique index of `R`;
    /// [`OpenError::Checkpoint`] when the checkpoint of the converted rows
    /// cannot be written (the directory stays as `Old` wrote it).
    pub fn open_migrating<Old: Row>(
        dir: impl AsRef<Path>,
        options: Options,
        migrate: impl FnMut(Old) -> R,
    ) -> Result<Self, OpenError> {
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
    ) -> Result<Self, OpenError> {
        Self::open_migrating_on(vfs, dir, options, migrate)
    }

    /// [`open_migrating`](Self::open_migrating) on the file system `vfs`.
    fn open_migrating_on<Old: Row>(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        migrate: impl FnMut(Old) -> R,
    ) -> Result<Self, OpenError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir)?;
        if !written_for::<Old, R>(&*vfs, dir)? {
            // Written for `R` already, or no table yet.
            let recovered = recover::recover::<R>(&*vfs, dir, true)?;
            return Self::start(vfs, dir, options, lock, recovered, false);
        }
        let recovered = convert::<Old, R>(&*vfs, dir, migrate)?;
        Self::start(vfs, dir, options, lock, recovered, true)
    }
}

/// Whether the table in `dir` was written for `Old` (and must be
/// converted); `false` when it was written for `R` or there is no table.
///
/// # Errors
///
/// Those of reading the metadata file; [`OpenError::ArchiveFormat`]
/// (checked first, as `open` does: rows of another archive format cannot
/// be read as `Old` or as `R`); [`OpenError::SchemaMismatch`] when the
/// table was written for neither.
fn written_for<Old: Row, R: Row>(vfs: &dyn Vfs, dir: &Path) -> Result<bool, OpenError> {
    let path = dir.join(meta::FILE_NAME);
    let stored = match meta::read(vfs, dir, meta::FILE_NAME) {
        Ok(stored) => stored,
        Err(MetaError::Missing { .. }) => return Ok(false),
        Err(other) => return Err(other.into()),
    };
    recover::check_archive_format(&path, stored.archive_format)?;
    if stored.schema_fingerprint == Old::SCHEMA_FINGERPRINT {
        return Ok(true);
    }
    if stored.schema_fingerprint != R::SCHEMA_FINGERPRINT {
        return Err(recover::schema_mismatch::<R>(
            path,
            stored.schema_fingerprint,
            Some(&stored.schema),
        ));
    }
    Ok(false)
}

/// Recovers the table of `Old` in `dir` and converts every row with
/// `migrate`: what `PersistentTable::start` needs to write it as a
/// checkpoint of `R`.
fn convert<Old: Row, R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    mut migrate: impl FnMut(Old) -> R,
) -> Result<Recovered<R>, OpenError> {
    let restore_error = |source| OpenError::Restore {
        path: dir.to_owned(),
        source,
    };
    let old = recover::recover::<Old>(vfs, dir, true)?;
    let old_table = old.restore.finish(None).map_err(restore_error)?;
    let mut restore = TableRestore::<R>::new();
    for row in old_table.iter() {
        let bytes = rkyv::to_bytes::<rancor::Error>(&migrate(row)).map_err(|source| {
            OpenError::MigratedRow {
                dir: dir.to_owned(),
                source,
            }
        })?;
        restore.put(&bytes).map_err(restore_error)?;
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
    Ok(Recovered {
        restore,
        meta,
        manifest: old.manifest,
        last_segment: None,
        last_seq: old.last_seq,
        deleted_max,
        obsolete: old.obsolete,
    })
}

/// Whether the primary keys of two schemas are the same types, in order.
pub(crate) fn same_key_types(old: &worktable_core::Schema, new: &worktable_core::Schema) -> bool {
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
