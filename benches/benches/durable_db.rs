//! Durable databases: transfers between accounts (two balance updates and
//! a ledger insert over two tables, one transaction each, returned once
//! durable) from 1, 4 and 16 concurrent writers, in worktable (a
//! `DurableDatabase`, `Durability::Sync`: one log for both tables, group
//! commit) and in SQLite doing the same transactions on the same disk;
//! single-row durable inserts through a one-table database, a
//! `PersistentTable` and SQLite; and the time to reopen a database of
//! three tables. The workload and the systems are in
//! `benches/src/durable_db/` (the inserts reuse `benches/src/durable/`).
//!
//! ```text
//! cargo bench -p worktable-benches --bench durable_db                        # a few minutes
//! WORKTABLE_BENCH=quick cargo bench -p worktable-benches --bench durable_db  # about two
//! ```
//!
//! Directories are made in `$WORKTABLE_BENCH_DIR`, or the system's
//! temporary directory; the run refuses a memory file system (`tmpfs`),
//! where a sync costs nothing. `WORKTABLE_BENCH_SYSTEMS=worktable,sqlite`
//! runs only the named systems' transfers and inserts (criterion's name
//! filter still applies on top).
//!
//! Benchmark IDs:
//!
//! - `durable_transfers/<system>/<writers>`: W writers run 512 transfers
//!   between them (512 / W each, one after the other), writer `w` moving 1
//!   back and forth between its own two accounts of 1,000 (`2w`, `2w + 1`),
//!   so writers never conflict; every transfer is its own durable
//!   transaction. Timed from the start of the writers until every transfer
//!   is acknowledged. One store per benchmark, opened in a fresh directory
//!   with its accounts before the timing and closed after it; its ledger
//!   grows by 512 rows an iteration. Throughput: transfers. Systems:
//!   `worktable` (`DurableDatabase`, `Durability::Sync`, one
//!   `transaction` per transfer, writers are tokio tasks) and `sqlite`
//!   (a file, `journal_mode=WAL`, `synchronous=FULL`, the same unique and
//!   non-unique indexes, `BEGIN; UPDATE; UPDATE; INSERT; COMMIT;` with
//!   cached statements, writers are threads sharing one connection behind
//!   a `Mutex`: measured faster than a connection per writer thread with
//!   `BEGIN IMMEDIATE` and a busy timeout).
//! - `durable_db_insert/<system>/1`: the `durable` suite's single-row
//!   inserts (1,024 `User` rows, one writer, each insert its own durable
//!   transaction, a fresh directory per iteration). Systems:
//!   `worktable_db` (a `DurableDatabase` of one table, `Durability::Sync`),
//!   `worktable` (`PersistentTable`, `Durability::Sync`) and `sqlite`. The
//!   `durable` suite also measures `worktable_db`, with 1, 4 and 16
//!   writers.
//! - `durable_db_reopen/checkpointed/<rows>`: `DurableDatabase::open` of a
//!   database of three tables (`User`s, accounts, ledger rows, a third of
//!   the rows each) holding `<rows>` rows in total, all in its checkpoint;
//!   1,000,000 rows, 100,000 in quick mode. Only the open is timed: the
//!   database is dropped after it, outside the timing, without the
//!   checkpoint `close` would take, so every sample opens the same
//!   directory. Throughput: rows.
//! - `durable_db_reopen/checkpointed_plus_replay/<rows>`: the same database
//!   with `<rows>` / 10 single-row updates (one commit each, spread over
//!   the three tables) logged after its checkpoint, which the open
//!   replays.
//!
//! - `durable_db_bulk_load/<system>/<rows>`: `rows` accounts (1,000,000;
//!   100,000 in quick mode) written durably in one step into a fresh
//!   directory: `worktable` is `DurableDatabase::create_loaded` (the rows
//!   written as the new database's first checkpoint), `sqlite` inserts
//!   them in one transaction (`BEGIN`, a cached `INSERT` per row,
//!   `COMMIT`). Timed until the rows are durable; dropping the database
//!   after is not. Throughput: rows.
//!
//! The summary at the end gives transfers per second, worktable ÷ SQLite
//! per writer count, the inserts per second and the reopen times.

use std::cell::OnceCell;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use tempfile::TempDir;
use worktable_benches::durable::{
    CHECKPOINTED, CHECKPOINTED_PLUS_REPLAY, DurableSystem, DurableVisitor, ROWS_PER_ITERATION,
    Runner, Settings, replayed_changes,
};
use worktable_benches::durable_db::bulk;
use worktable_benches::durable_db::summary::{
    BULK_GROUP, BULK_SYSTEMS, INSERT_GROUP, INSERT_SYSTEMS, INSERT_WRITERS, REOPEN_GROUP,
    TRANSFER_GROUP, print_summary,
};
use worktable_benches::durable_db::{
    TRANSFERS_PER_ITERATION, TransferSystem, TransferVisitor, Transfers, WRITER_COUNTS,
    split_among, store,
};
use worktable_benches::{Mode, SystemFilter, durable, durable_db, results};
use worktable_core::Database;
use worktable_persist::Durability;

struct TransferBenches<'a> {
    criterion: &'a mut Criterion,
    runner: &'a Runner,
    settings: &'a Settings,
    only: &'a SystemFilter,
}

impl TransferVisitor for TransferBenches<'_> {
    fn visit<S: TransferSystem>(&mut self) {
        if !self.only.selects(S::NAME) {
            return;
        }
        let mut group = self.criterion.benchmark_group(TRANSFER_GROUP);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(self.settings.warm_up);
        group.measurement_time(self.settings.measurement);
        group.sample_size(self.settings.samples);
        group.throughput(Throughput::Elements(TRANSFERS_PER_ITERATION as u64));
        for writers in WRITER_COUNTS {
            let work = split_among(TRANSFERS_PER_ITERATION, writers);
            group.bench_function(BenchmarkId::new(S::NAME, writers), |b| {
                // Opened (only if criterion's filter selects the benchmark)
                // outside the timing; every iteration runs on it.
                let transfers = Transfers::<S>::open(self.runner, writers);
                b.iter_custom(|iters| (0..iters).map(|_| transfers.run(&work)).sum());
                drop(transfers.close());
            });
        }
        group.finish();
    }
}

struct InsertBenches<'a> {
    criterion: &'a mut Criterion,
    runner: &'a Runner,
    settings: &'a Settings,
    only: &'a SystemFilter,
}

impl DurableVisitor for InsertBenches<'_> {
    fn visit<S: DurableSystem>(&mut self) {
        if !INSERT_SYSTEMS.contains(&S::NAME) || !self.only.selects(S::NAME) {
            return;
        }
        let mut group = self.criterion.benchmark_group(INSERT_GROUP);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(self.settings.warm_up);
        group.measurement_time(self.settings.measurement);
        group.sample_size(self.settings.samples);
        group.throughput(Throughput::Elements(ROWS_PER_ITERATION as u64));
        let work = durable::split_among(ROWS_PER_ITERATION, INSERT_WRITERS);
        group.bench_function(BenchmarkId::new(S::NAME, INSERT_WRITERS), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| self.runner.run::<S>(&work)).sum());
        });
        group.finish();
    }
}

fn reopen(criterion: &mut Criterion, runner: &Runner, mode: Mode) {
    let mut group = criterion.benchmark_group(REOPEN_GROUP);
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    for rows in store::reopen_rows(mode) {
        let changes = replayed_changes(rows);
        for (case, logged) in [(CHECKPOINTED, 0), (CHECKPOINTED_PLUS_REPLAY, changes)] {
            // Built on the first call (only if criterion's filter selects
            // the benchmark), outside the timing, and reused by every
            // sample: opening and dropping leaves the directory as it was.
            let built: OnceCell<(TempDir, u64)> = OnceCell::new();
            let build = || {
                let dir = runner.fresh_dir();
                let start = Instant::now();
                store::fill(dir.path(), rows);
                let last = if logged > 0 {
                    store::log_changes(dir.path(), rows, logged)
                } else {
                    let db = store::open(dir.path(), Durability::None);
                    let last = db.last_commit();
                    drop(db);
                    last
                };
                eprintln!(
                    "{REOPEN_GROUP}: {rows} rows checkpointed and {logged} changes logged in {:.1?}",
                    start.elapsed()
                );
                (dir, last)
            };
            group.throughput(Throughput::Elements(rows as u64));
            group.bench_function(BenchmarkId::new(case, rows), |b| {
                let (dir, last) = built.get_or_init(build);
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let start = Instant::now();
                            let db = store::open(dir.path(), Durability::Sync);
                            let elapsed = start.elapsed();
                            assert_eq!(db.rows(), rows, "the reopened database has every row");
                            assert_eq!(db.last_commit(), *last, "every logged change replayed");
                            // Stopping its threads and freeing the rows is
                            // not part of opening; `close` would checkpoint.
                            drop(db);
                            elapsed
                        })
                        .sum()
                });
            });
        }
    }
    group.finish();
}

fn bulk_load(criterion: &mut Criterion, runner: &Runner, mode: Mode) {
    let mut group = criterion.benchmark_group(BULK_GROUP);
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    let rows = bulk::bulk_rows(mode);
    group.throughput(Throughput::Elements(rows as u64));
    // Each iteration in a fresh directory.
    group.bench_function(BenchmarkId::new(BULK_SYSTEMS[0], rows), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let dir = runner.fresh_dir();
                    let start = Instant::now();
                    let db = bulk::worktable(&dir.path().join("db"), rows);
                    let elapsed = start.elapsed();
                    drop(db);
                    elapsed
                })
                .sum()
        });
    });
    group.bench_function(BenchmarkId::new(BULK_SYSTEMS[1], rows), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let dir = runner.fresh_dir();
                    let start = Instant::now();
                    bulk::sqlite(dir.path(), rows);
                    start.elapsed()
                })
                .sum()
        });
    });
    group.finish();
}

fn main() {
    let mode = Mode::from_env();
    let only = SystemFilter::from_env();
    let settings = Settings::of(mode);
    let runner = Runner::new();
    eprintln!("directories in {}", runner.describe_disk());
    let mut criterion = Criterion::default().configure_from_args();
    durable_db::visit_all(&mut TransferBenches {
        criterion: &mut criterion,
        runner: &runner,
        settings: &settings,
        only: &only,
    });
    durable::visit_all(&mut InsertBenches {
        criterion: &mut criterion,
        runner: &runner,
        settings: &settings,
        only: &only,
    });
    reopen(&mut criterion, &runner, mode);
    bulk_load(&mut criterion, &runner, mode);
    criterion.final_summary();
    println!();
    println!("Directories in {}.", runner.describe_disk());
    print_summary(&results::criterion_dir(), mode);
}
