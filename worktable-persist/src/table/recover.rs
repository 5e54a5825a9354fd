//! Recovery: rebuilding a table from its directory — the metadata file, the
//! checkpoint (manifest and page file) it names, and the log after it.
//!
//! Nothing here writes except a new table's metadata file; the caller cuts
//! a torn tail off the last segment and removes obsolete files once the
//! table is rebuilt.

use std::path::{Path, PathBuf};

use worktable_core::{Row, TableRestore};

use super::error::PersistError;
use super::files::{parse_manifest_name, parse_segment_name, segment_name};
use super::schema;
use super::writer::generates_keys;
use crate::format::ArchiveFormat;
use crate::log::{self, RecordKind, SegmentHeader};
use crate::meta::{self, Meta, MetaError, StoredSchema};
use crate::pages::{self, Manifest, PAGE_FILE_NAME};
use crate::vfs::Vfs;

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

/// Rebuilds the table kept in `dir` (locked by the caller).
pub(crate) fn recover<R: Row>(vfs: &dyn Vfs, dir: &Path) -> Result<Recovered<R>, PersistError> {
    let names = vfs
        .list(dir)
        .map_err(|source| PersistError::io(dir, source))?;
    let meta = read_meta::<R>(vfs, dir, &names)?;
    let mut restore = TableRestore::<R>::new();
    let mut deleted_max = None;
    let mut obsolete = Vec::new();

    let manifest = if meta.page_file_generation == 0 {
        None
    } else {
        Some(load_checkpoint(vfs, dir, &meta, &mut restore)?)
    };
    for name in &names {
        let stale_manifest = parse_manifest_name(name)
            .is_some_and(|generation| generation != meta.page_file_generation);
        let stale_segment =
            parse_segment_name(name).is_some_and(|first| first <= meta.checkpoint_seq);
        if stale_manifest || stale_segment || name.ends_with(".tmp") {
            obsolete.push(dir.join(name));
        }
    }
    if !meta.largest_deleted_key.is_empty() {
        let pk =
            R::decode_pk(&meta.largest_deleted_key).map_err(|source| PersistError::Restore {
                path: dir.join(meta::FILE_NAME),
                source: worktable_core::RestoreError::BadImage { source },
            })?;
        note_deleted(&mut restore, &mut deleted_max, pk);
    }

    // The segments after the checkpoint, in order, without a gap.
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|name| parse_segment_name(name))
        .filter(|&first| first > meta.checkpoint_seq)
        .collect();
    segments.sort_unstable();
    let needed = meta.checkpoint_seq + 1;
    match segments.first() {
        Some(&first) if first == needed => {}
        None if meta.page_file_generation == 0 && meta.log_synced_through == 0 => {
            // A new table, or a crash between writing the metadata file
            // and the first segment: the log is empty.
            return Ok(Recovered {
                restore,
                meta,
                manifest,
                last_segment: None,
                last_seq: needed - 1,
                deleted_max,
                obsolete,
            });
        }
        _ => {
            return Err(PersistError::LogMissing {
                path: dir.join(segment_name(needed)),
            });
        }
    }
    let mut last_seq = needed - 1;
    let mut last_segment = None;
    for (i, &first) in segments.iter().enumerate() {
        let path = dir.join(segment_name(first));
        if first != last_seq + 1 {
            return Err(PersistError::LogGap {
                path: dir.join(segment_name(segments[i - 1])),
                last_seq,
                next_first: first,
            });
        }
        let bytes = vfs
            .read(&path)
            .map_err(|source| PersistError::io(&path, source))?;
        let log_error = |source| PersistError::Log {
            path: path.clone(),
            source,
        };
        let header = log::decode_header(&bytes).map_err(log_error)?;
        check_archive_format(&path, header.archive_format)?;
        let scanned = log::scan(&bytes).map_err(log_error)?;
        let last = i + 1 == segments.len();
        // An empty last segment may carry the fingerprint of the row type a
        // migration replaced (see `open_migrating`): it holds no row, and
        // the caller rewrites its header before appending.
        let foreign_but_empty = last && scanned.records.is_empty();
        if scanned.header.schema_fingerprint != R::SCHEMA_FINGERPRINT && !foreign_but_empty {
            return Err(schema_mismatch::<R>(
                path,
                scanned.header.schema_fingerprint,
                None,
            ));
        }
        if scanned.header.first_seq != first {
            return Err(PersistError::LogStart {
                path,
                first_seq: scanned.header.first_seq,
                expected: first,
            });
        }
        for record in &scanned.records {
            let outcome = match record.kind {
                RecordKind::Insert | RecordKind::Update => restore.put(record.after),
                RecordKind::Delete => restore.delete(record.before).map(|pk| {
                    note_deleted(&mut restore, &mut deleted_max, pk);
                }),
            };
            outcome.map_err(|source| PersistError::Restore {
                path: path.clone(),
                source,
            })?;
            last_seq = record.seq;
        }
        last_segment = Some((
            scanned.header,
            scanned.tail.valid_len as u64,
            bytes.len() as u64,
        ));
    }
    if last_seq < meta.log_synced_through {
        // Records the metadata file says were synced are gone: the log was
        // cut short (a torn tail never reaches below a completed sync).
        let last_first = segments.last().copied().unwrap_or(needed);
        return Err(PersistError::LogTruncated {
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
fn read_meta<R: Row>(vfs: &dyn Vfs, dir: &Path, names: &[String]) -> Result<Meta, PersistError> {
    let path = dir.join(meta::FILE_NAME);
    let stored = match meta::read(vfs, dir, meta::FILE_NAME) {
        Ok(stored) => stored,
        Err(MetaError::Missing { .. }) => {
            let table_file = names.iter().find(|name| {
                parse_segment_name(name).is_some()
                    || parse_manifest_name(name).is_some()
                    || name.as_str() == PAGE_FILE_NAME
            });
            if let Some(found) = table_file {
                return Err(PersistError::MetaMissing {
                    path,
                    found: found.clone(),
                });
            }
            let fresh = Meta {
                archive_format: ArchiveFormat::current(),
                schema_fingerprint: R::SCHEMA_FINGERPRINT,
                table_name: R::TABLE_NAME.to_owned(),
                checkpoint_seq: 0,
                page_file_generation: 0,
                log_synced_through: 0,
                largest_deleted_key: Vec::new(),
                schema: schema::stored(&R::SCHEMA),
            };
            write_meta(vfs, dir, &fresh)?;
            return Ok(fresh);
        }
        Err(other) => return Err(other.into()),
    };
    check_archive_format(&path, stored.archive_format)?;
    // The name first: a directory of another table is reported as such,
    // not as a schema that changed.
    if stored.table_name != R::TABLE_NAME {
        return Err(PersistError::TableNameMismatch {
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

/// The error of a file of `R`'s table written for another schema, whose
/// description `stored` is (when the file holds one).
pub(crate) fn schema_mismatch<R: Row>(
    path: PathBuf,
    fingerprint: u64,
    stored: Option<&StoredSchema>,
) -> PersistError {
    PersistError::SchemaMismatch {
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
pub(crate) fn check_archive_format(path: &Path, stored: ArchiveFormat) -> Result<(), PersistError> {
    let current = ArchiveFormat::current();
    if stored == current {
        Ok(())
    } else {
        Err(PersistError::ArchiveFormat {
            path: path.to_owned(),
            stored,
            current,
        })
    }
}

/// Replaces the metadata file with `meta`.
pub(crate) fn write_meta(vfs: &dyn Vfs, dir: &Path, meta: &Meta) -> Result<(), PersistError> {
    let path = dir.join(meta::FILE_NAME);
    let bytes = meta::encode(meta).map_err(|source| PersistError::MetaEncode {
        path: path.clone(),
        source,
    })?;
    meta::write_atomically(vfs, dir, meta::FILE_NAME, &bytes)
        .map_err(|source| PersistError::io(&path, source))
}

/// Reads the checkpoint `meta` names into `restore`: its manifest, then
/// every frame of the page file, checked against the manifest's checksums.
fn load_checkpoint<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    meta: &Meta,
    restore: &mut TableRestore<R>,
) -> Result<Manifest, PersistError> {
    let path = dir.join(pages::manifest_name(meta.page_file_generation));
    let mismatch = |detail: String| PersistError::ManifestMismatch {
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
        Err(source) => return Err(PersistError::io(&path, source)),
    };
    let manifest = pages::decode_manifest(&bytes).map_err(|source| PersistError::Manifest {
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
    let page_path = dir.join(PAGE_FILE_NAME);
    // The mapping lives until the end of this function, while the caller
    // holds the directory lock and before anything writes the page file
    // (see `crate::vfs` for why that makes it sound).
    let mapped = vfs
        .map(&page_path)
        .map_err(|source| PersistError::io(&page_path, source))?;
    let header = pages::decode_header(&mapped).map_err(|source| PersistError::PageFile {
        path: page_path.clone(),
        source,
    })?;
    check_archive_format(&page_path, header.archive_format)?;
    let mut rows = Vec::new();
    for entry in &manifest.pages {
        let frame_error = |detail| PersistError::PageFrame {
            path: page_path.clone(),
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
        rows.clear();
        rows.extend(entry.rows.iter().map(|row| (row.offset, row.len)));
        restore
            .page(entry.page_id, body, &rows)
            .map_err(|source| PersistError::Restore {
                path: page_path.clone(),
                source,
            })?;
    }
    restore
        .check_pages()
        .map_err(|source| PersistError::Restore {
            path: page_path.clone(),
            source,
        })?;
    Ok(manifest)
}
