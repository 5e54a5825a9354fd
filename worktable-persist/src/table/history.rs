//! Resuming a change feed: [`PersistentTable::subscribe_from`] delivers the
//! changes after a given sequence number that the log still holds, read
//! back from it, then the live ones.
//!
//! # Why the seam has no gap and no duplicate
//!
//! Under the checkpointer's lock (no checkpoint removes a segment
//! meanwhile), the live subscription starts under the table's commit lock,
//! which also gives `last`, the number of the last change committed before
//! it: the subscription receives exactly the changes numbered after `last`.
//! Every change up to `last` was handed to the log's buffer under that
//! lock (the hook runs at the commit point), so once the log has synced
//! everything logged, the segments hold every record up to `last`, and
//! those bytes no longer change. The history is the records numbered in
//! `(after, last]`, decoded from the segments; records after `last` that
//! the flusher is appending meanwhile are never read.

use std::path::Path;

use worktable_core::events::Subscription;
use worktable_core::storage;
use worktable_core::{ChangeEvent, ChangeKind, Row, RowImage, Watch};

use super::error::ResumeError;
use super::files::{parse_segment_name, segment_name};
use super::{Inner, PersistentTable};
use crate::log::{Record, RecordKind, Records};
use crate::vfs::Vfs;

impl<R: Row> PersistentTable<R> {
    /// A stream of every change numbered after `after`, for a consumer that
    /// processed the table's changes up to `after` and resumes: first the
    /// changes the log still holds, in order, then the live ones, without a
    /// gap or a duplicate between them. `subscribe_from(table.last_seq())`
    /// is [`subscribe`](worktable_core::WorkTable::subscribe).
    ///
    /// The log holds the changes after the last checkpoint (a checkpoint
    /// removes the log before it). The events read back are whole: kind,
    /// key, and the row images before and after; they are read into memory
    /// at once (the log since the last checkpoint, about
    /// [`Options::checkpoint_log_bytes`](crate::Options::checkpoint_log_bytes)
    /// at most, less what the watch filters out), and checkpoints wait
    /// while they are read. Live events that arrive meanwhile wait in the
    /// subscription's queue, whose capacity ([`Watch::capacity`]) bounds
    /// them as for any subscription.
    ///
    /// Sequence numbers are the log's: they continue across a reopen. A
    /// change that was visible but not yet durable when the process died
    /// (with [`Durability::Periodic`](crate::Durability::Periodic) or
    /// [`None`](crate::Durability::None), or a write whose sync never
    /// completed) is not in the log after a crash, and the next change
    /// after the reopen takes its number.
    ///
    /// Blocking work (syncing the log, reading its segments) runs on a
    /// thread of its own.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Options, PersistentTable};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u32,
    ///     text: String,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
    ///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
    ///     notes.insert(Note { id: 1, text: "one".into() }).await?;
    ///     notes.insert(Note { id: 2, text: "two".into() }).await?;
    ///     // A consumer saved 1 as the last change it processed.
    ///     let mut feed = notes.subscribe_from(1).await?;
    ///     notes.insert(Note { id: 3, text: "three".into() }).await?;
    ///     let seen: Vec<u64> = feed.by_ref().take(2).map(|e| e.unwrap().seq()).collect().await;
    ///     assert_eq!(seen, [2, 3]);
    ///     notes.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ResumeError`]:
    ///
    /// - [`ResumeError::TooOld`]: the log no longer holds the change
    ///   after `after` (a checkpoint removed it); the error says the oldest
    ///   change it holds. Re-read the table instead
    ///   ([`subscribe_to_with_seq`](worktable_core::WorkTable::subscribe_to_with_seq)
    ///   gives the number to resume from later).
    /// - [`ResumeError::Ahead`]: `after` is past the table's last
    ///   change: the consumer saw changes the table does not have (lost in
    ///   a crash before they were durable, or numbers of another table).
    /// - [`ResumeError::LogFailed`]: the log has failed.
    /// - [`ResumeError::Io`], [`ResumeError::Log`],
    ///   [`ResumeError::LogMissing`], [`ResumeError::BadRow`],
    ///   [`ResumeError::HistoryRecord`]: a segment cannot be read back.
    pub async fn subscribe_from(&self, after: u64) -> Result<Subscription<R>, ResumeError> {
        self.subscribe_to_from(Watch::all(), after).await
    }

    /// [`subscribe_from`](Self::subscribe_from) for the rows `watch`
    /// selects: the history is filtered as the live changes are (a row
    /// moving into or out of the watched rows comes as an insert or a
    /// delete).
    ///
    /// # Errors
    ///
    /// As [`subscribe_from`](Self::subscribe_from).
    pub async fn subscribe_to_from(
        &self,
        watch: Watch<R>,
        after: u64,
    ) -> Result<Subscription<R>, ResumeError> {
        let inner = std::sync::Arc::clone(&self.inner);
        self.on_thread("history", move || inner.resume(watch, after))
            .await
            .unwrap_or_else(|source| Err(ResumeError::io(&self.inner.dir, source)))
    }
}

impl<R: Row> Inner<R> {
    /// The blocking part of [`PersistentTable::subscribe_to_from`].
    fn resume(&self, watch: Watch<R>, after: u64) -> Result<Subscription<R>, ResumeError> {
        let kept = self.checkpointer.hold();
        let oldest = kept.checkpoint_seq() + 1;
        if after + 1 < oldest {
            return Err(ResumeError::TooOld {
                dir: self.dir.clone(),
                after,
                oldest,
            });
        }
        let (subscription, last) = self.table.subscribe_to_with_seq(watch);
        if after > last {
            return Err(ResumeError::Ahead {
                dir: self.dir.clone(),
                after,
                last,
            });
        }
        if after == last {
            return Ok(subscription);
        }
        self.shared.sync_logged()?;
        let history = read_history::<R>(&*self.vfs, &self.dir, after, last)?;
        drop(kept);
        Ok(storage::with_history(subscription, history))
    }
}

/// The changes numbered in `(after, last]`, read back from the segments of
/// `dir`, which hold every one of them.
fn read_history<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    after: u64,
    last: u64,
) -> Result<Vec<ChangeEvent<R>>, ResumeError> {
    let names = vfs
        .list(dir)
        .map_err(|source| ResumeError::io(dir, source))?;
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|name| parse_segment_name(name))
        .collect();
    segments.sort_unstable();
    // The segment holding `after + 1` is the last that starts at or before
    // it.
    let start = segments.partition_point(|&first| first <= after + 1);
    let mut events = Vec::new();
    let mut next = after + 1;
    for &first in &segments[start.saturating_sub(1)..] {
        if next > last {
            break;
        }
        let path = dir.join(segment_name(first));
        let bytes = vfs
            .read(&path)
            .map_err(|source| ResumeError::io(&path, source))?;
        let records = Records::new(&bytes).map_err(|source| ResumeError::Log {
            path: path.clone(),
            source,
        })?;
        for record in records {
            if record.seq < next {
                continue;
            }
            if record.seq > last {
                break;
            }
            if record.seq != next {
                // Segments follow each other without a gap (recovery checked
                // those it read; the flusher starts each at the next number).
                return Err(ResumeError::LogMissing {
                    path: dir.join(segment_name(next)),
                });
            }
            events.push(change_event(&path, &record)?);
            next = record.seq + 1;
        }
    }
    if next <= last {
        return Err(ResumeError::LogMissing {
            path: dir.join(segment_name(next)),
        });
    }
    Ok(events)
}

/// The change event `record`, read from the segment at `path`, stands for.
fn change_event<R: Row>(path: &Path, record: &Record<'_>) -> Result<ChangeEvent<R>, ResumeError> {
    let image = |bytes: &[u8]| {
        (!bytes.is_empty())
            .then(|| RowImage::<R>::from_bytes(bytes))
            .transpose()
            .map_err(|source| ResumeError::BadRow {
                path: path.to_owned(),
                offset: record.offset,
                source,
            })
    };
    let kind = match record.kind {
        RecordKind::Insert => ChangeKind::Insert,
        RecordKind::Update => ChangeKind::Update,
        RecordKind::Delete => ChangeKind::Delete,
        // A bulk load's numbers: its rows are in a checkpoint, not in the
        // log, so the feed cannot go past them.
        RecordKind::Skip => {
            return Err(ResumeError::TooOld {
                dir: path.parent().map(Path::to_owned).unwrap_or_default(),
                after: record.seq - 1,
                oldest: record.last_number() + 1,
            });
        }
    };
    ChangeEvent::from_images(
        record.seq,
        kind,
        image(record.before)?,
        image(record.after)?,
    )
    .map_err(|source| ResumeError::HistoryRecord {
        path: path.to_owned(),
        offset: record.offset,
        source,
    })
}
