//! Query benchmarks, each against the same work on a `Vec<User>` held in
//! memory (the rows cloned out, as a query returns owned rows):
//!
//! - `scan_filter_1pct`: every row tested, 1% kept (a filter on the
//!   non-indexed `balance`), with an archived filter and with a row filter;
//! - `ordered_by_index_limit_10`: the 10 first rows in `age` order (an
//!   index), at 100,000 and 1,000,000 rows — the query streams from the index
//!   and stops after 10 rows, so its time does not grow with the table;
//! - `top10_non_indexed`: the 10 rows with the smallest `balance` (not
//!   indexed): a bounded heap over the archived field, no full sort.
//!
//! `cargo bench -p worktable-benches --bench queries`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use worktable_benches::{User, filled_table, users};

const SEED: u64 = 0x5eed;
const SELECTIVE: i64 = 10_000; // balance is uniform in 0..1,000,000

/// The `n` smallest rows of `rows` by `key`, cloned: what a user of a `Vec`
/// writes (partial selection, then a sort of the selected few).
fn smallest_by<K: Ord>(rows: &[User], n: usize, key: impl Fn(&User) -> K) -> Vec<User> {
    let mut refs: Vec<&User> = rows.iter().collect();
    if refs.len() > n {
        refs.select_nth_unstable_by_key(n - 1, |user| key(user));
        refs.truncate(n);
    }
    refs.sort_by_key(|user| key(user));
    refs.into_iter().cloned().collect()
}

fn scan_filter(c: &mut Criterion) {
    let rows = users(100_000, SEED);
    let table = filled_table(&rows);
    let mut group = c.benchmark_group("scan_filter_1pct");
    group.bench_function("worktable_archived_filter", |b| {
        b.iter(|| {
            black_box(
                table
                    .query()
                    .filter_archived(|user| user.balance.to_native() < SELECTIVE)
                    .to_vec(),
            )
        });
    });
    group.bench_function("worktable_row_filter", |b| {
        b.iter(|| {
            black_box(
                table
                    .query()
                    .filter(|user| user.balance < SELECTIVE)
                    .to_vec(),
            )
        });
    });
    group.bench_function("vec", |b| {
        b.iter(|| {
            black_box(
                rows.iter()
                    .filter(|user| user.balance < SELECTIVE)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        });
    });
    group.finish();
}

fn ordered_by_index(c: &mut Criterion) {
    let mut group = c.benchmark_group("ordered_by_index_limit_10");
    for size in [100_000, 1_000_000] {
        let rows = users(size, SEED);
        let table = filled_table(&rows);
        group.bench_function(format!("worktable_{size}"), |b| {
            b.iter(|| {
                black_box(
                    table
                        .query()
                        .range_by(User::AGE, ..)
                        .order_by(User::AGE)
                        .limit(10)
                        .to_vec(),
                )
            });
        });
        group.bench_function(format!("vec_{size}"), |b| {
            b.iter(|| black_box(smallest_by(&rows, 10, |user| (user.age, user.id))));
        });
    }
    group.finish();
}

fn top_k(c: &mut Criterion) {
    let rows = users(100_000, SEED);
    let table = filled_table(&rows);
    let mut group = c.benchmark_group("top10_non_indexed");
    group.bench_function("worktable", |b| {
        b.iter(|| black_box(table.query().order_by(User::BALANCE).limit(10).to_vec()));
    });
    group.bench_function("vec", |b| {
        b.iter(|| black_box(smallest_by(&rows, 10, |user| (user.balance, user.id))));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = scan_filter, ordered_by_index, top_k
}
criterion_main!(benches);
