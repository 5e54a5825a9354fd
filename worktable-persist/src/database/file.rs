//! The database file, `db`: which database the directory holds (a 128-bit
//! id kept for its life), the checkpoint that covers every table at one
//! commit number, how far the shared log is known to be synced, and per
//! table (in slot order) its field name and its metadata — a complete
//! metadata file's bytes, as a table directory's `meta` holds them, so
//! that each table's schema, key state and manifest generation are
//! checked exactly as a table's own are.
//!
//! `magic | version: u32 | flags: u32 | archive_format: [u8; 4] | id:
//! [u8; 16] | checkpoint_seq: u64 | log_synced_through: u64 | table_count:
//! u16 | tables | crc: u32`, each table `field_len: u16 | field | meta_len:
//! u32 | meta`, the checksum being CRC32C of everything before it.
//! `docs/format.md` has the table of offsets.
//!
//! It is replaced whole, atomically (temporary file, sync, rename,
//! directory sync): the rename is the commit point of a checkpoint.

use std::io;
use std::path::Path;

use crate::codec::{ChecksumAt, FileFormat, Put, Reader};
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;
use crate::meta::{self, Meta};
use crate::vfs::Vfs;

/// The database file's name in a database directory.
pub(crate) const FILE_NAME: &str = "db";

/// The eight bytes every database file starts with.
pub(crate) const MAGIC: [u8; 8] = *b"WTDB\0\0\0\0";

/// Length of the fixed fields and the checksum.
const FIXED_LEN: usize = 8 + 4 + 4 + 4 + 16 + 8 + 8 + 2 + 4;

/// The longest database file: 64 MiB.
const MAX_LEN: usize = 64 << 20;

/// The database file's format, as the checks every file gets need it.
pub(crate) const FORMAT: FileFormat = FileFormat {
    file: FileKind::Database,
    magic: MAGIC,
    min_len: FIXED_LEN,
    max_len: MAX_LEN,
    min_len_first: false,
    checksum: ChecksumAt::End,
    known_flags: 0,
};

/// What is wrong with a database file whose checksum verifies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseFault {
    /// A field runs past the end of the fields (the checksum).
    #[error("database file: the field at offset {offset} runs past the checksum at {checksum_at}")]
    FieldPastEnd {
        /// Where the field starts.
        offset: usize,
        /// Where the checksum starts.
        checksum_at: usize,
    },
    /// A table's field name is not UTF-8.
    #[error("database file: the field name at offset {offset} is not UTF-8")]
    FieldNameNotUtf8 {
        /// Where the name starts.
        offset: usize,
    },
    /// The file lists no table.
    #[error("database file: it lists no table")]
    NoTables,
    /// A table's metadata is not a metadata file this build reads.
    #[error("database file: the metadata of table {slot} (at offset {offset}): {source}")]
    Table {
        /// The table's slot.
        slot: u16,
        /// Where its metadata starts.
        offset: usize,
        /// What is wrong with it.
        source: Box<FileError>,
    },
    /// A table's metadata disagrees with the database's checkpoint.
    #[error(
        "database file: the metadata of table {slot} names another checkpoint or sync mark \
         than the database's"
    )]
    TableDisagrees {
        /// The table's slot.
        slot: u16,
    },
    /// Bytes follow the last table.
    #[error("database file: {len} bytes follow the last table, at offset {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        len: usize,
    },
}

/// The contents of a database file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DbFile {
    /// The rkyv format of the rows in the database's files.
    pub(crate) archive_format: ArchiveFormat,
    /// The database's id, kept for its life.
    pub(crate) id: [u8; 16],
    /// Every change up to this number is in the tables' page files; the
    /// log is replayed from the next one.
    pub(crate) checkpoint_seq: u64,
    /// Every log record up to this number had been synced when the file
    /// was written.
    pub(crate) log_synced_through: u64,
    /// The tables, in slot order.
    pub(crate) tables: Vec<DbTable>,
}

/// One table of a database file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DbTable {
    /// The field of the database struct that holds the table.
    pub(crate) field: String,
    /// Its metadata (checkpoint and sync mark equal to the database's).
    pub(crate) meta: Meta,
}

/// Encodes `file` as the complete contents of a database file.
///
/// # Errors
///
/// A table's metadata cannot be encoded, or a field name is longer than
/// 65,535 bytes, or there are more than 65,535 tables.
pub(crate) fn encode(file: &DbFile) -> io::Result<Vec<u8>> {
    let invalid = |detail: String| io::Error::new(io::ErrorKind::InvalidInput, detail);
    let count = u16::try_from(file.tables.len())
        .map_err(|_| invalid(format!("{} tables", file.tables.len())))?;
    let mut tables = Vec::new();
    for table in &file.tables {
        let meta = Meta {
            checkpoint_seq: file.checkpoint_seq,
            log_synced_through: file.log_synced_through,
            archive_format: file.archive_format,
            ..table.meta.clone()
        };
        let meta = meta::encode(&meta).map_err(|error| invalid(error.to_string()))?;
        let name_len = u16::try_from(table.field.len())
            .map_err(|_| invalid(format!("field name of {} bytes", table.field.len())))?;
        tables.put_u16(name_len);
        tables.put(table.field.as_bytes());
        tables.put_u32(u32::try_from(meta.len()).map_err(|_| invalid("metadata".into()))?);
        tables.put(&meta);
    }
    let out = FORMAT.encode(Vec::with_capacity(FIXED_LEN + tables.len()), |out| {
        out.put(&file.archive_format.to_bytes());
        out.put(&file.id);
        out.put_u64(file.checkpoint_seq);
        out.put_u64(file.log_synced_through);
        out.put_u16(count);
        out.put(&tables);
    });
    if out.len() > MAX_LEN {
        return Err(invalid(format!("{} bytes", out.len())));
    }
    Ok(out)
}

/// Decodes the complete contents of a database file: the checks every
/// file gets, then the fields, each table's metadata decoded and checked
/// as a metadata file is. Never panics, whatever `bytes` holds.
///
/// # Errors
///
/// The [`FileError`] of the first check that fails.
pub(crate) fn decode(bytes: &[u8]) -> Result<DbFile, FileError> {
    let mut fields = FORMAT.check(bytes)?.fields;
    let archive_format = FORMAT.archive_format(&mut fields)?;
    let fault = FileError::Database;
    let past_end = |fields: &Reader<'_>| {
        fault(DatabaseFault::FieldPastEnd {
            offset: fields.offset(),
            checksum_at: fields.end(),
        })
    };
    if fields.remaining() < 16 + 8 + 8 + 2 {
        return Err(past_end(&fields));
    }
    let id = fields.array::<16>();
    let checkpoint_seq = fields.u64();
    let log_synced_through = fields.u64();
    let count = fields.u16();
    if count == 0 {
        return Err(fault(DatabaseFault::NoTables));
    }
    let mut tables = Vec::with_capacity(usize::from(count).min(fields.remaining() / 6));
    for slot in 0..count {
        if fields.remaining() < 2 {
            return Err(past_end(&fields));
        }
        let name_len = usize::from(fields.u16());
        let name_at = fields.offset();
        let name = fields.bytes(name_len).ok_or_else(|| past_end(&fields))?;
        let field = std::str::from_utf8(name)
            .map_err(|_| fault(DatabaseFault::FieldNameNotUtf8 { offset: name_at }))?
            .to_owned();
        if fields.remaining() < 4 {
            return Err(past_end(&fields));
        }
        let meta_len = fields.u32() as usize;
        let meta_at = fields.offset();
        let meta_bytes = fields.bytes(meta_len).ok_or_else(|| past_end(&fields))?;
        let meta = meta::decode_bytes(meta_bytes).map_err(|source| {
            fault(DatabaseFault::Table {
                slot,
                offset: meta_at,
                source: Box::new(source),
            })
        })?;
        if meta.checkpoint_seq != checkpoint_seq
            || meta.log_synced_through != log_synced_through
            || meta.archive_format != archive_format
        {
            return Err(fault(DatabaseFault::TableDisagrees { slot }));
        }
        tables.push(DbTable { field, meta });
    }
    if fields.remaining() != 0 {
        return Err(fault(DatabaseFault::TrailingBytes {
            offset: fields.offset(),
            len: fields.remaining(),
        }));
    }
    Ok(DbFile {
        archive_format,
        id,
        checkpoint_seq,
        log_synced_through,
        tables,
    })
}

/// Reads and decodes the database file of `dir`; `Ok(None)` if there is
/// none.
///
/// # Errors
///
/// `Err(Ok(io error))` when it cannot be read, `Err(Err(decode error))`
/// when its bytes are not a database file this build reads.
pub(crate) fn read(vfs: &dyn Vfs, dir: &Path) -> Result<Option<DbFile>, ReadError> {
    let path = dir.join(FILE_NAME);
    let bytes = match vfs.read(&path) {
        Ok(bytes) => bytes,
        Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ReadError::Io(source)),
    };
    decode(&bytes).map(Some).map_err(ReadError::Decode)
}

/// Why [`read`] failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file could not be read.
    Io(io::Error),
    /// Its bytes are not a database file this build reads.
    Decode(FileError),
}

/// Replaces the database file of `dir` with `file`, atomically.
///
/// # Errors
///
/// The file cannot be encoded, or a step of the replacement failed (the
/// rename may have happened nonetheless).
pub(crate) fn write(vfs: &dyn Vfs, dir: &Path, file: &DbFile) -> io::Result<()> {
    let bytes = encode(file)?;
    meta::write_atomically(vfs, dir, FILE_NAME, &bytes)
}

/// A new database id: 128 bits from the process's random hasher keys, the
/// clock and the process id.
pub(crate) fn new_id() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let mut id = [0u8; 16];
    for (half, chunk) in id.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        hasher.write_usize(half);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::StoredSchema;

    fn sample() -> DbFile {
        let meta = |name: &str| Meta {
            archive_format: ArchiveFormat::current(),
            schema_fingerprint: 7,
            table_name: name.to_owned(),
            checkpoint_seq: 12,
            page_file_generation: 3,
            log_synced_through: 15,
            largest_deleted_key: vec![1, 2],
            schema: StoredSchema::default(),
        };
        DbFile {
            archive_format: ArchiveFormat::current(),
            id: new_id(),
            checkpoint_seq: 12,
            log_synced_through: 15,
            tables: vec![
                DbTable {
                    field: "accounts".into(),
                    meta: meta("account"),
                },
                DbTable {
                    field: "ledger".into(),
                    meta: meta("entry"),
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let file = sample();
        assert_eq!(decode(&encode(&file).unwrap()), Ok(file));
    }

    #[test]
    fn ids_differ() {
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused() {
        let bytes = encode(&sample()).unwrap();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "cut at {len}");
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert!(decode(&damaged).is_err(), "byte {at} flipped");
        }
    }

    #[test]
    fn a_table_disagreeing_with_the_checkpoint_is_refused() {
        let file = sample();
        let mut tables = Vec::new();
        for (slot, table) in file.tables.iter().enumerate() {
            let seq = if slot == 1 { 11 } else { file.checkpoint_seq };
            let meta = meta::encode(&Meta {
                checkpoint_seq: seq,
                ..table.meta.clone()
            })
            .unwrap();
            tables.put_u16(table.field.len() as u16);
            tables.put(table.field.as_bytes());
            tables.put_u32(meta.len() as u32);
            tables.put(&meta);
        }
        let bytes = FORMAT.encode(Vec::new(), |out| {
            out.put(&file.archive_format.to_bytes());
            out.put(&file.id);
            out.put_u64(file.checkpoint_seq);
            out.put_u64(file.log_synced_through);
            out.put_u16(2);
            out.put(&tables);
        });
        assert_eq!(
            decode(&bytes),
            Err(FileError::Database(DatabaseFault::TableDisagrees {
                slot: 1
            }))
        );
    }
}
