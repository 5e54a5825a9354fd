//! The [`Vfs`] contract, checked on [`RealFs`] (in a temporary directory)
//! and on [`SimFs`] alike: the simulation must behave as the real file
//! system does wherever the contract says something.

use std::io::ErrorKind;
use std::path::Path;

use super::err_kind;
use crate::vfs::LockError;
use crate::vfs::{RealFs, SimFs, Vfs};

/// Runs `check` on a fresh directory of each implementation.
fn on_both(check: impl Fn(&dyn Vfs, &Path)) {
    let real = tempfile::tempdir().expect("a temporary directory");
    check(&RealFs, real.path());
    let sim = SimFs::new();
    let dir = Path::new("/table");
    sim.create_dir_all(dir).unwrap();
    check(&sim, dir);
}

#[test]
fn writes_read_back_at_their_offsets_and_gaps_read_as_zeros() {
    on_both(|fs, dir| {
        let path = dir.join("data");
        let file = fs.open(&path, true).unwrap();
        assert_eq!(file.len().unwrap(), 0);
        file.write_at(0, b"head").unwrap();
        file.write_at(8, b"tail").unwrap();
        file.write_at(2, b"AD").unwrap();
        assert_eq!(file.len().unwrap(), 12);
        assert_eq!(fs.read(&path).unwrap(), b"heAD\0\0\0\0tail");
        let mut buf = [0u8; 4];
        file.read_at(8, &mut buf).unwrap();
        assert_eq!(&buf, b"tail");
        let mut empty = [0u8; 0];
        file.read_at(12, &mut empty).unwrap();
    });
}

#[test]
fn reading_past_the_end_is_unexpected_eof() {
    on_both(|fs, dir| {
        let file = fs.open(&dir.join("data"), true).unwrap();
        file.write_at(0, b"12345").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(
            err_kind(file.read_at(2, &mut buf)),
            ErrorKind::UnexpectedEof
        );
        assert_eq!(
            err_kind(file.read_at(9, &mut buf)),
            ErrorKind::UnexpectedEof
        );
    });
}

#[test]
fn set_len_truncates_and_extends_with_zeros() {
    on_both(|fs, dir| {
        let path = dir.join("data");
        let file = fs.open(&path, true).unwrap();
        file.write_at(0, b"abcdef").unwrap();
        file.set_len(2).unwrap();
        assert_eq!(fs.read(&path).unwrap(), b"ab");
        file.set_len(4).unwrap();
        assert_eq!(fs.read(&path).unwrap(), b"ab\0\0");
        assert_eq!(file.len().unwrap(), 4);
    });
}

#[test]
fn open_creates_only_when_asked_and_never_truncates() {
    on_both(|fs, dir| {
        let path = dir.join("data");
        assert_eq!(err_kind(fs.open(&path, false)), ErrorKind::NotFound);
        assert_eq!(err_kind(fs.read(&path)), ErrorKind::NotFound);
        fs.open(&path, true).unwrap().write_at(0, b"kept").unwrap();
        let again = fs.open(&path, true).unwrap();
        assert_eq!(again.len().unwrap(), 4);
        let existing = fs.open(&path, false).unwrap();
        existing.write_at(4, b"!").unwrap();
        assert_eq!(fs.read(&path).unwrap(), b"kept!");
    });
}

#[test]
fn handles_of_one_file_share_its_bytes() {
    on_both(|fs, dir| {
        let path = dir.join("data");
        let writer = fs.open(&path, true).unwrap();
        let reader = fs.open(&path, false).unwrap();
        writer.write_at(0, b"shared").unwrap();
        let mut buf = [0u8; 6];
        reader.read_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"shared");
    });
}

#[test]
fn rename_replaces_the_target_and_removes_the_source() {
    on_both(|fs, dir| {
        let (old, new) = (dir.join("meta.tmp"), dir.join("meta"));
        fs.open(&new, true).unwrap().write_at(0, b"old").unwrap();
        fs.open(&old, true).unwrap().write_at(0, b"new").unwrap();
        fs.rename(&old, &new).unwrap();
        assert_eq!(fs.read(&new).unwrap(), b"new");
        assert_eq!(err_kind(fs.read(&old)), ErrorKind::NotFound);
        assert_eq!(err_kind(fs.rename(&old, &new)), ErrorKind::NotFound);
        fs.sync_dir(dir).unwrap();
    });
}

#[test]
fn a_handle_follows_its_file_through_a_rename() {
    on_both(|fs, dir| {
        let (old, new) = (dir.join("a"), dir.join("b"));
        let file = fs.open(&old, true).unwrap();
        fs.rename(&old, &new).unwrap();
        file.write_at(0, b"moved").unwrap();
        assert_eq!(fs.read(&new).unwrap(), b"moved");
    });
}

#[test]
fn list_names_the_files_and_not_the_subdirectories() {
    on_both(|fs, dir| {
        fs.create_dir_all(&dir.join("sub").join("deeper")).unwrap();
        for name in ["b", "a", "log-00000000000000000001"] {
            fs.open(&dir.join(name), true).unwrap();
        }
        fs.open(&dir.join("sub").join("inner"), true).unwrap();
        let mut names = fs.list(dir).unwrap();
        names.sort();
        assert_eq!(names, ["a", "b", "log-00000000000000000001"]);
        assert_eq!(fs.list(&dir.join("sub")).unwrap(), ["inner"]);
        assert_eq!(err_kind(fs.list(&dir.join("missing"))), ErrorKind::NotFound);
    });
}

#[test]
fn remove_file_removes_and_reports_a_missing_file() {
    on_both(|fs, dir| {
        let path = dir.join("gone");
        fs.open(&path, true).unwrap();
        fs.remove_file(&path).unwrap();
        assert_eq!(err_kind(fs.read(&path)), ErrorKind::NotFound);
        assert_eq!(err_kind(fs.remove_file(&path)), ErrorKind::NotFound);
        assert!(fs.list(dir).unwrap().is_empty());
    });
}

#[test]
fn files_in_a_missing_directory_cannot_be_opened() {
    on_both(|fs, dir| {
        let path = dir.join("missing").join("data");
        assert_eq!(err_kind(fs.open(&path, true)), ErrorKind::NotFound);
        fs.create_dir_all(&dir.join("missing")).unwrap();
        fs.open(&path, true).unwrap();
    });
}

#[test]
fn map_views_the_whole_file_and_an_empty_file_as_empty() {
    on_both(|fs, dir| {
        let path = dir.join("pages");
        let file = fs.open(&path, true).unwrap();
        assert!(fs.map(&path).unwrap().is_empty());
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        file.write_at(0, &bytes).unwrap();
        assert_eq!(&fs.map(&path).unwrap()[..], &bytes[..]);
        assert_eq!(err_kind(fs.map(&dir.join("missing"))), ErrorKind::NotFound);
    });
}

#[test]
fn syncs_succeed_on_existing_files_and_directories() {
    on_both(|fs, dir| {
        let file = fs.open(&dir.join("data"), true).unwrap();
        file.write_at(0, b"x").unwrap();
        file.sync_data().unwrap();
        file.sync_all().unwrap();
        fs.sync_dir(dir).unwrap();
        assert!(fs.sync_dir(&dir.join("missing")).is_err());
    });
}

#[test]
fn the_directory_lock_excludes_a_second_holder_until_dropped() {
    on_both(|fs, dir| {
        let lock = fs.lock_dir(dir).unwrap();
        match fs.lock_dir(dir) {
            Err(LockError::AlreadyOpen { path }) => assert_eq!(path, dir.join("LOCK")),
            other => panic!("expected AlreadyOpen, got {other:?}"),
        }
        assert!(fs.list(dir).unwrap().contains(&"LOCK".to_owned()));
        drop(lock);
        let again = fs.lock_dir(dir).unwrap();
        drop(again);
        match fs.lock_dir(&dir.join("missing")) {
            Err(LockError::Io { path, source }) => {
                assert_eq!(path, dir.join("missing").join("LOCK"));
                assert_eq!(source.kind(), ErrorKind::NotFound);
            }
            other => panic!("expected Io, got {other:?}"),
        }
    });
}
