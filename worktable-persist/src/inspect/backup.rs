//! [`Directory::backup`]: a copy of a closed durable directory, checked.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::directory::{Directory, DirectoryKind, read};
use super::error::InspectError;
use crate::database::file as db_file;
use crate::meta;
use crate::vfs::dir_lock::{DirLock, LOCK_FILE_NAME, LockError};

/// What [`Directory::backup`] copied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupSummary {
    /// Files copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Rows and records the check of the copy read.
    pub checked: super::Verification,
}

impl Directory {
    /// Copies the durable directory at `source` to `destination` (a new or
    /// empty directory), then verifies the copy.
    ///
    /// Copies the files opening needs: the metadata (`meta` or `db`), each
    /// table's page file and current manifest, and the log segments after
    /// the checkpoint. Holds the directory's lock while it copies, so no
    /// program opens it meanwhile; a directory a program has open is
    /// refused (back it up from that program with
    /// [`DurableDatabase::backup_to`](crate::DurableDatabase::backup_to)).
    /// Writes nothing to `source`. Each file is written under a temporary
    /// name, synced and renamed, and the directories synced, so a crash
    /// leaves no file that looks whole and is not.
    ///
    /// # Errors
    ///
    /// - [`InspectError::Busy`]: a program has `source` open.
    /// - [`InspectError::DestinationNotEmpty`].
    /// - [`InspectError::BackupInvalid`]: the copy does not verify (the
    ///   source has the same problem: run [`verify`](Self::verify) on it).
    /// - The errors of [`open`](Self::open), and [`InspectError::Io`] for a
    ///   file that cannot be read or written.
    pub fn backup(
        source: impl AsRef<Path>,
        destination: impl AsRef<Path>,
    ) -> Result<BackupSummary, InspectError> {
        let (source, destination) = (source.as_ref(), destination.as_ref());
        let _lock = lock(source)?;
        let found = Directory::open(source)?;
        prepare(destination)?;
        let mut summary = BackupSummary {
            files: 0,
            bytes: 0,
            checked: super::Verification::default(),
        };
        let mut copy = |from: &Path, to: &Path| -> Result<(), InspectError> {
            let bytes = read(from)?;
            write_file(to, &bytes)?;
            summary.files += 1;
            summary.bytes += bytes.len() as u64;
            Ok(())
        };
        let meta_name = match found.kind {
            DirectoryKind::Table => meta::FILE_NAME,
            DirectoryKind::Database { .. } => db_file::FILE_NAME,
        };
        for (slot, table) in found.tables.iter().enumerate() {
            let Some(manifest) = table.manifest_path() else {
                continue;
            };
            let to_dir = match found.kind {
                DirectoryKind::Table => destination.to_owned(),
                DirectoryKind::Database { .. } => destination.join(format!("t{slot}")),
            };
            create_dir(&to_dir)?;
            copy(
                &table.page_file_path(),
                &to_dir.join(crate::pages::PAGE_FILE_NAME),
            )?;
            copy(&manifest, &to_dir.join(file_name(&manifest)))?;
            sync_dir(&to_dir)?;
        }
        for segment in &found.segments {
            if segment.first_seq > found.checkpoint_seq {
                copy(&segment.path, &destination.join(file_name(&segment.path)))?;
            }
        }
        // The metadata last: until it is there, the copy is not a
        // directory anything opens.
        copy(&source.join(meta_name), &destination.join(meta_name))?;
        sync_dir(destination)?;
        let checked = Directory::open(destination)?.verify(|_| {});
        if let Some(problem) = checked.problems.first() {
            return Err(InspectError::BackupInvalid {
                path: destination.to_owned(),
                problem: problem.to_string(),
            });
        }
        summary.checked = checked;
        Ok(summary)
    }
}

/// The directory's lock, if it has a lock file; a directory without one
/// was never opened by a writer. Never creates the file.
fn lock(source: &Path) -> Result<Option<DirLock>, InspectError> {
    if !source.join(LOCK_FILE_NAME).exists() {
        return Ok(None);
    }
    match DirLock::acquire(source) {
        Ok(lock) => Ok(Some(lock)),
        Err(LockError::AlreadyOpen { path }) => Err(InspectError::Busy { path }),
        Err(LockError::Io { path, source }) => Err(InspectError::Io { path, source }),
    }
}

/// Makes `destination` exist and checks it is empty.
fn prepare(destination: &Path) -> Result<(), InspectError> {
    create_dir(destination)?;
    let io = |source| InspectError::Io {
        path: destination.to_owned(),
        source,
    };
    if fs::read_dir(destination).map_err(io)?.next().is_some() {
        return Err(InspectError::DestinationNotEmpty {
            path: destination.to_owned(),
        });
    }
    Ok(())
}

fn create_dir(path: &Path) -> Result<(), InspectError> {
    fs::create_dir_all(path).map_err(|source| InspectError::Io {
        path: path.to_owned(),
        source,
    })
}

fn file_name(path: &Path) -> PathBuf {
    PathBuf::from(path.file_name().unwrap_or_default())
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), InspectError> {
    let temporary = path.with_extension("partial");
    let io = |source| InspectError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::create(&temporary).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&temporary, path).map_err(io)
}

fn sync_dir(path: &Path) -> Result<(), InspectError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| InspectError::Io {
            path: path.to_owned(),
            source,
        })
}
