//! The encoded bytes, field by field, and the encoder's refusals.

use super::{FINGERPRINT, header};
use crate::log::{
    BODY_HEADER_LEN, EncodeError, End, FRAME_LEN, HEADER_LEN, MAX_IMAGE_LEN, RecordKind,
    SegmentHeader, encode_header, encode_record, scan,
};

/// A version 1 segment written by hand from `docs/format.md`: the header
/// (fingerprint 0x0123456789abcdef, first seq 7), a put of `b"abc"` with seq 7,
/// and a delete with an empty image and seq 8. Checksums were cross-checked
/// with an independent bitwise CRC32C. The format must keep reading these
/// exact bytes.
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
fn encoder_writes_the_version_1_fixture_byte_for_byte() {
    let header = header(7);
    let mut bytes = encode_header(&header).to_vec();
    encode_record(&mut bytes, &header, 7, 7, RecordKind::Put, b"abc").unwrap();
    encode_record(&mut bytes, &header, 8, 7, RecordKind::Delete, b"").unwrap();
    assert_eq!(bytes, SEGMENT_V1);
}

#[test]
fn version_1_fixture_scans_to_its_records() {
    let scanned = scan(SEGMENT_V1).unwrap();
    assert_eq!(
        scanned.header,
        SegmentHeader {
            schema_fingerprint: FINGERPRINT,
            first_seq: 7
        }
    );
    let records: Vec<_> = scanned
        .records
        .iter()
        .map(|r| (r.offset, r.seq, r.durable_below, r.kind, r.image))
        .collect();
    assert_eq!(
        records,
        [
            (40, 7, 7, RecordKind::Put, &b"abc"[..]),
            (75, 8, 7, RecordKind::Delete, &b""[..]),
        ]
    );
    assert_eq!(scanned.tail.end, End::Clean);
    assert_eq!(scanned.tail.valid_len, SEGMENT_V1.len());
    assert_eq!(scanned.tail.next_seq, Some(9));
}

#[test]
fn record_checksum_covers_header_prefix_length_and_body() {
    let header = header(3);
    let mut bytes = Vec::new();
    encode_record(&mut bytes, &header, 3, 1, RecordKind::Put, b"image").unwrap();
    let mut covered = encode_header(&header)[..32].to_vec();
    covered.extend_from_slice(&bytes[..4]);
    covered.extend_from_slice(&bytes[8..]);
    assert_eq!(bytes[4..8], crc32c::crc32c(&covered).to_le_bytes());
}

#[test]
fn encode_record_appends_without_touching_earlier_bytes() {
    let header = header(1);
    let mut out = b"existing".to_vec();
    encode_record(&mut out, &header, 1, 0, RecordKind::Put, b"xy").unwrap();
    assert_eq!(&out[..8], b"existing");
    assert_eq!(out.len(), 8 + FRAME_LEN + BODY_HEADER_LEN + 2);
}

#[test]
fn largest_image_round_trips() {
    let header = header(1);
    let image: Vec<u8> = (0..MAX_IMAGE_LEN).map(|i| (i % 251) as u8).collect();
    let mut bytes = encode_header(&header).to_vec();
    encode_record(&mut bytes, &header, 1, 1, RecordKind::Put, &image).unwrap();
    assert_eq!(
        bytes.len(),
        HEADER_LEN + FRAME_LEN + BODY_HEADER_LEN + MAX_IMAGE_LEN
    );
    let scanned = scan(&bytes).unwrap();
    assert_eq!(scanned.records.len(), 1);
    assert_eq!(scanned.records[0].image, &image[..]);
    assert_eq!(scanned.tail.end, End::Clean);
}

#[test]
fn image_longer_than_65535_bytes_is_refused_and_leaves_output_unchanged() {
    let header = header(1);
    let mut out = b"kept".to_vec();
    let image = vec![0u8; MAX_IMAGE_LEN + 1];
    let err = encode_record(&mut out, &header, 1, 1, RecordKind::Put, &image).unwrap_err();
    assert_eq!(err, EncodeError::ImageTooLong { len: 65_536 });
    assert_eq!(out, b"kept");
    assert_eq!(
        err.to_string(),
        "row image is 65536 bytes long; a log record carries at most 65535"
    );
}

#[test]
fn durable_mark_past_seq_is_refused_and_leaves_output_unchanged() {
    let header = header(1);
    let mut out = Vec::new();
    let err = encode_record(&mut out, &header, 5, 6, RecordKind::Put, b"").unwrap_err();
    assert_eq!(
        err,
        EncodeError::DurableBeyondSeq {
            durable_below: 6,
            seq: 5
        }
    );
    assert!(out.is_empty());
}
