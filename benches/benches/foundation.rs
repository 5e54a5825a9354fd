//! First benchmark: insert, point look-ups and a non-indexed update on
//! 100,000 rows, worktable against a hand-rolled `RwLock<HashMap>` with
//! index maps. Same data, same random key order, same process.
//!
//! `cargo bench -p worktable-benches --bench foundation`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use worktable_benches::{Baseline, User, filled_table, now, shuffled, users};
use worktable_core::WorkTable;

const ROWS: usize = 100_000;
const SEED: u64 = 0x5eed;

fn filled_baseline(rows: &[User]) -> Baseline {
    let baseline = Baseline::default();
    for row in rows {
        assert!(baseline.insert(row.clone()));
    }
    baseline
}

fn insert(c: &mut Criterion) {
    let rows = users(ROWS, SEED);
    let mut group = c.benchmark_group("insert_100k");
    group.sample_size(10);
    group.bench_function("worktable", |b| {
        b.iter_batched(
            || (WorkTable::<User>::new(), rows.clone()),
            |(table, rows)| {
                for row in rows {
                    now(table.insert(row)).expect("valid");
                }
                table
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rwlock_hashmap", |b| {
        b.iter_batched(
            || (Baseline::default(), rows.clone()),
            |(baseline, rows)| {
                for row in rows {
                    assert!(baseline.insert(row));
                }
                baseline
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn lookups(c: &mut Criterion) {
    let rows = users(ROWS, SEED);
    let table = filled_table(&rows);
    let baseline = filled_baseline(&rows);
    // Keys in random order, laid out sequentially so that fetching the next
    // key costs neither system a cache miss.
    let order = shuffled(ROWS, SEED + 1);
    let ids: Vec<u64> = order.iter().map(|&i| rows[i].id).collect();
    let emails: Vec<String> = order.iter().map(|&i| rows[i].email.clone()).collect();

    let mut group = c.benchmark_group("get_pk");
    let mut i = 0;
    group.bench_function("worktable", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            black_box(table.get(&ids[i]))
        });
    });
    group.bench_function("worktable_zero_copy", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            black_box(table.read(&ids[i], |user| user.balance.to_native()))
        });
    });
    group.bench_function("rwlock_hashmap", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            black_box(baseline.get(ids[i]))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("get_unique");
    group.bench_function("worktable", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            black_box(table.get_by(User::EMAIL, emails[i].as_str()))
        });
    });
    group.bench_function("rwlock_hashmap", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            black_box(baseline.get_by_email(&emails[i]))
        });
    });
    group.finish();
}

fn update_non_indexed(c: &mut Criterion) {
    let rows = users(ROWS, SEED);
    let table = filled_table(&rows);
    let baseline = filled_baseline(&rows);
    let ids: Vec<u64> = shuffled(ROWS, SEED + 2)
        .iter()
        .map(|&i| rows[i].id)
        .collect();
    let mut group = c.benchmark_group("update_non_indexed");
    let mut i = 0;
    group.bench_function("worktable", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            let id = ids[i];
            let user = table.get(&id).expect("present");
            black_box(now(table.update(User {
                balance: user.balance + 1,
                ..user
            })))
            .expect("present");
        });
    });
    group.bench_function("rwlock_hashmap", |b| {
        b.iter(|| {
            i = (i + 1) % ROWS;
            let id = ids[i];
            let balance = baseline.get(id).expect("present").balance;
            assert!(baseline.set_balance(id, balance + 1));
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = insert, lookups, update_non_indexed
}
criterion_main!(benches);
