//! Traces and metrics: every `tracing` event and span and every `metrics`
//! histogram and counter this crate emits is made here, behind the
//! `tracing` and `metrics` features (which turn on worktable-core's too).
//! The list, with units and labels, is in `docs/observability.md`; change
//! both together.
//!
//! Without the features every function here is empty and [`Stopwatch`]
//! and [`Span`] are zero-sized, so a call site is one line that compiles to
//! nothing. Nothing here runs per write: a log sync, a checkpoint, an open
//! are each one call.
//!
//! Depends on: `table` (`CheckpointReport` and the error types), `pages`
//! (`FRAME_LEN`).

// With one of the two features, the arguments only the other one records
// are unused, and without either all of them are.
#![cfg_attr(
    not(all(feature = "tracing", feature = "metrics")),
    allow(unused_variables)
)]

use std::io;
use std::path::Path;

use worktable_core::storage::DatabaseTables;

use crate::table::{CheckpointError, CheckpointReport, OpenError};

/// What a log, a checkpoint or an open belongs to: a durable table, or a
/// durable database (named after its struct). Traces carry it as a field
/// `table` or `database`, metrics as a label of that name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    /// A `PersistentTable`, by its table name.
    Table(&'static str),
    /// A `DurableDatabase`, by its struct's name.
    Database(&'static str),
}

impl Store {
    /// The durable database of struct `D`: named after the type, without
    /// its path and generic arguments (`Bank` for `app::Bank<T>`).
    pub(crate) fn database<D>() -> Self {
        let path = std::any::type_name::<D>();
        let path = path.split('<').next().unwrap_or(path);
        Self::Database(path.rsplit("::").next().unwrap_or(path))
    }

    /// The name its threads take after their role (`worktable-log-<it>`):
    /// the table's name, or `database`.
    pub(crate) fn thread_name(self) -> &'static str {
        match self {
            Self::Table(name) => name,
            Self::Database(_) => "database",
        }
    }

    /// The table's name, if it is a table.
    #[cfg(feature = "tracing")]
    fn table(self) -> Option<&'static str> {
        match self {
            Self::Table(name) => Some(name),
            Self::Database(_) => None,
        }
    }

    /// The database's name, if it is a database.
    #[cfg(feature = "tracing")]
    fn database_name(self) -> Option<&'static str> {
        match self {
            Self::Table(_) => None,
            Self::Database(name) => Some(name),
        }
    }

    /// Its metrics label: `table` or `database`, and the name.
    #[cfg(feature = "metrics")]
    fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::Table(name) => ("table", name),
            Self::Database(name) => ("database", name),
        }
    }
}

/// When something that may take a while began; zero-sized without the
/// features.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stopwatch {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    started: std::time::Instant,
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
impl Stopwatch {
    /// Starts measuring now.
    pub(crate) fn start() -> Self {
        Self {
            started: std::time::Instant::now(),
        }
    }

    /// Seconds since [`start`](Self::start).
    pub(crate) fn seconds(self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

#[cfg(not(any(feature = "tracing", feature = "metrics")))]
impl Stopwatch {
    /// Measures nothing.
    #[inline]
    pub(crate) fn start() -> Self {
        Self {}
    }

    /// 0: nothing reads it.
    #[inline]
    pub(crate) fn seconds(self) -> f64 {
        0.0
    }
}

/// An entered `tracing` span, left when dropped; zero-sized without the
/// `tracing` feature.
#[derive(Debug)]
#[must_use = "the span is left when this is dropped"]
pub(crate) struct Span {
    #[cfg(feature = "tracing")]
    _entered: tracing::span::EnteredSpan,
}

/// The log of `store` was synced, `sync_seconds` after the sync began,
/// making `records` more records durable (the writers of a group commit).
pub(crate) fn log_synced(store: Store, records: u64, sync_seconds: f64) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        table = store.table(),
        database = store.database_name(),
        records,
        sync_seconds,
        "log synced"
    );
    #[cfg(feature = "metrics")]
    {
        let (key, name) = store.label();
        metrics::histogram!("worktable_log_sync_seconds", key => name).record(sync_seconds);
        metrics::histogram!("worktable_log_sync_records", key => name).record(records as f64);
    }
}

/// Writing or syncing the log of `store` failed: every later write is
/// refused.
pub(crate) fn log_failed(store: Store, error: &io::Error) {
    #[cfg(feature = "tracing")]
    tracing::error!(
        table = store.table(),
        database = store.database_name(),
        %error,
        "the log failed: writes are refused until the store is opened again"
    );
    #[cfg(feature = "metrics")]
    {
        let (key, name) = store.label();
        metrics::counter!("worktable_log_failures_total", key => name).increment(1);
    }
}

/// Enters the span of a checkpoint of `store`.
pub(crate) fn checkpoint_span(store: Store) -> Span {
    Span {
        #[cfg(feature = "tracing")]
        _entered: tracing::info_span!(
            "checkpoint",
            table = store.table(),
            database = store.database_name()
        )
        .entered(),
    }
}

/// A checkpoint of `store`, begun at `started`, ended with `outcome`.
pub(crate) fn checkpointed(
    store: Store,
    outcome: &Result<CheckpointReport, CheckpointError>,
    started: Stopwatch,
) {
    let seconds = started.seconds();
    match outcome {
        Ok(report) => {
            #[cfg(feature = "tracing")]
            tracing::info!(
                table = store.table(),
                database = store.database_name(),
                seq = report.seq,
                rows = report.rows,
                pages = report.pages,
                pages_written = report.pages_written,
                bytes_written = report.pages_written * crate::pages::FRAME_LEN,
                seconds,
                "checkpoint"
            );
            #[cfg(feature = "metrics")]
            {
                let (key, name) = store.label();
                metrics::histogram!("worktable_checkpoint_seconds", key => name).record(seconds);
                metrics::counter!("worktable_checkpoint_pages_written_total", key => name)
                    .increment(report.pages_written as u64);
            }
        }
        Err(error) => {
            #[cfg(feature = "tracing")]
            tracing::warn!(
                table = store.table(),
                database = store.database_name(),
                %error,
                seconds,
                "checkpoint failed; the previous one stays in effect"
            );
            #[cfg(feature = "metrics")]
            {
                let (key, name) = store.label();
                metrics::counter!("worktable_checkpoint_failures_total", key => name).increment(1);
            }
        }
    }
}

/// Enters the span of an open (recovery) of `store` in `dir`.
pub(crate) fn open_span(store: Store, dir: &Path) -> Span {
    Span {
        #[cfg(feature = "tracing")]
        _entered: tracing::info_span!(
            "open",
            table = store.table(),
            database = store.database_name(),
            dir = %dir.display()
        )
        .entered(),
    }
}

/// `store` was opened, begun at `started`: the checkpoint at
/// `checkpoint_seq` loaded and the log after it replayed through
/// `last_seq`, leaving `rows` rows.
pub(crate) fn opened(
    store: Store,
    checkpoint_seq: u64,
    last_seq: u64,
    rows: usize,
    started: Stopwatch,
) {
    let seconds = started.seconds();
    #[cfg(feature = "tracing")]
    tracing::info!(
        table = store.table(),
        database = store.database_name(),
        checkpoint_seq,
        last_seq,
        replayed = last_seq - checkpoint_seq,
        rows,
        seconds,
        "recovered"
    );
    #[cfg(feature = "metrics")]
    {
        let (key, name) = store.label();
        metrics::histogram!("worktable_recovery_seconds", key => name).record(seconds);
    }
}

/// The durable database `db`, of struct `D`, was opened: as [`opened`],
/// the rows those of all its tables.
pub(crate) fn database_opened<D: DatabaseTables>(
    db: &D,
    checkpoint_seq: u64,
    last_seq: u64,
    started: Stopwatch,
) {
    #[cfg(feature = "tracing")]
    let rows = {
        let mut rows = CountRows(Store::database::<D>(), 0);
        db.visit(&mut rows);
        rows.1
    };
    #[cfg(not(feature = "tracing"))]
    let rows = 0;
    opened(
        Store::database::<D>(),
        checkpoint_seq,
        last_seq,
        rows,
        started,
    );
}

/// Adds up the rows of a database's tables, and traces each table's.
#[cfg(feature = "tracing")]
struct CountRows(Store, usize);

#[cfg(feature = "tracing")]
impl<'db> worktable_core::storage::VisitTables<'db> for CountRows {
    fn table<R: worktable_core::Row>(
        &mut self,
        _slot: usize,
        field: &'static str,
        table: &'db worktable_core::WorkTable<R>,
    ) {
        let rows = table.len();
        tracing::debug!(
            database = self.0.database_name(),
            table = R::TABLE_NAME,
            field,
            rows,
            "table recovered"
        );
        self.1 += rows;
    }
}

/// Opening `store` failed with `error`.
pub(crate) fn open_failed(store: Store, error: &OpenError) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        table = store.table(),
        database = store.database_name(),
        %error,
        "open failed"
    );
}

/// The log segment at `path` ended in a torn tail (a write a crash cut
/// short, never acknowledged): cut from `valid_len` to its length `len`.
pub(crate) fn torn_tail_cut(path: &Path, valid_len: u64, len: u64) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        path = %path.display(),
        valid_len,
        cut_bytes = len - valid_len,
        "cut the torn tail of the log (writes a crash interrupted, never acknowledged)"
    );
}

/// A database's log at `path` ends inside the commit whose first record
/// is numbered `seq`: cut by a crash (never acknowledged), not applied.
pub(crate) fn unfinished_commit_dropped(path: &Path, seq: u64) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        path = %path.display(),
        seq,
        "the log ends inside a commit a crash cut short (never acknowledged): it is not applied"
    );
}
