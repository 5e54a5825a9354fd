//! The following task: reads the stream in order, applies commits,
//! reloads from snapshots, and claims the stream for a promotion.
//!
//! Depends on: the crate's `apply`, `stream`, `wire`, `snapshot`,
//! `observe`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use tokio::sync::watch;
use worktable_core::Database;
use worktable_core::storage::DatabaseTables;
use worktable_persist::replication;

use super::{PromoteError, ReplicaOptions, STOPPED, Shared};
use crate::error::{NatsError, ReplicaError, SnapshotError};
use crate::observe;
use crate::snapshot::SnapshotStore;
use crate::stream as stream_io;
use crate::wire::{self, Body, Header};

/// The following task.
pub(super) struct Follower<D> {
    pub(super) shared: Arc<Shared<D>>,
    pub(super) js: jetstream::Context,
    pub(super) stream: stream::Stream,
    pub(super) options: ReplicaOptions,
    pub(super) schema: u64,
    /// The stream sequence to read next.
    pub(super) next_seq: u64,
    pub(super) stopping: watch::Receiver<bool>,
}

/// What a message asks of the follower.
enum Step {
    Next,
    /// Reload from a snapshot holding at least this commit.
    Reload(u64),
}

impl<D: DatabaseTables + Database> Follower<D> {
    pub(super) async fn run(mut self) -> Self {
        let reason = match self.follow().await {
            Ok(()) => STOPPED.to_owned(),
            Err(error) => {
                let reason = error.to_string();
                *self
                    .shared
                    .failure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
                reason
            }
        };
        self.shared
            .status
            .send_modify(|status| status.stopped = Some(reason));
        self
    }

    async fn follow(&mut self) -> Result<(), ReplicaError> {
        let mut delay = Duration::from_millis(20);
        loop {
            let messages = match self.consume().await {
                Ok(messages) => messages,
                Err(_) => {
                    if self.pause(&mut delay).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            tokio::pin!(messages);
            let connects = self.connects();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut quiet = 0;
            loop {
                let next = tokio::select! {
                    _ = self.stopping.changed() => return Ok(()),
                    next = messages.next() => next,
                    _ = tick.tick() => {
                        quiet += 1;
                        if self.consumer_lost(connects, quiet).await {
                            break;
                        }
                        continue;
                    }
                };
                let Some(Ok(message)) = next else {
                    break;
                };
                quiet = 0;
                delay = Duration::from_millis(20);
                match self.handle(&message).await? {
                    Step::Next => {}
                    Step::Reload(needed) => {
                        self.reload(needed).await?;
                        break;
                    }
                }
            }
            if self.pause(&mut delay).await {
                return Ok(());
            }
        }
    }

    /// Whether the consumer is to be replaced, checked every tick: the
    /// client connected again (the server restarted, say: it may have
    /// lost the consumer), or after a second without a message the stream
    /// holds messages past the replica's place (the server that held the
    /// consumer is gone; the ordered consumer's own heartbeat check takes
    /// far longer to notice).
    async fn consumer_lost(&self, connects: u64, quiet_ticks: u32) -> bool {
        if self.connects() != connects {
            return true;
        }
        if !quiet_ticks.is_multiple_of(10) {
            return false;
        }
        let mut stream = self.stream.clone();
        matches!(stream_io::bounds(&mut stream).await, Ok((_, last)) if last >= self.next_seq)
    }

    /// How many times the client has connected.
    fn connects(&self) -> u64 {
        self.js
            .client()
            .statistics()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sleeps before reconnecting; `true` when asked to stop meanwhile.
    async fn pause(&mut self, delay: &mut Duration) -> bool {
        let wait = *delay;
        *delay = (*delay * 2).min(Duration::from_secs(1));
        tokio::select! {
            _ = self.stopping.changed() => true,
            () = tokio::time::sleep(wait) => *self.stopping.borrow(),
        }
    }

    async fn consume(&self) -> Result<consumer::pull::Ordered, NatsError> {
        let consumer = self
            .stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.options.stream.subject.clone(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: self.next_seq,
                },
                ..Default::default()
            })
            .await?;
        Ok(consumer.messages().await?)
    }

    async fn handle(&mut self, message: &jetstream::Message) -> Result<Step, ReplicaError> {
        let info = message
            .info()
            .map_err(|source| nats("message info", source))?;
        let (stream_seq, pending) = (info.stream_sequence, info.pending);
        let decoded = wire::decode(&message.payload)
            .map_err(|source| ReplicaError::Message { stream_seq, source })?;
        if decoded.schema != self.schema {
            return Err(ReplicaError::Schema {
                stream_seq,
                expected: self.schema,
                found: decoded.schema,
            });
        }
        let mut applied = self.shared.status.borrow().applied;
        match &decoded.body {
            Body::Reseed if decoded.last > applied => return Ok(Step::Reload(decoded.last)),
            Body::Reseed => {}
            // Commits between the last applied and the message's first are
            // not on the stream (trimmed, or never published).
            Body::Commits(_) if decoded.prev > applied => return Ok(Step::Reload(decoded.prev)),
            Body::Commits(commits) => {
                let tables = self.shared.tables();
                for commit in commits {
                    if commit.number <= applied {
                        continue;
                    }
                    let first = commit
                        .changes
                        .first()
                        .map_or(commit.number, |change| change.seq);
                    if first != applied + 1 {
                        // Commits between are not on the stream.
                        return Ok(Step::Reload(first - 1));
                    }
                    crate::apply::apply(&*tables, commit).await?;
                    applied = commit.number;
                    self.shared
                        .status
                        .send_modify(|status| status.applied = applied);
                }
            }
        }
        self.next_seq = stream_seq + 1;
        let lag = Duration::from_micros(wire::now_micros().saturating_sub(decoded.sent_at));
        self.shared.status.send_modify(|status| {
            status.stream_seq = stream_seq;
            status.pending_messages = pending;
            status.lag = lag;
        });
        observe::applied(&self.options.stream.name, applied, stream_seq, pending, lag);
        Ok(Step::Next)
    }

    /// Replaces the tables with a snapshot holding `needed` or later, and
    /// goes on from the stream message after it.
    async fn reload(&mut self, needed: u64) -> Result<(), ReplicaError> {
        let store = self
            .options
            .snapshots
            .clone()
            .ok_or(SnapshotError::Missing { needed })?;
        let deadline = tokio::time::Instant::now() + self.options.snapshot_wait;
        let (tables, commit) = retry_until(deadline, || async {
            load_latest::<D>(&store, needed)
                .await?
                .ok_or(SnapshotError::Missing { needed })
        })
        .await?;
        self.shared.replace_tables(tables);
        // The server may be away a moment: the search is retried.
        let stream = &self.stream;
        self.next_seq = retry_until(deadline, || seq_after(stream, commit)).await?;
        let stream_seq = self.next_seq.saturating_sub(1);
        self.shared.status.send_modify(|status| {
            status.applied = commit;
            status.stream_seq = stream_seq;
            status.reseeds += 1;
        });
        observe::reloaded(&self.options.stream.name, needed, commit);
        Ok(())
    }

    /// Publishes a re-seed message at `applied` with origin `origin`, only
    /// if the stream's last message is the last one applied.
    /// Through `js` (the promoting caller's connection, which may differ
    /// from the follower's).
    pub(super) async fn claim(
        &self,
        js: &jetstream::Context,
        origin: u128,
        applied: u64,
    ) -> Result<(), PromoteError> {
        let applied_seq = self.next_seq.saturating_sub(1);
        let header = Header {
            origin,
            schema: self.schema,
            prev: applied,
        };
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(wire::encode_reseed(header, applied).into())
            .message_id(wire::message_id(origin, true, applied))
            .expected_last_sequence(applied_seq);
        let acked = match js
            .send_publish(self.options.stream.subject.clone(), message)
            .await
        {
            Ok(ack) => ack.await,
            Err(error) => Err(error),
        };
        match acked {
            Ok(_) => Ok(()),
            Err(error)
                if error.kind()
                    == async_nats::jetstream::context::PublishErrorKind::WrongLastSequence =>
            {
                let (_, stream_last) = stream_io::last_sequence(js, &self.options.stream.name)
                    .await
                    .map_err(|source| nats("stream info", source))?;
                Err(PromoteError::NotCaughtUp {
                    applied_seq,
                    stream_last,
                })
            }
            Err(error) => Err(nats("claim the stream", error).into()),
        }
    }
}

/// The first stream sequence whose message may hold a commit after
/// `commit`: a binary search over the stream (messages hold commits
/// in increasing order).
pub(super) async fn seq_after(stream: &stream::Stream, commit: u64) -> Result<u64, ReplicaError> {
    let mut stream = stream.clone();
    let (mut low, mut high) = stream_io::bounds(&mut stream)
        .await
        .map_err(|source| nats("stream info", source))?;
    if commit == 0 || high < low {
        return Ok(low);
    }
    high += 1;
    while low < high {
        let mid = low + (high - low) / 2;
        match stream_io::read_at(&stream, mid).await {
            Ok(Ok(message)) if message.last <= commit => low = mid + 1,
            Ok(Ok(_)) => high = mid,
            // A removed or foreign message: read from it on, and let
            // the numbering decide.
            _ => return Ok(low),
        }
    }
    Ok(low)
}

/// `attempt` until it succeeds or `deadline` passes (then its last error).
pub(super) async fn retry_until<T, E, F: std::future::Future<Output = Result<T, E>>>(
    deadline: tokio::time::Instant,
    mut attempt: impl FnMut() -> F,
) -> Result<T, E> {
    let mut delay = Duration::from_millis(50);
    loop {
        match attempt().await {
            Err(_) if tokio::time::Instant::now() + delay < deadline => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            result => return result,
        }
    }
}

/// The latest snapshot, if it holds commit `needed` or a later one, read
/// into a follower's tables, and its commit. Listed again on every call:
/// a snapshot removed while it was read is replaced by a newer one.
pub(super) async fn load_latest<D: DatabaseTables>(
    store: &SnapshotStore,
    needed: u64,
) -> Result<Option<(D, u64)>, SnapshotError> {
    match store.latest().await? {
        Some(commit) if commit >= needed => {
            Ok(Some((load_snapshot::<D>(store, commit).await?, commit)))
        }
        _ => Ok(None),
    }
}

/// Downloads the snapshot at `commit` and reads it into a follower's
/// tables.
async fn load_snapshot<D: DatabaseTables>(
    store: &SnapshotStore,
    commit: u64,
) -> Result<D, SnapshotError> {
    let dir = tempfile::tempdir().map_err(|source| SnapshotError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    store.fetch(commit, dir.path()).await?;
    let tables = tokio::task::spawn_blocking(move || {
        replication::open_follower::<D>(dir.path()).map_err(SnapshotError::from)
    })
    .await
    .expect("reading a snapshot does not panic")?;
    Ok(tables)
}

pub(super) fn nats(op: &'static str, source: impl Into<NatsError>) -> ReplicaError {
    ReplicaError::Nats {
        op,
        source: source.into(),
    }
}
