//! Recovery of a durable database: the database file, each table's
//! checkpoint (in its own directory `t<slot>`), then the one log after the
//! checkpoint, every record applied to the table its slot names, a commit
//! only once its last record is read.
//!
//! The tables' row types are known only to the database type: its
//! [`DatabaseTables::describe`] hands each one to [`Describe`], which keeps
//! for each slot what recovery needs of the type as plain values and
//! function pointers (checking and loading the checkpoint, replaying a
//! record, building the table), so that the log, read once, can be applied
//! to tables of different types.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::Row;
use worktable_core::schema::Schema;
use worktable_core::storage::{
    BuildTables, CommitOrder, DatabaseTables, DescribeTables, RestoreError, TableRestore,
};

use super::file::{self, DbFile, DbTable};
use super::hook::{Keys, SlotKeys};
use super::migrate::{MigrateSlot, Placeholder};
use crate::format::ArchiveFormat;
use crate::log::{self, Record, RecordKind, SegmentHeader};
use crate::meta::Meta;
use crate::observe;
use crate::pages::Manifest;
use crate::table::error::OpenError;
use crate::table::files::{parse_manifest_name, parse_segment_name, segment_name};
use crate::table::recover::{
    check_archive_format, fresh_meta, load_pages, note_deleted, read_manifest,
    restore_largest_deleted_key, schema_mismatch,
};
use crate::vfs::{LOCK_FILE_NAME, Vfs};

/// What recovery knows of one table's type.
#[derive(Clone, Copy)]
pub(crate) struct SlotType {
    /// The database struct's field.
    pub(crate) field: &'static str,
    /// The row type's table name.
    pub(crate) table_name: &'static str,
    /// The row type's schema fingerprint.
    pub(crate) fingerprint: u64,
    /// The row type's schema.
    pub(crate) schema: &'static Schema,
    /// Checks the table's metadata against the type and loads its
    /// checkpoint.
    load: fn(&dyn Vfs, &Path, &Meta) -> Result<Loaded, OpenError>,
    /// The key state kept while the table is open, from the recovered one.
    pub(crate) keys: fn(Option<KeyState>) -> Box<dyn SlotKeys>,
}

/// A table's recovered key state: its largest deleted key, as its `R::Pk`.
pub(crate) type KeyState = Box<dyn Any + Send>;

/// The last segment of a log: its header, the length of its valid
/// records, and its length on disk.
pub(crate) type LastSegment = (SegmentHeader, u64, u64);

/// A table's checkpoint, loaded.
pub(crate) struct Loaded {
    /// The rows, the log not replayed yet.
    pub(crate) slot: Box<dyn SlotRestore>,
    /// The checkpoint's manifest, if there has been one.
    pub(crate) manifest: Option<Manifest>,
    /// The rows were rebuilt (a migration): none of the manifest's pages
    /// stay in the next checkpoint.
    pub(crate) fresh_pages: bool,
}

/// One table being recovered, whatever its row type.
pub(crate) trait SlotRestore: Send {
    /// Applies a record of the log.
    fn apply(&mut self, record: &Record<'_>) -> Result<(), RestoreError>;
    /// The largest deleted key, for the key state (as rkyv bytes).
    fn key_state(&self) -> Option<KeyState>;
    /// The restore, for [`Build`].
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// The restore, for a bulk load.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl dyn SlotRestore {
    /// The restore of a table of rows `R`, if it is one.
    pub(crate) fn restore_mut<R: Row>(&mut self) -> Option<&mut TableRestore<R>> {
        self.as_any_mut()
            .downcast_mut::<Slot<R>>()
            .map(|slot| &mut slot.restore)
    }
}

/// A table of rows `R` being recovered.
pub(super) struct Slot<R: Row> {
    pub(super) restore: TableRestore<R>,
    pub(super) deleted_max: Option<R::Pk>,
}

impl<R: Row> SlotRestore for Slot<R> {
    fn apply(&mut self, record: &Record<'_>) -> Result<(), RestoreError> {
        match record.kind {
            RecordKind::Insert | RecordKind::Update => self.restore.put(record.after),
            RecordKind::Delete => {
                let pk = self.restore.delete(record.before)?;
                note_deleted(&mut self.restore, &mut self.deleted_max, pk);
                Ok(())
            }
            // Numbers given to a bulk load: nothing to apply.
            RecordKind::Skip => Ok(()),
        }
    }

    fn key_state(&self) -> Option<KeyState> {
        self.deleted_max.clone().map(|pk| Box::new(pk) as KeyState)
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Collects the [`SlotType`] of every table.
#[derive(Default)]
pub(crate) struct Describe(pub(crate) Vec<SlotType>);

impl DescribeTables for Describe {
    fn table<R: Row>(&mut self, slot: usize, field: &'static str) {
        debug_assert_eq!(slot, self.0.len());
        self.0.push(SlotType {
            field,
            table_name: R::TABLE_NAME,
            fingerprint: R::SCHEMA_FINGERPRINT,
            schema: &R::SCHEMA,
            load: load_slot::<R>,
            keys: |recovered| Box::new(Keys::<R>::new(deleted_max::<R>(recovered))),
        });
    }
}

/// The types of `D`'s tables, in slot order.
pub(crate) fn describe<D: DatabaseTables>() -> Vec<SlotType> {
    let mut described = Describe::default();
    D::describe(&mut described);
    described.0
}

/// The fingerprint of a database's tables (field names and row types, in
/// order), which its log segments carry.
pub(crate) fn fingerprint(types: &[SlotType]) -> u64 {
    fingerprint_of(types.iter().map(|ty| (ty.field, ty.fingerprint)))
}

/// [`fingerprint`] of the tables a database file names.
fn stored_fingerprint(file: &DbFile) -> u64 {
    fingerprint_of(
        file.tables
            .iter()
            .map(|table| (table.field.as_str(), table.meta.schema_fingerprint)),
    )
}

/// FNV-1a over each field name, a zero byte and the table's fingerprint.
fn fingerprint_of<'a>(tables: impl Iterator<Item = (&'a str, u64)>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (field, table) in tables {
        for byte in field.bytes().chain([0]).chain(table.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The directory of the table at `slot`: its page file and manifests.
pub(crate) fn table_dir(dir: &Path, slot: usize) -> PathBuf {
    dir.join(format!("t{slot}"))
}

/// Checks the metadata of a table of rows `R` and loads its checkpoint
/// from `dir` (the table's own directory).
pub(super) fn load_slot<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    meta: &Meta,
) -> Result<Loaded, OpenError> {
    let path = dir.join(crate::meta::FILE_NAME);
    if meta.table_name != R::TABLE_NAME {
        return Err(OpenError::TableNameMismatch {
            path,
            stored: meta.table_name.clone(),
            expected: R::TABLE_NAME,
        });
    }
    if meta.schema_fingerprint != R::SCHEMA_FINGERPRINT {
        return Err(schema_mismatch::<R>(
            path,
            meta.schema_fingerprint,
            Some(&meta.schema),
        ));
    }
    let mut slot = Slot::<R> {
        restore: TableRestore::new(),
        deleted_max: None,
    };
    let manifest = if meta.page_file_generation == 0 {
        None
    } else {
        let manifest = read_manifest::<R>(vfs, dir, meta)?;
        load_pages(vfs, dir, &manifest, &mut slot.restore)?;
        Some(manifest)
    };
    restore_largest_deleted_key(dir, meta, &mut slot.restore, &mut slot.deleted_max)?;
    Ok(Loaded {
        slot: Box::new(slot),
        manifest,
        fresh_pages: false,
    })
}

/// What recovery found and rebuilt.
pub(crate) struct Recovered {
    /// The database file (written now for a new database).
    pub(crate) file: DbFile,
    /// Each table's rows and checkpoint manifest, in slot order.
    pub(crate) tables: Vec<Loaded>,
    /// The last segment: its header, the length of its valid records (a
    /// commit cut short excluded), and its length on disk.
    pub(crate) last_segment: Option<LastSegment>,
    /// The number of the last commit's last record.
    pub(crate) last_seq: u64,
    /// Files left by earlier runs that nothing needs any more.
    pub(crate) obsolete: Vec<PathBuf>,
    /// A table was migrated: its rows must be written as a checkpoint
    /// before the database takes writes.
    pub(crate) migrated: bool,
}

/// Rebuilds the database of `types` kept in `dir` (locked by the caller).
/// With `create`, a directory without a database gets a new one's file
/// and a table its missing directory; without, nothing is written.
pub(crate) fn recover(
    vfs: &dyn Vfs,
    dir: &Path,
    types: &[SlotType],
    create: bool,
) -> Result<Recovered, OpenError> {
    recover_migrating(vfs, dir, types, create, &mut Vec::new())
}

/// [`recover`], a table whose files were written for the old row type of
/// its migration in `migrations` (by slot) loaded and replayed as that
/// type, then converted.
pub(crate) fn recover_migrating(
    vfs: &dyn Vfs,
    dir: &Path,
    types: &[SlotType],
    create: bool,
    migrations: &mut [Option<Box<dyn MigrateSlot>>],
) -> Result<Recovered, OpenError> {
    if types.len() > usize::from(u16::MAX) {
        // A record names its table in 16 bits.
        return Err(OpenError::DatabaseTables {
            path: dir.join(file::FILE_NAME),
            stored: Vec::new(),
            expected: types.iter().map(|ty| ty.field).collect(),
        });
    }
    let names = vfs.list(dir).map_err(|source| OpenError::io(dir, source))?;
    let mut file = read_file(vfs, dir, &names, types, create)?;
    // A table never checkpointed may have no directory yet (a backup
    // copies only files): its first checkpoint writes there. (A read-only
    // open, which creates nothing, does without.)
    for slot in (0..types.len()).filter(|_| create) {
        let table_dir = table_dir(dir, slot);
        if vfs.list(&table_dir).is_err() {
            vfs.create_dir_all(&table_dir)
                .map_err(|source| OpenError::io(&table_dir, source))?;
        }
    }
    let mut tables = Vec::with_capacity(types.len());
    let mut migrating = Vec::new();
    for (slot, (ty, table)) in types.iter().zip(&file.tables).enumerate() {
        let table_dir = table_dir(dir, slot);
        let migration = migrations
            .get_mut(slot)
            .and_then(Option::as_mut)
            .filter(|migration| {
                table.meta.schema_fingerprint != ty.fingerprint
                    && table.meta.schema_fingerprint == migration.old_fingerprint()
            });
        tables.push(match migration {
            Some(migration) => {
                migrating.push(slot);
                migration.load_old(vfs, &table_dir, &table.meta)?
            }
            None => (ty.load)(vfs, &table_dir, &table.meta)?,
        });
    }
    let mut obsolete = obsolete_files(dir, &names);
    for (slot, table) in file.tables.iter().enumerate() {
        let table_dir = table_dir(dir, slot);
        let names = vfs.list(&table_dir).unwrap_or_default();
        obsolete.extend(
            names
                .iter()
                .filter(|name| {
                    parse_manifest_name(name)
                        .is_some_and(|generation| generation != table.meta.page_file_generation)
                        || name.ends_with(".tmp")
                })
                .map(|name| table_dir.join(name)),
        );
    }
    let (mut last_segment, last_seq) = replay(vfs, dir, &names, &file, &mut tables)?;
    for &slot in &migrating {
        let migration = migrations[slot].as_mut().expect("chosen above");
        let old = std::mem::replace(&mut tables[slot].slot, Box::new(Placeholder));
        tables[slot].slot = migration.convert(old, dir)?;
        tables[slot].fresh_pages = true;
        let ty = &types[slot];
        let meta = &mut file.tables[slot].meta;
        meta.schema_fingerprint = ty.fingerprint;
        meta.table_name = ty.table_name.to_owned();
        meta.schema = crate::table::schema::stored(ty.schema);
    }
    if !migrating.is_empty() {
        // The converted tables are written as a checkpoint at `last_seq`
        // (the caller forces one), the log going on in a new segment of the
        // new tables' fingerprint.
        last_segment = None;
    }
    Ok(Recovered {
        migrated: !migrating.is_empty(),
        file,
        tables,
        last_segment,
        last_seq,
        obsolete,
    })
}

/// Reads the database file and checks it holds `types`' tables; writes a
/// new database's (and its tables' directories) in a directory without
/// one.
fn read_file(
    vfs: &dyn Vfs,
    dir: &Path,
    names: &[String],
    types: &[SlotType],
    create: bool,
) -> Result<DbFile, OpenError> {
    let path = dir.join(file::FILE_NAME);
    let stored = match file::read(vfs, dir) {
        Ok(Some(stored)) => stored,
        Ok(None) => return create_file(vfs, dir, names, types, create),
        Err(file::ReadError::Io(source)) => return Err(OpenError::io(&path, source)),
        Err(file::ReadError::Decode(source)) => return Err(OpenError::Database { path, source }),
    };
    check_archive_format(&path, stored.archive_format)?;
    let fields: Vec<&str> = stored
        .tables
        .iter()
        .map(|table| table.field.as_str())
        .collect();
    if !fields.iter().copied().eq(types.iter().map(|ty| ty.field)) {
        return Err(OpenError::DatabaseTables {
            path,
            stored: fields.into_iter().map(str::to_owned).collect(),
            expected: types.iter().map(|ty| ty.field).collect(),
        });
    }
    Ok(stored)
}

/// Writes the file of a new database of `types` in `dir`, if `create`
/// and `dir` holds nothing but what opening leaves.
fn create_file(
    vfs: &dyn Vfs,
    dir: &Path,
    names: &[String],
    types: &[SlotType],
    create: bool,
) -> Result<DbFile, OpenError> {
    let foreign = names.iter().find(|name| {
        name.as_str() != LOCK_FILE_NAME
            && !name.ends_with(".tmp")
            && !is_table_dir_name(name)
            && parse_segment_name(name).is_none()
    });
    if let Some(found) = foreign {
        return Err(OpenError::NotATableDirectory {
            dir: dir.to_owned(),
            found: found.clone(),
        });
    }
    if let Some(found) = names.iter().find(|name| parse_segment_name(name).is_some()) {
        return Err(OpenError::MetaMissing {
            path: dir.join(file::FILE_NAME),
            found: found.clone(),
        });
    }
    if !create {
        return Err(OpenError::NoTable {
            dir: dir.to_owned(),
        });
    }
    let file = DbFile {
        archive_format: ArchiveFormat::current(),
        id: file::new_id(),
        checkpoint_seq: 0,
        log_synced_through: 0,
        tables: types
            .iter()
            .map(|ty| DbTable {
                field: ty.field.to_owned(),
                meta: fresh_meta(ty.table_name, ty.fingerprint, ty.schema),
            })
            .collect(),
    };
    for slot in 0..types.len() {
        let table_dir = table_dir(dir, slot);
        vfs.create_dir_all(&table_dir)
            .map_err(|source| OpenError::io(&table_dir, source))?;
    }
    vfs.sync_dir(dir)
        .map_err(|source| OpenError::io(dir, source))?;
    file::write(vfs, dir, &file)
        .map_err(|source| OpenError::io(&dir.join(file::FILE_NAME), source))?;
    Ok(file)
}

/// Whether `name` is a table's directory, `t<slot>`.
fn is_table_dir_name(name: &str) -> bool {
    name.strip_prefix('t')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// The files of the database directory earlier runs left that nothing
/// needs: unfinished `.tmp` files.
///
/// Log segments the checkpoint covers are not among them: a confirmed
/// stream held them when the database closed (a publisher behind), and
/// one resumed after the open may read them again. The next checkpoint
/// removes those no stream holds.
fn obsolete_files(dir: &Path, names: &[String]) -> Vec<PathBuf> {
    names
        .iter()
        .filter(|name| name.ends_with(".tmp"))
        .map(|name| dir.join(name))
        .collect()
}

/// Replays the log after the checkpoint into `tables`; returns the last
/// segment (header, valid length, length) and the last commit's number.
fn replay(
    vfs: &dyn Vfs,
    dir: &Path,
    names: &[String],
    file: &DbFile,
    tables: &mut [Loaded],
) -> Result<(Option<LastSegment>, u64), OpenError> {
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|name| parse_segment_name(name))
        .filter(|&first| first > file.checkpoint_seq)
        .collect();
    segments.sort_unstable();
    let needed = file.checkpoint_seq + 1;
    let fresh = file.checkpoint_seq == 0 && file.log_synced_through == 0;
    if segments.first() != Some(&needed) && !(segments.is_empty() && fresh) {
        return Err(OpenError::LogMissing {
            path: dir.join(segment_name(needed)),
        });
    }
    let expected_fingerprint = stored_fingerprint(file);
    let mut last_seq = file.checkpoint_seq;
    let mut last_segment = None;
    for (i, &first) in segments.iter().enumerate() {
        let path = dir.join(segment_name(first));
        if first != last_seq + 1 {
            return Err(OpenError::LogGap {
                path,
                last_seq,
                next_first: first,
            });
        }
        let is_last = i + 1 == segments.len();
        let bytes = vfs
            .read(&path)
            .map_err(|source| OpenError::io(&path, source))?;
        let log_error = |source| OpenError::Log {
            path: path.clone(),
            source,
        };
        let header = log::decode_header(&bytes).map_err(log_error)?;
        check_archive_format(&path, header.archive_format)?;
        let scanned = log::scan(&bytes).map_err(log_error)?;
        let commit_error = |seq, detail| OpenError::LogCommit {
            path: path.clone(),
            seq,
            detail,
        };
        // An empty last segment may carry the fingerprint of the tables a
        // migration is writing (it crashed before its checkpoint): it holds
        // no record, and is created anew before anything is appended.
        let foreign_but_empty = is_last && scanned.records.is_empty();
        if !header.database
            || (header.schema_fingerprint != expected_fingerprint && !foreign_but_empty)
        {
            return Err(commit_error(
                header.first_seq,
                "the segment was not written by a database of these tables",
            ));
        }
        if header.first_seq != first {
            return Err(OpenError::LogStart {
                path,
                first_seq: header.first_seq,
                expected: first,
            });
        }
        let mut commit_start = 0;
        for (at, record) in scanned.records.iter().enumerate() {
            if usize::from(record.table) >= tables.len() {
                return Err(commit_error(
                    record.seq,
                    "a record names a table the database does not have",
                ));
            }
            if record.continues {
                continue;
            }
            for record in &scanned.records[commit_start..=at] {
                tables[usize::from(record.table)]
                    .slot
                    .apply(record)
                    .map_err(|source| OpenError::Restore {
                        path: path.clone(),
                        source,
                    })?;
            }
            commit_start = at + 1;
            last_seq = record.last_number();
        }
        let mut valid_len = scanned.tail.valid_len as u64;
        if let Some(cut) = scanned.records.get(commit_start) {
            // A commit whose last record is missing: cut by a crash (it
            // was never acknowledged, its future waiting for its last
            // record's sync), unless later segments follow it.
            if !is_last {
                return Err(commit_error(
                    cut.seq,
                    "the segment ends inside a commit, and later segments follow",
                ));
            }
            observe::unfinished_commit_dropped(&path, cut.seq);
            valid_len = cut.offset as u64;
        }
        last_segment = Some((header, valid_len, bytes.len() as u64));
    }
    if last_seq < file.log_synced_through {
        let last_first = segments.last().copied().unwrap_or(needed);
        return Err(OpenError::LogTruncated {
            path: dir.join(segment_name(last_first)),
            ends_at: last_seq,
            synced_through: file.log_synced_through,
        });
    }
    Ok((last_segment, last_seq))
}

/// Builds the tables of a database from what recovery restored, every one
/// in `order`.
pub(crate) struct Build<'a> {
    /// The restored tables, taken one by one.
    pub(crate) tables: Vec<Option<Box<dyn SlotRestore>>>,
    /// The commit order they share.
    pub(crate) order: &'a Arc<CommitOrder>,
    /// The database directory, for errors.
    pub(crate) dir: &'a Path,
}

impl BuildTables for Build<'_> {
    type Error = OpenError;

    fn table<R: Row>(
        &mut self,
        slot: usize,
        _field: &'static str,
    ) -> Result<worktable_core::WorkTable<R>, OpenError> {
        let restore_error = |source| OpenError::Restore {
            path: table_dir(self.dir, slot),
            source,
        };
        let restored = self
            .tables
            .get_mut(slot)
            .and_then(Option::take)
            .and_then(|slot| slot.into_any().downcast::<Slot<R>>().ok())
            .expect("the database's tables are built in the order they were described");
        restored
            .restore
            .finish_in(self.order)
            .map_err(restore_error)
    }
}

/// The largest deleted key `slot` recovered, downcast to `R::Pk`.
fn deleted_max<R: Row>(state: Option<KeyState>) -> Option<R::Pk> {
    state.and_then(|pk| pk.downcast::<R::Pk>().ok().map(|pk| *pk))
}
