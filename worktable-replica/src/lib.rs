//! Read replicas of a [`DurableDatabase`] on other machines, through NATS
//! JetStream — an existing replicated log, not a cluster of our own.
//!
//! - A [`Publisher`] sends the primary's *confirmed* (durable) commits, in
//!   order, to a JetStream stream, and stores snapshots (backups at one
//!   commit) in a [`SnapshotStore`]: JetStream's object store or any
//!   `object_store` backend.
//! - A [`Replica`] loads the latest snapshot, then applies the stream from
//!   the next commit, each commit as one transaction: the primary's read
//!   API (through [`Replica::db`]), read-only, with
//!   [`applied_seq`](Replica::applied_seq) and
//!   [`wait_for`](Replica::wait_for) for read-your-writes across machines.
//! - [`Replica::promote`] makes a replica the primary.
//!
//! # What it promises, and on what
//!
//! The database's own log stays the source of truth. The stream gets only
//! commits that are durable on the primary, so a replica is never ahead of
//! what the primary recovers after a crash. Every message names the commits
//! it follows on from; a replica applies a commit only right after the one
//! before it, and reloads from a snapshot when the stream has a gap (a
//! stream trimmed by its limits, a primary that had to re-seed). JetStream
//! de-duplicates by message id only within a window, and a server
//! acknowledges before its own disk sync unless told to sync always
//! (`sync_interval: always` in its `jetstream` block): neither is trusted
//! for correctness, only for fewer reloads.
//!
//! One stream has one primary: each publish carries the condition that the
//! stream's last message is the one the publisher saw last, so a second,
//! stale primary is refused ([`PublishError::Fenced`]) and stops; the
//! history cannot fork.
//!
//! # Traces and metrics
//!
//! Two features, off by default, report to the program's own subscriber
//! and recorder, and turn on worktable-persist's and worktable-core's of
//! the same name: `tracing` — each message published and each message a
//! replica applied (its lag) at `DEBUG`, a publish retried at `WARN`, a
//! reload from a snapshot at `INFO` — and `metrics`, labelled by stream: a
//! replica's lag in seconds and in stream messages and the last commit it
//! applied (gauges), reloads, and a publisher's messages, bytes and
//! retries. Every name, unit and label is listed in
//! [docs/observability.md](https://github.com/worktable-rs/worktable/blob/main/docs/observability.md).
//!
//! # Running a server
//!
//! [`local_server`] starts `nats-server` processes on loopback (for tests,
//! the examples and benchmarks); in production, point the client at your
//! own JetStream deployment.
//!
//! [`DurableDatabase`]: worktable_persist::DurableDatabase

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod apply;
mod error;
pub mod local_server;
mod observe;
mod publisher;
mod replica;
mod snapshot;
mod stream;
mod wire;

pub use error::{MessageError, NatsError, PublishError, ReplicaError, SnapshotError};
pub use publisher::{Publisher, PublisherOptions, PublisherState, PublisherStopped};
pub use replica::{PromoteError, Replica, ReplicaOptions, ReplicaStatus};
pub use snapshot::{SnapshotInfo, SnapshotStore};
pub use stream::StreamConfig;
