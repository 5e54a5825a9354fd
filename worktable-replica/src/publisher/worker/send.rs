//! Sending one message: retries while the server is away, and reading
//! the stream back when a publish is refused or found a duplicate.
//!
//! Depends on: the crate's `stream`, `wire`, `observe`.

use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use worktable_core::Database;
use worktable_core::storage::DatabaseTables;

use super::{Command, Feed, Outcome, Worker};
use crate::error::{PublishError, SnapshotError};
use crate::observe;
use crate::publisher::nats;
use crate::stream as stream_io;
use crate::wire;

impl<D: DatabaseTables + Database> Worker<D> {
    /// Publishes one message holding commits up to `last`, retrying until
    /// the stream acknowledges it or refuses it for another primary's.
    pub(super) async fn publish(
        &mut self,
        payload: Vec<u8>,
        id: String,
        last: u64,
    ) -> Result<Outcome, PublishError> {
        let payload = bytes::Bytes::from(payload);
        let mut delay = Duration::from_millis(20);
        loop {
            let message = PublishMessage::build()
                .payload(payload.clone())
                .message_id(&id)
                .expected_last_sequence(self.state.stream_seq);
            let acked = match self
                .js
                .send_publish(self.options.stream.subject.clone(), message)
                .await
            {
                Ok(ack) => ack.await,
                Err(error) => Err(error),
            };
            match acked {
                Ok(ack) if !ack.duplicate => {
                    self.advance(ack.sequence, last, payload.len());
                    return Ok(Outcome::Published);
                }
                // A message with this id is stored: ours, if its bytes are
                // (an earlier try whose acknowledgement was lost).
                Ok(ack) => return self.confirm_own(ack.sequence, &payload, last).await,
                Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {
                    let (_, seq) = self.last_seq().await?;
                    return self.confirm_own(seq, &payload, last).await;
                }
                Err(error) => {
                    // The server is away, or the ack was lost: the same
                    // message again, later.
                    observe::publish_retry(&self.options.stream.name, &error, delay);
                    if let Some(outcome) = self.wait_to_retry(&mut delay).await {
                        return Ok(outcome);
                    }
                }
            }
        }
    }

    /// The stream holds the message at `stream_seq`, with commits up to
    /// `last`.
    fn advance(&mut self, stream_seq: u64, last: u64, bytes: usize) {
        self.cadence.published(bytes);
        if self.reseeding {
            // A re-seed message: counted in the same update that shows it
            // published.
            self.state.reseeds += 1;
        }
        self.state.stream_seq = stream_seq;
        self.state.published = last;
        self.state.messages += 1;
        self.state.bytes += bytes as u64;
        self.header.prev = last;
        self.progress.send_replace(self.state);
        observe::published(&self.options.stream.name, stream_seq, last, bytes);
    }

    /// The stream, and its last sequence.
    async fn last_seq(&self) -> Result<(async_nats::jetstream::stream::Stream, u64), PublishError> {
        stream_io::last_sequence(&self.js, &self.options.stream.name)
            .await
            .map_err(|source| nats("stream info", source))
    }

    /// After a publish found the stream's last sequence moved (or its id
    /// stored): [`Outcome::Published`] if the stream's last message is
    /// `seq` and holds exactly `payload` (an earlier try of this one),
    /// [`Outcome::Resync`] if it is another message of this database's;
    /// otherwise another primary appended: fenced.
    async fn confirm_own(
        &mut self,
        seq: u64,
        payload: &[u8],
        last: u64,
    ) -> Result<Outcome, PublishError> {
        let (stream, stream_last) = self.last_seq().await?;
        if stream_last > self.state.stream_seq {
            let stored = stream
                .get_raw_message(stream_last)
                .await
                .map_err(|source| nats("read a stream message", source))?;
            if seq == stream_last && stored.payload.as_ref() == payload {
                self.advance(seq, last, payload.len());
                return Ok(Outcome::Published);
            }
            if wire::decode(&stored.payload)
                .is_ok_and(|message| message.origin == self.header.origin)
            {
                return Ok(Outcome::Resync);
            }
        }
        Err(PublishError::Fenced {
            stream: self.options.stream.name.clone(),
            expected: self.state.stream_seq,
            found: stream_last,
        })
    }

    /// Goes on from the stream's last message, as at the start.
    pub(super) async fn resync(&mut self) -> Result<Feed, PublishError> {
        let mut stream = self
            .js
            .get_stream(&self.options.stream.name)
            .await
            .map_err(|source| nats("stream", source))?;
        self.resume(&mut stream).await
    }

    /// Waits before a retry, answering commands meanwhile; `Some` when the
    /// message is to be given up (the log kept for it is past the limit,
    /// or the publisher is stopping).
    pub(super) async fn wait_to_retry(&mut self, delay: &mut Duration) -> Option<Outcome> {
        let sleep = tokio::time::sleep(*delay);
        *delay = (*delay * 2).min(Duration::from_secs(1));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                command = self.commands.recv() => match command {
                    Some(Command::Snapshot(reply)) => {
                        let _ = reply.send(Err(SnapshotError::Unavailable {
                            reason: "the publisher is waiting for the server",
                        }));
                    }
                    Some(Command::Stop) | None => return Some(Outcome::Stopped),
                },
            }
        }
        (self.log_bytes() > self.options.max_retained_log).then_some(Outcome::Abandoned)
    }

    /// Bytes of the database's log segments.
    fn log_bytes(&self) -> u64 {
        std::fs::read_dir(self.db.dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("log-"))
            .filter_map(|entry| entry.metadata().ok())
            .map(|meta| meta.len())
            .sum()
    }
}
