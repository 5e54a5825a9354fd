//! `decode`: each way a file can be wrong outside its schema description
//! has its own error, found in the documented order.

use super::encoding::FIXTURE_V2;
use super::{reseal, sample};
use crate::file_error::{FileError, FileKind};
use crate::format::{ArchiveFormatError, Endianness};
use crate::meta::{MAGIC, MAX_LEN, MIN_LEN, Meta, MetadataFault, MetadataField, decode, encode};

/// Offset of the fixture's checksum: everything before it is covered.
const FIXTURE_CRC_AT: usize = 138;

fn fixture() -> Vec<u8> {
    FIXTURE_V2.to_vec()
}

/// The fixture with the bytes at `at` replaced by `new`, resealed.
fn with(at: usize, new: &[u8]) -> Vec<u8> {
    let mut bytes = fixture();
    bytes[at..at + new.len()].copy_from_slice(new);
    reseal(&mut bytes);
    bytes
}

/// The fixture with its table name length set to `len`, resealed.
fn with_name_len(len: u16) -> Vec<u8> {
    with(28, &len.to_le_bytes())
}

/// The fixture with its key state length set to `len`, resealed.
fn with_key_state_len(len: u16) -> Vec<u8> {
    with(60, &len.to_le_bytes())
}

/// The fixture with its schema length set to `len`, resealed.
fn with_schema_len(len: u32) -> Vec<u8> {
    with(70, &len.to_le_bytes())
}

#[test]
fn too_short_to_hold_the_magic_and_version() {
    for len in [0, 1, 8, 11] {
        assert_eq!(
            decode(&FIXTURE_V2[..len]),
            Err(FileError::TooShort {
                file: FileKind::Metadata,
                min: MIN_LEN,
                len
            })
        );
    }
    // Under 12 bytes even a wrong magic is reported as too short.
    assert_eq!(
        decode(b"hello"),
        Err(FileError::TooShort {
            file: FileKind::Metadata,
            min: MIN_LEN,
            len: 5
        })
    );
}

#[test]
fn too_short_for_the_fixed_fields() {
    for len in [12, 30, MIN_LEN - 1] {
        assert_eq!(
            decode(&FIXTURE_V2[..len]),
            Err(FileError::TooShort {
                file: FileKind::Metadata,
                min: MIN_LEN,
                len
            })
        );
    }
    assert_eq!(
        FileError::TooShort {
            file: FileKind::Metadata,
            min: MIN_LEN,
            len: 76
        }
        .to_string(),
        "metadata file is 76 bytes long, shorter than the 77 bytes of the smallest metadata file"
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = fixture();
    bytes[5] = b'B';
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::BadMagic {
            file: FileKind::Metadata,
            expected: MAGIC,
            found: *b"WTMETB\0\0"
        }
    );
    assert_eq!(
        err.to_string(),
        r#"not a metadata file: bytes 0..8 are "WTMETB\x00\x00", not the metadata magic "WTMETA\0\0""#
    );
}

#[test]
fn all_zero_file_is_wrong_magic() {
    for len in [12, MIN_LEN, 4096] {
        assert_eq!(
            decode(&vec![0; len]),
            Err(FileError::BadMagic {
                file: FileKind::Metadata,
                expected: MAGIC,
                found: [0; 8]
            })
        );
    }
}

#[test]
fn a_log_segment_is_not_a_metadata_file() {
    let header = crate::log::encode_header(&crate::log::SegmentHeader {
        schema_fingerprint: 1,
        first_seq: 1,
        archive_format: crate::format::ArchiveFormat::current(),
        database: false,
    });
    assert_eq!(
        decode(&header),
        Err(FileError::BadMagic {
            file: FileKind::Metadata,
            expected: MAGIC,
            found: *b"WTLOG\0\0\0"
        })
    );
}

#[test]
fn newer_format_version_is_reported_as_such() {
    let mut bytes = fixture();
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let expected = Err(FileError::UnsupportedVersion {
        file: FileKind::Metadata,
        found: 3,
        supported: 2,
    });
    // Stale checksum: the version is still what is reported.
    assert_eq!(decode(&bytes), expected);
    reseal(&mut bytes);
    assert_eq!(decode(&bytes), expected);
    // Whatever the length: a newer version may be shorter or longer.
    assert_eq!(decode(&bytes[..12]), expected);
    bytes.resize(MAX_LEN + 1000, 0x55);
    assert_eq!(decode(&bytes), expected);
    assert_eq!(
        decode(&bytes).unwrap_err().to_string(),
        "metadata file has format version 3 (bytes 8..12); this build reads only version 2: the file was written by a newer worktable, or it is damaged"
    );
}

#[test]
fn older_format_versions_are_reported_as_older_without_a_converter() {
    for version in [0u32, 1] {
        let mut bytes = fixture();
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let expected = FileError::UnsupportedVersion {
            file: FileKind::Metadata,
            found: version,
            supported: 2,
        };
        assert_eq!(decode(&bytes), Err(expected.clone()));
        reseal(&mut bytes);
        assert_eq!(decode(&bytes), Err(expected.clone()));
        assert_eq!(decode(&bytes[..12]), Err(expected.clone()));
        assert_eq!(
            expected.to_string(),
            format!(
                "metadata file has format version {version} (bytes 8..12): it was written by an \
                 older worktable format (version {version}); this build reads only version 2 and \
                 no converter exists: re-create the table from its rows"
            )
        );
    }
}

#[test]
fn longer_than_any_version_2_file() {
    let mut bytes = fixture();
    bytes.resize(MAX_LEN + 1, 0);
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(FileError::TooLong {
            file: FileKind::Metadata,
            max: MAX_LEN,
            len: MAX_LEN as u64 + 1
        })
    );
    assert_eq!(
        FileError::TooLong {
            file: FileKind::Metadata,
            max: MAX_LEN,
            len: 2_000_000
        }
        .to_string(),
        "metadata file is 2000000 bytes long, longer than the 1114430 bytes of the largest version 2 metadata file"
    );
}

#[test]
fn damaged_byte_is_a_checksum_error() {
    let mut bytes = fixture();
    bytes[36] ^= 0x01; // checkpoint seq 41 -> 40
    let stored = u32::from_le_bytes(bytes[FIXTURE_CRC_AT..].try_into().unwrap());
    let computed = crc32c::crc32c(&bytes[..FIXTURE_CRC_AT]);
    assert_ne!(stored, computed);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::ChecksumMismatch {
            file: FileKind::Metadata,
            offset: FIXTURE_CRC_AT,
            stored,
            computed
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "metadata file is damaged: the checksum at byte offset 138 is {stored:#010x}, but bytes 0..138 sum to {computed:#010x}"
        )
    );
}

#[test]
fn damaged_checksum_is_a_checksum_error() {
    let mut bytes = fixture();
    bytes[FIXTURE_CRC_AT + 3] ^= 0x80;
    assert!(matches!(
        decode(&bytes),
        Err(FileError::ChecksumMismatch { offset: 138, .. })
    ));
}

#[test]
fn damage_to_the_schema_is_a_checksum_error() {
    for at in [74, 100, 127, 137] {
        let mut bytes = fixture();
        bytes[at] ^= 0x04;
        assert!(matches!(
            decode(&bytes),
            Err(FileError::ChecksumMismatch { offset: 138, .. })
        ));
    }
}

#[test]
fn cut_or_extended_file_is_a_checksum_error() {
    for len in [MIN_LEN, FIXTURE_V2.len() - 1] {
        assert!(matches!(
            decode(&FIXTURE_V2[..len]),
            Err(FileError::ChecksumMismatch { offset, .. }) if offset == len - 4
        ));
    }
    for extra in [&[0u8][..], &[0; 4], b"garbage"] {
        let mut bytes = fixture();
        bytes.extend_from_slice(extra);
        assert!(matches!(
            decode(&bytes),
            Err(FileError::ChecksumMismatch { .. })
        ));
    }
}

#[test]
fn unknown_flags() {
    let mut bytes = fixture();
    bytes[15] = 0x80;
    // Without a matching checksum a flipped flag is damage...
    assert!(matches!(
        decode(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
    // ...and with one, a flag this build does not know.
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedFlags {
            file: FileKind::Metadata,
            flags: 0x8000_0000
        }
    );
    assert_eq!(
        err.to_string(),
        "metadata file sets flags 0x80000000 (bytes 12..16), which this build does not know"
    );
}

#[test]
fn an_archive_format_that_is_not_one() {
    let cases = [
        (
            [0, 4, 1, 0],
            ArchiveFormatError::UnknownEndianness { code: 0 },
        ),
        (
            [1, 16, 1, 0],
            ArchiveFormatError::UnknownOffsetWidth { width: 16 },
        ),
        (
            [1, 4, 3, 0],
            ArchiveFormatError::UnknownAlignment { code: 3 },
        ),
        (
            [1, 4, 1, 0x20],
            ArchiveFormatError::ReservedNotZero { value: 0x20 },
        ),
    ];
    for (stored, fault) in cases {
        let mut bytes = fixture();
        bytes[16..20].copy_from_slice(&stored);
        assert!(matches!(
            decode(&bytes),
            Err(FileError::ChecksumMismatch { .. })
        ));
        reseal(&mut bytes);
        assert_eq!(
            decode(&bytes),
            Err(FileError::ArchiveFormat {
                file: FileKind::Metadata,
                offset: 16,
                reason: fault
            })
        );
    }
    assert_eq!(
        FileError::ArchiveFormat {
            file: FileKind::Metadata,
            offset: 16,
            reason: ArchiveFormatError::UnknownAlignment { code: 3 }
        }
        .to_string(),
        "metadata file has a valid checksum but its archive format (bytes 16..20) is not one: \
         alignment code 3 is neither 1 (aligned) nor 0 (unaligned); it was written that way"
    );
}

#[test]
fn another_archive_format_decodes_for_the_caller_to_compare() {
    let decoded = decode(&with(16, &[2, 4, 1, 0])).unwrap();
    assert_eq!(decoded.archive_format.endianness, Endianness::Big);
    assert_eq!(
        decoded,
        Meta {
            archive_format: decoded.archive_format,
            ..sample()
        }
    );
}

#[test]
fn table_name_length_over_the_maximum() {
    for len in [256, u16::MAX] {
        assert_eq!(
            decode(&with_name_len(len)),
            Err(FileError::Metadata(MetadataFault::TableNameTooLong {
                len: usize::from(len)
            }))
        );
    }
    assert_eq!(
        FileError::Metadata(MetadataFault::TableNameTooLong { len: 256 }).to_string(),
        "metadata file has a valid checksum but a table name length of 256 (bytes 28..30), over the maximum of 255: it was written that way"
    );
}

#[test]
fn the_longest_key_state_length_is_allowed_but_must_fit() {
    // Every u16 length is within the maximum (a row image is at most
    // 65,535 bytes); one the file does not hold runs past the checksum.
    assert_eq!(
        decode(&with_key_state_len(u16::MAX)),
        Err(FileError::Metadata(MetadataFault::FieldPastEnd {
            field: MetadataField::KeyState,
            offset: 62,
            len: usize::from(u16::MAX),
            checksum_at: FIXTURE_CRC_AT
        }))
    );
}

#[test]
fn a_wrong_length_pushes_a_field_past_the_checksum() {
    // The fixture's fields end at 138. A longer name pushes each later field
    // past that point in turn.
    let cases = [
        (255, MetadataField::TableName, 30, 255),
        (109, MetadataField::TableName, 30, 109),
        (108, MetadataField::CheckpointSeq, 138, 8),
        (100, MetadataField::PageFileGeneration, 138, 8),
        (92, MetadataField::LogSyncedThrough, 138, 8),
        (84, MetadataField::KeyStateLen, 138, 2),
        (83, MetadataField::KeyStateLen, 137, 2),
    ];
    for (name_len, field, offset, len) in cases {
        assert_eq!(
            decode(&with_name_len(name_len)),
            Err(FileError::Metadata(MetadataFault::FieldPastEnd {
                field,
                offset,
                len,
                checksum_at: FIXTURE_CRC_AT
            })),
            "name length {name_len}"
        );
    }
    // A key state one byte shorter: the schema length is read from the
    // state's last byte and three bytes of the real length (0x4000), and the
    // schema runs past the checksum.
    assert_eq!(
        decode(&with_key_state_len(7)),
        Err(FileError::Metadata(MetadataFault::FieldPastEnd {
            field: MetadataField::Schema,
            offset: 73,
            len: 0x4000,
            checksum_at: FIXTURE_CRC_AT
        }))
    );
    let err = decode(&with_schema_len(65)).unwrap_err();
    assert_eq!(
        err,
        FileError::Metadata(MetadataFault::FieldPastEnd {
            field: MetadataField::Schema,
            offset: 74,
            len: 65,
            checksum_at: FIXTURE_CRC_AT
        })
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but its schema (bytes 74..139 by the stored lengths) runs past the checksum at byte offset 138: it was written that way"
    );
}

#[test]
fn schema_length_over_the_maximum() {
    let err = decode(&with_schema_len(1 << 20 | 1)).unwrap_err();
    assert_eq!(
        err,
        FileError::Metadata(MetadataFault::SchemaTooLong {
            offset: 70,
            len: (1 << 20) + 1
        })
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but a schema length of 1048577 (at byte offset 70), over the maximum of 1048576: it was written that way"
    );
    // A key state one byte longer: the schema length is read from the real
    // length's last three bytes and the schema's first byte (1): 2^24.
    assert_eq!(
        decode(&with_key_state_len(9)),
        Err(FileError::Metadata(MetadataFault::SchemaTooLong {
            offset: 71,
            len: 1 << 24
        }))
    );
}

#[test]
fn table_name_that_is_not_utf8() {
    let mut bytes = fixture();
    bytes[32] = 0xff; // "orders" -> "or\xffers"
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::Metadata(MetadataFault::TableNameNotUtf8 { offset: 32 })
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but its table name is not UTF-8 (invalid from byte offset 32): it was written that way"
    );
    // A multi-byte character cut by the name's length.
    let meta = Meta {
        table_name: "ab€".to_owned(),
        ..sample()
    };
    let mut bytes = encode(&meta).unwrap();
    bytes[28..30].copy_from_slice(&4u16.to_le_bytes()); // "ab" + 2 of the 3 bytes of '€'
    bytes.remove(34);
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::TableNameNotUtf8 {
            offset: 32
        }))
    );
}

#[test]
fn bytes_between_the_last_field_and_the_checksum() {
    let mut bytes = fixture();
    bytes.splice(FIXTURE_CRC_AT..FIXTURE_CRC_AT, [0, 0, 0]);
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::Metadata(MetadataFault::TrailingBytes {
            offset: 138,
            checksum_at: 141
        })
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but bytes 138..141 follow its last field: it was written that way"
    );
}

#[test]
fn checks_run_in_the_documented_order() {
    // Flags, an archive format that is not one and a bad name: the flags
    // come first, then the archive format.
    let mut bytes = fixture();
    bytes[12] = 1;
    bytes[16] = 0;
    bytes[30] = 0xff;
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(FileError::UnsupportedFlags {
            file: FileKind::Metadata,
            flags: 1
        })
    );
    bytes[12] = 0;
    reseal(&mut bytes);
    assert!(matches!(
        decode(&bytes),
        Err(FileError::ArchiveFormat { .. })
    ));
    // A bad name and a schema that runs past the checksum: the name first.
    let mut bytes = with_schema_len(65);
    bytes[30] = 0xff;
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::TableNameNotUtf8 {
            offset: 30
        }))
    );
    // A bad schema and trailing bytes: the schema first.
    let mut bytes = fixture();
    bytes[111] = 9; // key source
    bytes.splice(FIXTURE_CRC_AT..FIXTURE_CRC_AT, [0]);
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::UnknownKeySource {
            code: 9,
            offset: 111
        }))
    );
    // Damage and an unknown flag: the checksum comes first.
    let mut bytes = fixture();
    bytes[12] = 1;
    assert!(matches!(
        decode(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
}
