//! Injected faults: which call fails, what it leaves behind, and the error
//! it returns.

use std::io;
use std::path::{Path, PathBuf};

use crate::vfs::LockError;
use crate::vfs::{Fault, InjectedFault, PowerCut, SimFs, Vfs};

fn path(name: &str) -> PathBuf {
    Path::new("/t").join(name)
}

fn disk() -> SimFs {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new("/t")).unwrap();
    sim
}

fn injected(err: &io::Error) -> &InjectedFault {
    InjectedFault::of(err).unwrap_or_else(|| panic!("not an injected fault: {err}"))
}

#[test]
fn the_nth_write_fails_after_writing_a_prefix_and_the_others_succeed() {
    let sim = disk();
    let file = sim.open(&path("log"), true).unwrap();
    sim.fail(Fault::Write { nth: 2, written: 3 });
    file.write_at(0, b"first").unwrap();
    let err = file.write_at(5, b"second").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert_eq!(
        injected(&err),
        &InjectedFault {
            op: "write_at",
            path: path("log")
        }
    );
    assert_eq!(
        err.to_string(),
        "injected fault (simulated disk): write_at of /t/log"
    );
    // The short write's bytes are in the file, unsynced.
    assert_eq!(sim.file(&path("log")).unwrap(), b"firstsec");
    file.write_at(8, b"ond").unwrap();
    assert_eq!(sim.file(&path("log")).unwrap(), b"firstsecond");
    let stats = sim.stats();
    assert_eq!((stats.writes, stats.injected_failures), (2, 1));
}

#[test]
fn a_failed_write_with_nothing_written_changes_nothing() {
    let sim = disk();
    let file = sim.open(&path("log"), true).unwrap();
    sim.fail(Fault::Write { nth: 1, written: 0 });
    assert!(InjectedFault::is(&file.write_at(0, b"x").unwrap_err()));
    assert_eq!(sim.file(&path("log")).unwrap(), b"");
}

#[test]
fn a_failed_sync_leaves_the_data_unsynced_until_a_later_sync() {
    let sim = disk();
    let file = sim.open(&path("log"), true).unwrap();
    sim.sync_dir(Path::new("/t")).unwrap();
    sim.fail(Fault::Sync { nth: 2 });
    file.write_at(0, b"one").unwrap();
    file.sync_data().unwrap();
    file.write_at(3, b"two").unwrap();
    let err = file.sync_all().unwrap_err();
    assert_eq!(injected(&err).op, "sync_all");
    assert_eq!(sim.durable_file(&path("log")).unwrap(), b"one");
    let after = sim.power_cut(PowerCut::KeepSynced, 0);
    assert_eq!(after.file(&path("log")).unwrap(), b"one");

    file.sync_data().unwrap();
    assert_eq!(sim.durable_file(&path("log")).unwrap(), b"onetwo");
}

#[test]
fn a_path_fault_refuses_every_operation_on_matching_names() {
    let sim = disk();
    let log = sim.open(&path("log-1"), true).unwrap();
    sim.open(&path("meta"), true).unwrap();
    sim.fail(Fault::Path {
        prefix: "log-".into(),
    });

    let mut buf = [0u8; 1];
    let failures: Vec<io::Error> = vec![
        log.write_at(0, b"x").unwrap_err(),
        log.read_at(0, &mut buf).unwrap_err(),
        log.set_len(0).unwrap_err(),
        log.len().unwrap_err(),
        log.sync_data().unwrap_err(),
        log.sync_all().unwrap_err(),
        sim.open(&path("log-2"), true).unwrap_err(),
        sim.read(&path("log-1")).unwrap_err(),
        sim.map(&path("log-1")).unwrap_err(),
        sim.remove_file(&path("log-1")).unwrap_err(),
        sim.rename(&path("meta"), &path("log-3")).unwrap_err(),
        sim.rename(&path("log-1"), &path("other")).unwrap_err(),
    ];
    let ops: Vec<&str> = failures.iter().map(|e| injected(e).op).collect();
    assert_eq!(
        ops,
        [
            "write_at",
            "read_at",
            "set_len",
            "len",
            "sync_data",
            "sync_all",
            "open",
            "read",
            "map",
            "remove_file",
            "rename",
            "rename"
        ]
    );
    assert_eq!(sim.stats().injected_failures, 12);
    // Nothing changed, and other names work.
    assert_eq!(sim.paths(), [path("log-1"), path("meta")]);
    sim.open(&path("meta"), false)
        .unwrap()
        .write_at(0, b"m")
        .unwrap();
    sim.sync_dir(Path::new("/t")).unwrap();

    sim.clear_faults();
    log.write_at(0, b"x").unwrap();
    sim.open(&path("log-2"), true).unwrap();
}

#[test]
fn a_path_fault_on_the_lock_file_fails_the_lock() {
    let sim = disk();
    sim.fail(Fault::Path {
        prefix: "LOCK".into(),
    });
    match sim.lock_dir(Path::new("/t")) {
        Err(LockError::Io { path: p, source }) => {
            assert_eq!(p, path("LOCK"));
            assert!(InjectedFault::is(&source));
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(!sim.is_locked(Path::new("/t")));
}

#[test]
fn countdowns_ignore_calls_a_path_fault_refused_and_fire_once() {
    let sim = disk();
    let log = sim.open(&path("log"), true).unwrap();
    let bad = sim.open(&path("bad"), true).unwrap();
    sim.fail(Fault::Path {
        prefix: "bad".into(),
    });
    sim.fail(Fault::Write { nth: 2, written: 0 });
    bad.write_at(0, b"refused").unwrap_err();
    log.write_at(0, b"1").unwrap();
    assert!(InjectedFault::is(&log.write_at(1, b"2").unwrap_err()));
    log.write_at(1, b"2").unwrap();
    log.write_at(2, b"3").unwrap();
    assert_eq!(sim.file(&path("log")).unwrap(), b"123");
}

#[test]
fn faults_belong_to_one_disk_and_not_to_the_one_after_a_cut_or_kill() {
    let sim = disk();
    sim.fail(Fault::Path { prefix: "".into() });
    for next in [sim.power_cut(PowerCut::Prefix, 1), sim.kill_process()] {
        next.open(&path("x"), true).unwrap().sync_data().unwrap();
    }
    assert!(sim.open(&path("x"), true).is_err());
}
