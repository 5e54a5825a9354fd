//! `write_atomically` and `read` on a real directory: round trips,
//! replacement, leftovers of an interrupted replacement, and errors that
//! name the file.

use std::io;
use std::path::Path;

use super::{orders_at_41, reseal, sample};
use crate::file_error::{FileError, FileKind};
use crate::meta::{
    FILE_NAME, MAGIC, MAX_LEN, Meta, MetaError, decode, encode, read, write_atomically,
};
use crate::vfs::RealFs;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn write_meta(dir: &Path, meta: &Meta) {
    write_atomically(&RealFs, dir, FILE_NAME, &encode(meta).unwrap()).unwrap();
}

fn tmp_path(dir: &Path) -> std::path::PathBuf {
    dir.join(format!("{FILE_NAME}.tmp"))
}

#[test]
fn written_meta_reads_back() {
    let dir = tempdir();
    write_meta(dir.path(), &sample());
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME).unwrap(), sample());
    assert!(!tmp_path(dir.path()).exists());
}

#[test]
fn write_atomically_writes_exactly_the_bytes() {
    let dir = tempdir();
    for bytes in [&b""[..], b"x", &[0xa5; 10_000]] {
        write_atomically(&RealFs, dir.path(), "blob", bytes).unwrap();
        assert_eq!(std::fs::read(dir.path().join("blob")).unwrap(), bytes);
    }
}

#[test]
fn a_second_write_replaces_the_first() {
    let dir = tempdir();
    write_meta(dir.path(), &sample());
    let next = Meta {
        checkpoint_seq: 1_000,
        page_file_generation: 4,
        largest_deleted_key: vec![1],
        ..sample()
    };
    write_meta(dir.path(), &next);
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME).unwrap(), next);
    // Exactly the new file: nothing of the longer old one is left at its end.
    assert_eq!(
        std::fs::read(dir.path().join(FILE_NAME)).unwrap(),
        encode(&next).unwrap()
    );
}

#[test]
fn a_leftover_tmp_file_is_ignored_and_replaced() {
    let dir = tempdir();
    write_meta(dir.path(), &sample());
    // A crash during a later replacement left a torn temporary file.
    std::fs::write(tmp_path(dir.path()), b"WTMETA\0\0 torn garbage").unwrap();
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME).unwrap(), sample());

    let next = Meta {
        checkpoint_seq: 99,
        ..sample()
    };
    write_meta(dir.path(), &next);
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME).unwrap(), next);
    assert!(!tmp_path(dir.path()).exists());
}

#[test]
fn a_leftover_tmp_file_longer_than_the_new_one_is_truncated() {
    let dir = tempdir();
    std::fs::write(tmp_path(dir.path()), vec![0xee; 5_000]).unwrap();
    assert!(matches!(
        read(&RealFs, dir.path(), FILE_NAME),
        Err(MetaError::Missing { .. })
    ));
    write_meta(dir.path(), &sample());
    assert_eq!(
        std::fs::read(dir.path().join(FILE_NAME)).unwrap(),
        encode(&sample()).unwrap()
    );
}

#[test]
fn a_failed_write_leaves_the_old_file() {
    let dir = tempdir();
    write_meta(dir.path(), &sample());
    // The temporary file cannot be created: a directory has its name.
    std::fs::create_dir(tmp_path(dir.path())).unwrap();
    let next = Meta {
        checkpoint_seq: 7,
        ..sample()
    };
    assert!(write_atomically(&RealFs, dir.path(), FILE_NAME, &encode(&next).unwrap()).is_err());
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME).unwrap(), sample());
}

#[test]
fn writing_into_a_missing_directory_fails() {
    let dir = tempdir();
    let missing = dir.path().join("missing");
    let err = write_atomically(&RealFs, &missing, FILE_NAME, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(!missing.exists());
}

#[test]
fn missing_file_is_missing() {
    let dir = tempdir();
    let err = read(&RealFs, dir.path(), FILE_NAME).unwrap_err();
    let path = dir.path().join(FILE_NAME);
    assert!(matches!(&err, MetaError::Missing { path: p } if *p == path));
    assert_eq!(err.path(), path);
    assert_eq!(
        err.to_string(),
        format!("metadata file {} does not exist", path.display())
    );
    // So is a file in a directory that does not exist.
    let missing_dir = dir.path().join("gone");
    assert!(matches!(
        read(&RealFs, &missing_dir, FILE_NAME),
        Err(MetaError::Missing { path }) if path == missing_dir.join(FILE_NAME)
    ));
}

#[test]
fn garbage_is_a_decode_error_naming_the_file() {
    let dir = tempdir();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, [0u8; 64]).unwrap();
    let err = read(&RealFs, dir.path(), FILE_NAME).unwrap_err();
    match &err {
        MetaError::Decode { path: p, source } => {
            assert_eq!(p, &path);
            assert_eq!(
                source,
                &FileError::BadMagic {
                    file: FileKind::Metadata,
                    expected: MAGIC,
                    found: [0; 8]
                }
            );
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "metadata file {} cannot be used: {}",
            path.display(),
            FileError::BadMagic {
                file: FileKind::Metadata,
                expected: MAGIC,
                found: [0; 8]
            }
        )
    );
    let source = std::error::Error::source(&err).expect("the decode error is the source");
    assert_eq!(
        source.downcast_ref::<FileError>(),
        Some(&FileError::BadMagic {
            file: FileKind::Metadata,
            expected: MAGIC,
            found: [0; 8]
        })
    );
}

#[test]
fn a_damaged_file_is_a_checksum_error() {
    let dir = tempdir();
    let mut bytes = encode(&sample()).unwrap();
    bytes[30] ^= 0x20;
    std::fs::write(dir.path().join(FILE_NAME), &bytes).unwrap();
    assert!(matches!(
        read(&RealFs, dir.path(), FILE_NAME),
        Err(MetaError::Decode {
            source: FileError::ChecksumMismatch { .. },
            ..
        })
    ));
}

#[test]
fn a_huge_file_is_too_long_with_its_full_length() {
    let dir = tempdir();
    let mut bytes = encode(&sample()).unwrap();
    bytes.resize(4 << 20, 0);
    reseal(&mut bytes);
    std::fs::write(dir.path().join(FILE_NAME), &bytes).unwrap();
    assert!(matches!(
        read(&RealFs, dir.path(), FILE_NAME),
        Err(MetaError::Decode {
            source: FileError::TooLong {
                file: FileKind::Metadata,
                max: MAX_LEN,
                len: 4_194_304
            },
            ..
        })
    ));
    // The decoder alone sees only what it is given.
    assert_eq!(
        decode(&bytes[..MAX_LEN + 1]),
        Err(FileError::TooLong {
            file: FileKind::Metadata,
            max: MAX_LEN,
            len: MAX_LEN as u64 + 1
        })
    );
}

#[test]
fn a_huge_file_of_a_newer_version_is_reported_as_a_newer_version() {
    let dir = tempdir();
    let mut bytes = encode(&sample()).unwrap();
    bytes[8] = 3;
    bytes.resize(4 << 20, 0);
    std::fs::write(dir.path().join(FILE_NAME), &bytes).unwrap();
    assert!(matches!(
        read(&RealFs, dir.path(), FILE_NAME),
        Err(MetaError::Decode {
            source: FileError::UnsupportedVersion { found: 3, .. },
            ..
        })
    ));
}

#[test]
fn a_directory_in_place_of_the_file_is_an_io_error() {
    let dir = tempdir();
    let path = dir.path().join(FILE_NAME);
    std::fs::create_dir(&path).unwrap();
    let err = read(&RealFs, dir.path(), FILE_NAME).unwrap_err();
    assert!(
        matches!(&err, MetaError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).expect("the io error is the source");
    assert_eq!(
        err.to_string(),
        format!("cannot read metadata file {}: {source}", path.display())
    );
}

#[test]
fn a_replaced_file_reads_back() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let meta = orders_at_41(41, &[]);
    write_atomically(&RealFs, dir.path(), FILE_NAME, &encode(&meta)?)?;
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME)?, meta);
    Ok(())
}

#[test]
fn a_missing_file_then_the_checkpoint_written_over_it() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    assert!(matches!(
        read(&RealFs, dir.path(), FILE_NAME),
        Err(MetaError::Missing { .. })
    ));

    let checkpoint = orders_at_41(41, &42u64.to_le_bytes());
    write_atomically(&RealFs, dir.path(), FILE_NAME, &encode(&checkpoint)?)?;
    assert_eq!(read(&RealFs, dir.path(), FILE_NAME)?, checkpoint);
    Ok(())
}
