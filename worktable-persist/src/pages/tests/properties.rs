//! Properties over random manifests: every valid manifest round-trips;
//! every flipped bit and every cut is an error; under any damage `decode_manifest`
//! never panics and returns the original or an error; `decode_manifest` accepts
//! only what `encode_manifest` writes; and `encode_manifest` refuses exactly the manifests
//! `decode_manifest` rejects, with the same fault.

use proptest::prelude::*;

use crate::damage::arb_mutation;

use super::{reseal, write_unchecked};
use crate::file_error::{FileError, FileKind};
use crate::pages::{
    MANIFEST_MIN_LEN, Manifest, ManifestEncodeError, ManifestFault, PageEntry, RowSlot,
    decode_manifest, encode_manifest,
};

/// The rows of one page: each `(gap, len)` places a row `gap` slots after
/// the previous one's end; rows that would not fit in the page are left
/// out, and a page keeps at least one row.
fn layout(rows: Vec<(u16, u16)>) -> Vec<RowSlot> {
    let mut slots = Vec::new();
    let mut end = 0usize;
    for (gap, len) in rows {
        let offset = end + usize::from(gap) * 16;
        let slot = RowSlot {
            offset: u16::try_from(offset).unwrap_or(u16::MAX),
            len,
        };
        if offset + slot.slot_size() <= 65_536 {
            end = offset + slot.slot_size();
            slots.push(slot);
        }
    }
    if slots.is_empty() {
        slots.push(RowSlot { offset: 0, len: 1 });
    }
    slots
}

fn arb_rows(max_rows: usize) -> impl Strategy<Value = Vec<RowSlot>> {
    let len = prop_oneof![
        8 => 1..=200u16,
        1 => 1..=u16::MAX,
        1 => Just(16u16),
    ];
    let gap = prop_oneof![4 => Just(0u16), 1 => 0..8u16, 1 => 0..4096u16];
    proptest::collection::vec((gap, len), 1..=max_rows).prop_map(layout)
}

/// A manifest that follows every rule: ascending page ids, distinct frames
/// (in any order) below the frame count, rows laid out in their pages.
fn arb_manifest_with(max_pages: usize, max_rows: usize) -> impl Strategy<Value = Manifest> {
    let ids = prop_oneof![
        proptest::collection::btree_set(0..64u32, 0..=max_pages),
        proptest::collection::btree_set(any::<u32>(), 0..=max_pages),
    ];
    (ids, any::<u64>(), any::<u64>(), any::<u64>(), 0..4u32)
        .prop_flat_map(move |(ids, fingerprint, generation, seq, spare)| {
            let n = ids.len();
            let frames: Vec<u32> = (0..n as u32).collect();
            (
                Just(ids),
                Just(frames).prop_shuffle(),
                proptest::collection::vec((arb_rows(max_rows), any::<u32>()), n),
                Just((fingerprint, generation, seq, spare)),
            )
        })
        .prop_map(
            |(ids, frames, rows, (fingerprint, generation, seq, spare))| {
                let frame_count = frames.len() as u32 + spare;
                let pages = ids
                    .into_iter()
                    .zip(frames)
                    .zip(rows)
                    .map(|((page_id, frame), (rows, body_crc))| PageEntry {
                        page_id,
                        frame,
                        body_crc,
                        rows,
                    })
                    .collect();
                Manifest {
                    schema_fingerprint: fingerprint,
                    generation,
                    checkpoint_seq: seq,
                    frame_count,
                    pages,
                }
            },
        )
}

fn arb_manifest() -> impl Strategy<Value = Manifest> {
    prop_oneof![
        4 => arb_manifest_with(4, 6),
        1 => arb_manifest_with(12, 64),
    ]
}

/// A manifest that may break any rule: page ids, frames and rows drawn
/// from small sets so that collisions, overlaps and edges are common.
fn arb_any_manifest() -> impl Strategy<Value = Manifest> {
    let offset = prop_oneof![
        Just(0u16),
        Just(8),
        Just(16),
        Just(32),
        Just(48),
        Just(65_504),
        Just(65_520),
        Just(65_535),
    ];
    let len = prop_oneof![
        Just(0u16),
        Just(1),
        Just(16),
        Just(17),
        Just(32),
        Just(65_535),
    ];
    let rows = proptest::collection::vec((offset, len), 0..5);
    let page = (0..6u32, 0..6u32, rows);
    (0..7u32, proptest::collection::vec(page, 0..5)).prop_map(|(frame_count, pages)| Manifest {
        schema_fingerprint: 1,
        generation: 2,
        checkpoint_seq: 3,
        frame_count,
        pages: pages
            .into_iter()
            .map(|(page_id, frame, rows)| PageEntry {
                page_id,
                frame,
                body_crc: 0,
                rows: rows
                    .into_iter()
                    .map(|(offset, len)| RowSlot { offset, len })
                    .collect(),
            })
            .collect(),
    })
}

proptest! {
    #[test]
    fn every_valid_manifest_round_trips(manifest in arb_manifest()) {
        let bytes = encode_manifest(&manifest).unwrap();
        let rows = usize::try_from(manifest.row_count()).unwrap();
        prop_assert_eq!(bytes.len(), MANIFEST_MIN_LEN + 16 * manifest.pages.len() + 4 * rows);
        prop_assert_eq!(decode_manifest(&bytes), Ok(manifest));
    }

    /// Any damage: no panic, and the result is the original or an error,
    /// never another `Manifest`. (A damaged file whose checksum still
    /// matches would be another `Manifest`; for a 32-bit checksum that is a
    /// chance of about 2^-32 per case.)
    #[test]
    fn damage_gives_the_original_or_an_error(
        manifest in arb_manifest(),
        mutations in proptest::collection::vec(arb_mutation(), 1..4),
    ) {
        let original = encode_manifest(&manifest).unwrap();
        let mut bytes = original.clone();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        match decode_manifest(&bytes) {
            Ok(decoded) => {
                prop_assert_eq!(&bytes, &original);
                prop_assert_eq!(decoded, manifest);
            }
            Err(_) => prop_assert_ne!(&bytes, &original),
        }
    }

    /// Damage that a writer resealed, so that every check after the
    /// checksum runs on it: no panic, and whatever decodes re-encodes to
    /// exactly the same bytes.
    #[test]
    fn decode_accepts_only_what_encode_writes(
        manifest in arb_manifest(),
        mutations in proptest::collection::vec(arb_mutation(), 1..4),
    ) {
        let mut bytes = encode_manifest(&manifest).unwrap();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        if bytes.len() >= 4 {
            reseal(&mut bytes);
        }
        if let Ok(decoded) = decode_manifest(&bytes) {
            prop_assert_eq!(encode_manifest(&decoded).unwrap(), bytes);
        }
    }

    /// `encode_manifest` refuses exactly what `decode_manifest` rejects, with the same fault;
    /// what it accepts it writes as the unchecked writer does.
    #[test]
    fn encode_refuses_what_decode_rejects(manifest in arb_any_manifest()) {
        let stored = write_unchecked(&manifest);
        match encode_manifest(&manifest) {
            Ok(bytes) => {
                prop_assert_eq!(&bytes, &stored);
                prop_assert_eq!(decode_manifest(&bytes), Ok(manifest));
            }
            Err(ManifestEncodeError::Malformed { rule: fault }) => {
                let decoded = decode_manifest(&stored);
                prop_assert!(
                    matches!(decoded, Err(FileError::Manifest(ManifestFault::Malformed { rule: f, .. })) if f == fault),
                    "encode: {:?}, decode: {:?}", fault, decoded
                );
            }
            Err(err) => prop_assert!(false, "unexpected {:?}", err),
        }
    }

    /// Arbitrary bytes after a valid magic, version and flags, resealed: no
    /// panic, and anything accepted is canonical.
    #[test]
    fn arbitrary_bytes_never_panic(
        fields in proptest::collection::vec(any::<u8>(), 40),
        counts in (0..4u32, 0..8u64),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = b"WTMANIF\0\x02\0\0\0\0\0\0\0".to_vec();
        bytes.extend_from_slice(&fields);
        bytes[44..48].copy_from_slice(&counts.0.to_le_bytes());
        bytes[48..56].copy_from_slice(&counts.1.to_le_bytes());
        bytes.extend_from_slice(&tail);
        bytes.extend_from_slice(&[0; 4]);
        reseal(&mut bytes);
        if let Ok(decoded) = decode_manifest(&bytes) {
            prop_assert_eq!(encode_manifest(&decoded).unwrap(), bytes);
        }
    }
}

proptest! {
    // Each case decodes its manifest once per bit and once per length.
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Every single flipped bit is an error, reported by the first check
    /// that covers it (CRC32C detects every error confined to 32
    /// consecutive bits).
    #[test]
    fn every_flipped_bit_is_an_error(manifest in arb_manifest_with(3, 5)) {
        let original = encode_manifest(&manifest).unwrap();
        for at in 0..original.len() {
            for bit in 0..8 {
                let mut bytes = original.clone();
                bytes[at] ^= 1 << bit;
                let result = decode_manifest(&bytes);
                let caught = match at {
                    0..8 => matches!(result, Err(FileError::BadMagic { .. })),
                    8..12 => matches!(result, Err(FileError::UnsupportedVersion { .. })),
                    _ => matches!(result, Err(FileError::ChecksumMismatch { .. })),
                };
                prop_assert!(caught, "byte {} bit {}: {:?}", at, bit, result);
            }
        }
    }

    /// A manifest cut at any length is an error: too short below the fixed
    /// fields, and otherwise never a manifest.
    #[test]
    fn every_cut_is_an_error(manifest in arb_manifest_with(3, 5)) {
        let bytes = encode_manifest(&manifest).unwrap();
        for len in 0..bytes.len() {
            let result = decode_manifest(&bytes[..len]);
            if len < MANIFEST_MIN_LEN {
                prop_assert_eq!(result, Err(FileError::TooShort { file: FileKind::Manifest, min: MANIFEST_MIN_LEN, len }));
            } else {
                prop_assert!(result.is_err(), "cut at {}: {:?}", len, result);
            }
        }
    }
}
