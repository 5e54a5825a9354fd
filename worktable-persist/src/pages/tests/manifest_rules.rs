//! The rules of a manifest: each broken rule, in a manifest whose checksum
//! verifies, is its own `Malformed` error naming the page entry, the row
//! and the byte offset; the encoder refuses the same manifest with the same
//! rule.

use super::{entry, put_u64, reseal, sample, write_unchecked};
use crate::file_error::FileError;
use crate::pages::{
    Manifest, ManifestEncodeError, ManifestFault, ManifestRule, PageEntry, decode_manifest,
    encode_manifest,
};

/// A manifest with 8 frames and the given pages.
fn with_pages(pages: Vec<PageEntry>) -> Manifest {
    Manifest {
        frame_count: 8,
        pages,
        ..sample()
    }
}

/// Asserts that `manifest` breaks `rule`: as stored (with a valid
/// checksum) it decodes to `Malformed` at `offset`, and the encoder refuses
/// it with the same rule.
#[track_caller]
fn assert_breaks(manifest: &Manifest, offset: usize, rule: ManifestRule) {
    assert_eq!(
        decode_manifest(&write_unchecked(manifest)),
        Err(FileError::Manifest(ManifestFault::Malformed {
            offset,
            rule
        }))
    );
    assert_eq!(
        encode_manifest(manifest),
        Err(ManifestEncodeError::Malformed { rule })
    );
}

#[test]
fn unchecked_writer_matches_the_encoder() {
    assert_eq!(
        write_unchecked(&sample()),
        encode_manifest(&sample()).unwrap()
    );
}

#[test]
fn page_ids_strictly_ascending() {
    // Equal: entry 1 at offset 56 + 16 + 4.
    assert_breaks(
        &with_pages(vec![entry(3, 0, 0, &[(0, 1)]), entry(3, 1, 0, &[(0, 1)])]),
        76,
        ManifestRule::PageIdNotAscending {
            page: 1,
            page_id: 3,
            previous: 3,
        },
    );
    // Descending, after an ascending pair.
    assert_breaks(
        &with_pages(vec![
            entry(1, 0, 0, &[(0, 1)]),
            entry(4, 1, 0, &[(0, 1), (16, 1)]),
            entry(2, 2, 0, &[(0, 1)]),
        ]),
        56 + 20 + 24,
        ManifestRule::PageIdNotAscending {
            page: 2,
            page_id: 2,
            previous: 4,
        },
    );
    assert_eq!(
        ManifestRule::PageIdNotAscending {
            page: 2,
            page_id: 2,
            previous: 4
        }
        .to_string(),
        "page entry 2 has page id 2, not above the page id 4 of the entry before it: page ids must be strictly ascending"
    );
}

#[test]
fn frame_below_the_frame_count() {
    assert_breaks(
        &with_pages(vec![entry(0, 7, 0, &[(0, 1)]), entry(1, 8, 0, &[(0, 1)])]),
        76,
        ManifestRule::FrameOutOfRange {
            page: 1,
            page_id: 1,
            frame: 8,
            frame_count: 8,
        },
    );
    let no_frames = Manifest {
        frame_count: 0,
        pages: vec![entry(0, 0, 0, &[(0, 1)])],
        ..sample()
    };
    assert_breaks(
        &no_frames,
        56,
        ManifestRule::FrameOutOfRange {
            page: 0,
            page_id: 0,
            frame: 0,
            frame_count: 0,
        },
    );
    assert_eq!(
        ManifestRule::FrameOutOfRange {
            page: 0,
            page_id: 9,
            frame: 0,
            frame_count: 0
        }
        .to_string(),
        "page entry 0 (page 9) is in frame 0, but the page file holds only 0 frames for this manifest"
    );
}

#[test]
fn one_page_per_frame() {
    assert_breaks(
        &with_pages(vec![
            entry(0, 1, 0, &[(0, 1)]),
            entry(1, 2, 0, &[(0, 1)]),
            entry(2, 1, 0, &[(0, 1)]),
        ]),
        96,
        ManifestRule::FrameShared {
            page: 2,
            page_id: 2,
            frame: 1,
            earlier_page: 0,
        },
    );
    // Two frames shared: the first repeat in manifest order is named.
    assert_breaks(
        &with_pages(vec![
            entry(10, 1, 0, &[(0, 1)]),
            entry(11, 2, 0, &[(0, 1), (16, 1)]),
            entry(12, 2, 0, &[(0, 1)]),
            entry(13, 1, 0, &[(0, 1)]),
        ]),
        56 + 20 + 24,
        ManifestRule::FrameShared {
            page: 2,
            page_id: 12,
            frame: 2,
            earlier_page: 1,
        },
    );
    // Three pages in one frame: the second names the first.
    assert_breaks(
        &with_pages(vec![
            entry(0, 4, 0, &[(0, 1)]),
            entry(1, 4, 0, &[(0, 1)]),
            entry(2, 4, 0, &[(0, 1)]),
        ]),
        76,
        ManifestRule::FrameShared {
            page: 1,
            page_id: 1,
            frame: 4,
            earlier_page: 0,
        },
    );
    assert_eq!(
        ManifestRule::FrameShared {
            page: 2,
            page_id: 12,
            frame: 2,
            earlier_page: 1
        }
        .to_string(),
        "page entry 2 (page 12) is in frame 2, which page entry 1 is in too"
    );
}

#[test]
fn every_page_has_rows() {
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(0, 1)]), entry(1, 1, 0, &[])]),
        76,
        ManifestRule::NoRows {
            page: 1,
            page_id: 1,
        },
    );
    assert_eq!(
        ManifestRule::NoRows {
            page: 1,
            page_id: 1
        }
        .to_string(),
        "page entry 1 (page 1) has no rows"
    );
}

#[test]
fn every_row_has_bytes() {
    // Row 1 of entry 0: offset 56 + 16 + 4.
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(0, 1), (16, 0)])]),
        76,
        ManifestRule::EmptyRow {
            page: 0,
            page_id: 0,
            row: 1,
        },
    );
    assert_eq!(
        ManifestRule::EmptyRow {
            page: 0,
            page_id: 7,
            row: 1
        }
        .to_string(),
        "row 1 of page entry 0 (page 7) has length 0"
    );
}

#[test]
fn rows_are_aligned() {
    for offset in [1, 8, 15, 65_535] {
        assert_breaks(
            &with_pages(vec![entry(0, 0, 0, &[(offset, 1)])]),
            72,
            ManifestRule::RowMisaligned {
                page: 0,
                page_id: 0,
                row: 0,
                offset,
            },
        );
    }
    assert_eq!(
        ManifestRule::RowMisaligned {
            page: 0,
            page_id: 0,
            row: 0,
            offset: 8
        }
        .to_string(),
        "row 0 of page entry 0 (page 0) starts at offset 8, not a multiple of 16"
    );
}

#[test]
fn rows_stay_inside_their_page() {
    for (offset, len) in [(65_520, 17), (16, u16::MAX), (32_768, 32_769)] {
        assert_breaks(
            &with_pages(vec![entry(0, 0, 0, &[(offset, len)])]),
            72,
            ManifestRule::RowPastPageEnd {
                page: 0,
                page_id: 0,
                row: 0,
                offset,
                len,
            },
        );
    }
    // Exactly to the end is inside.
    for (offset, len) in [(65_520, 16), (0, u16::MAX), (32_768, 32_768)] {
        let manifest = with_pages(vec![entry(0, 0, 0, &[(offset, len)])]);
        assert_eq!(
            decode_manifest(&encode_manifest(&manifest).unwrap()),
            Ok(manifest)
        );
    }
    assert_eq!(
        ManifestRule::RowPastPageEnd {
            page: 0,
            page_id: 0,
            row: 0,
            offset: 65_520,
            len: 17
        }
        .to_string(),
        "row 0 of page entry 0 (page 0) at offset 65520 with length 17 has its slot end at 65552, past the end of the 65536-byte page"
    );
}

#[test]
fn rows_ascend_without_overlapping() {
    // The second row starts inside the first one's slot (0..32).
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(0, 17), (16, 1)])]),
        76,
        ManifestRule::RowOverlap {
            page: 0,
            page_id: 0,
            row: 1,
            offset: 16,
            previous_end: 32,
        },
    );
    // The same offset twice.
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(0, 1), (16, 1), (16, 1)])]),
        80,
        ManifestRule::RowOverlap {
            page: 0,
            page_id: 0,
            row: 2,
            offset: 16,
            previous_end: 32,
        },
    );
    // Descending.
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(64, 1), (0, 1)])]),
        76,
        ManifestRule::RowOverlap {
            page: 0,
            page_id: 0,
            row: 1,
            offset: 0,
            previous_end: 80,
        },
    );
    // Back to back is not overlapping; each page's rows start afresh.
    let manifest = with_pages(vec![
        entry(0, 0, 0, &[(0, 17), (32, 16), (48, 1)]),
        entry(1, 1, 0, &[(0, 1)]),
    ]);
    assert_eq!(
        decode_manifest(&encode_manifest(&manifest).unwrap()),
        Ok(manifest)
    );
    assert_eq!(
        ManifestRule::RowOverlap {
            page: 0,
            page_id: 0,
            row: 1,
            offset: 16,
            previous_end: 32
        }
        .to_string(),
        "row 1 of page entry 0 (page 0) starts at offset 16, before offset 32 where the slot of the row before it ends: rows must be in ascending offset order without overlapping"
    );
}

#[test]
fn row_count_is_the_rows_of_the_entries() {
    let mut bytes = encode_manifest(&sample()).unwrap();
    for stored in [0, 2, 4, u64::MAX] {
        put_u64(&mut bytes, 48, stored);
        reseal(&mut bytes);
        assert_eq!(
            decode_manifest(&bytes),
            Err(FileError::Manifest(ManifestFault::Malformed {
                offset: 48,
                rule: ManifestRule::RowCountMismatch { stored, counted: 3 }
            }))
        );
    }
    let err = decode_manifest(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "manifest has a valid checksum but breaks a rule at byte offset 48: the manifest's row count is 18446744073709551615 (bytes 48..56), but its page entries hold 3 rows; it was written that way"
    );
}

#[test]
fn a_pages_own_fields_are_checked_before_its_rows() {
    // A page's own fields before its rows: page id repeated, and an empty
    // row.
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(0, 1)]), entry(0, 1, 0, &[(0, 0)])]),
        76,
        ManifestRule::PageIdNotAscending {
            page: 1,
            page_id: 0,
            previous: 0,
        },
    );
    // Page id before frame before row count.
    assert_breaks(
        &with_pages(vec![entry(5, 0, 0, &[(0, 1)]), entry(5, 9, 0, &[])]),
        76,
        ManifestRule::PageIdNotAscending {
            page: 1,
            page_id: 5,
            previous: 5,
        },
    );
    assert_breaks(
        &with_pages(vec![entry(5, 9, 0, &[])]),
        56,
        ManifestRule::FrameOutOfRange {
            page: 0,
            page_id: 5,
            frame: 9,
            frame_count: 8,
        },
    );
}

#[test]
fn rows_are_checked_in_order_before_later_pages_and_shared_frames() {
    // A row's length before its alignment before its end before overlap.
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(32, 1), (65_535, 0)])]),
        76,
        ManifestRule::EmptyRow {
            page: 0,
            page_id: 0,
            row: 1,
        },
    );
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(32, 1), (65_535, 2)])]),
        76,
        ManifestRule::RowMisaligned {
            page: 0,
            page_id: 0,
            row: 1,
            offset: 65_535,
        },
    );
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(32, 1), (16, 65_535)])]),
        76,
        ManifestRule::RowPastPageEnd {
            page: 0,
            page_id: 0,
            row: 1,
            offset: 16,
            len: 65_535,
        },
    );
    // An earlier row before a later one, an earlier page before a later.
    assert_breaks(
        &with_pages(vec![entry(0, 0, 0, &[(8, 1), (0, 0)]), entry(0, 0, 0, &[])]),
        72,
        ManifestRule::RowMisaligned {
            page: 0,
            page_id: 0,
            row: 0,
            offset: 8,
        },
    );
    // Every entry's own rules before a shared frame, even an earlier one.
    assert_breaks(
        &with_pages(vec![
            entry(0, 3, 0, &[(0, 1)]),
            entry(1, 3, 0, &[(0, 1)]),
            entry(2, 4, 0, &[(0, 0)]),
        ]),
        96 + 16,
        ManifestRule::EmptyRow {
            page: 2,
            page_id: 2,
            row: 0,
        },
    );
}
