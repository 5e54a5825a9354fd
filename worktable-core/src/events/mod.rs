//! Change events: every committed write produces one [`ChangeEvent`] per
//! row it changed, numbered in commit order; subscribers read them as a
//! `Stream`, filtered at the source; a [`CommitHook`] receives them all, in
//! order, for a write-ahead log.

mod event;
mod hub;
pub(crate) mod subscription;

pub use event::{ArchivedEventRecord, ChangeEvent, ChangeKind, EventDecodeError, EventRecord};
pub use hub::{CommitHook, Durable, Refusal};
pub(crate) use hub::{EventHub, MAX_SEQ, Pending};
pub use subscription::{DEFAULT_CAPACITY, Lagged, Subscription, Watch};
