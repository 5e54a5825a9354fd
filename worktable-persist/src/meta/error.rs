//! Errors of the metadata file: what is wrong with its fields, why one
//! cannot be encoded, and why it cannot be read from a directory.
//!
//! Decoding errors name byte offsets in the file; [`MetaError`] adds the
//! file's path.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::file_error::FileError;

/// A field of the metadata file, or of the schema description inside it,
/// as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetadataField {
    /// The flags (`u32`).
    Flags,
    /// The archive format (4 bytes).
    ArchiveFormat,
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
    /// The sequence number the log was synced through (`u64`).
    LogSyncedThrough,
    /// The key state's length (`u16`).
    KeyStateLen,
    /// The key state's bytes.
    KeyState,
    /// The schema description's length (`u32`).
    SchemaLen,
    /// The schema description's bytes.
    Schema,
    /// In the schema description: its version (`u32`).
    SchemaVersion,
    /// In the schema description: the number of the row's fields (`u16`).
    SchemaFieldCount,
    /// In the schema description: the name of a field.
    SchemaFieldName {
        /// The field's position.
        field: u16,
    },
    /// In the schema description: the type of a field.
    SchemaFieldType {
        /// The field's position.
        field: u16,
    },
    /// In the schema description: the number of primary-key fields (`u16`).
    PkCount,
    /// In the schema description: the name of a primary-key field.
    PkField {
        /// The field's position in the key.
        pk: u16,
    },
    /// In the schema description: the key source code (`u8`).
    KeySource,
    /// In the schema description: the key generator's path.
    GeneratorPath,
    /// In the schema description: the number of indexes (`u16`).
    IndexCount,
    /// In the schema description: the name of an index.
    IndexName {
        /// The index's position.
        index: u16,
    },
    /// In the schema description: whether an index is unique (`u8`).
    IndexUnique {
        /// The index's position.
        index: u16,
    },
    /// In the schema description: the number of an index's fields (`u16`).
    IndexFieldCount {
        /// The index's position.
        index: u16,
    },
    /// In the schema description: the name of a field an index covers.
    IndexField {
        /// The index's position.
        index: u16,
        /// The field's position in the index.
        field: u16,
    },
}

impl fmt::Display for MetadataField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flags => f.write_str("flags"),
            Self::ArchiveFormat => f.write_str("archive format"),
            Self::SchemaFingerprint => f.write_str("schema fingerprint"),
            Self::TableNameLen => f.write_str("table name length"),
            Self::TableName => f.write_str("table name"),
            Self::CheckpointSeq => f.write_str("checkpoint sequence number"),
            Self::PageFileGeneration => f.write_str("page-file generation"),
            Self::LogSyncedThrough => f.write_str("log-synced-through sequence number"),
            Self::KeyStateLen => f.write_str("key state length"),
            Self::KeyState => f.write_str("key state"),
            Self::SchemaLen => f.write_str("schema length"),
            Self::Schema => f.write_str("schema"),
            Self::SchemaVersion => f.write_str("schema version"),
            Self::SchemaFieldCount => f.write_str("field count"),
            Self::SchemaFieldName { field } => write!(f, "name of field {field}"),
            Self::SchemaFieldType { field } => write!(f, "type of field {field}"),
            Self::PkCount => f.write_str("primary-key field count"),
            Self::PkField { pk } => write!(f, "primary-key field {pk}"),
            Self::KeySource => f.write_str("key source"),
            Self::GeneratorPath => f.write_str("key generator path"),
            Self::IndexCount => f.write_str("index count"),
            Self::IndexName { index } => write!(f, "name of index {index}"),
            Self::IndexUnique { index } => write!(f, "unique flag of index {index}"),
            Self::IndexFieldCount { index } => write!(f, "field count of index {index}"),
            Self::IndexField { index, field } => write!(f, "field {field} of index {index}"),
        }
    }
}

/// What is wrong with the fields of a metadata file past the checks every
/// file gets (length, magic, version, checksum, flags, archive format: see
/// [`FileError`]).
///
/// Returned inside [`FileError::Metadata`]. Each is found only in a file
/// whose checksum verifies: it was written that way (by a faulty or newer
/// writer), which no crash or media damage explains.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataFault {
    /// The stored table name length is over the maximum, 255 bytes.
    #[error(
        "metadata file has a valid checksum but a table name length of {len} (bytes 28..30), over the maximum of {max}: it was written that way",
        max = super::MAX_TABLE_NAME_LEN
    )]
    TableNameTooLong {
        /// The stored length.
        len: usize,
    },
    /// The stored key state length is over the maximum, 65,535 bytes.
    #[error(
        "metadata file has a valid checksum but a key state length of {len}, over the maximum of {max}: it was written that way",
        max = super::MAX_KEY_STATE_LEN
    )]
    KeyStateTooLong {
        /// The stored length.
        len: usize,
    },
    /// The stored schema length is over the maximum, 1 MiB.
    #[error(
        "metadata file has a valid checksum but a schema length of {len} (at byte offset {offset}), over the maximum of {max}: it was written that way",
        max = super::MAX_SCHEMA_LEN
    )]
    SchemaTooLong {
        /// Where the schema length is stored.
        offset: usize,
        /// The stored length.
        len: u32,
    },
    /// A field runs into or past the checksum: a length before it is wrong.
    #[error(
        "metadata file has a valid checksum but its {field} (bytes {offset}..{} by the stored lengths) runs past the checksum at byte offset {checksum_at}: it was written that way",
        offset.saturating_add(*len)
    )]
    FieldPastEnd {
        /// The field that does not fit.
        field: MetadataField,
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
    /// A field of the schema description runs past the description's end:
    /// a count or a length before it is wrong.
    #[error(
        "metadata file has a valid checksum but, in its schema, the {field} (bytes {offset}..{} by the stored lengths) runs past the schema's end at byte offset {schema_end}: it was written that way",
        offset.saturating_add(*len)
    )]
    SchemaFieldPastEnd {
        /// The field that does not fit.
        field: MetadataField,
        /// Where the field starts.
        offset: usize,
        /// The field's length.
        len: usize,
        /// Offset of the schema description's end.
        schema_end: usize,
    },
    /// A string of the schema description is not UTF-8.
    #[error(
        "metadata file has a valid checksum but, in its schema, the {field} is not UTF-8 (invalid from byte offset {offset}): it was written that way"
    )]
    SchemaNotUtf8 {
        /// The string's field.
        field: MetadataField,
        /// Offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
    /// The key source code is not 0, 1 or 2.
    #[error(
        "metadata file has a valid checksum but, in its schema, the key source at byte offset {offset} is {code}, not 0 (caller-supplied), 1 (autoincrement) or 2 (generator): it was written that way"
    )]
    UnknownKeySource {
        /// The stored code.
        code: u8,
        /// Where it is stored.
        offset: usize,
    },
    /// A key source other than a generator has a generator path.
    #[error(
        "metadata file has a valid checksum but, in its schema, key source {code} has a key generator path of {len} bytes at byte offset {offset}; only key source 2 (generator) has one: it was written that way"
    )]
    UnexpectedGeneratorPath {
        /// The stored key source code: 0 or 1.
        code: u8,
        /// Where the path's bytes start.
        offset: usize,
        /// The path's length.
        len: usize,
    },
    /// An index's unique flag is neither 0 nor 1.
    #[error(
        "metadata file has a valid checksum but, in its schema, the unique flag of index {index} at byte offset {offset} is {value}, not 0 or 1: it was written that way"
    )]
    UniqueFlagInvalid {
        /// The index's position.
        index: u16,
        /// The stored flag.
        value: u8,
        /// Where it is stored.
        offset: usize,
    },
    /// Bytes are left between the schema description's last index and its
    /// end.
    #[error(
        "metadata file has a valid checksum but bytes {offset}..{schema_end} follow the last index of its schema: it was written that way"
    )]
    SchemaTrailingBytes {
        /// Where the last index ends.
        offset: usize,
        /// Offset of the schema description's end.
        schema_end: usize,
    },
}

/// Why the metadata file of a table cannot be written: a field is longer
/// than the file can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataEncodeError {
    /// The table name is longer than a metadata file can hold.
    #[error(
        "table name is {len} bytes long; a metadata file holds at most {max}",
        max = super::MAX_TABLE_NAME_LEN
    )]
    TableNameTooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// The key state is longer than a metadata file can hold.
    #[error(
        "key state is {len} bytes long; a metadata file holds at most {max}",
        max = super::MAX_KEY_STATE_LEN
    )]
    KeyStateTooLong {
        /// The state's length.
        len: usize,
    },
    /// The schema description is longer, encoded, than a metadata file can
    /// hold.
    #[error(
        "schema description is {len} bytes long encoded; a metadata file holds at most {max}",
        max = super::MAX_SCHEMA_LEN
    )]
    SchemaTooLong {
        /// The encoded description's length.
        len: usize,
    },
    /// A list of the schema description has more entries than its `u16`
    /// count can hold.
    #[error("the schema's {field} would be {count}, over the maximum of 65535")]
    SchemaCountTooLarge {
        /// The count.
        field: MetadataField,
        /// The number of entries.
        count: usize,
    },
    /// A string of the schema description is longer than its `u16` length
    /// can hold.
    #[error(
        "the schema's {field} is {len} bytes long; a metadata file holds strings of at most 65535 bytes"
    )]
    SchemaStringTooLong {
        /// The string.
        field: MetadataField,
        /// Its length in bytes.
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
    #[error("cannot read metadata file {}: {source}", path.display())]
    Io {
        /// The file's path.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file's bytes are not a metadata file this build reads.
    #[error("metadata file {} cannot be used: {source}", path.display())]
    Decode {
        /// The file's path.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: FileError,
    },
}

impl MetaError {
    /// The path of the file the error is about.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        match self {
            Self::Missing { path } | Self::Io { path, .. } | Self::Decode { path, .. } => path,
        }
    }
}
