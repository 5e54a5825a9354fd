//! Per-row async locks, created on demand and removed by the last user.
//!
//! # Protocol
//!
//! The lock map holds one [`LockEntry`] per key that some task holds or
//! waits for: the number of *users* — [`RowLock`] values for that key,
//! waiting or holding — and, once somebody had to wait, a *gate* (an async
//! semaphore created without a permit) — and, while a `RowGuard` holds
//! the lock, the guard's task (see the self-deadlock check below). Only
//! [`EntryMap::join`], [`EntryMap::leave`] and, for that task,
//! [`EntryMap::record_guard`] touch an entry, each under the map's lock for
//! that key:
//!
//! 1. `join` counts one more user, creating the entry if needed. The user
//!    that creates it holds the lock at once: no gate, no allocation, which
//!    is every lock nobody else wants. A later user gets the gate (making it
//!    if it is the first to wait) and waits for its permit — asynchronously,
//!    so a tokio worker thread is never blocked. Taking the permit is
//!    taking the lock.
//! 2. when the `RowLock` is dropped — unlocked, or cancelled while waiting —
//!    `leave` counts one user less and removes the entry when none is left;
//!    a leaving holder with users left gives the gate a permit, which hands
//!    the lock to one waiter.
//!
//! # Self-deadlock check
//!
//! A lock taken for a `RowGuard` records in the entry the task that took it
//! ([`TaskId`]) for as long as it holds the lock: in `join` when it holds at
//! once, else under the map's lock (in [`EntryMap::record_guard`]) right
//! after taking the permit, with no `.await` in between, so before its
//! `lock` call returns. A leaving holder clears it. The table's own writes
//! record nothing. A `join` that finds the lock held by a guard compares the
//! joiner's task with the recorded one; if they are equal the joiner would
//! wait for itself forever, so it is refused ([`HeldBySameTask`]) and not
//! counted: the entry is as it was. Only this case looks up the joiner's
//! task, so a lock nobody contends costs what it did without the check.
//!
//! The check is exact for a guard that stays with the task that took it: a
//! recorded task always belongs to the current holder (only the holder sets
//! it, and it clears it before handing the lock on), and the holder's task
//! sees its own record from the moment its `lock` returns. It knows nothing
//! of a guard moved to another task (the record still names the taking
//! task), and a locker already waiting when the guard takes the lock is not
//! checked again.
//!
//! Invariant: an entry exists exactly while its user count is above zero,
//! and the count equals the number of live `RowLock`s for the key. While it
//! exists, the holders plus the permits in its gate number at most one: a
//! permit is only given by a leaving holder, and a waiter cancelled after
//! being given the permit leaves it in the gate for the next (tokio returns
//! it when the waiting future is dropped). When the last user leaves, the
//! entry goes with whatever permit is left, and the next `join` starts
//! afresh as holder. So two tasks locking one key always share one entry,
//! at most one holds it, and no entry outlives its last user. The protocol
//! is model-checked with loom in `loom_model` (see its docs for the
//! command).
//!
//! # Lock order
//!
//! The order of every lock of the crates, row locks among them, is kept in
//! one table: `ARCHITECTURE.md` at the repository root, "Locks, and the
//! order they are taken in". For row locks it says: several are taken in
//! primary-key order (`WorkTable::lock_in_order`).
//!
//! Depends on: `hash`, `observe` (a wait's trace and metrics).

mod entries;
mod gate;
#[cfg(all(test, loom))]
#[allow(
    unsafe_code,
    reason = "loom's UnsafeCell checks the data the model's locks guard"
)]
mod loom_model;
mod task;

use std::fmt;
use std::marker::PhantomData;

pub(crate) use entries::{EntryMap, Joined, LockEntry};
pub(crate) use gate::Gate;
pub(crate) use task::{HeldBySameTask, Locker, TaskId};

use crate::observe;

/// The lock entries of one table: a `DashMap` with core's hasher.
type Entries<K> = crate::hash::HashMap<K, LockEntry<tokio::sync::Semaphore>>;

/// The row locks of one table: tokio semaphores in a `DashMap`.
pub(crate) type LockMap<K> = Locks<K, Entries<K>, tokio::sync::Semaphore>;

/// Row locks over any entry map and gate (loom swaps both in its model).
pub(crate) struct Locks<K, E, G> {
    entries: E,
    /// The table's name, for the traces and metrics of waits.
    table: &'static str,
    _keys: PhantomData<fn(K) -> G>,
}

impl<K, E: Default, G> Locks<K, E, G> {
    /// No row of the table `table` locked.
    pub(crate) fn new(table: &'static str) -> Self {
        Self {
            entries: E::default(),
            table,
            _keys: PhantomData,
        }
    }
}

impl<K, E: EntryMap<K, G>, G: Gate> fmt::Debug for Locks<K, E, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locks")
            .field("table", &self.table)
            .field("locked", &self.entries.len())
            .finish()
    }
}

impl<K: Clone + fmt::Debug, E: EntryMap<K, G>, G: Gate> Locks<K, E, G> {
    /// Waits until this task holds the lock of `key`, for a table write or,
    /// recording its task, for a `RowGuard` (see `locker`).
    ///
    /// # Errors
    ///
    /// [`HeldBySameTask`] at once, when the key's lock is held by a guard
    /// that the calling task took: nothing is counted or changed.
    ///
    /// Cancel-safe: dropping the future while it waits leaves no permit taken
    /// and no entry behind.
    pub(crate) async fn lock(
        &self,
        key: &K,
        locker: Locker<G::Task>,
    ) -> Result<RowLock<'_, K, E, G>, HeldBySameTask> {
        let joined = self.entries.join(key, locker);
        if let Joined::HeldBySameTask = joined {
            return Err(HeldBySameTask);
        }
        // The entry counts this user from here on: the `RowLock` leaves it
        // when dropped, also if this future is dropped while it waits.
        let mut lock = RowLock {
            entries: &self.entries,
            key: key.clone(),
            held: false,
            _gate: PhantomData,
        };
        if let Joined::Waits(gate) = joined {
            let waiting = observe::Stopwatch::start();
            gate.take().await;
            // This user holds the lock now; record the guard's task before
            // returning to it (no `.await` in between).
            if let Locker::Guard(Some(task)) = locker {
                self.entries.record_guard(key, task);
            }
            observe::row_lock_waited(self.table, key, waiting);
        }
        lock.held = true;
        Ok(lock)
    }

    /// Number of keys with a holder or a waiter.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A user of one key's lock: holding it once [`Locks::lock`] has returned.
/// Unlocks on drop.
pub(crate) struct RowLock<'a, K, E: EntryMap<K, G>, G: Gate> {
    entries: &'a E,
    key: K,
    /// Whether this user holds the lock (false while still waiting).
    held: bool,
    _gate: PhantomData<fn() -> G>,
}

impl<K, E: EntryMap<K, G>, G: Gate> RowLock<'_, K, E, G> {
    /// The locked key.
    pub(crate) fn key(&self) -> &K {
        &self.key
    }
}

impl<K: fmt::Debug, E: EntryMap<K, G>, G: Gate> fmt::Debug for RowLock<'_, K, E, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowLock")
            .field("key", &self.key)
            .field("held", &self.held)
            .finish()
    }
}

impl<K, E: EntryMap<K, G>, G: Gate> Drop for RowLock<'_, K, E, G> {
    fn drop(&mut self) {
        self.entries.leave(&self.key, self.held);
    }
}

/// The lock of one row as the table uses it.
pub(crate) type TableRowLock<'a, K> = RowLock<'a, K, Entries<K>, tokio::sync::Semaphore>;

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    const WRITE: Locker<TaskId> = Locker::Write;

    #[tokio::test]
    async fn lock_entry_is_removed_after_release() {
        let locks = LockMap::<u32>::new("test");
        let first = locks.lock(&1, WRITE).await.unwrap();
        assert_eq!(locks.len(), 1);
        drop(first);
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn second_locker_waits_and_cancelled_waiter_leaves_nothing() {
        let locks = LockMap::<u32>::new("test");
        let held = locks.lock(&7, WRITE).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(20), locks.lock(&7, WRITE)).await;
        assert!(
            waited.is_err(),
            "the lock is held, so the second locker must wait"
        );
        assert_eq!(locks.len(), 1);
        drop(held);
        assert_eq!(locks.len(), 0);
        let again = locks.lock(&7, WRITE).await.unwrap();
        drop(again);
        assert_eq!(locks.len(), 0);
    }

    /// The lock of `key` as a `RowGuard` of the running task takes it.
    async fn guard_lock(locks: &LockMap<u32>, key: u32) -> TableRowLock<'_, u32> {
        locks
            .lock(&key, Locker::Guard(TaskId::current()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_task_locking_a_key_its_own_guard_holds_is_refused_and_not_counted() {
        let locks = Arc::new(LockMap::<u32>::new("test"));
        let guard = guard_lock(&locks, 5).await;
        for locker in [WRITE, Locker::Guard(TaskId::current())] {
            assert_eq!(locks.lock(&5, locker).await.err(), Some(HeldBySameTask));
        }
        assert_eq!(locks.len(), 1);
        // Another key, and another task's write of this one, are not refused.
        drop(locks.lock(&6, WRITE).await.unwrap());
        let other = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { locks.lock(&5, WRITE).await.map(drop) })
        };
        tokio::task::yield_now().await;
        assert!(!other.is_finished(), "another task's write must wait");
        drop(guard);
        other.await.unwrap().unwrap();
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn a_guard_that_waited_records_its_task_and_its_leaving_clears_it() {
        let locks = Arc::new(LockMap::<u32>::new("test"));
        let first = guard_lock(&locks, 1).await;
        let (taken, is_taken) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let second = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move {
                let guard = guard_lock(&locks, 1).await;
                let relock = locks.lock(&1, WRITE).await.err();
                taken.send(relock).unwrap();
                released.await.unwrap();
                drop(guard);
            })
        };
        tokio::task::yield_now().await;
        drop(first);
        assert_eq!(is_taken.await.unwrap(), Some(HeldBySameTask));
        // This task's guard has left: its write waits for the other guard
        // instead of being refused.
        let mut write = Box::pin(locks.lock(&1, WRITE));
        assert!(futures::poll!(&mut write).is_pending());
        release.send(()).unwrap();
        drop(write.await.unwrap());
        second.await.unwrap();
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_the_holder_leaves() {
        let locks = Arc::new(LockMap::<u32>::new("test"));
        let held = locks.lock(&3, WRITE).await.unwrap();
        let waiter = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move {
                let _lock = locks.lock(&3, WRITE).await.unwrap();
            })
        };
        tokio::task::yield_now().await;
        assert_eq!(locks.len(), 1, "one entry shared by holder and waiter");
        drop(held);
        waiter.await.unwrap();
        assert_eq!(locks.len(), 0);
    }
}
