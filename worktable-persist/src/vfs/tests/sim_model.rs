//! The rules of the simulated disk's model, one by one, mostly through
//! [`PowerCut::KeepSynced`]: what is durable and what is not.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::err_kind;
use crate::vfs::{PowerCut, SimFs, SimStats, Vfs};

const DIR: &str = "/t";

fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

/// A disk with the directory `/t`.
fn disk() -> SimFs {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    sim
}

/// A disk where `/t/name` exists durably (entry and bytes) holding `bytes`.
fn disk_with(name: &str, bytes: &[u8]) -> SimFs {
    let sim = disk();
    let file = sim.open(&path(name), true).unwrap();
    file.write_at(0, bytes).unwrap();
    file.sync_data().unwrap();
    sim.sync_dir(Path::new(DIR)).unwrap();
    sim
}

fn cut(sim: &SimFs) -> SimFs {
    sim.power_cut(PowerCut::KeepSynced, 0)
}

#[test]
fn synced_writes_survive_a_cut_and_unsynced_ones_do_not() {
    let sim = disk_with("log", b"synced");
    let file = sim.open(&path("log"), false).unwrap();
    file.write_at(6, b" lost").unwrap();
    file.write_at(0, b"S").unwrap();
    assert_eq!(sim.file(&path("log")).unwrap(), b"Synced lost");
    assert_eq!(sim.durable_file(&path("log")).unwrap(), b"synced");
    let after = cut(&sim);
    assert_eq!(after.file(&path("log")).unwrap(), b"synced");
    assert_eq!(after.durable_file(&path("log")).unwrap(), b"synced");

    file.sync_all().unwrap();
    assert_eq!(cut(&sim).file(&path("log")).unwrap(), b"Synced lost");
}

#[test]
fn an_unsynced_set_len_is_undone_by_a_cut() {
    let sim = disk_with("log", b"0123456789");
    let file = sim.open(&path("log"), false).unwrap();
    file.set_len(3).unwrap();
    assert_eq!(cut(&sim).file(&path("log")).unwrap(), b"0123456789");
    file.sync_data().unwrap();
    assert_eq!(cut(&sim).file(&path("log")).unwrap(), b"012");
}

#[test]
fn a_synced_file_in_an_unsynced_directory_is_gone_after_a_cut() {
    let sim = disk();
    let file = sim.open(&path("new"), true).unwrap();
    file.write_at(0, b"data").unwrap();
    file.sync_all().unwrap();
    assert_eq!(sim.durable_file(&path("new")), None);
    assert_eq!(cut(&sim).file(&path("new")), None);
    assert!(cut(&sim).paths().is_empty());

    sim.sync_dir(Path::new(DIR)).unwrap();
    assert_eq!(cut(&sim).file(&path("new")).unwrap(), b"data");
}

#[test]
fn a_durable_entry_with_unsynced_data_comes_back_empty() {
    let sim = disk();
    let file = sim.open(&path("new"), true).unwrap();
    sim.sync_dir(Path::new(DIR)).unwrap();
    file.write_at(0, b"never synced").unwrap();
    assert_eq!(cut(&sim).file(&path("new")).unwrap(), b"");
}

#[test]
fn a_rename_without_a_directory_sync_is_undone_by_a_cut() {
    let sim = disk_with("meta", b"old");
    let tmp = sim.open(&path("meta.tmp"), true).unwrap();
    tmp.write_at(0, b"new").unwrap();
    tmp.sync_all().unwrap();
    sim.rename(&path("meta.tmp"), &path("meta")).unwrap();
    assert_eq!(sim.file(&path("meta")).unwrap(), b"new");

    let after = cut(&sim);
    assert_eq!(after.file(&path("meta")).unwrap(), b"old");
    assert_eq!(after.file(&path("meta.tmp")), None);

    sim.sync_dir(Path::new(DIR)).unwrap();
    let after = cut(&sim);
    assert_eq!(after.file(&path("meta")).unwrap(), b"new");
    assert_eq!(after.paths(), [path("meta")]);
}

#[test]
fn a_removal_without_a_directory_sync_is_undone_by_a_cut() {
    let sim = disk_with("log-1", b"segment");
    sim.remove_file(&path("log-1")).unwrap();
    assert!(sim.paths().is_empty());
    assert_eq!(cut(&sim).file(&path("log-1")).unwrap(), b"segment");
    sim.sync_dir(Path::new(DIR)).unwrap();
    assert!(cut(&sim).paths().is_empty());
}

#[test]
fn a_removed_file_written_through_an_open_handle_keeps_its_synced_bytes() {
    let sim = disk_with("log", b"a");
    let file = sim.open(&path("log"), false).unwrap();
    sim.remove_file(&path("log")).unwrap();
    file.write_at(1, b"b").unwrap();
    file.sync_data().unwrap();
    assert_eq!(sim.file(&path("log")), None);
    // The removal is not durable: the inode comes back with what was synced.
    assert_eq!(cut(&sim).file(&path("log")).unwrap(), b"ab");
}

#[test]
fn a_directory_sync_covers_only_its_own_directory() {
    let sim = disk();
    sim.create_dir_all(Path::new("/u")).unwrap();
    sim.open(&path("here"), true).unwrap();
    sim.open(Path::new("/u/there"), true).unwrap();
    sim.sync_dir(Path::new("/u")).unwrap();
    assert_eq!(cut(&sim).paths(), [PathBuf::from("/u/there")]);
}

#[test]
fn a_rename_across_directories_needs_both_directories_synced() {
    let sim = disk_with("f", b"x");
    sim.create_dir_all(Path::new("/u")).unwrap();
    sim.rename(&path("f"), Path::new("/u/f")).unwrap();
    sim.sync_dir(Path::new("/u")).unwrap();
    // Only the destination's entry is durable: the file has two names.
    assert_eq!(
        cut(&sim).paths(),
        [PathBuf::from("/t/f"), PathBuf::from("/u/f")]
    );
    sim.sync_dir(Path::new(DIR)).unwrap();
    assert_eq!(cut(&sim).paths(), [PathBuf::from("/u/f")]);
}

#[test]
fn directories_are_durable_once_created() {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new("/a/b/c")).unwrap();
    let after = cut(&sim);
    for dir in ["/a", "/a/b", "/a/b/c"] {
        assert!(after.list(Path::new(dir)).unwrap().is_empty(), "{dir}");
    }
}

#[test]
fn a_cut_disk_is_settled_and_independent_of_the_old_one() {
    let sim = disk_with("log", b"synced");
    let old_handle = sim.open(&path("log"), false).unwrap();
    let after = cut(&sim);
    old_handle.write_at(0, b"ZZ").unwrap();
    old_handle.sync_data().unwrap();
    assert_eq!(after.file(&path("log")).unwrap(), b"synced");
    // Everything on the new disk is durable: a second cut changes nothing.
    assert_eq!(cut(&after).file(&path("log")).unwrap(), b"synced");
    assert_eq!(after.stats(), SimStats::default());
}

#[test]
fn a_process_kill_keeps_everything_written_but_not_more_durably() {
    let sim = disk_with("log", b"synced");
    let file = sim.open(&path("log"), false).unwrap();
    file.write_at(6, b"+unsynced").unwrap();
    sim.open(&path("new"), true)
        .unwrap()
        .write_at(0, b"n")
        .unwrap();
    let lock = sim.lock_dir(Path::new(DIR)).unwrap();

    let next = sim.kill_process();
    assert_eq!(next.file(&path("log")).unwrap(), b"synced+unsynced");
    assert_eq!(next.file(&path("new")).unwrap(), b"n");
    assert!(!next.is_locked(Path::new(DIR)));
    let _relocked = next.lock_dir(Path::new(DIR)).unwrap();
    // The dead process's handle no longer reaches the new disk.
    file.write_at(0, b"ghost").unwrap();
    assert_eq!(next.file(&path("log")).unwrap(), b"synced+unsynced");
    // What was not synced before the kill can still be lost to a power cut.
    let after = cut(&next);
    assert_eq!(after.file(&path("log")).unwrap(), b"synced");
    assert_eq!(after.file(&path("new")), None);
    drop(lock);
}

#[test]
fn set_file_plants_durable_bytes_in_place() {
    let sim = disk_with("meta", b"good");
    let handle = sim.open(&path("meta"), false).unwrap();
    sim.set_file(&path("meta"), b"bad!");
    let mut buf = [0u8; 4];
    handle.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"bad!");
    assert_eq!(cut(&sim).file(&path("meta")).unwrap(), b"bad!");

    sim.set_file(Path::new("/elsewhere/x"), b"planted");
    assert_eq!(
        cut(&sim).file(Path::new("/elsewhere/x")).unwrap(),
        b"planted"
    );
    assert_eq!(sim.stats(), disk_with("meta", b"good").stats());
}

#[test]
fn paths_are_keys_that_join_and_spell_out_alike() {
    let sim = disk();
    sim.open(&Path::new("/t").join("a"), true).unwrap();
    assert!(sim.open(Path::new("/t/a"), false).is_ok());
    assert!(sim.open(Path::new("/t//a"), false).is_ok());
    assert_eq!(sim.paths(), [PathBuf::from("/t/a")]);
    assert_eq!(
        err_kind(sim.open(Path::new("/t"), true)),
        ErrorKind::IsADirectory
    );
    assert_eq!(
        err_kind(sim.open(Path::new("/"), true)),
        ErrorKind::IsADirectory
    );
    assert_eq!(
        err_kind(sim.create_dir_all(Path::new("/t/a"))),
        ErrorKind::AlreadyExists
    );
}

#[test]
fn counters_count_successful_operations() {
    let sim = disk();
    let file = sim.open(&path("log"), true).unwrap();
    file.write_at(0, b"abc").unwrap();
    file.write_at(3, b"de").unwrap();
    file.set_len(4).unwrap();
    file.sync_data().unwrap();
    file.sync_all().unwrap();
    sim.sync_dir(Path::new(DIR)).unwrap();
    sim.rename(&path("log"), &path("log2")).unwrap();
    let stats = sim.stats();
    assert_eq!(
        stats,
        SimStats {
            writes: 2,
            bytes_written: 5,
            set_lens: 1,
            sync_data: 1,
            sync_all: 1,
            sync_dir: 1,
            renames: 1,
            injected_failures: 0,
        }
    );
    assert_eq!(stats.file_syncs(), 2);
}

#[test]
fn map_is_a_copy_of_the_current_bytes() {
    let sim = disk_with("pages", b"before");
    let view = sim.map(&path("pages")).unwrap();
    sim.open(&path("pages"), false)
        .unwrap()
        .write_at(0, b"AFTER!")
        .unwrap();
    assert_eq!(&view[..], b"before");
    assert!(!view.is_mapping());
}
