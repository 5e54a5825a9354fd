//! `ArchiveFormat`: this build's format, the 4-byte encoding of every
//! format, and the refusal of every other 4 bytes.

use super::{Alignment, ArchiveFormat, ArchiveFormatError, Endianness, OffsetWidth};
use worktable_core::rkyv;

/// Every archive format there is.
fn every_format() -> Vec<ArchiveFormat> {
    let mut all = Vec::new();
    for endianness in [Endianness::Little, Endianness::Big] {
        for offset_width in [
            OffsetWidth::Bits16,
            OffsetWidth::Bits32,
            OffsetWidth::Bits64,
        ] {
            for alignment in [Alignment::Unaligned, Alignment::Aligned] {
                all.push(ArchiveFormat {
                    endianness,
                    offset_width,
                    alignment,
                });
            }
        }
    }
    all
}

#[test]
fn this_build_writes_rkyvs_default_format() {
    // The workspace enables none of rkyv's format features.
    let current = ArchiveFormat::current();
    assert_eq!(
        current,
        ArchiveFormat {
            endianness: Endianness::Little,
            offset_width: OffsetWidth::Bits32,
            alignment: Alignment::Aligned,
        }
    );
    assert_eq!(current.to_bytes(), [1, 4, 1, 0]);
    assert_eq!(
        current.to_string(),
        "little-endian, 32-bit offsets, aligned"
    );
    assert_eq!(ArchiveFormat::current(), current);
}

#[test]
fn current_agrees_with_what_rkyv_writes() {
    let current = ArchiveFormat::current();
    let archived = rkyv::to_bytes::<rkyv::rancor::Error>(&0x0102_0304_u32).unwrap();
    let expected = match current.endianness {
        Endianness::Little => 0x0102_0304_u32.to_le_bytes(),
        Endianness::Big => 0x0102_0304_u32.to_be_bytes(),
    };
    assert_eq!(archived.as_slice(), expected);
    assert_eq!(
        size_of::<rkyv::Archived<usize>>(),
        usize::from(current.offset_width.bytes())
    );
    assert_eq!(current.alignment, Alignment::Aligned);
    assert_eq!(align_of::<rkyv::Archived<u32>>(), 4);
}

#[test]
fn every_format_round_trips_through_its_bytes() {
    let formats = every_format();
    assert_eq!(formats.len(), 12);
    let mut encodings: Vec<[u8; 4]> = formats.iter().map(|f| f.to_bytes()).collect();
    for (format, bytes) in formats.iter().zip(&encodings) {
        assert_eq!(ArchiveFormat::from_bytes(*bytes), Ok(*format));
        assert_eq!(bytes[3], 0);
    }
    encodings.sort_unstable();
    encodings.dedup();
    assert_eq!(encodings.len(), 12, "each format has its own bytes");
}

#[test]
fn the_codes_are_the_documented_ones() {
    let format = |endianness, offset_width, alignment| ArchiveFormat {
        endianness,
        offset_width,
        alignment,
    };
    use Alignment::*;
    use Endianness::*;
    use OffsetWidth::*;
    assert_eq!(format(Little, Bits16, Aligned).to_bytes(), [1, 2, 1, 0]);
    assert_eq!(format(Little, Bits32, Unaligned).to_bytes(), [1, 4, 0, 0]);
    assert_eq!(format(Big, Bits64, Aligned).to_bytes(), [2, 8, 1, 0]);
    assert_eq!(format(Big, Bits32, Unaligned).to_bytes(), [2, 4, 0, 0]);
}

#[test]
fn only_the_encodings_decode() {
    let valid: Vec<[u8; 4]> = every_format().iter().map(|f| f.to_bytes()).collect();
    // Every value of the three coded bytes, with the reserved byte 0 and 1.
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            for (c, d) in [(0, 0), (1, 0), (2, 0), (255, 0), (1, 1), (0, 0x80)] {
                let bytes = [a, b, c, d];
                let decoded = ArchiveFormat::from_bytes(bytes);
                assert_eq!(decoded.is_ok(), valid.contains(&bytes), "{bytes:?}");
                if let Ok(format) = decoded {
                    assert_eq!(format.to_bytes(), bytes);
                }
            }
        }
    }
}

#[test]
fn each_bad_byte_has_its_error_in_byte_order() {
    assert_eq!(
        ArchiveFormat::from_bytes([0, 4, 1, 0]),
        Err(ArchiveFormatError::UnknownEndianness { code: 0 })
    );
    assert_eq!(
        ArchiveFormat::from_bytes([3, 9, 7, 1]),
        Err(ArchiveFormatError::UnknownEndianness { code: 3 })
    );
    assert_eq!(
        ArchiveFormat::from_bytes([1, 0, 7, 1]),
        Err(ArchiveFormatError::UnknownOffsetWidth { width: 0 })
    );
    assert_eq!(
        ArchiveFormat::from_bytes([2, 4, 2, 1]),
        Err(ArchiveFormatError::UnknownAlignment { code: 2 })
    );
    assert_eq!(
        ArchiveFormat::from_bytes([2, 4, 1, 1]),
        Err(ArchiveFormatError::ReservedNotZero { value: 1 })
    );
}

#[test]
fn display_names_every_part_in_words() {
    let big = ArchiveFormat {
        endianness: Endianness::Big,
        offset_width: OffsetWidth::Bits16,
        alignment: Alignment::Unaligned,
    };
    assert_eq!(big.to_string(), "big-endian, 16-bit offsets, unaligned");
    assert_eq!(OffsetWidth::Bits64.to_string(), "64-bit offsets");
    assert_eq!(
        ArchiveFormatError::UnknownEndianness { code: 0 }.to_string(),
        "byte order code 0 is neither 1 (little-endian) nor 2 (big-endian)"
    );
    assert_eq!(
        ArchiveFormatError::UnknownOffsetWidth { width: 3 }.to_string(),
        "offset width 3 is not 2, 4 or 8 bytes"
    );
    assert_eq!(
        ArchiveFormatError::UnknownAlignment { code: 9 }.to_string(),
        "alignment code 9 is neither 1 (aligned) nor 0 (unaligned)"
    );
    assert_eq!(
        ArchiveFormatError::ReservedNotZero { value: 0xff }.to_string(),
        "reserved byte 3 is 0xff, not zero"
    );
}
