//! The replica: a database's tables in memory, loaded from a snapshot and
//! kept up to date from the stream, read-only to its users.
//!
//! # Following
//!
//! A task reads the stream in order from the message after the one the
//! replica applied last (an ordered consumer, recreated with backoff when
//! the server goes away). Every message is decoded and checked first
//! (`wire`: checksum, numbering, schema); a refused message stops the
//! replica ([`ReplicaError::Message`]) before any of it is applied. Each
//! commit is applied as one transaction (`apply`), so readers see all of it
//! or nothing, and only if its first change follows the last applied
//! commit: commits at or below it are skipped (a message read twice), and a
//! commit after a gap — the stream trimmed past the replica, or a re-seed
//! message — makes the replica reload from a snapshot at or after the
//! commit it needs, and say so ([`ReplicaStatus::reseeds`]).
//!
//! A reload replaces the tables: [`Replica::db`] hands out the current
//! ones; a handle taken before keeps reading the old ones (as a snapshot
//! would), and its subscriptions end with the reload.
//!
//! Depends on: `apply`, `stream`, `wire`, `snapshot`, `error`.

mod follower;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream;
use tokio::sync::watch;
use worktable_core::Database;
use worktable_core::storage::DatabaseTables;
use worktable_persist::{DurableDatabase, Options, replication};

use follower::{Follower, load_latest, nats, retry_until};

use crate::error::{ReplicaError, SnapshotError};
use crate::publisher::{Publisher, PublisherOptions};
use crate::snapshot::SnapshotStore;
use crate::stream::StreamConfig;

/// How a [`Replica`] follows its stream.
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    stream: StreamConfig,
    snapshots: Option<SnapshotStore>,
    snapshot_wait: Duration,
}

impl ReplicaOptions {
    /// Follows `stream` (the publisher's: same name and subject).
    pub fn new(stream: StreamConfig) -> Self {
        Self {
            stream,
            snapshots: None,
            snapshot_wait: Duration::from_secs(30),
        }
    }

    /// Loads snapshots from `store` (the publisher's). Without one, the
    /// stream must hold the database's history from its first commit.
    #[must_use]
    pub fn snapshots(mut self, store: SnapshotStore) -> Self {
        self.snapshots = Some(store);
        self
    }

    /// How long a reload waits for a snapshot new enough to appear before
    /// the replica stops with [`SnapshotError::Missing`] (default 30 s).
    #[must_use]
    pub fn snapshot_wait(mut self, wait: Duration) -> Self {
        self.snapshot_wait = wait;
        self
    }
}

/// Where a replica is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The last commit applied: reads see the primary as of this commit.
    pub applied: u64,
    /// The stream sequence of the last message applied.
    pub stream_seq: u64,
    /// Messages on the stream after it, as the server last said.
    pub pending_messages: u64,
    /// How long after the publisher sent it the last message was applied
    /// (the publisher's clock against the replica's: skew between the
    /// machines shows here).
    pub lag: Duration,
    /// Reloads from a snapshot (a gap in the stream, or a re-seed).
    pub reseeds: u64,
    /// Why the replica stopped, if it did (see [`Replica::stop`]).
    pub stopped: Option<String>,
}

struct Shared<D> {
    tables: RwLock<Arc<D>>,
    status: watch::Sender<ReplicaStatus>,
    /// The error that stopped the follower, for [`Replica::stop`].
    failure: std::sync::Mutex<Option<ReplicaError>>,
}

impl<D> Shared<D> {
    /// The current tables.
    fn tables(&self) -> Arc<D> {
        Arc::clone(
            &self
                .tables
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Replaces the tables (after a reload).
    fn replace_tables(&self, tables: D) {
        *self
            .tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(tables);
    }
}

/// A read-only copy of a durable database on another machine, kept up to
/// date through a JetStream stream that a [`Publisher`] fills.
///
/// ```
/// use std::sync::Arc;
/// use worktable_core::prelude::*;
/// use worktable_persist::{Durability, DurableDatabase, Options};
/// use worktable_replica::local_server::LocalServer;
/// use worktable_replica::{Publisher, PublisherOptions, Replica, ReplicaOptions, StreamConfig};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
///     text: String,
/// }
///
/// #[derive(Database)]
/// struct Notes {
///     notes: WorkTable<Note>,
/// }
///
/// let server = LocalServer::start()?; // a nats-server on loopback, for the example
/// let rt = tokio::runtime::Runtime::new()?;
/// rt.block_on(async {
///     let client = async_nats::connect(server.url()).await?;
///     let stream = StreamConfig::new("notes");
///
///     // The primary, and its publisher.
///     let dir = tempfile::tempdir()?;
///     let primary = Arc::new(DurableDatabase::<Notes>::open(
///         dir.path(),
///         Options::durability(Durability::Sync),
///     )?);
///     let options = PublisherOptions::new(stream.clone());
///     let publisher = Publisher::start(Arc::clone(&primary), client.clone(), options).await?;
///
///     // A replica (on another machine, in real life).
///     let replica = Replica::<Notes>::follow(client, ReplicaOptions::new(stream)).await?;
///
///     primary.notes.insert(Note { id: 1, text: "hello".into() }).await?;
///     let written_at = primary.last_commit();
///     // Read your writes: wait for the commit made on the primary.
///     replica.wait_for(written_at).await?;
///     assert_eq!(replica.db().notes.get(&1).map(|n| n.text), Some("hello".to_owned()));
///
///     replica.stop().await?;
///     publisher.stop().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Replica<D: DatabaseTables + Database> {
    shared: Arc<Shared<D>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Follower<D>>,
}

impl<D: DatabaseTables + Database> std::fmt::Debug for Replica<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("status", &*self.shared.status.borrow())
            .finish_non_exhaustive()
    }
}

impl<D: DatabaseTables + Database> Replica<D> {
    /// Loads the latest snapshot (or starts empty when there is none) and
    /// follows the stream from there, in a task of the current tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`ReplicaError::Nats`] when the stream cannot be reached;
    /// [`ReplicaError::Snapshot`] when the latest snapshot cannot be
    /// loaded.
    pub async fn follow(
        client: async_nats::Client,
        options: ReplicaOptions,
    ) -> Result<Self, ReplicaError> {
        let js = jetstream::new(client);
        // The server or the stream may be electing a leader: retry for as
        // long as a snapshot is waited for.
        let deadline = tokio::time::Instant::now() + options.snapshot_wait;
        let stream = retry_until(deadline, || js.get_stream(&options.stream.name))
            .await
            .map_err(|source| nats("stream", source))?;
        let loaded = match &options.snapshots {
            Some(store) => retry_until(deadline, || load_latest::<D>(store, 0)).await?,
            None => None,
        };
        let (tables, applied) = loaded.unwrap_or_else(|| (replication::empty_follower::<D>(), 0));
        let shared = Arc::new(Shared {
            tables: RwLock::new(Arc::new(tables)),
            status: watch::channel(ReplicaStatus {
                applied,
                ..ReplicaStatus::default()
            })
            .0,
            failure: std::sync::Mutex::new(None),
        });
        let (stop, stopping) = watch::channel(false);
        let mut follower = Follower {
            shared: Arc::clone(&shared),
            js,
            stream,
            options,
            schema: replication::schema_fingerprint::<D>(),
            next_seq: 1,
            stopping,
        };
        follower.next_seq = follower::seq_after(&follower.stream, applied).await?;
        let task = tokio::spawn(follower.run());
        Ok(Self { shared, stop, task })
    }

    /// The tables as of the last applied commit: the primary's read API,
    /// read-only (every write is refused with
    /// [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused)).
    /// After a reload from a snapshot, a new handle: take one per unit of
    /// work rather than keeping one.
    pub fn db(&self) -> Arc<D> {
        self.shared.tables()
    }

    /// The last commit applied.
    pub fn applied_seq(&self) -> u64 {
        self.shared.status.borrow().applied
    }

    /// Where the replica is.
    pub fn status(&self) -> ReplicaStatus {
        self.shared.status.borrow().clone()
    }

    /// Waits until the replica has applied commit `commit` (or a later
    /// one): then [`db`](Self::db) reads every change the primary had made
    /// up to it — read-your-writes across machines for a client that wrote
    /// at `commit` on the primary.
    ///
    /// # Errors
    ///
    /// [`ReplicaError::Stopped`] when the replica stopped first
    /// ([`status`](Self::status) says why).
    pub async fn wait_for(&self, commit: u64) -> Result<(), ReplicaError> {
        let mut status = self.shared.status.subscribe();
        let reached = status
            .wait_for(|status| status.applied >= commit || status.stopped.is_some())
            .await
            .map_err(|_| ReplicaError::Stopped)?;
        if reached.applied >= commit {
            Ok(())
        } else {
            Err(ReplicaError::Stopped)
        }
    }

    /// Stops following (after the commit being applied).
    ///
    /// # Errors
    ///
    /// The error that had stopped the replica, if one had: a refused
    /// message ([`ReplicaError::Message`], [`ReplicaError::Schema`]), a
    /// commit that did not apply ([`ReplicaError::Diverged`]), a snapshot
    /// that could not be loaded.
    pub async fn stop(self) -> Result<(), ReplicaError> {
        self.stop_follower().await.1
    }

    async fn stop_follower(self) -> (Follower<D>, Result<(), ReplicaError>) {
        let _ = self.stop.send(true);
        let follower = match self.task.await {
            Ok(follower) => follower,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        };
        let failure = self
            .shared
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        (follower, failure.map_or(Ok(()), Err))
    }

    /// Makes this replica the primary: stops following, writes its tables
    /// as a new durable database in `dir` (empty) whose commits go on from
    /// the last one applied, claims the stream — a re-seed message
    /// published only if the stream's last message is the last one this
    /// replica applied, which fences the old primary: its next publish is
    /// refused — and starts publishing from the new database.
    ///
    /// The application must stop writing to the old primary (its
    /// publisher stops with [`PublishError::Fenced`](crate::PublishError::Fenced)),
    /// and send writes to the new one. Other replicas follow on without a
    /// reload.
    ///
    /// # Errors
    ///
    /// [`PromoteError::NotCaughtUp`] when the stream holds messages this
    /// replica had not applied (the old primary published since): nothing
    /// was claimed and `dir` is empty again; follow again and promote the
    /// new replica once it caught up; [`PromoteError::Replica`] when the replica had
    /// stopped on an error; [`PromoteError::Snapshot`] when the database
    /// cannot be written; [`PromoteError::Publish`].
    pub async fn promote(
        self,
        dir: &Path,
        options: Options,
        client: async_nats::Client,
        publisher: PublisherOptions,
    ) -> Result<(Arc<DurableDatabase<D>>, Publisher), PromoteError> {
        let (follower, stopped) = self.stop_follower().await;
        stopped?;
        let applied = follower.shared.status.borrow().applied;
        let tables = follower.shared.tables();
        let dir_owned = dir.to_owned();
        let db = tokio::task::spawn_blocking(move || {
            replication::create_promoted(&dir_owned, options, &*tables, applied)
        })
        .await
        .expect("promotion's writer does not panic")
        .map_err(SnapshotError::from)?;
        let db = Arc::new(db);
        let js = jetstream::new(client.clone());
        if let Err(error) = follower.claim(&js, db.id(), applied).await {
            // Never a primary: leave `dir` empty again, as it was.
            let _ = db.close().await;
            drop(db);
            let _ = std::fs::remove_dir_all(dir);
            let _ = std::fs::create_dir_all(dir);
            return Err(error);
        }
        let publisher = Publisher::start(Arc::clone(&db), client, publisher).await?;
        Ok((db, publisher))
    }
}

/// What [`ReplicaStatus::stopped`] says of a stop asked for.
const STOPPED: &str = "stopped";

/// Why a promotion failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromoteError {
    /// The stream holds messages after the last this replica applied.
    #[error(
        "the stream holds messages after {applied_seq}, the last this replica applied (its last is {stream_last})"
    )]
    NotCaughtUp {
        /// The stream sequence of the last message applied.
        applied_seq: u64,
        /// The stream's last sequence.
        stream_last: u64,
    },
    /// The replica had stopped on an error.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The new database could not be written.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Publishing could not start.
    #[error(transparent)]
    Publish(#[from] crate::PublishError),
}
