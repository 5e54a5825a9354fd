//! `scan`: one test per rule that ends the valid records, and per way the
//! end is classified (clean, zero-filled, torn tail, malformed, corrupt).

use super::{Built, Spec, build, header, reseal, synced_inserts};
use crate::file_error::{FileError, LogFault};
use crate::format::ArchiveFormat;
use crate::log::{
    BODY_HEADER_LEN, End, FRAME_LEN, HEADER_LEN, ImageRole, MAX_IMAGE_LEN, RecordFault, RecordKind,
    Records, SegmentHeader, Tail, encode_header, encode_record, scan,
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
    let built = synced_inserts(10, 3);
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
            Spec::insert(0, b"first"),
            Spec::delete(0, b"second"),
            Spec::update(1, b"old", b"new!"),
        ],
    );
    let scanned = scan(&built.bytes).unwrap();
    let got: Vec<_> = scanned
        .records
        .iter()
        .map(|r| (r.offset, r.seq, r.durable_below, r.kind, r.before, r.after))
        .collect();
    assert_eq!(
        got,
        [
            (
                built.offsets[0],
                0,
                0,
                RecordKind::Insert,
                &b""[..],
                &b"first"[..]
            ),
            (
                built.offsets[1],
                1,
                0,
                RecordKind::Delete,
                &b"second"[..],
                &b""[..]
            ),
            (
                built.offsets[2],
                2,
                1,
                RecordKind::Update,
                &b"old"[..],
                &b"new!"[..]
            ),
        ]
    );
    // No copy: the images point into the segment, the before image first.
    let images = built.offsets[2] + FRAME_LEN + BODY_HEADER_LEN;
    let record = scanned.records[2];
    assert!(std::ptr::eq(
        record.before,
        &built.bytes[images..images + 3]
    ));
    assert!(std::ptr::eq(
        record.after,
        &built.bytes[images + 3..images + 7]
    ));
}

// ---- torn tails ---------------------------------------------------------------

#[test]
fn torn_length_is_a_torn_tail() {
    let built = synced_inserts(1, 3);
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
    let built = synced_inserts(1, 3);
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
    let built = synced_inserts(1, 3);
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
    let built = synced_inserts(1, 3);
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
    let built = synced_inserts(1, 3);
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
    let built = synced_inserts(1, 2);
    let last = built.offsets[1];
    for body_len in [0u32, 27, 131_099, u32::MAX] {
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
        .map(|&durable| Spec::insert(durable, b"batch"))
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
    let built = synced_inserts(1, 2);
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
    let built = synced_inserts(1, 3);
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
    let built = synced_inserts(1, 5);
    let mut bytes = built.bytes.clone();
    let damaged = built.offsets[2];
    bytes[damaged + 30] ^= 0x01;
    let err = scan(&bytes).unwrap_err();
    let FileError::Log(LogFault::Corrupt {
        offset,
        reason,
        later_offset,
        later_seq,
    }) = err
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
        .map(|&durable| Spec::insert(durable, b"r"))
        .collect();
    let built = build(1, &specs);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[1] + 4] ^= 0x40;
    assert!(matches!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Corrupt { offset, later_seq: 5, .. })) if offset == built.offsets[1]
    ));
}

#[test]
fn truncated_length_in_the_middle_is_corrupt() {
    // A length that claims more than the segment holds hides the records
    // after it; the search still finds them.
    let built = synced_inserts(1, 4);
    let mut bytes = built.bytes.clone();
    let damaged = built.offsets[1];
    bytes[damaged..damaged + 4].copy_from_slice(&65_000u32.to_le_bytes());
    assert!(matches!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Corrupt { offset,
            reason: RecordFault::TruncatedBody { body_len: 65_000, .. },
            later_seq: 3,
            .. })) if offset == damaged
    ));
}

#[test]
fn zeroed_page_in_the_middle_is_corrupt() {
    let built = synced_inserts(1, 6);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[2]..built.offsets[4]].fill(0);
    assert!(matches!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Corrupt { offset, reason: RecordFault::BodyLenOutOfRange { body_len: 0 }, later_seq: 5, .. }))
            if offset == built.offsets[2]
    ));
}

#[test]
fn records_left_by_a_segment_with_another_header_never_verify() {
    // A reused file: the old segment's records follow a new header with the
    // same first seq but another fingerprint. They must not be replayed, nor
    // be taken as proof of corruption.
    let old = synced_inserts(1, 4);
    let mut bytes = old.bytes.clone();
    let new_header = SegmentHeader {
        schema_fingerprint: 0xdead_beef,
        first_seq: 1,
        archive_format: ArchiveFormat::current(),
        database: false,
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

/// Edits the body of record `i` of a fresh `synced_inserts(1, 3)` with `edit`
/// (given the body's offset), reseals it, and returns the scan error.
fn malformed(i: usize, edit: impl FnOnce(&mut [u8], usize)) -> (FileError, usize) {
    let built = synced_inserts(1, 3);
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
        FileError::Log(LogFault::Malformed {
            offset,
            reason: RecordFault::SeqMismatch {
                expected: 2,
                found: 4
            }
        })
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
        FileError::Log(LogFault::Malformed {
            offset,
            reason: RecordFault::SeqMismatch {
                expected: 1,
                found: 5
            }
        })
    );
}

#[test]
fn unknown_kind_is_malformed() {
    for kind in [0u8, 5, 0xff] {
        let (err, offset) = malformed(2, |b, body| b[body + 16] = kind);
        assert_eq!(
            err,
            FileError::Log(LogFault::Malformed {
                offset,
                reason: RecordFault::UnknownKind { kind }
            })
        );
    }
}

#[test]
fn unknown_kind_without_a_valid_checksum_is_damage() {
    let built = synced_inserts(1, 3);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[2] + 8 + 16] = 4;
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
    // Record 1 is an insert of "row 1": before_len 0, after_len 5.
    for (field, delta) in [(20, 1u32), (24, 1), (24, u32::MAX)] {
        let (err, offset) = malformed(1, |b, body| {
            let at = body + field;
            let len = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            b[at..at + 4].copy_from_slice(&len.wrapping_add(delta).to_le_bytes());
        });
        let (before_len, after_len) = match field {
            20 => (1, 5),
            _ => (0, 5u32.wrapping_add(delta)),
        };
        assert_eq!(
            err,
            FileError::Log(LogFault::Malformed {
                offset,
                reason: RecordFault::ImageLenMismatch {
                    body_len: 33,
                    before_len,
                    after_len
                }
            }),
            "field {field}, delta {delta}"
        );
    }
    assert_eq!(
        RecordFault::ImageLenMismatch {
            body_len: 33,
            before_len: 1,
            after_len: 5
        }
        .to_string(),
        "image lengths 1 (before) and 5 (after) do not add up to body length 33 minus 28"
    );
}

#[test]
fn images_moved_between_before_and_after_are_malformed() {
    // The lengths still add up, so only the kind's shape is wrong: an
    // insert whose image is stored as a before image.
    let (err, offset) = malformed(1, |b, body| {
        b[body + 20..body + 24].copy_from_slice(&5u32.to_le_bytes());
        b[body + 24..body + 28].copy_from_slice(&0u32.to_le_bytes());
    });
    assert_eq!(
        err,
        FileError::Log(LogFault::Malformed {
            offset,
            reason: RecordFault::ShapeMismatch {
                kind: RecordKind::Insert,
                before_len: 5,
                after_len: 0
            }
        })
    );
    assert_eq!(
        err.to_string(),
        format!(
            "log record at byte offset {offset} has a valid checksum but is malformed: a record \
             of kind insert has a before image of 5 bytes and an after image of 0 bytes, but an \
             insert has an after image and no before image; it was written that way, so the log \
             cannot be trusted past it"
        )
    );
}

#[test]
fn a_kind_whose_images_do_not_match_is_malformed() {
    // Record 0 is an insert (after image only): as an update it lacks a
    // before image, as a delete it has an after image it must not have.
    for (byte, kind) in [(2u8, RecordKind::Update), (3, RecordKind::Delete)] {
        let (err, offset) = malformed(0, |b, body| b[body + 16] = byte);
        assert_eq!(
            err,
            FileError::Log(LogFault::Malformed {
                offset,
                reason: RecordFault::ShapeMismatch {
                    kind,
                    before_len: 0,
                    after_len: 5
                }
            })
        );
    }
}

/// A record with every field given, its checksum valid: what a faulty
/// writer could produce.
fn raw_record(
    header: &SegmentHeader,
    seq: u64,
    durable_below: u64,
    kind: u8,
    before_len: u32,
    after_len: u32,
    images: &[u8],
) -> Vec<u8> {
    let body_len = (BODY_HEADER_LEN + images.len()) as u32;
    let mut out = body_len.to_le_bytes().to_vec();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&durable_below.to_le_bytes());
    out.extend_from_slice(&[kind, 0, 0, 0]);
    out.extend_from_slice(&before_len.to_le_bytes());
    out.extend_from_slice(&after_len.to_le_bytes());
    out.extend_from_slice(images);
    reseal(&mut out, 0, header);
    out
}

#[test]
fn a_record_without_images_is_malformed_not_torn() {
    let built = synced_inserts(1, 1);
    for kind in 1..=3 {
        let mut bytes = built.bytes.clone();
        let offset = bytes.len();
        bytes.extend(raw_record(&built.header, 2, 2, kind, 0, 0, &[]));
        let kind = RecordKind::from_byte(kind).unwrap();
        assert_eq!(
            scan(&bytes),
            Err(FileError::Log(LogFault::Malformed {
                offset,
                reason: RecordFault::ShapeMismatch {
                    kind,
                    before_len: 0,
                    after_len: 0
                }
            }))
        );
    }
}

#[test]
fn an_image_over_the_maximum_is_malformed() {
    let built = synced_inserts(1, 1);
    let images = vec![7u8; MAX_IMAGE_LEN + 1];
    let too_long = MAX_IMAGE_LEN as u32 + 1;
    for (before_len, after_len, image) in [
        (too_long, 0, ImageRole::Before),
        (0, too_long, ImageRole::After),
    ] {
        let mut bytes = built.bytes.clone();
        let offset = bytes.len();
        bytes.extend(raw_record(
            &built.header,
            2,
            2,
            2,
            before_len,
            after_len,
            &images,
        ));
        assert_eq!(
            scan(&bytes),
            Err(FileError::Log(LogFault::Malformed {
                offset,
                reason: RecordFault::ImageTooLong {
                    image,
                    len: too_long
                }
            }))
        );
    }
    assert_eq!(
        RecordFault::ImageTooLong {
            image: ImageRole::Before,
            len: too_long
        }
        .to_string(),
        "before image is 65536 bytes long, over the maximum of 65535"
    );
}

#[test]
fn the_largest_records_frame_and_scan() {
    // Two images of the largest size: the longest body the framing takes.
    let large = vec![0xa5u8; MAX_IMAGE_LEN];
    let built = build(
        1,
        &[
            Spec::update(1, &large, &large),
            Spec::delete(2, &large),
            Spec::insert(3, b"last"),
        ],
    );
    assert_eq!(
        built.offsets[1] - built.offsets[0],
        FRAME_LEN + BODY_HEADER_LEN + 2 * MAX_IMAGE_LEN
    );
    let (seqs, tail) = seqs_and_tail(&built.bytes);
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(tail.end, End::Clean);
    // Damage in the middle of the first record's after image: records 2
    // and 3 were written once it had been synced.
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[0] + 100_000] ^= 0x01;
    assert!(matches!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Corrupt { offset, later_seq: 2, .. })) if offset == built.offsets[0]
    ));
}

#[test]
fn non_zero_reserved_bytes_are_malformed() {
    for at in 17..20 {
        let (err, offset) = malformed(0, |b, body| b[body + at] = 1);
        assert_eq!(
            err,
            FileError::Log(LogFault::Malformed {
                offset,
                reason: RecordFault::ReservedNotZero
            })
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
        FileError::Log(LogFault::Malformed {
            offset,
            reason: RecordFault::DurableBeyondSeq {
                durable_below: 3,
                seq: 2
            }
        })
    );
}

// ---- the end of the sequence space ---------------------------------------------

#[test]
fn record_with_the_last_sequence_number_ends_cleanly() {
    let built = synced_inserts(u64::MAX - 1, 2);
    let (seqs, tail) = seqs_and_tail(&built.bytes);
    assert_eq!(seqs, [u64::MAX - 1, u64::MAX]);
    assert_eq!(tail.next_seq, None);
    assert_eq!(tail.end, End::Clean);
}

#[test]
fn record_after_the_last_sequence_number_is_malformed() {
    let built = synced_inserts(u64::MAX, 1);
    let mut bytes = built.bytes.clone();
    let offset = bytes.len();
    encode_record(
        &mut bytes,
        &built.header,
        0,
        0,
        RecordKind::Insert,
        b"",
        b"wrapped",
    )
    .unwrap();
    assert_eq!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Malformed {
            offset,
            reason: RecordFault::SeqExhausted { found: 0 }
        }))
    );
}

#[test]
fn torn_tail_after_the_last_sequence_number() {
    let built = synced_inserts(u64::MAX, 1);
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
    let built = synced_inserts(1, 4);
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
    let built = synced_inserts(1, 3);
    let mut bytes = built.bytes.clone();
    bytes[built.offsets[1] + 9] ^= 1;
    let mut records = Records::new(&bytes).unwrap();
    assert_eq!(records.next().map(|r| r.seq), Some(1));
    assert!(records.next().is_none());
    assert!(records.next().is_none());
    assert!(matches!(
        records.finish(),
        Err(FileError::Log(LogFault::Corrupt { .. }))
    ));
}
