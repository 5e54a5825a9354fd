//! When the publisher takes its next snapshot: every N commit numbers when
//! asked, and often enough that the stream's own limits never remove a
//! message a replica needs before a snapshot covers it.
//!
//! A stream that keeps at most `M` messages (or `B` bytes, or messages of
//! age `A`) removes a message only once `M` newer ones are stored. With a
//! snapshot taken after every `M / 2` messages (`B / 2` bytes, `A / 2` of
//! time), the commits of any removed message are in a snapshot newer than
//! it, stored before the message was removed: a replica left behind the
//! stream's oldest message always finds a snapshot to reload from.
//!
//! Depends on: nothing else in the crate.

use std::time::{Duration, Instant};

/// The limits of the stream, as its configuration says (`None`: none).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Limits {
    pub(crate) messages: Option<u64>,
    pub(crate) bytes: Option<u64>,
    pub(crate) age: Option<Duration>,
}

impl Limits {
    /// From a stream's configuration: limits of 0 or below mean none.
    pub(crate) fn of(config: &async_nats::jetstream::stream::Config) -> Self {
        let positive = |limit: i64| u64::try_from(limit).ok().filter(|&limit| limit > 0);
        Self {
            messages: positive(config.max_messages),
            bytes: positive(config.max_bytes),
            age: Some(config.max_age).filter(|age| !age.is_zero()),
        }
    }
}

/// Counts what was published since the last snapshot.
#[derive(Debug)]
pub(crate) struct Cadence {
    every: Option<u64>,
    limits: Limits,
    /// The commit of the last snapshot (0: none yet).
    commit: u64,
    messages: u64,
    bytes: u64,
    at: Instant,
}

impl Cadence {
    pub(crate) fn new(every: Option<u64>, limits: Limits) -> Self {
        Self {
            every,
            limits,
            commit: 0,
            messages: 0,
            bytes: 0,
            at: Instant::now(),
        }
    }

    /// A message of `bytes` was published.
    pub(crate) fn published(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes as u64;
    }

    /// A snapshot at `commit` was stored.
    pub(crate) fn snapshot(&mut self, commit: u64) {
        *self = Self {
            commit,
            ..Self::new(self.every, self.limits)
        };
    }

    /// Whether a snapshot is due, the stream's last commit being `published`.
    pub(crate) fn due(&self, published: u64) -> bool {
        let every = self
            .every
            .is_some_and(|every| published >= self.commit + every);
        let messages = self
            .limits
            .messages
            .is_some_and(|limit| self.messages >= (limit / 2).max(1));
        let bytes = self
            .limits
            .bytes
            .is_some_and(|limit| self.bytes >= (limit / 2).max(1));
        let age = self
            .limits
            .age
            .is_some_and(|limit| self.messages > 0 && self.at.elapsed() >= limit / 2);
        every || messages || bytes || age
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_n_commits() {
        let mut cadence = Cadence::new(Some(100), Limits::default());
        assert!(!cadence.due(99));
        assert!(cadence.due(100));
        cadence.snapshot(100);
        assert!(!cadence.due(150));
        assert!(cadence.due(200));
    }

    #[test]
    fn half_the_streams_message_limit() {
        let limits = Limits {
            messages: Some(30),
            ..Limits::default()
        };
        let mut cadence = Cadence::new(None, limits);
        for _ in 0..14 {
            cadence.published(100);
        }
        assert!(!cadence.due(1_000));
        cadence.published(100);
        assert!(cadence.due(1_000));
        cadence.snapshot(1_000);
        assert!(!cadence.due(1_000));
    }

    #[test]
    fn half_the_streams_byte_limit() {
        let limits = Limits {
            bytes: Some(10_000),
            ..Limits::default()
        };
        let mut cadence = Cadence::new(None, limits);
        cadence.published(4_999);
        assert!(!cadence.due(1));
        cadence.published(1);
        assert!(cadence.due(1));
    }

    #[test]
    fn no_limits_no_snapshots() {
        let mut cadence = Cadence::new(None, Limits::default());
        for _ in 0..1_000 {
            cadence.published(1 << 20);
        }
        assert!(!cadence.due(u64::MAX / 2));
    }
}
