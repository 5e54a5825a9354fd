//! The encoded bytes, field by field, and the encoder's refusals; the
//! version 1 layout refused as an older format.

use super::{FINGERPRINT, header};
use crate::codec::FORMAT_VERSION;
use crate::damage::bitwise_crc32c;
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;
use crate::log::{
    BODY_HEADER_LEN, EncodeError, End, FRAME_LEN, HEADER_LEN, ImageRole, MAX_IMAGE_LEN, RecordKind,
    Records, SegmentHeader, decode_header, encode_header, encode_record, scan,
};

/// A version 2 segment, as `docs/format.md` shows it: the header
/// (fingerprint 0x0123456789abcdef, first seq 7, archive format
/// little-endian, 32-bit offsets, aligned), an insert of `b"abc"` with seq
/// 7, an update from `b"abc"` to `b"abcd"` with seq 8, and a delete of
/// `b"abcd"` with seq 9. Computed by the encoder, checksums cross-checked
/// with an independent bitwise CRC32C, then frozen: the format must keep
/// reading these exact bytes.
const SEGMENT_V2: &[u8] = &[
    // header
    b'W', b'T', b'L', b'O', b'G', 0, 0, 0, // magic
    0x02, 0x00, 0x00, 0x00, // format version 2
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x07, 0, 0, 0, 0, 0, 0, 0, // first seq 7
    0x01, 0x04, 0x01, 0x00, // archive format: little-endian, 32-bit, aligned
    0, 0, 0, 0, // reserved
    0xe8, 0xc1, 0x33, 0x7d, // header CRC32C of bytes 0..40
    0, 0, 0, 0, // padding
    // record at offset 48
    0x1f, 0x00, 0x00, 0x00, // body_len 31
    0x29, 0xa1, 0x01, 0x99, // CRC32C(header[0..40] ++ body_len ++ body)
    0x07, 0, 0, 0, 0, 0, 0, 0, // seq 7
    0x07, 0, 0, 0, 0, 0, 0, 0, // durable_below 7
    0x01, 0, 0, 0, // kind insert, reserved
    0x00, 0x00, 0x00, 0x00, // before_len 0
    0x03, 0x00, 0x00, 0x00, // after_len 3
    b'a', b'b', b'c', // after image
    // record at offset 87
    0x23, 0x00, 0x00, 0x00, // body_len 35
    0x11, 0xdd, 0x01, 0xb7, // checksum
    0x08, 0, 0, 0, 0, 0, 0, 0, // seq 8
    0x07, 0, 0, 0, 0, 0, 0, 0, // durable_below 7
    0x02, 0, 0, 0, // kind update, reserved
    0x03, 0x00, 0x00, 0x00, // before_len 3
    0x04, 0x00, 0x00, 0x00, // after_len 4
    b'a', b'b', b'c', // before image
    b'a', b'b', b'c', b'd', // after image
    // record at offset 130
    0x20, 0x00, 0x00, 0x00, // body_len 32
    0x84, 0x2c, 0xdb, 0x88, // checksum
    0x09, 0, 0, 0, 0, 0, 0, 0, // seq 9
    0x08, 0, 0, 0, 0, 0, 0, 0, // durable_below 8
    0x03, 0, 0, 0, // kind delete, reserved
    0x04, 0x00, 0x00, 0x00, // before_len 4
    0x00, 0x00, 0x00, 0x00, // after_len 0
    b'a', b'b', b'c', b'd', // before image
];

/// A version 1 segment (the layout before version 2: a 40-byte header
/// without an archive format, records with one image): the header
/// (fingerprint 0x0123456789abcdef, first seq 7), a put of `b"abc"` with
/// seq 7, and a delete with an empty image and seq 8. This build does not
/// read it, and must say it is of an older format.
const SEGMENT_V1: &[u8] = &[
    // header
    b'W', b'T', b'L', b'O', b'G', 0, 0, 0, // magic
    0x01, 0x00, 0x00, 0x00, // format version 1
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x07, 0, 0, 0, 0, 0, 0, 0, // first seq 7
    0x3f, 0x31, 0xe9, 0x9a, // header CRC32C of bytes 0..32
    0, 0, 0, 0, // padding
    // record at offset 40
    0x1b, 0x00, 0x00, 0x00, // body_len 27
    0x5d, 0xa6, 0x10, 0x3d, // CRC32C(header[0..32] ++ body_len ++ body)
    0x07, 0, 0, 0, 0, 0, 0, 0, // seq 7
    0x07, 0, 0, 0, 0, 0, 0, 0, // durable_below 7
    0x01, 0, 0, 0, // kind put, reserved
    0x03, 0x00, 0x00, 0x00, // image_len 3
    b'a', b'b', b'c', // image
    // record at offset 75
    0x18, 0x00, 0x00, 0x00, // body_len 24
    0x57, 0x5a, 0xcb, 0xf2, // checksum
    0x08, 0, 0, 0, 0, 0, 0, 0, // seq 8
    0x07, 0, 0, 0, 0, 0, 0, 0, // durable_below 7
    0x02, 0, 0, 0, // kind delete, reserved
    0x00, 0x00, 0x00, 0x00, // image_len 0
];

#[test]
fn crc32c_is_castagnoli() {
    // The check value of CRC-32C (iSCSI) over "123456789".
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
}

#[test]
fn encoder_writes_the_version_2_fixture_byte_for_byte() {
    let header = header(7);
    assert_eq!(header.archive_format.to_bytes(), [1, 4, 1, 0]);
    let mut bytes = encode_header(&header).to_vec();
    encode_record(&mut bytes, &header, 7, 7, RecordKind::Insert, b"", b"abc").unwrap();
    encode_record(
        &mut bytes,
        &header,
        8,
        7,
        RecordKind::Update,
        b"abc",
        b"abcd",
    )
    .unwrap();
    encode_record(&mut bytes, &header, 9, 8, RecordKind::Delete, b"abcd", b"").unwrap();
    assert_eq!(bytes, SEGMENT_V2);
}

#[test]
fn version_2_fixture_checksums_are_crc32c() {
    let header = &SEGMENT_V2[..40];
    assert_eq!(SEGMENT_V2[40..44], bitwise_crc32c(header).to_le_bytes());
    for (start, end) in [(48, 87), (87, 130), (130, 170)] {
        let record = &SEGMENT_V2[start..end];
        let mut covered = header.to_vec();
        covered.extend_from_slice(&record[..4]);
        covered.extend_from_slice(&record[8..]);
        assert_eq!(record[4..8], bitwise_crc32c(&covered).to_le_bytes());
    }
}

#[test]
fn version_2_fixture_scans_to_its_records() {
    let scanned = scan(SEGMENT_V2).unwrap();
    assert_eq!(
        scanned.header,
        SegmentHeader {
            schema_fingerprint: FINGERPRINT,
            first_seq: 7,
            archive_format: ArchiveFormat::from_bytes([1, 4, 1, 0]).unwrap(),
            database: false,
        }
    );
    let records: Vec<_> = scanned
        .records
        .iter()
        .map(|r| (r.offset, r.seq, r.durable_below, r.kind, r.before, r.after))
        .collect();
    assert_eq!(
        records,
        [
            (48, 7, 7, RecordKind::Insert, &b""[..], &b"abc"[..]),
            (87, 8, 7, RecordKind::Update, &b"abc"[..], &b"abcd"[..]),
            (130, 9, 8, RecordKind::Delete, &b"abcd"[..], &b""[..]),
        ]
    );
    let rows: Vec<&[u8]> = scanned.records.iter().map(|r| r.row()).collect();
    assert_eq!(rows, [&b"abc"[..], b"abcd", b"abcd"]);
    assert_eq!(scanned.tail.end, End::Clean);
    assert_eq!(scanned.tail.valid_len, SEGMENT_V2.len());
    assert_eq!(scanned.tail.next_seq, Some(10));
}

#[test]
fn version_1_fixture_is_refused_as_an_older_format() {
    let expected = FileError::UnsupportedVersion {
        file: FileKind::LogSegment,
        found: 1,
        supported: 2,
    };
    assert_eq!(FORMAT_VERSION, 2);
    assert_eq!(decode_header(SEGMENT_V1), Err(expected.clone()));
    assert_eq!(scan(SEGMENT_V1), Err(expected.clone()));
    assert_eq!(
        expected.to_string(),
        "log segment has format version 1 (bytes 8..12): it was written by an older worktable \
         format (version 1); this build reads only version 2 and no converter exists: re-create \
         the table from its rows"
    );
}

#[test]
fn record_checksum_covers_header_prefix_length_and_body() {
    let header = header(3);
    let mut bytes = Vec::new();
    encode_record(
        &mut bytes,
        &header,
        3,
        1,
        RecordKind::Update,
        b"old",
        b"new",
    )
    .unwrap();
    let mut covered = encode_header(&header)[..40].to_vec();
    covered.extend_from_slice(&bytes[..4]);
    covered.extend_from_slice(&bytes[8..]);
    assert_eq!(bytes[4..8], crc32c::crc32c(&covered).to_le_bytes());
}

#[test]
fn record_layout_matches_the_spec() {
    let header = header(3);
    let mut bytes = Vec::new();
    encode_record(
        &mut bytes,
        &header,
        0x1122,
        0x33,
        RecordKind::Update,
        b"bb",
        b"aaa",
    )
    .unwrap();
    assert_eq!(BODY_HEADER_LEN, 28);
    assert_eq!(bytes.len(), FRAME_LEN + BODY_HEADER_LEN + 5);
    assert_eq!(bytes[0..4], 33u32.to_le_bytes());
    assert_eq!(bytes[8..16], 0x1122u64.to_le_bytes());
    assert_eq!(bytes[16..24], 0x33u64.to_le_bytes());
    assert_eq!(bytes[24..28], [2, 0, 0, 0]);
    assert_eq!(bytes[28..32], 2u32.to_le_bytes());
    assert_eq!(bytes[32..36], 3u32.to_le_bytes());
    assert_eq!(&bytes[36..], b"bbaaa");
}

#[test]
fn encode_record_appends_without_touching_earlier_bytes() {
    let header = header(1);
    let mut out = b"existing".to_vec();
    encode_record(&mut out, &header, 1, 0, RecordKind::Insert, b"", b"xy").unwrap();
    assert_eq!(&out[..8], b"existing");
    assert_eq!(out.len(), 8 + FRAME_LEN + BODY_HEADER_LEN + 2);
}

#[test]
fn largest_images_round_trip() {
    let header = header(1);
    let before: Vec<u8> = (0..MAX_IMAGE_LEN).map(|i| (i % 251) as u8).collect();
    let after: Vec<u8> = (0..MAX_IMAGE_LEN).map(|i| (i % 241) as u8).collect();
    let mut bytes = encode_header(&header).to_vec();
    encode_record(
        &mut bytes,
        &header,
        1,
        1,
        RecordKind::Update,
        &before,
        &after,
    )
    .unwrap();
    assert_eq!(
        bytes.len(),
        HEADER_LEN + FRAME_LEN + BODY_HEADER_LEN + 2 * MAX_IMAGE_LEN
    );
    encode_record(&mut bytes, &header, 2, 2, RecordKind::Delete, &after, b"").unwrap();
    let scanned = scan(&bytes).unwrap();
    assert_eq!(scanned.records.len(), 2);
    assert_eq!(scanned.records[0].before, &before[..]);
    assert_eq!(scanned.records[0].after, &after[..]);
    assert_eq!(scanned.records[1].before, &after[..]);
    assert_eq!(scanned.tail.end, End::Clean);
}

#[test]
fn image_longer_than_65535_bytes_is_refused_and_leaves_output_unchanged() {
    let header = header(1);
    let mut out = b"kept".to_vec();
    let long = vec![0u8; MAX_IMAGE_LEN + 1];
    let err = encode_record(&mut out, &header, 1, 1, RecordKind::Insert, b"", &long).unwrap_err();
    assert_eq!(
        err,
        EncodeError::ImageTooLong {
            image: ImageRole::After,
            len: 65_536
        }
    );
    assert_eq!(out, b"kept");
    assert_eq!(
        err.to_string(),
        "after image is 65536 bytes long; a log record carries images of at most 65535 bytes"
    );
    // The before image is checked first, even where the kind has none.
    let err = encode_record(&mut out, &header, 1, 1, RecordKind::Insert, &long, &long).unwrap_err();
    assert_eq!(
        err,
        EncodeError::ImageTooLong {
            image: ImageRole::Before,
            len: 65_536
        }
    );
    assert_eq!(out, b"kept");
}

#[test]
fn images_that_do_not_fit_the_kind_are_refused_and_leave_output_unchanged() {
    let header = header(1);
    let cases: [(RecordKind, &[u8], &[u8]); 8] = [
        (RecordKind::Insert, b"", b""),
        (RecordKind::Insert, b"old", b"new"),
        (RecordKind::Insert, b"old", b""),
        (RecordKind::Update, b"", b"new"),
        (RecordKind::Update, b"old", b""),
        (RecordKind::Update, b"", b""),
        (RecordKind::Delete, b"", b""),
        (RecordKind::Delete, b"old", b"new"),
    ];
    for (kind, before, after) in cases {
        let mut out = b"kept".to_vec();
        assert_eq!(
            encode_record(&mut out, &header, 1, 1, kind, before, after),
            Err(EncodeError::ShapeMismatch {
                kind,
                before_len: before.len(),
                after_len: after.len()
            }),
            "{kind:?} {before:?} {after:?}"
        );
        assert_eq!(out, b"kept");
    }
    assert_eq!(
        EncodeError::ShapeMismatch {
            kind: RecordKind::Delete,
            before_len: 3,
            after_len: 3
        }
        .to_string(),
        "a record of kind delete cannot have a before image of 3 bytes and an after image of 3 \
         bytes: a delete has a before image and no after image"
    );
}

#[test]
fn durable_mark_past_seq_is_refused_and_leaves_output_unchanged() {
    let header = header(1);
    let mut out = Vec::new();
    let err = encode_record(&mut out, &header, 5, 6, RecordKind::Insert, b"", b"x").unwrap_err();
    assert_eq!(
        err,
        EncodeError::DurableBeyondSeq {
            durable_below: 6,
            seq: 5
        }
    );
    assert!(out.is_empty());
}

#[test]
fn record_kinds_are_read_from_their_codes() {
    assert_eq!(RecordKind::from_byte(3), Some(RecordKind::Delete));
    assert_eq!(RecordKind::from_byte(0), None);
}

/// `Records` yields what `scan` collects, one record at a time, and says
/// what ended them once they have all been seen.
#[test]
fn records_yields_the_records_one_at_a_time() -> Result<(), Box<dyn std::error::Error>> {
    let header = SegmentHeader {
        schema_fingerprint: 7,
        first_seq: 1,
        archive_format: ArchiveFormat::current(),
        database: false,
    };
    let mut segment = encode_header(&header).to_vec();
    for seq in 1..=3 {
        encode_record(
            &mut segment,
            &header,
            seq,
            seq,
            RecordKind::Insert,
            b"",
            &[seq as u8],
        )?;
    }

    let mut records = Records::new(&segment)?;
    let seqs: Vec<u64> = records.by_ref().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let tail = records.finish()?;
    assert_eq!(tail.end, End::Clean);
    assert_eq!(tail.next_seq, Some(4));
    Ok(())
}
