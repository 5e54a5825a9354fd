//! Per-row async locks, created on demand and removed by the last user.
//!
//! # Protocol
//!
//! The lock map holds one [`LockEntry`] per key that some task holds or
//! waits for: the number of *users* — [`RowLock`] values for that key,
//! waiting or holding — and, once somebody had to wait, a *gate* (an async
//! semaphore created without a permit). Only [`EntryMap::join`] and
//! [`EntryMap::leave`] touch an entry, each under the map's lock for that
//! key:
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
//! A task that holds several row locks at once takes them in primary-key
//! order; every multi-row write of the table does, so two of them never
//! deadlock.

mod entries;
mod gate;
#[cfg(all(test, loom))]
mod loom_model;

use std::fmt;
use std::marker::PhantomData;

pub(crate) use entries::{EntryMap, Joined, LockEntry};
pub(crate) use gate::Gate;

/// The lock entries of one table: a `DashMap` with the indexes' hasher.
type Entries<K> = crate::index::HashMap<K, LockEntry<tokio::sync::Semaphore>>;

/// The row locks of one table: tokio semaphores in a `DashMap`.
pub(crate) type LockMap<K> = Locks<K, Entries<K>, tokio::sync::Semaphore>;

/// Row locks over any entry map and gate (loom swaps both in its model).
pub(crate) struct Locks<K, E, G> {
    entries: E,
    _keys: PhantomData<fn(K) -> G>,
}

impl<K, E: Default, G> Default for Locks<K, E, G> {
    fn default() -> Self {
        Self {
            entries: E::default(),
            _keys: PhantomData,
        }
    }
}

impl<K, E: EntryMap<K, G>, G> fmt::Debug for Locks<K, E, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locks")
            .field("locked", &self.entries.len())
            .finish()
    }
}

impl<K: Clone, E: EntryMap<K, G>, G: Gate> Locks<K, E, G> {
    /// Waits until this task holds the lock of `key`.
    ///
    /// Cancel-safe: dropping the future while it waits leaves no permit taken
    /// and no entry behind.
    pub(crate) async fn lock(&self, key: &K) -> RowLock<'_, K, E, G> {
        let joined = self.entries.join(key);
        // The entry counts this user from here on: the `RowLock` leaves it
        // when dropped, also if this future is dropped while it waits.
        let mut lock = RowLock {
            entries: &self.entries,
            key: key.clone(),
            held: false,
            _gate: PhantomData,
        };
        if let Joined::Waits(gate) = joined {
            gate.take().await;
        }
        lock.held = true;
        lock
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

    #[tokio::test]
    async fn lock_entry_is_removed_after_release() {
        let locks = LockMap::<u32>::default();
        let first = locks.lock(&1).await;
        assert_eq!(locks.len(), 1);
        drop(first);
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn second_locker_waits_and_cancelled_waiter_leaves_nothing() {
        let locks = LockMap::<u32>::default();
        let held = locks.lock(&7).await;
        let waited = tokio::time::timeout(Duration::from_millis(20), locks.lock(&7)).await;
        assert!(
            waited.is_err(),
            "the lock is held, so the second locker must wait"
        );
        assert_eq!(locks.len(), 1);
        drop(held);
        assert_eq!(locks.len(), 0);
        let again = locks.lock(&7).await;
        drop(again);
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_the_holder_leaves() {
        let locks = Arc::new(LockMap::<u32>::default());
        let held = locks.lock(&3).await;
        let waiter = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move {
                let _lock = locks.lock(&3).await;
            })
        };
        tokio::task::yield_now().await;
        assert_eq!(locks.len(), 1, "one entry shared by holder and waiter");
        drop(held);
        waiter.await.unwrap();
        assert_eq!(locks.len(), 0);
    }
}
