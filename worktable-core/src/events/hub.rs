//! The commit point of every write, and the fan-out of its change event to
//! subscribers and to the commit hook.
//!
//! Depends on: `events::queue` (the subscribers' queues it pushes to),
//! `events::watch`, `events::event`, `error`, `page`, `row`; not on
//! `events::subscription`, which depends on it.
//!
//! # Ordering protocol
//!
//! A write makes its change visible to readers at one moment (the
//! primary-index update of `table::write`). When somebody listens (a
//! subscriber or the commit hook), that moment happens under the hub's
//! *commit lock*, together with taking the next sequence number, handing
//! the event to the commit hook (which may refuse it: then nothing is
//! applied and the number stays unused) and then to every subscriber — so
//! sequence numbers, visibility and delivery share one order, with no gaps,
//! whatever writers run at once. The critical section is the hook's append,
//! a map update and a queue push per subscriber.
//!
//! When nobody listens, writes skip the lock and build no event: they only
//! take a sequence number. One atomic word, `state`, holds the last sequence
//! number, a "somebody listens" flag and the number of lock-free commits in
//! flight. A writer announces itself and reads the flag in one
//! read-modify-write; a subscriber sets the flag in one, then waits until the
//! writers in flight have finished. Operations on one word are totally
//! ordered, so either the writer saw the flag and takes the lock, or the
//! subscriber counted the writer and waits until its change is visible —
//! before the subscription starts. A lock-free commit runs within one
//! synchronous stretch of a write, so no more of them are in flight than
//! there are threads.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::event::{ChangeEvent, ChangeKind};
use super::queue::SubscriberQueue;
use super::watch::Watch;
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

/// Why a [`CommitHook`] refused a change: the write fails with
/// [`TableError::WriteRefused`], whose source this is.
pub type Refusal = Box<dyn std::error::Error + Send + Sync>;

/// Receives every change of a table, in sequence order, at its commit
/// point — the hook `worktable-persist` logs through — and may refuse it.
///
/// [`on_commit`](Self::on_commit) runs under the table's commit lock, so
/// it must be quick (e.g. append to an in-memory log buffer). The
/// [`Durable`] future it may return is awaited by the write before the
/// write returns, outside every lock, so concurrent writes can share one
/// flush.
pub trait CommitHook<R: Row>: Send + Sync + 'static {
    /// Called once per change, in sequence order, with no gaps, just
    /// before the change becomes visible to readers and subscribers.
    ///
    /// `Ok` lets the change commit, with a future the write then waits for
    /// (`None`: nothing to wait for). `Err` refuses it: the change is not
    /// made, its sequence number is not used (the next change gets it),
    /// and the write undoes what it had prepared and fails with
    /// [`TableError::WriteRefused`] — e.g. a log that can no longer be
    /// written refuses every change instead of letting memory run ahead of
    /// it.
    ///
    /// # Errors
    ///
    /// The hook's reason for refusing the change.
    fn on_commit(&self, event: &ChangeEvent<R>) -> std::result::Result<Option<Durable>, Refusal>;
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

/// One lock-free commit in flight, in `state`'s low bits.
const IN_FLIGHT: u64 = 1;
/// The in-flight count's bits: room for 4,095 threads committing at once.
const IN_FLIGHT_MASK: u64 = (1 << 12) - 1;
/// Somebody listens: commits take the lock and build events.
const LISTENING: u64 = 1 << 12;
/// Where the last sequence number starts in `state` (51 bits: at a million
/// commits a second, 71 years).
const SEQ_SHIFT: u32 = 13;
/// One more sequence number.
const SEQ_ONE: u64 = 1 << SEQ_SHIFT;
/// The largest sequence number `state` holds.
pub(crate) const MAX_SEQ: u64 = u64::MAX >> SEQ_SHIFT;

/// Listeners, guarded by the commit lock.
struct Listeners<R: Row> {
    subscribers: Vec<Arc<SubscriberQueue<R>>>,
    hook: Option<Arc<dyn CommitHook<R>>>,
}

impl<R: Row> Listeners<R> {
    fn any(&self) -> bool {
        self.hook.is_some() || !self.subscribers.is_empty()
    }
}

/// The change-event state of one table.
pub(crate) struct EventHub<R: Row> {
    /// Last sequence number, "somebody listens" flag, lock-free commits in
    /// flight (see the module docs and the constants above).
    state: AtomicU64,
    /// The commit lock.
    listeners: Mutex<Listeners<R>>,
}

impl<R: Row> EventHub<R> {
    /// A hub whose first change gets sequence number `last_seq + 1`
    /// (`last_seq` at most [`MAX_SEQ`]).
    pub(crate) fn new(hook: Option<Arc<dyn CommitHook<R>>>, last_seq: u64) -> Self {
        debug_assert!(last_seq <= MAX_SEQ);
        let listening = if hook.is_some() { LISTENING } else { 0 };
        Self {
            state: AtomicU64::new(listening | (last_seq << SEQ_SHIFT)),
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

    /// Returns once every change that took the commit lock before this
    /// call has left it: its hook call included. Changes with no listener
    /// take no lock and are not waited for.
    pub(crate) fn barrier(&self) {
        drop(self.lock());
    }

    /// The last sequence number given to a change.
    pub(crate) fn last_seq(&self) -> u64 {
        self.state.load(Ordering::Acquire) >> SEQ_SHIFT
    }

    /// Starts a commit: tells the writer whether anybody listens, and so
    /// whether to build the change's row images.
    pub(crate) fn begin(&self) -> Ticket<'_, R> {
        let before = self.state.fetch_add(IN_FLIGHT, Ordering::Acquire);
        debug_assert!(
            before & IN_FLIGHT_MASK < IN_FLIGHT_MASK,
            "too many commits in flight"
        );
        if before & LISTENING == 0 {
            return Ticket {
                hub: self,
                in_flight: true,
            };
        }
        self.state.fetch_sub(IN_FLIGHT, Ordering::Release);
        Ticket {
            hub: self,
            in_flight: false,
        }
    }

    /// A queue that receives every change committed from now on that
    /// `watch` selects, and the sequence number of the last change committed
    /// before it: the queue receives exactly the changes numbered after it.
    /// The caller [unsubscribes](Self::unsubscribe) the queue when done.
    pub(crate) fn subscribe(&self, watch: Watch<R>) -> (Arc<SubscriberQueue<R>>, u64) {
        let queue = Arc::new(SubscriberQueue::new(watch));
        let mut listeners = self.lock();
        if !listeners.any() {
            self.state.fetch_or(LISTENING, Ordering::AcqRel);
            // Lock-free commits that started before the flag was set finish
            // (their changes visible) before the subscription starts; they
            // never take the lock held here.
            while self.state.load(Ordering::Acquire) & IN_FLIGHT_MASK != 0 {
                std::thread::yield_now();
            }
        }
        listeners.subscribers.push(Arc::clone(&queue));
        // Under the commit lock, with no lock-free commit in flight: every
        // change numbered up to here is visible, every later one reaches
        // the queue.
        let last_seq = self.last_seq();
        drop(listeners);
        (queue, last_seq)
    }

    /// Removes a subscription's queue.
    pub(crate) fn unsubscribe(&self, queue: &Arc<SubscriberQueue<R>>) {
        let mut listeners = self.lock();
        if let Some(at) = listeners
            .subscribers
            .iter()
            .position(|kept| Arc::ptr_eq(kept, queue))
        {
            listeners.subscribers.swap_remove(at);
            if !listeners.any() {
                self.state.fetch_and(!LISTENING, Ordering::AcqRel);
            }
        }
    }

    /// Ends every subscription (the table is going away).
    pub(crate) fn close(&self) {
        for queue in std::mem::take(&mut self.lock().subscribers) {
            queue.close();
        }
    }
}

/// A commit in progress, from [`EventHub::begin`].
pub(crate) struct Ticket<'h, R: Row> {
    hub: &'h EventHub<R>,
    /// Nobody listened at `begin`: this is a lock-free commit, counted in
    /// flight until it ends.
    in_flight: bool,
}

impl<R: Row> Ticket<'_, R> {
    /// Whether the change's row images are needed.
    pub(crate) fn observed(&self) -> bool {
        !self.in_flight
    }

    /// Makes the change visible (`apply`) and gives it the next sequence
    /// number; when observed, under the commit lock, also hands its event
    /// (with `images`: before, after) to the commit hook first and then to
    /// every subscriber. A durability future from the hook joins `pending`.
    ///
    /// # Errors
    ///
    /// [`TableError::WriteRefused`] when the commit hook refuses the
    /// change: `apply` is not called and no sequence number is used. The
    /// caller undoes what it prepared.
    pub(crate) fn commit<T>(
        mut self,
        kind: ChangeKind,
        pk: &R::Pk,
        images: Option<Images<R>>,
        apply: impl FnOnce() -> T,
        pending: &mut Pending,
    ) -> Result<T> {
        let hub = self.hub;
        if self.in_flight {
            let applied = apply();
            // Take the number and leave the in-flight count in one step.
            hub.state.fetch_add(SEQ_ONE - IN_FLIGHT, Ordering::Release);
            self.in_flight = false;
            return Ok(applied);
        }
        let (before, after) = images.expect("an observed commit has its row images");
        let listeners = hub.lock();
        let Some(hook) = &listeners.hook else {
            let seq = (hub.state.fetch_add(SEQ_ONE, Ordering::AcqRel) >> SEQ_SHIFT) + 1;
            let applied = apply();
            let event = ChangeEvent::new(seq, pk.clone(), kind, before, after);
            offer(&listeners, &event);
            return Ok(applied);
        };
        // With a hook installed every commit takes this lock (the hook keeps
        // the "somebody listens" flag set for the table's life), so no
        // number is taken meanwhile: the next one is known before the hook
        // decides, and used only if it accepts.
        let seq = hub.last_seq() + 1;
        let event = ChangeEvent::new(seq, pk.clone(), kind, before, after);
        let durable = hook
            .on_commit(&event)
            .map_err(|source| TableError::WriteRefused {
                table: R::TABLE_NAME,
                source,
            })?;
        hub.state.fetch_add(SEQ_ONE, Ordering::AcqRel);
        let applied = apply();
        offer(&listeners, &event);
        pending.0.extend(durable);
        Ok(applied)
    }
}

/// Hands `event` to every subscriber; called under the commit lock.
fn offer<R: Row>(listeners: &Listeners<R>, event: &ChangeEvent<R>) {
    for queue in &listeners.subscribers {
        queue.offer(event);
    }
}

impl<R: Row> Drop for Ticket<'_, R> {
    fn drop(&mut self) {
        // A lock-free commit abandoned before `commit` (a panic) still
        // leaves the in-flight count.
        if self.in_flight {
            self.hub.state.fetch_sub(IN_FLIGHT, Ordering::Release);
        }
    }
}
