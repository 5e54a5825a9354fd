//! Every durable system stores what the runner inserted, with each writer
//! count it is measured with, in the order of `NAMES`; a filled table
//! reopens whole; and the disk check reads mount tables.

use std::path::{Path, PathBuf};

use super::{
    DurableSystem, DurableVisitor, Runner, deepest_mount, split_among, visit_all, writer_counts,
};

/// Rows per checked run: a multiple of 16 (the floor's batch) and of every
/// writer count.
const ROWS: usize = 64;

struct StoresEveryRow<'a> {
    runner: &'a Runner,
    /// The systems visited, in order.
    visited: Vec<&'static str>,
}

impl DurableVisitor for StoresEveryRow<'_> {
    fn visit<S: DurableSystem>(&mut self) {
        for writers in writer_counts::<S>() {
            let work = split_among(ROWS, writers);
            assert_eq!(work.iter().map(Vec::len).sum::<usize>(), ROWS);
            let dir = self.runner.fresh_dir();
            self.runner.run_in::<S>(dir.path(), &work);
            assert_eq!(
                S::stored_rows(dir.path()),
                ROWS,
                "{} with {writers} writers",
                S::NAME
            );
        }
        self.visited.push(S::NAME);
    }
}

#[test]
fn every_system_stores_every_row() {
    let runner = Runner::new();
    let mut check = StoresEveryRow {
        runner: &runner,
        visited: Vec::new(),
    };
    visit_all(&mut check);
    assert_eq!(
        check.visited,
        super::NAMES,
        "NAMES follows the visiting order"
    );
}

#[test]
fn filled_table_reopens_with_its_rows() {
    let runner = Runner::new();
    let dir = runner.fresh_dir();
    super::worktable::fill(dir.path(), crate::users(500, super::SEED));
    assert_eq!(super::worktable::reopen(dir.path()).len(), 500);
    // Reopening changes nothing.
    assert_eq!(super::worktable::reopen(dir.path()).len(), 500);
}

const MOUNTINFO: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:21 / /tmp rw,nosuid shared:2 - tmpfs tmpfs rw
24 22 0:22 / /tmp/on\\040disk rw shared:3 master:1 - xfs /dev/vdb rw
25 22 0:23 / /tmpx rw - tmpfs none rw
";

fn fs_type(path: &str) -> String {
    deepest_mount(MOUNTINFO, Path::new(path))
        .expect("a mount")
        .fs_type
}

#[test]
fn the_deepest_mount_holding_a_path_is_found() {
    assert_eq!(fs_type("/work/target"), "ext4");
    assert_eq!(fs_type("/tmp"), "tmpfs");
    assert_eq!(fs_type("/tmp/worktable-durable-x"), "tmpfs");
    assert_eq!(fs_type("/tmp/on disk/x"), "xfs");
    // A path component, not a string prefix.
    assert_eq!(fs_type("/tmpxy"), "ext4");
    let mount = deepest_mount(MOUNTINFO, Path::new("/tmp/on disk")).expect("a mount");
    assert_eq!(mount.point, PathBuf::from("/tmp/on disk"));
    assert_eq!(mount.source, "/dev/vdb");
}

#[test]
fn a_memory_file_system_is_refused() {
    let shm = Path::new("/dev/shm");
    if super::mount_of(shm).is_none_or(|mount| mount.fs_type != "tmpfs") {
        eprintln!("no tmpfs at /dev/shm: nothing to check");
        return;
    }
    let refused = std::panic::catch_unwind(|| Runner::in_dir(shm.to_owned()))
        .expect_err("a runner on tmpfs is refused");
    let message = refused
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(message.contains("syncs would cost nothing"), "{message}");
}
