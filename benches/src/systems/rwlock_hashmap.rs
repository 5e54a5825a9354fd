//! The hand-rolled baseline: one `RwLock` around a `HashMap` of rows, a
//! `HashMap` email index and a `BTreeMap` age index, kept in step by hand.

use std::collections::{BTreeMap, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::{SharedSystem, System, User};

/// What a careful user would hand-roll: one `RwLock` around the rows and
/// their index maps (std `HashMap`s with the default hasher, a `BTreeMap`
/// for the non-unique index), kept in step by hand.
#[derive(Debug, Default)]
pub struct RwLockHashMap {
    inner: RwLock<Maps>,
}

/// The rows and their indexes.
///
/// Invariant: `by_email` and `by_age` hold exactly one entry per row of
/// `rows`, with that row's email / (age, id).
#[derive(Debug, Default)]
struct Maps {
    rows: HashMap<u64, User>,
    by_email: HashMap<String, u64>,
    by_age: BTreeMap<(u32, u64), ()>,
}

impl RwLockHashMap {
    fn read(&self) -> RwLockReadGuard<'_, Maps> {
        self.inner.read().expect("not poisoned")
    }

    fn write(&self) -> RwLockWriteGuard<'_, Maps> {
        self.inner.write().expect("not poisoned")
    }

    /// Inserts `user` unless its key or email is taken.
    pub fn insert(&self, user: User) -> bool {
        let mut maps = self.write();
        if maps.rows.contains_key(&user.id) || maps.by_email.contains_key(&user.email) {
            return false;
        }
        maps.by_email.insert(user.email.clone(), user.id);
        maps.by_age.insert((user.age, user.id), ());
        maps.rows.insert(user.id, user);
        true
    }

    /// The user with key `id`, cloned.
    pub fn get(&self, id: u64) -> Option<User> {
        self.read().rows.get(&id).cloned()
    }

    /// The user with `email`, cloned.
    pub fn get_by_email(&self, email: &str) -> Option<User> {
        let maps = self.read();
        let id = maps.by_email.get(email)?;
        maps.rows.get(id).cloned()
    }

    /// Sets the balance of user `id`.
    pub fn set_balance(&self, id: u64, balance: i64) -> bool {
        match self.write().rows.get_mut(&id) {
            Some(user) => {
                user.balance = balance;
                true
            }
            None => false,
        }
    }
}

impl System for RwLockHashMap {
    const NAME: &'static str = "rwlock_hashmap";
    type Shared = Self;

    fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, user: User) -> bool {
        RwLockHashMap::insert(self, user)
    }

    fn get(&self, id: u64) -> Option<User> {
        RwLockHashMap::get(self, id)
    }

    fn read_balance(&self, id: u64) -> Option<i64> {
        self.read().rows.get(&id).map(|user| user.balance)
    }

    fn get_by_email(&self, email: &str) -> Option<User> {
        RwLockHashMap::get_by_email(self, email)
    }

    fn find_by_age(&self, age: u32) -> Vec<User> {
        let maps = self.read();
        maps.by_age
            .range((age, 0)..=(age, u64::MAX))
            .map(|(&(_, id), ())| maps.rows[&id].clone())
            .collect()
    }

    fn set_balance(&mut self, id: u64, balance: i64) -> bool {
        RwLockHashMap::set_balance(self, id, balance)
    }

    fn set_age(&mut self, id: u64, age: u32) -> bool {
        let mut maps = self.write();
        let Some(user) = maps.rows.get_mut(&id) else {
            return false;
        };
        let old = std::mem::replace(&mut user.age, age);
        if old != age {
            maps.by_age.remove(&(old, id));
            maps.by_age.insert((age, id), ());
        }
        true
    }

    fn delete(&mut self, id: u64) -> bool {
        let mut maps = self.write();
        let Some(user) = maps.rows.remove(&id) else {
            return false;
        };
        maps.by_email.remove(&user.email);
        maps.by_age.remove(&(user.age, id));
        true
    }

    fn scan_balance_below(&self, limit: i64) -> Vec<User> {
        self.read()
            .rows
            .values()
            .filter(|user| user.balance < limit)
            .cloned()
            .collect()
    }

    fn into_shared(self) -> Self {
        self
    }
}

impl SharedSystem for RwLockHashMap {
    fn get(&self, id: u64) -> Option<User> {
        RwLockHashMap::get(self, id)
    }

    fn set_balance(&self, id: u64, balance: i64) -> bool {
        RwLockHashMap::set_balance(self, id, balance)
    }
}
