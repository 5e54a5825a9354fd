//! The manifest's encoded bytes, field by field, its file name, round
//! trips at the limits and at a million rows, and the version 1 layout
//! refused as an older format.

use super::{FINGERPRINT, bitwise_crc32c, entry, sample};
use crate::codec::FORMAT_VERSION;
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;
use crate::pages::{
    FRAME_LEN, MANIFEST_MAGIC, MANIFEST_MIN_LEN, Manifest, PageEntry, ROW_ALIGN, RowSlot,
    decode_header, decode_manifest, encode_header, encode_manifest, frame_crc, frame_offset,
    manifest_name,
};

/// A version 2 manifest, as `docs/format.md` shows it: fingerprint
/// 0x0123456789abcdef, generation 2, checkpoint seq 41, 3 frames; page 0 in
/// frame 2 (body checksum 0xdeadbeef) with rows of 5 bytes at 0 and 20
/// bytes at 16, page 5 in frame 0 (body checksum 0x01020304) with a row of
/// 100 bytes at 48. Computed by the encoder, the checksum cross-checked
/// with an independent bitwise CRC32C, then frozen: the format must keep
/// reading these exact bytes.
pub(super) const FIXTURE_V2: &[u8] = &[
    b'W', b'T', b'M', b'A', b'N', b'I', b'F', 0, // magic
    0x02, 0x00, 0x00, 0x00, // format version 2
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x02, 0, 0, 0, 0, 0, 0, 0, // generation 2
    0x29, 0, 0, 0, 0, 0, 0, 0, // checkpoint seq 41
    0x03, 0x00, 0x00, 0x00, // frame count 3
    0x02, 0x00, 0x00, 0x00, // page count 2
    0x03, 0, 0, 0, 0, 0, 0, 0, // row count 3
    // page entry 0, at offset 56
    0x00, 0x00, 0x00, 0x00, // page id 0
    0x02, 0x00, 0x00, 0x00, // frame 2
    0xef, 0xbe, 0xad, 0xde, // body checksum 0xdeadbeef
    0x02, 0x00, 0x00, 0x00, // 2 rows
    0x00, 0x00, 0x05, 0x00, // row at offset 0, 5 bytes
    0x10, 0x00, 0x14, 0x00, // row at offset 16, 20 bytes
    // page entry 1, at offset 80
    0x05, 0x00, 0x00, 0x00, // page id 5
    0x00, 0x00, 0x00, 0x00, // frame 0
    0x04, 0x03, 0x02, 0x01, // body checksum 0x01020304
    0x01, 0x00, 0x00, 0x00, // 1 row
    0x30, 0x00, 0x64, 0x00, // row at offset 48, 100 bytes
    0x65, 0xce, 0xf2, 0x18, // CRC32C of bytes 0..100
];

/// The same manifest in format version 1, whose layout version 2 keeps:
/// only the version and the checksum differ. This build does not read it,
/// and must say it is of an older format.
const FIXTURE_V1: &[u8] = &[
    b'W', b'T', b'M', b'A', b'N', b'I', b'F', 0, // magic
    0x01, 0x00, 0x00, 0x00, // format version 1
    0x00, 0x00, 0x00, 0x00, // flags
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, // schema fingerprint
    0x02, 0, 0, 0, 0, 0, 0, 0, // generation 2
    0x29, 0, 0, 0, 0, 0, 0, 0, // checkpoint seq 41
    0x03, 0x00, 0x00, 0x00, // frame count 3
    0x02, 0x00, 0x00, 0x00, // page count 2
    0x03, 0, 0, 0, 0, 0, 0, 0, // row count 3
    // page entry 0, at offset 56
    0x00, 0x00, 0x00, 0x00, // page id 0
    0x02, 0x00, 0x00, 0x00, // frame 2
    0xef, 0xbe, 0xad, 0xde, // body checksum 0xdeadbeef
    0x02, 0x00, 0x00, 0x00, // 2 rows
    0x00, 0x00, 0x05, 0x00, // row at offset 0, 5 bytes
    0x10, 0x00, 0x14, 0x00, // row at offset 16, 20 bytes
    // page entry 1, at offset 80
    0x05, 0x00, 0x00, 0x00, // page id 5
    0x00, 0x00, 0x00, 0x00, // frame 0
    0x04, 0x03, 0x02, 0x01, // body checksum 0x01020304
    0x01, 0x00, 0x00, 0x00, // 1 row
    0x30, 0x00, 0x64, 0x00, // row at offset 48, 100 bytes
    0xdb, 0x92, 0x5d, 0x4d, // CRC32C of bytes 0..100
];

/// The length of the encoding of `manifest`.
fn encoded_len(manifest: &Manifest) -> usize {
    MANIFEST_MIN_LEN
        + manifest
            .pages
            .iter()
            .map(|entry| 16 + 4 * entry.rows.len())
            .sum::<usize>()
}

#[test]
fn encoder_writes_the_version_2_fixture_byte_for_byte() {
    assert_eq!(encode_manifest(&sample()).unwrap(), FIXTURE_V2);
    assert_eq!(
        bitwise_crc32c(&FIXTURE_V2[..100]).to_le_bytes(),
        FIXTURE_V2[100..]
    );
}

#[test]
fn version_2_fixture_decodes_to_its_fields() {
    assert_eq!(decode_manifest(FIXTURE_V2), Ok(sample()));
    assert_eq!(sample().row_count(), 3);
}

#[test]
fn version_1_fixture_is_refused_as_an_older_format() {
    // A valid version 1 file: its checksum verifies.
    assert_eq!(
        bitwise_crc32c(&FIXTURE_V1[..100]).to_le_bytes(),
        FIXTURE_V1[100..]
    );
    let err = decode_manifest(FIXTURE_V1).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedVersion {
            file: FileKind::Manifest,
            found: 1,
            supported: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "manifest has format version 1 (bytes 8..12): it was written by an older worktable \
         format (version 1); this build reads only version 2 and no converter exists: re-create \
         the table from its rows"
    );
}

#[test]
fn manifest_without_pages_is_min_len_bytes() {
    let manifest = Manifest {
        schema_fingerprint: 0,
        generation: 0,
        checkpoint_seq: 0,
        frame_count: 0,
        pages: Vec::new(),
    };
    let bytes = encode_manifest(&manifest).unwrap();
    assert_eq!(MANIFEST_MIN_LEN, 60);
    assert_eq!(bytes.len(), MANIFEST_MIN_LEN);
    // Checked against an independent bitwise CRC32C.
    assert_eq!(bytes[56..], 0x0a94_c522_u32.to_le_bytes());
    assert_eq!(decode_manifest(&bytes), Ok(manifest));
}

#[test]
fn layout_matches_the_spec() {
    let manifest = Manifest {
        schema_fingerprint: 0x1122_3344_5566_7788,
        generation: u64::MAX - 1,
        checkpoint_seq: 1 << 40,
        frame_count: 0x0a0b_0c0d,
        pages: vec![
            entry(7, 0x0a0b_0c0c, 0xcafe_f00d, &[(32, 1)]),
            entry(9, 1, 2, &[(0, 16), (16, 17), (48, 300)]),
        ],
    };
    let bytes = encode_manifest(&manifest).unwrap();
    assert_eq!(bytes.len(), 56 + (16 + 4) + (16 + 12) + 4);
    assert_eq!(bytes.len(), encoded_len(&manifest));
    assert_eq!(bytes[0..8], MANIFEST_MAGIC);
    assert_eq!(&bytes[0..8], b"WTMANIF\0");
    assert_eq!(FORMAT_VERSION, 2);
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12..16], [0; 4]);
    assert_eq!(bytes[16..24], manifest.schema_fingerprint.to_le_bytes());
    assert_eq!(bytes[24..32], manifest.generation.to_le_bytes());
    assert_eq!(bytes[32..40], manifest.checkpoint_seq.to_le_bytes());
    assert_eq!(bytes[40..44], 0x0a0b_0c0du32.to_le_bytes());
    assert_eq!(bytes[44..48], 2u32.to_le_bytes());
    assert_eq!(bytes[48..56], 4u64.to_le_bytes());
    assert_eq!(bytes[56..60], 7u32.to_le_bytes());
    assert_eq!(bytes[60..64], 0x0a0b_0c0cu32.to_le_bytes());
    assert_eq!(bytes[64..68], 0xcafe_f00du32.to_le_bytes());
    assert_eq!(bytes[68..72], 1u32.to_le_bytes());
    assert_eq!(bytes[72..76], [32, 0, 1, 0]);
    assert_eq!(bytes[76..80], 9u32.to_le_bytes());
    assert_eq!(bytes[88..92], 3u32.to_le_bytes());
    assert_eq!(bytes[92..104], [0, 0, 16, 0, 16, 0, 17, 0, 48, 0, 44, 1]);
    assert_eq!(bytes[104..], crc32c::crc32c(&bytes[..104]).to_le_bytes());
}

#[test]
fn manifest_names_sort_by_generation() {
    assert_eq!(manifest_name(0), "manifest-00000000000000000000");
    assert_eq!(manifest_name(3), "manifest-00000000000000000003");
    assert_eq!(manifest_name(u64::MAX), "manifest-18446744073709551615");
    let mut names: Vec<String> = [10, 9, 100, 1].into_iter().map(manifest_name).collect();
    names.sort();
    assert_eq!(names, [1, 9, 10, 100].map(manifest_name));
}

#[test]
fn slot_size_rounds_the_length_up_to_the_alignment() {
    assert_eq!(ROW_ALIGN, 16);
    let slot = |len| RowSlot { offset: 0, len }.slot_size();
    assert_eq!(slot(0), 16);
    assert_eq!(slot(1), 16);
    assert_eq!(slot(16), 16);
    assert_eq!(slot(17), 32);
    assert_eq!(slot(u16::MAX), FRAME_LEN);
}

#[test]
fn round_trips_at_the_limits() {
    let full_page: Vec<(u16, u16)> = (0..4096u16).map(|i| (i * 16, 16)).collect();
    let cases = [
        // Largest ids, frames and fields.
        Manifest {
            schema_fingerprint: u64::MAX,
            generation: u64::MAX,
            checkpoint_seq: u64::MAX,
            frame_count: u32::MAX,
            pages: vec![
                entry(u32::MAX - 1, u32::MAX - 1, u32::MAX, &[(0, 1)]),
                entry(u32::MAX, 0, 0, &[(65_520, 16)]),
            ],
        },
        // The largest row fills its page.
        Manifest {
            frame_count: 1,
            pages: vec![entry(0, 0, 0, &[(0, u16::MAX)])],
            ..sample()
        },
        // The last slot of a page, and a page full of the smallest rows.
        Manifest {
            frame_count: 2,
            pages: vec![entry(3, 1, 1, &[(65_504, 17)]), entry(4, 0, 1, &full_page)],
            ..sample()
        },
        // Frames beyond the pages': a page file may hold unused frames.
        Manifest {
            frame_count: 1000,
            pages: vec![entry(1, 999, 5, &[(48, 100)])],
            ..sample()
        },
    ];
    for manifest in cases {
        let bytes = encode_manifest(&manifest).unwrap();
        assert_eq!(bytes.len(), encoded_len(&manifest));
        assert_eq!(decode_manifest(&bytes), Ok(manifest));
    }
}

#[test]
fn a_million_rows_round_trip() {
    // 256 full pages of 4096 rows each, in frames in reverse order.
    let pages: Vec<PageEntry> = (0..256u32)
        .map(|page| PageEntry {
            page_id: page * 2,
            frame: 255 - page,
            body_crc: page.wrapping_mul(0x9e37_79b9),
            rows: (0..4096u16)
                .map(|i| RowSlot {
                    offset: i * 16,
                    len: 1 + (i % 16),
                })
                .collect(),
        })
        .collect();
    let manifest = Manifest {
        schema_fingerprint: FINGERPRINT,
        generation: 9,
        checkpoint_seq: 1_000_000,
        frame_count: 256,
        pages,
    };
    assert_eq!(manifest.row_count(), 1 << 20);
    let bytes = encode_manifest(&manifest).unwrap();
    assert_eq!(bytes.len(), 60 + 256 * 16 + 4 * (1 << 20));
    assert_eq!(decode_manifest(&bytes), Ok(manifest));
}

#[test]
fn a_manifest_reads_back_from_its_bytes() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = Manifest {
        schema_fingerprint: 0x5eed,
        generation: 2,
        checkpoint_seq: 41,
        frame_count: 3,
        pages: vec![PageEntry {
            page_id: 0,
            frame: 2,
            body_crc: 0xdead_beef,
            rows: vec![
                RowSlot { offset: 0, len: 5 },
                RowSlot {
                    offset: 16,
                    len: 20,
                },
            ],
        }],
    };
    let bytes = encode_manifest(&manifest)?;
    assert_eq!(&bytes[..8], b"WTMANIF\0");
    assert_eq!(decode_manifest(&bytes)?, manifest);
    assert_eq!(manifest.row_count(), 2);
    Ok(())
}

/// What recovery does with a checkpoint: the page file's header, the
/// manifest, then each frame checked against its entry and its rows read.
#[test]
fn a_checkpointed_page_is_found_through_its_manifest() -> Result<(), Box<dyn std::error::Error>> {
    // A page with one 5-byte row at offset 32, checkpointed into frame 0.
    let mut body = vec![0u8; FRAME_LEN];
    body[32..37].copy_from_slice(b"hello");
    let mut file = encode_header(0x5eed, ArchiveFormat::current()).to_vec();
    assert_eq!(frame_offset(0), file.len() as u64);
    file.extend_from_slice(&body);

    let manifest = encode_manifest(&Manifest {
        schema_fingerprint: 0x5eed,
        generation: 1,
        checkpoint_seq: 7,
        frame_count: 1,
        pages: vec![PageEntry {
            page_id: 0,
            frame: 0,
            body_crc: frame_crc(&body),
            rows: vec![RowSlot { offset: 32, len: 5 }],
        }],
    })?;

    // Recovery: the header, the manifest, then each frame against its entry.
    assert_eq!(
        decode_header(&file)?.archive_format,
        ArchiveFormat::current()
    );
    let manifest = decode_manifest(&manifest)?;
    for entry in &manifest.pages {
        let at = frame_offset(entry.frame) as usize;
        let frame = &file[at..at + FRAME_LEN];
        assert_eq!(frame_crc(frame), entry.body_crc);
        for row in &entry.rows {
            let start = usize::from(row.offset);
            assert_eq!(&frame[start..start + usize::from(row.len)], b"hello");
        }
    }
    Ok(())
}
