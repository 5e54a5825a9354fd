//! Durable writes: single-row inserts that return once the row is on disk,
//! from 1, 4 and 16 concurrent writers, in worktable (`PersistentTable`,
//! `Durability::Sync`, group commit) and in its peers doing the same
//! inserts with the same indexes; and the time to reopen a table. The
//! workload and the systems are in `benches/src/durable/`.
//!
//! ```text
//! cargo bench -p worktable-benches --bench durable                        # a few minutes
//! WORKTABLE_BENCH=quick cargo bench -p worktable-benches --bench durable  # about a minute
//! cargo run --profile bench -p worktable-benches --bin report -- durable  # the tables again
//! ```
//!
//! Table directories are made in `$WORKTABLE_BENCH_DIR`, or the system's
//! temporary directory; the run refuses a memory file system (`tmpfs`),
//! where a sync costs nothing. `WORKTABLE_BENCH_SYSTEMS=worktable,sqlite`
//! runs only the named systems' inserts (criterion's name filter still
//! applies on top).
//!
//! Benchmark IDs:
//!
//! - `durable_insert/<system>/<writers>`: W writers insert 1,024 distinct
//!   rows between them (1,024 / W each, one after the other), every insert
//!   its own durable transaction; timed from the start of the writers until
//!   every insert is acknowledged, in a fresh directory each time (opening
//!   and closing are not timed). Throughput: rows. Systems: `worktable`,
//!   `sqlite` (file, WAL, `synchronous=FULL`, one shared connection),
//!   `redb` (default durability), `floor` (append + `fdatasync` per row,
//!   one writer) and `floor_batch16` (one `fdatasync` per 16 rows, one
//!   writer).
//! - `durable_reopen/checkpointed/<rows>`: `PersistentTable::open` +
//!   `close` of a table of `<rows>` rows, all in its checkpoint (nothing to
//!   replay): 100,000, and 1,000,000 except in quick mode. Throughput: rows.
//! - `durable_reopen/checkpointed_plus_replay/<rows>`: the same table with
//!   `<rows>` / 10 changes logged after its checkpoint, which the open
//!   replays.
//!
//! The summary at the end gives inserts per second, worktable's ratios to
//! every system and the 16-writer ÷ 1-writer speed-up.

use std::cell::OnceCell;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use tempfile::TempDir;
use worktable_benches::durable::summary::{INSERT_GROUP, REOPEN_GROUP, print_summary};
use worktable_benches::durable::{
    self, CHECKPOINTED, CHECKPOINTED_PLUS_REPLAY, DurableSystem, DurableVisitor,
    ROWS_PER_ITERATION, Runner, SEED, Settings, reopen_rows, replayed_changes, split_among,
    writer_counts,
};
use worktable_benches::{Mode, SystemFilter, results, users};

struct Inserts<'a> {
    criterion: &'a mut Criterion,
    runner: &'a Runner,
    settings: &'a Settings,
    /// The systems that run.
    only: SystemFilter,
}

impl DurableVisitor for Inserts<'_> {
    fn visit<S: DurableSystem>(&mut self) {
        if !self.only.selects(S::NAME) {
            return;
        }
        let mut group = self.criterion.benchmark_group(INSERT_GROUP);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(self.settings.warm_up);
        group.measurement_time(self.settings.measurement);
        group.sample_size(self.settings.samples);
        group.throughput(Throughput::Elements(ROWS_PER_ITERATION as u64));
        for writers in writer_counts::<S>() {
            let work = split_among(ROWS_PER_ITERATION, writers);
            group.bench_function(BenchmarkId::new(S::NAME, writers), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| self.runner.run::<S>(&work)).sum());
            });
        }
        group.finish();
    }
}

fn reopen(criterion: &mut Criterion, runner: &Runner, mode: Mode) {
    let mut group = criterion.benchmark_group(REOPEN_GROUP);
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    for rows in reopen_rows(mode) {
        let changes = replayed_changes(rows);
        for (case, logged) in [(CHECKPOINTED, 0), (CHECKPOINTED_PLUS_REPLAY, changes)] {
            // Built on the first call (only if criterion's filter selects
            // the benchmark), outside the timing, and reused by every
            // sample: reopening leaves the directory as it was.
            let table: OnceCell<TempDir> = OnceCell::new();
            let build = || {
                let dir = runner.fresh_dir();
                let start = Instant::now();
                let users = users(rows, SEED);
                let ids: Vec<u64> = users.iter().map(|user| user.id).collect();
                durable::worktable::fill(dir.path(), users);
                if logged > 0 {
                    durable::worktable::log_changes(dir.path(), &ids, logged);
                }
                eprintln!(
                    "{REOPEN_GROUP}: {rows} rows checkpointed and {logged} changes logged in {:.1?}",
                    start.elapsed()
                );
                dir
            };
            group.throughput(Throughput::Elements(rows as u64));
            group.bench_function(BenchmarkId::new(case, rows), |b| {
                let dir = table.get_or_init(build).path();
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let start = Instant::now();
                            let reopened = durable::worktable::reopen(dir);
                            let elapsed = start.elapsed();
                            assert_eq!(reopened.len(), rows, "the reopened table has every row");
                            // Freeing a million rows is not part of opening.
                            drop(reopened);
                            elapsed
                        })
                        .sum()
                });
            });
        }
    }
    group.finish();
}

fn main() {
    let mode = Mode::from_env();
    let only = SystemFilter::from_env();
    let settings = Settings::of(mode);
    let runner = Runner::new();
    eprintln!("table directories in {}", runner.describe_disk());
    let mut criterion = Criterion::default().configure_from_args();
    durable::visit_all(&mut Inserts {
        criterion: &mut criterion,
        runner: &runner,
        settings: &settings,
        only,
    });
    reopen(&mut criterion, &runner, mode);
    criterion.final_summary();
    println!();
    println!("Table directories in {}.", runner.describe_disk());
    print_summary(&results::criterion_dir(), mode);
}
