//! What change events cost a write: insert and update with no subscriber,
//! with one subscriber drained by another thread, and with one subscriber
//! that never reads (its queue fills, then every event is counted as
//! missed). The no-subscriber case is the lock-free commit path.
//!
//! `cargo bench -p worktable-benches --bench events`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use worktable_benches::{User, filled_table, mix, now, users};
use worktable_core::{Subscription, WorkTable};

const SEED: u64 = 0x5eed;
const INSERTS: usize = 20_000;
const ROWS: usize = 100_000;

/// Who listens to the table during a measurement.
#[derive(Clone, Copy, Debug)]
enum Listener {
    None,
    Drained,
    NeverRead,
}

const LISTENERS: [(Listener, &str); 3] = [
    (Listener::None, "no_subscriber"),
    (Listener::Drained, "drained_subscriber"),
    (Listener::NeverRead, "unread_subscriber"),
];

/// Keeps a subscription alive, drained by a thread or left unread, until
/// dropped.
struct Listening {
    _unread: Option<Subscription<User>>,
    stop: Arc<AtomicBool>,
    drainer: Option<std::thread::JoinHandle<()>>,
}

impl Listening {
    fn start(table: &WorkTable<User>, listener: Listener) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (unread, drainer) = match listener {
            Listener::None => (None, None),
            Listener::NeverRead => (Some(table.subscribe()), None),
            Listener::Drained => {
                let mut subscription = table.subscribe();
                let stop = Arc::clone(&stop);
                let drainer = std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        while subscription.try_next().is_some() {}
                        std::thread::yield_now();
                    }
                });
                (None, Some(drainer))
            }
        };
        Self {
            _unread: unread,
            stop,
            drainer,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(drainer) = self.drainer.take() {
            drainer.join().expect("drainer finished");
        }
    }
}

fn insert(c: &mut Criterion) {
    let rows = users(INSERTS, SEED);
    let mut group = c.benchmark_group("insert_20k_events");
    group.sample_size(10);
    for (listener, name) in LISTENERS {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let table = WorkTable::<User>::new();
                    let listening = Listening::start(&table, listener);
                    (table, listening, rows.clone())
                },
                |(table, listening, rows)| {
                    for row in rows {
                        now(table.insert(row)).expect("valid");
                    }
                    (table, listening)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn update(c: &mut Criterion) {
    let rows = users(ROWS, SEED);
    let ids: Vec<u64> = rows.iter().map(|user| user.id).collect();
    let table = filled_table(&rows);
    let mut group = c.benchmark_group("update_with_events");
    for (listener, name) in LISTENERS {
        let _listening = Listening::start(&table, listener);
        let mut i = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                let id = &ids[(mix(i) % ROWS as u64) as usize];
                black_box(now(table.update_with(id, |user| user.balance += 1))).expect("present");
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
    targets = insert, update
}
criterion_main!(benches);
