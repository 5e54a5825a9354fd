//! [`Shape`]: a field type, as the schema description spells it, read as
//! the layout of its rkyv archive.
//!
//! The metadata file keeps each field's type as the source wrote it, in the
//! derive's canonical spelling (`u64`, `Option<String>`, `Vec<(u8, bool)>`).
//! The types whose archived layout rkyv fixes, and which are spelled the
//! same in every program, are read here: the primitives, `String`,
//! `Option`, `Vec`, `Box`, arrays and tuples of them. A type named by the
//! program (a struct, an enum, an alias) is not: its layout depends on code
//! the directory does not hold, and [`Shape::parse`] says so.
//!
//! Layouts follow rkyv 0.8: an archived struct or tuple is `repr(C)`, an
//! archived `Option` a `repr(u8)` enum, `Vec`, `String` and `Box` hold a
//! relative offset (and a length) of the archive's offset width, and
//! primitives are aligned to their size unless the archive format is
//! unaligned.

use std::fmt;

use crate::format::{Alignment, ArchiveFormat, OffsetWidth};

/// The archived shape of a field type the generic view can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `char`: a `u32` holding a Unicode scalar value.
    Char,
    /// An integer of `bytes` bytes.
    Int { bytes: usize, signed: bool },
    /// `f32` or `f64`.
    Float { bytes: usize },
    /// `()`: no bytes.
    Unit,
    /// `String`: up to two offset widths of text inline, or a length and
    /// a relative offset.
    String,
    /// `Box<str>`: relative offset, then length.
    BoxStr,
    /// `Option<T>`: a tag byte, then `T` at its alignment.
    Option(Box<Shape>),
    /// `Vec<T>` and `Box<[T]>`: relative offset, then length.
    List(Box<Shape>),
    /// `Box<T>` of a sized `T`: relative offset.
    Boxed(Box<Shape>),
    /// `[T; N]`: `N` archived `T` back to back.
    Array(Box<Shape>, usize),
    /// `(A, B, ...)`: a `repr(C)` struct of the archived elements.
    Tuple(Vec<Shape>),
}

/// Size and alignment of an archived value, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) size: usize,
    pub(crate) align: usize,
}

/// A field type the generic view cannot read, as the schema spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnknownType(pub(crate) String);

impl fmt::Display for UnknownType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Shape {
    /// Reads the shape of `ty`, a type in the schema's canonical spelling.
    /// Whitespace is ignored.
    ///
    /// # Errors
    ///
    /// [`UnknownType`] naming the first type inside `ty` that is not
    /// listed in the module docs (the whole of `ty` if it does not parse).
    pub(crate) fn parse(ty: &str) -> Result<Self, UnknownType> {
        let compact: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
        let mut parser = Parser {
            text: &compact,
            pos: 0,
        };
        let shape = parser.shape()?;
        if parser.pos != compact.len() {
            return Err(UnknownType(ty.to_owned()));
        }
        Ok(shape)
    }

    /// The archived layout of the shape under `format`.
    pub(crate) fn layout(&self, format: ArchiveFormat) -> Layout {
        let offset = offset_width(format);
        let primitive = |bytes: usize| Layout {
            size: bytes,
            align: primitive_align(format, bytes),
        };
        match self {
            Shape::Bool => primitive(1),
            Shape::Char => primitive(4),
            Shape::Int { bytes, .. } | Shape::Float { bytes } => primitive(*bytes),
            Shape::Unit => Layout { size: 0, align: 1 },
            // The inline text and the out-of-line (length, offset) pair
            // overlap: two offset-width integers.
            Shape::String | Shape::BoxStr | Shape::List(_) => primitive(offset).pair(),
            Shape::Boxed(_) => primitive(offset),
            Shape::Option(inner) => {
                let inner = inner.layout(format);
                let payload = align_up(1, inner.align);
                let align = inner.align.max(1);
                Layout {
                    size: align_up(payload + inner.size, align),
                    align,
                }
            }
            Shape::Array(inner, len) => {
                let inner = inner.layout(format);
                Layout {
                    size: inner.size.saturating_mul(*len),
                    align: inner.align,
                }
            }
            Shape::Tuple(elements) => struct_layout(elements.iter().map(|e| e.layout(format))).0,
        }
    }
}

impl Layout {
    /// Two of `self` side by side (`self` is one offset-width integer).
    fn pair(self) -> Layout {
        Layout {
            size: self.size * 2,
            align: self.align,
        }
    }
}

/// The layout of a `repr(C)` struct of fields of the given layouts, and
/// each field's offset in it.
pub(crate) fn struct_layout(fields: impl IntoIterator<Item = Layout>) -> (Layout, Vec<usize>) {
    let mut offsets = Vec::new();
    let mut end = 0usize;
    let mut align = 1usize;
    for field in fields {
        let start = align_up(end, field.align);
        offsets.push(start);
        end = start.saturating_add(field.size);
        align = align.max(field.align);
    }
    let size = align_up(end, align);
    (Layout { size, align }, offsets)
}

/// The width of archived `usize` values and relative pointers, in bytes.
pub(crate) fn offset_width(format: ArchiveFormat) -> usize {
    match format.offset_width {
        OffsetWidth::Bits16 => 2,
        OffsetWidth::Bits32 => 4,
        OffsetWidth::Bits64 => 8,
    }
}

fn primitive_align(format: ArchiveFormat, bytes: usize) -> usize {
    match format.alignment {
        Alignment::Aligned => bytes.max(1),
        Alignment::Unaligned => 1,
    }
}

/// `value` rounded up to a multiple of `align` (a power of two, at least 1).
pub(crate) fn align_up(value: usize, align: usize) -> usize {
    value.div_ceil(align.max(1)).saturating_mul(align.max(1))
}

/// A recursive-descent reader of a compact (whitespace-free) type.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), UnknownType> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.unknown())
        }
    }

    fn unknown(&self) -> UnknownType {
        UnknownType(self.text.to_owned())
    }

    /// An identifier or path (`u64`, `std::string::String`).
    fn name(&mut self) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.text[start..self.pos]
    }

    fn shape(&mut self) -> Result<Shape, UnknownType> {
        if self.eat("(") {
            return self.tuple();
        }
        if self.eat("[") {
            let inner = self.shape()?;
            self.expect(";")?;
            let digits = self.rest().find(|c: char| !c.is_ascii_digit());
            let digits = digits.unwrap_or(self.rest().len());
            let len = self.rest()[..digits]
                .trim_end_matches("usize")
                .parse::<usize>()
                .map_err(|_| self.unknown())?;
            self.pos += digits;
            self.eat("usize");
            self.expect("]")?;
            return Ok(Shape::Array(Box::new(inner), len));
        }
        let start = self.pos;
        let name = self.name().to_owned();
        let short = name.rsplit("::").next().unwrap_or_default();
        if let Some(shape) = primitive(short) {
            return Ok(shape);
        }
        let generic = |this: &mut Self| -> Result<Shape, UnknownType> {
            this.expect("<")?;
            let inner = this.shape()?;
            this.expect(">")?;
            Ok(inner)
        };
        match short {
            "String" => Ok(Shape::String),
            "Option" => Ok(Shape::Option(Box::new(generic(self)?))),
            "Vec" => Ok(Shape::List(Box::new(generic(self)?))),
            "Box" => {
                if self.eat("<str>") {
                    return Ok(Shape::BoxStr);
                }
                if self.eat("<[") {
                    let inner = self.shape()?;
                    self.expect("]>")?;
                    return Ok(Shape::List(Box::new(inner)));
                }
                Ok(Shape::Boxed(Box::new(generic(self)?)))
            }
            _ => {
                // Name the type the program declared, generic arguments
                // and all, as far as it reads.
                self.pos = start;
                let end = self.end_of_type();
                Err(UnknownType(self.text[start..end].to_owned()))
            }
        }
    }

    /// Where the type starting at `self.pos` ends: at the first `,`, `>`,
    /// `)`, `]` or `;` outside its own brackets.
    fn end_of_type(&self) -> usize {
        let mut depth = 0usize;
        for (i, c) in self.rest().char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                '>' | ')' | ']' | ',' | ';' if depth == 0 => return self.pos + i,
                '>' | ')' | ']' => depth -= 1,
                _ => {}
            }
        }
        self.text.len()
    }

    fn tuple(&mut self) -> Result<Shape, UnknownType> {
        let mut elements = Vec::new();
        loop {
            if self.eat(")") {
                break;
            }
            elements.push(self.shape()?);
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(if elements.is_empty() {
            Shape::Unit
        } else {
            Shape::Tuple(elements)
        })
    }
}

fn primitive(name: &str) -> Option<Shape> {
    let int = |bytes, signed| Some(Shape::Int { bytes, signed });
    match name {
        "bool" => Some(Shape::Bool),
        "char" => Some(Shape::Char),
        "u8" => int(1, false),
        "u16" => int(2, false),
        "u32" => int(4, false),
        "u64" => int(8, false),
        "u128" => int(16, false),
        "i8" => int(1, true),
        "i16" => int(2, true),
        "i32" => int(4, true),
        "i64" => int(8, true),
        "i128" => int(16, true),
        "f32" => Some(Shape::Float { bytes: 4 }),
        "f64" => Some(Shape::Float { bytes: 8 }),
        _ => None,
    }
}
