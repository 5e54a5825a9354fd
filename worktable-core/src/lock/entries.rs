//! The map from key to lock entry, and its two operations.

use std::hash::Hash;
use std::sync::Arc;

use dashmap::DashMap;

use super::gate::Gate;

/// The lock of one key: its gate, and how many `RowLock`s (waiting or
/// holding) use it. Only changed under the map's lock for the key.
#[derive(Debug)]
pub(crate) struct LockEntry<G> {
    users: usize,
    gate: Arc<G>,
}

impl<G: Gate> LockEntry<G> {
    fn new() -> Self {
        Self {
            users: 0,
            gate: Arc::new(G::open()),
        }
    }
}

/// A map of lock entries.
pub(crate) trait EntryMap<K, G>: Default + Send + Sync {
    /// Under the key's lock: creates the entry if absent, counts one more
    /// user, and returns the gate.
    fn join(&self, key: &K) -> Arc<G>;

    /// Under the key's lock: counts one user less, and removes the entry
    /// when none is left.
    fn leave(&self, key: &K);

    /// Number of entries.
    fn len(&self) -> usize;
}

impl<K: Hash + Eq + Clone + Send + Sync, G: Gate> EntryMap<K, G> for DashMap<K, LockEntry<G>> {
    fn join(&self, key: &K) -> Arc<G> {
        let mut entry = self.entry(key.clone()).or_insert_with(LockEntry::new);
        entry.users += 1;
        Arc::clone(&entry.gate)
    }

    fn leave(&self, key: &K) {
        self.remove_if_mut(key, |_, entry| {
            entry.users -= 1;
            entry.users == 0
        });
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

    use super::{EntryMap, LockEntry};
    use crate::lock::gate::Gate;

    #[derive(Debug)]
    pub(crate) struct LoomEntries<K, G>(Mutex<HashMap<K, LockEntry<G>>>);

    impl<K, G> Default for LoomEntries<K, G> {
        fn default() -> Self {
            Self(Mutex::new(HashMap::new()))
        }
    }

    impl<K: Hash + Eq + Clone + Send + Sync, G: Gate> EntryMap<K, G> for LoomEntries<K, G> {
        fn join(&self, key: &K) -> std::sync::Arc<G> {
            let mut map = self.0.lock().unwrap();
            let entry = map.entry(key.clone()).or_insert_with(LockEntry::new);
            entry.users += 1;
            std::sync::Arc::clone(&entry.gate)
        }

        fn leave(&self, key: &K) {
            let mut map = self.0.lock().unwrap();
            let entry = map.get_mut(key).expect("a user's entry exists");
            entry.users -= 1;
            if entry.users == 0 {
                map.remove(key);
            }
        }

        fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }
}
