//! [`ArchiveFormat`]: the rkyv format that row bytes were written in.
//!
//! Every row a table keeps on disk (in a log record, in a page-file frame,
//! in the metadata file's key state) is an rkyv archive, and rkyv's layout
//! depends on how it was compiled: the byte order of archived integers, the
//! width of its archived `usize` and relative pointers, and whether archived
//! primitives are naturally aligned. A build compiled with other rkyv
//! features cannot read those bytes. So each file of a table directory
//! records the format its rows were written in (4 bytes, see
//! `docs/format.md`), and opening a table refuses files written in another
//! format with [`OpenError::ArchiveFormat`](crate::OpenError::ArchiveFormat).
//!
//! # Example
//!
//! ```
//! use worktable_persist::format::{Alignment, ArchiveFormat, Endianness, OffsetWidth};
//!
//! let current = ArchiveFormat::current();
//! let stored = current.to_bytes();
//! assert_eq!(ArchiveFormat::from_bytes(stored)?, current);
//!
//! let big = ArchiveFormat {
//!     endianness: Endianness::Big,
//!     offset_width: OffsetWidth::Bits64,
//!     alignment: Alignment::Unaligned,
//! };
//! assert_eq!(big.to_bytes(), [2, 8, 0, 0]);
//! assert_eq!(big.to_string(), "big-endian, 64-bit offsets, unaligned");
//! # Ok::<(), worktable_persist::format::ArchiveFormatError>(())
//! ```

use std::fmt;
use std::sync::OnceLock;

use worktable_core::rkyv;

#[cfg(test)]
mod tests;

/// The rkyv format that row bytes were written in: byte order, offset
/// width and alignment.
///
/// Stored as 4 bytes ([`to_bytes`](Self::to_bytes)): byte 0 the byte order
/// (1 = little-endian, 2 = big-endian), byte 1 the width of rkyv's archived
/// `usize` and relative pointers in bytes (2, 4 or 8), byte 2 the alignment
/// of archived primitives (1 = natural alignment, 0 = rkyv's `unaligned`
/// feature), byte 3 reserved, zero. Every value of this type has exactly
/// one encoding, and [`from_bytes`](Self::from_bytes) accepts exactly the
/// encodings.
///
/// See the [module documentation](self) for an example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchiveFormat {
    /// The byte order of archived integers.
    pub endianness: Endianness,
    /// The width of archived `usize` values and relative pointers.
    pub offset_width: OffsetWidth,
    /// Whether archived primitives are naturally aligned.
    pub alignment: Alignment,
}

/// The byte order of archived integers (rkyv's `little_endian` and
/// `big_endian` features; little-endian by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endianness {
    /// Least significant byte first. Stored as 1.
    Little,
    /// Most significant byte first. Stored as 2.
    Big,
}

/// The width of rkyv's archived `usize` and of its relative pointers (rkyv's
/// `pointer_width_16`, `pointer_width_32` and `pointer_width_64` features;
/// 32 bits by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OffsetWidth {
    /// 2 bytes.
    Bits16,
    /// 4 bytes.
    Bits32,
    /// 8 bytes.
    Bits64,
}

/// Whether archived primitives are naturally aligned (rkyv's default) or
/// byte-aligned (rkyv's `unaligned` feature).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alignment {
    /// Byte-aligned: rkyv's `unaligned` feature. Stored as 0.
    Unaligned,
    /// Natural alignment (an archived `u32` is 4-byte aligned). Stored as 1.
    Aligned,
}

/// Why 4 stored bytes are not an [`ArchiveFormat`]. Returned by
/// [`ArchiveFormat::from_bytes`]; the codecs of the table's files report
/// it with the file and the byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveFormatError {
    /// Byte 0 is neither 1 nor 2.
    #[error("byte order code {code} is neither 1 (little-endian) nor 2 (big-endian)")]
    UnknownEndianness {
        /// The stored byte.
        code: u8,
    },
    /// Byte 1 is not 2, 4 or 8.
    #[error("offset width {width} is not 2, 4 or 8 bytes")]
    UnknownOffsetWidth {
        /// The stored byte.
        width: u8,
    },
    /// Byte 2 is neither 0 nor 1.
    #[error("alignment code {code} is neither 1 (aligned) nor 0 (unaligned)")]
    UnknownAlignment {
        /// The stored byte.
        code: u8,
    },
    /// Byte 3, reserved, is not zero.
    #[error("reserved byte 3 is {value:#04x}, not zero")]
    ReservedNotZero {
        /// The stored byte.
        value: u8,
    },
}

/// This build's offset width: a compile error, not a panic, if rkyv ever
/// archives `usize` in another width.
const CURRENT_OFFSET_WIDTH: OffsetWidth = match size_of::<rkyv::primitive::ArchivedUsize>() {
    2 => OffsetWidth::Bits16,
    4 => OffsetWidth::Bits32,
    8 => OffsetWidth::Bits64,
    _ => panic!("rkyv archives usize in 2, 4 or 8 bytes"),
};

/// This build's alignment.
const CURRENT_ALIGNMENT: Alignment = if align_of::<rkyv::Archived<u32>>() == 4 {
    Alignment::Aligned
} else {
    Alignment::Unaligned
};

impl ArchiveFormat {
    /// The number of bytes an archive format is stored in.
    pub const LEN: usize = 4;

    /// The format this build's rkyv writes and reads: the byte order found
    /// by archiving `0x0102_0304_u32`, the size of
    /// [`ArchivedUsize`](rkyv::primitive::ArchivedUsize), and whether an
    /// archived `u32` is 4-byte aligned.
    ///
    /// ```
    /// use worktable_persist::format::ArchiveFormat;
    ///
    /// // rkyv's defaults, which this workspace uses.
    /// assert_eq!(ArchiveFormat::current().to_string(), "little-endian, 32-bit offsets, aligned");
    /// ```
    pub fn current() -> Self {
        static CURRENT: OnceLock<ArchiveFormat> = OnceLock::new();
        *CURRENT.get_or_init(|| Self {
            endianness: current_endianness(),
            offset_width: CURRENT_OFFSET_WIDTH,
            alignment: CURRENT_ALIGNMENT,
        })
    }

    /// The 4 bytes the format is stored as.
    ///
    /// ```
    /// use worktable_persist::format::{Alignment, ArchiveFormat, Endianness, OffsetWidth};
    ///
    /// let format = ArchiveFormat {
    ///     endianness: Endianness::Little,
    ///     offset_width: OffsetWidth::Bits32,
    ///     alignment: Alignment::Aligned,
    /// };
    /// assert_eq!(format.to_bytes(), [1, 4, 1, 0]);
    /// ```
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let endianness = match self.endianness {
            Endianness::Little => 1,
            Endianness::Big => 2,
        };
        let alignment = match self.alignment {
            Alignment::Unaligned => 0,
            Alignment::Aligned => 1,
        };
        [endianness, self.offset_width.bytes(), alignment, 0]
    }

    /// Decodes 4 stored bytes.
    ///
    /// # Errors
    ///
    /// The first byte that is not a code of its field, in byte order:
    /// [`ArchiveFormatError::UnknownEndianness`],
    /// [`ArchiveFormatError::UnknownOffsetWidth`],
    /// [`ArchiveFormatError::UnknownAlignment`],
    /// [`ArchiveFormatError::ReservedNotZero`].
    ///
    /// ```
    /// use worktable_persist::format::{ArchiveFormat, ArchiveFormatError};
    ///
    /// assert!(ArchiveFormat::from_bytes([1, 8, 1, 0]).is_ok());
    /// assert_eq!(
    ///     ArchiveFormat::from_bytes([1, 3, 1, 0]),
    ///     Err(ArchiveFormatError::UnknownOffsetWidth { width: 3 })
    /// );
    /// ```
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Result<Self, ArchiveFormatError> {
        let [endianness, width, alignment, reserved] = bytes;
        let endianness = match endianness {
            1 => Endianness::Little,
            2 => Endianness::Big,
            code => return Err(ArchiveFormatError::UnknownEndianness { code }),
        };
        let offset_width = match width {
            2 => OffsetWidth::Bits16,
            4 => OffsetWidth::Bits32,
            8 => OffsetWidth::Bits64,
            width => return Err(ArchiveFormatError::UnknownOffsetWidth { width }),
        };
        let alignment = match alignment {
            0 => Alignment::Unaligned,
            1 => Alignment::Aligned,
            code => return Err(ArchiveFormatError::UnknownAlignment { code }),
        };
        if reserved != 0 {
            return Err(ArchiveFormatError::ReservedNotZero { value: reserved });
        }
        Ok(Self {
            endianness,
            offset_width,
            alignment,
        })
    }
}

impl OffsetWidth {
    /// The width in bytes: 2, 4 or 8.
    ///
    /// ```
    /// use worktable_persist::format::OffsetWidth;
    ///
    /// assert_eq!(OffsetWidth::Bits64.bytes(), 8);
    /// ```
    pub fn bytes(self) -> u8 {
        match self {
            Self::Bits16 => 2,
            Self::Bits32 => 4,
            Self::Bits64 => 8,
        }
    }
}

impl fmt::Display for ArchiveFormat {
    /// In words: `little-endian, 32-bit offsets, aligned`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}, {}",
            self.endianness, self.offset_width, self.alignment
        )
    }
}

impl fmt::Display for Endianness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Little => "little-endian",
            Self::Big => "big-endian",
        })
    }
}

impl fmt::Display for OffsetWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit offsets", u32::from(self.bytes()) * 8)
    }
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unaligned => "unaligned",
            Self::Aligned => "aligned",
        })
    }
}

/// This build's byte order, as rkyv archives a `u32`.
fn current_endianness() -> Endianness {
    let archived = rkyv::to_bytes::<rkyv::rancor::Error>(&0x0102_0304_u32)
        .expect("archiving a u32 cannot fail");
    match archived.as_slice() {
        [0x04, 0x03, 0x02, 0x01] => Endianness::Little,
        [0x01, 0x02, 0x03, 0x04] => Endianness::Big,
        other => {
            unreachable!("rkyv archives a u32 as its 4 bytes in one byte order, not {other:?}")
        }
    }
}
