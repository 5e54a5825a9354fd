//! Online backups of a durable database: a copy at one commit number,
//! taken while writers go on.
//!
//! # How
//!
//! A backup pauses checkpoints (waiting for one in progress), so that the
//! checkpoint the database file names — its manifests and the page-file
//! frames they use — stays as it is; then syncs the log and notes `L`, the
//! last commit logged (the log holds whole commits only, so `L` is a
//! commit boundary). The copy is that checkpoint's files, the log segments
//! after it cut right after commit `L`, and last the database file, its
//! sync mark set to `L`. Writers go on throughout: they only append to the
//! log, past what the copy takes. Checkpoints resume when the copy is done.
//!
//! Opened, the copy replays the log through `L`: it is the database as of
//! commit `L` — what a snapshot taken at `L` reads — with the same id.
//!
//! To a directory ([`DurableDatabase::backup_to`]), the database file is
//! written last, atomically: a copy cut short has none and is refused at
//! open. To an object store ([`DurableDatabase::backup_to_store`], feature
//! `object-store`), the files go under a prefix and a manifest `backup`
//! (each file's name, length and CRC32C) is written last: the backup's
//! commit point; [`restore_from_store`] checks every file against it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::DurableDatabase;
use super::file::{self, DbFile};
use crate::log;
use crate::pages::{self, PAGE_FILE_NAME};
use crate::table::WriteError;
use crate::table::blocking;
use crate::table::files::{parse_segment_name, segment_name};
use crate::vfs::Vfs;
use worktable_core::storage::DatabaseTables;

/// Bytes copied per read.
const CHUNK: usize = 8 << 20;

/// What a backup copied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupReport {
    /// The commit the backup holds: opened, it is the database as of this
    /// commit number.
    pub commit: u64,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database is closed.
    #[error("database in {} is closed", path.display())]
    Closed {
        /// The database directory.
        path: PathBuf,
    },
    /// The destination directory holds files already.
    #[error("backup destination {} is not empty", dir.display())]
    NotEmpty {
        /// The destination.
        dir: PathBuf,
    },
    /// The log could not be synced.
    #[error(transparent)]
    Log(#[from] WriteError),
    /// A file operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The object store failed.
    #[cfg(feature = "object-store")]
    #[error("object store, at {location}: {source}")]
    Store {
        /// The object's location.
        location: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// A file of the backup is missing (or the backup's manifest: it was
    /// never completed).
    #[error("backup file {file} is missing")]
    Missing {
        /// The file, relative to the backup's prefix.
        file: String,
    },
    /// A file of the backup is not what its manifest says.
    #[error("backup file {file} is damaged: {detail}")]
    Damaged {
        /// The file, relative to the backup's prefix.
        file: String,
        /// What differs.
        detail: String,
    },
}

impl BackupError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// One file of a backup: where it is in the database directory and how
/// many of its bytes the backup takes.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// Its name relative to the directory (`/`-separated).
    pub(crate) name: String,
    /// Its path.
    pub(crate) path: PathBuf,
    /// Bytes taken from its start.
    pub(crate) len: u64,
}

/// What a backup copies: the files of the checkpoint, the log through
/// `commit`, and the database file to write last.
pub(crate) struct Plan {
    pub(crate) commit: u64,
    pub(crate) parts: Vec<Part>,
    pub(crate) db_file: Vec<u8>,
}

/// Lists the files of the checkpoint `file` names in `dir`, and the log
/// after it through commit `last` (the last segment cut after it).
pub(crate) fn plan(
    vfs: &dyn Vfs,
    dir: &Path,
    file: &DbFile,
    last: u64,
) -> Result<Plan, BackupError> {
    let mut parts = Vec::new();
    for (slot, table) in file.tables.iter().enumerate() {
        let generation = table.meta.page_file_generation;
        if generation == 0 {
            continue;
        }
        let table_dir = super::recover::table_dir(dir, slot);
        let manifest_name = pages::manifest_name(generation);
        let manifest_path = table_dir.join(&manifest_name);
        let manifest_bytes = vfs
            .read(&manifest_path)
            .map_err(|source| BackupError::io(&manifest_path, source))?;
        let manifest =
            pages::decode_manifest(&manifest_bytes).map_err(|source| BackupError::Damaged {
                file: format!("t{slot}/{manifest_name}"),
                detail: source.to_string(),
            })?;
        parts.push(Part {
            name: format!("t{slot}/{manifest_name}"),
            path: manifest_path,
            len: manifest_bytes.len() as u64,
        });
        parts.push(Part {
            name: format!("t{slot}/{PAGE_FILE_NAME}"),
            path: table_dir.join(PAGE_FILE_NAME),
            len: pages::frame_offset(manifest.frame_count),
        });
    }
    let names = vfs
        .list(dir)
        .map_err(|source| BackupError::io(dir, source))?;
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|name| parse_segment_name(name))
        .filter(|&first| first > file.checkpoint_seq && first <= last + 1)
        .collect();
    segments.sort_unstable();
    for first in segments {
        let name = segment_name(first);
        let path = dir.join(&name);
        let bytes = vfs
            .read(&path)
            .map_err(|source| BackupError::io(&path, source))?;
        let scanned = log::scan(&bytes).map_err(|source| BackupError::Damaged {
            file: name.clone(),
            detail: source.to_string(),
        })?;
        // The end of the record numbered `last` (or the header, for a
        // segment that starts after it).
        let len = scanned
            .records
            .iter()
            .find(|record| record.seq > last)
            .map_or(scanned.tail.valid_len, |record| record.offset);
        parts.push(Part {
            name,
            path,
            len: len as u64,
        });
    }
    let copy = DbFile {
        log_synced_through: last,
        ..file.clone()
    };
    let db_file = file::encode(&copy)
        .map_err(|source| BackupError::io(&dir.join(file::FILE_NAME), source))?;
    Ok(Plan {
        commit: last,
        parts,
        db_file,
    })
}

/// Reads `len` bytes of `path` from `offset`.
pub(crate) fn read_chunk(
    vfs: &dyn Vfs,
    path: &Path,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, BackupError> {
    let file = vfs
        .open(path, false)
        .map_err(|source| BackupError::io(path, source))?;
    let mut bytes = vec![0u8; len];
    file.read_at(offset, &mut bytes)
        .map_err(|source| BackupError::io(path, source))?;
    Ok(bytes)
}

/// Copies `plan` into the empty (or new) directory `dest` on `vfs`,
/// syncing every file and directory, the database file last.
fn copy_to_dir(vfs: &dyn Vfs, plan: &Plan, dest: &Path) -> Result<BackupReport, BackupError> {
    vfs.create_dir_all(dest)
        .map_err(|source| BackupError::io(dest, source))?;
    let existing = vfs
        .list(dest)
        .map_err(|source| BackupError::io(dest, source))?;
    if !existing.is_empty() {
        return Err(BackupError::NotEmpty {
            dir: dest.to_owned(),
        });
    }
    let mut bytes = 0;
    let mut dirs = vec![dest.to_owned()];
    for part in &plan.parts {
        let target = dest.join(&part.name);
        if let Some(parent) = target.parent()
            && !dirs.iter().any(|dir| dir == parent)
        {
            vfs.create_dir_all(parent)
                .map_err(|source| BackupError::io(parent, source))?;
            dirs.push(parent.to_owned());
        }
        let out = vfs
            .open(&target, true)
            .map_err(|source| BackupError::io(&target, source))?;
        let mut at = 0;
        while at < part.len {
            let n = usize::try_from(part.len - at).unwrap_or(CHUNK).min(CHUNK);
            let chunk = read_chunk(vfs, &part.path, at, n)?;
            out.write_at(at, &chunk)
                .map_err(|source| BackupError::io(&target, source))?;
            at += n as u64;
        }
        out.sync_all()
            .map_err(|source| BackupError::io(&target, source))?;
        bytes += part.len;
    }
    for dir in dirs.iter().rev() {
        vfs.sync_dir(dir)
            .map_err(|source| BackupError::io(dir, source))?;
    }
    crate::meta::write_atomically(vfs, dest, file::FILE_NAME, &plan.db_file)
        .map_err(|source| BackupError::io(&dest.join(file::FILE_NAME), source))?;
    Ok(BackupReport {
        commit: plan.commit,
        files: plan.parts.len() + 1,
        bytes: bytes + plan.db_file.len() as u64,
    })
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// Copies the database, as of one commit, into `dest` (a new or empty
    /// directory on the same file system layer), while writers go on; the
    /// copy opens with [`open`](Self::open) as the database was at
    /// [`BackupReport::commit`]. Checkpoints wait until it is done. Runs on
    /// a thread of its own.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{DurableDatabase, Durability, Options};
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
    /// let (dir, copy) = (tempfile::tempdir()?, tempfile::tempdir()?);
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
    ///     let options = Options::durability(Durability::Sync);
    ///     let db = DurableDatabase::<Notes>::open(dir.path(), options)?;
    ///     db.notes.insert(Note { id: 1, text: "kept".into() }).await?;
    ///     let report = db.backup_to(copy.path()).await?;
    ///     db.notes.insert(Note { id: 2, text: "after".into() }).await?;
    ///     db.close().await?;
    ///
    ///     let restored = DurableDatabase::<Notes>::open(copy.path(), options)?;
    ///     assert_eq!(restored.last_commit(), report.commit);
    ///     assert_eq!(restored.notes.len(), 1);
    ///     restored.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`BackupError::NotEmpty`], [`BackupError::Closed`],
    /// [`BackupError::Log`] (the log could not be synced),
    /// [`BackupError::Io`]. A failed backup leaves no database file in
    /// `dest`, so it does not open.
    pub async fn backup_to(&self, dest: impl AsRef<Path>) -> Result<BackupReport, BackupError> {
        let dest = dest.as_ref().to_owned();
        let inner = Arc::clone(&self.inner);
        if self.closed() {
            return Err(BackupError::Closed {
                path: inner.dir.clone(),
            });
        }
        blocking::on_thread("backup", move || {
            let (plan, _paused) = inner.plan_backup()?;
            copy_to_dir(&*inner.vfs, &plan, &dest)
        })
        .await
        .unwrap_or_else(|source| Err(BackupError::io(&self.inner.dir, source)))
    }
}

impl<D: DatabaseTables> super::Inner<D> {
    /// Pauses checkpoints, syncs the log and plans a backup through the
    /// last commit logged; checkpoints resume when the guard drops.
    pub(crate) fn plan_backup(&self) -> Result<(Plan, super::checkpoint::Paused), BackupError> {
        let (file, paused) = self.checkpointer.pause();
        let last = self.shared.sync_logged()?;
        let plan = plan(&*self.vfs, &self.dir, &file, last)?;
        Ok((plan, paused))
    }
}

#[cfg(feature = "object-store")]
mod store;

#[cfg(feature = "object-store")]
pub use store::restore_from_store;
