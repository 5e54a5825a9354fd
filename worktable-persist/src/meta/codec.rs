//! The metadata file's bytes: encoding, and the checks a stored file must
//! pass.
//!
//! A file is `magic | version: u32 | flags: u32 | schema_fingerprint: u64 |
//! name_len: u16 | name | checkpoint_seq: u64 | page_file_generation: u64 |
//! next_key_len: u16 | next_key | crc: u32`, the checksum being CRC32C of
//! everything before it. `docs/format.md` has the table of offsets.

use super::error::{DecodeError, EncodeError, Field};

/// The eight bytes every metadata file starts with.
pub const MAGIC: [u8; 8] = *b"WTMETA\0\0";

/// The metadata format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The longest table name a metadata file holds, in UTF-8 bytes.
pub const MAX_TABLE_NAME_LEN: usize = 255;

/// The longest next-key state a metadata file holds, in bytes.
pub const MAX_NEXT_KEY_LEN: usize = u16::MAX as usize;

/// Length of a file with an empty table name and an empty next-key state:
/// the fixed fields and the checksum.
pub const MIN_LEN: usize = 8 + 4 + 4 + 8 + 2 + 8 + 8 + 2 + 4;

/// Length of a file whose table name and next-key state are as long as they
/// can be.
pub const MAX_LEN: usize = MIN_LEN + MAX_TABLE_NAME_LEN + MAX_NEXT_KEY_LEN;

/// Bytes a reader needs to see the magic and the version.
const VERSION_END: usize = 12;

/// Length of the trailing checksum.
const CHECKSUM_LEN: usize = 4;

/// The contents of a table's metadata file.
///
/// The format version and the flags are not fields: version 1 with no flags
/// is the only file this build writes or accepts.
///
/// # Example
///
/// ```
/// use worktable_persist::meta::{Meta, decode, encode};
///
/// let meta = Meta {
///     schema_fingerprint: 0x5eed,
///     table_name: "orders".to_owned(),
///     checkpoint_seq: 41,
///     page_file_generation: 3,
///     next_key: 42u64.to_le_bytes().to_vec(),
/// };
/// let bytes = encode(&meta)?;
/// assert_eq!(&bytes[..8], b"WTMETA\0\0");
/// assert_eq!(decode(&bytes)?, meta);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
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
    /// The primary-key generator's state at the checkpoint, at most
    /// [`MAX_NEXT_KEY_LEN`] bytes. Opaque to this codec: the generator
    /// encodes and decodes it.
    pub next_key: Vec<u8>,
}

/// Encodes `meta` as the complete contents of a metadata file.
///
/// # Errors
///
/// - [`EncodeError::TableNameTooLong`]: the name is longer than
///   [`MAX_TABLE_NAME_LEN`] bytes.
/// - [`EncodeError::NextKeyTooLong`]: the next-key state is longer than
///   [`MAX_NEXT_KEY_LEN`] bytes.
///
/// See [`Meta`] for an example.
pub fn encode(meta: &Meta) -> Result<Vec<u8>, EncodeError> {
    let name = meta.table_name.as_bytes();
    let name_len = u16::try_from(name.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_TABLE_NAME_LEN)
        .ok_or(EncodeError::TableNameTooLong { len: name.len() })?;
    let next_key = meta.next_key.as_slice();
    let next_key_len = u16::try_from(next_key.len())
        .ok()
        .filter(|&len| usize::from(len) <= MAX_NEXT_KEY_LEN)
        .ok_or(EncodeError::NextKeyTooLong {
            len: next_key.len(),
        })?;
    let mut out = Vec::with_capacity(MIN_LEN + name.len() + next_key.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&meta.schema_fingerprint.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&meta.checkpoint_seq.to_le_bytes());
    out.extend_from_slice(&meta.page_file_generation.to_le_bytes());
    out.extend_from_slice(&next_key_len.to_le_bytes());
    out.extend_from_slice(next_key);
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
/// - [`DecodeError::UnsupportedVersion`]: the version is not 1. It is
///   checked before anything else because the magic and the version are the
///   only fields every format version keeps in place.
/// - [`DecodeError::TooShort`]: fewer than [`MIN_LEN`] bytes.
/// - [`DecodeError::TooLong`]: more than [`MAX_LEN`] bytes.
/// - [`DecodeError::Checksum`]: the last 4 bytes are not the CRC32C of the
///   bytes before them. Damage, a torn write and a cut or extended file all
///   end up here.
/// - Then, in a file whose checksum verifies (one written that way):
///   [`DecodeError::UnsupportedFlags`], [`DecodeError::TableNameTooLong`],
///   [`DecodeError::NextKeyTooLong`], [`DecodeError::FieldPastEnd`],
///   [`DecodeError::TableNameNotUtf8`] and [`DecodeError::TrailingBytes`],
///   in the order of the fields they concern.
///
/// Never panics, whatever `bytes` holds.
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
    let next_key_len = usize::from(u16::from_le_bytes(fields.array(Field::NextKeyLen)?));
    if next_key_len > MAX_NEXT_KEY_LEN {
        return Err(DecodeError::NextKeyTooLong { len: next_key_len });
    }
    let next_key = fields.slice(Field::NextKey, next_key_len)?.to_vec();
    if fields.offset != covered.len() {
        return Err(DecodeError::TrailingBytes {
            offset: fields.offset,
            checksum_at: covered.len(),
        });
    }
    Ok(Meta {
        schema_fingerprint,
        table_name,
        checkpoint_seq,
        page_file_generation,
        next_key,
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
