//! The directory lock of the simulated disk.

use std::path::Path;

use crate::vfs::LockError;
use crate::vfs::{PowerCut, SimFs, Vfs};

fn disk() -> SimFs {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new("/a")).unwrap();
    sim.create_dir_all(Path::new("/b")).unwrap();
    sim
}

#[test]
fn a_second_lock_is_refused_until_the_first_drops() {
    let sim = disk();
    let other_handle = sim.clone();
    let lock = sim.lock_dir(Path::new("/a")).unwrap();
    assert!(sim.is_locked(Path::new("/a")));
    for _ in 0..2 {
        match other_handle.lock_dir(Path::new("/a")) {
            Err(LockError::AlreadyOpen { path }) => assert_eq!(path, Path::new("/a/LOCK")),
            other => panic!("expected AlreadyOpen, got {other:?}"),
        }
    }
    // Another directory is independent.
    let _b = sim.lock_dir(Path::new("/b")).unwrap();
    drop(lock);
    assert!(!sim.is_locked(Path::new("/a")));
    let _again = other_handle.lock_dir(Path::new("/a")).unwrap();
}

#[test]
fn the_lock_file_is_created_like_any_file() {
    let sim = disk();
    let _lock = sim.lock_dir(Path::new("/a")).unwrap();
    assert_eq!(sim.file(Path::new("/a/LOCK")).unwrap(), b"");
    // Its entry is not durable until the directory is synced.
    assert_eq!(sim.durable_file(Path::new("/a/LOCK")), None);
}

#[test]
fn no_lock_survives_a_power_cut_and_the_old_guard_does_not_reach_the_new_disk() {
    let sim = disk();
    let lock = sim.lock_dir(Path::new("/a")).unwrap();
    let after = sim.power_cut(PowerCut::Scatter, 3);
    let relock = after.lock_dir(Path::new("/a")).unwrap();
    drop(lock);
    assert!(after.is_locked(Path::new("/a")));
    assert!(matches!(
        after.lock_dir(Path::new("/a")),
        Err(LockError::AlreadyOpen { .. })
    ));
    drop(relock);
    assert!(!after.is_locked(Path::new("/a")));
}
