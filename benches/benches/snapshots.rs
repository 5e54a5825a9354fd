//! Snapshots: what one costs to take, and what a read through one costs
//! next to a plain read, on a table of 100,000 users.
//!
//! - `snapshot/take`: taking a snapshot and dropping it (no writes between),
//!   beside a plain `get` for scale;
//! - `snapshot/get`: `get` of a random key on the table (`plain`), through a
//!   snapshot taken before any write (`snapshot`; the target is at most
//!   1.5× `plain`), and through a snapshot after 1% of the rows were
//!   updated, the rows read among them (`snapshot_after_writes`: every
//!   read then finds its row in the history).
//!
//! - `snapshot/find_by`: `find_by` on the non-unique age index (about
//!   1,000 rows) on a table on its own (`table`) and on the same table in a
//!   database (`in_database`), where it reads at one commit point through
//!   an implicit snapshot.
//!
//! `cargo bench -p worktable-benches --bench snapshots`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use worktable_benches::{User, filled_table, now, shuffled, users};
use worktable_core::prelude::*;

#[derive(Database)]
struct Db {
    users: WorkTable<User>,
}

const ROWS: usize = 100_000;
const SEED: u64 = 0x5a17;
/// Reads per measured iteration.
const READS: usize = 1_000;

fn snapshots(c: &mut Criterion) {
    let rows = users(ROWS, SEED);
    let table = filled_table(&rows);
    let order = shuffled(ROWS, SEED);
    let keys: Vec<u64> = order[..READS].iter().map(|&i| rows[i].id).collect();

    let mut take = c.benchmark_group("snapshot/take");
    take.throughput(Throughput::Elements(1));
    take.bench_function("take_and_drop", |b| {
        b.iter(|| black_box(table.snapshot().commit()));
    });
    take.bench_function("plain_get", |b| {
        b.iter(|| black_box(table.get(&keys[0])));
    });
    take.finish();

    let mut get = c.benchmark_group("snapshot/get");
    get.throughput(Throughput::Elements(READS as u64));
    get.bench_function("plain", |b| {
        b.iter(|| {
            for key in &keys {
                black_box(table.get(key));
            }
        });
    });
    {
        let snapshot = table.snapshot();
        get.bench_function("snapshot", |b| {
            b.iter(|| {
                for key in &keys {
                    black_box(snapshot.get(key));
                }
            });
        });
    }
    {
        let snapshot = table.snapshot();
        // The rows read are among those updated: every read finds its row
        // in the history.
        for &i in &order[..ROWS / 100] {
            now(table.update_with(&rows[i].id, |u| u.balance += 1)).expect("an existing row");
        }
        get.bench_function("snapshot_after_writes", |b| {
            b.iter(|| {
                for key in &keys {
                    black_box(snapshot.get(key));
                }
            });
        });
    }
    get.finish();

    let db = Db::new();
    for row in &rows {
        now(db.users.insert(row.clone())).expect("generated rows are valid");
    }
    let mut find = c.benchmark_group("snapshot/find_by");
    find.bench_function("table", |b| {
        b.iter(|| black_box(table.find_by(User::AGE, &42).len()));
    });
    find.bench_function("in_database", |b| {
        b.iter(|| black_box(db.users.find_by(User::AGE, &42).len()));
    });
    find.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
