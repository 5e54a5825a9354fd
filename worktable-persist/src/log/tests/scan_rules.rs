//! `scan`: one test per rule that ends the valid records, and per way the
//! end is classified (clean, zero-filled, torn tail, malformed, corrupt).

use super::{Built, Spec, build, header, reseal, synced_puts};
use crate::log::{
    End, HEADER_LEN, LogError, RecordFault, RecordKind, Records, Tail, encode_header,
    encode_record, scan,
};

/// Sequence numbers of the valid records of `bytes`, and the tail.
fn seqs_and_tail(bytes: &[u8]) -> (Vec<u64>, Tail) {
    let scanned = scan(bytes).unwrap();
    (
        scanned.records.iter().map(|r| r.seq).collect(),
        scanned.tail,
    )
}

/// Asserts that `bytes` scans to the records of `built` before record
/// `first_lost`, ending in a torn tail at that record for `reason`.
fn assert_torn_at(bytes: &[u8], built: &Built, first_lost: usize, reason: RecordFault) {
    let (seqs, tail) = seqs_and_tail(bytes);
    let first = built.header.first_seq;
    assert_eq!(seqs, (first..first + first_lost as u64).collect::<Vec<_>>());
    let offset = built.offsets[first_lost];
    assert_eq!(tail.valid_len, offset);
    assert_eq!(tail.next_seq, Some(first + first_lost as u64));
    assert!(
        matches!(tail.end, End::TornTail { offset: o, reason: r, .. } if o == offset && r == reason),
        "expected a torn tail at {offset} for {reason:?}, got {:?}",
        tail.end
    );
}

// ---- clean ends -------------------------------------------------------------

#[test]
fn clean_end_after_the_last_record() {
    let built = synced_puts(10, 3);
    let (seqs, tail) = seqs_and_tail(&built.bytes);
    assert_eq!(seqs, [10, 11, 12]);
    assert_eq!(
        tail,
        Tail {
            valid_len: built.bytes.len(),
            next_seq: Some(13),
            end: End::Clean
        }
    );
}

#[test]
fn header_only_segment_is_clean_and_empty() {
    let bytes = encode_header(&header(42));
    let scanned = scan(&bytes).unwrap();
    assert!(scanned.records.is_empty());
    assert_eq!(
        scanned.tail,
        Tail {
            valid_len: HEADER_LEN,
            next_seq: Some(42),
            end: End::Clean
        }
    );
}

#[test]
fn records_are_returned_exactly_and_borrow_the_segment() {
    let built = build(
        0,
        &[
            Spec::put(0, b"first"),
            Spec {
                durable_below: 0,
                kind: RecordKind::Delete,
                image: b"second".to_vec(),
            },
            Spec::put(1, b""),
        ],
    );
    let scanned = scan(&built.bytes).unwrap();
    let got: Vec<_> = scanned
        .records
        .iter()
        .map(|r| (r.offset, r.seq, r.durable_below, r.kind, r.image))
        .collect();
    assert_eq!(
        got,
        [
            (built.offsets[0], 0, 0, RecordKind::Put, &b"first"[..]),
            (built.offsets[1], 1, 0, RecordKind::Delete, &b"second"[..]),
            (built.offsets[2], 2, 1, RecordKind::Put, &b""[..]),
        ]
    );
    // No copy: the image points into the segment.
    let image = scanned.records[0].image;
    let start = built.offsets[0] + 32;
    assert!(std::ptr::eq(image, &built.bytes[start..start + 5]));
}

// ---- torn tails ---------------------------------------------------------------

#[test]
fn torn_length_is_a_torn_tail() {
    let built = synced_puts(1, 3);
    for cut in 1..8 {
        let bytes = &built.bytes[..built.offsets[2] + cut];
        assert_torn_at(
            bytes,
            &built,
            2,
            RecordFault::TruncatedFrame { available: cut },
        );
    }
}

#[test]
fn torn_body_is_a_torn_tail() {
    let built = synced_puts(1, 3);
    let last = built.offsets[2];
    let body_len = (built.bytes.len() - last - 8) as u32;
    for available in [0, 1, body_len as usize - 1] {
        let bytes = &built.bytes[..last + 8 + available];
        assert_torn_at(
            bytes,
            &built,
            2,
            RecordFault::TruncatedBody {
                body_len,
                available,
            },
        );
    }
}

#[test]
fn flipped_checksum_in_the_last_record_is_a_torn_tail() {
    let built = synced_puts(1, 3);
    let mut bytes = built.bytes.clone();
    let last = built.offsets[2];
    bytes[last + 5] ^= 0x10;
    let (_, tail) = seqs_and_tail(&bytes);
    assert!(matches!(
        tail.end,
        End::TornTail {
            reason: RecordFault::ChecksumMismatch { .. },
            later_records: 0,
            ..
        }
    ));
    assert_eq!(tail.valid_len, last);
}

#[test]
fn flipped_body_byte_in_the_last_record_is_a_torn_tail() {
    let built = synced_puts(1, 3);
    let last = built.offsets[2];
    for at in last + 8..built.bytes.len() {
        let mut bytes = built.bytes.clone();
        bytes[at] ^= 0x01;
        let (seqs, tail) = seqs_and_tail(&bytes);
        assert_eq!(seqs, [1, 2], "flip at {at}");
        assert!(matches!(
            tail.end,
            End::TornTail { offset, reason: RecordFault::ChecksumMismatch { .. }, .. } if offset == last
        ));
    }
}

#[test]
fn flipped_length_that_still_fits_is_caught_by_the_checksum() {
    let built = synced_puts(1, 3);
    let mut bytes = built.bytes.clone();
    let last = built.offsets[2];
    bytes[last] -= 1; // one byte shorter: still a plausible, in-bounds body
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert_eq!(seqs, [1, 2]);
    assert!(matches!(
        tail.end,
        End::TornTail {
            reason: RecordFault::ChecksumMismatch { .. },
            ..
        }
    ));
}

#[test]
fn body_length_out_of_range_is_a_torn_tail() {
    let built = synced_puts(1, 2);
    let last = built.offsets[1];
    for body_len in [0u32, 23, 65_560, u32::MAX] {
        let mut bytes = built.bytes.clone();
        bytes[last..last + 4].copy_from_slice(&body_len.to_le_bytes());
        assert_torn_at(
            &bytes,
            &built,
            1,
            RecordFault::BodyLenOutOfRange { body_len },
        );
    }
}

#[test]
fn later_records_written_before_the_damaged_one_was_synced_are_a_torn_tail() {
    // A group commit of seqs 3..=6 written after seqs 1..=2 were synced; the
    // crash persisted record 5 and 6 but tore record 4 (pages reach the disk
    // in any order). None of 4..=6 was acknowledged: a torn tail.
    let specs: Vec<Spec> = [1, 1, 3, 3, 3, 3]
        .iter()
        .map(|&durable| Spec::put(durable, b"batch"))
        .collect();
    let built = build(1, &specs);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[3] + 20] ^= 0xff;
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert_eq!(seqs, [1, 2, 3]);
    assert!(matches!(
        tail.end,
        End::TornTail { offset, reason: RecordFault::ChecksumMismatch { .. }, later_records: 2 }
            if offset == built.offsets[3]
    ));
}

#[test]
fn torn_record_followed_by_zeros_is_a_torn_tail() {
    let built = synced_puts(1, 2);
    let mut bytes = built.bytes[..built.offsets[1] + 10].to_vec();
    bytes.resize(bytes.len() + 4096, 0);
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert_eq!(seqs, [1]);
    assert!(matches!(
        tail.end,
        End::TornTail {
            reason: RecordFault::ChecksumMismatch { .. },
            ..
        }
    ));
}

// ---- zero-filled tails --------------------------------------------------------

#[test]
fn zero_filled_tail_is_unwritten_space_not_damage() {
    let built = synced_puts(1, 3);
    for zeros in [1, 7, 8, 4096] {
        let mut bytes = built.bytes.clone();
        bytes.resize(bytes.len() + zeros, 0);
        let (seqs, tail) = seqs_and_tail(&bytes);
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(
            tail,
            Tail {
                valid_len: built.bytes.len(),
                next_seq: Some(4),
                end: End::ZeroFilled {
                    offset: built.bytes.len()
                }
            }
        );
    }
}

#[test]
fn preallocated_segment_with_no_records_is_zero_filled() {
    let mut bytes = encode_header(&header(9)).to_vec();
    bytes.resize(1 << 16, 0);
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert!(seqs.is_empty());
    assert_eq!(tail.end, End::ZeroFilled { offset: HEADER_LEN });
    assert_eq!(tail.next_seq, Some(9));
}

// ---- corruption ----------------------------------------------------------------

#[test]
fn flipped_byte_in_a_synced_middle_record_is_corrupt() {
    let built = synced_puts(1, 5);
    let mut bytes = built.bytes.clone();
    let damaged = built.offsets[2];
    bytes[damaged + 30] ^= 0x01;
    let err = scan(&bytes).unwrap_err();
    let LogError::Corrupt {
        offset,
        reason,
        later_offset,
        later_seq,
    } = err
    else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(offset, damaged);
    assert!(matches!(reason, RecordFault::ChecksumMismatch { .. }));
    // Record 4 was written once record 3 had been synced.
    assert_eq!((later_offset, later_seq), (built.offsets[3], 4));
    assert_eq!(
        err.to_string(),
        format!(
            "log record at byte offset {damaged} is damaged ({reason}), but the record with \
             sequence number 4 at byte offset {later_offset} was written after it had been \
             synced: the log is corrupt, not torn"
        )
    );
}

#[test]
fn synced_record_after_unsynced_ones_still_reveals_corruption() {
    // Record 2 is damaged; records 3 and 4 were written before it was
    // synced, record 5 after.
    let specs: Vec<Spec> = [1, 1, 2, 2, 3]
        .iter()
        .map(|&durable| Spec::put(durable, b"r"))
        .collect();
    let built = build(1, &specs);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[1] + 4] ^= 0x40;
    assert!(matches!(
        scan(&bytes),
        Err(LogError::Corrupt { offset, later_seq: 5, .. }) if offset == built.offsets[1]
    ));
}

#[test]
fn truncated_length_in_the_middle_is_corrupt() {
    // A length that claims more than the segment holds hides the records
    // after it; the search still finds them.
    let built = synced_puts(1, 4);
    let mut bytes = built.bytes.clone();
    let damaged = built.offsets[1];
    bytes[damaged..damaged + 4].copy_from_slice(&65_000u32.to_le_bytes());
    assert!(matches!(
        scan(&bytes),
        Err(LogError::Corrupt {
            offset,
            reason: RecordFault::TruncatedBody { body_len: 65_000, .. },
            later_seq: 3,
            ..
        }) if offset == damaged
    ));
}

#[test]
fn zeroed_page_in_the_middle_is_corrupt() {
    let built = synced_puts(1, 6);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[2]..built.offsets[4]].fill(0);
    assert!(matches!(
        scan(&bytes),
        Err(LogError::Corrupt { offset, reason: RecordFault::BodyLenOutOfRange { body_len: 0 }, later_seq: 5, .. })
            if offset == built.offsets[2]
    ));
}

#[test]
fn records_left_by_a_segment_with_another_header_never_verify() {
    // A reused file: the old segment's records follow a new header with the
    // same first seq but another fingerprint. They must not be replayed, nor
    // be taken as proof of corruption.
    let old = synced_puts(1, 4);
    let mut bytes = old.bytes.clone();
    let new_header = crate::log::SegmentHeader {
        schema_fingerprint: 0xdead_beef,
        first_seq: 1,
    };
    bytes[..HEADER_LEN].copy_from_slice(&encode_header(&new_header));
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert!(seqs.is_empty());
    assert!(matches!(
        tail.end,
        End::TornTail {
            offset: HEADER_LEN,
            reason: RecordFault::ChecksumMismatch { .. },
            later_records: 0
        }
    ));
}

// ---- malformed records (checksum valid, rule broken) ---------------------------

/// Edits the body of record `i` of a fresh `synced_puts(1, 3)` with `edit`
/// (given the body's offset), reseals it, and returns the scan error.
fn malformed(i: usize, edit: impl FnOnce(&mut [u8], usize)) -> (LogError, usize) {
    let built = synced_puts(1, 3);
    let mut bytes = built.bytes.clone();
    let offset = built.offsets[i];
    edit(&mut bytes, offset + 8);
    reseal(&mut bytes, offset, &built.header);
    (scan(&bytes).unwrap_err(), offset)
}

#[test]
fn sequence_gap_is_malformed() {
    let (err, offset) = malformed(1, |b, body| {
        b[body..body + 8].copy_from_slice(&4u64.to_le_bytes())
    });
    assert_eq!(
        err,
        LogError::Malformed {
            offset,
            reason: RecordFault::SeqMismatch {
                expected: 2,
                found: 4
            }
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "log record at byte offset {offset} has a valid checksum but is malformed: sequence \
             number 4 where 2 must come next; it was written that way, so the log cannot be \
             trusted past it"
        )
    );
}

#[test]
fn first_record_must_have_the_headers_first_seq() {
    let (err, offset) = malformed(0, |b, body| {
        b[body..body + 8].copy_from_slice(&5u64.to_le_bytes())
    });
    assert_eq!(offset, HEADER_LEN);
    assert_eq!(
        err,
        LogError::Malformed {
            offset,
            reason: RecordFault::SeqMismatch {
                expected: 1,
                found: 5
            }
        }
    );
}

#[test]
fn unknown_kind_is_malformed() {
    for kind in [0u8, 3, 0xff] {
        let (err, offset) = malformed(2, |b, body| b[body + 16] = kind);
        assert_eq!(
            err,
            LogError::Malformed {
                offset,
                reason: RecordFault::UnknownKind { kind }
            }
        );
    }
}

#[test]
fn unknown_kind_without_a_valid_checksum_is_damage() {
    let built = synced_puts(1, 3);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[2] + 8 + 16] = 3;
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert_eq!(seqs, [1, 2]);
    assert!(matches!(
        tail.end,
        End::TornTail { offset, reason: RecordFault::ChecksumMismatch { .. }, .. }
            if offset == built.offsets[2]
    ));
}

#[test]
fn image_length_mismatch_is_malformed() {
    let (err, offset) = malformed(1, |b, body| {
        let image_len = u32::from_le_bytes(b[body + 20..body + 24].try_into().unwrap());
        b[body + 20..body + 24].copy_from_slice(&(image_len + 1).to_le_bytes());
    });
    assert!(matches!(
        err,
        LogError::Malformed { offset: o, reason: RecordFault::ImageLenMismatch { .. } } if o == offset
    ));
}

#[test]
fn non_zero_reserved_bytes_are_malformed() {
    for at in 17..20 {
        let (err, offset) = malformed(0, |b, body| b[body + at] = 1);
        assert_eq!(
            err,
            LogError::Malformed {
                offset,
                reason: RecordFault::ReservedNotZero
            }
        );
    }
}

#[test]
fn durable_mark_past_own_seq_is_malformed() {
    let (err, offset) = malformed(1, |b, body| {
        b[body + 8..body + 16].copy_from_slice(&3u64.to_le_bytes())
    });
    assert_eq!(
        err,
        LogError::Malformed {
            offset,
            reason: RecordFault::DurableBeyondSeq {
                durable_below: 3,
                seq: 2
            }
        }
    );
}

// ---- the end of the sequence space ---------------------------------------------

#[test]
fn record_with_the_last_sequence_number_ends_cleanly() {
    let built = synced_puts(u64::MAX - 1, 2);
    let (seqs, tail) = seqs_and_tail(&built.bytes);
    assert_eq!(seqs, [u64::MAX - 1, u64::MAX]);
    assert_eq!(tail.next_seq, None);
    assert_eq!(tail.end, End::Clean);
}

#[test]
fn record_after_the_last_sequence_number_is_malformed() {
    let built = synced_puts(u64::MAX, 1);
    let mut bytes = built.bytes.clone();
    let offset = bytes.len();
    encode_record(&mut bytes, &built.header, 0, 0, RecordKind::Put, b"wrapped").unwrap();
    assert_eq!(
        scan(&bytes),
        Err(LogError::Malformed {
            offset,
            reason: RecordFault::SeqExhausted { found: 0 }
        })
    );
}

#[test]
fn torn_tail_after_the_last_sequence_number() {
    let built = synced_puts(u64::MAX, 1);
    let mut bytes = built.bytes.clone();
    bytes.extend_from_slice(&[1, 2, 3]);
    let (seqs, tail) = seqs_and_tail(&bytes);
    assert_eq!(seqs, [u64::MAX]);
    assert!(matches!(
        tail.end,
        End::TornTail {
            reason: RecordFault::TruncatedFrame { available: 3 },
            later_records: 0,
            ..
        }
    ));
}

// ---- the streaming reader ------------------------------------------------------

#[test]
fn finish_after_partial_iteration_reads_the_rest() {
    let built = synced_puts(1, 4);
    let mut bytes = built.bytes.clone();
    bytes.truncate(bytes.len() - 3);
    let mut records = Records::new(&bytes).unwrap();
    assert_eq!(records.header(), &built.header);
    assert_eq!(records.next().map(|r| r.seq), Some(1));
    let tail = records.finish().unwrap();
    assert_eq!(tail, scan(&bytes).unwrap().tail);
    assert_eq!(tail.valid_len, built.offsets[3]);
}

#[test]
fn iteration_stops_for_good_at_the_first_invalid_record() {
    let built = synced_puts(1, 3);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[1] + 9] ^= 1;
    let mut records = Records::new(&bytes).unwrap();
    assert_eq!(records.next().map(|r| r.seq), Some(1));
    assert!(records.next().is_none());
    assert!(records.next().is_none());
    assert!(matches!(records.finish(), Err(LogError::Corrupt { .. })));
}
