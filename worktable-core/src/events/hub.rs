//! The commit point of every write, and the fan-out of its change event to
//! subscribers and to the commit hook.
//!
//! Depends on: `events::order` (numbers and the commit lock),
//! `events::queue` (the subscribers' queues it pushes to),
//! `events::watch`, `events::event`, `error`, `observe`, `page`, `row`;
//! not on `events::subscription`, which depends on it.
//!
//! # Ordering protocol
//!
//! A write makes its change visible to readers at one moment (the
//! primary-index update of `table::write`). When somebody listens (a
//! subscriber or the commit hook of any table of the commit order), that
//! moment happens under the order's *commit lock*, together with taking
//! the next sequence number, handing the event to the commit hook — the
//! table's, or its database's as a commit of one change (either may refuse
//! it: then nothing is applied and the number stays unused) — and
//! then to every subscriber — so sequence numbers, visibility and delivery
//! share one order, with no gaps, whatever writers run at once. The
//! critical section is the hook's append, a map update and a queue push
//! per subscriber.
//!
//! When nobody listens, writes skip the lock and build no event: they only
//! take a sequence number. How a writer and a new listener agree on which
//! of the two happens is argued in `events::order`. The tables of a
//! database share one [`CommitOrder`]: their changes are numbered in one
//! sequence (a table's own events then skip the numbers of the others'),
//! under one commit lock.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::batch::{CommitBatch, CommitChange};
use super::event::{ChangeEvent, ChangeKind};
use super::history::History;
use super::order::{CommitLock, CommitOrder, Numbers, Prune, ReadPoints, Tables};
use super::queue::SubscriberQueue;
use super::watch::Watch;
use crate::error::{Result, TableError};
use crate::observe;
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

/// Listeners of one table, kept in its slot of the commit order: guarded
/// by the commit lock.
struct Listeners<R: Row> {
    subscribers: Vec<Arc<SubscriberQueue<R>>>,
    hook: Option<Arc<dyn CommitHook<R>>>,
}

impl<R: Row> Listeners<R> {
    fn new(hook: Option<Arc<dyn CommitHook<R>>>) -> Self {
        Self {
            subscribers: Vec::new(),
            hook,
        }
    }

    fn any(&self) -> bool {
        self.hook.is_some() || !self.subscribers.is_empty()
    }
}

/// The change-event state of one table.
pub(crate) struct EventHub<R: Row> {
    /// The sequence numbers and the commit lock, the table's own or its
    /// database's.
    order: Order<R>,
    /// The versions replaced while read points are registered.
    history: Arc<History<R>>,
}

/// A table's commit order.
enum Order<R: Row> {
    /// A table on its own: its order, with its listeners inline.
    Own(CommitOrder<Listeners<R>>),
    /// A table of a database: the shared order, and the slot where it
    /// keeps this table's listeners.
    Shared {
        order: Arc<CommitOrder<Tables>>,
        slot: usize,
    },
}

/// The commit lock of a table's order, held, with the order it locks.
enum HubLock<'h, R: Row> {
    Own(&'h CommitOrder<Listeners<R>>, CommitLock<'h, Listeners<R>>),
    Shared(&'h CommitOrder<Tables>, CommitLock<'h, Tables>, usize),
}

impl<R: Row> HubLock<'_, R> {
    /// This table's listeners.
    fn listeners(&mut self) -> &mut Listeners<R> {
        match self {
            Self::Own(_, lock) => lock,
            Self::Shared(_, lock, slot) => lock.table(*slot),
        }
    }

    /// Counts this table as listening (see [`CommitOrder::listen`]).
    fn listen(&mut self) {
        match self {
            Self::Own(order, lock) => order.listen(lock),
            Self::Shared(order, lock, _) => order.listen(lock),
        }
    }

    /// Counts this table as no longer listening.
    fn unlisten(&mut self) {
        match self {
            Self::Own(order, lock) => order.unlisten(lock),
            Self::Shared(order, lock, _) => order.unlisten(lock),
        }
    }

    /// Whether the table, or its database, has a commit hook.
    fn hooked(&mut self) -> bool {
        match self {
            Self::Own(_, lock) => lock.hook.is_some(),
            Self::Shared(_, lock, _) => lock.hook().is_some(),
        }
    }

    /// Hands a single write's change to the table's hook, or as a commit
    /// of one change to its database's.
    fn ask_hook(
        &mut self,
        event: &ChangeEvent<R>,
    ) -> std::result::Result<Option<Durable>, Refusal> {
        match self {
            Self::Own(_, lock) => lock.hook.as_ref().expect("hooked").on_commit(event),
            Self::Shared(_, lock, slot) => {
                let batch =
                    CommitBatch::new(event.seq(), vec![CommitChange::new(*slot, event.clone())]);
                lock.hook().expect("hooked").on_commit(&batch)
            }
        }
    }

    /// Whether a read point is registered (see `events::history`).
    fn versioning(&self) -> bool {
        match self {
            Self::Own(_, lock) => lock.versioning(),
            Self::Shared(_, lock, _) => lock.versioning(),
        }
    }
}

impl<R: Row> EventHub<R> {
    /// A table on its own, whose first change gets sequence number
    /// `last_seq + 1` (`last_seq` at most [`MAX_SEQ`](super::MAX_SEQ)),
    /// with `hook` if any.
    pub(crate) fn own(last_seq: u64, hook: Option<Arc<dyn CommitHook<R>>>) -> Self {
        let hub = Self {
            order: Order::Own(CommitOrder::new(last_seq, Listeners::new(None))),
            history: Arc::default(),
        };
        if let Order::Own(order) = &hub.order {
            order.add_history(hub.prunable());
        }
        hub.install(hook);
        hub
    }

    /// The history, as the commit order prunes it.
    fn prunable(&self) -> std::sync::Weak<dyn Prune> {
        let history: Arc<dyn Prune> = self.history.clone();
        Arc::downgrade(&history)
    }

    /// A table of a database, numbering its changes in `order`.
    pub(crate) fn shared(order: &Arc<CommitOrder<Tables>>) -> Self {
        let slot = order.lock().add(Listeners::<R>::new(None));
        let hub = Self {
            order: Order::Shared {
                order: Arc::clone(order),
                slot,
            },
            history: Arc::default(),
        };
        order.add_history(hub.prunable());
        hub
    }

    /// The versions this table's changes replaced while read points were
    /// registered.
    pub(crate) fn history(&self) -> &History<R> {
        &self.history
    }

    /// The commit order of the table's database; `None` for a table on its
    /// own.
    #[inline]
    pub(crate) fn database_order(&self) -> Option<&Arc<CommitOrder<Tables>>> {
        match &self.order {
            Order::Own(_) => None,
            Order::Shared { order, .. } => Some(order),
        }
    }

    /// The table's position in its database (its slot); `None` for a
    /// table on its own.
    pub(crate) fn slot(&self) -> Option<usize> {
        match &self.order {
            Order::Own(_) => None,
            Order::Shared { slot, .. } => Some(*slot),
        }
    }

    /// Commits one change of a transaction, under the database's commit
    /// lock, which the transaction holds (`lock`): takes its number (the
    /// one `event` was built with: nothing else takes numbers while the
    /// transaction's read point keeps the order listening), records the
    /// replaced version for read points, makes it visible (`apply`) and
    /// offers it to the table's subscribers. The database's hook, if any,
    /// accepted the whole transaction before. Readers without a read
    /// point see it once the transaction publishes its commit number.
    ///
    /// # Panics
    ///
    /// If the table is not in a database (a transaction only holds a
    /// database's lock).
    pub(crate) fn publish_in<T>(
        &self,
        lock: &mut CommitLock<'_, Tables>,
        event: &ChangeEvent<R>,
        apply: impl FnOnce() -> T,
    ) -> T {
        let Order::Shared { order, slot } = &self.order else {
            panic!("a transaction commits to the tables of a database only");
        };
        let seq = order.numbers().take_next();
        debug_assert_eq!(
            seq,
            event.seq(),
            "a transaction's changes are numbered in order"
        );
        if lock.versioning() {
            self.history.record(event);
        }
        let applied = apply();
        observe::write(R::TABLE_NAME, event.kind());
        let listeners = lock.table::<Listeners<R>>(*slot);
        debug_assert!(
            listeners.hook.is_none(),
            "tables of a database have no hook of their own"
        );
        offer(listeners, event);
        applied
    }

    /// The last number readers without a read point see (see
    /// `Numbers::published`).
    #[inline]
    pub(crate) fn published(&self) -> u64 {
        self.numbers().published()
    }

    /// The read points of the table's order.
    pub(crate) fn read_points(&self) -> &dyn ReadPoints {
        match &self.order {
            Order::Own(order) => order,
            Order::Shared { order, .. } => &**order,
        }
    }

    /// Installs the commit hook of a new table.
    fn install(&self, hook: Option<Arc<dyn CommitHook<R>>>) {
        if hook.is_some() {
            let mut lock = self.lock();
            lock.listen();
            lock.listeners().hook = hook;
        }
    }

    /// Takes the commit lock.
    fn lock(&self) -> HubLock<'_, R> {
        match &self.order {
            Order::Own(order) => HubLock::Own(order, order.lock()),
            Order::Shared { order, slot } => HubLock::Shared(order, order.lock(), *slot),
        }
    }

    /// The sequence numbers of the table's order.
    fn numbers(&self) -> &Numbers {
        match &self.order {
            Order::Own(order) => order.numbers(),
            Order::Shared { order, .. } => order.numbers(),
        }
    }

    /// Returns once every change that took the commit lock before this
    /// call has left it: its hook call included. Changes with no listener
    /// take no lock and are not waited for.
    pub(crate) fn barrier(&self) {
        drop(self.lock());
    }

    /// The last sequence number given to a change (of any table sharing
    /// this table's order).
    pub(crate) fn last_seq(&self) -> u64 {
        self.numbers().last_seq()
    }

    /// Starts a commit: tells the writer whether anybody listens, and so
    /// whether to build the change's row images.
    pub(crate) fn begin(&self) -> Ticket<'_, R> {
        Ticket {
            hub: self,
            in_flight: self.numbers().begin(),
        }
    }

    /// A queue that receives every change committed from now on that
    /// `watch` selects, and the sequence number of the last change committed
    /// before it: the queue receives exactly the changes numbered after it.
    /// The caller [unsubscribes](Self::unsubscribe) the queue when done.
    pub(crate) fn subscribe(&self, watch: Watch<R>) -> (Arc<SubscriberQueue<R>>, u64) {
        let queue = Arc::new(SubscriberQueue::new(watch));
        let mut lock = self.lock();
        if !lock.listeners().any() {
            lock.listen();
        }
        lock.listeners().subscribers.push(Arc::clone(&queue));
        // Under the commit lock, with no lock-free commit in flight: every
        // change numbered up to here is visible, every later one reaches
        // the queue.
        let last_seq = self.last_seq();
        drop(lock);
        (queue, last_seq)
    }

    /// Removes a subscription's queue.
    pub(crate) fn unsubscribe(&self, queue: &Arc<SubscriberQueue<R>>) {
        let mut lock = self.lock();
        let listeners = lock.listeners();
        let Some(at) = listeners
            .subscribers
            .iter()
            .position(|kept| Arc::ptr_eq(kept, queue))
        else {
            return;
        };
        listeners.subscribers.swap_remove(at);
        if !listeners.any() {
            lock.unlisten();
        }
    }

    /// Ends every subscription (the table is going away) and stops
    /// listening: a table of a database leaves the others' writes
    /// lock-free again.
    pub(crate) fn close(&self) {
        let mut lock = self.lock();
        let listeners = lock.listeners();
        let was_listening = listeners.any();
        let queues = std::mem::take(&mut listeners.subscribers);
        listeners.hook = None;
        if was_listening {
            lock.unlisten();
        }
        drop(lock);
        for queue in queues {
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
            hub.numbers().end_lock_free();
            self.in_flight = false;
            observe::write(R::TABLE_NAME, kind);
            return Ok(applied);
        }
        let (before, after) = images.expect("an observed commit has its row images");
        let mut lock = hub.lock();
        let versioning = lock.versioning();
        let hooked = lock.hooked();
        // Every commit of this order takes this lock while a hook is
        // installed (the hook keeps the "somebody listens" flag set), so no
        // number is taken meanwhile: the next one is known before the hook
        // decides, and used only if it accepts. Without a hook, the flag
        // may have been cleared since `begin`, so the number is taken.
        let seq = if hooked {
            hub.last_seq() + 1
        } else {
            hub.numbers().take_next()
        };
        let event = ChangeEvent::new(seq, pk.clone(), kind, before, after);
        if hooked {
            let durable = lock
                .ask_hook(&event)
                .map_err(|source| TableError::WriteRefused {
                    table: R::TABLE_NAME,
                    source,
                })?;
            hub.numbers().take_next();
            pending.0.extend(durable);
        }
        if versioning {
            hub.history.record(&event);
        }
        let applied = apply();
        hub.numbers().publish(seq);
        offer(lock.listeners(), &event);
        drop(lock);
        observe::write(R::TABLE_NAME, kind);
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
            self.hub.numbers().abandon();
        }
    }
}
