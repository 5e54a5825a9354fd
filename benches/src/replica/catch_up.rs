//! Catch-up: a new replica loads a snapshot and applies the changes on
//! the stream after it.
//!
//! [`CatchUp::prepare`] builds the stream once: a primary filled with
//! [`Scale::snapshot_rows`] rows (published), a snapshot through
//! `Publisher::snapshot`, then [`Scale::catch_up_changes`] single-row
//! changes from [`WRITERS`] writers flat out (`Durability::Sync`, three
//! updates to one insert), waited for until the stream holds the last.
//! The publisher is stopped after that: nothing else is written while
//! replicas are timed.

use std::time::{Duration, Instant};

use worktable_core::Database as _;

use super::summary::SetupFigures;
use super::{Changes, Scale, Site, WRITERS, wait_applied};
use crate::durable::Runner;

/// A stream of changes after a snapshot, on its own server.
#[derive(Debug)]
pub struct CatchUp {
    site: Site,
    /// The snapshot's commit.
    snapshot: u64,
    /// The last commit on the stream.
    last: u64,
    /// Rows of the primary at `last`.
    rows: usize,
    /// What was written.
    pub setup: SetupFigures,
}

impl CatchUp {
    /// Builds the stream (see the module docs).
    ///
    /// # Panics
    ///
    /// If the server, the primary, a change or the publisher fails.
    pub fn prepare(runner: &Runner, runtime: &tokio::runtime::Runtime, scale: &Scale) -> Self {
        let mut site = Site::open(runner, runtime, "catch-up", false, scale.snapshot_rows);
        runtime.block_on(async {
            let snapshot = site
                .publisher()
                .snapshot()
                .await
                .expect("a snapshot is stored");
            let before = site.published();
            assert_eq!(
                snapshot.commit, before.published,
                "the snapshot is at the end"
            );
            let start = Instant::now();
            write_changes(site.changes(), scale.catch_up_changes).await;
            site.wait_published().await;
            let seconds = start.elapsed().as_secs_f64();
            let after = site.published();
            let last = site.changes().db().last_commit();
            assert_eq!(
                last - snapshot.commit,
                scale.catch_up_changes,
                "one commit number per change"
            );
            site.stop_publisher().await;
            let rows = site.changes().db().items.len();
            Self {
                site,
                snapshot: snapshot.commit,
                last,
                rows,
                setup: SetupFigures {
                    snapshot_rows: scale.snapshot_rows,
                    snapshot_bytes: snapshot.bytes,
                    changes: after.published - before.published,
                    messages: after.messages - before.messages,
                    bytes: after.bytes - before.bytes,
                    seconds,
                },
            }
        })
    }

    /// Times a new replica from `Replica::follow` until it holds the last
    /// commit; checks it then holds every row, without a reload.
    ///
    /// # Panics
    ///
    /// If the replica fails or holds other rows.
    pub async fn catch_up(&self) -> Duration {
        let start = Instant::now();
        let replica = self.site.follow().await;
        wait_applied(&replica, self.last).await;
        let elapsed = start.elapsed();
        let status = replica.status();
        assert_eq!(status.reseeds, 0, "no reload: {status:?}");
        assert_eq!(replica.db().items.len(), self.rows, "every row replicated");
        replica.stop().await.expect("the replica ran");
        elapsed
    }

    /// Times `Replica::follow` alone: listing the snapshots, downloading
    /// the latest, reading it into tables, finding where the stream goes
    /// on.
    ///
    /// # Panics
    ///
    /// If the replica fails or starts elsewhere than at the snapshot.
    pub async fn load_snapshot(&self) -> Duration {
        let start = Instant::now();
        let replica = self.site.follow().await;
        let elapsed = start.elapsed();
        assert!(
            replica.applied_seq() >= self.snapshot,
            "the replica starts at the snapshot"
        );
        replica.stop().await.expect("the replica ran");
        elapsed
    }
}

/// Makes `total` changes from [`WRITERS`] writers at once, as fast as
/// they go.
async fn write_changes(changes: &Changes, total: u64) {
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let count =
                total / WRITERS as u64 + u64::from((writer as u64) < total % WRITERS as u64);
            let changes = changes.clone();
            tokio::spawn(async move {
                for k in 0..count {
                    changes.make(writer, k).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer task panicked");
    }
}
