//! Reading the metadata file's fields, and the schema description's, one
//! after another: a field that runs past the end of the bytes is reported
//! with its name and its offset in the file.

use super::error::{MetadataFault, MetadataField};
use crate::codec::Reader;
use crate::file_error::FileError;

/// Where the fields being read end, for the error of one that runs past.
#[derive(Clone, Copy, Debug)]
enum Within {
    /// The file's fields, which end at the checksum.
    File,
    /// The schema description, inside the file's `schema` field.
    Schema,
}

/// Reads the fields of the metadata file (or of its schema description).
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields<'a> {
    /// The bytes left to read, and their offset in the file.
    reader: Reader<'a>,
    /// What the bytes are.
    within: Within,
}

impl<'a> Fields<'a> {
    /// The file's fields, from `reader` on: they end at the checksum.
    pub(super) fn file(reader: Reader<'a>) -> Self {
        Self {
            reader,
            within: Within::File,
        }
    }

    /// The schema description `bytes`, which start at offset `at` in the
    /// file.
    pub(super) fn schema(bytes: &'a [u8], at: usize) -> Self {
        Self {
            reader: Reader::at(bytes, at),
            within: Within::Schema,
        }
    }

    /// Offset of the next field in the file.
    pub(super) fn offset(&self) -> usize {
        self.reader.offset()
    }

    /// Offset in the file where the fields end.
    pub(super) fn end(&self) -> usize {
        self.reader.end()
    }

    /// Bytes left from the next field on.
    pub(super) fn remaining(&self) -> usize {
        self.reader.remaining()
    }

    /// The next `len` bytes, as field `field`.
    pub(super) fn slice(
        &mut self,
        field: MetadataField,
        len: usize,
    ) -> Result<&'a [u8], FileError> {
        match self.reader.bytes(len) {
            Some(slice) => Ok(slice),
            None => Err(self.past_end(field, len)),
        }
    }

    /// The next byte, as field `field`.
    pub(super) fn u8(&mut self, field: MetadataField) -> Result<u8, FileError> {
        self.fixed(field, 1, Reader::u8)
    }

    /// The next little-endian `u16`, as field `field`.
    pub(super) fn u16(&mut self, field: MetadataField) -> Result<u16, FileError> {
        self.fixed(field, 2, Reader::u16)
    }

    /// The next little-endian `u32`, as field `field`.
    pub(super) fn u32(&mut self, field: MetadataField) -> Result<u32, FileError> {
        self.fixed(field, 4, Reader::u32)
    }

    /// The next little-endian `u64`, as field `field`.
    pub(super) fn u64(&mut self, field: MetadataField) -> Result<u64, FileError> {
        self.fixed(field, 8, Reader::u64)
    }

    /// A string: its `u16` length, then that many bytes of UTF-8.
    pub(super) fn str(&mut self, field: MetadataField) -> Result<String, FileError> {
        let len = usize::from(self.u16(field)?);
        let start = self.offset();
        let bytes = self.slice(field, len)?;
        match std::str::from_utf8(bytes) {
            Ok(value) => Ok(value.to_owned()),
            Err(err) => Err(FileError::Metadata(MetadataFault::SchemaNotUtf8 {
                field,
                offset: start + err.valid_up_to(),
            })),
        }
    }

    /// Field `field`, `len` bytes read by `read`, if they are left.
    fn fixed<T>(
        &mut self,
        field: MetadataField,
        len: usize,
        read: fn(&mut Reader<'a>) -> T,
    ) -> Result<T, FileError> {
        if self.reader.remaining() < len {
            return Err(self.past_end(field, len));
        }
        Ok(read(&mut self.reader))
    }

    /// The error of field `field`, `len` bytes from the next offset on,
    /// running past the end of the fields.
    fn past_end(&self, field: MetadataField, len: usize) -> FileError {
        let offset = self.offset();
        FileError::Metadata(match self.within {
            Within::File => MetadataFault::FieldPastEnd {
                field,
                offset,
                len,
                checksum_at: self.end(),
            },
            Within::Schema => MetadataFault::SchemaFieldPastEnd {
                field,
                offset,
                len,
                schema_end: self.end(),
            },
        })
    }
}
