//! [`StoredSchema`]: the readable description of the row type that wrote a
//! table's files, and its encoding inside the metadata file's `schema`
//! field.
//!
//! `schema_version: u32 | field_count: u16 | field_count × (name: str |
//! type: str) | pk_count: u16 | pk_count × name: str | key_source: u8 |
//! generator_path: str | index_count: u16 | index_count × (name: str |
//! unique: u8 | field_count: u16 | field_count × name: str)`, where `str`
//! is a `u16` length and that many bytes of UTF-8. `docs/format.md` has
//! the table.

use super::error::{DecodeError, EncodeError, Field};

/// Length of the encoding of [`StoredSchema::default`]: the version, the
/// three counts, the key source and an empty generator path.
pub(super) const MIN_SCHEMA_LEN: usize = 4 + 2 + 2 + 1 + 2 + 2;

/// The description of the row type that wrote a table's files: its fields
/// and their types, its primary key, where its keys come from, and its
/// indexes, as names and type names a person (or a later build) can read.
///
/// Kept in the metadata file ([`Meta::schema`](super::Meta::schema)) and
/// decoded with it, field by field. The codec checks the encoding (lengths,
/// UTF-8, the codes); it does not check that the names refer to one
/// another, nor compare the description with a row type: that is the
/// caller's.
///
/// # Example
///
/// ```
/// use worktable_persist::format::ArchiveFormat;
/// use worktable_persist::meta::{
///     Meta, StoredField, StoredIndex, StoredKeySource, StoredSchema, decode, encode,
/// };
///
/// let schema = StoredSchema {
///     version: 1,
///     fields: vec![
///         StoredField { name: "id".into(), ty: "u64".into() },
///         StoredField { name: "owner".into(), ty: "String".into() },
///     ],
///     pk: vec!["id".into()],
///     key_source: StoredKeySource::AutoIncrement,
///     indexes: vec![StoredIndex {
///         name: "by_owner".into(),
///         fields: vec!["owner".into()],
///         unique: true,
///     }],
/// };
/// let meta = Meta {
///     archive_format: ArchiveFormat::current(),
///     schema_fingerprint: 0x5eed,
///     table_name: "accounts".to_owned(),
///     checkpoint_seq: 0,
///     page_file_generation: 0,
///     log_synced_through: 0,
///     key_state: Vec::new(),
///     schema: schema.clone(),
/// };
/// assert_eq!(decode(&encode(&meta)?)?.schema, schema);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StoredSchema {
    /// The version of the description's contents, as its writer numbers
    /// them.
    pub version: u32,
    /// The row's fields, in declaration order.
    pub fields: Vec<StoredField>,
    /// The names of the primary key's fields, in key order.
    pub pk: Vec<String>,
    /// Where primary keys come from.
    pub key_source: StoredKeySource,
    /// The secondary indexes.
    pub indexes: Vec<StoredIndex>,
}

/// A field of the row type: its name and its type, as written in the
/// source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StoredField {
    /// The field's name.
    pub name: String,
    /// The field's type, as written in the source (`u64`, `Option<String>`).
    pub ty: String,
}

/// Where the primary keys of a table come from. Stored as a code: 0, 1 or
/// 2.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum StoredKeySource {
    /// The caller supplies every key. Code 0.
    #[default]
    Caller,
    /// The table counts keys up from the largest one it has seen. Code 1.
    AutoIncrement,
    /// A key generator, named by its path in the source. Code 2.
    Generator(String),
}

/// A secondary index: its name, the fields it covers, and whether it is
/// unique.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StoredIndex {
    /// The index's name.
    pub name: String,
    /// The names of the fields it covers, in key order.
    pub fields: Vec<String>,
    /// Whether two rows may not share a key of this index. Stored as 1 (or
    /// 0 when not unique).
    pub unique: bool,
}

/// Appends the encoding of `schema` to `out`.
///
/// # Errors
///
/// [`EncodeError::SchemaCountTooLarge`] for a list of more than 65,535
/// entries and [`EncodeError::SchemaStringTooLong`] for a string of more than
/// 65,535 bytes, the first in encoding order. `out` may hold part of the
/// encoding then.
pub(super) fn encode(schema: &StoredSchema, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.extend_from_slice(&schema.version.to_le_bytes());
    put_count(out, Field::SchemaFieldCount, schema.fields.len())?;
    for (field, stored) in (0u16..).zip(&schema.fields) {
        put_str(out, Field::SchemaFieldName { field }, &stored.name)?;
        put_str(out, Field::SchemaFieldType { field }, &stored.ty)?;
    }
    put_count(out, Field::PkCount, schema.pk.len())?;
    for (pk, name) in (0u16..).zip(&schema.pk) {
        put_str(out, Field::PkField { pk }, name)?;
    }
    let (code, path) = match &schema.key_source {
        StoredKeySource::Caller => (0u8, ""),
        StoredKeySource::AutoIncrement => (1, ""),
        StoredKeySource::Generator(path) => (2, path.as_str()),
    };
    out.push(code);
    put_str(out, Field::GeneratorPath, path)?;
    put_count(out, Field::IndexCount, schema.indexes.len())?;
    for (index, stored) in (0u16..).zip(&schema.indexes) {
        put_str(out, Field::IndexName { index }, &stored.name)?;
        out.push(u8::from(stored.unique));
        put_count(out, Field::IndexFieldCount { index }, stored.fields.len())?;
        for (field, name) in (0u16..).zip(&stored.fields) {
            put_str(out, Field::IndexField { index, field }, name)?;
        }
    }
    Ok(())
}

/// Appends a list's count.
fn put_count(out: &mut Vec<u8>, field: Field, count: usize) -> Result<(), EncodeError> {
    let stored =
        u16::try_from(count).map_err(|_| EncodeError::SchemaCountTooLarge { field, count })?;
    out.extend_from_slice(&stored.to_le_bytes());
    Ok(())
}

/// Appends a string: its `u16` length, then its bytes.
fn put_str(out: &mut Vec<u8>, field: Field, value: &str) -> Result<(), EncodeError> {
    let len = u16::try_from(value.len()).map_err(|_| EncodeError::SchemaStringTooLong {
        field,
        len: value.len(),
    })?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

/// Decodes the schema field's bytes, which start at byte offset `at` in the
/// file (errors name offsets in the file).
///
/// Checks, in the order of the bytes: every count and string fits in
/// `bytes`; every string is UTF-8; the key source is 0, 1 or 2, and only 2
/// has a generator path; every unique flag is 0 or 1; nothing follows the
/// last index. No list is allocated for more entries than the bytes left
/// can hold.
pub(super) fn decode(bytes: &[u8], at: usize) -> Result<StoredSchema, DecodeError> {
    let mut reader = Reader { bytes, at, pos: 0 };
    let version = u32::from_le_bytes(reader.array(Field::SchemaVersion)?);

    let count = reader.count(Field::SchemaFieldCount)?;
    // Each field takes at least its two string lengths.
    let mut fields = Vec::with_capacity(count.min(reader.left() / 4));
    for field in 0..count {
        let field = position(field);
        fields.push(StoredField {
            name: reader.str(Field::SchemaFieldName { field })?,
            ty: reader.str(Field::SchemaFieldType { field })?,
        });
    }

    let count = reader.count(Field::PkCount)?;
    let mut pk = Vec::with_capacity(count.min(reader.left() / 2));
    for field in 0..count {
        pk.push(reader.str(Field::PkField {
            pk: position(field),
        })?);
    }

    let code_at = reader.offset();
    let [code] = reader.array(Field::KeySource)?;
    if code > 2 {
        return Err(DecodeError::UnknownKeySource {
            code,
            offset: code_at,
        });
    }
    let path = reader.str(Field::GeneratorPath)?;
    let key_source = match code {
        2 => StoredKeySource::Generator(path),
        _ if !path.is_empty() => {
            return Err(DecodeError::UnexpectedGeneratorPath {
                code,
                offset: reader.offset() - path.len(),
                len: path.len(),
            });
        }
        0 => StoredKeySource::Caller,
        _ => StoredKeySource::AutoIncrement,
    };

    let count = reader.count(Field::IndexCount)?;
    // Each index takes at least its name's length, its flag and its count.
    let mut indexes = Vec::with_capacity(count.min(reader.left() / 5));
    for index in 0..count {
        let index = position(index);
        let name = reader.str(Field::IndexName { index })?;
        let flag_at = reader.offset();
        let unique = match reader.array(Field::IndexUnique { index })? {
            [0] => false,
            [1] => true,
            [value] => {
                return Err(DecodeError::UniqueFlagInvalid {
                    index,
                    value,
                    offset: flag_at,
                });
            }
        };
        let count = reader.count(Field::IndexFieldCount { index })?;
        let mut fields = Vec::with_capacity(count.min(reader.left() / 2));
        for field in 0..count {
            fields.push(reader.str(Field::IndexField {
                index,
                field: position(field),
            })?);
        }
        indexes.push(StoredIndex {
            name,
            fields,
            unique,
        });
    }

    if reader.pos != bytes.len() {
        return Err(DecodeError::SchemaTrailingBytes {
            offset: reader.offset(),
            schema_end: reader.end(),
        });
    }
    Ok(StoredSchema {
        version,
        fields,
        pk,
        key_source,
        indexes,
    })
}

/// The position `i` of an entry in a list whose count is a `u16`.
fn position(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

/// Reads the schema's fields one after another, reporting one that runs
/// past the schema's end instead of panicking.
struct Reader<'a> {
    /// The schema field's bytes.
    bytes: &'a [u8],
    /// Offset of `bytes` in the file.
    at: usize,
    /// Offset of the next field in `bytes`.
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Offset of the next field in the file.
    fn offset(&self) -> usize {
        self.at + self.pos
    }

    /// Offset of the schema's end in the file.
    fn end(&self) -> usize {
        self.at + self.bytes.len()
    }

    /// Bytes left after the next field's start.
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `len` bytes, as field `field`.
    fn slice(&mut self, field: Field, len: usize) -> Result<&'a [u8], DecodeError> {
        let Some(slice) = self.bytes.get(self.pos..).and_then(|rest| rest.get(..len)) else {
            return Err(DecodeError::SchemaFieldPastEnd {
                field,
                offset: self.offset(),
                len,
                schema_end: self.end(),
            });
        };
        self.pos += len;
        Ok(slice)
    }

    /// The next `N` bytes, as field `field`.
    fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], DecodeError> {
        let slice = self.slice(field, N)?;
        Ok(slice.first_chunk::<N>().copied().unwrap_or([0; N]))
    }

    /// A list's `u16` count.
    fn count(&mut self, field: Field) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_le_bytes(self.array(field)?)))
    }

    /// A string: its `u16` length, then that many bytes of UTF-8.
    fn str(&mut self, field: Field) -> Result<String, DecodeError> {
        let len = usize::from(u16::from_le_bytes(self.array(field)?));
        let start = self.offset();
        let bytes = self.slice(field, len)?;
        match std::str::from_utf8(bytes) {
            Ok(value) => Ok(value.to_owned()),
            Err(err) => Err(DecodeError::SchemaNotUtf8 {
                field,
                offset: start + err.valid_up_to(),
            }),
        }
    }
}
