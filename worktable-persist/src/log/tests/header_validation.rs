//! `decode_header`: each way a header can be wrong has its own error.

use super::{FINGERPRINT, header, synced_inserts};
use crate::codec::FORMAT_VERSION;
use crate::file_error::{FileError, FileKind, LogFault};
use crate::format::{Alignment, ArchiveFormat, ArchiveFormatError, Endianness, OffsetWidth};
use crate::log::{HEADER_LEN, MAGIC, SegmentHeader, decode_header, encode_header, scan};

/// Rewrites the header checksum after a test edited bytes 0..40.
fn reseal_header(bytes: &mut [u8; HEADER_LEN]) {
    let crc = crc32c::crc32c(&bytes[..40]);
    bytes[40..44].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn header_round_trips() {
    let big = ArchiveFormat {
        endianness: Endianness::Big,
        offset_width: OffsetWidth::Bits64,
        alignment: Alignment::Unaligned,
    };
    for (fingerprint, first_seq, archive_format) in [
        (0, 0, ArchiveFormat::current()),
        (FINGERPRINT, 1, big),
        (u64::MAX, u64::MAX, ArchiveFormat::current()),
    ] {
        let header = SegmentHeader {
            schema_fingerprint: fingerprint,
            first_seq,
            archive_format,
            database: fingerprint == FINGERPRINT,
        };
        assert_eq!(decode_header(&encode_header(&header)), Ok(header));
    }
}

#[test]
fn header_layout_matches_the_spec() {
    let bytes = encode_header(&header(0x1122));
    assert_eq!(HEADER_LEN, 48);
    assert_eq!(&bytes[0..8], b"WTLOG\0\0\0");
    assert_eq!(FORMAT_VERSION, 2);
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12..16], [0; 4]);
    assert_eq!(bytes[16..24], FINGERPRINT.to_le_bytes());
    assert_eq!(bytes[24..32], 0x1122u64.to_le_bytes());
    assert_eq!(bytes[32..36], ArchiveFormat::current().to_bytes());
    assert_eq!(bytes[36..40], [0; 4]);
    assert_eq!(bytes[40..44], crc32c::crc32c(&bytes[..40]).to_le_bytes());
    assert_eq!(bytes[44..48], [0; 4]);
}

#[test]
fn header_decodes_from_the_start_of_a_longer_segment() {
    let built = synced_inserts(5, 2);
    assert_eq!(decode_header(&built.bytes), Ok(built.header));
}

#[test]
fn too_short_for_a_header() {
    let full = encode_header(&header(1));
    for len in [0, 1, 8, 40, 47] {
        assert_eq!(
            decode_header(&full[..len]),
            Err(FileError::TooShort {
                file: FileKind::LogSegment,
                min: HEADER_LEN,
                len
            })
        );
        assert_eq!(
            scan(&full[..len]),
            Err(FileError::TooShort {
                file: FileKind::LogSegment,
                min: HEADER_LEN,
                len
            })
        );
    }
    assert_eq!(
        FileError::TooShort {
            file: FileKind::LogSegment,
            min: HEADER_LEN,
            len: 47
        }
        .to_string(),
        "log segment is 47 bytes long, shorter than its 48-byte header"
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = encode_header(&header(1));
    bytes[7] = 1;
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::BadMagic {
            file: FileKind::LogSegment,
            expected: MAGIC,
            found: *b"WTLOG\0\0\x01"
        })
    );
    assert_eq!(
        decode_header(&bytes).unwrap_err().to_string(),
        r#"not a log segment: bytes 0..8 are "WTLOG\x00\x00\x01", not the log magic "WTLOG\0\0\0""#
    );
}

#[test]
fn all_zero_header_is_wrong_magic() {
    assert_eq!(
        decode_header(&[0; 64]),
        Err(FileError::BadMagic {
            file: FileKind::LogSegment,
            expected: MAGIC,
            found: [0; 8]
        })
    );
}

#[test]
fn newer_format_version_is_reported_as_such_even_if_the_checksum_layout_changed() {
    let mut bytes = encode_header(&header(1));
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let expected = Err(FileError::UnsupportedVersion {
        file: FileKind::LogSegment,
        found: 3,
        supported: 2,
    });
    // Stale checksum: the version is still what is reported.
    assert_eq!(decode_header(&bytes), expected);
    reseal_header(&mut bytes);
    assert_eq!(decode_header(&bytes), expected);
    assert_eq!(
        decode_header(&bytes).unwrap_err().to_string(),
        "log segment has format version 3 (bytes 8..12); this build reads only version 2: the \
         file was written by a newer worktable, or it is damaged"
    );
}

#[test]
fn older_format_versions_are_reported_as_older_without_a_converter() {
    for version in [0u32, 1] {
        let mut bytes = encode_header(&header(1));
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let expected = FileError::UnsupportedVersion {
            file: FileKind::LogSegment,
            found: version,
            supported: 2,
        };
        assert_eq!(decode_header(&bytes), Err(expected.clone()));
        reseal_header(&mut bytes);
        assert_eq!(decode_header(&bytes), Err(expected.clone()));
        let message = expected.to_string();
        assert!(
            message.contains(&format!(
                "written by an older worktable format (version {version})"
            )),
            "{message}"
        );
        assert!(
            message.contains("this build reads only version 2"),
            "{message}"
        );
        assert!(
            message.ends_with("no converter exists: re-create the table from its rows"),
            "{message}"
        );
    }
}

#[test]
fn bad_header_checksum() {
    let mut bytes = encode_header(&header(1));
    let stored = u32::from_le_bytes(bytes[40..44].try_into().unwrap());
    bytes[24] ^= 0x04; // first_seq 1 -> 5
    let computed = crc32c::crc32c(&bytes[..40]);
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::ChecksumMismatch {
            file: FileKind::LogSegment,
            offset: 40,
            stored,
            computed
        })
    );
    assert!(
        decode_header(&bytes)
            .unwrap_err()
            .to_string()
            .starts_with("log segment header is damaged: checksum at byte offset 40 is 0x")
    );
}

#[test]
fn flipped_checksum_byte_is_a_bad_header_checksum() {
    let mut bytes = encode_header(&header(1));
    bytes[43] ^= 0x80;
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
}

#[test]
fn unknown_flags() {
    let mut bytes = encode_header(&header(1));
    bytes[12] = 0x02;
    // Without a matching checksum a flipped flag is damage...
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
    // ...and with one, a flag this build does not know.
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::UnsupportedFlags {
            file: FileKind::LogSegment,
            flags: 2
        })
    );
    // Flag 1, a database's log, is known.
    bytes[12] = 0x01;
    reseal_header(&mut bytes);
    assert!(decode_header(&bytes).unwrap().database);
}

#[test]
fn an_archive_format_that_is_not_one() {
    let cases = [
        (
            [0, 4, 1, 0],
            ArchiveFormatError::UnknownEndianness { code: 0 },
        ),
        (
            [1, 5, 1, 0],
            ArchiveFormatError::UnknownOffsetWidth { width: 5 },
        ),
        (
            [1, 4, 2, 0],
            ArchiveFormatError::UnknownAlignment { code: 2 },
        ),
        (
            [1, 4, 1, 9],
            ArchiveFormatError::ReservedNotZero { value: 9 },
        ),
    ];
    for (stored, reason) in cases {
        let mut bytes = encode_header(&header(1));
        bytes[32..36].copy_from_slice(&stored);
        assert!(matches!(
            decode_header(&bytes),
            Err(FileError::ChecksumMismatch { .. })
        ));
        reseal_header(&mut bytes);
        assert_eq!(
            decode_header(&bytes),
            Err(FileError::ArchiveFormat {
                file: FileKind::LogSegment,
                offset: 32,
                reason
            })
        );
    }
    assert_eq!(
        FileError::ArchiveFormat {
            file: FileKind::LogSegment,
            offset: 32,
            reason: ArchiveFormatError::UnknownOffsetWidth { width: 5 }
        }
        .to_string(),
        "log segment header has a valid checksum but its archive format (bytes 32..36) is not \
         one: offset width 5 is not 2, 4 or 8 bytes; it was written that way"
    );
}

#[test]
fn another_archive_format_decodes_for_the_caller_to_compare() {
    let mut bytes = encode_header(&header(1));
    bytes[32..36].copy_from_slice(&[2, 4, 1, 0]);
    reseal_header(&mut bytes);
    let decoded = decode_header(&bytes).unwrap();
    assert_eq!(decoded.archive_format.endianness, Endianness::Big);
    assert_ne!(decoded.archive_format, ArchiveFormat::current());
}

#[test]
fn non_zero_reserved_bytes() {
    for at in 36..40 {
        let mut bytes = encode_header(&header(1));
        bytes[at] = 0x10;
        assert!(matches!(
            decode_header(&bytes),
            Err(FileError::ChecksumMismatch { .. })
        ));
        reseal_header(&mut bytes);
        assert_eq!(
            decode_header(&bytes),
            Err(FileError::Log(LogFault::HeaderReserved))
        );
    }
}

#[test]
fn non_zero_padding() {
    for at in 44..48 {
        let mut bytes = encode_header(&header(1));
        bytes[at] = 0xff;
        assert_eq!(
            decode_header(&bytes),
            Err(FileError::Log(LogFault::HeaderPadding))
        );
    }
    assert_eq!(
        FileError::Log(LogFault::HeaderPadding).to_string(),
        "log segment header has non-zero padding in bytes 44..48"
    );
}

#[test]
fn checks_after_the_checksum_run_in_field_order() {
    // Flags, archive format, reserved bytes and padding all wrong: flags.
    let mut bytes = encode_header(&header(1));
    bytes[12] = 2;
    bytes[32] = 0;
    bytes[36] = 1;
    bytes[44] = 1;
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::UnsupportedFlags {
            file: FileKind::LogSegment,
            flags: 2
        })
    );
    // Then the archive format...
    bytes[12] = 0;
    reseal_header(&mut bytes);
    assert!(matches!(
        decode_header(&bytes),
        Err(FileError::ArchiveFormat { .. })
    ));
    // ...the reserved bytes...
    bytes[32] = 1;
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::Log(LogFault::HeaderReserved))
    );
    // ...and the padding.
    bytes[36] = 0;
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(FileError::Log(LogFault::HeaderPadding))
    );
}

#[test]
fn a_header_reads_back_from_its_48_bytes() -> Result<(), FileError> {
    let header = SegmentHeader {
        schema_fingerprint: 0xfeed,
        first_seq: 100,
        archive_format: ArchiveFormat::current(),
        database: false,
    };
    let bytes = encode_header(&header);
    assert_eq!(&bytes[..8], b"WTLOG\0\0\0");
    assert_eq!(decode_header(&bytes)?, header);
    Ok(())
}
