//! The encoded bytes, field by field, round trips at the limits, and the
//! encoder's refusals.

use super::sample;
use crate::meta::{
    EncodeError, FORMAT_VERSION, MAGIC, MAX_LEN, MAX_NEXT_KEY_LEN, MAX_TABLE_NAME_LEN, MIN_LEN,
    Meta, decode, encode,
};

/// A version 1 metadata file written by hand from `docs/format.md`:
/// fingerprint 0x0123456789abcdef, table `orders`, checkpoint seq 41, page
/// file generation 3, next-key state the 8 bytes of 42u64. The checksum was
/// computed with an independent bitwise CRC32C. The format must keep
/// reading these exact bytes.
pub(super) const FIXTURE_V1: &[u8] = &[
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

#[test]
fn encoder_writes_the_version_1_fixture_byte_for_byte() {
    assert_eq!(encode(&sample()).unwrap(), FIXTURE_V1);
}

#[test]
fn version_1_fixture_decodes_to_its_fields() {
    assert_eq!(decode(FIXTURE_V1), Ok(sample()));
}

#[test]
fn smallest_file_is_min_len_bytes() {
    let meta = Meta {
        schema_fingerprint: 0,
        table_name: String::new(),
        checkpoint_seq: 0,
        page_file_generation: 0,
        next_key: Vec::new(),
    };
    let bytes = encode(&meta).unwrap();
    assert_eq!(MIN_LEN, 48);
    assert_eq!(bytes.len(), MIN_LEN);
    // Checked against an independent bitwise CRC32C.
    assert_eq!(bytes[44..], 0x6a1c_171e_u32.to_le_bytes());
    assert_eq!(decode(&bytes), Ok(meta));
}

#[test]
fn layout_matches_the_spec() {
    let meta = Meta {
        schema_fingerprint: 0x1122_3344_5566_7788,
        table_name: "t€".to_owned(),
        checkpoint_seq: u64::MAX - 1,
        page_file_generation: 9,
        next_key: vec![0xaa, 0xbb, 0xcc],
    };
    let bytes = encode(&meta).unwrap();
    let n = meta.table_name.len();
    assert_eq!(n, 4);
    assert_eq!(bytes.len(), MIN_LEN + n + 3);
    assert_eq!(bytes[0..8], MAGIC);
    assert_eq!(&bytes[0..8], b"WTMETA\0\0");
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12..16], [0; 4]);
    assert_eq!(bytes[16..24], meta.schema_fingerprint.to_le_bytes());
    assert_eq!(bytes[24..26], 4u16.to_le_bytes());
    assert_eq!(&bytes[26..26 + n], "t€".as_bytes());
    let at = 26 + n;
    assert_eq!(bytes[at..at + 8], meta.checkpoint_seq.to_le_bytes());
    assert_eq!(bytes[at + 8..at + 16], 9u64.to_le_bytes());
    assert_eq!(bytes[at + 16..at + 18], 3u16.to_le_bytes());
    assert_eq!(bytes[at + 18..at + 21], [0xaa, 0xbb, 0xcc]);
    let crc_at = at + 21;
    assert_eq!(crc_at, bytes.len() - 4);
    assert_eq!(
        bytes[crc_at..],
        crc32c::crc32c(&bytes[..crc_at]).to_le_bytes()
    );
}

#[test]
fn round_trips_at_the_limits() {
    let cases = [
        (String::new(), vec![], 0, 0),
        ("a".to_owned(), vec![0], u64::MAX, u64::MAX),
        // 85 three-byte characters: 255 bytes, the longest name.
        ("€".repeat(85), vec![0xff; MAX_NEXT_KEY_LEN], 1, 2),
        ("x".repeat(MAX_TABLE_NAME_LEN), vec![], 7, 0),
    ];
    for (name, next_key, checkpoint_seq, page_file_generation) in cases {
        let meta = Meta {
            schema_fingerprint: u64::MAX,
            table_name: name,
            checkpoint_seq,
            page_file_generation,
            next_key,
        };
        let bytes = encode(&meta).unwrap();
        assert_eq!(
            bytes.len(),
            MIN_LEN + meta.table_name.len() + meta.next_key.len()
        );
        assert_eq!(decode(&bytes), Ok(meta));
    }
}

#[test]
fn largest_file_is_max_len_bytes() {
    let meta = Meta {
        schema_fingerprint: 1,
        table_name: "n".repeat(MAX_TABLE_NAME_LEN),
        checkpoint_seq: 2,
        page_file_generation: 3,
        next_key: vec![4; MAX_NEXT_KEY_LEN],
    };
    let bytes = encode(&meta).unwrap();
    assert_eq!(MAX_LEN, 65_838);
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
        assert_eq!(encode(&meta), Err(EncodeError::TableNameTooLong { len }));
    }
    // 86 three-byte characters: 258 bytes, though only 86 characters.
    let meta = Meta {
        table_name: "€".repeat(86),
        ..sample()
    };
    assert_eq!(
        encode(&meta),
        Err(EncodeError::TableNameTooLong { len: 258 })
    );
    assert_eq!(
        EncodeError::TableNameTooLong { len: 258 }.to_string(),
        "table name is 258 bytes long; a metadata file holds at most 255"
    );
}

#[test]
fn encoder_refuses_a_next_key_state_over_65535_bytes() {
    for len in [MAX_NEXT_KEY_LEN + 1, usize::from(u16::MAX) + 2] {
        let meta = Meta {
            next_key: vec![0; len],
            ..sample()
        };
        assert_eq!(encode(&meta), Err(EncodeError::NextKeyTooLong { len }));
    }
    assert_eq!(
        EncodeError::NextKeyTooLong { len: 65536 }.to_string(),
        "next-key state is 65536 bytes long; a metadata file holds at most 65535"
    );
}
