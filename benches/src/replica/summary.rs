//! The replica benchmark's figures: the lag runs (not criterion's, so
//! written here as JSON beside criterion's results, where a report can
//! read them), the catch-up set-up's wire figures, and the tables printed
//! at the end of a run.
//!
//! Files, under criterion's directory ([`criterion_dir`](crate::results::criterion_dir)):
//!
//! - `replica_lag/<variant>/<rate>/new/lag.json`: every round of one
//!   variant and offered rate (`{"variant", "rate", "rounds": [{"offered",
//!   "achieved", "samples", "p50_nanos", "p99_nanos", "max_nanos",
//!   "changes", "messages", "bytes"}]}`);
//! - `replica_catch_up_setup/<changes>/new/setup.json`: the stream the
//!   catch-up benchmark reads (`{"snapshot_rows", "snapshot_bytes",
//!   "changes", "messages", "bytes", "seconds"}`).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Scale;
use super::lag::{RATES, SYNC_ALWAYS_RATES};
use crate::results::{Estimate, format_nanos, machine, with_separators};

/// Group of the lag figures: `replica_lag/<variant>/<rate>`.
pub const LAG_GROUP: &str = "replica_lag";

/// The variant on a server with JetStream's default sync (every two
/// minutes).
pub const SYNC_DEFAULT: &str = "default_sync";

/// The variant on a server that syncs every write before acknowledging it.
pub const SYNC_ALWAYS: &str = "sync_always";

/// Criterion group of the catch-up benchmarks.
pub const CATCH_UP_GROUP: &str = "replica_catch_up";

/// `replica_catch_up/snapshot_plus_stream/<changes>`: a new replica
/// loads the snapshot and applies `<changes>` changes after it.
pub const SNAPSHOT_PLUS_STREAM: &str = "snapshot_plus_stream";

/// `replica_catch_up/snapshot_load/<rows>`: a new replica loads the
/// snapshot of `<rows>` rows (until `Replica::follow` returns).
pub const SNAPSHOT_LOAD: &str = "snapshot_load";

/// Where the catch-up set-up's figures go: `replica_catch_up_setup/<changes>`.
pub const SETUP_GROUP: &str = "replica_catch_up_setup";

/// One lag run.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundFigures {
    /// Offered changes per second.
    pub offered: u64,
    /// Changes per second written in the measured part.
    pub achieved: f64,
    /// Changes whose lag was measured.
    pub samples: u64,
    /// Median lag.
    pub p50_nanos: u64,
    /// 99th percentile.
    pub p99_nanos: u64,
    /// Largest lag.
    pub max_nanos: u64,
    /// Commits published over the run (warm-up included).
    pub changes: u64,
    /// Messages they took.
    pub messages: u64,
    /// Payload bytes of those messages.
    pub bytes: u64,
}

impl RoundFigures {
    /// Payload bytes on the stream per change.
    pub fn bytes_per_change(&self) -> f64 {
        self.bytes as f64 / self.changes.max(1) as f64
    }

    /// Changes per message.
    pub fn changes_per_message(&self) -> f64 {
        self.changes as f64 / self.messages.max(1) as f64
    }

    /// One line for the log.
    pub fn describe(&self) -> String {
        format!(
            "{}/s achieved, lag p50 {} p99 {} max {} ({} changes), {:.0} B/change, {:.1} changes/message",
            with_separators(self.achieved.round() as u64),
            format_nanos(self.p50_nanos as f64),
            format_nanos(self.p99_nanos as f64),
            format_nanos(self.max_nanos as f64),
            with_separators(self.samples),
            self.bytes_per_change(),
            self.changes_per_message(),
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "offered": self.offered, "achieved": self.achieved, "samples": self.samples,
            "p50_nanos": self.p50_nanos, "p99_nanos": self.p99_nanos,
            "max_nanos": self.max_nanos, "changes": self.changes,
            "messages": self.messages, "bytes": self.bytes,
        })
    }

    fn from_json(value: &Value) -> Option<Self> {
        let int = |key: &str| value[key].as_u64();
        Some(Self {
            offered: int("offered")?,
            achieved: value["achieved"].as_f64()?,
            samples: int("samples")?,
            p50_nanos: int("p50_nanos")?,
            p99_nanos: int("p99_nanos")?,
            max_nanos: int("max_nanos")?,
            changes: int("changes")?,
            messages: int("messages")?,
            bytes: int("bytes")?,
        })
    }
}

/// Every round of one variant at one offered rate.
#[derive(Clone, Debug, PartialEq)]
pub struct LagFigures {
    /// [`SYNC_DEFAULT`] or [`SYNC_ALWAYS`].
    pub variant: String,
    /// Offered changes per second.
    pub rate: u64,
    /// One per round.
    pub rounds: Vec<RoundFigures>,
}

impl LagFigures {
    /// No rounds yet.
    pub fn new(variant: &str, rate: u64) -> Self {
        Self {
            variant: variant.to_owned(),
            rate,
            rounds: Vec::new(),
        }
    }

    /// `replica_lag/<variant>/<rate>`.
    pub fn id(&self) -> String {
        format!("{LAG_GROUP}/{}/{}", self.variant, self.rate)
    }

    /// The median over the rounds of `figure`; `NaN` without rounds.
    pub fn median(&self, figure: impl Fn(&RoundFigures) -> f64) -> f64 {
        median(self.rounds.iter().map(figure).collect())
    }

    fn path(criterion: &Path, variant: &str, rate: u64) -> PathBuf {
        criterion
            .join(LAG_GROUP)
            .join(variant)
            .join(rate.to_string())
            .join("new/lag.json")
    }

    /// Writes the figures under `criterion`.
    ///
    /// # Panics
    ///
    /// If the file cannot be written.
    pub fn write(&self, criterion: &Path) {
        let rounds: Vec<Value> = self.rounds.iter().map(RoundFigures::to_json).collect();
        let value = json!({ "variant": self.variant, "rate": self.rate, "rounds": rounds });
        write_json(&Self::path(criterion, &self.variant, self.rate), &value);
    }

    /// The figures of the latest run of `variant` at `rate`, if any.
    pub fn read(criterion: &Path, variant: &str, rate: u64) -> Option<Self> {
        let value = read_json(&Self::path(criterion, variant, rate))?;
        let rounds = value["rounds"].as_array()?;
        Some(Self {
            variant: variant.to_owned(),
            rate,
            rounds: rounds
                .iter()
                .map(RoundFigures::from_json)
                .collect::<Option<_>>()?,
        })
    }
}

/// The stream the catch-up benchmark reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetupFigures {
    /// Rows in the snapshot.
    pub snapshot_rows: u64,
    /// Bytes of its files.
    pub snapshot_bytes: u64,
    /// Changes on the stream after it.
    pub changes: u64,
    /// Messages they took.
    pub messages: u64,
    /// Payload bytes of those messages.
    pub bytes: u64,
    /// Time to write and publish the changes.
    pub seconds: f64,
}

impl SetupFigures {
    fn path(criterion: &Path, changes: u64) -> PathBuf {
        criterion
            .join(SETUP_GROUP)
            .join(changes.to_string())
            .join("new/setup.json")
    }

    /// Writes the figures under `criterion`.
    ///
    /// # Panics
    ///
    /// If the file cannot be written.
    pub fn write(&self, criterion: &Path) {
        let value = json!({
            "snapshot_rows": self.snapshot_rows, "snapshot_bytes": self.snapshot_bytes,
            "changes": self.changes, "messages": self.messages, "bytes": self.bytes,
            "seconds": self.seconds,
        });
        write_json(&Self::path(criterion, self.changes), &value);
    }

    /// The figures of the latest set-up of `changes` changes, if any.
    pub fn read(criterion: &Path, changes: u64) -> Option<Self> {
        let value = read_json(&Self::path(criterion, changes))?;
        let int = |key: &str| value[key].as_u64();
        Some(Self {
            snapshot_rows: int("snapshot_rows")?,
            snapshot_bytes: int("snapshot_bytes")?,
            changes: int("changes")?,
            messages: int("messages")?,
            bytes: int("bytes")?,
            seconds: value["seconds"].as_f64()?,
        })
    }

    /// Payload bytes on the stream per change.
    pub fn bytes_per_change(&self) -> f64 {
        self.bytes as f64 / self.changes.max(1) as f64
    }
}

/// The median of `values` (the mean of the middle two for an even count);
/// `NaN` when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn write_json(path: &Path, value: &Value) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("criterion's directory can be written");
    }
    std::fs::write(path, value.to_string()).expect("the figures can be written");
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The lag runs: each variant and the rates it is measured at, in the
/// order of the tables.
const VARIANTS: [(&str, &[u64]); 2] = [(SYNC_DEFAULT, &RATES), (SYNC_ALWAYS, &SYNC_ALWAYS_RATES)];

/// The figures of every lag run of the latest replica run in `criterion`,
/// in the order of the tables (each variant's rates in turn); runs never
/// measured are left out.
pub fn lag_runs(criterion: &Path) -> Vec<LagFigures> {
    VARIANTS
        .iter()
        .flat_map(|&(variant, rates)| {
            rates
                .iter()
                .filter_map(move |&rate| LagFigures::read(criterion, variant, rate))
        })
        .collect()
}

/// Prints the tables of the latest replica run in `criterion`, for the
/// sizes of `scale`.
pub fn print_summary(criterion: &Path, scale: &Scale) {
    println!(
        "Replication lag: a change's write returning on the primary (durable) to the replica's \
         `applied_seq` reaching its commit; primary, publisher, replica and one nats-server on \
         one machine. Median of {} rounds (each round runs every rate once). Machine: {}.",
        scale.rounds,
        machine()
    );
    println!();
    println!(
        "| server sync | offered/s | achieved/s | p50 | p99 | max | bytes/change | changes/message |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (variant, rates) in VARIANTS {
        for &rate in rates {
            let Some(figures) = LagFigures::read(criterion, variant, rate) else {
                println!(
                    "| {variant} | {} | — | — | — | — | — | — |",
                    with_separators(rate)
                );
                continue;
            };
            let time = |figure: fn(&RoundFigures) -> u64| {
                format_nanos(figures.median(|round| figure(round) as f64))
            };
            println!(
                "| {variant} | {} | {} | {} | {} | {} | {:.0} | {:.1} |",
                with_separators(rate),
                with_separators(figures.median(|round| round.achieved).round() as u64),
                time(|round| round.p50_nanos),
                time(|round| round.p99_nanos),
                time(|round| round.max_nanos),
                figures.median(RoundFigures::bytes_per_change),
                figures.median(RoundFigures::changes_per_message),
            );
        }
    }
    print_catch_up(criterion, scale);
}

fn print_catch_up(criterion: &Path, scale: &Scale) {
    let changes = scale.catch_up_changes;
    let rows = scale.snapshot_rows;
    let full = Estimate::read(
        criterion,
        &format!("{CATCH_UP_GROUP}/{SNAPSHOT_PLUS_STREAM}/{changes}"),
    );
    let load = Estimate::read(
        criterion,
        &format!("{CATCH_UP_GROUP}/{SNAPSHOT_LOAD}/{rows}"),
    );
    let setup = SetupFigures::read(criterion, changes);
    println!();
    println!(
        "Catch-up: a new replica loads a snapshot of {} rows and applies the {} single-row \
         changes on the stream after it (`Replica::follow` + `wait_for(last)`), median of \
         criterion's samples.",
        with_separators(rows),
        with_separators(changes)
    );
    println!();
    println!(
        "| changes | snapshot + stream | changes/s | snapshot load | stream only, changes/s | bytes/change | changes/message |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let time = |estimate: Option<Estimate>| {
        estimate.map_or("—".to_owned(), |e| format_nanos(e.median_nanos))
    };
    let rate =
        |value: Option<f64>| value.map_or("—".to_owned(), |v| with_separators(v.round() as u64));
    let stream_only = full
        .zip(load)
        .map(|(full, load)| changes as f64 * 1e9 / (full.median_nanos - load.median_nanos));
    let wire = |value: Option<f64>| value.map_or("—".to_owned(), |v| format!("{v:.1}"));
    println!(
        "| {} | {} | {} | {} | {} | {} | {} |",
        with_separators(changes),
        time(full),
        rate(full.map(Estimate::elements_per_second)),
        time(load),
        rate(stream_only),
        wire(setup.map(|s| s.bytes_per_change())),
        wire(setup.map(|s| s.changes as f64 / s.messages.max(1) as f64)),
    );
    if let Some(setup) = setup {
        println!();
        println!(
            "The stream was written by {} writers at {}/s (Durability::Sync, group commit); \
             the snapshot is {} bytes.",
            super::WRITERS,
            with_separators((setup.changes as f64 / setup.seconds).round() as u64),
            with_separators(setup.snapshot_bytes)
        );
    }
}
