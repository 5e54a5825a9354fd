//! Traces and metrics: every `tracing` event and every `metrics` gauge and
//! counter this crate emits is made here, behind the `tracing` and
//! `metrics` features (which turn on worktable-persist's and
//! worktable-core's too). The list, with units and labels, is in
//! `docs/observability.md`; change both together.
//!
//! Without the features every function here is empty, so a call site is
//! one line that compiles to nothing. Each is called once per stream
//! message (published or applied), per retry or per reload, never per
//! change.
//!
//! Depends on: nothing of the crate.

// With one of the two features, the arguments only the other one records
// are unused, and without either all of them are.
#![cfg_attr(
    not(all(feature = "tracing", feature = "metrics")),
    allow(unused_variables)
)]

use std::fmt;
use std::time::Duration;

/// The publisher of `stream` stored a message at `stream_seq` holding the
/// commits up to `last_commit`, `bytes` long.
pub(crate) fn published(stream: &str, stream_seq: u64, last_commit: u64, bytes: usize) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        stream,
        stream_seq,
        last_commit,
        bytes,
        "published a message"
    );
    #[cfg(feature = "metrics")]
    {
        let stream = stream.to_owned();
        metrics::counter!("worktable_replica_published_messages_total", "stream" => stream.clone())
            .increment(1);
        metrics::counter!("worktable_replica_published_bytes_total", "stream" => stream)
            .increment(bytes as u64);
    }
}

/// A publish to `stream` failed with `error` (the server is away, or its
/// acknowledgement was lost): the same message is sent again after
/// `delay`.
pub(crate) fn publish_retry(stream: &str, error: &dyn fmt::Display, delay: Duration) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        stream,
        %error,
        retry_in_seconds = delay.as_secs_f64(),
        "publish failed; retrying"
    );
    #[cfg(feature = "metrics")]
    metrics::counter!("worktable_replica_publish_retries_total", "stream" => stream.to_owned())
        .increment(1);
}

/// A replica of `stream` applied the message at `stream_seq`: its last
/// commit applied is `applied`, `pending` messages follow on the stream,
/// and the message was applied `lag` after the publisher sent it.
pub(crate) fn applied(stream: &str, applied: u64, stream_seq: u64, pending: u64, lag: Duration) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        stream,
        applied,
        stream_seq,
        pending,
        lag_seconds = lag.as_secs_f64(),
        "replica applied a message"
    );
    #[cfg(feature = "metrics")]
    {
        let stream = stream.to_owned();
        metrics::gauge!("worktable_replica_lag_seconds", "stream" => stream.clone())
            .set(lag.as_secs_f64());
        metrics::gauge!("worktable_replica_lag_messages", "stream" => stream.clone())
            .set(pending as f64);
        metrics::gauge!("worktable_replica_applied_commit", "stream" => stream).set(applied as f64);
    }
}

/// A replica of `stream`, which needed commit `needed`, reloaded from the
/// snapshot at `commit`.
pub(crate) fn reloaded(stream: &str, needed: u64, commit: u64) {
    #[cfg(feature = "tracing")]
    tracing::info!(stream, needed, commit, "replica reloaded from a snapshot");
    #[cfg(feature = "metrics")]
    metrics::counter!("worktable_replica_reseeds_total", "stream" => stream.to_owned())
        .increment(1);
}
