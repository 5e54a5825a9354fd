//! The map from key to lock entry, and its two operations.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use dashmap::DashMap;

use super::gate::Gate;

/// The lock of one key: how many `RowLock`s (waiting or holding) use it,
/// and the gate its waiters wait at — made by the first one to wait. Only
/// changed under the map's lock for the key.
#[derive(Debug)]
pub(crate) struct LockEntry<G> {
    users: usize,
    gate: Option<Arc<G>>,
}

/// What [`EntryMap::join`] found.
#[derive(Debug)]
pub(crate) enum Joined<G> {
    /// No entry: the caller made it and holds the lock.
    Holds,
    /// Another user holds the lock: wait at this gate.
    Waits(Arc<G>),
}

impl<G: Gate> LockEntry<G> {
    /// An entry nobody uses yet, without a gate.
    fn new() -> Self {
        Self {
            users: 0,
            gate: None,
        }
    }

    /// Counts one more user; see [`EntryMap::join`].
    fn join(&mut self) -> Joined<G> {
        self.users += 1;
        if self.users == 1 {
            return Joined::Holds;
        }
        Joined::Waits(Arc::clone(
            self.gate.get_or_insert_with(|| Arc::new(G::closed())),
        ))
    }

    /// Counts one user less; see [`EntryMap::leave`]. Returns whether the
    /// entry is now unused.
    fn leave(&mut self, held: bool) -> bool {
        self.users -= 1;
        if self.users == 0 {
            return true;
        }
        if held {
            self.gate
                .as_ref()
                .expect("a waiter made the gate when it joined")
                .give_back();
        }
        false
    }
}

/// A map of lock entries.
pub(crate) trait EntryMap<K, G>: Default + Send + Sync {
    /// Under the key's lock: counts one more user, creating the entry if
    /// absent. The user that creates the entry holds the lock at once;
    /// later ones wait at the gate.
    fn join(&self, key: &K) -> Joined<G>;

    /// Under the key's lock: counts one user less and removes the entry
    /// when none is left. A leaving holder (`held`) with users left hands
    /// the lock to one of them through the gate.
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
    fn join(&self, key: &K) -> Joined<G> {
        self.entry(key.clone())
            .or_insert_with(LockEntry::new)
            .join()
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

    #[derive(Debug)]
    pub(crate) struct LoomEntries<K, G>(Mutex<HashMap<K, LockEntry<G>>>);

    impl<K, G> Default for LoomEntries<K, G> {
        fn default() -> Self {
            Self(Mutex::new(HashMap::new()))
        }
    }

    impl<K: Hash + Eq + Clone + Send + Sync, G: Gate> EntryMap<K, G> for LoomEntries<K, G> {
        fn join(&self, key: &K) -> Joined<G> {
            let mut map = self.0.lock().unwrap();
            map.entry(key.clone()).or_insert_with(LockEntry::new).join()
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
