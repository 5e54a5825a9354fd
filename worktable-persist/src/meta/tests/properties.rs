//! Properties over random metadata: every valid `Meta` round-trips; under
//! any damage `decode` never panics and returns the original or an error;
//! one flipped byte is always caught; and `decode` accepts only the exact
//! bytes `encode` writes.

use proptest::prelude::*;

use crate::damage::arb_mutation;
use proptest::sample::Index;

use super::reseal;
use crate::file_error::FileError;
use crate::format::ArchiveFormat;
use crate::meta::{
    MAX_KEY_STATE_LEN, MAX_LEN, MAX_TABLE_NAME_LEN, MIN_LEN, Meta, StoredField, StoredIndex,
    StoredKeySource, StoredSchema, decode, encode,
};

/// A table name of at most 255 bytes: mostly short, any Unicode, and
/// sometimes exactly the longest.
fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "\\PC{0,24}",
        2 => "\\PC{0,63}",
        1 => Just("n".repeat(MAX_TABLE_NAME_LEN)),
    ]
    .prop_map(|name| {
        assert!(name.len() <= MAX_TABLE_NAME_LEN);
        name
    })
}

fn arb_key_state() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..=16),
        1 => proptest::collection::vec(any::<u8>(), 0..=MAX_KEY_STATE_LEN),
    ]
}

/// Any archive format: every one has an encoding.
fn arb_archive_format() -> impl Strategy<Value = ArchiveFormat> {
    (1..=2u8, prop_oneof![Just(2u8), Just(4), Just(8)], 0..=1u8)
        .prop_map(|(e, w, a)| ArchiveFormat::from_bytes([e, w, a, 0]).unwrap())
}

/// A short name of the schema description: any Unicode.
fn arb_schema_str() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn arb_schema() -> impl Strategy<Value = StoredSchema> {
    let field =
        (arb_schema_str(), arb_schema_str()).prop_map(|(name, ty)| StoredField { name, ty });
    let key_source = prop_oneof![
        Just(StoredKeySource::Caller),
        Just(StoredKeySource::AutoIncrement),
        arb_schema_str().prop_map(StoredKeySource::Generator),
    ];
    let index = (
        arb_schema_str(),
        proptest::collection::vec(arb_schema_str(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(name, fields, unique)| StoredIndex {
            name,
            fields,
            unique,
        });
    (
        any::<u32>(),
        proptest::collection::vec(field, 0..5),
        proptest::collection::vec(arb_schema_str(), 0..3),
        key_source,
        proptest::collection::vec(index, 0..3),
    )
        .prop_map(|(version, fields, pk, key_source, indexes)| StoredSchema {
            version,
            fields,
            pk,
            key_source,
            indexes,
        })
}

fn arb_meta() -> impl Strategy<Value = Meta> {
    (
        arb_archive_format(),
        any::<u64>(),
        arb_name(),
        (any::<u64>(), any::<u64>(), any::<u64>()),
        arb_key_state(),
        prop_oneof![1 => Just(StoredSchema::default()), 3 => arb_schema()],
    )
        .prop_map(
            |(
                archive_format,
                schema_fingerprint,
                table_name,
                (checkpoint_seq, page_file_generation, log_synced_through),
                key_state,
                schema,
            )| Meta {
                archive_format,
                schema_fingerprint,
                table_name,
                checkpoint_seq,
                page_file_generation,
                log_synced_through,
                largest_deleted_key: key_state,
                schema,
            },
        )
}

proptest! {
    #[test]
    fn every_valid_meta_round_trips(meta in arb_meta()) {
        let bytes = encode(&meta).unwrap();
        prop_assert!(bytes.len() >= MIN_LEN + meta.table_name.len() + meta.largest_deleted_key.len());
        prop_assert!(bytes.len() <= MAX_LEN);
        prop_assert_eq!(decode(&bytes), Ok(meta));
    }

    /// Any damage: no panic, and the result is the original or an error,
    /// never another `Meta`. (A damaged file whose checksum still matches
    /// would be another `Meta`; for a 32-bit checksum that is a chance of
    /// about 2^-32 per case.)
    #[test]
    fn damage_gives_the_original_or_an_error(
        meta in arb_meta(),
        mutations in proptest::collection::vec(arb_mutation(), 1..4),
    ) {
        let original = encode(&meta).unwrap();
        let mut bytes = original.clone();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        match decode(&bytes) {
            Ok(decoded) => {
                prop_assert_eq!(&bytes, &original);
                prop_assert_eq!(decoded, meta);
            }
            Err(_) => prop_assert_ne!(&bytes, &original),
        }
    }

    /// One flipped byte is always caught (CRC32C detects every error
    /// confined to 32 consecutive bits), and reported by the first check
    /// that covers it.
    #[test]
    fn one_flipped_byte_is_always_an_error(meta in arb_meta(), at in any::<Index>(), mask in 1..=255u8) {
        let mut bytes = encode(&meta).unwrap();
        let at = at.index(bytes.len());
        bytes[at] ^= mask;
        let result = decode(&bytes);
        match at {
            0..8 => prop_assert!(matches!(result, Err(FileError::BadMagic { .. })), "{:?}", result),
            8..12 => prop_assert!(matches!(result, Err(FileError::UnsupportedVersion { .. })), "{:?}", result),
            _ => prop_assert!(matches!(result, Err(FileError::ChecksumMismatch { .. })), "{:?}", result),
        }
    }

    /// Any cut: an error.
    #[test]
    fn a_cut_file_is_an_error(meta in arb_meta(), cut in any::<Index>()) {
        let bytes = encode(&meta).unwrap();
        let cut = cut.index(bytes.len());
        prop_assert!(decode(&bytes[..cut]).is_err());
    }

    /// Damage that a writer resealed, so that every check after the
    /// checksum runs on it: no panic, and whatever decodes re-encodes to
    /// exactly the same bytes. No two files decode to the same `Meta`.
    #[test]
    fn decode_accepts_only_what_encode_writes(
        meta in arb_meta(),
        mutations in proptest::collection::vec(arb_mutation(), 1..4),
    ) {
        let mut bytes = encode(&meta).unwrap();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        if bytes.len() >= 4 {
            reseal(&mut bytes);
        }
        if let Ok(decoded) = decode(&bytes) {
            prop_assert_eq!(encode(&decoded).unwrap(), bytes);
        }
    }

    /// Arbitrary bytes, with and without the magic and version in front:
    /// no panic, and anything accepted is canonical.
    #[test]
    fn arbitrary_bytes_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..1400),
        prefixed in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        if prefixed {
            // Magic, version, flags and this build's archive format.
            bytes.extend_from_slice(b"WTMETA\0\0\x02\0\0\0\0\0\0\0\x01\x04\x01\0");
        }
        bytes.extend_from_slice(&tail);
        if prefixed && bytes.len() >= 24 {
            reseal(&mut bytes);
        }
        if let Ok(decoded) = decode(&bytes) {
            prop_assert_eq!(encode(&decoded).unwrap(), bytes);
        }
    }
}

proptest! {
    /// Arbitrary bytes as the schema description of a file otherwise
    /// valid, resealed: no panic, and anything accepted is canonical.
    #[test]
    fn arbitrary_schema_bytes_never_panic(
        described in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            // Mostly small numbers: counts and lengths that stay in range.
            proptest::collection::vec(0..4u8, 0..300),
        ],
    ) {
        let mut bytes = encode(&Meta {
            schema: StoredSchema::default(),
            ..Meta {
                archive_format: ArchiveFormat::current(),
                schema_fingerprint: 1,
                table_name: "t".to_owned(),
                checkpoint_seq: 2,
                page_file_generation: 3,
                log_synced_through: 4,
                largest_deleted_key: Vec::new(),
                schema: StoredSchema::default(),
            }
        })
        .unwrap();
        // The schema length is at 57..61 and the schema after it.
        bytes.truncate(61);
        bytes[57..61].copy_from_slice(&(described.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&described);
        bytes.extend_from_slice(&[0; 4]);
        reseal(&mut bytes);
        if let Ok(decoded) = decode(&bytes) {
            prop_assert_eq!(encode(&decoded).unwrap(), bytes);
        }
    }
}
