//! Tests of the log codec, by behaviour: the encoded layout, header
//! validation, the rules that end a scan, and properties over random logs
//! and random damage.

mod database;
mod encoding;
mod header_validation;
mod properties;
mod scan_rules;

use super::{RecordKind, SegmentHeader, encode_header, encode_record};
use crate::format::ArchiveFormat;

/// The fingerprint every test segment carries unless a test says otherwise.
const FINGERPRINT: u64 = 0x0123_4567_89ab_cdef;

/// One record to write: its durable mark, kind and images. Sequence
/// numbers are assigned consecutively from the segment's `first_seq`.
#[derive(Clone, Debug)]
struct Spec {
    durable_below: u64,
    kind: RecordKind,
    before: Vec<u8>,
    after: Vec<u8>,
}

impl Spec {
    fn insert(durable_below: u64, after: &[u8]) -> Self {
        Self {
            durable_below,
            kind: RecordKind::Insert,
            before: Vec::new(),
            after: after.to_vec(),
        }
    }

    fn update(durable_below: u64, before: &[u8], after: &[u8]) -> Self {
        Self {
            durable_below,
            kind: RecordKind::Update,
            before: before.to_vec(),
            after: after.to_vec(),
        }
    }

    fn delete(durable_below: u64, before: &[u8]) -> Self {
        Self {
            durable_below,
            kind: RecordKind::Delete,
            before: before.to_vec(),
            after: Vec::new(),
        }
    }
}

/// An encoded segment and where each of its records starts.
#[derive(Clone, Debug)]
struct Built {
    header: SegmentHeader,
    bytes: Vec<u8>,
    /// The records written, in order.
    specs: Vec<Spec>,
    /// Offset of each record's frame.
    offsets: Vec<usize>,
}

impl Built {
    /// Offset just past record `i`.
    fn end_of(&self, i: usize) -> usize {
        self.offsets.get(i + 1).copied().unwrap_or(self.bytes.len())
    }
}

fn header(first_seq: u64) -> SegmentHeader {
    SegmentHeader {
        schema_fingerprint: FINGERPRINT,
        first_seq,
        archive_format: ArchiveFormat::current(),
        database: false,
    }
}

/// Encodes a segment starting at `first_seq` with `specs` as its records.
fn build(first_seq: u64, specs: &[Spec]) -> Built {
    let header = header(first_seq);
    let mut bytes = encode_header(&header).to_vec();
    let mut offsets = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        offsets.push(bytes.len());
        let seq = first_seq + i as u64;
        encode_record(
            &mut bytes,
            &header,
            seq,
            spec.durable_below,
            spec.kind,
            &spec.before,
            &spec.after,
        )
        .expect("test records are encodable");
    }
    Built {
        header,
        bytes,
        specs: specs.to_vec(),
        offsets,
    }
}

/// `n` inserts from `first_seq`, each written after the previous one had
/// been synced (`durable_below == seq`), as with `Sync` durability and one
/// record per fsync.
fn synced_inserts(first_seq: u64, n: usize) -> Built {
    let specs: Vec<Spec> = (0..n as u64)
        .map(|i| Spec::insert(first_seq + i, format!("row {i}").as_bytes()))
        .collect();
    build(first_seq, &specs)
}

/// Recomputes the checksum of the record at `offset` after a test edited
/// it, so the edit is what a writer produced rather than damage.
fn reseal(bytes: &mut [u8], offset: usize, header: &SegmentHeader) {
    let len_bytes: [u8; 4] = bytes[offset..offset + 4].try_into().unwrap();
    let body_len = u32::from_le_bytes(len_bytes) as usize;
    let body_start = offset + 8;
    let crc = crc32c::crc32c_append(header.checksum(), &len_bytes);
    let crc = crc32c::crc32c_append(crc, &bytes[body_start..body_start + body_len]);
    bytes[offset + 4..offset + 8].copy_from_slice(&crc.to_le_bytes());
}
