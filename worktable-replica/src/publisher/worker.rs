//! The publishing task: where to resume, batching, snapshots and
//! re-seeds. Sending one message and reading the stream back after a
//! refusal are in `send`.
//!
//! Depends on: `cadence`, and the crate's `stream`, `wire`, `snapshot`.

mod send;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};
use worktable_core::Database;
use worktable_core::storage::DatabaseTables;
use worktable_persist::{ConfirmedCommit, ConfirmedCommits, DurableDatabase};

use super::cadence::Cadence;
use super::{Command, PublisherOptions, PublisherState, nats};
use crate::error::{PublishError, SnapshotError};
use crate::snapshot::SnapshotInfo;
use crate::stream as stream_io;
use crate::wire::{self, Header};

/// Where the next commits come from.
pub(super) enum Feed {
    Log(Box<ConfirmedCommits>),
    /// The log cannot go on from the stream's last commit: publish a
    /// snapshot and a re-seed message first.
    Reseed,
}

pub(super) struct Worker<D: DatabaseTables> {
    db: Arc<DurableDatabase<D>>,
    js: jetstream::Context,
    options: PublisherOptions,
    header: Header,
    max_payload: usize,
    state: PublisherState,
    progress: watch::Sender<PublisherState>,
    commands: mpsc::Receiver<Command>,
    /// Set while a re-seed message is being published.
    reseeding: bool,
    cadence: Cadence,
}

/// How a publish ended, short of an error.
enum Outcome {
    /// The stream holds the message.
    Published,
    /// The server stayed away until the log kept for it passed the limit:
    /// the message was given up, the feed must re-seed.
    Abandoned,
    /// [`Publisher::stop`] was called meanwhile.
    Stopped,
    /// The stream's last message is another of this publisher's (one
    /// given up whose publish had landed): go on from it.
    Resync,
}

impl<D: DatabaseTables + Database> Worker<D> {
    pub(super) fn new(
        db: Arc<DurableDatabase<D>>,
        js: jetstream::Context,
        options: PublisherOptions,
        header: Header,
        max_payload: usize,
        cadence: Cadence,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        Self {
            db,
            js,
            options,
            header,
            max_payload,
            state: PublisherState::default(),
            progress: watch::channel(PublisherState::default()).0,
            commands,
            reseeding: false,
            cadence,
        }
    }

    /// Where the publisher is, as it moves.
    pub(super) fn subscribe(&self) -> watch::Receiver<PublisherState> {
        self.progress.subscribe()
    }

    /// Learns the stream's last message and where the log goes on.
    pub(super) async fn resume(
        &mut self,
        stream: &mut stream::Stream,
    ) -> Result<Feed, PublishError> {
        let (first, last_seq) = stream_io::bounds(stream)
            .await
            .map_err(|source| nats("stream info", source))?;
        // An empty stream may have held messages (purged): its last
        // sequence is still the one the next publish must expect.
        self.state.stream_seq = last_seq;
        if last_seq < first {
            return Ok(self.feed_after(0));
        }
        let (seq, message) = (
            last_seq,
            stream_io::read_at(stream, last_seq)
                .await
                .map_err(|source| nats("read the stream's last message", source))?,
        );
        let message = message.map_err(|source| PublishError::Message {
            stream: self.options.stream.name.clone(),
            source,
        })?;
        if message.origin != self.header.origin {
            return Err(PublishError::Fenced {
                stream: self.options.stream.name.clone(),
                expected: 0,
                found: seq,
            });
        }
        let database_last = self.db.last_commit();
        if message.last > database_last {
            return Err(PublishError::StreamAhead {
                stream: self.options.stream.name.clone(),
                stream_last: message.last,
                database_last,
            });
        }
        self.check_same_history(&message).await?;
        self.state.stream_seq = seq;
        self.state.published = message.last;
        self.header.prev = message.last;
        self.progress.send_replace(self.state);
        Ok(self.feed_after(message.last))
    }

    /// The commits of the stream's last message are this database's own
    /// (a copy of the database opened as a second primary, with the same
    /// id, may have made others under the same numbers).
    async fn check_same_history(&self, message: &wire::Message) -> Result<(), PublishError> {
        let wire::Body::Commits(stream_commits) = &message.body else {
            return Ok(());
        };
        // The log may no longer hold them: the stream then re-seeds.
        let Ok(mut ours) = self.db.subscribe_confirmed(message.prev) else {
            return Ok(());
        };
        for theirs in stream_commits {
            let next = tokio::time::timeout(Duration::from_secs(10), ours.next()).await;
            match next {
                Ok(Some(Ok(commit))) if commit == *theirs => {}
                Ok(Some(Err(_))) => return Ok(()),
                _ => {
                    return Err(PublishError::Forked {
                        stream: self.options.stream.name.clone(),
                        commit: theirs.number,
                    });
                }
            }
        }
        Ok(())
    }

    fn feed_after(&self, commit: u64) -> Feed {
        match self.db.subscribe_confirmed(commit) {
            Ok(commits) => Feed::Log(Box::new(commits)),
            Err(_) => Feed::Reseed,
        }
    }

    pub(super) async fn run(mut self, mut feed: Feed) -> Result<(), PublishError> {
        let result = self.publish_all(&mut feed).await;
        self.state.stopped = true;
        self.progress.send_replace(self.state);
        result
    }

    async fn publish_all(&mut self, feed: &mut Feed) -> Result<(), PublishError> {
        loop {
            let commits = match feed {
                Feed::Reseed => match self.reseed().await? {
                    Some(next) => {
                        *feed = next;
                        continue;
                    }
                    None => return Ok(()),
                },
                Feed::Log(commits) => commits,
            };
            let next = tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Snapshot(reply)) => {
                        let _ = reply.send(self.snapshot().await);
                        continue;
                    }
                    Some(Command::Stop) | None => return Ok(()),
                },
                next = commits.next() => next,
            };
            // An error or the end: the log goes on with rows not in it (a
            // bulk load), or cannot be read. Re-seed.
            let Some(Ok(first)) = next else {
                *feed = Feed::Reseed;
                continue;
            };
            let (batch, broken) = self.gather(first, commits);
            match self.publish_commits(&batch).await? {
                Outcome::Published if broken => *feed = Feed::Reseed,
                Outcome::Published => self.snapshot_if_due().await,
                Outcome::Abandoned => *feed = Feed::Reseed,
                Outcome::Resync => *feed = self.resync().await?,
                Outcome::Stopped => return Ok(()),
            }
        }
    }

    /// `first` and the commits ready after it, up to the batch size.
    /// Returns whether the feed broke (its next item was an error).
    fn gather(
        &self,
        first: ConfirmedCommit,
        commits: &mut ConfirmedCommits,
    ) -> (Vec<ConfirmedCommit>, bool) {
        let limit = self.batch_limit();
        let mut size = encoded_size(&first);
        let mut batch = vec![first];
        while size < limit {
            match commits.next().now_or_never() {
                Some(Some(Ok(commit))) => {
                    size += encoded_size(&commit);
                    batch.push(commit);
                }
                Some(Some(Err(_)) | None) => return (batch, true),
                None => break,
            }
        }
        (batch, false)
    }

    fn batch_limit(&self) -> usize {
        self.options.max_batch_bytes.min(self.max_payload / 2)
    }

    /// Publishes `batch`, in as many messages as the size limit needs.
    async fn publish_commits(
        &mut self,
        batch: &[ConfirmedCommit],
    ) -> Result<Outcome, PublishError> {
        let limit = self.batch_limit();
        let mut start = 0;
        while start < batch.len() {
            let mut end = start + 1;
            let mut size = encoded_size(&batch[start]);
            while end < batch.len() && size + encoded_size(&batch[end]) <= limit {
                size += encoded_size(&batch[end]);
                end += 1;
            }
            let payload = wire::encode_commits(self.header, &batch[start..end]);
            let last = batch[end - 1].number;
            if payload.len() + 256 > self.max_payload {
                return Err(PublishError::CommitTooLarge {
                    number: last,
                    bytes: payload.len(),
                    max: self.max_payload,
                });
            }
            let id = wire::message_id(self.header.origin, false, last);
            match self.publish(payload, id, last).await? {
                Outcome::Published => start = end,
                other => return Ok(other),
            }
        }
        Ok(Outcome::Published)
    }

    /// Stores a snapshot at `C` and publishes a re-seed message: the
    /// stream goes on after `C`. Retries while the store is away; `None`
    /// when stopped meanwhile.
    async fn reseed(&mut self) -> Result<Option<Feed>, PublishError> {
        let mut delay = Duration::from_millis(20);
        let info = loop {
            match self.snapshot().await {
                Ok(info) => break info,
                Err(SnapshotError::Store { .. }) => {
                    if let Some(Outcome::Stopped) = self.wait_to_retry(&mut delay).await {
                        return Ok(None);
                    }
                }
                Err(error) => return Err(error.into()),
            }
        };
        let payload = wire::encode_reseed(self.header, info.commit);
        let id = wire::message_id(self.header.origin, true, info.commit);
        self.reseeding = true;
        let outcome = self.publish(payload, id, info.commit).await;
        self.reseeding = false;
        match outcome? {
            Outcome::Published => Ok(Some(self.feed_after(info.commit))),
            // Try again with a newer snapshot.
            Outcome::Abandoned => Ok(Some(Feed::Reseed)),
            Outcome::Resync => self.resync().await.map(Some),
            Outcome::Stopped => Ok(None),
        }
    }

    async fn snapshot(&mut self) -> Result<SnapshotInfo, SnapshotError> {
        let store = self
            .options
            .snapshots
            .clone()
            .ok_or(SnapshotError::Unavailable {
                reason: "no snapshot store was configured",
            })?;
        let info = store.put(&self.db).await?;
        self.cadence.snapshot(info.commit);
        store.prune(self.options.keep_snapshots).await?;
        self.state.last_snapshot = Some(info.commit);
        self.progress.send_replace(self.state);
        Ok(info)
    }

    /// Takes a snapshot when one is due (see `cadence`). A failure does not
    /// stop the publisher: it is counted, and the next message tries again.
    async fn snapshot_if_due(&mut self) {
        if self.options.snapshots.is_none() || !self.cadence.due(self.state.published) {
            return;
        }
        if self.snapshot().await.is_err() {
            self.state.snapshot_failures += 1;
            self.progress.send_replace(self.state);
        }
    }
}

/// About how many bytes `commit` takes in a message.
fn encoded_size(commit: &ConfirmedCommit) -> usize {
    commit
        .changes
        .iter()
        .map(|change| {
            48 + change.before.as_ref().map_or(0, Vec::len)
                + change.after.as_ref().map_or(0, Vec::len)
        })
        .sum::<usize>()
        + 16
}
