//! [`OpenError`]: why a table directory cannot be opened.

use std::io;
use std::path::{Path, PathBuf};

use worktable_core::rkyv::rancor;

use super::super::schema::{Listed, SchemaDifference};
use super::{CheckpointError, MetaWriteError};
use crate::file_error::FileError;
use crate::format::ArchiveFormat;
use crate::meta::MetaError;
use crate::vfs::LockError;

/// Why [`PersistentTable::open`](crate::PersistentTable::open) or
/// [`open_migrating`](crate::PersistentTable::open_migrating) cannot open a
/// table directory.
///
/// After any of them nothing was written (except a new table's metadata
/// file) and the directory lock is released.
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{OpenError, Options, PersistentTable};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
/// // The directory is locked while it is open.
/// let again = PersistentTable::<Note>::open(dir.path(), Options::default());
/// assert!(matches!(again, Err(OpenError::AlreadyOpen { .. })));
/// drop(notes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A file or directory of the table cannot be created, read, written,
    /// truncated or synced, or a thread of the table cannot be started.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The directory's lock file cannot be created, opened or locked: the
    /// directory is missing or read-only, permission is denied, or the file
    /// system does not support locking.
    #[error("cannot lock the table directory through {}: {source}", path.display())]
    Lock {
        /// The lock file's path.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The directory is open already, by this process or another.
    #[error(
        "the table directory is already open: {} is locked by another opener, in this process or another",
        path.display()
    )]
    AlreadyOpen {
        /// The lock file's path.
        path: PathBuf,
    },
    /// The metadata file's bytes are not a metadata file this build reads
    /// (an older or newer format version, damage, ...: see [`FileError`]).
    #[error("metadata file {} cannot be used: {source}", path.display())]
    Meta {
        /// The metadata file's path.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: FileError,
    },
    /// The metadata file of a new table cannot be encoded (the table name is
    /// longer than 255 bytes).
    #[error("cannot write the metadata file {}: {source}", path.display())]
    MetaEncode {
        /// The metadata file's path.
        path: PathBuf,
        /// Why it cannot be encoded.
        source: crate::file_error::MetadataEncodeError,
    },
    /// The files were written for another row type (another schema
    /// fingerprint, see
    /// [`Row::SCHEMA_FINGERPRINT`](worktable_core::Row::SCHEMA_FINGERPRINT)):
    /// the message lists what differs, from the schema the metadata file
    /// describes. [`PersistentTable::open_migrating`](crate::PersistentTable::open_migrating)
    /// converts the rows of the old row type to the new one.
    #[error(
        "{} was written for another schema of table `{table}`: {}; to convert its rows, open it with `PersistentTable::open_migrating::<OldRow>` (stored fingerprint {stored:#018x}, this row type's {expected:#018x})",
        path.display(),
        Listed(differences)
    )]
    SchemaMismatch {
        /// The file holding the other fingerprint (metadata file, manifest
        /// or log segment).
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// What differs between the schema the files were written with and
        /// the row type's (empty when the files hold no description of
        /// their schema).
        differences: Vec<SchemaDifference>,
        /// The stored fingerprint.
        stored: u64,
        /// The row type's fingerprint.
        expected: u64,
    },
    /// A file of the table (metadata file, log segment or page file) holds
    /// rows archived by an rkyv compiled with other features: another byte
    /// order, offset width or alignment. This build cannot read them.
    #[error(
        "{} holds rows archived as {stored}, but this build archives rows as {current}: it was written by a build whose rkyv was compiled with other features, and its rows cannot be read here",
        path.display()
    )]
    ArchiveFormat {
        /// The file that records the other format.
        path: PathBuf,
        /// The format the file records.
        stored: ArchiveFormat,
        /// This build's format ([`ArchiveFormat::current`]).
        current: ArchiveFormat,
    },
    /// The metadata file names another table.
    #[error(
        "{} belongs to table `{stored}`, not to `{expected}`",
        path.display()
    )]
    TableNameMismatch {
        /// The metadata file's path.
        path: PathBuf,
        /// The stored name.
        stored: String,
        /// The row type's table name.
        expected: &'static str,
    },
    /// The directory holds a table's files but no metadata file (deleted,
    /// or never written by worktable).
    #[error(
        "{} is missing, but the directory holds other table files ({found}): refusing to start an empty table over them",
        path.display()
    )]
    MetaMissing {
        /// The metadata file's path.
        path: PathBuf,
        /// One of the files found.
        found: String,
    },
    /// The directory holds no table but other files: a new table is only
    /// created in an empty directory (or a new one), never among files
    /// worktable did not write.
    #[error(
        "{} is not a table directory: it holds {found} and no table; open a table in an empty or new directory",
        dir.display()
    )]
    NotATableDirectory {
        /// The directory.
        dir: PathBuf,
        /// One of the files found.
        found: String,
    },
    /// A read-only open found no table in the directory (a read-only open
    /// creates none).
    #[error("{} holds no table to open read-only", dir.display())]
    NoTable {
        /// The directory.
        dir: PathBuf,
    },
    /// The checkpoint manifest's bytes are not a manifest this build reads
    /// (see [`FileError`]).
    #[error("checkpoint manifest {} cannot be read: {source}", path.display())]
    Manifest {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: FileError,
    },
    /// The checkpoint manifest does not belong with the metadata file.
    #[error("checkpoint manifest {}: {detail}", path.display())]
    ManifestMismatch {
        /// The manifest's path.
        path: PathBuf,
        /// What disagrees.
        detail: String,
    },
    /// The page file's header is not one this build reads (see
    /// [`FileError`]).
    #[error("page file {} cannot be read: {source}", path.display())]
    PageFile {
        /// The page file's path.
        path: PathBuf,
        /// What is wrong with its header.
        source: FileError,
    },
    /// A frame of the page file is missing or fails its checksum.
    #[error("page file {}: frame {frame} (page {page}): {detail}", path.display())]
    PageFrame {
        /// The page file's path.
        path: PathBuf,
        /// The page the frame holds.
        page: u32,
        /// The frame.
        frame: u32,
        /// What is wrong.
        detail: &'static str,
    },
    /// A row of the page file is not a valid row, or the rows of the page
    /// file and the log do not make a table (two rows with one unique key).
    #[error(
        "{}: the checkpoint and the log do not make a valid table: {source}",
        path.display()
    )]
    Restore {
        /// The file the bad row came from (page file or log segment), or
        /// the directory when the clash shows only at the end.
        path: PathBuf,
        /// What is wrong.
        source: worktable_core::storage::RestoreError,
    },
    /// A row converted by [`open_migrating`](crate::PersistentTable::open_migrating)
    /// cannot be serialized.
    #[error(
        "migrating the table in {}: a converted row cannot be serialized: {source}",
        dir.display()
    )]
    MigratedRow {
        /// The table directory.
        dir: PathBuf,
        /// What rkyv reported.
        source: rancor::Error,
    },
    /// The checkpoint that [`open_migrating`](crate::PersistentTable::open_migrating)
    /// writes the converted rows as failed; the directory stays as the old
    /// row type wrote it.
    #[error(transparent)]
    Checkpoint(CheckpointError),
    /// A log segment the checkpoint needs is missing.
    #[error("log segment {} is missing: the checkpoint in the metadata file needs it", path.display())]
    LogMissing {
        /// The missing segment's path.
        path: PathBuf,
    },
    /// The log ends before a record the metadata file says was synced: it
    /// was cut short (or its last segment lost) after it had been synced.
    /// Opening would silently drop acknowledged changes.
    #[error(
        "log segment {} ends at sequence number {ends_at}, but the metadata file records that the log was synced through {synced_through}: synced records were lost (the file was cut short or removed)",
        path.display()
    )]
    LogTruncated {
        /// The last segment.
        path: PathBuf,
        /// The last record the log holds.
        ends_at: u64,
        /// The log was synced through this record.
        synced_through: u64,
    },
    /// A log segment that is not the last does not end exactly where the
    /// next begins.
    #[error(
        "log segment {} ends at sequence number {last_seq}, but the next segment starts at {next_first}",
        path.display()
    )]
    LogGap {
        /// The segment's path.
        path: PathBuf,
        /// Its last record's sequence number.
        last_seq: u64,
        /// The next segment's first.
        next_first: u64,
    },
    /// A log segment does not start where the log must start.
    #[error(
        "log segment {} starts at sequence number {first_seq}, expected {expected}",
        path.display()
    )]
    LogStart {
        /// The segment's path.
        path: PathBuf,
        /// The header's `first_seq`.
        first_seq: u64,
        /// The sequence number it must start at.
        expected: u64,
    },
    /// A log segment cannot be read: damaged (not torn) or malformed (see
    /// [`FileError`]).
    #[error("log segment {} cannot be read: {source}", path.display())]
    Log {
        /// The segment's path.
        path: PathBuf,
        /// What is wrong with it.
        source: FileError,
    },
    /// A database's file `db` cannot be read (see [`FileError`]).
    #[error("database file {} cannot be read: {source}", path.display())]
    Database {
        /// The database file's path.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: FileError,
    },
    /// The database directory holds other tables than the database type
    /// declares (by field name, in order).
    #[error(
        "database {} holds the tables {stored:?}, the database type declares {expected:?}",
        path.display()
    )]
    DatabaseTables {
        /// The database file's path.
        path: PathBuf,
        /// The tables the directory holds, by field name, in slot order.
        stored: Vec<String>,
        /// The tables the type declares.
        expected: Vec<&'static str>,
    },
    /// A segment of a database's log ends inside a commit although later
    /// segments follow, or a record names a table the database does not
    /// have: the log was written that way or damaged, not torn.
    #[error("log segment {} breaks the database's commits at record {seq}: {detail}", path.display())]
    LogCommit {
        /// The segment's path.
        path: PathBuf,
        /// The record's sequence number.
        seq: u64,
        /// What is wrong.
        detail: &'static str,
    },
}

impl OpenError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<LockError> for OpenError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::AlreadyOpen { path } => Self::AlreadyOpen { path },
            LockError::Io { path, source } => Self::Lock { path, source },
        }
    }
}

impl From<MetaError> for OpenError {
    /// A metadata file that cannot be read is an I/O error on it; one
    /// that cannot be decoded, [`OpenError::Meta`].
    fn from(error: MetaError) -> Self {
        match error {
            MetaError::Missing { path } => Self::Io {
                path,
                source: io::ErrorKind::NotFound.into(),
            },
            MetaError::Io { path, source } => Self::Io { path, source },
            MetaError::Decode { path, source } => Self::Meta { path, source },
        }
    }
}

impl From<MetaWriteError> for OpenError {
    fn from(error: MetaWriteError) -> Self {
        match error {
            MetaWriteError::Encode { path, source } => Self::MetaEncode { path, source },
            MetaWriteError::Io { path, source } => Self::Io { path, source },
        }
    }
}
