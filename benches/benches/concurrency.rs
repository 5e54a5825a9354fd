//! Concurrency benchmarks on 100,000 rows:
//!
//! - `mixed_2_threads`: two threads, each doing 90% `get` / 10% `update_with`
//!   of a random row, against a `DashMap<u64, User>` doing `get` + clone /
//!   `get_mut` + modify. Reported as throughput (elements = operations).
//! - `update_scaling`: `update_with` on disjoint rows from one thread and
//!   from two threads; the two-thread throughput should be clearly higher.
//!   The same on a `DashMap` shows how far the machine scales at all.
//!
//! `cargo bench -p worktable-benches --bench concurrency`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dashmap::DashMap;
use worktable_benches::{User, block_on, filled_table, mix, timed_on_threads, users};
use worktable_core::WorkTable;

const ROWS: usize = 100_000;
const SEED: u64 = 0x5eed;
/// Operations per thread per measured iteration.
const BATCH: u64 = 4_000;

/// The rows' keys, a table and a `DashMap` holding the same rows.
fn fixture() -> (Vec<u64>, WorkTable<User>, DashMap<u64, User>) {
    let rows = users(ROWS, SEED);
    let ids = rows.iter().map(|user| user.id).collect();
    let baseline = rows.iter().map(|user| (user.id, user.clone())).collect();
    (ids, filled_table(&rows), baseline)
}

fn mixed(c: &mut Criterion) {
    let (ids, table, baseline) = fixture();

    let mut group = c.benchmark_group("mixed_2_threads");
    group.throughput(Throughput::Elements(2 * BATCH));
    group.bench_function("worktable", |b| {
        b.iter_custom(|iters| {
            timed_on_threads(2, iters, |thread, iteration| {
                for op in 0..BATCH {
                    let r = mix(SEED ^ (thread << 40) ^ (iteration << 20) ^ op);
                    let id = &ids[(r % ROWS as u64) as usize];
                    if r.is_multiple_of(10) {
                        block_on(table.update_with(id, |user| user.balance += 1)).expect("present");
                    } else {
                        black_box(table.get(id));
                    }
                }
            })
        });
    });
    group.bench_function("dashmap", |b| {
        b.iter_custom(|iters| {
            timed_on_threads(2, iters, |thread, iteration| {
                for op in 0..BATCH {
                    let r = mix(SEED ^ (thread << 40) ^ (iteration << 20) ^ op);
                    let id = &ids[(r % ROWS as u64) as usize];
                    if r.is_multiple_of(10) {
                        baseline.get_mut(id).expect("present").balance += 1;
                    } else {
                        black_box(baseline.get(id).map(|user| user.clone()));
                    }
                }
            })
        });
    });
    group.finish();
}

fn update_scaling(c: &mut Criterion) {
    let (ids, table, baseline) = fixture();
    // Thread t updates only rows with index ≡ t (mod 2).
    let row_of = |thread: u64, iteration: u64, op: u64| {
        let r = mix(SEED ^ (iteration << 20) ^ op) as usize;
        &ids[(r % (ROWS / 2)) * 2 + thread as usize]
    };
    let mut group = c.benchmark_group("update_scaling");
    for threads in [1u64, 2] {
        group.throughput(Throughput::Elements(threads * BATCH));
        group.bench_function(format!("worktable_{threads}_thread"), |b| {
            b.iter_custom(|iters| {
                timed_on_threads(threads, iters, |thread, iteration| {
                    for op in 0..BATCH {
                        let id = row_of(thread, iteration, op);
                        block_on(table.update_with(id, |user| user.balance += 1)).expect("present");
                    }
                })
            });
        });
        // The same on a DashMap, to show how far this machine scales at all.
        group.bench_function(format!("dashmap_{threads}_thread"), |b| {
            b.iter_custom(|iters| {
                timed_on_threads(threads, iters, |thread, iteration| {
                    for op in 0..BATCH {
                        let id = row_of(thread, iteration, op);
                        baseline.get_mut(id).expect("present").balance += 1;
                    }
                })
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = mixed, update_scaling
}
criterion_main!(benches);
