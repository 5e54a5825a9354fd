//! Properties over random logs: records round-trip exactly; under any damage
//! `scan` never panics and never returns a record that was not written; and
//! for a single truncation or flipped byte, the outcome is exactly the one
//! the torn-tail policy prescribes.

use proptest::prelude::*;
use proptest::sample::Index;

use super::{Built, Spec, build};
use crate::file_error::{FileError, FileKind, LogFault};
use crate::log::{End, HEADER_LEN, Record, RecordKind, Records, Scan, scan};

/// A row image: never empty (an archived row never is), mostly short,
/// sometimes all zeros.
fn arb_image() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 1..48),
        1 => proptest::collection::vec(any::<u8>(), 1..600),
        1 => proptest::collection::vec(Just(0u8), 1..40),
    ]
}

/// A kind and the images it carries: `(kind, before, after)`.
fn arb_change() -> impl Strategy<Value = (RecordKind, Vec<u8>, Vec<u8>)> {
    prop_oneof![
        arb_image().prop_map(|after| (RecordKind::Insert, Vec::new(), after)),
        (arb_image(), arb_image()).prop_map(|(before, after)| (RecordKind::Update, before, after)),
        arb_image().prop_map(|before| (RecordKind::Delete, before, Vec::new())),
    ]
}

/// A random segment: a first seq anywhere (including at the very end of the
/// sequence space) and up to 12 records, each stamped with a durable mark 0
/// to 5 behind its own seq (0 behind: written after the previous record was
/// synced).
fn arb_log() -> impl Strategy<Value = Built> {
    let first = prop_oneof![0..1_000u64, (u64::MAX - 16)..=u64::MAX, any::<u64>()];
    let records = proptest::collection::vec((0..6u64, arb_change()), 0..12);
    (first, records).prop_map(|(first, records)| {
        let n = records.len() as u64;
        let first = if n == 0 {
            first
        } else {
            first.min(u64::MAX - (n - 1))
        };
        let specs: Vec<Spec> = records
            .into_iter()
            .enumerate()
            .map(|(i, (lag, (kind, before, after)))| Spec {
                durable_below: (first + i as u64).saturating_sub(lag),
                kind,
                before,
                after,
            })
            .collect();
        build(first, &specs)
    })
}

/// The records `built` was written with, as `scan` must return them.
fn expected_records(built: &Built) -> Vec<Record<'_>> {
    built
        .specs
        .iter()
        .enumerate()
        .map(|(i, spec)| Record {
            offset: built.offsets[i],
            seq: built.header.first_seq + i as u64,
            durable_below: spec.durable_below,
            kind: spec.kind,
            before: &spec.before,
            after: &spec.after,
            table: 0,
            continues: false,
        })
        .collect()
}

/// The first record after record `k` that was written once record `k` had
/// been synced: its index.
fn first_synced_witness(built: &Built, k: usize) -> Option<usize> {
    let seq_k = built.header.first_seq + k as u64;
    (k + 1..built.specs.len()).find(|&j| built.specs[j].durable_below > seq_k)
}

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Zero(Index, usize),
    Overwrite(Index, Vec<u8>),
    Append(Vec<u8>),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<Index>(), 1..300usize).prop_map(|(at, len)| Mutation::Zero(at, len)),
        (
            any::<Index>(),
            proptest::collection::vec(any::<u8>(), 1..64)
        )
            .prop_map(|(at, bytes)| Mutation::Overwrite(at, bytes)),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Mutation::Append),
    ]
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Self::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Self::Flip(at, mask) if len > 0 => bytes[at.index(len)] ^= mask,
            Self::Zero(at, n) if len > 0 => {
                let start = at.index(len);
                let end = (start + n).min(len);
                bytes[start..end].fill(0);
            }
            Self::Overwrite(at, new) if len > 0 => {
                let start = at.index(len);
                let end = (start + new.len()).min(len);
                bytes[start..end].copy_from_slice(&new[..end - start]);
            }
            Self::Append(extra) => bytes.extend_from_slice(extra),
            Self::Flip(..) | Self::Zero(..) | Self::Overwrite(..) => {}
        }
    }
}

/// Scans with the streaming reader, for comparison with `scan`.
fn scan_streaming(bytes: &[u8]) -> Result<Scan<'_>, FileError> {
    let mut reader = Records::new(bytes)?;
    let header = *reader.header();
    let records = reader.by_ref().collect();
    let tail = reader.finish()?;
    Ok(Scan {
        header,
        records,
        tail,
    })
}

proptest! {
    #[test]
    fn records_round_trip_exactly(built in arb_log()) {
        let scanned = scan(&built.bytes).unwrap();
        prop_assert_eq!(scanned.header, built.header);
        prop_assert_eq!(&scanned.records, &expected_records(&built));
        prop_assert_eq!(scanned.tail.end, End::Clean);
        prop_assert_eq!(scanned.tail.valid_len, built.bytes.len());
        let n = built.specs.len() as u64;
        prop_assert_eq!(scanned.tail.next_seq, built.header.first_seq.checked_add(n));
    }

    /// Any damage: no panic, and the records returned are a prefix of those
    /// written, byte for byte, with the tail right after the last of them.
    #[test]
    fn damage_never_invents_a_record(
        built in arb_log(),
        mutations in proptest::collection::vec(arb_mutation(), 1..4),
    ) {
        let mut bytes = built.bytes.clone();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        let result = scan(&bytes);
        prop_assert_eq!(&result, &scan_streaming(&bytes));
        if let Ok(scanned) = result {
            let written = expected_records(&built);
            let k = scanned.records.len();
            prop_assert!(k <= written.len());
            prop_assert_eq!(&scanned.records[..], &written[..k]);
            let valid_len = written.get(k).map_or(built.bytes.len(), |r| r.offset);
            prop_assert_eq!(scanned.tail.valid_len, valid_len);
            prop_assert!(scanned.tail.valid_len <= bytes.len());
            prop_assert_eq!(
                scanned.tail.next_seq,
                built.header.first_seq.checked_add(k as u64)
            );
            match scanned.tail.end {
                End::Clean => prop_assert_eq!(valid_len, bytes.len()),
                End::ZeroFilled { offset } => {
                    prop_assert_eq!(offset, valid_len);
                    prop_assert!(bytes[offset..].iter().all(|&b| b == 0));
                }
                End::TornTail { offset, reason, .. } => {
                    prop_assert_eq!(offset, valid_len);
                    prop_assert!(reason.is_damage());
                }
            }
        }
    }

    /// Appended bytes never cost a record.
    #[test]
    fn appended_garbage_keeps_every_record(
        built in arb_log(),
        garbage in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = built.bytes.clone();
        bytes.extend_from_slice(&garbage);
        let scanned = scan(&bytes).unwrap();
        prop_assert_eq!(&scanned.records, &expected_records(&built));
        prop_assert_eq!(scanned.tail.valid_len, built.bytes.len());
    }

    /// A crash that cuts the segment anywhere: exactly the complete records
    /// survive, and the end is clean only on a record boundary.
    #[test]
    fn truncation_keeps_exactly_the_complete_records(built in arb_log(), cut in any::<Index>()) {
        let cut = cut.index(built.bytes.len() + 1);
        let bytes = &built.bytes[..cut];
        if cut < HEADER_LEN {
            prop_assert_eq!(scan(bytes), Err(FileError::TooShort { file: FileKind::LogSegment, min: HEADER_LEN, len: cut }));
            return Ok(());
        }
        let scanned = scan(bytes).unwrap();
        let written = expected_records(&built);
        let k = (0..written.len()).take_while(|&i| built.end_of(i) <= cut).count();
        prop_assert_eq!(&scanned.records[..], &written[..k]);
        let boundary = written.get(k).map_or(built.bytes.len(), |r| r.offset);
        prop_assert_eq!(scanned.tail.valid_len, boundary);
        match scanned.tail.end {
            End::Clean => prop_assert_eq!(cut, boundary),
            End::ZeroFilled { offset } => {
                prop_assert_eq!(offset, boundary);
                prop_assert!(bytes[boundary..].iter().all(|&b| b == 0));
            }
            End::TornTail { offset, later_records, .. } => {
                prop_assert_eq!(offset, boundary);
                prop_assert!(cut > boundary);
                prop_assert_eq!(later_records, 0);
            }
        }
    }

    /// One flipped byte in a record: a torn tail at that record, unless a
    /// later record was written after it had been synced, which makes it
    /// corruption. A flipped header byte is always a header error.
    #[test]
    fn one_flipped_byte_is_torn_or_corrupt_as_the_policy_says(
        built in arb_log(),
        at in any::<Index>(),
        mask in 1..=255u8,
    ) {
        let at = at.index(built.bytes.len());
        let mut bytes = built.bytes.clone();
        bytes[at] ^= mask;
        let result = scan(&bytes);
        if at < HEADER_LEN {
            prop_assert!(matches!(
                result,
                Err(FileError::BadMagic { .. }
                    | FileError::UnsupportedVersion { .. }
                    | FileError::ChecksumMismatch { .. }
                    | FileError::Log(LogFault::HeaderPadding))
            ), "{:?}", result);
            return Ok(());
        }
        let k = (0..built.specs.len()).find(|&i| at < built.end_of(i)).unwrap();
        let damaged = built.offsets[k];
        let written = expected_records(&built);
        match first_synced_witness(&built, k) {
            Some(j) => {
                let err = result.unwrap_err();
                prop_assert!(matches!(
                    err,
                    FileError::Log(LogFault::Corrupt { offset, reason, later_offset, later_seq })
                        if offset == damaged
                            && reason.is_damage()
                            && later_offset == built.offsets[j]
                            && later_seq == written[j].seq
                ), "{:?}", err);
            }
            None => {
                let scanned = result.unwrap();
                prop_assert_eq!(&scanned.records[..], &written[..k]);
                let n = written.len();
                prop_assert!(matches!(
                    scanned.tail.end,
                    End::TornTail { offset, reason, later_records }
                        if offset == damaged && reason.is_damage() && later_records == n - k - 1
                ), "{:?}", scanned.tail.end);
            }
        }
    }
}
