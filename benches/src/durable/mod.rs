//! Durable single-row inserts, written once for every compared system:
//! [`DurableSystem`] is what a system must do (open a directory, insert one
//! row durably, close), [`Runner`] runs W concurrent writers against a
//! fresh directory on the real disk and times them, and [`summary`] turns
//! criterion's output into inserts per second and ratios.
//!
//! The systems, one module each: [`worktable`] (`PersistentTable`,
//! `Durability::Sync`), [`worktable_db`] (a one-table `DurableDatabase`,
//! `Durability::Sync`), [`sqlite`] (WAL, `synchronous=FULL`), [`redb`]
//! (default durability) and [`floor`] (one append and `fdatasync` per row:
//! what the disk allows; and 16 rows per `fdatasync`, the group-commit
//! reference). `benches/durable.rs` drives them with criterion.

pub mod floor;
pub mod redb;
pub mod sqlite;
pub mod summary;
pub mod worktable;
pub mod worktable_db;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{Mode, User, now, users};

/// Seed of the inserted rows: the benchmarks' seed, so every system gets
/// the same data.
pub const SEED: u64 = 0x5eed;

/// Rows inserted per measured iteration, split evenly among the writers
/// (divisible by every count in [`WRITER_COUNTS`] and by 16, the floor's
/// batch).
pub const ROWS_PER_ITERATION: usize = 1_024;

/// The concurrent writer counts measured.
pub const WRITER_COUNTS: [usize; 3] = [1, 4, 16];

/// Environment variable naming the directory the benchmark's table
/// directories are made in (default: [`std::env::temp_dir`]).
pub const DIR_VARIABLE: &str = "WORKTABLE_BENCH_DIR";

/// How a system's users run concurrent writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writers {
    /// OS threads, each inserting one row after the other; the insert
    /// blocks the thread until the row is durable.
    Threads,
    /// Tasks on a multi-threaded tokio runtime, each awaiting one insert
    /// after the other.
    Tasks,
}

/// A store of [`User`] rows in a directory, with the same schema and
/// indexes everywhere (`id` primary key, unique `email`, non-unique `age`),
/// whose insert returns once the row is durable.
///
/// [`insert`](Self::insert) is a future so that async systems are driven
/// as their users drive them. Systems whose writers are
/// [`Threads`](Writers::Threads) do all the work, blocking, in the first
/// poll and never return `Pending` (the runner polls them with
/// [`now`], which checks that).
pub trait DurableSystem: Send + Sync + Sized + 'static {
    /// Name in benchmark IDs and the summary.
    const NAME: &'static str;

    /// How concurrent writers run.
    const WRITERS: Writers;

    /// The most concurrent writers the system is measured with.
    const MAX_WRITERS: usize = usize::MAX;

    /// Opens (creating) the store kept in `dir`, an empty directory.
    fn open(dir: &Path) -> Self;

    /// Inserts `user` (distinct key and email) in its own transaction;
    /// completes once the row is durable.
    ///
    /// # Panics
    ///
    /// If the insert fails.
    fn insert(&self, user: User) -> impl Future<Output = ()> + Send;

    /// Makes everything durable and closes the store.
    fn close(self);

    /// The rows a fresh open of `dir` finds, to check a run stored what it
    /// inserted.
    fn stored_rows(dir: &Path) -> usize;
}

/// Something done once per durable system, generic over the system's type:
/// [`visit_all`] calls [`DurableVisitor::visit`] for each.
pub trait DurableVisitor {
    /// Does the work for system `S`.
    fn visit<S: DurableSystem>(&mut self);
}

/// Names of the systems, in the order [`visit_all`] visits them (the
/// summary's rows).
pub const NAMES: [&str; 6] = [
    worktable::Worktable::NAME,
    worktable_db::WorktableDb::NAME,
    sqlite::SqliteWal::NAME,
    redb::Redb::NAME,
    floor::Floor::NAME,
    floor::FloorBatch16::NAME,
];

/// Calls `visitor` for each system, in the order of [`NAMES`].
pub fn visit_all(visitor: &mut impl DurableVisitor) {
    visitor.visit::<worktable::Worktable>();
    visitor.visit::<worktable_db::WorktableDb>();
    visitor.visit::<sqlite::SqliteWal>();
    visitor.visit::<redb::Redb>();
    visitor.visit::<floor::Floor>();
    visitor.visit::<floor::FloorBatch16>();
}

/// The writer counts `S` is measured with.
pub fn writer_counts<S: DurableSystem>() -> impl Iterator<Item = usize> {
    WRITER_COUNTS
        .into_iter()
        .filter(|&writers| writers <= S::MAX_WRITERS)
}

/// `rows` generated rows dealt round-robin to `writers` writers: writer `w`
/// gets rows `w`, `w + writers`, ….
pub fn split_among(rows: usize, writers: usize) -> Vec<Vec<User>> {
    let mut work = vec![Vec::with_capacity(rows.div_ceil(writers)); writers];
    for (i, user) in users(rows, SEED).into_iter().enumerate() {
        work[i % writers].push(user);
    }
    work
}

/// Table sizes the `reopen` benchmarks measure: a log of 100,000 records,
/// and (except in quick mode) a table of 1,000,000 rows.
/// Benchmark id of a reopen with no log to replay after the checkpoint.
pub const CHECKPOINTED: &str = "checkpointed";

/// Benchmark id of a reopen that replays logged changes after the
/// checkpoint.
pub const CHECKPOINTED_PLUS_REPLAY: &str = "checkpointed_plus_replay";

/// Changes logged after the checkpoint in the replay case: a tenth of the
/// rows (100,000 for 1,000,000, as the issue asks).
pub fn replayed_changes(rows: usize) -> usize {
    rows / 10
}

/// Rows of the tables the reopen benchmarks open.
pub fn reopen_rows(mode: Mode) -> Vec<usize> {
    match mode {
        Mode::Quick => vec![100_000],
        Mode::Default | Mode::Large => vec![100_000, 1_000_000],
    }
}

/// Runs writers against fresh directories on the disk: owns the base
/// directory and the tokio runtime for [`Writers::Tasks`] systems.
#[derive(Debug)]
pub struct Runner {
    base: PathBuf,
    runtime: tokio::runtime::Runtime,
}

impl Runner {
    /// A runner making its directories in `$WORKTABLE_BENCH_DIR` or the
    /// system's temporary directory.
    ///
    /// # Panics
    ///
    /// If that directory is on a memory file system (`tmpfs`, `ramfs`),
    /// where `fdatasync` costs nothing, or if the runtime cannot start.
    pub fn new() -> Self {
        let base = std::env::var_os(DIR_VARIABLE)
            .filter(|dir| !dir.is_empty())
            .map_or_else(std::env::temp_dir, PathBuf::from);
        Self::in_dir(base)
    }

    /// A runner making its directories in `base` (see [`Runner::new`]).
    ///
    /// # Panics
    ///
    /// As [`Runner::new`].
    pub fn in_dir(base: PathBuf) -> Self {
        if let Some(mount) = mount_of(&base)
            && matches!(mount.fs_type.as_str(), "tmpfs" | "ramfs")
        {
            panic!(
                "{} is on {} ({}): syncs would cost nothing there; set {DIR_VARIABLE} to a \
                 directory on a disk",
                base.display(),
                mount.fs_type,
                mount.source,
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .build()
            .expect("the tokio runtime starts");
        Self { base, runtime }
    }

    /// Where the table directories are made.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The multi-threaded tokio runtime [`Writers::Tasks`] writers run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// What [`base`](Self::base) is on, for the reader of the results, e.g.
    /// `/tmp: ext4 on /dev/vda`.
    pub fn describe_disk(&self) -> String {
        match mount_of(&self.base) {
            Some(mount) => format!(
                "{}: {} on {}",
                self.base.display(),
                mount.fs_type,
                mount.source
            ),
            None => format!("{}: unknown file system", self.base.display()),
        }
    }

    /// A new empty directory under [`base`](Self::base), removed when
    /// dropped.
    ///
    /// # Panics
    ///
    /// If it cannot be made.
    pub fn fresh_dir(&self) -> TempDir {
        tempfile::Builder::new()
            .prefix("worktable-durable-")
            .tempdir_in(&self.base)
            .expect("a table directory can be made")
    }

    /// Opens `S` in a fresh directory, inserts `work[w]` from writer `w`,
    /// all writers at once, closes it, removes the directory, and returns
    /// the time from the start of the writers until every insert was
    /// acknowledged (opening and closing are not timed).
    ///
    /// # Panics
    ///
    /// If an insert fails.
    pub fn run<S: DurableSystem>(&self, work: &[Vec<User>]) -> Duration {
        let dir = self.fresh_dir();
        let elapsed = self.run_in::<S>(dir.path(), work);
        drop(dir);
        elapsed
    }

    /// [`run`](Self::run) in `dir`, which is kept.
    pub fn run_in<S: DurableSystem>(&self, dir: &Path, work: &[Vec<User>]) -> Duration {
        assert!(
            work.len() <= S::MAX_WRITERS,
            "{} writers: too many",
            S::NAME
        );
        let system = Arc::new(S::open(dir));
        let work = work.to_vec();
        let elapsed = match S::WRITERS {
            Writers::Threads => on_threads(system.as_ref(), work),
            Writers::Tasks => self.on_tasks(&system, work),
        };
        Arc::into_inner(system)
            .expect("the writers are done with the system")
            .close();
        elapsed
    }

    fn on_tasks<S: DurableSystem>(&self, system: &Arc<S>, work: Vec<Vec<User>>) -> Duration {
        self.runtime.block_on(async {
            let start = Instant::now();
            let writers: Vec<_> = work
                .into_iter()
                .map(|rows| {
                    let system = Arc::clone(system);
                    tokio::spawn(async move {
                        for user in rows {
                            system.insert(user).await;
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.await.expect("a writer task panicked");
            }
            start.elapsed()
        })
    }
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

fn on_threads<S: DurableSystem>(system: &S, work: Vec<Vec<User>>) -> Duration {
    let start = Instant::now();
    thread::scope(|scope| {
        for rows in work {
            scope.spawn(move || {
                for user in rows {
                    now(system.insert(user));
                }
            });
        }
    });
    start.elapsed()
}

/// The mount a path is on: its file system type and source device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub point: PathBuf,
    /// `ext4`, `tmpfs`, ….
    pub fs_type: String,
    /// `/dev/vda`, `tmpfs`, ….
    pub source: String,
}

/// The mount `path` (made absolute and resolved if it exists) is on,
/// from `/proc/self/mountinfo`; `None` if that cannot be read.
pub fn mount_of(path: &Path) -> Option<Mount> {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    deepest_mount(&mountinfo, &path)
}

/// The last-mounted of the deepest mount points in `mountinfo` (the format
/// of `/proc/self/mountinfo`) that contain `path`.
fn deepest_mount(mountinfo: &str, path: &Path) -> Option<Mount> {
    let mut best: Option<Mount> = None;
    for line in mountinfo.lines() {
        let Some((fields, rest)) = line.split_once(" - ") else {
            continue;
        };
        let Some(point) = fields.split(' ').nth(4) else {
            continue;
        };
        let point = PathBuf::from(unescape_mount_point(point));
        let mut rest = rest.split(' ');
        let (Some(fs_type), Some(source)) = (rest.next(), rest.next()) else {
            continue;
        };
        let deeper = best
            .as_ref()
            .is_none_or(|best| point.components().count() >= best.point.components().count());
        if path.starts_with(&point) && deeper {
            best = Some(Mount {
                point,
                fs_type: fs_type.to_owned(),
                source: source.to_owned(),
            });
        }
    }
    best
}

/// Mount points escape space, tab, newline and backslash as `\` and three
/// octal digits.
fn unescape_mount_point(escaped: &str) -> String {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let digits = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(digits, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Criterion's settings for the durable benchmarks: every iteration syncs
/// the disk hundreds of times, so few samples, measured for longer than
/// the in-memory benchmarks.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Criterion's warm-up time.
    pub warm_up: Duration,
    /// Criterion's measurement time.
    pub measurement: Duration,
    /// Criterion's sample size (flat sampling: few long iterations).
    pub samples: usize,
}

impl Settings {
    /// The settings of `mode`.
    pub fn of(mode: Mode) -> Self {
        match mode {
            Mode::Quick => Self {
                warm_up: Duration::from_millis(300),
                measurement: Duration::from_secs(1),
                samples: 10,
            },
            Mode::Default | Mode::Large => Self {
                warm_up: Duration::from_secs(1),
                measurement: Duration::from_secs(5),
                samples: 20,
            },
        }
    }
}
