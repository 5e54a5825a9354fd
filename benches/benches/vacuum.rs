//! What a running vacuum costs the 2-thread mixed workload: two threads doing
//! 90% `get` / 10% `update_with` on 100,000 rows, where each update gives the
//! row's `name` a new random length (0–255 bytes), so that pages keep
//! fragmenting and the vacuum keeps finding rows to move.
//!
//! - `no_vacuum`: the workload alone.
//! - `background_vacuum`: the same with [`WorkTable::spawn_vacuum`] checking
//!   every 10 ms and emptying pages at most 80% full, from 5% fragmentation
//!   on. The rows it moved are printed after the run.
//!
//! `cargo bench -p worktable-benches --bench vacuum`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use worktable_benches::{User, block_on, filled_table, mix, users};
use worktable_core::{VacuumPolicy, WorkTable};

const ROWS: usize = 100_000;
const SEED: u64 = 0x5eed;
/// Operations per thread per measured iteration.
const BATCH: u64 = 4_000;

fn run_mix(table: &WorkTable<User>, ids: &[u64], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for iteration in 0..iters {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for thread in 0..2u64 {
                scope.spawn(move || {
                    for op in 0..BATCH {
                        let r = mix(SEED ^ (thread << 40) ^ (iteration << 20) ^ op);
                        let id = &ids[(r % ROWS as u64) as usize];
                        if r.is_multiple_of(10) {
                            let len = (r >> 32) as usize % 256;
                            block_on(table.update_with(id, |user| {
                                user.name = "n".repeat(len);
                                user.balance += 1;
                            }))
                            .expect("present");
                        } else {
                            black_box(table.get(id));
                        }
                    }
                });
            }
        });
        total += start.elapsed();
    }
    total
}

fn mixed_with_vacuum(c: &mut Criterion) {
    let rows = users(ROWS, SEED);
    let ids: Vec<u64> = rows.iter().map(|user| user.id).collect();
    let plain = filled_table(&rows);
    let table = Arc::new(filled_table(&rows));

    let mut group = c.benchmark_group("mixed_2_threads_vacuum");
    group.throughput(Throughput::Elements(2 * BATCH));
    group.bench_function("no_vacuum", |b| {
        b.iter_custom(|iters| run_mix(&plain, &ids, iters));
    });
    eprintln!("without vacuum, table now {}", plain.stats());
    let vacuum = table.spawn_vacuum(
        VacuumPolicy::default()
            .interval(Duration::from_millis(10))
            .min_fragmentation(0.05)
            .min_reclaimable_pages(1)
            .max_page_fill(0.8),
    );
    group.bench_function("background_vacuum", |b| {
        b.iter_custom(|iters| run_mix(&table, &ids, iters));
    });
    group.finish();
    let progress = vacuum.stop();
    eprintln!(
        "background vacuum: {} rows moved in {} steps; table now {}",
        progress.rows_moved,
        progress.steps,
        table.stats()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    targets = mixed_with_vacuum
}
criterion_main!(benches);
