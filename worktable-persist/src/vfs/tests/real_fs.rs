//! What only [`RealFs`] does: map with `mmap`, share the lock with
//! [`DirLock`], and leave the bytes on the real disk.

use crate::vfs::LockError;
use crate::vfs::dir_lock::DirLock;
use crate::vfs::{RealFs, Vfs};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[test]
fn a_non_empty_file_is_mapped_and_an_empty_one_is_not() {
    let dir = tempdir();
    let path = dir.path().join("pages");
    std::fs::write(&path, b"").unwrap();
    let empty = RealFs.map(&path).unwrap();
    assert!(empty.is_empty());
    assert!(!empty.is_mapping());
    std::fs::write(&path, vec![7u8; 70_000]).unwrap();
    let map = RealFs.map(&path).unwrap();
    assert!(map.is_mapping());
    assert_eq!(map.len(), 70_000);
    assert!(map.iter().all(|&b| b == 7));
}

#[test]
fn writes_reach_the_file_that_std_reads() {
    let dir = tempdir();
    let path = dir.path().join("log");
    let file = RealFs.open(&path, true).unwrap();
    file.write_at(3, b"xyz").unwrap();
    file.sync_data().unwrap();
    RealFs.sync_dir(dir.path()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"\0\0\0xyz");
}

#[test]
fn lock_dir_and_dir_lock_exclude_each_other() {
    let dir = tempdir();
    let held = RealFs.lock_dir(dir.path()).unwrap();
    assert!(held.downcast_ref::<DirLock>().is_some());
    assert!(matches!(
        DirLock::acquire(dir.path()),
        Err(LockError::AlreadyOpen { .. })
    ));
    drop(held);
    let direct = DirLock::acquire(dir.path()).unwrap();
    assert!(matches!(
        RealFs.lock_dir(dir.path()),
        Err(LockError::AlreadyOpen { .. })
    ));
    drop(direct);
    RealFs.lock_dir(dir.path()).unwrap();
}

#[test]
fn create_dir_all_creates_the_missing_parents() {
    let dir = tempdir();
    let deep = dir.path().join("a").join("b").join("c");
    RealFs.create_dir_all(&deep).unwrap();
    RealFs.create_dir_all(&deep).unwrap();
    assert!(deep.is_dir());
}
