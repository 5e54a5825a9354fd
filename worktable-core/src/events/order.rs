//! The commit order: the sequence numbers of the changes of one table, or of
//! every table of a database, and the commit lock they are taken under
//! whenever somebody listens.
//!
//! One atomic word, `state`, holds the last sequence number, a "somebody
//! listens" flag and the number of lock-free commits in flight. A writer
//! announces itself and reads the flag in one read-modify-write
//! ([`Numbers::begin`]); whoever starts listening sets the flag in one,
//! under the commit lock, then waits until the writers in flight have
//! finished ([`CommitOrder::listen`]). Operations on one word are totally
//! ordered, so either the writer saw the flag and takes the lock, or the
//! listener counted the writer and waits until its change is visible
//! before it starts listening. A lock-free commit runs within one
//! synchronous stretch of a write, so no more of them are in flight than
//! there are threads.
//!
//! The tables of a database share one order: one numbering, one commit
//! lock, and one flag, set while any of them has a listener (a subscriber
//! or a commit hook); the lock guards each table's listeners, in a slot per
//! table. A table on its own has an order of its own, which keeps its
//! listeners inline (no slot to look up on the commit path).
//!
//! Depends on `events::batch` (the database's hook) only.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use super::batch::DatabaseHook;

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

/// The sequence numbers and the commit lock of one table, or shared by the
/// tables of a database (`G` = `Tables`). The lock guards `G`: a table
/// on its own keeps its listeners there inline; a database keeps each
/// table's in a slot. Created by the code `#[derive(Database)]` generates;
/// not a stable API.
#[derive(Debug)]
pub struct CommitOrder<G = Tables> {
    /// The sequence numbers, whatever the lock guards.
    numbers: Numbers,
    /// The commit lock, and what it guards.
    inner: Mutex<Guarded<G>>,
}

/// Last sequence number, "somebody listens" flag, lock-free commits in
/// flight, in one word (see the module docs and the constants above).
#[derive(Debug)]
pub(crate) struct Numbers {
    state: AtomicU64,
    /// The last number whose change readers without a read point see:
    /// equal to the last sequence number, except while a transaction
    /// publishes its changes (see `txn`). Kept up to date only while
    /// commits take the lock; a read point brings it up to date.
    published: AtomicU64,
}

/// What the commit lock guards.
#[derive(Debug)]
struct Guarded<G> {
    /// Tables of this order with a listener (a subscriber or a hook), plus
    /// registered read points: while it is above 0, every commit takes the
    /// lock.
    listening: usize,
    /// Registered read points.
    read_points: ReadPointSet,
    /// The version histories of the order's tables, pruned when the oldest
    /// read point moves on.
    histories: Vec<Weak<dyn Prune>>,
    /// The listeners.
    data: G,
}

/// The registered read points, oldest first: how many at each commit
/// number. A read point is registered at the last commit, never below one
/// registered before, so registering counts at the back or appends; a
/// release counts its entry down, and entries at zero are dropped once
/// they reach either end. The queue keeps its room, so registering and
/// releasing allocate nothing once it has grown.
#[derive(Debug, Default)]
struct ReadPointSet {
    /// (commit number, read points there), in increasing commit numbers;
    /// the first and the last count above zero.
    points: VecDeque<(u64, usize)>,
}

impl ReadPointSet {
    fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    fn add(&mut self, at: u64) {
        match self.points.back_mut() {
            Some((last, count)) if *last == at => *count += 1,
            last => {
                debug_assert!(last.is_none_or(|(last, _)| *last < at));
                self.points.push_back((at, 1));
            }
        }
    }

    /// # Panics
    ///
    /// If no read point is registered at `at`.
    fn remove(&mut self, at: u64) {
        let i = self
            .points
            .binary_search_by_key(&at, |&(point, _)| point)
            .expect("a released read point was registered");
        let count = &mut self.points[i].1;
        *count = count
            .checked_sub(1)
            .expect("a released read point was registered");
        while self.points.front().is_some_and(|&(_, count)| count == 0) {
            self.points.pop_front();
        }
        while self.points.back().is_some_and(|&(_, count)| count == 0) {
            self.points.pop_back();
        }
    }

    fn oldest(&self) -> Option<u64> {
        self.points.front().map(|&(at, _)| at)
    }
}

/// A table's history of replaced versions, as the commit order prunes it
/// (see `snapshot::history`).
pub(crate) trait Prune: Send + Sync {
    /// Drops every version replaced by a change numbered `through` or
    /// below: no registered read point can see it any more.
    fn prune(&self, through: u64);
}

impl std::fmt::Debug for dyn Prune {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prune")
    }
}

/// The read points of a commit order, as a snapshot holds them: what a
/// [`ReadPoint`](crate::snapshot) releases when it is dropped.
pub(crate) trait ReadPoints: Send + Sync {
    /// Registers a read point at the last published commit; returns its
    /// number.
    fn register(&self) -> u64;
    /// Releases a read point taken at `at`.
    fn release(&self, at: u64);
}

/// The listeners of every table of a database, each at the slot the table
/// registered (in field order), and the database's commit hook: one lock
/// for the whole commit step, whatever the tables' row types.
#[derive(Default)]
pub struct Tables {
    slots: Vec<Box<dyn Any + Send>>,
    hook: Option<Arc<dyn DatabaseHook>>,
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("tables", &self.slots.len())
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Tables {
    /// The listeners of the table registered at `slot`, of type `T`.
    ///
    /// # Panics
    ///
    /// If `slot` holds no `T`: a table only asks for its own slot.
    pub(crate) fn table<T: Any>(&mut self, slot: usize) -> &mut T {
        self.slots[slot]
            .downcast_mut()
            .expect("a table's slot holds its listeners")
    }

    /// Registers a table's listeners; returns its slot.
    pub(crate) fn add<T: Any + Send>(&mut self, listeners: T) -> usize {
        self.slots.push(Box::new(listeners));
        self.slots.len() - 1
    }

    /// The database's commit hook, if it has one.
    pub(crate) fn hook(&self) -> Option<&Arc<dyn DatabaseHook>> {
        self.hook.as_ref()
    }
}

/// The commit lock, held: what it guards is reachable through `Deref`.
#[derive(Debug)]
pub(crate) struct CommitLock<'o, G>(MutexGuard<'o, Guarded<G>>);

impl<G> CommitLock<'_, G> {
    /// Whether a read point is registered: a commit made now keeps the
    /// versions it replaces for them.
    pub(crate) fn versioning(&self) -> bool {
        !self.0.read_points.is_empty()
    }
}

impl<G> std::ops::Deref for CommitLock<'_, G> {
    type Target = G;
    fn deref(&self) -> &G {
        &self.0.data
    }
}

impl<G> std::ops::DerefMut for CommitLock<'_, G> {
    fn deref_mut(&mut self) -> &mut G {
        &mut self.0.data
    }
}

impl CommitOrder<Tables> {
    /// A new order for the tables of a database, whose first change gets
    /// sequence number 1.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::new(0, Tables::default()))
    }

    /// [`shared`](Self::shared), every commit handed to `hook` first: the
    /// hook keeps the order listening, so every commit takes the lock.
    pub fn shared_with_hook(hook: Arc<dyn DatabaseHook>) -> Arc<Self> {
        Self::restored(0, hook)
    }

    /// [`shared_with_hook`](Self::shared_with_hook) for a database
    /// restored from storage: its first change gets sequence number
    /// `last_seq + 1` (`last_seq` at most [`MAX_SEQ`]).
    pub fn restored(last_seq: u64, hook: Arc<dyn DatabaseHook>) -> Arc<Self> {
        let order = Arc::new(Self::new(last_seq, Tables::default()));
        {
            let mut lock = order.lock();
            order.listen(&mut lock);
            lock.hook = Some(hook);
        }
        order
    }
}

impl<G> CommitOrder<G> {
    /// An order whose first change gets sequence number `last_seq + 1`
    /// (`last_seq` at most [`MAX_SEQ`]), its lock guarding `data`.
    pub(crate) fn new(last_seq: u64, data: G) -> Self {
        debug_assert!(last_seq <= MAX_SEQ);
        Self {
            numbers: Numbers {
                state: AtomicU64::new(last_seq << SEQ_SHIFT),
                published: AtomicU64::new(last_seq),
            },
            inner: Mutex::new(Guarded {
                listening: 0,
                read_points: ReadPointSet::default(),
                histories: Vec::new(),
                data,
            }),
        }
    }

    /// Takes the commit lock.
    pub(crate) fn lock(&self) -> CommitLock<'_, G> {
        // The listeners stay consistent across a panic in a hook.
        CommitLock(self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The sequence numbers.
    pub(crate) fn numbers(&self) -> &Numbers {
        &self.numbers
    }

    /// Counts one more table with a listener, under the commit lock. The
    /// first sets the flag and waits until every lock-free commit in flight
    /// has finished (its change visible): from then on, every commit takes
    /// the lock.
    pub(crate) fn listen(&self, lock: &mut CommitLock<'_, G>) {
        lock.0.listening += 1;
        if lock.0.listening > 1 {
            return;
        }
        self.numbers.state.fetch_or(LISTENING, Ordering::AcqRel);
        // They never take the lock held here.
        while self.numbers.state.load(Ordering::Acquire) & IN_FLIGHT_MASK != 0 {
            std::thread::yield_now();
        }
    }

    /// Counts one table with a listener less, under the commit lock; the
    /// last clears the flag.
    pub(crate) fn unlisten(&self, lock: &mut CommitLock<'_, G>) {
        lock.0.listening -= 1;
        if lock.0.listening == 0 {
            self.numbers.state.fetch_and(!LISTENING, Ordering::AcqRel);
        }
    }

    /// Adds a table's history to those pruned when read points go.
    pub(crate) fn add_history(&self, history: Weak<dyn Prune>) {
        self.lock().0.histories.push(history);
    }
}

impl<G: Send> ReadPoints for CommitOrder<G> {
    /// Under the commit lock, with every lock-free commit in flight
    /// drained by [`listen`](CommitOrder::listen): every change numbered up
    /// to the read point is visible, and every later one takes the lock
    /// and sees the read point registered, so it keeps what it replaces.
    fn register(&self) -> u64 {
        let mut lock = self.lock();
        self.listen(&mut lock);
        let at = self.numbers.last_seq();
        self.numbers.publish(at);
        lock.0.read_points.add(at);
        at
    }

    fn release(&self, at: u64) {
        let mut lock = self.lock();
        let points = &mut lock.0.read_points;
        points.remove(at);
        let oldest = points.oldest();
        self.unlisten(&mut lock);
        // Versions replaced at or below the oldest read point left are seen
        // by nobody; with none left, by nobody at all. A read point
        // registered later reads at the last number or above, under this
        // lock, so it needs none of them either.
        let through = oldest.unwrap_or_else(|| self.numbers.last_seq());
        lock.0.histories.retain(|history| match history.upgrade() {
            Some(history) => {
                history.prune(through);
                true
            }
            None => false,
        });
    }
}

impl Numbers {
    /// The last sequence number given to a change.
    pub(crate) fn last_seq(&self) -> u64 {
        self.state.load(Ordering::Acquire) >> SEQ_SHIFT
    }

    /// Starts a commit: `true` when nobody listens, and the commit is
    /// counted in flight until [`end_lock_free`](Self::end_lock_free) or
    /// [`abandon`](Self::abandon); `false` when the commit must take the
    /// lock.
    pub(crate) fn begin(&self) -> bool {
        let before = self.state.fetch_add(IN_FLIGHT, Ordering::Acquire);
        debug_assert!(
            before & IN_FLIGHT_MASK < IN_FLIGHT_MASK,
            "too many commits in flight"
        );
        if before & LISTENING == 0 {
            return true;
        }
        self.state.fetch_sub(IN_FLIGHT, Ordering::Release);
        false
    }

    /// Ends a lock-free commit whose change is visible: takes its number
    /// and leaves the in-flight count in one step.
    pub(crate) fn end_lock_free(&self) {
        self.state.fetch_add(SEQ_ONE - IN_FLIGHT, Ordering::Release);
    }

    /// Leaves the in-flight count without a number (a lock-free commit
    /// abandoned by a panic).
    pub(crate) fn abandon(&self) {
        self.state.fetch_sub(IN_FLIGHT, Ordering::Release);
    }

    /// The last number readers without a read point see.
    #[inline]
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Makes every change numbered up to `seq` visible to readers without
    /// a read point; under the commit lock, after the changes are applied.
    pub(crate) fn publish(&self, seq: u64) {
        self.published.store(seq, Ordering::Release);
    }

    /// Takes the next number; returns it. Only under the commit lock (a
    /// lock-free commit takes its number with
    /// [`end_lock_free`](Self::end_lock_free)).
    pub(crate) fn take_next(&self) -> u64 {
        (self.state.fetch_add(SEQ_ONE, Ordering::AcqRel) >> SEQ_SHIFT) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::ReadPointSet;

    #[test]
    fn the_oldest_read_point_is_the_first_still_registered() {
        let mut points = ReadPointSet::default();
        assert!(points.is_empty());
        for at in [3, 3, 5, 8, 8, 9] {
            points.add(at);
        }
        assert_eq!(points.oldest(), Some(3));
        points.remove(5);
        points.remove(3);
        assert_eq!(points.oldest(), Some(3), "one of the two at 3 is left");
        points.remove(3);
        assert_eq!(points.oldest(), Some(8));
        points.remove(9);
        points.add(9);
        points.remove(8);
        points.remove(8);
        assert_eq!(points.oldest(), Some(9));
        points.remove(9);
        assert!(points.is_empty());
        assert_eq!(points.oldest(), None);
        // Empty entries in the middle go when they reach an end.
        for at in [1, 2, 3] {
            points.add(at);
        }
        points.remove(2);
        points.remove(1);
        assert_eq!(points.oldest(), Some(3));
        assert_eq!(points.points.len(), 1);
    }
}
