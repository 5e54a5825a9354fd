//! `decode`: each way a file can be wrong has its own error, found in the
//! documented order.

use super::encoding::FIXTURE_V1;
use super::{reseal, sample};
use crate::meta::{DecodeError, Field, MAX_LEN, MIN_LEN, Meta, decode, encode};

/// Offset of the fixture's checksum: everything before it is covered.
const FIXTURE_CRC_AT: usize = 58;

fn fixture() -> Vec<u8> {
    FIXTURE_V1.to_vec()
}

/// The fixture with its table name length set to `len`, resealed.
fn with_name_len(len: u16) -> Vec<u8> {
    let mut bytes = fixture();
    bytes[24..26].copy_from_slice(&len.to_le_bytes());
    reseal(&mut bytes);
    bytes
}

/// The fixture with its next-key state length set to `len`, resealed.
fn with_next_key_len(len: u16) -> Vec<u8> {
    let mut bytes = fixture();
    bytes[48..50].copy_from_slice(&len.to_le_bytes());
    reseal(&mut bytes);
    bytes
}

#[test]
fn too_short_to_hold_the_magic_and_version() {
    for len in [0, 1, 8, 11] {
        assert_eq!(
            decode(&FIXTURE_V1[..len]),
            Err(DecodeError::TooShort { len })
        );
    }
    // Under 12 bytes even a wrong magic is reported as too short.
    assert_eq!(decode(b"hello"), Err(DecodeError::TooShort { len: 5 }));
}

#[test]
fn too_short_for_the_fixed_fields() {
    for len in [12, 26, MIN_LEN - 1] {
        assert_eq!(
            decode(&FIXTURE_V1[..len]),
            Err(DecodeError::TooShort { len })
        );
    }
    assert_eq!(
        DecodeError::TooShort { len: 47 }.to_string(),
        "metadata file is 47 bytes long, shorter than the 48 bytes of the smallest metadata file"
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = fixture();
    bytes[5] = b'B';
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::BadMagic {
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
            Err(DecodeError::BadMagic { found: [0; 8] })
        );
    }
}

#[test]
fn a_log_segment_is_not_a_metadata_file() {
    let header = crate::log::encode_header(&crate::log::SegmentHeader {
        schema_fingerprint: 1,
        first_seq: 1,
        archive_format: crate::format::ArchiveFormat::current(),
    });
    assert_eq!(
        decode(&header),
        Err(DecodeError::BadMagic {
            found: *b"WTLOG\0\0\0"
        })
    );
}

#[test]
fn newer_format_version_is_reported_as_such() {
    let mut bytes = fixture();
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let expected = Err(DecodeError::UnsupportedVersion {
        found: 2,
        supported: 1,
    });
    // Stale checksum: the version is still what is reported.
    assert_eq!(decode(&bytes), expected);
    reseal(&mut bytes);
    assert_eq!(decode(&bytes), expected);
    // Whatever the length: a newer version may be shorter or longer.
    assert_eq!(decode(&bytes[..12]), expected);
    bytes.resize(MAX_LEN * 4, 0x55);
    assert_eq!(decode(&bytes), expected);
    assert_eq!(
        decode(&bytes).unwrap_err().to_string(),
        "metadata file has format version 2 (bytes 8..12); this build reads only version 1: the file was written by a newer worktable, or it is damaged"
    );
}

#[test]
fn format_version_zero_is_unsupported() {
    let mut bytes = fixture();
    bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::UnsupportedVersion {
            found: 0,
            supported: 1
        })
    );
}

#[test]
fn longer_than_any_version_1_file() {
    let mut bytes = fixture();
    bytes.resize(MAX_LEN + 1, 0);
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::TooLong {
            len: MAX_LEN as u64 + 1
        })
    );
    assert_eq!(
        DecodeError::TooLong { len: 70000 }.to_string(),
        "metadata file is 70000 bytes long, longer than the 65838 bytes of the largest version 1 metadata file"
    );
}

#[test]
fn damaged_byte_is_a_checksum_error() {
    let mut bytes = fixture();
    bytes[33] ^= 0x01; // checkpoint seq 41 -> 40
    let stored = u32::from_le_bytes(bytes[FIXTURE_CRC_AT..].try_into().unwrap());
    let computed = crc32c::crc32c(&bytes[..FIXTURE_CRC_AT]);
    assert_ne!(stored, computed);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Checksum {
            offset: FIXTURE_CRC_AT,
            stored,
            computed
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "metadata file is damaged: the checksum at byte offset 58 is {stored:#010x}, but bytes 0..58 sum to {computed:#010x}"
        )
    );
}

#[test]
fn damaged_checksum_is_a_checksum_error() {
    let mut bytes = fixture();
    bytes[FIXTURE_CRC_AT + 3] ^= 0x80;
    assert!(matches!(
        decode(&bytes),
        Err(DecodeError::Checksum { offset: 58, .. })
    ));
}

#[test]
fn cut_or_extended_file_is_a_checksum_error() {
    for len in [MIN_LEN, FIXTURE_V1.len() - 1] {
        assert!(matches!(
            decode(&FIXTURE_V1[..len]),
            Err(DecodeError::Checksum { offset, .. }) if offset == len - 4
        ));
    }
    for extra in [&[0u8][..], &[0; 4], b"garbage"] {
        let mut bytes = fixture();
        bytes.extend_from_slice(extra);
        assert!(matches!(decode(&bytes), Err(DecodeError::Checksum { .. })));
    }
}

#[test]
fn unknown_flags() {
    let mut bytes = fixture();
    bytes[15] = 0x80;
    // Without a matching checksum a flipped flag is damage...
    assert!(matches!(decode(&bytes), Err(DecodeError::Checksum { .. })));
    // ...and with one, a flag this build does not know.
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::UnsupportedFlags { flags: 0x8000_0000 });
    assert_eq!(
        err.to_string(),
        "metadata file sets flags 0x80000000 (bytes 12..16), which this build does not know"
    );
}

#[test]
fn table_name_length_over_the_maximum() {
    for len in [256, u16::MAX] {
        assert_eq!(
            decode(&with_name_len(len)),
            Err(DecodeError::TableNameTooLong {
                len: usize::from(len)
            })
        );
    }
    assert_eq!(
        DecodeError::TableNameTooLong { len: 256 }.to_string(),
        "metadata file has a valid checksum but a table name length of 256 (bytes 24..26), over the maximum of 255: it was written that way"
    );
}

#[test]
fn the_longest_next_key_length_is_allowed_but_must_fit() {
    // Every u16 length is within the maximum (a row image is at most
    // 65,535 bytes); one the file does not hold runs past the checksum.
    assert_eq!(
        decode(&with_next_key_len(u16::MAX)),
        Err(DecodeError::FieldPastEnd {
            field: Field::NextKey,
            offset: 50,
            len: usize::from(u16::MAX),
            checksum_at: FIXTURE_CRC_AT
        })
    );
}

#[test]
fn a_wrong_length_pushes_a_field_past_the_checksum() {
    // The fixture's fields end at 58. A longer name pushes each later field
    // past that point in turn.
    let cases = [
        (255, Field::TableName, 26, 255),
        (33, Field::TableName, 26, 33),
        (30, Field::CheckpointSeq, 56, 8),
        (20, Field::PageFileGeneration, 54, 8),
        (15, Field::NextKeyLen, 57, 2),
    ];
    for (name_len, field, offset, len) in cases {
        assert_eq!(
            decode(&with_name_len(name_len)),
            Err(DecodeError::FieldPastEnd {
                field,
                offset,
                len,
                checksum_at: FIXTURE_CRC_AT
            }),
            "name length {name_len}"
        );
    }
    assert_eq!(
        decode(&with_next_key_len(9)),
        Err(DecodeError::FieldPastEnd {
            field: Field::NextKey,
            offset: 50,
            len: 9,
            checksum_at: FIXTURE_CRC_AT
        })
    );
    assert_eq!(
        decode(&with_next_key_len(9)).unwrap_err().to_string(),
        "metadata file has a valid checksum but its next-key state (bytes 50..59 by the stored lengths) runs past the checksum at byte offset 58: it was written that way"
    );
}

#[test]
fn a_wrong_name_length_shifts_every_later_field() {
    // Name length 5: the next-key length is read from bytes 47..49, the
    // generation's last byte (0) and the real length's low byte (8): 0x0800.
    assert!(matches!(
        decode(&with_name_len(5)),
        Err(DecodeError::FieldPastEnd {
            field: Field::NextKey,
            len: 0x0800,
            ..
        })
    ));
    // Name length 10: the next-key length is read from zero bytes of the
    // state, so the fields end 4 bytes before the checksum.
    assert_eq!(
        decode(&with_name_len(10)),
        Err(DecodeError::TrailingBytes {
            offset: 54,
            checksum_at: FIXTURE_CRC_AT
        })
    );
}

#[test]
fn table_name_that_is_not_utf8() {
    let mut bytes = fixture();
    bytes[28] = 0xff; // "orders" -> "or\xffers"
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::TableNameNotUtf8 { offset: 28 });
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but its table name is not UTF-8 (invalid from byte offset 28): it was written that way"
    );
    // A multi-byte character cut by the name's length.
    let meta = Meta {
        table_name: "ab€".to_owned(),
        ..sample()
    };
    let mut bytes = encode(&meta).unwrap();
    bytes[24..26].copy_from_slice(&4u16.to_le_bytes()); // "ab" + 2 of the 3 bytes of '€'
    bytes.remove(30);
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::TableNameNotUtf8 { offset: 28 })
    );
}

#[test]
fn bytes_between_the_last_field_and_the_checksum() {
    assert_eq!(
        decode(&with_next_key_len(7)),
        Err(DecodeError::TrailingBytes {
            offset: 57,
            checksum_at: FIXTURE_CRC_AT
        })
    );
    let mut bytes = fixture();
    bytes.splice(FIXTURE_CRC_AT..FIXTURE_CRC_AT, [0, 0, 0]);
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::TrailingBytes {
            offset: 58,
            checksum_at: 61
        }
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but bytes 58..61 follow its last field: it was written that way"
    );
}

#[test]
fn checks_run_in_the_documented_order() {
    // Flags and a bad name: the flags come first.
    let mut bytes = fixture();
    bytes[12] = 1;
    bytes[26] = 0xff;
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::UnsupportedFlags { flags: 1 })
    );
    // A bad name and trailing bytes: the name comes first.
    let mut bytes = with_next_key_len(7);
    bytes[26] = 0xff;
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::TableNameNotUtf8 { offset: 26 })
    );
    // Damage and an unknown flag: the checksum comes first.
    let mut bytes = fixture();
    bytes[12] = 1;
    assert!(matches!(decode(&bytes), Err(DecodeError::Checksum { .. })));
}
