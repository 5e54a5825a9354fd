//! With the `tracing` and `metrics` features, a user's own subscriber and
//! recorder see the durable side at work: log syncs (their latency and how
//! many records each made durable), checkpoints, recovery at open, a torn
//! log tail cut at open, a background vacuum — for a table and for a
//! database (the names are in docs/observability.md).
//!
//! The log's flusher, checkpoints and vacuum run on threads of their own,
//! so this binary installs one global capturing subscriber and one global
//! `metrics-util` debugging recorder; each test uses a table (or database)
//! of its own and reads only what carries its name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use worktable_core::VacuumPolicy;
use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options, PersistentTable};

/// An event or a new span, as the subscriber saw it.
#[derive(Clone, Debug)]
struct Seen {
    span: bool,
    level: Level,
    /// The event's message, or the span's name.
    name: String,
    fields: BTreeMap<String, String>,
}

impl Seen {
    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("no field {name} in {self:?}"))
    }

    fn number(&self, name: &str) -> f64 {
        self.field(name).parse().unwrap()
    }
}

/// The fields of an event or span, as text.
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

/// Everything every thread traced since the capture was installed.
struct Capture;

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

impl<S: Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        SEEN.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                span: true,
                level: *attrs.metadata().level(),
                name: attrs.metadata().name().to_owned(),
                fields: fields.0,
            });
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        SEEN.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                span: false,
                level: *event.metadata().level(),
                name: fields.0.remove("message").unwrap_or_default(),
                fields: fields.0,
            });
    }
}

/// What the recorder saw, added up over its snapshots (each snapshot
/// drains it): counters summed, every gauge value and histogram sample
/// kept. Keyed by name, then by the labels.
#[derive(Default)]
struct Totals {
    counters: BTreeMap<MetricId, u64>,
    samples: BTreeMap<MetricId, Vec<f64>>,
}

/// A metric's name and its labels, sorted.
type MetricId = (String, Vec<(String, String)>);

struct Recorded {
    snapshotter: Snapshotter,
    totals: Mutex<Totals>,
}

/// Installs the global subscriber and recorder, once.
fn installed() -> &'static Recorded {
    static INSTALLED: OnceLock<Recorded> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other global subscriber in this binary");
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other global recorder in this binary");
        Recorded {
            snapshotter,
            totals: Mutex::default(),
        }
    })
}

/// The events (not spans) named `message` that carry `field = value`.
fn events(message: &str, field: &str, value: &str) -> Vec<Seen> {
    seen(false, message, field, value)
}

/// The spans named `name` that carry `field = value`.
fn spans(name: &str, field: &str, value: &str) -> Vec<Seen> {
    seen(true, name, field, value)
}

fn seen(span: bool, name: &str, field: &str, value: &str) -> Vec<Seen> {
    SEEN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|seen| {
            seen.span == span
                && seen.name == name
                && seen.fields.get(field).map(String::as_str) == Some(value)
        })
        .cloned()
        .collect()
}

/// What the recorder holds now, added to what it held before.
fn totals() -> MutexGuard<'static, Totals> {
    let recorded = installed();
    let mut totals = recorded
        .totals
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for (key, _, _, value) in recorded.snapshotter.snapshot().into_vec() {
        let mut labels: Vec<(String, String)> = key
            .key()
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        labels.sort();
        let id = (key.key().name().to_owned(), labels);
        match value {
            DebugValue::Counter(count) => *totals.counters.entry(id).or_default() += count,
            DebugValue::Gauge(value) => totals.samples.entry(id).or_default().push(*value),
            DebugValue::Histogram(values) => totals
                .samples
                .entry(id)
                .or_default()
                .extend(values.iter().map(|value| value.into_inner())),
        }
    }
    totals
}

/// The samples of histogram `name` labelled `label`.
fn histogram(name: &str, label: (&str, &str)) -> Vec<f64> {
    let id = (
        name.to_owned(),
        vec![(label.0.to_owned(), label.1.to_owned())],
    );
    totals().samples.get(&id).cloned().unwrap_or_default()
}

/// The count of counter `name` labelled `label`.
fn counter(name: &str, label: (&str, &str)) -> u64 {
    let id = (
        name.to_owned(),
        vec![(label.0.to_owned(), label.1.to_owned())],
    );
    totals().counters.get(&id).copied().unwrap_or_default()
}

/// Polls `done` until it holds, for at most 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// No background checkpoints: the tests take the ones they look for.
fn manual(durability: Durability) -> Options {
    Options::durability(durability)
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

macro_rules! row_type {
    ($name:ident, $table:literal) => {
        #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
        #[rkyv(crate = worktable_core::rkyv)]
        #[table(name = $table)]
        struct $name {
            #[pk]
            id: u64,
            note: String,
        }

        impl $name {
            fn new(id: u64) -> Self {
                Self {
                    id,
                    note: format!("note {id}"),
                }
            }
        }
    };
}

row_type!(Synced, "obs_synced");
row_type!(Checkpointed, "obs_checkpointed");
row_type!(Recovered, "obs_recovered");
row_type!(Torn, "obs_torn");
row_type!(Vacuumed, "obs_vacuumed");
row_type!(Shelved, "obs_shelved");

#[derive(Database)]
struct ObsShop {
    shelf: WorkTable<Shelved>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_sync_is_measured_with_the_records_it_made_durable() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let table = PersistentTable::<Synced>::open(dir.path(), manual(Durability::Sync)).unwrap();
    for id in 0..20 {
        table.insert(Synced::new(id)).await.unwrap();
    }
    let label = ("table", "obs_synced");
    // Each `Sync` insert returned once its record was synced: the syncs
    // made all 20 durable, each once. (The flusher records a sync just
    // after it wakes the writers.)
    eventually("syncs covering the 20 records", || {
        histogram("worktable_log_sync_records", label)
            .iter()
            .sum::<f64>()
            >= 20.0
    })
    .await;
    let latencies = histogram("worktable_log_sync_seconds", label);
    let batches = histogram("worktable_log_sync_records", label);
    assert_eq!(batches.iter().sum::<f64>(), 20.0, "{batches:?}");
    assert_eq!(latencies.len(), batches.len());
    assert!(latencies.iter().all(|&seconds| seconds >= 0.0));

    let traced = events("log synced", "table", "obs_synced");
    assert_eq!(traced.len(), latencies.len(), "{traced:?}");
    assert!(traced.iter().all(|seen| seen.level == Level::DEBUG));
    table.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_is_traced_with_its_table_and_rows_and_timed() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let table =
        PersistentTable::<Checkpointed>::open(dir.path(), manual(Durability::Sync)).unwrap();
    for id in 0..25 {
        table.insert(Checkpointed::new(id)).await.unwrap();
    }
    let report = table.checkpoint().await.unwrap();
    assert_eq!(report.rows, 25);

    let label = ("table", "obs_checkpointed");
    let checkpoints = events("checkpoint", "table", "obs_checkpointed");
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    let checkpoint = &checkpoints[0];
    assert_eq!(checkpoint.level, Level::INFO);
    assert_eq!(checkpoint.field("rows"), "25");
    assert_eq!(checkpoint.field("seq"), report.seq.to_string());
    assert_eq!(
        checkpoint.field("pages_written"),
        report.pages_written.to_string()
    );
    assert!(checkpoint.number("bytes_written") >= 65_536.0);
    assert_eq!(spans("checkpoint", "table", "obs_checkpointed").len(), 1);

    let durations = histogram("worktable_checkpoint_seconds", label);
    assert_eq!(durations.len(), 1, "{durations:?}");
    assert!(durations[0] > 0.0);
    assert_eq!(
        counter("worktable_checkpoint_pages_written_total", label),
        report.pages_written as u64
    );

    // `close` takes the last checkpoint: traced and timed the same way.
    table.close().await.unwrap();
    assert_eq!(
        events("checkpoint", "table", "obs_checkpointed").len(),
        2,
        "the closing checkpoint"
    );
    assert_eq!(histogram("worktable_checkpoint_seconds", label).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_at_open_is_traced_with_what_it_replayed_and_timed() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let options = manual(Durability::Sync);
    let table = PersistentTable::<Recovered>::open(dir.path(), options).unwrap();
    for id in 0..10 {
        table.insert(Recovered::new(id)).await.unwrap();
    }
    table.checkpoint().await.unwrap();
    for id in 10..16 {
        table.insert(Recovered::new(id)).await.unwrap();
    }
    table.delete(&0).await.unwrap();
    // As a crash would: no last checkpoint, the log replayed at the open.
    drop(table);

    let table = PersistentTable::<Recovered>::open(dir.path(), options).unwrap();
    assert_eq!(table.len(), 15);
    let opens = events("recovered", "table", "obs_recovered");
    assert_eq!(opens.len(), 2, "the first open and the reopen: {opens:?}");
    let reopen = &opens[1];
    assert_eq!(reopen.level, Level::INFO);
    assert_eq!(reopen.field("checkpoint_seq"), "10");
    assert_eq!(reopen.field("last_seq"), "17");
    assert_eq!(reopen.field("replayed"), "7");
    assert_eq!(reopen.field("rows"), "15");
    assert_eq!(spans("open", "table", "obs_recovered").len(), 2);
    assert_eq!(
        histogram("worktable_recovery_seconds", ("table", "obs_recovered")).len(),
        2
    );
    table.close().await.unwrap();
}

/// The only log segment in `dir`.
fn segment_of(dir: &Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("log-"))
        })
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_log_tail_cut_at_open_is_a_warning() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let options = manual(Durability::Sync);
    let table = PersistentTable::<Torn>::open(dir.path(), options).unwrap();
    for id in 0..3 {
        table.insert(Torn::new(id)).await.unwrap();
    }
    drop(table);
    // A write a crash cut short, after the last sync: 7 bytes of a frame.
    let segment = segment_of(dir.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    let valid = bytes.len();
    bytes.extend_from_slice(&[0xab; 7]);
    std::fs::write(&segment, &bytes).unwrap();

    let table = PersistentTable::<Torn>::open(dir.path(), options).unwrap();
    assert_eq!(table.len(), 3);
    let path = segment.display().to_string();
    let cuts = events(
        "cut the torn tail of the log (writes a crash interrupted, never acknowledged)",
        "path",
        &path,
    );
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    assert_eq!(cuts[0].level, Level::WARN);
    assert_eq!(cuts[0].field("cut_bytes"), "7");
    assert_eq!(cuts[0].field("valid_len"), valid.to_string());
    assert_eq!(std::fs::read(&segment).unwrap().len(), valid);
    table.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_vacuum_of_a_durable_table_is_traced() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let table = PersistentTable::<Vacuumed>::open(dir.path(), manual(Durability::None)).unwrap();
    for id in 0..20_000 {
        table.insert(Vacuumed::new(id)).await.unwrap();
    }
    for id in (0..20_000).filter(|id| id % 10 != 0) {
        table.delete(&id).await.unwrap();
    }
    let vacuum = table.spawn_vacuum(
        VacuumPolicy::default()
            .interval(Duration::from_millis(10))
            .min_fragmentation(0.1)
            .min_reclaimable_pages(1),
    );
    eventually("a vacuum run that moved rows", || {
        events("vacuum run", "table", "obs_vacuumed")
            .iter()
            .any(|run| run.number("rows_moved") > 0.0)
    })
    .await;
    let moved = vacuum.stop().rows_moved;
    let traced: f64 = events("vacuum run", "table", "obs_vacuumed")
        .iter()
        .map(|run| run.number("rows_moved"))
        .sum();
    assert_eq!(traced, moved as f64);
    assert_eq!(
        counter(
            "worktable_vacuum_rows_moved_total",
            ("table", "obs_vacuumed")
        ),
        moved as u64
    );
    assert_eq!(table.len(), 2_000);
    table.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_is_traced_and_measured_under_its_name() {
    installed();
    let dir = tempfile::tempdir().unwrap();
    let options = manual(Durability::Sync);
    let shop = DurableDatabase::<ObsShop>::open(dir.path(), options).unwrap();
    for id in 0..12 {
        shop.shelf.insert(Shelved::new(id)).await.unwrap();
    }
    let label = ("database", "ObsShop");
    eventually("syncs covering the 12 commits", || {
        histogram("worktable_log_sync_records", label)
            .iter()
            .sum::<f64>()
            >= 12.0
    })
    .await;
    assert_eq!(
        histogram("worktable_log_sync_records", label)
            .iter()
            .sum::<f64>(),
        12.0
    );
    let report = shop.checkpoint().await.unwrap();
    let checkpoints = events("checkpoint", "database", "ObsShop");
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    assert_eq!(checkpoints[0].field("rows"), "12");
    assert_eq!(checkpoints[0].field("seq"), report.seq.to_string());
    assert_eq!(histogram("worktable_checkpoint_seconds", label).len(), 1);
    shop.shelf.insert(Shelved::new(12)).await.unwrap();
    drop(shop);

    let shop = DurableDatabase::<ObsShop>::open(dir.path(), options).unwrap();
    let opens = events("recovered", "database", "ObsShop");
    assert_eq!(opens.len(), 2, "{opens:?}");
    assert_eq!(opens[1].field("rows"), "13");
    assert_eq!(opens[1].field("replayed"), "1");
    let tables = events("table recovered", "table", "obs_shelved");
    assert_eq!(tables.last().unwrap().field("rows"), "13");
    assert_eq!(histogram("worktable_recovery_seconds", label).len(), 2);
    shop.close().await.unwrap();
}
