//! `decode`: each way the schema description inside a checksum-valid file
//! can be wrong has its own error, naming the field and its byte offset.
//!
//! Offsets in the fixture's schema (which starts at 74 and ends at 138):
//! version 74, field count 78, field 0 at 80 ("id" at 82, "u64" at 86),
//! field 1 at 89 ("client" at 91, "String" at 99), primary-key count 105,
//! "id" at 109, key source 111, generator path 112, index count 114, index
//! 0's name at 116 ("by_client" at 118), its unique flag 127, its field
//! count 128, its field "client" at 132.

use super::encoding::FIXTURE_V2;
use super::{reseal, sample, sample_schema};
use crate::file_error::FileError;
use crate::meta::{Meta, MetadataFault, MetadataField, StoredKeySource, decode, encode};

/// Offset of the fixture's schema description.
const SCHEMA_AT: usize = 74;

/// Offset of the fixture's schema length field.
const SCHEMA_LEN_AT: usize = 70;

/// The fixture with `edit` applied to it, its schema length set to what
/// the schema then spans (the bytes from 74 to the checksum), resealed.
fn edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = FIXTURE_V2.to_vec();
    edit(&mut bytes);
    let schema_len = (bytes.len() - 4 - SCHEMA_AT) as u32;
    bytes[SCHEMA_LEN_AT..SCHEMA_AT].copy_from_slice(&schema_len.to_le_bytes());
    reseal(&mut bytes);
    bytes
}

#[test]
fn the_fixture_has_the_documented_offsets() {
    assert_eq!(&FIXTURE_V2[82..84], b"id");
    assert_eq!(&FIXTURE_V2[86..89], b"u64");
    assert_eq!(&FIXTURE_V2[91..97], b"client");
    assert_eq!(&FIXTURE_V2[99..105], b"String");
    assert_eq!(&FIXTURE_V2[109..111], b"id");
    assert_eq!(FIXTURE_V2[111], 1);
    assert_eq!(&FIXTURE_V2[118..127], b"by_client");
    assert_eq!(FIXTURE_V2[127], 1);
    assert_eq!(&FIXTURE_V2[132..138], b"client");
}

#[test]
fn a_field_past_the_schemas_end() {
    // A schema of 2 bytes: not even its version fits (the rest of the
    // fields are then trailing bytes, found only after the schema).
    let mut bytes = FIXTURE_V2.to_vec();
    bytes[SCHEMA_LEN_AT..SCHEMA_AT].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut bytes);
    assert_eq!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::SchemaFieldPastEnd {
            field: MetadataField::SchemaVersion,
            offset: 74,
            len: 4,
            schema_end: 76
        }))
    );
    // One byte short: the last field of the last index does not fit.
    let mut bytes = FIXTURE_V2.to_vec();
    bytes[SCHEMA_LEN_AT..SCHEMA_AT].copy_from_slice(&63u32.to_le_bytes());
    reseal(&mut bytes);
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::Metadata(MetadataFault::SchemaFieldPastEnd {
            field: MetadataField::IndexField { index: 0, field: 0 },
            offset: 132,
            len: 6,
            schema_end: 137
        })
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but, in its schema, the field 0 of index 0 (bytes \
         132..138 by the stored lengths) runs past the schema's end at byte offset 137: it was \
         written that way"
    );
}

#[test]
fn a_wrong_count_pushes_a_field_past_the_schemas_end() {
    // Three fields: the third's name is read from the primary-key count
    // (length 1: the byte 0x02), its type's length from bytes 108..110
    // (0x6900), which runs past the end.
    assert_eq!(
        decode(&edited(|b| b[78] = 3)),
        Err(FileError::Metadata(MetadataFault::SchemaFieldPastEnd {
            field: MetadataField::SchemaFieldType { field: 2 },
            offset: 110,
            len: 0x6900,
            schema_end: 138
        }))
    );
    // Two primary-key fields: the second is read from the key source
    // (length 1: a zero byte), the key source from the index count (1), and
    // the generator path's length from bytes 115..117 (0x0900).
    assert_eq!(
        decode(&edited(|b| b[105] = 2)),
        Err(FileError::Metadata(MetadataFault::SchemaFieldPastEnd {
            field: MetadataField::GeneratorPath,
            offset: 117,
            len: 0x0900,
            schema_end: 138
        }))
    );
    // Two indexes: the second's name length is at the schema's end.
    assert_eq!(
        decode(&edited(|b| b[114] = 2)),
        Err(FileError::Metadata(MetadataFault::SchemaFieldPastEnd {
            field: MetadataField::IndexName { index: 1 },
            offset: 138,
            len: 2,
            schema_end: 138
        }))
    );
    // Two fields in the index.
    assert_eq!(
        decode(&edited(|b| b[128] = 2)),
        Err(FileError::Metadata(MetadataFault::SchemaFieldPastEnd {
            field: MetadataField::IndexField { index: 0, field: 1 },
            offset: 138,
            len: 2,
            schema_end: 138
        }))
    );
}

#[test]
fn the_largest_counts_fail_without_allocating_for_them() {
    // 65,535 of each list in a 64-byte schema: each fails once its bytes
    // run out, having allocated for no more entries than the bytes hold.
    for at in [78, 105, 114, 128] {
        let bytes = edited(|b| b[at..at + 2].copy_from_slice(&u16::MAX.to_le_bytes()));
        assert!(
            matches!(
                decode(&bytes),
                Err(FileError::Metadata(
                    MetadataFault::SchemaFieldPastEnd { .. }
                ))
            ),
            "count at {at}: {:?}",
            decode(&bytes)
        );
    }
}

#[test]
fn a_string_that_is_not_utf8() {
    let cases = [
        (82, MetadataField::SchemaFieldName { field: 0 }),
        (87, MetadataField::SchemaFieldType { field: 0 }),
        (104, MetadataField::SchemaFieldType { field: 1 }),
        (110, MetadataField::PkField { pk: 0 }),
        (126, MetadataField::IndexName { index: 0 }),
        (132, MetadataField::IndexField { index: 0, field: 0 }),
    ];
    for (at, field) in cases {
        let bytes = edited(|b| b[at] = 0xc3);
        assert_eq!(
            decode(&bytes),
            Err(FileError::Metadata(MetadataFault::SchemaNotUtf8 {
                field,
                offset: at
            })),
            "byte {at}"
        );
    }
    assert_eq!(
        FileError::Metadata(MetadataFault::SchemaNotUtf8 {
            field: MetadataField::PkField { pk: 0 },
            offset: 110
        })
        .to_string(),
        "metadata file has a valid checksum but, in its schema, the primary-key field 0 is not \
         UTF-8 (invalid from byte offset 110): it was written that way"
    );
}

#[test]
fn an_unknown_key_source() {
    for code in [3u8, 0x80, 0xff] {
        assert_eq!(
            decode(&edited(|b| b[111] = code)),
            Err(FileError::Metadata(MetadataFault::UnknownKeySource {
                code,
                offset: 111
            }))
        );
    }
    assert_eq!(
        FileError::Metadata(MetadataFault::UnknownKeySource {
            code: 3,
            offset: 111
        })
        .to_string(),
        "metadata file has a valid checksum but, in its schema, the key source at byte offset 111 \
         is 3, not 0 (caller-supplied), 1 (autoincrement) or 2 (generator): it was written that \
         way"
    );
}

#[test]
fn only_a_generator_has_a_path() {
    // A path of 4 bytes after each key source.
    let with_path = |code: u8| {
        edited(|b| {
            b[111] = code;
            b[112..114].copy_from_slice(&4u16.to_le_bytes());
            b.splice(114..114, *b"gen!");
        })
    };
    for code in [0u8, 1] {
        assert_eq!(
            decode(&with_path(code)),
            Err(FileError::Metadata(
                MetadataFault::UnexpectedGeneratorPath {
                    code,
                    offset: 114,
                    len: 4
                }
            ))
        );
    }
    let decoded = decode(&with_path(2)).unwrap();
    assert_eq!(
        decoded.schema.key_source,
        StoredKeySource::Generator("gen!".to_owned())
    );
    // A generator with an empty path is what the encoder writes for one.
    let decoded = decode(&edited(|b| b[111] = 2)).unwrap();
    assert_eq!(
        decoded.schema.key_source,
        StoredKeySource::Generator(String::new())
    );
    assert_eq!(
        encode(&decoded).unwrap(),
        edited(|b| b[111] = 2),
        "canonical"
    );
    assert_eq!(
        FileError::Metadata(MetadataFault::UnexpectedGeneratorPath {
            code: 1,
            offset: 114,
            len: 4
        })
        .to_string(),
        "metadata file has a valid checksum but, in its schema, key source 1 has a key generator \
         path of 4 bytes at byte offset 114; only key source 2 (generator) has one: it was written \
         that way"
    );
}

#[test]
fn a_unique_flag_that_is_neither_0_nor_1() {
    for value in [2u8, 0xff] {
        assert_eq!(
            decode(&edited(|b| b[127] = value)),
            Err(FileError::Metadata(MetadataFault::UniqueFlagInvalid {
                index: 0,
                value,
                offset: 127
            }))
        );
    }
    let not_unique = decode(&edited(|b| b[127] = 0)).unwrap();
    assert!(!not_unique.schema.indexes[0].unique);
    assert_eq!(
        FileError::Metadata(MetadataFault::UniqueFlagInvalid {
            index: 0,
            value: 2,
            offset: 127
        })
        .to_string(),
        "metadata file has a valid checksum but, in its schema, the unique flag of index 0 at byte \
         offset 127 is 2, not 0 or 1: it was written that way"
    );
}

#[test]
fn bytes_after_the_last_index() {
    let err = decode(&edited(|b| {
        b.splice(138..138, [0, 0]);
    }))
    .unwrap_err();
    assert_eq!(
        err,
        FileError::Metadata(MetadataFault::SchemaTrailingBytes {
            offset: 138,
            schema_end: 140
        })
    );
    assert_eq!(
        err.to_string(),
        "metadata file has a valid checksum but bytes 138..140 follow the last index of its \
         schema: it was written that way"
    );
}

#[test]
fn schema_checks_run_in_the_order_of_the_bytes() {
    // A bad name and an unknown key source: the name comes first.
    let bytes = edited(|b| {
        b[82] = 0xff;
        b[111] = 7;
    });
    assert!(matches!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::SchemaNotUtf8 {
            offset: 82,
            ..
        }))
    ));
    // An unknown key source and a path that runs past the end: the key
    // source comes first.
    let bytes = edited(|b| {
        b[111] = 7;
        b[112..114].copy_from_slice(&500u16.to_le_bytes());
    });
    assert_eq!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::UnknownKeySource {
            code: 7,
            offset: 111
        }))
    );
    // A bad unique flag and trailing bytes: the flag comes first.
    let bytes = edited(|b| {
        b[127] = 5;
        b.splice(138..138, [0]);
    });
    assert!(matches!(
        decode(&bytes),
        Err(FileError::Metadata(MetadataFault::UniqueFlagInvalid {
            value: 5,
            ..
        }))
    ));
}

#[test]
fn every_edit_the_encoder_could_have_made_decodes() {
    // Sanity of `edited`: an edit that keeps the schema well formed decodes
    // to what the encoder writes for it.
    let bytes = edited(|b| b[127] = 0);
    let mut expected = sample_schema();
    expected.indexes[0].unique = false;
    assert_eq!(
        decode(&bytes),
        Ok(Meta {
            schema: expected,
            ..sample()
        })
    );
}
