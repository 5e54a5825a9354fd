//! Recovery: rebuilding a table from its directory — the metadata file, the
//! checkpoint (manifest and page file) it names, and the log after it.
//!
//! [`recover`] writes nothing but a new table's metadata file. What
//! follows it before the table takes writes is here too: the table built
//! from the recovered rows ([`build_table`]), the torn tail cut off the
//! last segment, which is then opened for appending ([`open_log`]), and
//! the files earlier runs left behind removed ([`remove_obsolete`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::events::CommitHook;
use worktable_core::storage::{PageId, RestoreError, TableRestore};
use worktable_core::{Row, WorkTable};

use super::error::{MetaWriteError, OpenError};
use super::files::{parse_manifest_name, parse_segment_name, segment_name};
use super::schema;
use super::writer::{Segment, create_segment, generates_keys};
use crate::format::ArchiveFormat;
use crate::log::{self, HEADER_LEN, RecordKind, SegmentHeader};
use crate::meta::{self, Meta, MetaError, StoredSchema};
use crate::observe;
use crate::pages::{self, Manifest, PAGE_FILE_NAME, PageEntry};
use crate::vfs::{LOCK_FILE_NAME, Vfs};

/// What recovery found and rebuilt.
pub(crate) struct Recovered<R: Row> {
    /// The rows, indexes not built yet.
    pub(crate) restore: TableRestore<R>,
    /// The metadata file (written now for a new table).
    pub(crate) meta: Meta,
    /// The checkpoint's manifest, if there has been a checkpoint.
    pub(crate) manifest: Option<Manifest>,
    /// The last segment: its header, the length of its valid records, and
    /// its length on disk (`None` when it does not exist yet).
    pub(crate) last_segment: Option<(SegmentHeader, u64, u64)>,
    /// The sequence number of the last record (the checkpoint's when the
    /// log after it is empty).
    pub(crate) last_seq: u64,
    /// The largest key of a deleted row, for a table whose keys come from a
    /// generator.
    pub(crate) deleted_max: Option<R::Pk>,
    /// Files left by earlier runs that nothing needs any more.
    pub(crate) obsolete: Vec<PathBuf>,
}

/// Rebuilds the table kept in `dir` (locked by the caller): the metadata
/// file, the checkpoint it names, then the log segments after it, in order.
/// A directory without a table gets a new one's metadata file if `create`
/// (otherwise [`OpenError::NoTable`]); nothing else is written.
pub(crate) fn recover<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    create: bool,
) -> Result<Recovered<R>, OpenError> {
    let names = vfs.list(dir).map_err(|source| OpenError::io(dir, source))?;
    let meta = read_meta::<R>(vfs, dir, &names, create)?;
    let mut restore = TableRestore::<R>::new();
    let mut deleted_max = None;

    let manifest = if meta.page_file_generation == 0 {
        None
    } else {
        Some(load_checkpoint(vfs, dir, &meta, &mut restore)?)
    };
    let obsolete = obsolete_files(dir, &names, &meta);
    restore_largest_deleted_key(dir, &meta, &mut restore, &mut deleted_max)?;

    let segments = segments_to_replay(dir, &names, &meta)?;
    let mut last_seq = meta.checkpoint_seq;
    let mut last_segment = None;
    for (i, &first) in segments.iter().enumerate() {
        if first != last_seq + 1 {
            return Err(OpenError::LogGap {
                path: dir.join(segment_name(segments[i - 1])),
                last_seq,
                next_first: first,
            });
        }
        let is_last = i + 1 == segments.len();
        let replayed = replay_segment(vfs, dir, first, is_last, &mut restore, &mut deleted_max)?;
        last_seq = replayed.last_seq.unwrap_or(last_seq);
        last_segment = Some((replayed.header, replayed.valid_len, replayed.len));
    }
    if last_seq < meta.log_synced_through {
        // Records the metadata file says were synced are gone: the log was
        // cut short (a torn tail never reaches below a completed sync).
        let last_first = segments.last().copied().unwrap_or(meta.checkpoint_seq + 1);
        return Err(OpenError::LogTruncated {
            path: dir.join(segment_name(last_first)),
            ends_at: last_seq,
            synced_through: meta.log_synced_through,
        });
    }
    Ok(Recovered {
        restore,
        meta,
        manifest,
        last_segment,
        last_seq,
        deleted_max,
        obsolete,
    })
}

/// The files of `names` that earlier runs left and nothing needs any more:
/// manifests of other checkpoints, segments the checkpoint holds, and
/// unfinished `.tmp` files.
fn obsolete_files(dir: &Path, names: &[String], meta: &Meta) -> Vec<PathBuf> {
    names
        .iter()
        .filter(|name| {
            let stale_manifest = parse_manifest_name(name)
                .is_some_and(|generation| generation != meta.page_file_generation);
            let stale_segment =
                parse_segment_name(name).is_some_and(|first| first <= meta.checkpoint_seq);
            stale_manifest || stale_segment || name.ends_with(".tmp")
        })
        .map(|name| dir.join(name))
        .collect()
}

/// Keeps generated keys above the largest deleted key the metadata file
/// records (the key generator's state at the checkpoint), if it records one.
pub(crate) fn restore_largest_deleted_key<R: Row>(
    dir: &Path,
    meta: &Meta,
    restore: &mut TableRestore<R>,
    deleted_max: &mut Option<R::Pk>,
) -> Result<(), OpenError> {
    if meta.largest_deleted_key.is_empty() {
        return Ok(());
    }
    let pk = R::decode_pk(&meta.largest_deleted_key).map_err(|source| OpenError::Restore {
        path: dir.join(meta::FILE_NAME),
        source: RestoreError::BadImage { source },
    })?;
    note_deleted(restore, deleted_max, pk);
    Ok(())
}

/// The first sequence numbers of the segments after the checkpoint, in
/// order; empty when the log is (a new table, or a crash between writing
/// the metadata file and the first segment).
///
/// # Errors
///
/// [`OpenError::LogMissing`] when the segment that must follow the
/// checkpoint is not there.
fn segments_to_replay(dir: &Path, names: &[String], meta: &Meta) -> Result<Vec<u64>, OpenError> {
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|name| parse_segment_name(name))
        .filter(|&first| first > meta.checkpoint_seq)
        .collect();
    segments.sort_unstable();
    let needed = meta.checkpoint_seq + 1;
    match segments.first() {
        Some(&first) if first == needed => Ok(segments),
        None if meta.page_file_generation == 0 && meta.log_synced_through == 0 => Ok(segments),
        _ => Err(OpenError::LogMissing {
            path: dir.join(segment_name(needed)),
        }),
    }
}

/// What replaying one segment found.
struct ReplayedSegment {
    /// Its header.
    header: SegmentHeader,
    /// The length of its valid records (where a torn tail starts).
    valid_len: u64,
    /// Its length on disk.
    len: u64,
    /// The sequence number of its last record, if it has one.
    last_seq: Option<u64>,
}

/// Reads the segment starting at `first` and applies its records to
/// `restore`. `is_last`: it is the log's last segment, which may be empty
/// and written for the row type a migration replaced.
fn replay_segment<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    first: u64,
    is_last: bool,
    restore: &mut TableRestore<R>,
    deleted_max: &mut Option<R::Pk>,
) -> Result<ReplayedSegment, OpenError> {
    let path = dir.join(segment_name(first));
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
    // An empty last segment may carry the fingerprint of the row type a
    // migration replaced (see `open_migrating`): it holds no row, and
    // the caller rewrites its header before appending.
    let foreign_but_empty = is_last && scanned.records.is_empty();
    if scanned.header.schema_fingerprint != R::SCHEMA_FINGERPRINT && !foreign_but_empty {
        return Err(schema_mismatch::<R>(
            path,
            scanned.header.schema_fingerprint,
            None,
        ));
    }
    if scanned.header.first_seq != first {
        return Err(OpenError::LogStart {
            path,
            first_seq: scanned.header.first_seq,
            expected: first,
        });
    }
    for record in &scanned.records {
        let outcome = match record.kind {
            RecordKind::Insert | RecordKind::Update => restore.put(record.after),
            RecordKind::Delete => restore
                .delete(record.before)
                .map(|pk| note_deleted(restore, deleted_max, pk)),
            // Numbers given to a bulk load: its checkpoint holds the rows.
            RecordKind::Skip => Ok(()),
        };
        outcome.map_err(|source| OpenError::Restore {
            path: path.clone(),
            source,
        })?;
    }
    Ok(ReplayedSegment {
        header: scanned.header,
        valid_len: scanned.tail.valid_len as u64,
        len: bytes.len() as u64,
        last_seq: scanned.records.last().map(|record| record.last_number()),
    })
}

/// Keeps generated keys above `pk`, the key of a deleted row, and
/// remembers it if it is the largest deleted so far (for a table whose keys
/// come from a generator).
pub(crate) fn note_deleted<R: Row>(
    restore: &mut TableRestore<R>,
    deleted_max: &mut Option<R::Pk>,
    pk: R::Pk,
) {
    if !generates_keys::<R>() {
        return;
    }
    restore.keep_keys_above(&pk);
    if deleted_max.as_ref().is_none_or(|max| *max < pk) {
        *deleted_max = Some(pk);
    }
}

/// Reads the metadata file and checks it belongs to `R`; writes one for a
/// new table (a directory without any table file).
fn read_meta<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    names: &[String],
    create: bool,
) -> Result<Meta, OpenError> {
    let path = dir.join(meta::FILE_NAME);
    let stored = match meta::read(vfs, dir, meta::FILE_NAME) {
        Ok(stored) => stored,
        Err(MetaError::Missing { .. }) => {
            if names
                .iter()
                .any(|name| name == crate::database::file::FILE_NAME)
            {
                // A durable database's directory.
                return Err(OpenError::NotATableDirectory {
                    dir: dir.to_owned(),
                    found: crate::database::file::FILE_NAME.to_owned(),
                });
            }
            let table_file = names.iter().find(|name| {
                parse_segment_name(name).is_some()
                    || parse_manifest_name(name).is_some()
                    || name.as_str() == PAGE_FILE_NAME
            });
            if let Some(found) = table_file {
                return Err(OpenError::MetaMissing {
                    path,
                    found: found.clone(),
                });
            }
            // Only what opening itself leaves: the lock, and the temporary
            // files of an interrupted creation (removed as obsolete).
            let foreign = names
                .iter()
                .find(|name| name.as_str() != LOCK_FILE_NAME && !name.ends_with(".tmp"));
            if let Some(found) = foreign {
                return Err(OpenError::NotATableDirectory {
                    dir: dir.to_owned(),
                    found: found.clone(),
                });
            }
            if !create {
                return Err(OpenError::NoTable {
                    dir: dir.to_owned(),
                });
            }
            let fresh = fresh_meta(R::TABLE_NAME, R::SCHEMA_FINGERPRINT, &R::SCHEMA);
            write_meta(vfs, dir, &fresh)?;
            return Ok(fresh);
        }
        Err(other) => return Err(other.into()),
    };
    check_archive_format(&path, stored.archive_format)?;
    // The name first: a directory of another table is reported as such,
    // not as a schema that changed.
    if stored.table_name != R::TABLE_NAME {
        return Err(OpenError::TableNameMismatch {
            path,
            stored: stored.table_name,
            expected: R::TABLE_NAME,
        });
    }
    if stored.schema_fingerprint != R::SCHEMA_FINGERPRINT {
        return Err(schema_mismatch::<R>(
            path,
            stored.schema_fingerprint,
            Some(&stored.schema),
        ));
    }
    Ok(stored)
}

/// The metadata of a new table, never checkpointed.
pub(crate) fn fresh_meta(
    table_name: &str,
    fingerprint: u64,
    schema: &worktable_core::schema::Schema,
) -> Meta {
    Meta {
        archive_format: ArchiveFormat::current(),
        schema_fingerprint: fingerprint,
        table_name: table_name.to_owned(),
        checkpoint_seq: 0,
        page_file_generation: 0,
        log_synced_through: 0,
        largest_deleted_key: Vec::new(),
        schema: schema::stored(schema),
    }
}

/// The error of a file of `R`'s table written for another schema, whose
/// description `stored` is (when the file holds one).
pub(crate) fn schema_mismatch<R: Row>(
    path: PathBuf,
    fingerprint: u64,
    stored: Option<&StoredSchema>,
) -> OpenError {
    OpenError::SchemaMismatch {
        path,
        table: R::TABLE_NAME,
        differences: stored
            .map(|stored| schema::differences(stored, &schema::stored(&R::SCHEMA)))
            .unwrap_or_default(),
        stored: fingerprint,
        expected: R::SCHEMA_FINGERPRINT,
    }
}

/// Refuses the file `path`, whose rows are archived in `stored`, unless
/// that is this build's archive format.
pub(crate) fn check_archive_format(path: &Path, stored: ArchiveFormat) -> Result<(), OpenError> {
    let current = ArchiveFormat::current();
    if stored == current {
        Ok(())
    } else {
        Err(OpenError::ArchiveFormat {
            path: path.to_owned(),
            stored,
            current,
        })
    }
}

/// Replaces the metadata file with `meta`.
pub(crate) fn write_meta(vfs: &dyn Vfs, dir: &Path, meta: &Meta) -> Result<(), MetaWriteError> {
    let path = dir.join(meta::FILE_NAME);
    let bytes = meta::encode(meta).map_err(|source| MetaWriteError::Encode {
        path: path.clone(),
        source,
    })?;
    meta::write_atomically(vfs, dir, meta::FILE_NAME, &bytes)
        .map_err(|source| MetaWriteError::Io { path, source })
}

/// Reads the checkpoint `meta` names into `restore`: its manifest, then
/// every frame of the page file, checked against the manifest's checksums.
fn load_checkpoint<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    meta: &Meta,
    restore: &mut TableRestore<R>,
) -> Result<Manifest, OpenError> {
    let manifest = read_manifest::<R>(vfs, dir, meta)?;
    load_pages(vfs, dir, &manifest, restore)?;
    Ok(manifest)
}

/// Reads and decodes the manifest `meta` names, and checks that it belongs
/// to `R` and to `meta`.
pub(crate) fn read_manifest<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    meta: &Meta,
) -> Result<Manifest, OpenError> {
    let path = dir.join(pages::manifest_name(meta.page_file_generation));
    let mismatch = |detail: String| OpenError::ManifestMismatch {
        path: path.clone(),
        detail,
    };
    let bytes = match vfs.read(&path) {
        Ok(bytes) => bytes,
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(mismatch(format!(
                "the file is missing; the metadata file names checkpoint generation {}",
                meta.page_file_generation
            )));
        }
        Err(source) => return Err(OpenError::io(&path, source)),
    };
    let manifest = pages::decode_manifest(&bytes).map_err(|source| OpenError::Manifest {
        path: path.clone(),
        source,
    })?;
    if manifest.schema_fingerprint != R::SCHEMA_FINGERPRINT {
        return Err(schema_mismatch::<R>(
            path,
            manifest.schema_fingerprint,
            None,
        ));
    }
    if manifest.generation != meta.page_file_generation
        || manifest.checkpoint_seq != meta.checkpoint_seq
    {
        return Err(mismatch(format!(
            "it is generation {} at sequence number {}, the metadata file says generation {} at {}",
            manifest.generation,
            manifest.checkpoint_seq,
            meta.page_file_generation,
            meta.checkpoint_seq
        )));
    }
    Ok(manifest)
}

/// Reads every page `manifest` lists from the page file into `restore`,
/// each frame checked against the manifest's checksum.
pub(crate) fn load_pages<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    manifest: &Manifest,
    restore: &mut TableRestore<R>,
) -> Result<(), OpenError> {
    let page_path = dir.join(PAGE_FILE_NAME);
    let restore_error = |source| OpenError::Restore {
        path: page_path.clone(),
        source,
    };
    // The mapping lives until the end of this function, while the caller
    // holds the directory lock and before anything writes the page file
    // (see `crate::vfs` for why that makes it sound).
    let mapped = vfs
        .map(&page_path)
        .map_err(|source| OpenError::io(&page_path, source))?;
    let header = pages::decode_header(&mapped).map_err(|source| OpenError::PageFile {
        path: page_path.clone(),
        source,
    })?;
    check_archive_format(&page_path, header.archive_format)?;
    let mut rows = Vec::new();
    for entry in &manifest.pages {
        let body = frame_body(&mapped, entry, &page_path)?;
        rows.clear();
        rows.extend(entry.rows.iter().map(|row| (row.offset, row.len)));
        restore
            .page(PageId::new(entry.page_id), body, &rows)
            .map_err(restore_error)?;
    }
    restore.check_pages().map_err(restore_error)
}

/// The body of the frame `entry` names, in the mapped page file at `path`,
/// once it is checked against the manifest's checksum.
fn frame_body<'a>(mapped: &'a [u8], entry: &PageEntry, path: &Path) -> Result<&'a [u8], OpenError> {
    let frame_error = |detail| OpenError::PageFrame {
        path: path.to_owned(),
        page: entry.page_id,
        frame: entry.frame,
        detail,
    };
    let start = usize::try_from(pages::frame_offset(entry.frame)).unwrap_or(usize::MAX);
    let body = start
        .checked_add(pages::FRAME_LEN)
        .and_then(|end| mapped.get(start..end))
        .ok_or_else(|| frame_error("the frame lies past the end of the file"))?;
    if pages::frame_crc(body) != entry.body_crc {
        return Err(frame_error(
            "the frame's checksum does not match the manifest's",
        ));
    }
    Ok(body)
}

// After recovery: what `PersistentTable::start` does with what was
// recovered before the table takes writes.

/// Builds the indexes over the rows `restore` holds and installs `hook`;
/// the table numbers its changes on from `last_seq`, the log's last
/// record, so that event numbers and log numbers are one numbering.
pub(crate) fn build_table<R: Row>(
    mut restore: TableRestore<R>,
    dir: &Path,
    last_seq: u64,
    hook: Arc<dyn CommitHook<R>>,
) -> Result<WorkTable<R>, OpenError> {
    let restore_error = |source| OpenError::Restore {
        path: dir.to_owned(),
        source,
    };
    restore.continue_after(last_seq).map_err(restore_error)?;
    restore.finish(Some(hook)).map_err(restore_error)
}

/// Removes the files recovery found obsolete (best effort: what is left is
/// removed at the next open).
pub(crate) fn remove_obsolete(vfs: &dyn Vfs, obsolete: Vec<PathBuf>, secure_delete: bool) {
    for path in obsolete {
        // A log segment or a `.tmp` file may hold rows: cleared first
        // when deleted data must not stay (a file that cannot be
        // cleared stays, for the next open).
        if secure_delete && super::checkpoint::zero_file(vfs, &path).is_err() {
            continue;
        }
        let _ = vfs.remove_file(&path);
    }
}

/// Makes the log ready for appending after recovery: returns the header
/// of the segment new records go to (this row type's: the last segment's,
/// or the one starting after `last_seq` when there is none) and that
/// segment, opened with its torn tail cut off, or created.
pub(crate) fn open_log<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    last_segment: Option<(SegmentHeader, u64, u64)>,
    last_seq: u64,
    secure_delete: bool,
) -> Result<(SegmentHeader, Segment), OpenError> {
    let header = SegmentHeader {
        schema_fingerprint: R::SCHEMA_FINGERPRINT,
        first_seq: last_segment.map_or(last_seq + 1, |(header, _, _)| header.first_seq),
        archive_format: ArchiveFormat::current(),
        database: false,
    };
    let segment = open_last_segment(vfs, dir, last_segment, &header, secure_delete)?;
    Ok((header, segment))
}

/// Opens the last segment for appending after cutting its torn tail (and
/// syncing), or creates it; an empty segment written for another row type
/// (left by a migration) is created anew.
pub(crate) fn open_last_segment(
    vfs: &dyn Vfs,
    dir: &Path,
    last: Option<(SegmentHeader, u64, u64)>,
    header: &SegmentHeader,
    secure_delete: bool,
) -> Result<Segment, OpenError> {
    let path = dir.join(segment_name(header.first_seq));
    let io = |source| OpenError::io(&path, source);
    match last {
        Some((found, valid_len, len))
            if found.schema_fingerprint == header.schema_fingerprint
                || valid_len > HEADER_LEN as u64 =>
        {
            // Writer obligation: nothing of an earlier attempt may follow
            // the records appended from now on; and the durable mark stamped
            // on them may only claim what is synced, so sync what the scan
            // kept.
            let file = vfs.open(&path, false).map_err(io)?;
            if valid_len < len {
                observe::torn_tail_cut(&path, valid_len, len);
                if secure_delete {
                    // The cut tail may hold row images of unacknowledged
                    // writes.
                    let zeros = vec![0u8; usize::try_from(len - valid_len).unwrap_or(usize::MAX)];
                    file.write_at(valid_len, &zeros).map_err(io)?;
                    file.sync_data().map_err(io)?;
                }
                file.set_len(valid_len).map_err(io)?;
            }
            file.sync_all().map_err(io)?;
            Ok(Segment {
                file,
                len: valid_len,
                unsynced: false,
            })
        }
        _ => create_segment(vfs, dir, header).map_err(io),
    }
}
