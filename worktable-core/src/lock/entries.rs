//! The map from key to lock entry, and its operations.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use dashmap::DashMap;

use super::gate::Gate;
use super::task::Locker;

/// The lock of one key: how many `RowLock`s (waiting or holding) use it,
/// the gate its waiters wait at — made by the first one to wait — and the
/// task of the `RowGuard` holding it, if a guard does. Only changed under
/// the map's lock for the key.
#[derive(Debug)]
pub(crate) struct LockEntry<G: Gate> {
    users: usize,
    gate: Option<Arc<G>>,
    /// `Some(task)` only while a `RowGuard` that `task` took holds the lock:
    /// set when the guard becomes the holder (in `join` when it holds at
    /// once, else in `record_guard` right after it took the permit, before
    /// its `lock` call returns) and cleared when the holder leaves. A
    /// table's own write never sets it.
    guard_task: Option<G::Task>,
}

/// What [`EntryMap::join`] found.
#[derive(Debug)]
pub(crate) enum Joined<G> {
    /// No entry: the caller made it and holds the lock.
    Holds,
    /// Another user holds the lock: wait at this gate.
    Waits(Arc<G>),
    /// A `RowGuard` of the joining task holds the lock, so waiting would
    /// never end: the caller was not counted, nothing changed.
    HeldBySameTask,
}

impl<G: Gate> LockEntry<G> {
    /// An entry nobody uses yet, without a gate.
    fn new() -> Self {
        Self {
            users: 0,
            gate: None,
            guard_task: None,
        }
    }

    /// Counts one more user; see [`EntryMap::join`].
    fn join(&mut self, locker: Locker<G::Task>) -> Joined<G> {
        if self.users == 0 {
            self.users = 1;
            if let Locker::Guard(task) = locker {
                self.guard_task = task;
            }
            return Joined::Holds;
        }
        // Only when a guard holds the key is the joiner's task looked up
        // (a thread-local read): never on a lock nobody contends.
        if let Some(holder) = self.guard_task
            && locker.task(G::current_task) == Some(holder)
        {
            return Joined::HeldBySameTask;
        }
        self.users += 1;
        Joined::Waits(Arc::clone(
            self.gate.get_or_insert_with(|| Arc::new(G::closed())),
        ))
    }

    /// Records that a guard of `task`, which waited, now holds the lock;
    /// see [`EntryMap::record_guard`].
    fn record_guard(&mut self, task: G::Task) {
        self.guard_task = Some(task);
    }

    /// Counts one user less; see [`EntryMap::leave`]. Returns whether the
    /// entry is now unused.
    fn leave(&mut self, held: bool) -> bool {
        self.users -= 1;
        if self.users == 0 {
            return true;
        }
        if held {
            self.guard_task = None;
            self.gate
                .as_ref()
                .expect("a waiter made the gate when it joined")
                .give_back();
        }
        false
    }
}

/// A map of lock entries.
pub(crate) trait EntryMap<K, G: Gate>: Default + Send + Sync {
    /// Under the key's lock: counts one more user, creating the entry if
    /// absent. The user that creates the entry holds the lock at once (a
    /// guard records its task); later ones wait at the gate — except a
    /// locker whose own task's guard holds the key, which is refused and
    /// not counted.
    fn join(&self, key: &K, locker: Locker<G::Task>) -> Joined<G>;

    /// Under the key's lock: records `task` as the task of the guard that
    /// has just taken the key's permit after waiting. The entry exists: the
    /// guard is one of its users.
    fn record_guard(&self, key: &K, task: G::Task);

    /// Under the key's lock: counts one user less and removes the entry
    /// when none is left. A leaving holder (`held`) with users left clears
    /// the guard's task and hands the lock to one of them through the gate.
    fn leave(&self, key: &K, held: bool);

    /// Number of entries.
    fn len(&self) -> usize;
}

impl<K, G, S> EntryMap<K, G> for DashMap<K, LockEntry<G>, S>
where
    K: Hash + Eq + Clone + Send + Sync,
    G: Gate,
    S: BuildHasher + Clone + Default + Send + Sync,
{
    fn join(&self, key: &K, locker: Locker<G::Task>) -> Joined<G> {
        self.entry(key.clone())
            .or_insert_with(LockEntry::new)
            .join(locker)
    }

    fn record_guard(&self, key: &K, task: G::Task) {
        self.get_mut(key)
            .expect("a user's entry exists")
            .record_guard(task);
    }

    fn leave(&self, key: &K, held: bool) {
        self.remove_if_mut(key, |_, entry| entry.leave(held));
    }

    fn len(&self) -> usize {
        DashMap::len(self)
    }
}

#[cfg(all(test, loom))]
pub(crate) mod loom_map {
    //! The same operations over a loom mutex, for the model.

    use std::collections::HashMap;
    use std::hash::Hash;

    use loom::sync::Mutex;

    use super::{EntryMap, Joined, LockEntry};
    use crate::lock::gate::Gate;
    use crate::lock::task::Locker;

    #[derive(Debug)]
    pub(crate) struct LoomEntries<K, G: Gate>(Mutex<HashMap<K, LockEntry<G>>>);

    impl<K, G: Gate> Default for LoomEntries<K, G> {
        fn default() -> Self {
            Self(Mutex::new(HashMap::new()))
        }
    }

    impl<K: Hash + Eq + Clone + Send + Sync, G: Gate> EntryMap<K, G> for LoomEntries<K, G> {
        fn join(&self, key: &K, locker: Locker<G::Task>) -> Joined<G> {
            let mut map = self.0.lock().unwrap();
            map.entry(key.clone())
                .or_insert_with(LockEntry::new)
                .join(locker)
        }

        fn record_guard(&self, key: &K, task: G::Task) {
            let mut map = self.0.lock().unwrap();
            map.get_mut(key)
                .expect("a user's entry exists")
                .record_guard(task);
        }

        fn leave(&self, key: &K, held: bool) {
            let mut map = self.0.lock().unwrap();
            let entry = map.get_mut(key).expect("a user's entry exists");
            if entry.leave(held) {
                map.remove(key);
            }
        }

        fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }
}
