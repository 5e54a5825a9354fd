//! The errors of publishing, following and snapshots: one type per family.
//!
//! Depends on: nothing else in the crate.

use std::path::PathBuf;

use worktable_persist::{BackupError, LoadError, OpenError, ResumeError};

/// An error of the NATS client or server, with what was being done.
pub type NatsError = async_nats::Error;

/// Why a message on the stream was refused. Nothing of it was applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Not a message of this crate (no magic, or too short).
    #[error("not a worktable replication message")]
    Foreign,
    /// Written by a later format version.
    #[error("message format version {found} is not known to this build (it reads 1)")]
    Version {
        /// The version found.
        found: u8,
    },
    /// The checksum does not match: the message was damaged.
    #[error("message checksum mismatch")]
    Checksum,
    /// The commits inside do not decode.
    #[error("message body is not a valid archive of commits")]
    Body,
    /// An unknown message kind.
    #[error("unknown message kind {kind}")]
    Kind {
        /// The kind byte.
        kind: u8,
    },
    /// The commits inside are not numbered on without a gap.
    #[error("commits inside the message are not numbered on after {after}")]
    Numbering {
        /// The last number that did follow on.
        after: u64,
    },
}

/// Why a snapshot could not be written, found or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The database's backup failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// A local file (the backup being uploaded or downloaded).
    #[error("snapshot file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The store refused an operation.
    #[error("snapshot store: {op}: {source}")]
    Store {
        /// What was being done.
        op: &'static str,
        /// The store's error.
        source: NatsError,
    },
    /// A snapshot's manifest is damaged or a file does not match it.
    #[error("snapshot at commit {commit}: {reason}")]
    Damaged {
        /// The snapshot's commit.
        commit: u64,
        /// What is wrong.
        reason: String,
    },
    /// No snapshot holds commit `needed` or a later one.
    #[error("no snapshot at commit {needed} or later in the store")]
    Missing {
        /// The oldest commit a snapshot must hold.
        needed: u64,
    },
    /// No snapshot can be taken now: no store was configured, the
    /// publisher is stopped, or it is waiting for the server.
    #[error("no snapshot can be taken: {reason}")]
    Unavailable {
        /// Which.
        reason: &'static str,
    },
    /// The snapshot's files do not open as the database.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A promoted database could not be written.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Why a publisher stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Another primary appended to the stream: this one may no longer
    /// publish, so that the history cannot fork. Stop writing to this
    /// database, or make it a replica.
    #[error(
        "fenced: stream {stream} was appended to by another primary (expected its last message at {expected}, found {found})"
    )]
    Fenced {
        /// The stream.
        stream: String,
        /// The stream sequence this publisher expected last.
        expected: u64,
        /// The stream's last sequence.
        found: u64,
    },
    /// The stream holds commits this database does not have (it is not
    /// the database that published them, or it lost them).
    #[error(
        "stream {stream} holds commits up to {stream_last}; this database only up to {database_last}"
    )]
    StreamAhead {
        /// The stream.
        stream: String,
        /// The last commit on the stream.
        stream_last: u64,
        /// The last durable commit of the database.
        database_last: u64,
    },
    /// The stream's last commits are not this database's, though they
    /// carry its id and numbers: a copy of it was opened as another
    /// primary and published. Nothing is published.
    #[error("stream {stream} holds a commit {commit} that is not this database's commit {commit}")]
    Forked {
        /// The stream.
        stream: String,
        /// The first commit that differs.
        commit: u64,
    },
    /// One commit is larger than the server takes in a message.
    #[error("commit {number} is {bytes} bytes on the wire; the server takes at most {max}")]
    CommitTooLarge {
        /// The commit.
        number: u64,
        /// Its encoded size.
        bytes: usize,
        /// The server's `max_payload`.
        max: usize,
    },
    /// The database's log could not be read from the stream's position.
    #[error(transparent)]
    Resume(#[from] ResumeError),
    /// A snapshot could not be taken.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The stream's last message could not be read.
    #[error("stream {stream}: last message: {source}")]
    Message {
        /// The stream.
        stream: String,
        /// Why.
        source: MessageError,
    },
    /// A NATS request that is not retried failed.
    #[error("{op}: {source}")]
    Nats {
        /// What was being done.
        op: &'static str,
        /// The client's error.
        source: NatsError,
    },
}

/// Why a replica stopped applying, or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicaError {
    /// A message on the stream was refused (damaged, foreign, or not
    /// numbered on). The replica stopped before applying any of it.
    #[error("stream message {stream_seq}: {source}")]
    Message {
        /// Its stream sequence.
        stream_seq: u64,
        /// Why.
        source: MessageError,
    },
    /// The stream's messages are for a database of other tables.
    #[error(
        "stream message {stream_seq} is for tables of schema {found:#018x}; this replica's are {expected:#018x}"
    )]
    Schema {
        /// Its stream sequence.
        stream_seq: u64,
        /// This replica's schema fingerprint.
        expected: u64,
        /// The message's.
        found: u64,
    },
    /// A commit did not apply as it applied on the primary (a row to
    /// update or delete missing, a row to insert present, another number):
    /// the replica is not the primary's state. Nothing of it was applied.
    #[error("commit {commit} does not apply: {reason}")]
    Diverged {
        /// The commit.
        commit: u64,
        /// What did not match.
        reason: String,
    },
    /// A snapshot could not be found or loaded.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A NATS request failed (after retries, where they apply).
    #[error("{op}: {source}")]
    Nats {
        /// What was being done.
        op: &'static str,
        /// The client's error.
        source: NatsError,
    },
    /// The replica was stopped (or promoted) before the commit waited for.
    #[error("the replica was stopped")]
    Stopped,
}
