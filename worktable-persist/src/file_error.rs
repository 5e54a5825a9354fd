//! What can be wrong with a file of a table directory: [`FileError`].
//!
//! Opening a table reads four kinds of file ([`FileKind`]): the metadata
//! file, the checkpoint manifest, the page file and the write-ahead log
//! segments. Each starts with a magic, a format version and flags, and is
//! protected by a CRC32C (byte layouts in `docs/format.md`). When a file's
//! bytes are not a file this build reads, opening fails with an
//! [`OpenError`](crate::OpenError) (resuming a feed from the log, with a
//! [`ResumeError`](crate::ResumeError)) that names the file's path and
//! whose source is a [`FileError`], which says what is wrong:
//!
//! - the file is not one of its kind ([`BadMagic`](FileError::BadMagic)),
//!   or was written in an older or a newer format
//!   ([`UnsupportedVersion`](FileError::UnsupportedVersion)): no converter
//!   exists between versions;
//! - it was cut short, or grew ([`TooShort`](FileError::TooShort),
//!   [`TooLong`](FileError::TooLong)), or it is damaged
//!   ([`ChecksumMismatch`](FileError::ChecksumMismatch)): what a crash, a
//!   torn write or media damage leaves;
//! - its checksum verifies but a field breaks the format
//!   ([`UnsupportedFlags`](FileError::UnsupportedFlags),
//!   [`ArchiveFormat`](FileError::ArchiveFormat), and the rules of each
//!   kind of file: [`LogFault`], [`MetadataFault`], [`PageFileFault`],
//!   [`ManifestFault`]): the file was written that way, by a faulty or a
//!   newer writer, which no crash explains. [`LogFault::Corrupt`] is the
//!   exception: damage to log records that had been synced.
//!
//! Every message names the byte offsets at fault; the
//! [`OpenError`](crate::OpenError) around it names the file.
//!
//! # Example
//!
//! ```
//! use worktable_core::prelude::*;
//! use worktable_persist::file_error::{FileError, FileKind};
//! use worktable_persist::{OpenError, Options, PersistentTable};
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! struct Note {
//!     #[pk]
//!     id: u64,
//! }
//!
//! let dir = tempfile::tempdir()?;
//! // A metadata file of format version 3, which this build does not read.
//! let mut meta = b"WTMETA\0\0".to_vec();
//! meta.extend_from_slice(&3u32.to_le_bytes());
//! meta.resize(100, 0);
//! std::fs::write(dir.path().join("meta"), meta)?;
//!
//! match PersistentTable::<Note>::open(dir.path(), Options::default()) {
//!     Err(OpenError::Meta { path, source }) => {
//!         assert_eq!(path, dir.path().join("meta"));
//!         assert_eq!(
//!             source,
//!             FileError::UnsupportedVersion { file: FileKind::Metadata, found: 3, supported: 2 }
//!         );
//!         assert!(source.to_string().contains("written by a newer worktable"));
//!     }
//!     other => panic!("expected a metadata file of a newer version, got {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::codec::FORMAT_VERSION;
use crate::format::ArchiveFormatError;

pub use crate::database::DatabaseFault;
pub use crate::log::{ImageRole, LogFault, RecordFault, RecordKind};
pub use crate::meta::{MetadataEncodeError, MetadataFault, MetadataField};
pub use crate::pages::{ManifestFault, ManifestRule, PageFileFault};

/// Which file of a table directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// The metadata file, `meta`: which table and row type the directory
    /// belongs to, and which checkpoint is current.
    Metadata,
    /// A write-ahead log segment, `log-<first sequence number>`.
    LogSegment,
    /// The page file, `pages`: the checkpointed pages, one per frame.
    PageFile,
    /// A checkpoint manifest, `manifest-<generation>`: which frame of the
    /// page file holds which page, and where its rows are.
    Manifest,
    /// The database file, `db`, of a durable database: its id, its tables
    /// and the checkpoint that covers all of them.
    Database,
    /// The manifest of a backup in an object store, `backup`: every file
    /// of the backup with its length and checksum.
    BackupManifest,
}

impl fmt::Display for FileKind {
    /// In words: `metadata file`, `log segment`, `page file`, `manifest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Metadata => "metadata file",
            Self::LogSegment => "log segment",
            Self::PageFile => "page file",
            Self::Manifest => "manifest",
            Self::Database => "database file",
            Self::BackupManifest => "backup manifest",
        })
    }
}

impl FileKind {
    /// The part of the file its checksum covers, as a message's subject:
    /// the header of a log segment or a page file, the whole of the others.
    fn checked_part(self) -> &'static str {
        match self {
            Self::Metadata => "metadata file",
            Self::LogSegment => "log segment header",
            Self::PageFile => "page file header",
            Self::Manifest => "manifest",
            Self::Database => "database file",
            Self::BackupManifest => "backup manifest",
        }
    }

    /// What the file's magic is called in messages.
    fn magic_name(self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::LogSegment => "log",
            Self::PageFile => "page file",
            Self::Manifest => "manifest",
            Self::Database => "database",
            Self::BackupManifest => "backup manifest",
        }
    }
}

/// What is wrong with the bytes of a file of a table directory.
///
/// The variants are in the order a reader checks: the length, the magic
/// and the format version first (the only fields every format version
/// keeps in place), then the checksum, then the fields the checksum
/// covers. Those after [`ChecksumMismatch`](Self::ChecksumMismatch) are
/// found in a file whose checksum verifies, except where a variant says
/// otherwise. See the [module documentation](self) for an example.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileError {
    /// The file is shorter than the shortest file of its kind (for a log
    /// segment or the page file: than its header). A crash can leave a
    /// file cut short; a file of another kind can be short too.
    TooShort {
        /// Which file.
        file: FileKind,
        /// The file's length (or the length of the bytes read).
        len: usize,
        /// The shortest length of a file of this kind.
        min: usize,
    },
    /// The file is longer than any file of its kind in this format
    /// version (only the metadata file has a largest length).
    TooLong {
        /// Which file.
        file: FileKind,
        /// The file's length.
        len: u64,
        /// The largest length of a file of this kind.
        max: usize,
    },
    /// The file does not start with the magic of its kind: it is another
    /// file, or damaged (an all-zero file is reported this way).
    BadMagic {
        /// Which file.
        file: FileKind,
        /// The first 8 bytes.
        found: [u8; 8],
        /// The magic of its kind.
        expected: [u8; 8],
    },
    /// The file's format version is not the one this build reads: an
    /// older version (the message says no converter exists: re-create the
    /// table from its rows), or a newer one (written by a newer worktable,
    /// or damaged). Checked before the checksum, whose place is itself
    /// version-specific.
    UnsupportedVersion {
        /// Which file.
        file: FileKind,
        /// The stored version (bytes 8..12).
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The stored checksum does not match the bytes it covers: the file is
    /// damaged, torn by a crash, or cut or extended.
    ChecksumMismatch {
        /// Which file.
        file: FileKind,
        /// Offset of the checksum, which covers the bytes before it.
        offset: usize,
        /// The stored checksum.
        stored: u32,
        /// The checksum of the bytes it covers.
        computed: u32,
    },
    /// The file sets flags (bytes 12..16), none of which this format
    /// version defines.
    UnsupportedFlags {
        /// Which file.
        file: FileKind,
        /// The stored flags.
        flags: u32,
    },
    /// The 4 bytes that record the rows' archive format are not one (see
    /// [`ArchiveFormat`](crate::format::ArchiveFormat)).
    ArchiveFormat {
        /// Which file.
        file: FileKind,
        /// Where the 4 bytes start.
        offset: usize,
        /// What is wrong with them.
        reason: ArchiveFormatError,
    },
    /// A log segment breaks a rule of its format past the checks above,
    /// or its synced records are damaged.
    Log(LogFault),
    /// The metadata file's fields break a rule of its format.
    Metadata(MetadataFault),
    /// A rule of the database file is broken (in a file whose checksum
    /// verifies).
    Database(DatabaseFault),
    /// The page file's header breaks a rule of its format.
    PageFile(PageFileFault),
    /// A manifest's page entries break a rule of its format.
    Manifest(ManifestFault),
}

impl FileError {
    /// The kind of file the error is about.
    ///
    /// ```
    /// use worktable_persist::file_error::{FileError, FileKind};
    ///
    /// let error = FileError::UnsupportedFlags { file: FileKind::Manifest, flags: 1 };
    /// assert_eq!(error.file(), FileKind::Manifest);
    /// ```
    pub fn file(&self) -> FileKind {
        match self {
            Self::TooShort { file, .. }
            | Self::TooLong { file, .. }
            | Self::BadMagic { file, .. }
            | Self::UnsupportedVersion { file, .. }
            | Self::ChecksumMismatch { file, .. }
            | Self::UnsupportedFlags { file, .. }
            | Self::ArchiveFormat { file, .. } => *file,
            Self::Log(_) => FileKind::LogSegment,
            Self::Metadata(_) => FileKind::Metadata,
            Self::Database(_) => FileKind::Database,
            Self::PageFile(_) => FileKind::PageFile,
            Self::Manifest(_) => FileKind::Manifest,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { file, len, min } => {
                write!(f, "{file} is {len} bytes long, shorter than ")?;
                match file {
                    FileKind::LogSegment | FileKind::PageFile => write!(f, "its {min}-byte header"),
                    FileKind::Metadata => {
                        write!(f, "the {min} bytes of the smallest metadata file")
                    }
                    FileKind::Manifest => write!(f, "the {min} bytes of a manifest without pages"),
                    FileKind::Database => {
                        write!(f, "the {min} bytes of a database file without tables")
                    }
                    FileKind::BackupManifest => {
                        write!(f, "the {min} bytes of a backup manifest without files")
                    }
                }
            }
            Self::TooLong { file, len, max } => write!(
                f,
                "{file} is {len} bytes long, longer than the {max} bytes of the largest version \
                 {FORMAT_VERSION} {file}"
            ),
            Self::BadMagic {
                file,
                found,
                expected,
            } => write!(
                f,
                "not a {file}: bytes 0..8 are \"{}\", not the {} magic \"{}\"",
                found.escape_ascii(),
                file.magic_name(),
                MagicText(expected)
            ),
            Self::UnsupportedVersion {
                file,
                found,
                supported,
            } => unsupported_version(f, *file, *found, *supported),
            Self::ChecksumMismatch {
                file,
                offset,
                stored,
                computed,
            } => {
                let the = if *file == FileKind::LogSegment {
                    ""
                } else {
                    "the "
                };
                write!(
                    f,
                    "{} is damaged: {the}checksum at byte offset {offset} is {stored:#010x}, but \
                     bytes 0..{offset} sum to {computed:#010x}",
                    file.checked_part()
                )
            }
            Self::UnsupportedFlags { file, flags } => write!(
                f,
                "{} sets flags {flags:#010x} (bytes 12..16), which this build does not know",
                file.checked_part()
            ),
            Self::ArchiveFormat {
                file,
                offset,
                reason,
            } => write!(
                f,
                "{} has a valid checksum but its archive format (bytes {offset}..{}) is not one: \
                 {reason}; it was written that way",
                file.checked_part(),
                offset.saturating_add(crate::format::ArchiveFormat::LEN)
            ),
            Self::Log(fault) => fault.fmt(f),
            Self::Metadata(fault) => fault.fmt(f),
            Self::Database(fault) => fault.fmt(f),
            Self::PageFile(fault) => fault.fmt(f),
            Self::Manifest(fault) => fault.fmt(f),
        }
    }
}

impl std::error::Error for FileError {}

/// The message for a `file` whose format version `found` is not
/// `supported`, the one version this build reads.
fn unsupported_version(
    f: &mut fmt::Formatter<'_>,
    file: FileKind,
    found: u32,
    supported: u32,
) -> fmt::Result {
    if found < supported {
        write!(
            f,
            "{file} has format version {found} (bytes 8..12): it was written by an older \
             worktable format (version {found}); this build reads only version {supported} \
             and no converter exists: re-create the table from its rows"
        )
    } else {
        write!(
            f,
            "{file} has format version {found} (bytes 8..12); this build reads only version \
             {supported}: the file was written by a newer worktable, or it is damaged"
        )
    }
}

/// A magic as written in messages: printable ASCII as is, a zero byte as
/// `\0`, any other byte escaped.
struct MagicText<'a>(&'a [u8; 8]);

impl fmt::Display for MagicText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0 {
            if byte == 0 {
                f.write_str("\\0")?;
            } else {
                write!(f, "{}", [byte].escape_ascii())?;
            }
        }
        Ok(())
    }
}
