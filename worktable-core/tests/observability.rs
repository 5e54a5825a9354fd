//! With the `tracing` and `metrics` features, a user's own subscriber and
//! recorder see what happened: a write that waited for a row lock, a
//! transaction's conflict and its retry, a vacuum run, and every write
//! counted by kind (the names are in docs/observability.md).
//!
//! Everything here runs on the test's thread (a current-thread runtime;
//! `vacuum` runs on the calling thread), so each test installs a capturing
//! subscriber and a `metrics-util` debugging recorder for that thread only.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use worktable_core::prelude::*;

/// An event as a subscriber saw it.
#[derive(Clone, Debug)]
struct Seen {
    level: Level,
    message: String,
    fields: BTreeMap<String, String>,
}

/// A layer keeping every event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

impl Capture {
    /// The events whose message is `message`.
    fn events(&self, message: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|seen| seen.message == message)
            .cloned()
            .collect()
    }
}

/// The fields of an event, as text.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                level: *event.metadata().level(),
                message,
                fields: fields.0,
            });
    }
}

/// A metric's labels: (key, value) pairs.
type Labels = Vec<(String, String)>;

/// What the recorder holds, taken once: name, labels, value.
struct Metrics(Vec<(String, Labels, DebugValue)>);

impl Metrics {
    fn take(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let labels = key
                        .key()
                        .labels()
                        .map(|label| (label.key().to_owned(), label.value().to_owned()))
                        .collect();
                    (key.key().name().to_owned(), labels, value)
                })
                .collect(),
        )
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0
            .iter()
            .find(|(found, found_labels, _)| {
                found == name
                    && labels.len() == found_labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| found_labels.iter().any(|(fk, fv)| fk == k && fv == v))
            })
            .map(|(_, _, value)| value)
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(name, labels) {
            Some(DebugValue::Counter(count)) => *count,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(name, labels) {
            Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.into_inner()).collect(),
            None => Vec::new(),
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
        }
    }
}

/// Runs `body` on a current-thread runtime with a capturing subscriber
/// and a debugging recorder installed for this thread; returns what they
/// saw.
fn observed<F: Future<Output = ()>>(body: impl FnOnce() -> F) -> (Capture, Metrics) {
    let capture = Capture::default();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        tracing::subscriber::with_default(subscriber, || runtime.block_on(body()));
    });
    (capture, Metrics::take(&snapshotter))
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "observed_account")]
struct Account {
    #[pk]
    id: u64,
    balance: i64,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
}

const TABLE: (&str, &str) = ("table", "observed_account");

#[test]
fn a_write_that_waits_for_a_row_lock_is_traced_and_measured() {
    let (capture, metrics) = observed(|| async {
        let accounts = Arc::new(WorkTable::<Account>::new());
        accounts
            .insert(Account { id: 7, balance: 0 })
            .await
            .unwrap();
        // An uncontended write waits for nothing.
        accounts.update_with(&7, |a| a.balance += 1).await.unwrap();
        let guard = accounts.lock(&7).await.unwrap();
        let writer = {
            let accounts = Arc::clone(&accounts);
            tokio::spawn(async move { accounts.update_with(&7, |a| a.balance += 1).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!writer.is_finished(), "the write waits for the guard");
        drop(guard);
        writer.await.unwrap().unwrap();
        assert_eq!(accounts.get(&7).unwrap().balance, 2);
    });

    let waits = capture.events("waited for a row lock");
    assert_eq!(waits.len(), 1, "one write waited: {waits:?}");
    let wait = &waits[0];
    assert_eq!(wait.level, Level::DEBUG);
    assert_eq!(wait.fields["table"], "observed_account");
    assert_eq!(wait.fields["key"], "7");
    let seconds: f64 = wait.fields["wait_seconds"].parse().unwrap();
    assert!(seconds >= 0.015, "waited {seconds} s for the guard");

    assert_eq!(
        metrics.counter("worktable_row_lock_waits_total", &[TABLE]),
        1
    );
    let recorded = metrics.histogram("worktable_row_lock_wait_seconds", &[TABLE]);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(recorded[0] >= 0.015, "{recorded:?}");
}

#[test]
fn a_transaction_conflict_and_its_retry_are_counted() {
    let (capture, metrics) = observed(|| async {
        let bank = Bank::new();
        bank.accounts
            .insert(Account { id: 1, balance: 10 })
            .await
            .unwrap();
        let runs = std::sync::atomic::AtomicU32::new(0);
        let runs = &runs;
        let bank = &bank;
        // The first attempt reads a row that a single write then changes:
        // it conflicts, and the second attempt commits.
        let attempts = bank
            .transaction(|tx| async move {
                let run = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let balance = tx.accounts.get(&1).unwrap().balance;
                if run == 0 {
                    bank.accounts.update_with(&1, |a| a.balance += 5).await?;
                }
                tx.accounts.update_with(&1, |a| a.balance = balance * 2)?;
                Ok::<_, TableError>(run + 1)
            })
            .await
            .unwrap();
        assert_eq!(attempts, 2);
        assert_eq!(bank.accounts.get(&1).unwrap().balance, 30);
    });

    let conflicts = capture.events("a transaction conflicted with a commit made since it began");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].fields["table"], "observed_account");
    let retries = capture.events("running the transaction again");
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0].fields["attempt"], "1");

    assert_eq!(metrics.counter("worktable_tx_conflicts_total", &[TABLE]), 1);
    assert_eq!(metrics.counter("worktable_tx_retries_total", &[TABLE]), 1);
    // The insert, the single write, and the transaction's update.
    assert_eq!(
        metrics.counter("worktable_writes_total", &[TABLE, ("kind", "update")]),
        2
    );
    assert_eq!(
        metrics.counter("worktable_writes_total", &[TABLE, ("kind", "insert")]),
        1
    );
}

#[test]
fn writes_are_counted_by_kind() {
    let (_, metrics) = observed(|| async {
        let accounts = WorkTable::<Account>::new();
        for id in 0..5 {
            accounts.insert(Account { id, balance: 0 }).await.unwrap();
        }
        // A subscriber makes commits take the commit lock: counted the same.
        let _changes = accounts.subscribe();
        for id in 0..3 {
            accounts.update(Account { id, balance: 1 }).await.unwrap();
        }
        accounts.delete(&4).await.unwrap();
        // A refused write is not counted.
        assert!(
            accounts
                .insert(Account { id: 0, balance: 9 })
                .await
                .is_err()
        );
    });
    let writes = |kind| metrics.counter("worktable_writes_total", &[TABLE, ("kind", kind)]);
    assert_eq!(
        (writes("insert"), writes("update"), writes("delete")),
        (5, 3, 1)
    );
}

#[test]
fn a_vacuum_run_is_traced_with_what_it_moved() {
    let (capture, metrics) = observed(|| async {
        let accounts = WorkTable::<Account>::new();
        for id in 0..20_000 {
            accounts.insert(Account { id, balance: 0 }).await.unwrap();
        }
        for id in (0..20_000).filter(|id| id % 10 != 0) {
            accounts.delete(&id).await.unwrap();
        }
        let report = accounts.vacuum();
        assert!(report.rows_moved > 0, "{report:?}");
    });

    let runs = capture.events("vacuum run");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(run.level, Level::INFO);
    assert_eq!(run.fields["table"], "observed_account");
    let moved: u64 = run.fields["rows_moved"].parse().unwrap();
    assert!(moved > 0);
    let (before, after): (u64, u64) = (
        run.fields["pages_before"].parse().unwrap(),
        run.fields["pages_after"].parse().unwrap(),
    );
    assert!(after < before, "{run:?}");

    assert_eq!(
        metrics.counter("worktable_vacuum_rows_moved_total", &[TABLE]),
        moved
    );
    assert_eq!(
        metrics.counter("worktable_vacuum_pages_freed_total", &[TABLE]),
        before - after
    );
}
