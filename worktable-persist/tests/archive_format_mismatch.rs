//! Files written in another rkyv archive format (here: big-endian, as a
//! build with rkyv's `big_endian` feature writes them) are refused on open
//! with `OpenError::ArchiveFormat`, naming the file and both formats in
//! words, before any row is read, and without changing any file.
//!
//! Each test writes a real table directory, then rewrites the archive
//! format of one file the way such a build would have written it (checksums
//! recomputed), and opens it.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{Item, ItemV2, item, manual, migrate};
use worktable_persist::format::{ArchiveFormat, Endianness};
use worktable_persist::testing::log::{self, SegmentHeader, encode_header, encode_record};
use worktable_persist::{OpenError, PersistentTable};

/// This build's format, but big-endian.
fn big_endian() -> ArchiveFormat {
    ArchiveFormat {
        endianness: Endianness::Big,
        ..ArchiveFormat::current()
    }
}

/// Every file of `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// A table directory with three rows. `close`: closed (checkpointed:
/// `meta`, `pages`, a manifest and an empty log segment); otherwise dropped,
/// so that the log holds every record and there is no page file.
async fn table_dir(close: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let table = PersistentTable::<Item>::open(dir.path(), manual()).unwrap();
    for id in 1..=3 {
        table.insert(item(id, 0)).await.unwrap();
    }
    table.update(item(2, 1)).await.unwrap();
    if close {
        table.close().await.unwrap();
    } else {
        drop(table);
    }
    dir
}

/// Asserts that opening `dir` fails because `file` records `stored`, with
/// a message that names the file and both formats, and that the attempt
/// changed no file.
fn assert_refused(dir: &Path, file: &Path, stored: ArchiveFormat) {
    let before = snapshot(dir);
    let error = match PersistentTable::<Item>::open(dir, manual()) {
        Ok(_) => panic!("a table of another archive format opened"),
        Err(error) => error,
    };
    match &error {
        OpenError::ArchiveFormat {
            path,
            stored: found,
            current,
        } => {
            assert_eq!(path, file);
            assert_eq!(*found, stored);
            assert_eq!(*current, ArchiveFormat::current());
        }
        other => panic!("expected an archive format mismatch, got {other:?}"),
    }
    let message = error.to_string();
    for part in [
        file.display().to_string(),
        "rows archived as big-endian, 32-bit offsets, aligned".to_owned(),
        "this build archives rows as little-endian, 32-bit offsets, aligned".to_owned(),
    ] {
        assert!(message.contains(&part), "{part:?} not in {message:?}");
    }
    assert_eq!(snapshot(dir), before, "the refused open changed a file");
}

#[tokio::test]
async fn a_metadata_file_of_another_archive_format_is_refused() {
    let dir = table_dir(true).await;
    let meta = dir.path().join("meta");
    let mut bytes = fs::read(&meta).unwrap();
    // Bytes 16..20 hold the archive format; the checksum is the last 4.
    assert_eq!(bytes[16..20], ArchiveFormat::current().to_bytes());
    bytes[16..20].copy_from_slice(&big_endian().to_bytes());
    let crc_at = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..crc_at]);
    bytes[crc_at..].copy_from_slice(&crc.to_le_bytes());
    fs::write(&meta, &bytes).unwrap();

    assert_refused(dir.path(), &meta, big_endian());
    // A migration refuses it too, before comparing fingerprints.
    assert!(matches!(
        PersistentTable::<ItemV2>::open_migrating::<Item>(dir.path(), manual(), migrate),
        Err(OpenError::ArchiveFormat { .. })
    ));
    // Put back, the directory opens with its rows.
    bytes[16..20].copy_from_slice(&ArchiveFormat::current().to_bytes());
    let crc = crc32c::crc32c(&bytes[..crc_at]);
    bytes[crc_at..].copy_from_slice(&crc.to_le_bytes());
    fs::write(&meta, &bytes).unwrap();
    let table = PersistentTable::<Item>::open(dir.path(), manual()).unwrap();
    assert_eq!(table.get(&2), Some(item(2, 1)));
    table.close().await.unwrap();
}

/// The one log segment of `dir`.
fn only_segment(dir: &Path) -> PathBuf {
    let segments: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("log-"))
        })
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_log_segment_of_another_archive_format_is_refused() {
    let dir = table_dir(false).await;
    let path = only_segment(dir.path());
    let original = fs::read(&path).unwrap();
    let scanned = log::scan(&original).unwrap();
    assert_eq!(scanned.records.len(), 4);
    assert_eq!(scanned.header.archive_format, ArchiveFormat::current());

    // The same records, as a big-endian build would have framed them: its
    // header, and record checksums seeded by that header.
    let header = SegmentHeader {
        archive_format: big_endian(),
        ..scanned.header
    };
    let mut bytes = encode_header(&header).to_vec();
    for record in &scanned.records {
        encode_record(
            &mut bytes,
            &header,
            record.seq,
            record.durable_below,
            record.kind,
            record.before,
            record.after,
        )
        .unwrap();
    }
    assert_eq!(log::scan(&bytes).unwrap().records.len(), 4);
    fs::write(&path, &bytes).unwrap();
    // Only the segment says so: the metadata file is this build's.
    assert_eq!(
        fs::read(dir.path().join("meta")).unwrap()[16..20],
        ArchiveFormat::current().to_bytes()
    );

    assert_refused(dir.path(), &path, big_endian());
    fs::write(&path, &original).unwrap();
    let table = PersistentTable::<Item>::open(dir.path(), manual()).unwrap();
    assert_eq!(table.get(&2), Some(item(2, 1)));
    assert_eq!(table.len(), 3);
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_page_file_of_another_archive_format_is_refused() {
    let dir = table_dir(true).await;
    let pages = dir.path().join("pages");
    let mut bytes = fs::read(&pages).unwrap();
    // Bytes 28..32 hold the archive format, 32..36 the checksum of 0..32.
    assert_eq!(bytes[28..32], ArchiveFormat::current().to_bytes());
    bytes[28..32].copy_from_slice(&big_endian().to_bytes());
    let crc = crc32c::crc32c(&bytes[..32]);
    bytes[32..36].copy_from_slice(&crc.to_le_bytes());
    fs::write(&pages, &bytes).unwrap();

    assert_refused(dir.path(), &pages, big_endian());
}
