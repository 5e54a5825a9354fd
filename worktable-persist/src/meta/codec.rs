//! The metadata file's bytes: encoding, and the checks a stored file must
//! pass.
//!
//! A file is `magic | version: u32 | flags: u32 | archive_format: [u8; 4] |
//! schema_fingerprint: u64 | name_len: u16 | name | checkpoint_seq: u64 |
//! page_file_generation: u64 | log_synced_through: u64 | key_state_len: u16
//! | key_state | schema_len: u32 | schema | crc: u32`, the checksum being
//! CRC32C of everything before it, and the schema being a
//! [`StoredSchema`] encoded as [`super::schema`] says.
//! `docs/format.md` has the table of offsets.

use super::error::{MetadataEncodeError, MetadataFault, MetadataField};
use super::fields::Fields;
use super::schema::{self, MIN_SCHEMA_LEN, StoredSchema};
use crate::codec::{ChecksumAt, FileFormat, Put};
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;

/// The eight bytes every metadata file starts with.
pub(crate) const MAGIC: [u8; 8] = *b"WTMETA\0\0";

/// The longest table name a metadata file holds, in UTF-8 bytes.
pub(crate) const MAX_TABLE_NAME_LEN: usize = 255;

/// The longest key state a metadata file holds, in bytes.
pub(crate) const MAX_KEY_STATE_LEN: usize = u16::MAX as usize;

/// The longest schema description a metadata file holds, encoded: 1 MiB.
pub(crate) const MAX_SCHEMA_LEN: usize = 1 << 20;

/// Length of the fixed fields and the checksum: a file without a table
/// name, a key state or a schema description.
const FIXED_LEN: usize = 8 + 4 + 4 + 4 + 8 + 2 + 8 + 8 + 8 + 2 + 4 + 4;

/// Length of the smallest file: an empty table name, an empty key state and
/// the description [`StoredSchema::default`].
pub(crate) const MIN_LEN: usize = FIXED_LEN + MIN_SCHEMA_LEN;

/// Length of a file whose table name, key state and schema description are
/// as long as they can be.
pub(crate) const MAX_LEN: usize =
    FIXED_LEN + MAX_TABLE_NAME_LEN + MAX_KEY_STATE_LEN + MAX_SCHEMA_LEN;

/// The metadata file's format, as the checks every file gets need it.
pub(crate) const FORMAT: FileFormat = FileFormat {
    file: FileKind::Metadata,
    magic: MAGIC,
    min_len: MIN_LEN,
    max_len: MAX_LEN,
    min_len_first: false,
    checksum: ChecksumAt::End,
    known_flags: 0,
};

/// The contents of a table's metadata file.
///
/// The format version and the flags are not fields: version 2 with no flags
/// is the only file this build writes or accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
    /// The rkyv format of the rows in the table's files, and of the key
    /// state; the caller refuses to open files written in another than
    /// [`ArchiveFormat::current`].
    pub archive_format: ArchiveFormat,
    /// Fingerprint of the row type's schema
    /// ([`Row::SCHEMA_FINGERPRINT`](worktable_core::Row::SCHEMA_FINGERPRINT));
    /// the caller refuses to open the table's files under another one.
    pub schema_fingerprint: u64,
    /// The table's name ([`Row::TABLE_NAME`](worktable_core::Row::TABLE_NAME)),
    /// at most 255 bytes of UTF-8. Kept to name the table
    /// in messages about its files; the fingerprint already covers it.
    pub table_name: String,
    /// Every change with a sequence number up to this one is in the page
    /// file; recovery replays the log from the next one.
    pub checkpoint_seq: u64,
    /// The generation of the page file this checkpoint wrote; a page file of
    /// another generation is not the one this metadata describes.
    pub page_file_generation: u64,
    /// Every log record with a sequence number up to this one had been
    /// synced when the file was written: a log that ends before it has lost
    /// records that were synced, and recovery may refuse it.
    pub log_synced_through: u64,
    /// The largest primary key of a row ever deleted, as the rkyv archive
    /// of the key, for a table whose keys are generated (autoincrement or a
    /// key generator), so that no generated key is handed out again after
    /// a reopen; empty otherwise, and never any other field of a row. At
    /// most 65,535 bytes, stored as the format's `key_state` field; opaque
    /// to this codec: the table archives and reads the key.
    pub largest_deleted_key: Vec<u8>,
    /// The readable description of the row type that wrote the files,
    /// decoded field by field; at most 1 MiB encoded.
    pub schema: StoredSchema,
}

/// Encodes `meta` as the complete contents of a metadata file.
///
/// # Errors
///
/// In the order of the fields:
///
/// - [`MetadataEncodeError::TableNameTooLong`]: the name is longer than
///   [`MAX_TABLE_NAME_LEN`] bytes.
/// - [`MetadataEncodeError::KeyStateTooLong`]: the key state is longer
///   than [`MAX_KEY_STATE_LEN`] bytes.
/// - [`MetadataEncodeError::SchemaCountTooLarge`],
///   [`MetadataEncodeError::SchemaStringTooLong`]: a list of the schema
///   description has more than 65,535 entries, or a string more than 65,535
///   bytes.
/// - [`MetadataEncodeError::SchemaTooLong`]: the encoded description is
///   longer than [`MAX_SCHEMA_LEN`].
pub(crate) fn encode(meta: &Meta) -> Result<Vec<u8>, MetadataEncodeError> {
    let name = meta.table_name.as_bytes();
    let name_len = u16::try_from(name.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_TABLE_NAME_LEN)
        .ok_or(MetadataEncodeError::TableNameTooLong { len: name.len() })?;
    let key_state = meta.largest_deleted_key.as_slice();
    let key_state_len = u16::try_from(key_state.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_KEY_STATE_LEN)
        .ok_or(MetadataEncodeError::KeyStateTooLong {
            len: key_state.len(),
        })?;
    let mut schema = Vec::new();
    schema::encode(&meta.schema, &mut schema)?;
    let schema_len = u32::try_from(schema.len())
        .ok()
        .filter(|&len| len as usize <= MAX_SCHEMA_LEN)
        .ok_or(MetadataEncodeError::SchemaTooLong { len: schema.len() })?;
    let capacity = FIXED_LEN + name.len() + key_state.len() + schema.len();
    Ok(FORMAT.encode(Vec::with_capacity(capacity), |out| {
        out.put(&meta.archive_format.to_bytes());
        out.put_u64(meta.schema_fingerprint);
        out.put_u16(name_len);
        out.put(name);
        out.put_u64(meta.checkpoint_seq);
        out.put_u64(meta.page_file_generation);
        out.put_u64(meta.log_synced_through);
        out.put_u16(key_state_len);
        out.put(key_state);
        out.put_u32(schema_len);
        out.put(&schema);
    }))
}

/// Decodes the complete contents of a metadata file.
///
/// First the checks every file gets, in the order of
/// [`FileFormat::check`](crate::codec::FileFormat::check): the magic and the
/// version (2), a length within [`MIN_LEN`]..=[`MAX_LEN`], the trailing
/// CRC32C (damage, a torn write and a cut or extended file all fail it),
/// the flags. Then, in a file whose checksum verifies (one written that
/// way), in the order of the fields they concern:
/// [`FileError::ArchiveFormat`], [`MetadataFault::TableNameTooLong`],
/// [`MetadataFault::FieldPastEnd`], [`MetadataFault::TableNameNotUtf8`],
/// [`MetadataFault::KeyStateTooLong`], [`MetadataFault::SchemaTooLong`];
/// in the schema description, [`MetadataFault::SchemaFieldPastEnd`],
/// [`MetadataFault::SchemaNotUtf8`], [`MetadataFault::UnknownKeySource`],
/// [`MetadataFault::UnexpectedGeneratorPath`],
/// [`MetadataFault::UniqueFlagInvalid`] and
/// [`MetadataFault::SchemaTrailingBytes`]; last,
/// [`MetadataFault::TrailingBytes`]. The first failure is returned.
///
/// The archive format is decoded, not compared with this build's: that is
/// the caller's decision. Nothing is allocated for a stored count or length
/// beyond what the bytes after it can hold. Never panics, whatever `bytes`
/// holds.
pub(crate) fn decode(bytes: &[u8]) -> Result<Meta, FileError> {
    let mut fields = FORMAT.check(bytes)?.fields;
    let archive_format = FORMAT.archive_format(&mut fields)?;
    decode_fields(archive_format, Fields::file(fields))
}

/// Decodes the fields after the archive format, whose checksum verified.
fn decode_fields(archive_format: ArchiveFormat, mut fields: Fields<'_>) -> Result<Meta, FileError> {
    let fault = FileError::Metadata;
    let schema_fingerprint = fields.u64(MetadataField::SchemaFingerprint)?;
    let name_len = usize::from(fields.u16(MetadataField::TableNameLen)?);
    if name_len > MAX_TABLE_NAME_LEN {
        return Err(fault(MetadataFault::TableNameTooLong { len: name_len }));
    }
    let name_at = fields.offset();
    let name = fields.slice(MetadataField::TableName, name_len)?;
    let table_name = match std::str::from_utf8(name) {
        Ok(name) => name.to_owned(),
        Err(err) => {
            return Err(fault(MetadataFault::TableNameNotUtf8 {
                offset: name_at + err.valid_up_to(),
            }));
        }
    };
    let checkpoint_seq = fields.u64(MetadataField::CheckpointSeq)?;
    let page_file_generation = fields.u64(MetadataField::PageFileGeneration)?;
    let log_synced_through = fields.u64(MetadataField::LogSyncedThrough)?;
    let key_state_len = usize::from(fields.u16(MetadataField::KeyStateLen)?);
    if key_state_len > MAX_KEY_STATE_LEN {
        return Err(fault(MetadataFault::KeyStateTooLong { len: key_state_len }));
    }
    let key_state = fields
        .slice(MetadataField::KeyState, key_state_len)?
        .to_vec();
    let schema_len_at = fields.offset();
    let schema_len = fields.u32(MetadataField::SchemaLen)?;
    if schema_len as usize > MAX_SCHEMA_LEN {
        return Err(fault(MetadataFault::SchemaTooLong {
            offset: schema_len_at,
            len: schema_len,
        }));
    }
    let schema_at = fields.offset();
    let schema = fields.slice(MetadataField::Schema, schema_len as usize)?;
    let schema = schema::decode(schema, schema_at)?;
    if fields.remaining() != 0 {
        return Err(fault(MetadataFault::TrailingBytes {
            offset: fields.offset(),
            checksum_at: fields.end(),
        }));
    }
    Ok(Meta {
        archive_format,
        schema_fingerprint,
        table_name,
        checkpoint_seq,
        page_file_generation,
        log_synced_through,
        largest_deleted_key: key_state,
        schema,
    })
}
