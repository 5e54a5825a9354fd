//! `decode_manifest`: the errors of a manifest's length, magic, version, checksum,
//! flags and structure, in the documented order, and counts that would
//! make a careless decoder allocate without bound.

use super::manifest_encoding::FIXTURE_V2;
use super::{put_u32, put_u64, reseal, sample};
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;
use crate::pages::{
    MANIFEST_MAGIC, MANIFEST_MIN_LEN, Manifest, ManifestFault, ManifestRule, decode_manifest,
    encode_header, encode_manifest,
};

/// Offset of the fixture's checksum: everything before it is covered.
const FIXTURE_CRC_AT: usize = 100;

/// Offset of the fixture's page count.
const PAGE_COUNT_AT: usize = 44;

/// Offset of the fixture's second page entry.
const ENTRY_1_AT: usize = 80;

fn fixture() -> Vec<u8> {
    FIXTURE_V2.to_vec()
}

/// The fixture with the `u32` at `at` set to `value`, resealed.
fn with_u32(at: usize, value: u32) -> Vec<u8> {
    let mut bytes = fixture();
    put_u32(&mut bytes, at, value);
    reseal(&mut bytes);
    bytes
}

/// A manifest without pages, as encoded.
fn empty() -> Vec<u8> {
    encode_manifest(&Manifest {
        pages: Vec::new(),
        ..sample()
    })
    .unwrap()
}

/// The error of a manifest of `len` bytes, too short to be one.
fn too_short(len: usize) -> FileError {
    FileError::TooShort {
        file: FileKind::Manifest,
        min: MANIFEST_MIN_LEN,
        len,
    }
}

#[test]
fn too_short_to_hold_the_magic_and_version() {
    for len in [0, 1, 8, 11] {
        assert_eq!(decode_manifest(&FIXTURE_V2[..len]), Err(too_short(len)));
    }
    assert_eq!(decode_manifest(b"hello"), Err(too_short(5)));
}

#[test]
fn too_short_for_the_fixed_fields() {
    for len in [12, 40, 56, MANIFEST_MIN_LEN - 1] {
        assert_eq!(decode_manifest(&FIXTURE_V2[..len]), Err(too_short(len)));
    }
    assert_eq!(
        too_short(59).to_string(),
        "manifest is 59 bytes long, shorter than the 60 bytes of a manifest without pages"
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = fixture();
    bytes[0] = b'w';
    let err = decode_manifest(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::BadMagic {
            file: FileKind::Manifest,
            expected: MANIFEST_MAGIC,
            found: *b"wTMANIF\0"
        }
    );
    assert_eq!(
        err.to_string(),
        r#"not a manifest: bytes 0..8 are "wTMANIF\x00", not the manifest magic "WTMANIF\0""#
    );
    assert_eq!(
        decode_manifest(&[0; 200]),
        Err(FileError::BadMagic {
            file: FileKind::Manifest,
            expected: MANIFEST_MAGIC,
            found: [0; 8]
        })
    );
    // Nor is a page file a manifest.
    assert_eq!(
        decode_manifest(&encode_header(1, ArchiveFormat::current())),
        Err(FileError::BadMagic {
            file: FileKind::Manifest,
            expected: MANIFEST_MAGIC,
            found: *b"WTPAGES\0"
        })
    );
}

#[test]
fn newer_format_version_is_reported_as_such() {
    let mut bytes = fixture();
    put_u32(&mut bytes, 8, 3);
    let expected = Err(FileError::UnsupportedVersion {
        file: FileKind::Manifest,
        found: 3,
        supported: 2,
    });
    // Stale checksum: the version is still what is reported...
    assert_eq!(decode_manifest(&bytes), expected);
    // ...and with a valid one, and whatever the length.
    reseal(&mut bytes);
    assert_eq!(decode_manifest(&bytes), expected);
    assert_eq!(decode_manifest(&bytes[..12]), expected);
    bytes.resize(10_000, 0x55);
    assert_eq!(decode_manifest(&bytes), expected);
    assert_eq!(
        decode_manifest(&bytes).unwrap_err().to_string(),
        "manifest has format version 3 (bytes 8..12); this build reads only version 2: the file was written by a newer worktable, or it is damaged"
    );
}

#[test]
fn older_format_versions_are_reported_as_older_without_a_converter() {
    for version in [0, 1] {
        let expected = FileError::UnsupportedVersion {
            file: FileKind::Manifest,
            found: version,
            supported: 2,
        };
        assert_eq!(
            decode_manifest(&with_u32(8, version)),
            Err(expected.clone())
        );
        let mut bytes = fixture();
        put_u32(&mut bytes, 8, version);
        assert_eq!(decode_manifest(&bytes), Err(expected.clone()));
        assert_eq!(
            expected.to_string(),
            format!(
                "manifest has format version {version} (bytes 8..12): it was written by an older \
                 worktable format (version {version}); this build reads only version 2 and no \
                 converter exists: re-create the table from its rows"
            )
        );
    }
}

#[test]
fn damaged_byte_is_a_checksum_error() {
    let mut bytes = fixture();
    bytes[72] ^= 0x10; // a row's offset: 0 -> 16
    let stored = u32::from_le_bytes(bytes[FIXTURE_CRC_AT..].try_into().unwrap());
    let computed = crc32c::crc32c(&bytes[..FIXTURE_CRC_AT]);
    let err = decode_manifest(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::ChecksumMismatch {
            file: FileKind::Manifest,
            offset: FIXTURE_CRC_AT,
            stored,
            computed
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "manifest is damaged: the checksum at byte offset 100 is {stored:#010x}, but bytes 0..100 sum to {computed:#010x}"
        )
    );
}

#[test]
fn cut_or_extended_file_is_a_checksum_error() {
    for len in [
        MANIFEST_MIN_LEN,
        80,
        FIXTURE_V2.len() - 4,
        FIXTURE_V2.len() - 1,
    ] {
        assert!(matches!(
            decode_manifest(&FIXTURE_V2[..len]),
            Err(FileError::ChecksumMismatch { offset, .. }) if offset == len - 4
        ));
    }
    for extra in [&[0u8][..], &[0; 4], b"garbage"] {
        let mut bytes = fixture();
        bytes.extend_from_slice(extra);
        assert!(matches!(
            decode_manifest(&bytes),
            Err(FileError::ChecksumMismatch { .. })
        ));
    }
}

#[test]
fn unknown_flags() {
    let mut bytes = fixture();
    bytes[13] = 0x01;
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
    reseal(&mut bytes);
    let err = decode_manifest(&bytes).unwrap_err();
    assert_eq!(
        err,
        FileError::UnsupportedFlags {
            file: FileKind::Manifest,
            flags: 0x100
        }
    );
    assert_eq!(
        err.to_string(),
        "manifest sets flags 0x00000100 (bytes 12..16), which this build does not know"
    );
}

#[test]
fn a_page_count_too_large_runs_past_the_checksum() {
    let err = decode_manifest(&with_u32(PAGE_COUNT_AT, 3)).unwrap_err();
    assert_eq!(
        err,
        FileError::Manifest(ManifestFault::EntryPastEnd {
            page: 2,
            offset: FIXTURE_CRC_AT,
            len: 16,
            checksum_at: FIXTURE_CRC_AT
        })
    );
    assert_eq!(
        err.to_string(),
        "manifest has a valid checksum but its page entry 2 (bytes 100..116 by the stored counts) runs past the checksum at byte offset 100: it was written that way"
    );
}

#[test]
fn a_row_count_too_large_runs_past_the_checksum() {
    // The second entry says 2 rows; only 1 is there.
    assert_eq!(
        decode_manifest(&with_u32(ENTRY_1_AT + 12, 2)),
        Err(FileError::Manifest(ManifestFault::EntryPastEnd {
            page: 1,
            offset: ENTRY_1_AT,
            len: 24,
            checksum_at: FIXTURE_CRC_AT
        }))
    );
    // The first entry says 8 rows: it would run to 56 + 16 + 32 = 104.
    assert_eq!(
        decode_manifest(&with_u32(56 + 12, 8)),
        Err(FileError::Manifest(ManifestFault::EntryPastEnd {
            page: 0,
            offset: 56,
            len: 48,
            checksum_at: FIXTURE_CRC_AT
        }))
    );
}

#[test]
fn huge_counts_are_errors_without_huge_allocations() {
    // Every count at its maximum, with a valid checksum: each is an error
    // found before anything is allocated for it (an allocation of 2^32
    // entries or rows would abort the test process).
    let mut bytes = empty();
    put_u32(&mut bytes, PAGE_COUNT_AT, u32::MAX);
    reseal(&mut bytes);
    assert_eq!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::EntryPastEnd {
            page: 0,
            offset: 56,
            len: 16,
            checksum_at: 56
        }))
    );

    assert_eq!(
        decode_manifest(&with_u32(PAGE_COUNT_AT, u32::MAX)),
        Err(FileError::Manifest(ManifestFault::EntryPastEnd {
            page: 2,
            offset: FIXTURE_CRC_AT,
            len: 16,
            checksum_at: FIXTURE_CRC_AT
        }))
    );

    for rows in [u32::MAX, u32::MAX / 4 + 1, 1 << 30] {
        assert_eq!(
            decode_manifest(&with_u32(56 + 12, rows)),
            Err(FileError::Manifest(ManifestFault::EntryPastEnd {
                page: 0,
                offset: 56,
                len: 16 + 4 * u64::from(rows),
                checksum_at: FIXTURE_CRC_AT
            })),
            "{rows} rows"
        );
    }
    assert_eq!(
        decode_manifest(&with_u32(56 + 12, u32::MAX))
            .unwrap_err()
            .to_string(),
        "manifest has a valid checksum but its page entry 0 (bytes 56..17179869252 by the stored counts) runs past the checksum at byte offset 100: it was written that way"
    );

    let mut bytes = fixture();
    put_u64(&mut bytes, 48, u64::MAX);
    reseal(&mut bytes);
    assert_eq!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::Malformed {
            offset: 48,
            rule: ManifestRule::RowCountMismatch {
                stored: u64::MAX,
                counted: 3
            }
        }))
    );
}

#[test]
fn bytes_between_the_last_entry_and_the_checksum() {
    let err = decode_manifest(&with_u32(PAGE_COUNT_AT, 1)).unwrap_err();
    assert_eq!(
        err,
        FileError::Manifest(ManifestFault::TrailingBytes {
            offset: ENTRY_1_AT,
            checksum_at: FIXTURE_CRC_AT
        })
    );
    assert_eq!(
        err.to_string(),
        "manifest has a valid checksum but bytes 80..100 follow its last page entry: it was written that way"
    );
    let mut bytes = fixture();
    bytes.splice(FIXTURE_CRC_AT..FIXTURE_CRC_AT, [0; 3]);
    reseal(&mut bytes);
    assert_eq!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::TrailingBytes {
            offset: FIXTURE_CRC_AT,
            checksum_at: FIXTURE_CRC_AT + 3
        }))
    );
    // A manifest without pages followed by bytes.
    let mut bytes = empty();
    bytes.splice(56..56, [0; 16]);
    reseal(&mut bytes);
    assert_eq!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::TrailingBytes {
            offset: 56,
            checksum_at: 72
        }))
    );
}

#[test]
fn checks_run_in_the_documented_order() {
    // Flags before the entries.
    let mut bytes = with_u32(PAGE_COUNT_AT, 3);
    bytes[12] = 1;
    reseal(&mut bytes);
    assert_eq!(
        decode_manifest(&bytes),
        Err(FileError::UnsupportedFlags {
            file: FileKind::Manifest,
            flags: 1
        })
    );
    // Damage before the flags.
    let mut bytes = fixture();
    bytes[12] = 1;
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::ChecksumMismatch { .. })
    ));
    // An entry's length before its rules: page 1 repeats page id 0 and
    // claims 2 rows.
    let mut bytes = fixture();
    put_u32(&mut bytes, ENTRY_1_AT, 0);
    put_u32(&mut bytes, ENTRY_1_AT + 12, 2);
    reseal(&mut bytes);
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::EntryPastEnd {
            page: 1,
            ..
        }))
    ));
    // An earlier entry's rule before a later entry's length: page 0 in
    // frame 3 of 3, and a page count of 3.
    let mut bytes = fixture();
    put_u32(&mut bytes, 56 + 4, 3);
    put_u32(&mut bytes, PAGE_COUNT_AT, 3);
    reseal(&mut bytes);
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::Malformed {
            offset: 56,
            rule: ManifestRule::FrameOutOfRange { page: 0, .. }
        }))
    ));
    // Trailing bytes before a shared frame: page 1 moved to frame 2, where
    // page 0 is, and a page count of 1.
    let mut bytes = fixture();
    put_u32(&mut bytes, ENTRY_1_AT + 4, 2);
    reseal(&mut bytes);
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::Malformed {
            rule: ManifestRule::FrameShared { .. },
            ..
        }))
    ));
    put_u32(&mut bytes, PAGE_COUNT_AT, 1);
    reseal(&mut bytes);
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::TrailingBytes { .. }))
    ));
    // A shared frame before the row count.
    put_u32(&mut bytes, PAGE_COUNT_AT, 2);
    put_u64(&mut bytes, 48, 7);
    reseal(&mut bytes);
    assert!(matches!(
        decode_manifest(&bytes),
        Err(FileError::Manifest(ManifestFault::Malformed {
            rule: ManifestRule::FrameShared { .. },
            ..
        }))
    ));
}
