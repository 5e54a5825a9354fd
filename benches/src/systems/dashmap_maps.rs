//! The concurrent baseline: a `DashMap` of rows plus `DashMap` indexes,
//! kept in step by hand.

use std::collections::HashSet;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::{SharedSystem, System, User};

/// Rows in a `DashMap<u64, User>`, the email index in a
/// `DashMap<String, u64>`, the age index in a `DashMap<u32, HashSet<u64>>`.
///
/// Each map is sharded and locked on its own: a write changes the maps one
/// after the other, so a concurrent reader can see a row before its index
/// entries (what a user of hand-kept `DashMap` indexes accepts). Lock order:
/// a row's shard, then index shards; readers never hold an index shard while
/// locking a row shard.
#[derive(Debug, Default)]
pub struct DashMapMaps {
    rows: DashMap<u64, User>,
    by_email: DashMap<String, u64>,
    by_age: DashMap<u32, HashSet<u64>>,
}

impl System for DashMapMaps {
    const NAME: &'static str = "dashmap";
    type Shared = Self;

    fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, user: User) -> bool {
        let row = match self.rows.entry(user.id) {
            Entry::Occupied(_) => return false,
            Entry::Vacant(row) => row,
        };
        match self.by_email.entry(user.email.clone()) {
            Entry::Occupied(_) => return false,
            Entry::Vacant(email) => {
                email.insert(user.id);
            }
        }
        self.by_age.entry(user.age).or_default().insert(user.id);
        row.insert(user);
        true
    }

    fn get(&self, id: u64) -> Option<User> {
        SharedSystem::get(self, id)
    }

    fn read_balance(&self, id: u64) -> Option<i64> {
        self.rows.get(&id).map(|user| user.balance)
    }

    fn get_by_email(&self, email: &str) -> Option<User> {
        let id = *self.by_email.get(email)?;
        SharedSystem::get(self, id)
    }

    fn find_by_age(&self, age: u32) -> Vec<User> {
        // The keys are copied out first: holding an index shard while
        // locking a row shard would invert the writers' order (row, then
        // index) and could deadlock.
        let ids: Vec<u64> = match self.by_age.get(&age) {
            Some(ids) => ids.iter().copied().collect(),
            None => return Vec::new(),
        };
        ids.iter()
            .filter_map(|id| self.rows.get(id).map(|user| user.clone()))
            .collect()
    }

    fn set_balance(&mut self, id: u64, balance: i64) -> bool {
        SharedSystem::set_balance(self, id, balance)
    }

    fn set_age(&mut self, id: u64, age: u32) -> bool {
        let Some(mut user) = self.rows.get_mut(&id) else {
            return false;
        };
        let old = std::mem::replace(&mut user.age, age);
        if old != age {
            if let Some(mut ids) = self.by_age.get_mut(&old) {
                ids.remove(&id);
            }
            self.by_age.entry(age).or_default().insert(id);
        }
        true
    }

    fn delete(&mut self, id: u64) -> bool {
        let Some((_, user)) = self.rows.remove(&id) else {
            return false;
        };
        self.by_email.remove(&user.email);
        if let Some(mut ids) = self.by_age.get_mut(&user.age) {
            ids.remove(&id);
        }
        true
    }

    fn scan_balance_below(&self, limit: i64) -> Vec<User> {
        self.rows
            .iter()
            .filter(|user| user.balance < limit)
            .map(|user| user.clone())
            .collect()
    }

    fn into_shared(self) -> Self {
        self
    }
}

impl SharedSystem for DashMapMaps {
    fn get(&self, id: u64) -> Option<User> {
        self.rows.get(&id).map(|user| user.clone())
    }

    fn set_balance(&self, id: u64, balance: i64) -> bool {
        match self.rows.get_mut(&id) {
            Some(mut user) => {
                user.balance = balance;
                true
            }
            None => false,
        }
    }
}
