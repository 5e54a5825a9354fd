//! [`InspectError`]: why a durable directory cannot be looked at.

use std::io;
use std::path::PathBuf;

use super::decode::DecodeError;
use crate::file_error::FileError;
use crate::meta::MetaError;

/// Why [`Directory`](super::Directory) could not read what was asked.
///
/// Every variant names the file at fault. Nothing was written either way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The path has neither a `meta` file (a table's directory) nor a `db`
    /// file (a database's).
    #[error("{} is not a durable directory: it has neither a `meta` nor a `db` file", path.display())]
    NotDurable {
        /// The directory.
        path: PathBuf,
    },
    /// A file or directory cannot be read (or, for a backup, written).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A file's bytes are not a file this build reads: damaged, cut short,
    /// or of another format version.
    #[error("{} cannot be used: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: FileError,
    },
    /// A file is sound in itself but is not the one the directory's
    /// metadata describes (another generation or schema, a gap in the log).
    #[error("{} does not match the directory's metadata: {detail}", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
    /// No table has this slot.
    #[error("there is no table {slot}: the directory has {tables}")]
    NoSuchTable {
        /// The slot asked for.
        slot: usize,
        /// How many tables there are.
        tables: usize,
    },
    /// The rows cannot be read without their Rust type: a field's type is
    /// one the program declares (a struct, an enum, an alias).
    #[error(
        "table `{table}`: field `{field}` has type `{ty}`, which is read only by the program that \
         declares it (the generic view reads primitives, String, Option, Vec, Box, arrays and \
         tuples); read these rows with their row type: ReadOnlyTable or ReadOnlyDatabase"
    )]
    UnknownType {
        /// The table.
        table: String,
        /// The field.
        field: String,
        /// Its type, as the schema spells it.
        ty: String,
    },
    /// A row's bytes do not read as the schema describes.
    #[error("{}: {place}: {source}", path.display())]
    Row {
        /// The page file or log segment holding the row.
        path: PathBuf,
        /// Where in it (page and offset, or record).
        place: String,
        /// What is wrong.
        source: DecodeError,
    },
    /// A backup could not lock the directory: a program has it open.
    #[error(
        "{} is open in another process; stop it first, or back it up from inside it \
         (DurableDatabase::backup_to)",
        path.display()
    )]
    Busy {
        /// The directory's lock file.
        path: PathBuf,
    },
    /// A backup's destination already holds files.
    #[error("{} is not empty: a backup goes to a new or empty directory", path.display())]
    DestinationNotEmpty {
        /// The destination.
        path: PathBuf,
    },
    /// The copy a backup made does not verify.
    #[error("the backup at {} does not verify: {problem}", path.display())]
    BackupInvalid {
        /// The destination.
        path: PathBuf,
        /// The first problem found.
        problem: String,
    },
}

impl InspectError {
    pub(super) fn from_meta(error: MetaError) -> Self {
        match error {
            MetaError::Missing { path } => InspectError::NotDurable {
                path: path.parent().map(PathBuf::from).unwrap_or_default(),
            },
            MetaError::Io { path, source } => InspectError::Io { path, source },
            MetaError::Decode { path, source } => InspectError::File { path, source },
        }
    }
}
