//! `multi_index_map`: a slab of rows with one derived lookup map per indexed
//! field, single-threaded; behind a `RwLock` for the threaded workload.

use std::sync::RwLock;

use multi_index_map::MultiIndexMap;

use crate::{SharedSystem, System, User};

/// The row as `multi_index_map` stores it: [`User`]'s fields with index
/// annotations (the derive generates [`MultiIndexUserEntryMap`]). Hash maps
/// use the crate's default hasher (rustc-hash).
#[derive(MultiIndexMap, Clone, Debug)]
#[multi_index_derive(Debug)]
pub struct UserEntry {
    #[multi_index(hashed_unique)]
    id: u64,
    #[multi_index(hashed_unique)]
    email: String,
    #[multi_index(hashed_non_unique)]
    age: u32,
    name: String,
    balance: i64,
}

impl From<User> for UserEntry {
    fn from(user: User) -> Self {
        let User {
            id,
            email,
            age,
            name,
            balance,
        } = user;
        Self {
            id,
            email,
            age,
            name,
            balance,
        }
    }
}

impl From<&UserEntry> for User {
    fn from(entry: &UserEntry) -> Self {
        User {
            id: entry.id,
            email: entry.email.clone(),
            age: entry.age,
            name: entry.name.clone(),
            balance: entry.balance,
        }
    }
}

/// A [`MultiIndexUserEntryMap`], used directly (no lock) by the
/// single-threaded workloads.
#[derive(Debug, Default)]
pub struct MultiIndex {
    map: MultiIndexUserEntryMap,
}

/// [`MultiIndex`] shared by threads: the map behind a `RwLock`.
#[derive(Debug)]
pub struct MultiIndexShared {
    map: RwLock<MultiIndexUserEntryMap>,
}

impl System for MultiIndex {
    const NAME: &'static str = "multi_index_map";
    type Shared = MultiIndexShared;

    fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, user: User) -> bool {
        self.map.try_insert(user.into()).is_ok()
    }

    fn get(&self, id: u64) -> Option<User> {
        self.map.get_by_id(&id).map(User::from)
    }

    fn read_balance(&self, id: u64) -> Option<i64> {
        self.map.get_by_id(&id).map(|entry| entry.balance)
    }

    fn get_by_email(&self, email: &str) -> Option<User> {
        self.map.get_by_email(email).map(User::from)
    }

    fn find_by_age(&self, age: u32) -> Vec<User> {
        self.map
            .get_by_age(&age)
            .into_iter()
            .map(User::from)
            .collect()
    }

    fn set_balance(&mut self, id: u64, balance: i64) -> bool {
        // `update_by_` hands out the unindexed fields only: no re-indexing.
        self.map
            .update_by_id(&id, |_name, row_balance| *row_balance = balance)
            .is_some()
    }

    fn set_age(&mut self, id: u64, age: u32) -> bool {
        // `modify_by_` hands out the whole row and re-indexes afterwards.
        self.map
            .modify_by_id(&id, |entry| entry.age = age)
            .is_some()
    }

    fn delete(&mut self, id: u64) -> bool {
        self.map.remove_by_id(&id).is_some()
    }

    fn scan_balance_below(&self, limit: i64) -> Vec<User> {
        self.map
            .iter()
            .filter(|(_, entry)| entry.balance < limit)
            .map(|(_, entry)| User::from(entry))
            .collect()
    }

    fn into_shared(self) -> MultiIndexShared {
        MultiIndexShared {
            map: RwLock::new(self.map),
        }
    }
}

impl SharedSystem for MultiIndexShared {
    fn get(&self, id: u64) -> Option<User> {
        self.map
            .read()
            .expect("not poisoned")
            .get_by_id(&id)
            .map(User::from)
    }

    fn set_balance(&self, id: u64, balance: i64) -> bool {
        self.map
            .write()
            .expect("not poisoned")
            .update_by_id(&id, |_name, row_balance| *row_balance = balance)
            .is_some()
    }
}
