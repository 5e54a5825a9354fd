//! Tests of the page file header and the manifest, by behaviour: the
//! header's layout and checks, the manifest's encoded layout, each decoding
//! error, each rule, and properties over random manifests and random
//! damage.

mod header;
mod manifest_decode_errors;
mod manifest_encoding;
mod manifest_rules;
mod properties;

use super::{Manifest, PageEntry, RowSlot};
pub(super) use crate::damage::bitwise_crc32c;

/// The fingerprint every test file carries unless a test says otherwise.
const FINGERPRINT: u64 = 0x0123_4567_89ab_cdef;

/// The manifest of [`FIXTURE_V2`](manifest_encoding::FIXTURE_V2), decoded:
/// page 0 in frame 2 with two rows, page 5 in frame 0 with one.
fn sample() -> Manifest {
    Manifest {
        schema_fingerprint: FINGERPRINT,
        generation: 2,
        checkpoint_seq: 41,
        frame_count: 3,
        pages: vec![
            entry(0, 2, 0xdead_beef, &[(0, 5), (16, 20)]),
            entry(5, 0, 0x0102_0304, &[(48, 100)]),
        ],
    }
}

/// A page entry with rows given as `(offset, len)`.
fn entry(page_id: u32, frame: u32, body_crc: u32, rows: &[(u16, u16)]) -> PageEntry {
    PageEntry {
        page_id,
        frame,
        body_crc,
        rows: rows
            .iter()
            .map(|&(offset, len)| RowSlot { offset, len })
            .collect(),
    }
}

/// Writes `manifest` in the version 2 layout without checking any rule,
/// with the row count its entries hold: what a faulty writer could produce.
fn write_unchecked(manifest: &Manifest) -> Vec<u8> {
    let mut out = b"WTMANIF\0".to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&manifest.schema_fingerprint.to_le_bytes());
    out.extend_from_slice(&manifest.generation.to_le_bytes());
    out.extend_from_slice(&manifest.checkpoint_seq.to_le_bytes());
    out.extend_from_slice(&manifest.frame_count.to_le_bytes());
    out.extend_from_slice(&(manifest.pages.len() as u32).to_le_bytes());
    out.extend_from_slice(&manifest.row_count().to_le_bytes());
    for entry in &manifest.pages {
        out.extend_from_slice(&entry.page_id.to_le_bytes());
        out.extend_from_slice(&entry.frame.to_le_bytes());
        out.extend_from_slice(&entry.body_crc.to_le_bytes());
        out.extend_from_slice(&(entry.rows.len() as u32).to_le_bytes());
        for row in &entry.rows {
            out.extend_from_slice(&row.offset.to_le_bytes());
            out.extend_from_slice(&row.len.to_le_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    reseal(&mut out);
    out
}

/// Recomputes a manifest's trailing checksum after a test edited the bytes
/// before it, so the edit is what a writer produced rather than damage.
fn reseal(bytes: &mut [u8]) {
    let at = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..at]);
    bytes[at..].copy_from_slice(&crc.to_le_bytes());
}

/// Overwrites the `u32` at `at`.
fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Overwrites the `u64` at `at`.
fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn bitwise_crc32c_is_castagnoli() {
    assert_eq!(bitwise_crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
}
