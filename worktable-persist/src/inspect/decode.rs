//! Reading a row's archived bytes field by field, by the schema
//! description alone: [`RowShape`] and [`DecodeError`].
//!
//! Every read is bounds-checked and every value validated as rkyv's own
//! check would (a `bool` is 0 or 1, a `char` a scalar value, text UTF-8,
//! an `Option` tag 0 or 1, relative pointers inside the bytes and aligned),
//! so damaged bytes give an error, never a panic or a wrong-length read.

use std::fmt;

use super::shape::{Layout, Shape, UnknownType, align_up, offset_width, struct_layout};
use super::value::Value;
use crate::format::{ArchiveFormat, Endianness};
use crate::meta::StoredSchema;

/// Why a row's bytes do not read as its schema describes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A value at `offset` of `len` bytes runs past the row's end.
    OutOfBounds {
        /// Byte offset of the value in the row.
        offset: usize,
        /// Its length.
        len: usize,
    },
    /// A relative pointer at `offset` points before the row or at a
    /// misaligned place.
    BadPointer {
        /// Byte offset of the pointer in the row.
        offset: usize,
    },
    /// A `bool` byte other than 0 or 1.
    BadBool {
        /// Byte offset in the row.
        offset: usize,
    },
    /// A `char` that is not a Unicode scalar value.
    BadChar {
        /// Byte offset in the row.
        offset: usize,
    },
    /// An `Option` tag other than 0 or 1.
    BadTag {
        /// Byte offset in the row.
        offset: usize,
    },
    /// Text that is not UTF-8.
    BadText {
        /// Byte offset of the text in the row.
        offset: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::OutOfBounds { offset, len } => {
                write!(f, "{len} bytes at offset {offset} run past the row's end")
            }
            DecodeError::BadPointer { offset } => {
                write!(
                    f,
                    "the relative pointer at offset {offset} points outside the row"
                )
            }
            DecodeError::BadBool { offset } => {
                write!(f, "the bool at offset {offset} is not 0 or 1")
            }
            DecodeError::BadChar { offset } => {
                write!(
                    f,
                    "the char at offset {offset} is not a Unicode scalar value"
                )
            }
            DecodeError::BadTag { offset } => {
                write!(f, "the Option tag at offset {offset} is not 0 or 1")
            }
            DecodeError::BadText { offset } => {
                write!(f, "the text at offset {offset} is not UTF-8")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// The layout of a table's rows, read from its schema description: each
/// field's shape and place in the archived row.
#[derive(Clone, Debug)]
pub(crate) struct RowShape {
    pub(crate) names: Vec<String>,
    shapes: Vec<Shape>,
    offsets: Vec<usize>,
    layout: Layout,
    /// The primary key's fields, as indexes into `names`, in key order.
    pub(crate) pk: Vec<usize>,
    format: ArchiveFormat,
}

/// A field whose type the generic view does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnknownField {
    pub(crate) field: String,
    pub(crate) ty: UnknownType,
}

impl RowShape {
    /// The shape of rows described by `schema`, archived in `format`.
    pub(crate) fn new(schema: &StoredSchema, format: ArchiveFormat) -> Result<Self, UnknownField> {
        let mut shapes = Vec::with_capacity(schema.fields.len());
        for field in &schema.fields {
            let shape = Shape::parse(&field.ty).map_err(|ty| UnknownField {
                field: field.name.clone(),
                ty,
            })?;
            shapes.push(shape);
        }
        let (layout, offsets) = struct_layout(shapes.iter().map(|s| s.layout(format)));
        let names: Vec<String> = schema.fields.iter().map(|f| f.name.clone()).collect();
        let pk = schema
            .pk
            .iter()
            .filter_map(|key| names.iter().position(|name| name == key))
            .collect();
        Ok(Self {
            names,
            shapes,
            offsets,
            layout,
            pk,
            format,
        })
    }

    /// Every field of the archived row `bytes`, in declaration order.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Vec<Value>, DecodeError> {
        // rkyv writes the root last: it ends where the bytes end.
        let root = bytes
            .len()
            .checked_sub(self.layout.size)
            .ok_or(DecodeError::OutOfBounds {
                offset: 0,
                len: self.layout.size,
            })?;
        if root % self.layout.align != 0 {
            return Err(DecodeError::BadPointer { offset: root });
        }
        let reader = Reader {
            bytes,
            format: self.format,
        };
        self.shapes
            .iter()
            .zip(&self.offsets)
            .map(|(shape, offset)| reader.value(shape, root + offset))
            .collect()
    }

    /// The primary key of a decoded row: its key fields' values, in key
    /// order.
    pub(crate) fn key(&self, fields: &[Value]) -> Vec<Value> {
        self.pk
            .iter()
            .filter_map(|&i| fields.get(i).cloned())
            .collect()
    }
}

/// The bytes of one archived row, read under one archive format.
struct Reader<'a> {
    bytes: &'a [u8],
    format: ArchiveFormat,
}

impl Reader<'_> {
    fn slice(&self, offset: usize, len: usize) -> Result<&[u8], DecodeError> {
        offset
            .checked_add(len)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or(DecodeError::OutOfBounds { offset, len })
    }

    fn unsigned(&self, offset: usize, len: usize) -> Result<u128, DecodeError> {
        let raw = self.slice(offset, len)?;
        let mut value = 0u128;
        let mut push = |byte: &u8| value = (value << 8) | u128::from(*byte);
        match self.format.endianness {
            Endianness::Little => raw.iter().rev().for_each(&mut push),
            Endianness::Big => raw.iter().for_each(&mut push),
        }
        Ok(value)
    }

    fn signed(&self, offset: usize, len: usize) -> Result<i128, DecodeError> {
        let value = self.unsigned(offset, len)?;
        let shift = 128 - 8 * len as u32;
        // Sign-extend from `len` bytes: as i128, shifted up and back.
        Ok(((value << shift) as i128) >> shift)
    }

    /// The target of the relative pointer at `offset`, which must hold
    /// `len` values of `layout` (checked only when `len` > 0).
    fn pointee(&self, offset: usize, layout: Layout, len: usize) -> Result<usize, DecodeError> {
        let width = offset_width(self.format);
        let relative = self.signed(offset, width)?;
        let target = i128::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(relative))
            .and_then(|t| usize::try_from(t).ok())
            .ok_or(DecodeError::BadPointer { offset })?;
        if len > 0 {
            if target % layout.align.max(1) != 0 {
                return Err(DecodeError::BadPointer { offset });
            }
            let bytes = layout
                .size
                .checked_mul(len)
                .ok_or(DecodeError::BadPointer { offset })?;
            self.slice(target, bytes)?;
        }
        Ok(target)
    }

    fn value(&self, shape: &Shape, offset: usize) -> Result<Value, DecodeError> {
        let width = offset_width(self.format);
        Ok(match shape {
            Shape::Bool => match self.slice(offset, 1)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(DecodeError::BadBool { offset }),
            },
            Shape::Char => {
                let code = u32::try_from(self.unsigned(offset, 4)?).unwrap_or(u32::MAX);
                Value::Char(char::from_u32(code).ok_or(DecodeError::BadChar { offset })?)
            }
            Shape::Int {
                bytes,
                signed: false,
            } => Value::UInt(self.unsigned(offset, *bytes)?),
            Shape::Int {
                bytes,
                signed: true,
            } => Value::Int(self.signed(offset, *bytes)?),
            Shape::Float { bytes: 4 } => {
                let bits = u32::try_from(self.unsigned(offset, 4)?).unwrap_or_default();
                Value::Float(widen(f32::from_bits(bits)))
            }
            Shape::Float { .. } => {
                let bits = u64::try_from(self.unsigned(offset, 8)?).unwrap_or_default();
                Value::Float(f64::from_bits(bits))
            }
            Shape::Unit => Value::Null,
            Shape::String => self.string(offset)?,
            Shape::BoxStr => {
                let len = self.length(offset + width)?;
                let target = self.pointee(offset, Layout { size: 1, align: 1 }, len)?;
                self.text(target, len)?
            }
            Shape::Option(inner) => match self.slice(offset, 1)?[0] {
                0 => Value::Null,
                1 => {
                    let align = inner.layout(self.format).align;
                    self.value(inner, offset + align_up(1, align))?
                }
                _ => return Err(DecodeError::BadTag { offset }),
            },
            Shape::List(inner) => {
                let len = self.length(offset + width)?;
                let layout = inner.layout(self.format);
                let target = self.pointee(offset, layout, len)?;
                self.elements(inner, layout, target, len)?
            }
            Shape::Boxed(inner) => {
                let layout = inner.layout(self.format);
                let target = self.pointee(offset, layout, 1)?;
                self.value(inner, target)?
            }
            Shape::Array(inner, len) => {
                let layout = inner.layout(self.format);
                self.elements(inner, layout, offset, *len)?
            }
            Shape::Tuple(elements) => {
                let (_, offsets) = struct_layout(elements.iter().map(|e| e.layout(self.format)));
                let values = elements.iter().zip(offsets);
                Value::List(
                    values
                        .map(|(element, at)| self.value(element, offset + at))
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }

    /// An archived length (`usize`) at `offset`.
    fn length(&self, offset: usize) -> Result<usize, DecodeError> {
        let len = self.unsigned(offset, offset_width(self.format))?;
        usize::try_from(len).map_err(|_| DecodeError::OutOfBounds {
            offset,
            len: usize::MAX,
        })
    }

    fn elements(
        &self,
        inner: &Shape,
        layout: Layout,
        start: usize,
        len: usize,
    ) -> Result<Value, DecodeError> {
        // The pointer check (or, for an array, this one) bounds `len` by
        // the row's length before anything is allocated.
        let total = layout.size.saturating_mul(len);
        self.slice(start, total)?;
        let values = (0..len).map(|i| self.value(inner, start + i * layout.size));
        Ok(Value::List(values.collect::<Result<_, _>>()?))
    }

    /// An archived `String`: inline (up to two offset widths, padded with
    /// `0xFF`) or out of line (a length whose first byte is tagged `0b10`,
    /// then a relative offset from the string's start).
    fn string(&self, offset: usize) -> Result<Value, DecodeError> {
        let width = offset_width(self.format);
        let repr = self.slice(offset, 2 * width)?;
        if repr[0] & 0xC0 != 0x80 {
            let len = repr.iter().position(|&b| b == 0xFF).unwrap_or(repr.len());
            return self.text(offset, len);
        }
        let raw = self.unsigned(offset, width)?;
        let len = match self.format.endianness {
            Endianness::Little => (raw & 0b0011_1111) | ((raw & !0xFF) >> 2),
            Endianness::Big => raw & ((1u128 << (8 * width - 2)) - 1),
        };
        let len = usize::try_from(len).map_err(|_| DecodeError::BadText { offset })?;
        // Out-of-line text is addressed from the string's own start.
        let relative = self.signed(offset + width, width)?;
        let target = i128::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(relative))
            .and_then(|t| usize::try_from(t).ok())
            .ok_or(DecodeError::BadPointer { offset })?;
        self.text(target, len)
    }

    fn text(&self, offset: usize, len: usize) -> Result<Value, DecodeError> {
        let bytes = self.slice(offset, len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::BadText { offset })?;
        Ok(Value::Text(text.to_owned()))
    }
}

/// `x` as the `f64` its shortest decimal spelling names, so that an `f32`
/// of 0.1 reads as 0.1, not as 0.10000000149011612.
pub(crate) fn widen(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}
