//! Change events: every committed write produces one [`ChangeEvent`] per
//! row it changed, numbered in commit order; subscribers read them as a
//! `Stream`, filtered at the source; a [`CommitHook`] receives them all, in
//! order, for a write-ahead log — or, for a database, a [`DatabaseHook`]
//! receives each commit whole (a transaction's changes to every table in
//! one [`CommitBatch`]).
//!
//! Depends on: `row`, `page` (row images), `index` (watches on an index
//! key), `error`. Inside, the arrows point one way: `subscription` → `hub`
//! → `order`, `queue` → `watch` → `event`.

mod batch;
mod event;
pub(crate) mod history;
mod hub;
pub(crate) mod order;
mod queue;
pub(crate) mod subscription;
mod watch;

pub use batch::{CommitBatch, CommitChange, DatabaseHook};
pub(crate) use event::Commit;
pub use event::{ArchivedEventRecord, ChangeEvent, ChangeKind, EventDecodeError, EventRecord};
pub use hub::{CommitHook, Durable, Refusal};
pub(crate) use hub::{EventHub, Pending};
pub(crate) use order::MAX_SEQ;
pub use queue::Lagged;
pub use subscription::Subscription;
pub use watch::{DEFAULT_CAPACITY, Watch};
