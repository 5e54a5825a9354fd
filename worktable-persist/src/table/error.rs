//! The errors of opening, writing and closing a durable table.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::TableError;
use worktable_core::rkyv::rancor;

use super::schema::{Listed, SchemaDifference};
use crate::file_error::FileError;
use crate::format::ArchiveFormat;
use crate::meta::MetaError;
use crate::vfs::LockError;

/// Why a durable table cannot be opened, written durably or closed.
///
/// Every variant names the file it is about, and its message includes the
/// reason (the `source()` chain holds the same reason as a typed error). A
/// write that commits in memory but cannot be made durable fails with
/// [`TableError::Durability`], and a write refused because the log failed
/// before it with [`TableError::WriteRefused`], each with this type
/// ([`LogWrite`](Self::LogWrite)) as its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// A file or directory of the table cannot be created, read, written,
    /// truncated or synced.
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
    /// The key generator's state (the largest deleted key) cannot be
    /// serialized for the metadata file.
    #[error("{}: the key generator's state cannot be serialized: {source}", path.display())]
    KeyState {
        /// The metadata file's path.
        path: PathBuf,
        /// What rkyv reported.
        source: rancor::Error,
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
        source: worktable_core::RestoreError,
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
    /// A log record's row image is not a valid archive of the row type.
    #[error(
        "log segment {}: the row image of the record at byte offset {offset} is not a valid row: {source}",
        path.display()
    )]
    BadRow {
        /// The segment's path.
        path: PathBuf,
        /// Byte offset of the record's frame.
        offset: usize,
        /// What validation reported.
        source: rancor::Error,
    },
    /// Applying a valid log record to the table failed (the log does not
    /// describe a history the table can have had, e.g. a unique-key clash).
    #[error(
        "log segment {}: the record at byte offset {offset} cannot be replayed: {source}",
        path.display()
    )]
    Replay {
        /// The segment's path.
        path: PathBuf,
        /// Byte offset of the record's frame.
        offset: usize,
        /// What the table reported.
        source: TableError,
    },
    /// Writing or syncing the log failed; the table refuses every write from
    /// then on (see the [crate documentation](crate#when-the-log-cannot-be-written)).
    #[error(
        "cannot write or sync the write-ahead log of the table in {}: {source}",
        path.display()
    )]
    LogWrite {
        /// The table directory (the segment is its last `log-*` file).
        path: PathBuf,
        /// What the operating system said (shared by every write it fails).
        source: Arc<io::Error>,
    },
    /// A resumed change feed asked for changes the log no longer holds: a
    /// checkpoint removed them.
    #[error(
        "table in {}: changes after {after} were asked for, but the log holds changes from {oldest} on (earlier ones were checkpointed and their log removed); re-read the table and resume from there",
        dir.display()
    )]
    ResumeTooOld {
        /// The table directory.
        dir: PathBuf,
        /// The last change the consumer had.
        after: u64,
        /// The oldest change the log holds.
        oldest: u64,
    },
    /// A resumed change feed asked for changes after one the table does not
    /// have.
    #[error(
        "table in {}: changes after {after} were asked for, but the table's last change is {last}: the consumer saw changes the table does not have (lost in a crash before they were durable, or numbered by another table)",
        dir.display()
    )]
    ResumeAhead {
        /// The table directory.
        dir: PathBuf,
        /// The last change the consumer had.
        after: u64,
        /// The table's last change.
        last: u64,
    },
    /// A log record read back for a resumed feed does not make a change
    /// event (its images do not fit its kind).
    #[error(
        "log segment {}: the record at byte offset {offset} is not a change of this table: {source}",
        path.display()
    )]
    HistoryRecord {
        /// The segment's path.
        path: PathBuf,
        /// Byte offset of the record's frame.
        offset: usize,
        /// What is wrong.
        source: worktable_core::events::EventDecodeError,
    },
    /// The log has used every sequence number.
    #[error("log segment {}: no sequence numbers are left", path.display())]
    SeqExhausted {
        /// The segment's path.
        path: PathBuf,
    },
}

impl PersistError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<LockError> for PersistError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::AlreadyOpen { path } => Self::AlreadyOpen { path },
            LockError::Io { path, source } => Self::Lock { path, source },
        }
    }
}

impl From<MetaError> for PersistError {
    /// A metadata file that cannot be read is an I/O error on it; one
    /// that cannot be decoded, [`PersistError::Meta`].
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
