//! Per-row async locks, created on demand and removed by the last holder.
//!
//! # Protocol
//!
//! The map holds, for each primary key somebody is locking, an
//! `Arc<Semaphore>` with one permit. To lock a key a task
//!
//! 1. takes (or creates) the key's semaphore under the map's shard lock and
//!    clones its `Arc` — clones happen only under that shard lock;
//! 2. acquires the permit, waiting asynchronously (the tokio worker thread is
//!    free meanwhile), and forgets it: holding the lock means "took the permit
//!    and has not given it back";
//! 3. to unlock (or when a waiting task is cancelled) gives the permit back if
//!    it holds it, drops its `Arc`, and then removes the map entry *if the
//!    map's `Arc` is the only one left*, checked under the shard lock.
//!
//! Every holder or waiter owns one `Arc`, and each drops it before its own
//! removal check, so the last one to leave sees a count of one and removes the
//! entry; a task arriving later either cloned the `Arc` before that check
//! (count above one: the entry stays) or finds the key absent and creates a
//! fresh semaphore. No entry outlives its last holder or waiter.

use std::fmt;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::Semaphore;

use crate::row::Key;

/// The row locks of one table.
pub(crate) struct LockMap<K> {
    locks: DashMap<K, Arc<Semaphore>>,
}

impl<K: Key> Default for LockMap<K> {
    fn default() -> Self {
        Self {
            locks: DashMap::new(),
        }
    }
}

impl<K: Key> fmt::Debug for LockMap<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockMap")
            .field("locked", &self.locks.len())
            .finish()
    }
}

impl<K: Key> LockMap<K> {
    /// Waits until this task holds the lock of `key`.
    ///
    /// Cancel-safe: dropping the future while it waits leaves no permit taken
    /// and no map entry behind.
    pub(crate) async fn lock(&self, key: &K) -> RowLock<'_, K> {
        let semaphore = Arc::clone(
            self.locks
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(1)))
                .value(),
        );
        let mut lock = RowLock {
            map: self,
            key: key.clone(),
            semaphore: Some(semaphore),
            held: false,
        };
        let semaphore = lock.semaphore.as_deref().expect("set above");
        match semaphore.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(_) => semaphore
                .acquire()
                .await
                .expect("row-lock semaphores are never closed")
                .forget(),
        }
        lock.held = true;
        lock
    }

    /// Number of keys with a holder or a waiter.
    pub(crate) fn len(&self) -> usize {
        self.locks.len()
    }
}

/// A held row lock; unlocks on drop.
pub(crate) struct RowLock<'a, K: Key> {
    map: &'a LockMap<K>,
    key: K,
    /// `Some` until dropped.
    semaphore: Option<Arc<Semaphore>>,
    /// Whether this lock took the permit (false while still waiting).
    held: bool,
}

impl<K: Key> fmt::Debug for RowLock<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowLock")
            .field("key", &self.key)
            .field("held", &self.held)
            .finish()
    }
}

impl<K: Key> Drop for RowLock<'_, K> {
    fn drop(&mut self) {
        if let Some(semaphore) = self.semaphore.take() {
            if self.held {
                semaphore.add_permits(1);
            }
            drop(semaphore);
            self.map
                .locks
                .remove_if(&self.key, |_, semaphore| Arc::strong_count(semaphore) == 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        drop(held);
        assert_eq!(locks.len(), 0);
        let again = locks.lock(&7).await;
        drop(again);
        assert_eq!(locks.len(), 0);
    }
}
