//! Records of a database's log (header flag 1): the table slot and the
//! commit flag round-trip; unknown record flags are malformed; a table's own
//! log takes neither.

use super::{header, reseal};
use crate::file_error::{FileError, LogFault, RecordFault};
use crate::log::{
    EncodeError, Place, RecordKind, SegmentHeader, Stamp, encode_header, encode_placed,
    encode_record, scan,
};

fn database_header(first_seq: u64) -> SegmentHeader {
    SegmentHeader {
        database: true,
        ..header(first_seq)
    }
}

fn stamp(seq: u64, table: u16, continues: bool) -> Stamp {
    Stamp {
        seq,
        durable_below: seq,
        place: Place { table, continues },
    }
}

/// A database segment: a commit of two records (tables 3 then 0), then a
/// single-record commit of table 65,535.
fn segment() -> (SegmentHeader, Vec<u8>) {
    let header = database_header(10);
    let mut bytes = encode_header(&header).to_vec();
    encode_placed(
        &mut bytes,
        &header,
        stamp(10, 3, true),
        RecordKind::Insert,
        b"",
        b"a",
    )
    .unwrap();
    encode_placed(
        &mut bytes,
        &header,
        stamp(11, 0, false),
        RecordKind::Update,
        b"a",
        b"b",
    )
    .unwrap();
    encode_placed(
        &mut bytes,
        &header,
        stamp(12, u16::MAX, false),
        RecordKind::Delete,
        b"b",
        b"",
    )
    .unwrap();
    (header, bytes)
}

#[test]
fn table_slots_and_commit_flags_round_trip() {
    let (header, bytes) = segment();
    let scanned = scan(&bytes).unwrap();
    assert_eq!(scanned.header, header);
    let places: Vec<(u16, bool)> = scanned
        .records
        .iter()
        .map(|record| (record.table, record.continues))
        .collect();
    assert_eq!(places, [(3, true), (0, false), (u16::MAX, false)]);
}

#[test]
fn unknown_record_flags_are_malformed() {
    let (header, mut bytes) = segment();
    let second = scan(&bytes).unwrap().records[1].offset;
    // The flags byte: frame (8) + seq (8) + durable_below (8) + kind (1) +
    // table (2).
    bytes[second + 8 + 19] = 0x03;
    reseal(&mut bytes, second, &header);
    assert_eq!(
        scan(&bytes).unwrap_err(),
        FileError::Log(LogFault::Malformed {
            offset: second,
            reason: RecordFault::UnknownRecordFlags { flags: 3 }
        })
    );
}

#[test]
fn a_table_log_has_no_places() {
    let table = header(1);
    let mut bytes = encode_header(&table).to_vec();
    assert_eq!(
        encode_placed(
            &mut bytes,
            &table,
            stamp(1, 1, false),
            RecordKind::Insert,
            b"",
            b"a"
        ),
        Err(EncodeError::PlaceOutsideDatabase)
    );
    assert_eq!(bytes.len(), crate::log::HEADER_LEN, "nothing written");
    // The plain encoder writes the default place into either kind of log.
    encode_record(&mut bytes, &table, 1, 1, RecordKind::Insert, b"", b"a").unwrap();
    let record = scan(&bytes).unwrap().records[0];
    assert_eq!((record.table, record.continues), (0, false));
}

#[test]
fn a_database_record_does_not_verify_under_a_table_header() {
    let (header, bytes) = segment();
    // The same bytes under the table form of the header: the record
    // checksums are seeded by the header, so none verifies.
    let mut moved = encode_header(&SegmentHeader {
        database: false,
        ..header
    })
    .to_vec();
    moved.extend_from_slice(&bytes[crate::log::HEADER_LEN..]);
    let scanned = scan(&moved).unwrap();
    assert!(scanned.records.is_empty());
}

#[test]
fn a_skip_record_takes_its_range_of_numbers() {
    let header = database_header(10);
    let mut bytes = encode_header(&header).to_vec();
    encode_placed(
        &mut bytes,
        &header,
        stamp(10, 0, false),
        RecordKind::Insert,
        b"",
        b"a",
    )
    .unwrap();
    let range = 99u64.to_le_bytes();
    encode_placed(
        &mut bytes,
        &header,
        stamp(11, 0, false),
        RecordKind::Skip,
        b"",
        &range,
    )
    .unwrap();
    encode_placed(
        &mut bytes,
        &header,
        stamp(100, 1, false),
        RecordKind::Insert,
        b"",
        b"b",
    )
    .unwrap();
    let scanned = scan(&bytes).unwrap();
    let numbers: Vec<(u64, u64)> = scanned
        .records
        .iter()
        .map(|record| (record.seq, record.last_number()))
        .collect();
    assert_eq!(numbers, [(10, 10), (11, 99), (100, 100)]);
    assert_eq!(scanned.tail.next_seq, Some(101));
}

#[test]
fn a_skip_record_is_malformed_backwards() {
    // A range that ends before its own number.
    let db = database_header(10);
    let mut bytes = encode_header(&db).to_vec();
    encode_placed(
        &mut bytes,
        &db,
        stamp(10, 0, false),
        RecordKind::Skip,
        b"",
        &9u64.to_le_bytes(),
    )
    .unwrap();
    assert!(matches!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Malformed {
            reason: RecordFault::SkipBackwards { seq: 10 },
            ..
        }))
    ));
    // In a table's log too.
    let table = header(1);
    let mut bytes = encode_header(&table).to_vec();
    encode_record(
        &mut bytes,
        &table,
        1,
        1,
        RecordKind::Skip,
        b"",
        &0u64.to_le_bytes(),
    )
    .unwrap();
    assert!(matches!(
        scan(&bytes),
        Err(FileError::Log(LogFault::Malformed {
            reason: RecordFault::SkipBackwards { seq: 1 },
            ..
        }))
    ));
}
