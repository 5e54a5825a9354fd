//! Traces and metrics: every `tracing` event and span and every `metrics`
//! counter and histogram this crate emits is made here, behind the
//! `tracing` and `metrics` features. The list, with units and labels, is
//! in `docs/observability.md`; change both together.
//!
//! Without the features every function here is empty and every type
//! zero-sized, so a call site is one line that compiles to nothing. None is
//! called on a path where nothing happens: a lock taken without waiting, a
//! commit without conflict; the one per-operation call is [`write`], a
//! counter increment with `metrics` on.
//!
//! Depends on: `events` (`ChangeKind`) only.

// With one of the two features, the arguments only the other one records
// are unused, and without either all of them are.
#![cfg_attr(
    not(all(feature = "tracing", feature = "metrics")),
    allow(unused_variables)
)]

use std::fmt;

use crate::events::ChangeKind;

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

/// The label value of a change kind.
#[cfg(feature = "metrics")]
fn kind_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Insert => "insert",
        ChangeKind::Update => "update",
        ChangeKind::Delete => "delete",
    }
}

/// A change committed to `table` (every single-row write, each row of a
/// multi-row write, each change of a transaction).
#[inline]
pub(crate) fn write(table: &'static str, kind: ChangeKind) {
    #[cfg(feature = "metrics")]
    metrics::counter!("worktable_writes_total", "table" => table, "kind" => kind_label(kind))
        .increment(1);
}

/// A write (or a guard, or a transaction's commit) waited for the lock of
/// the row `key` of `table` since `waiting` and holds it now.
pub(crate) fn row_lock_waited(table: &'static str, key: &dyn fmt::Debug, waiting: Stopwatch) {
    let seconds = waiting.seconds();
    #[cfg(feature = "tracing")]
    tracing::debug!(
        table,
        key = ?key,
        wait_seconds = seconds,
        "waited for a row lock"
    );
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("worktable_row_lock_waits_total", "table" => table).increment(1);
        metrics::histogram!("worktable_row_lock_wait_seconds", "table" => table).record(seconds);
    }
}

/// A transaction reading at `read_point` failed to commit: a change
/// committed since touched what it read in `table`.
pub(crate) fn tx_conflict(table: &'static str, read_point: u64) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        table,
        read_point,
        "a transaction conflicted with a commit made since it began"
    );
    #[cfg(feature = "metrics")]
    metrics::counter!("worktable_tx_conflicts_total", "table" => table).increment(1);
}

/// A transaction whose last attempt (`attempt`, counted from 1) conflicted
/// in `table` runs again.
pub(crate) fn tx_retry(table: &'static str, attempt: u32) {
    #[cfg(feature = "tracing")]
    tracing::debug!(table, attempt, "running the transaction again");
    #[cfg(feature = "metrics")]
    metrics::counter!("worktable_tx_retries_total", "table" => table).increment(1);
}

/// A transaction conflicted on each of its `attempts`, the last in
/// `table`, and gives up.
pub(crate) fn tx_gave_up(table: &'static str, attempts: u32) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        table,
        attempts,
        "the transaction conflicted on every attempt"
    );
}

/// Enters the span of a vacuum run of `table`.
pub(crate) fn vacuum_span(table: &'static str) -> Span {
    Span {
        #[cfg(feature = "tracing")]
        _entered: tracing::info_span!("vacuum", table).entered(),
    }
}

/// A vacuum run of `table`, begun at `started`, moved `rows_moved` rows
/// in `steps` steps, and `pages_before` pages holding memory became
/// `pages_after`.
pub(crate) fn vacuumed(
    table: &'static str,
    rows_moved: usize,
    steps: usize,
    pages_before: usize,
    pages_after: usize,
    started: Stopwatch,
) {
    let seconds = started.seconds();
    #[cfg(feature = "tracing")]
    tracing::info!(
        table,
        rows_moved,
        steps,
        pages_before,
        pages_after,
        seconds,
        "vacuum run"
    );
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("worktable_vacuum_rows_moved_total", "table" => table)
            .increment(rows_moved as u64);
        metrics::counter!("worktable_vacuum_pages_freed_total", "table" => table)
            .increment(pages_before.saturating_sub(pages_after) as u64);
    }
}
