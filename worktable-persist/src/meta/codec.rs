//! The metadata file's bytes: encoding, and the checks a stored file must
//! pass.
//!
//! A file is `magic | version: u32 | flags: u32 | archive_format: [u8; 4] |
//! schema_fingerprint: u64 | name_len: u16 | name | checkpoint_seq: u64 |
//! page_file_generation: u64 | log_synced_through: u64 | key_state_len: u16
//! | key_state | schema_len: u32 | schema | crc: u32`, the checksum being
//! CRC32C of everything before it, and the schema being a
//! [`StoredSchema`] encoded as [`schema`](super::schema) says.
//! `docs/format.md` has the table of offsets.

use super::error::{DecodeError, EncodeError, Field};
use super::schema::{self, MIN_SCHEMA_LEN, StoredSchema};
use crate::format::ArchiveFormat;

/// The eight bytes every metadata file starts with.
pub const MAGIC: [u8; 8] = *b"WTMETA\0\0";

/// The metadata format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u32 = 2;

/// The longest table name a metadata file holds, in UTF-8 bytes.
pub const MAX_TABLE_NAME_LEN: usize = 255;

/// The longest key state a metadata file holds, in bytes.
pub const MAX_KEY_STATE_LEN: usize = u16::MAX as usize;

/// The longest schema description a metadata file holds, encoded: 1 MiB.
pub const MAX_SCHEMA_LEN: usize = 1 << 20;

/// Length of the fixed fields and the checksum: a file without a table
/// name, a key state or a schema description.
const FIXED_LEN: usize = 8 + 4 + 4 + 4 + 8 + 2 + 8 + 8 + 8 + 2 + 4 + 4;

/// Length of the smallest file: an empty table name, an empty key state and
/// the description [`StoredSchema::default`].
pub const MIN_LEN: usize = FIXED_LEN + MIN_SCHEMA_LEN;

/// Length of a file whose table name, key state and schema description are
/// as long as they can be.
pub const MAX_LEN: usize = FIXED_LEN + MAX_TABLE_NAME_LEN + MAX_KEY_STATE_LEN + MAX_SCHEMA_LEN;

/// Bytes a reader needs to see the magic and the version.
const VERSION_END: usize = 12;

/// Length of the trailing checksum.
const CHECKSUM_LEN: usize = 4;

/// The contents of a table's metadata file.
///
/// The format version and the flags are not fields: version 2 with no flags
/// is the only file this build writes or accepts.
///
/// # Example
///
/// ```
/// use worktable_persist::format::ArchiveFormat;
/// use worktable_persist::meta::{Meta, StoredSchema, decode, encode};
///
/// let meta = Meta {
///     archive_format: ArchiveFormat::current(),
///     schema_fingerprint: 0x5eed,
///     table_name: "orders".to_owned(),
///     checkpoint_seq: 41,
///     page_file_generation: 3,
///     log_synced_through: 44,
///     key_state: 42u64.to_le_bytes().to_vec(),
///     schema: StoredSchema::default(),
/// };
/// let bytes = encode(&meta)?;
/// assert_eq!(&bytes[..8], b"WTMETA\0\0");
/// assert_eq!(decode(&bytes)?, meta);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// at most [`MAX_TABLE_NAME_LEN`] bytes of UTF-8. Kept to name the table
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
    /// The primary-key generator's state at the checkpoint, at most
    /// [`MAX_KEY_STATE_LEN`] bytes. Opaque to this codec: the generator
    /// encodes and decodes it.
    pub key_state: Vec<u8>,
    /// The readable description of the row type that wrote the files,
    /// decoded field by field; at most [`MAX_SCHEMA_LEN`] bytes encoded.
    pub schema: StoredSchema,
}

/// Encodes `meta` as the complete contents of a metadata file.
///
/// # Errors
///
/// In the order of the fields:
///
/// - [`EncodeError::TableNameTooLong`]: the name is longer than
///   [`MAX_TABLE_NAME_LEN`] bytes.
/// - [`EncodeError::KeyStateTooLong`]: the key state is longer than
///   [`MAX_KEY_STATE_LEN`] bytes.
/// - [`EncodeError::SchemaCountTooLarge`],
///   [`EncodeError::SchemaStringTooLong`]: a list of the schema description
///   has more than 65,535 entries, or a string more than 65,535 bytes.
/// - [`EncodeError::SchemaTooLong`]: the encoded description is longer than
///   [`MAX_SCHEMA_LEN`].
///
/// See [`Meta`] for an example.
pub fn encode(meta: &Meta) -> Result<Vec<u8>, EncodeError> {
    let name = meta.table_name.as_bytes();
    let name_len = u16::try_from(name.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_TABLE_NAME_LEN)
        .ok_or(EncodeError::TableNameTooLong { len: name.len() })?;
    let key_state = meta.key_state.as_slice();
    let key_state_len = u16::try_from(key_state.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_KEY_STATE_LEN)
        .ok_or(EncodeError::KeyStateTooLong {
            len: key_state.len(),
        })?;
    let mut schema = Vec::new();
    schema::encode(&meta.schema, &mut schema)?;
    let schema_len = u32::try_from(schema.len())
        .ok()
        .filter(|&len| len as usize <= MAX_SCHEMA_LEN)
        .ok_or(EncodeError::SchemaTooLong { len: schema.len() })?;
    let mut out = Vec::with_capacity(FIXED_LEN + name.len() + key_state.len() + schema.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&meta.archive_format.to_bytes());
    out.extend_from_slice(&meta.schema_fingerprint.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&meta.checkpoint_seq.to_le_bytes());
    out.extend_from_slice(&meta.page_file_generation.to_le_bytes());
    out.extend_from_slice(&meta.log_synced_through.to_le_bytes());
    out.extend_from_slice(&key_state_len.to_le_bytes());
    out.extend_from_slice(key_state);
    out.extend_from_slice(&schema_len.to_le_bytes());
    out.extend_from_slice(&schema);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes the complete contents of a metadata file.
///
/// The checks run in this order, and the first that fails is returned:
///
/// - [`DecodeError::TooShort`]: fewer than 12 bytes, too few to hold the
///   magic and the version.
/// - [`DecodeError::BadMagic`]: the first 8 bytes are not the metadata
///   magic (an all-zero file is reported this way too).
/// - [`DecodeError::UnsupportedVersion`]: the version is not 2 (a version 1
///   file is reported as written by an older format, which this build does
///   not convert). It is checked before anything else because the magic and
///   the version are the only fields every format version keeps in place.
/// - [`DecodeError::TooShort`]: fewer than [`MIN_LEN`] bytes.
/// - [`DecodeError::TooLong`]: more than [`MAX_LEN`] bytes.
/// - [`DecodeError::Checksum`]: the last 4 bytes are not the CRC32C of the
///   bytes before them. Damage, a torn write and a cut or extended file all
///   end up here.
/// - Then, in a file whose checksum verifies (one written that way), in the
///   order of the fields they concern: [`DecodeError::UnsupportedFlags`],
///   [`DecodeError::ArchiveFormat`], [`DecodeError::TableNameTooLong`],
///   [`DecodeError::FieldPastEnd`], [`DecodeError::TableNameNotUtf8`],
///   [`DecodeError::KeyStateTooLong`], [`DecodeError::SchemaTooLong`]; in
///   the schema description, [`DecodeError::SchemaFieldPastEnd`],
///   [`DecodeError::SchemaNotUtf8`], [`DecodeError::UnknownKeySource`],
///   [`DecodeError::UnexpectedGeneratorPath`],
///   [`DecodeError::UniqueFlagInvalid`] and
///   [`DecodeError::SchemaTrailingBytes`]; last,
///   [`DecodeError::TrailingBytes`].
///
/// The archive format is decoded, not compared with this build's: that is
/// the caller's decision. Nothing is allocated for a stored count or length
/// beyond what the bytes after it can hold. Never panics, whatever `bytes`
/// holds.
///
/// See [`Meta`] for an example.
pub fn decode(bytes: &[u8]) -> Result<Meta, DecodeError> {
    let len = bytes.len();
    let Some((magic, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(DecodeError::TooShort { len });
    };
    let Some((version, _)) = rest.split_first_chunk::<4>() else {
        return Err(DecodeError::TooShort { len });
    };
    if *magic != MAGIC {
        return Err(DecodeError::BadMagic { found: *magic });
    }
    let version = u32::from_le_bytes(*version);
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if len < MIN_LEN {
        return Err(DecodeError::TooShort { len });
    }
    if len > MAX_LEN {
        return Err(DecodeError::TooLong { len: len as u64 });
    }
    let Some((covered, stored)) = bytes.split_last_chunk::<CHECKSUM_LEN>() else {
        return Err(DecodeError::TooShort { len });
    };
    let stored = u32::from_le_bytes(*stored);
    let computed = crc32c::crc32c(covered);
    if stored != computed {
        return Err(DecodeError::Checksum {
            offset: covered.len(),
            stored,
            computed,
        });
    }

    let mut fields = Cursor {
        bytes: covered,
        offset: VERSION_END,
    };
    let flags = u32::from_le_bytes(fields.array(Field::Flags)?);
    if flags != 0 {
        return Err(DecodeError::UnsupportedFlags { flags });
    }
    let archive_format = ArchiveFormat::from_bytes(fields.array(Field::ArchiveFormat)?)
        .map_err(|fault| DecodeError::ArchiveFormat { fault })?;
    let schema_fingerprint = u64::from_le_bytes(fields.array(Field::SchemaFingerprint)?);
    let name_len = usize::from(u16::from_le_bytes(fields.array(Field::TableNameLen)?));
    if name_len > MAX_TABLE_NAME_LEN {
        return Err(DecodeError::TableNameTooLong { len: name_len });
    }
    let name_at = fields.offset;
    let name = fields.slice(Field::TableName, name_len)?;
    let table_name = match std::str::from_utf8(name) {
        Ok(name) => name.to_owned(),
        Err(err) => {
            return Err(DecodeError::TableNameNotUtf8 {
                offset: name_at + err.valid_up_to(),
            });
        }
    };
    let checkpoint_seq = u64::from_le_bytes(fields.array(Field::CheckpointSeq)?);
    let page_file_generation = u64::from_le_bytes(fields.array(Field::PageFileGeneration)?);
    let log_synced_through = u64::from_le_bytes(fields.array(Field::LogSyncedThrough)?);
    let key_state_len = usize::from(u16::from_le_bytes(fields.array(Field::KeyStateLen)?));
    if key_state_len > MAX_KEY_STATE_LEN {
        return Err(DecodeError::KeyStateTooLong { len: key_state_len });
    }
    let key_state = fields.slice(Field::KeyState, key_state_len)?.to_vec();
    let schema_len_at = fields.offset;
    let schema_len = u32::from_le_bytes(fields.array(Field::SchemaLen)?);
    if schema_len as usize > MAX_SCHEMA_LEN {
        return Err(DecodeError::SchemaTooLong {
            offset: schema_len_at,
            len: schema_len,
        });
    }
    let schema_at = fields.offset;
    let schema = schema::decode(fields.slice(Field::Schema, schema_len as usize)?, schema_at)?;
    if fields.offset != covered.len() {
        return Err(DecodeError::TrailingBytes {
            offset: fields.offset,
            checksum_at: covered.len(),
        });
    }
    Ok(Meta {
        archive_format,
        schema_fingerprint,
        table_name,
        checkpoint_seq,
        page_file_generation,
        log_synced_through,
        key_state,
        schema,
    })
}

/// Reads fields one after another from the bytes the checksum covers,
/// reporting a field that runs past them instead of panicking.
struct Cursor<'a> {
    /// The bytes before the checksum.
    bytes: &'a [u8],
    /// Offset of the next field, from the start of the file.
    offset: usize,
}

impl<'a> Cursor<'a> {
    /// The bytes from the next field on.
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.offset..).unwrap_or_default()
    }

    /// The error for field `field` of `len` bytes running past the checksum.
    fn past_end(&self, field: Field, len: usize) -> DecodeError {
        DecodeError::FieldPastEnd {
            field,
            offset: self.offset,
            len,
            checksum_at: self.bytes.len(),
        }
    }

    /// The next `len` bytes, as field `field`.
    fn slice(&mut self, field: Field, len: usize) -> Result<&'a [u8], DecodeError> {
        let Some(slice) = self.rest().get(..len) else {
            return Err(self.past_end(field, len));
        };
        self.offset += len;
        Ok(slice)
    }

    /// The next `N` bytes, as field `field`.
    fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], DecodeError> {
        let Some((head, _)) = self.rest().split_first_chunk::<N>() else {
            return Err(self.past_end(field, N));
        };
        self.offset += N;
        Ok(*head)
    }
}
