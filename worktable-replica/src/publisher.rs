//! The publisher: a durable database's confirmed commits, in order, to a
//! JetStream stream; snapshots for new replicas.
//!
//! # Protocol
//!
//! The publisher's *position* is the stream's last sequence it knows and
//! the last commit on the stream. Each message carries commits numbered on
//! from that commit (see `wire`), the id `<database id>-c<last commit>`
//! (`Nats-Msg-Id`: the stream stores a retried publish once) and the
//! condition that the stream's last sequence is the position's
//! (`Nats-Expected-Last-Sequence`). So:
//!
//! - **One primary.** A publish lands only on the stream as this publisher
//!   last saw it. Another primary's message in between makes every later
//!   publish of this one fail: it reads the stream's last message, finds
//!   it is not its own, and stops with [`PublishError::Fenced`]. The
//!   history on the stream cannot fork.
//! - **Retries are safe.** A publish whose acknowledgement was lost is
//!   retried with the same id and condition: the stream either drops it as
//!   a duplicate or refuses it (the last sequence moved: to our own
//!   message, which the publisher then recognises and goes on).
//! - **Only durable commits.** Commits come from the database's confirmed
//!   stream ([`DurableDatabase::subscribe_confirmed`]), read back from the
//!   synced log: a replica is never ahead of what the primary recovers.
//! - **Resuming.** On start, the publisher reads the stream's last message
//!   and reads its database's log from the commit after it. While it runs,
//!   its place in the log keeps the log's segments from being removed by
//!   checkpoints (the log grows while the server is away), up to
//!   [`PublisherOptions::max_retained_log`] bytes; past that, or when the
//!   log no longer holds the commit after the stream's last (a restart
//!   after a checkpoint removed it), the publisher stores a snapshot at a
//!   commit `C` and publishes a *re-seed* message: replicas behind `C`
//!   reload from a snapshot.
//!
//! Depends on: `stream`, `wire`, `snapshot`, `error`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use tokio::sync::{mpsc, oneshot, watch};
use worktable_core::Database;
use worktable_core::storage::DatabaseTables;
use worktable_persist::{DurableDatabase, replication};

mod cadence;
mod worker;

use cadence::{Cadence, Limits};
use worker::Worker;

use crate::error::{PublishError, SnapshotError};
use crate::snapshot::{SnapshotInfo, SnapshotStore};
use crate::stream::StreamConfig;
use crate::wire::Header;

/// How a [`Publisher`] runs.
#[derive(Clone, Debug)]
pub struct PublisherOptions {
    stream: StreamConfig,
    snapshots: Option<SnapshotStore>,
    snapshot_every: Option<u64>,
    keep_snapshots: usize,
    max_batch_bytes: usize,
    max_retained_log: u64,
    ack_timeout: Duration,
}

impl PublisherOptions {
    /// Publishes to `stream`; no snapshots (a replica then needs the
    /// stream to start at the database's first commit), batches of at most
    /// 512 KiB, at most 1 GiB of log kept for the stream.
    pub fn new(stream: StreamConfig) -> Self {
        Self {
            stream,
            snapshots: None,
            snapshot_every: None,
            keep_snapshots: 2,
            max_batch_bytes: 512 << 10,
            max_retained_log: 1 << 30,
            ack_timeout: Duration::from_secs(2),
        }
    }

    /// How long a publish waits for the stream's acknowledgement before it
    /// is sent again (default 2 s; a retry is never stored twice).
    #[must_use]
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// Stores snapshots in `store`: when the stream cannot go on from the
    /// log (see the module docs), every [`snapshot_every`](Self::snapshot_every)
    /// changes, and on [`Publisher::snapshot`].
    #[must_use]
    pub fn snapshots(mut self, store: SnapshotStore) -> Self {
        self.snapshots = Some(store);
        self
    }

    /// Takes a snapshot whenever `changes` commits numbers were published
    /// since the last one.
    #[must_use]
    pub fn snapshot_every(mut self, changes: u64) -> Self {
        self.snapshot_every = Some(changes.max(1));
        self
    }

    /// Keeps the `count` latest snapshots, removing older ones (default 2).
    #[must_use]
    pub fn keep_snapshots(mut self, count: usize) -> Self {
        self.keep_snapshots = count.max(1);
        self
    }

    /// The most bytes of commits in one message (bounded by the server's
    /// `max_payload`).
    #[must_use]
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes.max(1024);
        self
    }

    /// The most bytes of log kept for commits the stream has not
    /// acknowledged (the server away); past it, the publisher lets the log
    /// go and re-seeds replicas from a snapshot when the server is back.
    #[must_use]
    pub fn max_retained_log(mut self, bytes: u64) -> Self {
        self.max_retained_log = bytes;
        self
    }
}

/// Where the publisher is, as last acknowledged by the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublisherState {
    /// The last commit on the stream.
    pub published: u64,
    /// The stream's sequence of the last message.
    pub stream_seq: u64,
    /// Messages published by this publisher.
    pub messages: u64,
    /// Bytes of those messages.
    pub bytes: u64,
    /// Re-seed messages published (the stream could not go on from the
    /// log).
    pub reseeds: u64,
    /// The commit of the last snapshot this publisher stored.
    pub last_snapshot: Option<u64>,
    /// Periodic snapshots that failed (the store away, say); each is tried
    /// again after the next commit.
    pub snapshot_failures: u64,
    /// Whether the publisher has stopped (see [`Publisher::stop`]).
    pub stopped: bool,
}

pub(crate) enum Command {
    Snapshot(oneshot::Sender<Result<SnapshotInfo, SnapshotError>>),
    Stop,
}

/// Publishes a durable database's confirmed commits to a JetStream stream,
/// in a task of the current tokio runtime, until stopped or fenced.
///
/// ```
/// use std::sync::Arc;
/// use worktable_core::prelude::*;
/// use worktable_persist::{Durability, DurableDatabase, Options};
/// use worktable_replica::local_server::LocalServer;
/// use worktable_replica::{Publisher, PublisherOptions, SnapshotStore, StreamConfig};
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
///     let jetstream = async_nats::jetstream::new(client.clone());
///     let snapshots = SnapshotStore::jetstream(&jetstream, "notes-snapshots", 1).await?;
///
///     let dir = tempfile::tempdir()?;
///     let db = Arc::new(DurableDatabase::<Notes>::open(
///         dir.path(),
///         Options::durability(Durability::Sync),
///     )?);
///     let publisher = Publisher::start(
///         Arc::clone(&db),
///         client,
///         PublisherOptions::new(StreamConfig::new("notes")).snapshots(snapshots.clone()),
///     )
///     .await?;
///     db.notes.insert(Note { id: 1, text: "hello".into() }).await?;
///     publisher.wait_published(db.last_commit()).await?;
///     // For replicas that start later: a snapshot at the commit published.
///     let snapshot = publisher.snapshot().await?;
///     assert_eq!(snapshots.latest().await?, Some(snapshot.commit));
///     publisher.stop().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Publisher {
    state: watch::Receiver<PublisherState>,
    commands: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<Result<(), PublishError>>,
}

impl Publisher {
    /// Reads the stream's last message (creating the stream if missing),
    /// decides where to go on from, and starts publishing.
    ///
    /// # Errors
    ///
    /// [`PublishError::Fenced`] when the stream's last message is another
    /// database's; [`PublishError::StreamAhead`] when the stream holds
    /// commits this database does not have; [`PublishError::Message`] for
    /// a foreign last message; [`PublishError::Nats`] when the stream
    /// cannot be reached; [`PublishError::Snapshot`] when the stream
    /// cannot go on from the log and no snapshot can be stored.
    pub async fn start<D: DatabaseTables + Database>(
        db: Arc<DurableDatabase<D>>,
        client: async_nats::Client,
        options: PublisherOptions,
    ) -> Result<Self, PublishError> {
        let js = jetstream::ContextBuilder::new()
            .timeout(options.ack_timeout)
            .build(client.clone());
        let (commands, receiver) = mpsc::channel(8);
        let mut stream = options
            .stream
            .ensure(&js)
            .await
            .map_err(|source| nats("stream", source))?;
        let cadence = Cadence::new(
            options.snapshot_every,
            Limits::of(&stream.cached_info().config),
        );
        let header = Header {
            origin: db.id(),
            schema: replication::schema_fingerprint::<D>(),
            prev: 0,
        };
        let max_payload = client.server_info().max_payload;
        let mut worker = Worker::new(db, js, options, header, max_payload, cadence, receiver);
        let feed = worker.resume(&mut stream).await?;
        let state = worker.subscribe();
        let task = tokio::spawn(worker.run(feed));
        Ok(Self {
            state,
            commands,
            task,
        })
    }

    /// Where the publisher is.
    pub fn state(&self) -> PublisherState {
        *self.state.borrow()
    }

    /// The last commit on the stream.
    pub fn published(&self) -> u64 {
        self.state.borrow().published
    }

    /// Waits until the stream holds commit `commit` (or a later one).
    ///
    /// # Errors
    ///
    /// [`PublishError`]-free: `Err(())`-like [`PublisherStopped`] when the
    /// publisher stopped first (see [`stop`](Self::stop) for why).
    pub async fn wait_published(&self, commit: u64) -> Result<(), PublisherStopped> {
        let mut state = self.state.clone();
        state
            .wait_for(|state| state.published >= commit || state.stopped)
            .await
            .map_err(|_| PublisherStopped)
            .and_then(|state| {
                if state.published >= commit {
                    Ok(())
                } else {
                    Err(PublisherStopped)
                }
            })
    }

    /// Takes a snapshot now and stores it.
    ///
    /// # Errors
    ///
    /// [`SnapshotError`]; [`SnapshotError::Unavailable`] when no store was
    /// configured, the publisher stopped, or it waits for the server.
    pub async fn snapshot(&self) -> Result<SnapshotInfo, SnapshotError> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Snapshot(reply)).await.is_err() {
            return Err(STOPPED);
        }
        answer.await.unwrap_or(Err(STOPPED))
    }

    /// Stops publishing (after the message in flight) and returns why it
    /// had stopped already, if it had: [`PublishError::Fenced`] and the
    /// other errors of the publishing task.
    ///
    /// # Errors
    ///
    /// The error that stopped the task.
    pub async fn stop(self) -> Result<(), PublishError> {
        let _ = self.commands.send(Command::Stop).await;
        match self.task.await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}

const STOPPED: SnapshotError = SnapshotError::Unavailable {
    reason: "the publisher stopped",
};

/// The publisher stopped before the stream held the commit waited for.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the publisher stopped (see Publisher::stop for why)")]
pub struct PublisherStopped;

pub(crate) fn nats(op: &'static str, source: impl Into<crate::error::NatsError>) -> PublishError {
    PublishError::Nats {
        op,
        source: source.into(),
    }
}
