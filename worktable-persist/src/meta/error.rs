//! Errors of the metadata file: encoding, decoding, and reading it from a
//! directory.
//!
//! Decoding errors name byte offsets in the file; [`MetaError`] adds the
//! file's path.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A field of the metadata file, as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The flags (`u32`).
    Flags,
    /// The schema fingerprint (`u64`).
    SchemaFingerprint,
    /// The table name's length (`u16`).
    TableNameLen,
    /// The table name's bytes.
    TableName,
    /// The checkpoint sequence number (`u64`).
    CheckpointSeq,
    /// The page-file generation (`u64`).
    PageFileGeneration,
    /// The next-key state's length (`u16`).
    NextKeyLen,
    /// The next-key state's bytes.
    NextKey,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flags => "flags",
            Self::SchemaFingerprint => "schema fingerprint",
            Self::TableNameLen => "table name length",
            Self::TableName => "table name",
            Self::CheckpointSeq => "checkpoint sequence number",
            Self::PageFileGeneration => "page-file generation",
            Self::NextKeyLen => "next-key state length",
            Self::NextKey => "next-key state",
        })
    }
}

/// Why the bytes of a metadata file cannot be decoded.
///
/// Returned by [`decode`](super::decode), and inside
/// [`MetaError::Decode`] by [`read`](super::read). The variants after
/// [`Checksum`](Self::Checksum) are found only in a file whose checksum
/// verifies: it was written that way (by a faulty or newer writer), which no
/// crash or media damage explains.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file is too short to be a metadata file.
    #[error(
        "metadata file is {len} bytes long, shorter than the {min} bytes of the smallest metadata file",
        min = super::MIN_LEN
    )]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The file does not start with `b"WTMETA\0\0"`.
    #[error("not a metadata file: bytes 0..8 are \"{}\", not the metadata magic \"WTMETA\\0\\0\"", found.escape_ascii())]
    BadMagic {
        /// The first 8 bytes.
        found: [u8; 8],
    },
    /// The file's format version is not one this build reads.
    #[error(
        "metadata file has format version {found} (bytes 8..12); this build reads only version {supported}: the file was written by a newer worktable, or it is damaged"
    )]
    UnsupportedVersion {
        /// The stored version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The file is longer than any version 1 metadata file.
    #[error(
        "metadata file is {len} bytes long, longer than the {max} bytes of the largest version 1 metadata file",
        max = super::MAX_LEN
    )]
    TooLong {
        /// The file's length.
        len: u64,
    },
    /// The checksum in the last 4 bytes does not match the bytes before it.
    #[error(
        "metadata file is damaged: the checksum at byte offset {offset} is {stored:#010x}, but bytes 0..{offset} sum to {computed:#010x}"
    )]
    Checksum {
        /// Offset of the checksum: the file's length minus 4.
        offset: usize,
        /// The stored checksum.
        stored: u32,
        /// The checksum of the bytes before it.
        computed: u32,
    },
    /// The file sets flags, none of which version 1 defines.
    #[error(
        "metadata file sets flags {flags:#010x} (bytes 12..16), which this build does not know"
    )]
    UnsupportedFlags {
        /// The stored flags.
        flags: u32,
    },
    /// The stored table name length is over [`MAX_TABLE_NAME_LEN`](super::MAX_TABLE_NAME_LEN).
    #[error(
        "metadata file has a valid checksum but a table name length of {len} (bytes 24..26), over the maximum of {max}: it was written that way",
        max = super::MAX_TABLE_NAME_LEN
    )]
    TableNameTooLong {
        /// The stored length.
        len: usize,
    },
    /// The stored next-key state length is over [`MAX_NEXT_KEY_LEN`](super::MAX_NEXT_KEY_LEN).
    #[error(
        "metadata file has a valid checksum but a next-key state length of {len}, over the maximum of {max}: it was written that way",
        max = super::MAX_NEXT_KEY_LEN
    )]
    NextKeyTooLong {
        /// The stored length.
        len: usize,
    },
    /// A field runs into or past the checksum: a length before it is wrong.
    #[error(
        "metadata file has a valid checksum but its {field} (bytes {offset}..{} by the stored lengths) runs past the checksum at byte offset {checksum_at}: it was written that way",
        offset.saturating_add(*len)
    )]
    FieldPastEnd {
        /// The field that does not fit.
        field: Field,
        /// Where the field starts.
        offset: usize,
        /// The field's length.
        len: usize,
        /// Offset of the checksum, where the fields must end.
        checksum_at: usize,
    },
    /// The table name is not UTF-8.
    #[error(
        "metadata file has a valid checksum but its table name is not UTF-8 (invalid from byte offset {offset}): it was written that way"
    )]
    TableNameNotUtf8 {
        /// Offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
    /// Bytes are left between the last field and the checksum.
    #[error(
        "metadata file has a valid checksum but bytes {offset}..{checksum_at} follow its last field: it was written that way"
    )]
    TrailingBytes {
        /// Where the last field ends.
        offset: usize,
        /// Offset of the checksum.
        checksum_at: usize,
    },
}

/// Why a [`Meta`](super::Meta) cannot be encoded. Returned by
/// [`encode`](super::encode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The table name is longer than a metadata file can hold.
    #[error(
        "table name is {len} bytes long; a metadata file holds at most {max}",
        max = super::MAX_TABLE_NAME_LEN
    )]
    TableNameTooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// The next-key state is longer than a metadata file can hold.
    #[error(
        "next-key state is {len} bytes long; a metadata file holds at most {max}",
        max = super::MAX_NEXT_KEY_LEN
    )]
    NextKeyTooLong {
        /// The state's length.
        len: usize,
    },
}

/// Why a table directory's metadata file cannot be read. Returned by
/// [`read`](super::read); each variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// The file does not exist (nor, perhaps, its directory).
    #[error("metadata file {} does not exist", path.display())]
    Missing {
        /// The file's path.
        path: PathBuf,
    },
    /// The file exists but cannot be opened or read.
    #[error("cannot read metadata file {}", path.display())]
    Io {
        /// The file's path.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file's bytes are not a metadata file this build reads.
    #[error("metadata file {} cannot be used", path.display())]
    Decode {
        /// The file's path.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: DecodeError,
    },
}

impl MetaError {
    /// The path of the file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Missing { path } | Self::Io { path, .. } | Self::Decode { path, .. } => path,
        }
    }
}
