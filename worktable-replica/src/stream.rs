//! The JetStream stream the commits go to: its settings, creating it, and
//! reading its last message (where a publisher resumes).
//!
//! Depends on: `wire`, `error`.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::error::{MessageError, NatsError};
use crate::wire::{self, Message};

/// The stream a database's commits are published to, and how it is
/// created when missing. One stream per database: the publisher's
/// fencing compares the stream's last sequence, so nothing else may
/// publish to it.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    pub(crate) name: String,
    pub(crate) subject: String,
    pub(crate) replicas: usize,
    pub(crate) max_messages: i64,
    pub(crate) max_bytes: i64,
    pub(crate) duplicate_window: Duration,
}

impl StreamConfig {
    /// The stream `name` (letters, digits, `-`, `_`), on the subject
    /// `worktable.<name>`; created with one copy (see
    /// [`replicas`](Self::replicas)), no limits, file storage and a
    /// two-minute de-duplication window.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            subject: format!("worktable.{name}"),
            replicas: 1,
            max_messages: -1,
            max_bytes: -1,
            duplicate_window: Duration::from_secs(120),
        }
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes on `subject` instead of `worktable.<name>`.
    #[must_use]
    pub fn subject(mut self, subject: &str) -> Self {
        subject.clone_into(&mut self.subject);
        self
    }

    /// Copies of the stream a JetStream cluster keeps (1 to 5).
    #[must_use]
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.clamp(1, 5);
        self
    }

    /// Keeps at most `messages` messages, the oldest removed first; a
    /// replica left behind the oldest re-seeds from a snapshot.
    #[must_use]
    pub fn max_messages(mut self, messages: i64) -> Self {
        self.max_messages = messages;
        self
    }

    /// Keeps at most `bytes` bytes of messages, the oldest removed first.
    #[must_use]
    pub fn max_bytes(mut self, bytes: i64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The window in which the stream drops a message whose id it has
    /// stored (a retried publish). Retries happen within seconds; past the
    /// window, the expected-last-sequence condition still refuses a
    /// publish that landed before.
    #[must_use]
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// The stream, created when missing.
    pub(crate) async fn ensure(
        &self,
        js: &jetstream::Context,
    ) -> Result<stream::Stream, NatsError> {
        Ok(js
            .get_or_create_stream(stream::Config {
                name: self.name.clone(),
                subjects: vec![self.subject.clone()],
                num_replicas: self.replicas,
                max_messages: self.max_messages,
                max_bytes: self.max_bytes,
                duplicate_window: self.duplicate_window,
                allow_direct: true,
                ..Default::default()
            })
            .await?)
    }
}

/// The stream's bounds: first and last sequence (0 and 0 when empty).
pub(crate) async fn bounds(stream: &mut stream::Stream) -> Result<(u64, u64), NatsError> {
    let info = stream.info().await?;
    if info.state.messages == 0 {
        Ok((info.state.last_sequence + 1, info.state.last_sequence))
    } else {
        Ok((info.state.first_sequence, info.state.last_sequence))
    }
}

/// The stream `name` and its last sequence (0 when it never held one).
pub(crate) async fn last_sequence(
    js: &jetstream::Context,
    name: &str,
) -> Result<(stream::Stream, u64), NatsError> {
    let mut stream = js.get_stream(name).await?;
    let (_, last) = bounds(&mut stream).await?;
    Ok((stream, last))
}

/// The message at `seq`, decoded.
pub(crate) async fn read_at(
    stream: &stream::Stream,
    seq: u64,
) -> Result<Result<Message, MessageError>, NatsError> {
    let message = stream.get_raw_message(seq).await?;
    Ok(wire::decode(&message.payload))
}
