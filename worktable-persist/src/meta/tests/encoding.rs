//! The encoded bytes, field by field, round trips at the limits, the
//! encoder's refusals, and the version 1 layout refused as an older format.

use super::{bitwise_crc32c, empty, keyed_by_id_and, orders_at_41, sample, sample_schema};
use crate::codec::FORMAT_VERSION;
use crate::file_error::{FileError, FileKind};
use crate::format::{Alignment, ArchiveFormat, Endianness, OffsetWidth};
use crate::meta::{
    MAGIC, MAX_KEY_STATE_LEN, MAX_LEN, MAX_SCHEMA_LEN, MAX_TABLE_NAME_LEN, MIN_LEN, Meta,
    MetadataEncodeError, MetadataField, StoredField, StoredIndex, StoredKeySource, StoredSchema,
    decode, encode,
};

/// A version 2 metadata file, as `docs/format.md` shows it: archive format
/// little-endian, 32-bit offsets, aligned; fingerprint 0x0123456789abcdef,
/// table `orders`, checkpoint seq 41, page-file generation 3, log synced
/// through 44, key state the 8 bytes of 42u64, and the schema description
/// of [`sample_schema`]. Computed by the encoder, the checksum
/// cross-checked with an independent bitwise CRC32C, then frozen: the
/// format must keep reading these exact bytes.
pub(super) const FIXTURE_V2: &[u8] = &[
    b'W', b'T', b'M', b'E', b'T', b'A', 0, 0, // magic
    0x02, 0x00, 0x00, 0x00, // format version 2
    0x00, 0x00, 0x00, 0x00, // flags
    0x01, 0x04, 0x01, 0x00, // archive format: little-endian, 32-bit, aligned
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x06, 0x00, // table name length 6
    b'o', b'r', b'd', b'e', b'r', b's', // table name
    0x29, 0, 0, 0, 0, 0, 0, 0, // checkpoint seq 41
    0x03, 0, 0, 0, 0, 0, 0, 0, // page-file generation 3
    0x2c, 0, 0, 0, 0, 0, 0, 0, // log synced through 44
    0x08, 0x00, // key state length 8
    0x2a, 0, 0, 0, 0, 0, 0, 0, // key state
    0x40, 0x00, 0x00, 0x00, // schema length 64
    // schema, at offset 74
    0x01, 0x00, 0x00, 0x00, // schema version 1
    0x02, 0x00, // 2 fields
    0x02, 0x00, b'i', b'd', // field 0: name "id"
    0x03, 0x00, b'u', b'6', b'4', // type "u64"
    0x06, 0x00, b'c', b'l', b'i', b'e', b'n', b't', // field 1: name "client"
    0x06, 0x00, b'S', b't', b'r', b'i', b'n', b'g', // type "String"
    0x01, 0x00, // 1 primary-key field
    0x02, 0x00, b'i', b'd', // "id"
    0x01, // key source: autoincrement
    0x00, 0x00, // generator path: empty
    0x01, 0x00, // 1 index
    0x09, 0x00, b'b', b'y', b'_', b'c', b'l', b'i', b'e', b'n', b't', // name "by_client"
    0x01, // unique
    0x01, 0x00, // 1 field
    0x06, 0x00, b'c', b'l', b'i', b'e', b'n', b't', // "client"
    0xb1, 0xcf, 0x35, 0x01, // CRC32C of bytes 0..138
];

/// A version 1 metadata file (the layout before version 2: no archive
/// format, no log-synced-through sequence number, no schema description):
/// fingerprint 0x0123456789abcdef, table `orders`, checkpoint seq 41, page
/// file generation 3, next-key state the 8 bytes of 42u64. This build does
/// not read it, and must say it is of an older format.
const FIXTURE_V1: &[u8] = &[
    b'W', b'T', b'M', b'E', b'T', b'A', 0, 0, // magic
    0x01, 0x00, 0x00, 0x00, // format version 1
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x06, 0x00, // table name length 6
    b'o', b'r', b'd', b'e', b'r', b's', // table name
    0x29, 0, 0, 0, 0, 0, 0, 0, // checkpoint seq 41
    0x03, 0, 0, 0, 0, 0, 0, 0, // page-file generation 3
    0x08, 0x00, // next-key state length 8
    0x2a, 0, 0, 0, 0, 0, 0, 0, // next-key state
    0xaf, 0xa0, 0x21, 0x8b, // CRC32C of bytes 0..58
];

/// A schema description whose encoding is exactly `len` bytes (at least
/// 13 + 4): fields without a type, each name as long as it may be.
fn schema_of_len(len: usize) -> StoredSchema {
    let mut left = len - 13;
    let mut fields = Vec::new();
    while left > 0 {
        let name_len = (left - 4).min(u16::MAX as usize);
        fields.push(StoredField {
            name: "f".repeat(name_len),
            ty: String::new(),
        });
        left -= 4 + name_len;
    }
    StoredSchema {
        fields,
        ..StoredSchema::default()
    }
}

#[test]
fn encoder_writes_the_version_2_fixture_byte_for_byte() {
    assert_eq!(encode(&sample()).unwrap(), FIXTURE_V2);
    assert_eq!(
        bitwise_crc32c(&FIXTURE_V2[..138]).to_le_bytes(),
        FIXTURE_V2[138..]
    );
}

#[test]
fn version_2_fixture_decodes_to_its_fields() {
    assert_eq!(decode(FIXTURE_V2), Ok(sample()));
}

#[test]
fn version_1_fixture_is_refused_as_an_older_format() {
    // A valid version 1 file: its checksum verifies.
    assert_eq!(
        bitwise_crc32c(&FIXTURE_V1[..58]).to_le_bytes(),
        FIXTURE_V1[58..]
    );
    let err = decode(FIXTURE_V1).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedVersion {
            file: FileKind::Metadata,
            found: 1,
            supported: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "metadata file has format version 1 (bytes 8..12): it was written by an older worktable \
         format (version 1); this build reads only version 2 and no converter exists: re-create \
         the table from its rows"
    );
}

#[test]
fn smallest_file_is_min_len_bytes() {
    let bytes = encode(&empty()).unwrap();
    assert_eq!(MIN_LEN, 77);
    assert_eq!(bytes.len(), MIN_LEN);
    // The default schema description: version 0, no field, no key field,
    // caller-supplied keys, no generator path, no index.
    assert_eq!(bytes[56..60], 13u32.to_le_bytes());
    assert_eq!(bytes[60..73], [0; 13]);
    // Checked against an independent bitwise CRC32C.
    assert_eq!(bytes[73..], 0x7701_c056_u32.to_le_bytes());
    assert_eq!(bitwise_crc32c(&bytes[..73]), 0x7701_c056);
    assert_eq!(decode(&bytes), Ok(empty()));
}

#[test]
fn layout_matches_the_spec() {
    let meta = Meta {
        archive_format: ArchiveFormat {
            endianness: Endianness::Big,
            offset_width: OffsetWidth::Bits64,
            alignment: Alignment::Unaligned,
        },
        schema_fingerprint: 0x1122_3344_5566_7788,
        table_name: "t€".to_owned(),
        checkpoint_seq: u64::MAX - 1,
        page_file_generation: 9,
        log_synced_through: 0x0102_0304,
        largest_deleted_key: vec![0xaa, 0xbb, 0xcc],
        schema: StoredSchema::default(),
    };
    let bytes = encode(&meta).unwrap();
    let n = meta.table_name.len();
    assert_eq!(n, 4);
    assert_eq!(bytes.len(), MIN_LEN + n + 3);
    assert_eq!(bytes[0..8], MAGIC);
    assert_eq!(&bytes[0..8], b"WTMETA\0\0");
    assert_eq!(FORMAT_VERSION, 2);
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12..16], [0; 4]);
    assert_eq!(bytes[16..20], [2, 8, 0, 0]);
    assert_eq!(bytes[20..28], meta.schema_fingerprint.to_le_bytes());
    assert_eq!(bytes[28..30], 4u16.to_le_bytes());
    assert_eq!(&bytes[30..30 + n], "t€".as_bytes());
    let at = 30 + n;
    assert_eq!(bytes[at..at + 8], meta.checkpoint_seq.to_le_bytes());
    assert_eq!(bytes[at + 8..at + 16], 9u64.to_le_bytes());
    assert_eq!(bytes[at + 16..at + 24], 0x0102_0304u64.to_le_bytes());
    assert_eq!(bytes[at + 24..at + 26], 3u16.to_le_bytes());
    assert_eq!(bytes[at + 26..at + 29], [0xaa, 0xbb, 0xcc]);
    assert_eq!(bytes[at + 29..at + 33], 13u32.to_le_bytes());
    let crc_at = at + 33 + 13;
    assert_eq!(crc_at, bytes.len() - 4);
    assert_eq!(
        bytes[crc_at..],
        crc32c::crc32c(&bytes[..crc_at]).to_le_bytes()
    );
}

#[test]
fn schema_layout_matches_the_spec() {
    let schema = StoredSchema {
        version: 0x0a0b_0c0d,
        fields: vec![StoredField {
            name: "k".to_owned(),
            ty: "u8".to_owned(),
        }],
        pk: vec!["k".to_owned(), "k".to_owned()],
        key_source: StoredKeySource::Generator("gen::next".to_owned()),
        indexes: vec![
            StoredIndex {
                name: "a".to_owned(),
                fields: vec![],
                unique: false,
            },
            StoredIndex {
                name: "bc".to_owned(),
                fields: vec!["k".to_owned(), "x".to_owned()],
                unique: true,
            },
        ],
    };
    let bytes = encode(&Meta {
        schema: schema.clone(),
        ..empty()
    })
    .unwrap();
    let described = &bytes[60..bytes.len() - 4];
    let expected: Vec<u8> = [
        &[0x0d, 0x0c, 0x0b, 0x0a][..], // version
        &[1, 0],                       // 1 field
        &[1, 0, b'k', 2, 0, b'u', b'8'],
        &[2, 0], // 2 primary-key fields
        &[1, 0, b'k', 1, 0, b'k'],
        &[2], // key source: generator
        &[9, 0],
        b"gen::next",
        &[2, 0], // 2 indexes
        &[1, 0, b'a', 0, 0, 0],
        &[2, 0, b'b', b'c', 1, 2, 0, 1, 0, b'k', 1, 0, b'x'],
    ]
    .concat();
    assert_eq!(bytes[56..60], (expected.len() as u32).to_le_bytes());
    assert_eq!(described, expected);
    assert_eq!(decode(&bytes).unwrap().schema, schema);
}

#[test]
fn round_trips_at_the_limits() {
    let cases = [
        (String::new(), vec![], 0, StoredSchema::default()),
        ("a".to_owned(), vec![0], u64::MAX, sample_schema()),
        // 85 three-byte characters: 255 bytes, the longest name.
        (
            "€".repeat(85),
            vec![0xff; MAX_KEY_STATE_LEN],
            1,
            StoredSchema {
                key_source: StoredKeySource::Generator("€".repeat(21_845)),
                ..sample_schema()
            },
        ),
        (
            "x".repeat(MAX_TABLE_NAME_LEN),
            vec![],
            7,
            schema_of_len(MAX_SCHEMA_LEN),
        ),
    ];
    for (name, key_state, seq, schema) in cases {
        let meta = Meta {
            archive_format: ArchiveFormat::current(),
            schema_fingerprint: u64::MAX,
            table_name: name,
            checkpoint_seq: seq,
            page_file_generation: seq,
            log_synced_through: seq,
            largest_deleted_key: key_state,
            schema,
        };
        let bytes = encode(&meta).unwrap();
        assert!(bytes.len() <= MAX_LEN);
        assert_eq!(decode(&bytes), Ok(meta));
    }
}

#[test]
fn largest_file_is_max_len_bytes() {
    let meta = Meta {
        table_name: "n".repeat(MAX_TABLE_NAME_LEN),
        largest_deleted_key: vec![4; MAX_KEY_STATE_LEN],
        schema: schema_of_len(MAX_SCHEMA_LEN),
        ..sample()
    };
    let bytes = encode(&meta).unwrap();
    assert_eq!(MAX_SCHEMA_LEN, 1 << 20);
    assert_eq!(MAX_LEN, 1_114_430);
    assert_eq!(bytes.len(), MAX_LEN);
    assert_eq!(decode(&bytes), Ok(meta));
}

#[test]
fn encoder_refuses_a_name_over_255_bytes() {
    for len in [MAX_TABLE_NAME_LEN + 1, usize::from(u16::MAX) + 1] {
        let meta = Meta {
            table_name: "n".repeat(len),
            ..sample()
        };
        assert_eq!(
            encode(&meta),
            Err(MetadataEncodeError::TableNameTooLong { len })
        );
    }
    // 86 three-byte characters: 258 bytes, though only 86 characters.
    let meta = Meta {
        table_name: "€".repeat(86),
        ..sample()
    };
    assert_eq!(
        encode(&meta),
        Err(MetadataEncodeError::TableNameTooLong { len: 258 })
    );
    assert_eq!(
        MetadataEncodeError::TableNameTooLong { len: 258 }.to_string(),
        "table name is 258 bytes long; a metadata file holds at most 255"
    );
}

#[test]
fn encoder_refuses_a_key_state_over_65535_bytes() {
    for len in [MAX_KEY_STATE_LEN + 1, usize::from(u16::MAX) + 2] {
        let meta = Meta {
            largest_deleted_key: vec![0; len],
            ..sample()
        };
        assert_eq!(
            encode(&meta),
            Err(MetadataEncodeError::KeyStateTooLong { len })
        );
    }
    assert_eq!(
        MetadataEncodeError::KeyStateTooLong { len: 65536 }.to_string(),
        "key state is 65536 bytes long; a metadata file holds at most 65535"
    );
}

#[test]
fn encoder_refuses_a_schema_over_1_mib() {
    let meta = Meta {
        schema: schema_of_len(MAX_SCHEMA_LEN + 1),
        ..sample()
    };
    assert_eq!(
        encode(&meta),
        Err(MetadataEncodeError::SchemaTooLong {
            len: MAX_SCHEMA_LEN + 1
        })
    );
    assert_eq!(
        MetadataEncodeError::SchemaTooLong { len: 1_048_577 }.to_string(),
        "schema description is 1048577 bytes long encoded; a metadata file holds at most 1048576"
    );
}

#[test]
fn encoder_refuses_a_schema_list_or_string_over_its_u16() {
    let meta = Meta {
        schema: StoredSchema {
            pk: vec![String::new(); 70_000],
            ..sample_schema()
        },
        ..sample()
    };
    assert_eq!(
        encode(&meta),
        Err(MetadataEncodeError::SchemaCountTooLarge {
            field: MetadataField::PkCount,
            count: 70_000
        })
    );
    let mut schema = sample_schema();
    schema.indexes[0].fields = vec!["f".to_owned(); 65_536];
    assert_eq!(
        encode(&Meta { schema, ..sample() }),
        Err(MetadataEncodeError::SchemaCountTooLarge {
            field: MetadataField::IndexFieldCount { index: 0 },
            count: 65_536
        })
    );
    let mut schema = sample_schema();
    schema.fields[1].ty = "T".repeat(65_536);
    let err = encode(&Meta { schema, ..sample() }).unwrap_err();
    assert_eq!(
        err,
        MetadataEncodeError::SchemaStringTooLong {
            field: MetadataField::SchemaFieldType { field: 1 },
            len: 65_536
        }
    );
    assert_eq!(
        err.to_string(),
        "the schema's type of field 1 is 65536 bytes long; a metadata file holds strings of at \
         most 65535 bytes"
    );
    assert_eq!(
        MetadataEncodeError::SchemaCountTooLarge {
            field: MetadataField::PkCount,
            count: 70_000
        }
        .to_string(),
        "the schema's primary-key field count would be 70000, over the maximum of 65535"
    );
}

#[test]
fn a_file_reads_back_from_its_bytes() -> Result<(), Box<dyn std::error::Error>> {
    let meta = orders_at_41(44, &42u64.to_le_bytes());
    let bytes = encode(&meta)?;
    assert_eq!(&bytes[..8], b"WTMETA\0\0");
    assert_eq!(decode(&bytes)?, meta);
    Ok(())
}

#[test]
fn a_schema_description_reads_back_with_the_file() -> Result<(), Box<dyn std::error::Error>> {
    let schema = keyed_by_id_and("owner", "by_owner");
    let meta = Meta {
        archive_format: ArchiveFormat::current(),
        schema_fingerprint: 0x5eed,
        table_name: "accounts".to_owned(),
        checkpoint_seq: 0,
        page_file_generation: 0,
        log_synced_through: 0,
        largest_deleted_key: Vec::new(),
        schema: schema.clone(),
    };
    assert_eq!(decode(&encode(&meta)?)?.schema, schema);
    Ok(())
}
