//! Properties over random metadata: every valid `Meta` round-trips; under
//! any damage `decode` never panics and returns the original or an error;
//! one flipped byte is always caught; and `decode` accepts only the exact
//! bytes `encode` writes.

use proptest::prelude::*;

use crate::damage::arb_mutation;
use proptest::sample::Index;

use super::reseal;
use crate::meta::{
    DecodeError, MAX_LEN, MAX_NEXT_KEY_LEN, MAX_TABLE_NAME_LEN, MIN_LEN, Meta, decode, encode,
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

fn arb_next_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..=16),
        1 => proptest::collection::vec(any::<u8>(), 0..=MAX_NEXT_KEY_LEN),
    ]
}

fn arb_meta() -> impl Strategy<Value = Meta> {
    (
        any::<u64>(),
        arb_name(),
        any::<u64>(),
        any::<u64>(),
        arb_next_key(),
    )
        .prop_map(
            |(schema_fingerprint, table_name, checkpoint_seq, page_file_generation, next_key)| {
                Meta {
                    schema_fingerprint,
                    table_name,
                    checkpoint_seq,
                    page_file_generation,
                    next_key,
                }
            },
        )
}

proptest! {
    #[test]
    fn every_valid_meta_round_trips(meta in arb_meta()) {
        let bytes = encode(&meta).unwrap();
        prop_assert_eq!(bytes.len(), MIN_LEN + meta.table_name.len() + meta.next_key.len());
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
            0..8 => prop_assert!(matches!(result, Err(DecodeError::BadMagic { .. })), "{:?}", result),
            8..12 => prop_assert!(matches!(result, Err(DecodeError::UnsupportedVersion { .. })), "{:?}", result),
            _ => prop_assert!(matches!(result, Err(DecodeError::Checksum { .. })), "{:?}", result),
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
            bytes.extend_from_slice(b"WTMETA\0\0\x01\0\0\0\0\0\0\0");
        }
        bytes.extend_from_slice(&tail);
        if prefixed && bytes.len() >= 20 {
            reseal(&mut bytes);
        }
        if let Ok(decoded) = decode(&bytes) {
            prop_assert_eq!(encode(&decoded).unwrap(), bytes);
        }
    }
}
