//! The commit point of every write, and the fan-out of its change event to
//! subscribers and to the commit hook.
//!
//! # Ordering protocol
//!
//! A write makes its change visible to readers at one moment (the
//! primary-index update of `table::write`). When somebody listens (a
//! subscriber or the commit hook), that moment happens under the hub's
//! *commit lock*, together with taking the next sequence number and handing
//! the event to every listener — so sequence numbers, visibility and
//! delivery share one order, with no gaps, whatever writers run at once. The
//! critical section is a map update and a queue push per subscriber.
//!
//! When nobody listens, writes skip the lock and build no event: they only
//! bump the sequence number. A new subscriber must not miss a write that
//! becomes visible after it subscribed, so the two sides meet like Dekker's
//! protocol: a lock-free writer announces itself (`inflight += 1`) before
//! checking `listeners`, and a subscriber raises `listeners` before waiting
//! for `inflight` to drain (both `SeqCst`). Either the writer sees the
//! listener and takes the lock, or the subscriber sees the writer and waits
//! until its change is visible — before the subscription starts.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::event::{ChangeEvent, ChangeKind};
use super::subscription::{Slot, Subscription, Watch};
use crate::error::{Result, TableError};
use crate::page::RowImage;
use crate::row::Row;

/// What a [`CommitHook`] can make a write wait for, e.g. its log record
/// reaching the disk. An error fails the write with
/// [`TableError::Durability`] (the change stays visible in memory).
pub type Durable = Pin<
    Box<
        dyn Future<Output = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>>
            + Send,
    >,
>;

/// Receives every change of a table, in sequence order, at the moment it
/// commits — the hook `worktable-persist` logs through.
///
/// `committed` runs under the table's commit lock, so it must be quick (e.g.
/// append to an in-memory log buffer). The [`Durable`] future it may return
/// is awaited by the write before the write returns, outside every lock, so
/// concurrent writes can share one flush.
pub trait CommitHook<R: Row>: Send + Sync + 'static {
    /// Called once per change, in sequence order, with no gaps.
    fn committed(&self, event: &ChangeEvent<R>) -> Option<Durable>;
}

/// A change's row images: before, after.
pub(crate) type Images<R> = (Option<RowImage<R>>, Option<RowImage<R>>);

/// Durability waits collected by one write call, awaited before it returns.
#[derive(Default)]
pub(crate) struct Pending(Vec<Durable>);

impl Pending {
    /// Waits for every collected durability future.
    pub(crate) async fn wait<R: Row>(self) -> Result<()> {
        for durable in self.0 {
            durable.await.map_err(|source| TableError::Durability {
                table: R::TABLE_NAME,
                source,
            })?;
        }
        Ok(())
    }
}

/// Listeners, guarded by the commit lock.
struct Listeners<R: Row> {
    subscribers: Vec<Arc<Slot<R>>>,
    hook: Option<Arc<dyn CommitHook<R>>>,
}

/// The change-event state of one table.
pub(crate) struct EventHub<R: Row> {
    /// The last sequence number taken.
    seq: AtomicU64,
    /// Subscribers plus the hook, if any.
    listening: AtomicUsize,
    /// Lock-free commits in progress (see the module docs).
    inflight: AtomicUsize,
    /// The commit lock.
    listeners: Mutex<Listeners<R>>,
}

impl<R: Row> EventHub<R> {
    pub(crate) fn new(hook: Option<Arc<dyn CommitHook<R>>>) -> Self {
        Self {
            seq: AtomicU64::new(0),
            listening: AtomicUsize::new(usize::from(hook.is_some())),
            inflight: AtomicUsize::new(0),
            listeners: Mutex::new(Listeners {
                subscribers: Vec::new(),
                hook,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Listeners<R>> {
        // Listener lists stay consistent across a panic in a hook.
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The last sequence number given to a change.
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Starts a commit: tells the writer whether anybody listens, and so
    /// whether to build the change's row images.
    pub(crate) fn begin(&self) -> Ticket<'_, R> {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        if self.listening.load(Ordering::SeqCst) == 0 {
            return Ticket {
                hub: self,
                unobserved: true,
            };
        }
        self.inflight.fetch_sub(1, Ordering::SeqCst);
        Ticket {
            hub: self,
            unobserved: false,
        }
    }

    /// A subscription to every change committed from now on that `watch`
    /// selects.
    pub(crate) fn subscribe(self: &Arc<Self>, watch: Watch<R>) -> Subscription<R> {
        self.listening.fetch_add(1, Ordering::SeqCst);
        // Lock-free commits that started before they could see us finish
        // before the subscription starts (module docs).
        while self.inflight.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        let slot = Arc::new(Slot::new(watch));
        self.lock().subscribers.push(Arc::clone(&slot));
        Subscription::new(Arc::clone(self), slot)
    }

    /// Removes a subscription's slot.
    pub(crate) fn unsubscribe(&self, slot: &Arc<Slot<R>>) {
        let mut listeners = self.lock();
        if let Some(at) = listeners
            .subscribers
            .iter()
            .position(|kept| Arc::ptr_eq(kept, slot))
        {
            listeners.subscribers.swap_remove(at);
            self.listening.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Ends every subscription (the table is going away).
    pub(crate) fn close(&self) {
        for slot in std::mem::take(&mut self.lock().subscribers) {
            slot.close();
        }
    }
}

/// A commit in progress, from [`EventHub::begin`].
pub(crate) struct Ticket<'h, R: Row> {
    hub: &'h EventHub<R>,
    /// Nobody listened at `begin`: commit without the lock, no event.
    unobserved: bool,
}

impl<R: Row> Ticket<'_, R> {
    /// Whether the change's row images are needed.
    pub(crate) fn observed(&self) -> bool {
        !self.unobserved
    }

    /// Makes the change visible (`apply`) and, when observed, gives it the
    /// next sequence number and hands its event (with `images`: before,
    /// after) to every listener, all under the commit lock. A durability
    /// future from the hook joins `pending`.
    pub(crate) fn commit<T>(
        self,
        kind: ChangeKind,
        pk: &R::Pk,
        images: Option<Images<R>>,
        apply: impl FnOnce() -> T,
        pending: &mut Pending,
    ) -> T {
        let hub = self.hub;
        if self.unobserved {
            let applied = apply();
            hub.seq.fetch_add(1, Ordering::AcqRel);
            // `Drop` announces the end of the lock-free commit.
            return applied;
        }
        let (before, after) = images.expect("an observed commit has its row images");
        let listeners = hub.lock();
        let seq = hub.seq.fetch_add(1, Ordering::AcqRel) + 1;
        let applied = apply();
        let event = ChangeEvent::new(seq, pk.clone(), kind, before, after);
        for slot in &listeners.subscribers {
            slot.offer(&event);
        }
        if let Some(durable) = listeners
            .hook
            .as_ref()
            .and_then(|hook| hook.committed(&event))
        {
            pending.0.push(durable);
        }
        applied
    }
}

impl<R: Row> Drop for Ticket<'_, R> {
    fn drop(&mut self) {
        if self.unobserved {
            self.hub.inflight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
