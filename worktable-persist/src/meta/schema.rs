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

use super::error::{MetadataEncodeError, MetadataFault, MetadataField};
use super::fields::Fields;
use crate::codec::Put;
use crate::file_error::FileError;

/// Length of the encoding of [`StoredSchema::default`]: the version, the
/// three counts, the key source and an empty generator path.
pub(super) const MIN_SCHEMA_LEN: usize = 4 + 2 + 2 + 1 + 2 + 2;

/// The description of the row type that wrote a table's files: its fields
/// and their types, its primary key, where its keys come from, and its
/// indexes, as names and type names a person (or a later build) can read.
///
/// Kept in the metadata file (its `schema` field, `docs/format.md`) and
/// decoded with it, field by field. The codec checks the encoding (lengths,
/// UTF-8, the codes); it does not check that the names refer to one
/// another, nor compare the description with a row type: that is the
/// caller's.
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
/// [`MetadataEncodeError::SchemaCountTooLarge`] for a list of more than
/// 65,535 entries and [`MetadataEncodeError::SchemaStringTooLong`] for a
/// string of more than 65,535 bytes, the first in encoding order. `out` may
/// hold part of the encoding then.
pub(super) fn encode(schema: &StoredSchema, out: &mut Vec<u8>) -> Result<(), MetadataEncodeError> {
    out.put_u32(schema.version);
    put_count(out, MetadataField::SchemaFieldCount, schema.fields.len())?;
    for (field, stored) in (0u16..).zip(&schema.fields) {
        put_str(out, MetadataField::SchemaFieldName { field }, &stored.name)?;
        put_str(out, MetadataField::SchemaFieldType { field }, &stored.ty)?;
    }
    put_count(out, MetadataField::PkCount, schema.pk.len())?;
    for (pk, name) in (0u16..).zip(&schema.pk) {
        put_str(out, MetadataField::PkField { pk }, name)?;
    }
    let (code, path) = match &schema.key_source {
        StoredKeySource::Caller => (0u8, ""),
        StoredKeySource::AutoIncrement => (1, ""),
        StoredKeySource::Generator(path) => (2, path.as_str()),
    };
    out.put_u8(code);
    put_str(out, MetadataField::GeneratorPath, path)?;
    put_count(out, MetadataField::IndexCount, schema.indexes.len())?;
    for (index, stored) in (0u16..).zip(&schema.indexes) {
        put_str(out, MetadataField::IndexName { index }, &stored.name)?;
        out.put_u8(u8::from(stored.unique));
        put_count(
            out,
            MetadataField::IndexFieldCount { index },
            stored.fields.len(),
        )?;
        for (field, name) in (0u16..).zip(&stored.fields) {
            put_str(out, MetadataField::IndexField { index, field }, name)?;
        }
    }
    Ok(())
}

/// Appends a list's count.
fn put_count(
    out: &mut Vec<u8>,
    field: MetadataField,
    count: usize,
) -> Result<(), MetadataEncodeError> {
    let stored = u16::try_from(count)
        .map_err(|_| MetadataEncodeError::SchemaCountTooLarge { field, count })?;
    out.put_u16(stored);
    Ok(())
}

/// Appends a string: its `u16` length, then its bytes.
fn put_str(
    out: &mut Vec<u8>,
    field: MetadataField,
    value: &str,
) -> Result<(), MetadataEncodeError> {
    let len = u16::try_from(value.len()).map_err(|_| MetadataEncodeError::SchemaStringTooLong {
        field,
        len: value.len(),
    })?;
    out.put_u16(len);
    out.put(value.as_bytes());
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
pub(super) fn decode(bytes: &[u8], at: usize) -> Result<StoredSchema, FileError> {
    let mut fields = Fields::schema(bytes, at);
    let version = fields.u32(MetadataField::SchemaVersion)?;
    let row_fields = decode_row_fields(&mut fields)?;
    let pk = decode_pk(&mut fields)?;
    let key_source = decode_key_source(&mut fields)?;
    let indexes = decode_indexes(&mut fields)?;
    if fields.remaining() != 0 {
        return Err(FileError::Metadata(MetadataFault::SchemaTrailingBytes {
            offset: fields.offset(),
            schema_end: fields.end(),
        }));
    }
    Ok(StoredSchema {
        version,
        fields: row_fields,
        pk,
        key_source,
        indexes,
    })
}

/// The row's fields: a count, then each field's name and type.
fn decode_row_fields(fields: &mut Fields<'_>) -> Result<Vec<StoredField>, FileError> {
    let count = usize::from(fields.u16(MetadataField::SchemaFieldCount)?);
    // Each field takes at least its two string lengths.
    let mut row_fields = Vec::with_capacity(count.min(fields.remaining() / 4));
    for field in 0..count {
        let field = position(field);
        row_fields.push(StoredField {
            name: fields.str(MetadataField::SchemaFieldName { field })?,
            ty: fields.str(MetadataField::SchemaFieldType { field })?,
        });
    }
    Ok(row_fields)
}

/// The primary key: a count, then each key field's name.
fn decode_pk(fields: &mut Fields<'_>) -> Result<Vec<String>, FileError> {
    let count = usize::from(fields.u16(MetadataField::PkCount)?);
    let mut pk = Vec::with_capacity(count.min(fields.remaining() / 2));
    for field in 0..count {
        pk.push(fields.str(MetadataField::PkField {
            pk: position(field),
        })?);
    }
    Ok(pk)
}

/// The key source: its code, then the generator path (empty unless the
/// code is 2).
fn decode_key_source(fields: &mut Fields<'_>) -> Result<StoredKeySource, FileError> {
    let code_at = fields.offset();
    let code = fields.u8(MetadataField::KeySource)?;
    if code > 2 {
        return Err(FileError::Metadata(MetadataFault::UnknownKeySource {
            code,
            offset: code_at,
        }));
    }
    let path = fields.str(MetadataField::GeneratorPath)?;
    Ok(match code {
        2 => StoredKeySource::Generator(path),
        _ if !path.is_empty() => {
            return Err(FileError::Metadata(
                MetadataFault::UnexpectedGeneratorPath {
                    code,
                    offset: fields.offset() - path.len(),
                    len: path.len(),
                },
            ));
        }
        0 => StoredKeySource::Caller,
        _ => StoredKeySource::AutoIncrement,
    })
}

/// The indexes: a count, then each index's name, unique flag and fields.
fn decode_indexes(fields: &mut Fields<'_>) -> Result<Vec<StoredIndex>, FileError> {
    let count = usize::from(fields.u16(MetadataField::IndexCount)?);
    // Each index takes at least its name's length, its flag and its count.
    let mut indexes = Vec::with_capacity(count.min(fields.remaining() / 5));
    for index in 0..count {
        indexes.push(decode_index(fields, position(index))?);
    }
    Ok(indexes)
}

/// Index `index`: its name, its unique flag, then a count and the names of
/// the fields it covers.
fn decode_index(fields: &mut Fields<'_>, index: u16) -> Result<StoredIndex, FileError> {
    let name = fields.str(MetadataField::IndexName { index })?;
    let flag_at = fields.offset();
    let unique = match fields.u8(MetadataField::IndexUnique { index })? {
        0 => false,
        1 => true,
        value => {
            return Err(FileError::Metadata(MetadataFault::UniqueFlagInvalid {
                index,
                value,
                offset: flag_at,
            }));
        }
    };
    let count = usize::from(fields.u16(MetadataField::IndexFieldCount { index })?);
    let mut names = Vec::with_capacity(count.min(fields.remaining() / 2));
    for field in 0..count {
        names.push(fields.str(MetadataField::IndexField {
            index,
            field: position(field),
        })?);
    }
    Ok(StoredIndex {
        name,
        fields: names,
        unique,
    })
}

/// The position `i` of an entry in a list whose count is a `u16`.
fn position(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}
