//! The page file header: its layout, each decoding error, every flipped
//! bit, where frames lie, and the version 1 layout refused as an older
//! format.

use super::{FINGERPRINT, bitwise_crc32c, sample};
use crate::codec::FORMAT_VERSION;
use crate::file_error::{FileError, FileKind};
use crate::format::{Alignment, ArchiveFormat, ArchiveFormatError, Endianness, OffsetWidth};
use crate::pages::{
    FRAME_LEN, HEADER_LEN, PAGE_FILE_MAGIC, PAGE_FILE_NAME, PageFileFault, PageFileHeader,
    decode_header, encode_header, encode_manifest, frame_crc, frame_offset,
};

/// Bytes 0..36 of a version 2 page file header, as `docs/format.md` shows
/// it: fingerprint 0x0123456789abcdef, archive format little-endian, 32-bit
/// offsets, aligned; bytes 36..4096 are zero. Computed by the encoder, the
/// checksum cross-checked with an independent bitwise CRC32C, then frozen:
/// the format must keep reading these exact bytes.
const HEADER_V2_START: [u8; 36] = [
    b'W', b'T', b'P', b'A', b'G', b'E', b'S', 0, // magic
    0x02, 0x00, 0x00, 0x00, // format version 2
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x00, 0x00, 0x01, 0x00, // page size 65536
    0x01, 0x04, 0x01, 0x00, // archive format: little-endian, 32-bit, aligned
    0x14, 0xfb, 0x4a, 0x2b, // CRC32C of bytes 0..32
];

/// Bytes 0..32 of a version 1 page file header (fingerprint
/// 0x0123456789abcdef, no archive format, the checksum at 28); bytes
/// 32..4096 are zero. This build does not read it, and must say it is of an
/// older format.
const HEADER_V1_START: [u8; 32] = [
    b'W', b'T', b'P', b'A', b'G', b'E', b'S', 0, // magic
    0x01, 0x00, 0x00, 0x00, // format version 1
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x00, 0x00, 0x01, 0x00, // page size 65536
    0x96, 0x29, 0x1e, 0x30, // CRC32C of bytes 0..28
];

fn fixture() -> Vec<u8> {
    let mut bytes = vec![0u8; HEADER_LEN];
    bytes[..36].copy_from_slice(&HEADER_V2_START);
    bytes
}

/// The archive format of the fixture.
fn little_32_aligned() -> ArchiveFormat {
    ArchiveFormat {
        endianness: Endianness::Little,
        offset_width: OffsetWidth::Bits32,
        alignment: Alignment::Aligned,
    }
}

/// Rewrites the header checksum after a test edited bytes 0..32.
fn reseal_header(bytes: &mut [u8]) {
    let crc = crc32c::crc32c(&bytes[..32]);
    bytes[32..36].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn encoder_writes_the_version_2_fixture_byte_for_byte() {
    assert_eq!(
        encode_header(FINGERPRINT, little_32_aligned()).to_vec(),
        fixture()
    );
    assert_eq!(
        bitwise_crc32c(&HEADER_V2_START[..32]).to_le_bytes(),
        HEADER_V2_START[32..36]
    );
}

#[test]
fn version_2_fixture_decodes_to_its_fields() {
    assert_eq!(
        decode_header(&fixture()),
        Ok(PageFileHeader {
            schema_fingerprint: FINGERPRINT,
            archive_format: little_32_aligned(),
        })
    );
}

#[test]
fn version_1_fixture_is_refused_as_an_older_format() {
    let mut bytes = vec![0u8; HEADER_LEN];
    bytes[..32].copy_from_slice(&HEADER_V1_START);
    assert_eq!(
        bitwise_crc32c(&HEADER_V1_START[..28]).to_le_bytes(),
        HEADER_V1_START[28..32]
    );
    let err = decode_header(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedVersion {
            file: FileKind::PageFile,
            found: 1,
            supported: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "page file has format version 1 (bytes 8..12): it was written by an older worktable \
         format (version 1); this build reads only version 2 and no converter exists: re-create \
         the table from its rows"
    );
}

#[test]
fn layout_matches_the_spec() {
    let bytes = encode_header(0x1122_3344_5566_7788, ArchiveFormat::current());
    assert_eq!(PAGE_FILE_NAME, "pages");
    assert_eq!(HEADER_LEN, 4096);
    assert_eq!(FRAME_LEN, 65_536);
    assert_eq!(bytes[0..8], PAGE_FILE_MAGIC);
    assert_eq!(&bytes[0..8], b"WTPAGES\0");
    assert_eq!(FORMAT_VERSION, 2);
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12..16], [0; 4]);
    assert_eq!(bytes[16..24], 0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(bytes[24..28], 65_536u32.to_le_bytes());
    assert_eq!(bytes[28..32], ArchiveFormat::current().to_bytes());
    assert_eq!(bytes[32..36], crc32c::crc32c(&bytes[..32]).to_le_bytes());
    assert!(bytes[36..].iter().all(|&b| b == 0));
}

#[test]
fn header_round_trips() {
    let big = ArchiveFormat {
        endianness: Endianness::Big,
        offset_width: OffsetWidth::Bits16,
        alignment: Alignment::Unaligned,
    };
    for schema_fingerprint in [0, 1, FINGERPRINT, u64::MAX] {
        for archive_format in [ArchiveFormat::current(), big] {
            assert_eq!(
                decode_header(&encode_header(schema_fingerprint, archive_format)),
                Ok(PageFileHeader {
                    schema_fingerprint,
                    archive_format
                })
            );
        }
    }
}

#[test]
fn header_decodes_from_the_start_of_a_file_with_frames() {
    let mut file = encode_header(7, ArchiveFormat::current()).to_vec();
    file.resize(HEADER_LEN + 2 * FRAME_LEN, 0xa5);
    assert_eq!(
        decode_header(&file),
        Ok(PageFileHeader {
            schema_fingerprint: 7,
            archive_format: ArchiveFormat::current(),
        })
    );
}

#[test]
fn too_short_to_hold_the_magic_and_version() {
    let full = fixture();
    for len in [0, 1, 8, 11] {
        assert_eq!(
            decode_header(&full[..len]),
            Err(FileError::TooShort {
                file: FileKind::PageFile,
                min: HEADER_LEN,
                len
            })
        );
    }
    // Under 12 bytes even a wrong magic is reported as too short.
    assert_eq!(
        decode_header(b"hello"),
        Err(FileError::TooShort {
            file: FileKind::PageFile,
            min: HEADER_LEN,
            len: 5
        })
    );
}

#[test]
fn too_short_for_the_header() {
    let full = fixture();
    for len in [12, 28, 32, 36, 37, HEADER_LEN - 1] {
        assert_eq!(
            decode_header(&full[..len]),
            Err(FileError::TooShort {
                file: FileKind::PageFile,
                min: HEADER_LEN,
                len
            })
        );
    }
    assert_eq!(
        FileError::TooShort {
            file: FileKind::PageFile,
            min: HEADER_LEN,
            len: 4095
        }
        .to_string(),
        "page file is 4095 bytes long, shorter than its 4096-byte header"
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = fixture();
    bytes[7] = b'!';
    let err = decode_header(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::BadMagic {
            file: FileKind::PageFile,
            expected: PAGE_FILE_MAGIC,
            found: *b"WTPAGES!"
        }
    );
    assert_eq!(
        err.to_string(),
        r#"not a page file: bytes 0..8 are "WTPAGES!", not the page file magic "WTPAGES\0""#
    );
    // An all-zero file, and a manifest, are not page files either.
    assert_eq!(
        decode_header(&[0; HEADER_LEN]),
        Err(FileError::BadMagic {
            file: FileKind::PageFile,
            expected: PAGE_FILE_MAGIC,
            found: [0; 8]
        })
    );
    let mut manifest = encode_manifest(&sample()).unwrap();
    manifest.resize(HEADER_LEN, 0);
    assert_eq!(
        decode_header(&manifest),
        Err(FileError::BadMagic {
            file: FileKind::PageFile,
            expected: PAGE_FILE_MAGIC,
            found: *b"WTMANIF\0"
        })
    );
}

#[test]
fn newer_format_version_is_reported_as_such() {
    let mut bytes = fixture();
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let expected = Err(FileError::UnsupportedVersion {
        file: FileKind::PageFile,
        found: 3,
        supported: 2,
    });
    // Stale checksum: the version is still what is reported...
    assert_eq!(decode_header(&bytes), expected);
    // ...with a valid one too, and whatever the length (a newer header may
    // be shorter or longer).
    reseal_header(&mut bytes);
    assert_eq!(decode_header(&bytes), expected);
    assert_eq!(decode_header(&bytes[..12]), expected);
    assert_eq!(
        decode_header(&bytes).unwrap_err().to_string(),
        "page file has format version 3 (bytes 8..12); this build reads only version 2: the file was written by a newer worktable, or it is damaged"
    );
    bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
    let err = decode_header(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedVersion {
            file: FileKind::PageFile,
            found: 0,
            supported: 2
        }
    );
    assert!(
        err.to_string()
            .contains("written by an older worktable format (version 0)"),
        "{err}"
    );
}

#[test]
fn damaged_field_is_a_checksum_error() {
    let mut bytes = fixture();
    bytes[16] ^= 0x01;
    let stored = u32::from_le_bytes(bytes[32..36].try_into().unwrap());
    let computed = crc32c::crc32c(&bytes[..32]);
    let err = decode_header(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::ChecksumMismatch {
            file: FileKind::PageFile,
            offset: 32,
            stored,
            computed
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "page file header is damaged: the checksum at byte offset 32 is {stored:#010x}, but bytes 0..32 sum to {computed:#010x}"
        )
    );
}

#[test]
fn unknown_flags() {
    let mut bytes = fixture();
    bytes[15] = 0x80;
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
    reseal_header(&mut bytes);
    let err = decode_header(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedFlags {
            file: FileKind::PageFile,
            flags: 0x8000_0000
        }
    );
    assert_eq!(
        err.to_string(),
        "page file header sets flags 0x80000000 (bytes 12..16), which this build does not know"
    );
}

#[test]
fn another_page_size() {
    for page_size in [0, 4096, 65_535, 65_537, 1 << 20] {
        let mut bytes = fixture();
        bytes[24..28].copy_from_slice(&u32::to_le_bytes(page_size));
        reseal_header(&mut bytes);
        assert_eq!(
            decode_header(&bytes),
            Err(FileError::PageFile(PageFileFault::PageSize {
                found: page_size,
                expected: 65_536
            }))
        );
    }
    assert_eq!(
        FileError::PageFile(PageFileFault::PageSize {
            found: 4096,
            expected: 65_536
        })
        .to_string(),
        "page file holds pages of 4096 bytes (bytes 24..28); this build's pages are 65536 bytes"
    );
}

#[test]
fn an_archive_format_that_is_not_one() {
    let cases = [
        (
            [9, 4, 1, 0],
            ArchiveFormatError::UnknownEndianness { code: 9 },
        ),
        (
            [1, 1, 1, 0],
            ArchiveFormatError::UnknownOffsetWidth { width: 1 },
        ),
        (
            [1, 4, 0xff, 0],
            ArchiveFormatError::UnknownAlignment { code: 0xff },
        ),
        (
            [2, 8, 0, 1],
            ArchiveFormatError::ReservedNotZero { value: 1 },
        ),
    ];
    for (stored, fault) in cases {
        let mut bytes = fixture();
        bytes[28..32].copy_from_slice(&stored);
        assert!(matches!(
            decode_header(&bytes),
            Err(FileError::ChecksumMismatch { .. })
        ));
        reseal_header(&mut bytes);
        assert_eq!(
            decode_header(&bytes),
            Err(FileError::ArchiveFormat {
                file: FileKind::PageFile,
                offset: 28,
                reason: fault
            })
        );
    }
    assert_eq!(
        FileError::ArchiveFormat {
            file: FileKind::PageFile,
            offset: 28,
            reason: ArchiveFormatError::UnknownEndianness { code: 9 }
        }
        .to_string(),
        "page file header has a valid checksum but its archive format (bytes 28..32) is not one: \
         byte order code 9 is neither 1 (little-endian) nor 2 (big-endian); it was written that way"
    );
}

#[test]
fn another_archive_format_decodes_for_the_caller_to_compare() {
    let mut bytes = fixture();
    bytes[28..32].copy_from_slice(&[1, 8, 0, 0]);
    reseal_header(&mut bytes);
    let header = decode_header(&bytes).unwrap();
    assert_eq!(header.archive_format.offset_width, OffsetWidth::Bits64);
    assert_eq!(header.archive_format.alignment, Alignment::Unaligned);
}

#[test]
fn non_zero_padding() {
    for offset in [36, 37, 100, 2048, HEADER_LEN - 1] {
        let mut bytes = fixture();
        bytes[offset] = 1;
        assert_eq!(
            decode_header(&bytes),
            Err(FileError::PageFile(PageFileFault::Padding { offset }))
        );
    }
    // The first non-zero byte is named.
    let mut bytes = fixture();
    bytes[40] = 1;
    bytes[39] = 0xff;
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::PageFile(PageFileFault::Padding { offset: 39 }))
    );
    assert_eq!(
        FileError::PageFile(PageFileFault::Padding { offset: 39 }).to_string(),
        "page file header has a non-zero byte at offset 39; its padding (bytes 36..4096) must be zero"
    );
    // Frames after the header are not padding.
    let mut file = fixture();
    file.push(1);
    assert!(decode_header(&file).is_ok());
}

#[test]
fn checks_run_in_the_documented_order() {
    // Flags and page size: flags first.
    let mut bytes = fixture();
    bytes[12] = 1;
    bytes[24] = 1;
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::UnsupportedFlags {
            file: FileKind::PageFile,
            flags: 1
        })
    );
    // Page size, archive format and padding: page size first...
    let mut bytes = fixture();
    bytes[24] = 1;
    bytes[28] = 0;
    bytes[36] = 1;
    reseal_header(&mut bytes);
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::PageFile(PageFileFault::PageSize { .. }))
    ));
    // ...then the archive format.
    bytes[24] = 0;
    reseal_header(&mut bytes);
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::ArchiveFormat { .. })
    ));
    // Damage and padding: the checksum first.
    let mut bytes = fixture();
    bytes[20] ^= 4;
    bytes[36] = 1;
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
}

#[test]
fn every_flipped_bit_is_an_error() {
    let original = fixture();
    let padding_samples = [36, 37, 63, 64, 1000, 2049, HEADER_LEN - 1];
    for at in (0..36).chain(padding_samples) {
        for bit in 0..8 {
            let mut bytes = original.clone();
            bytes[at] ^= 1 << bit;
            let result = decode_header(&bytes);
            let expected = match at {
                0..8 => matches!(result, Err(FileError::BadMagic { .. })),
                8..12 => matches!(result, Err(FileError::UnsupportedVersion { .. })),
                12..36 => matches!(result, Err(FileError::ChecksumMismatch { .. })),
                _ => result == Err(FileError::PageFile(PageFileFault::Padding { offset: at })),
            };
            assert!(expected, "byte {at} bit {bit}: {result:?}");
        }
    }
}

#[test]
fn frames_follow_the_header() {
    assert_eq!(frame_offset(0), 4096);
    assert_eq!(frame_offset(1), 4096 + 65_536);
    assert_eq!(frame_offset(10), 4096 + 10 * 65_536);
    assert_eq!(frame_offset(u32::MAX), 4096 + u64::from(u32::MAX) * 65_536);
    // Every frame is aligned to the header's length.
    assert_eq!(frame_offset(12_345) % HEADER_LEN as u64, 0);
}

#[test]
fn frame_crc_is_crc32c_of_the_whole_frame() {
    let mut body = vec![0u8; FRAME_LEN];
    // An empty frame, checked against an independent bitwise CRC32C.
    assert_eq!(frame_crc(&body), 0x72c0_c4a4);
    assert_eq!(bitwise_crc32c(&body), 0x72c0_c4a4);
    body[FRAME_LEN - 1] = 1;
    assert_ne!(frame_crc(&body), 0x72c0_c4a4);
    assert_eq!(frame_crc(&body), crc32c::crc32c(&body));
}

#[test]
fn a_header_reads_back_from_its_4096_bytes() -> Result<(), FileError> {
    let bytes = encode_header(0x5eed, ArchiveFormat::current());
    assert_eq!(bytes.len(), HEADER_LEN);
    assert_eq!(&bytes[..8], b"WTPAGES\0");
    assert_eq!(
        decode_header(&bytes)?,
        PageFileHeader {
            schema_fingerprint: 0x5eed,
            archive_format: ArchiveFormat::current()
        }
    );
    Ok(())
}

#[test]
fn frames_follow_the_header_back_to_back() {
    assert_eq!(frame_offset(0), HEADER_LEN as u64);
    assert_eq!(frame_offset(2), (HEADER_LEN + 2 * FRAME_LEN) as u64);
}

#[test]
fn a_frame_checksum_covers_the_rows() {
    let mut body = vec![0u8; FRAME_LEN];
    let empty = frame_crc(&body);
    body[16..19].copy_from_slice(b"row");
    assert_ne!(frame_crc(&body), empty);
}
