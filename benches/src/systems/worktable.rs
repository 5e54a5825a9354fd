//! This project: a `WorkTable<User>` through its public API (its bulk
//! load, [`WorkTable::from_rows`], its one-field update,
//! [`WorkTable::set_field`], and its closure update,
//! [`WorkTable::update_with`], where a user would reach for them).

use worktable_core::WorkTable;

use crate::{SharedSystem, System, User, block_on, now};

/// A [`WorkTable`] of [`User`]s. Single-threaded writes never wait for a row
/// lock, so they run with [`now`]; the shared table's writes may wait and
/// run with [`block_on`].
#[derive(Debug)]
pub struct Worktable {
    table: WorkTable<User>,
}

impl System for Worktable {
    const NAME: &'static str = "worktable";
    type Shared = Self;

    fn new() -> Self {
        Self {
            table: WorkTable::new(),
        }
    }

    fn insert(&mut self, user: User) -> bool {
        now(self.table.insert(user)).is_ok()
    }

    /// A table's users load many rows with [`WorkTable::from_rows`].
    fn bulk_insert(&mut self, users: impl IntoIterator<Item = User>) {
        self.table = WorkTable::from_rows(users).expect("generated users are distinct");
    }

    fn get(&self, id: u64) -> Option<User> {
        self.table.get(&id)
    }

    fn read_balance(&self, id: u64) -> Option<i64> {
        self.table.read(&id, |user| user.balance.to_native())
    }

    fn get_by_email(&self, email: &str) -> Option<User> {
        self.table.get_by(User::EMAIL, email)
    }

    fn find_by_age(&self, age: u32) -> Vec<User> {
        self.table.find_by(User::AGE, &age)
    }

    fn set_balance(&mut self, id: u64, balance: i64) -> bool {
        now(self.table.set_field(&id, User::BALANCE, balance)).is_ok()
    }

    /// The closure update, [`WorkTable::update_with`]: under the row's lock
    /// the closure changes the current row and the new version is stored.
    fn update_balance_with(&mut self, id: u64, balance: i64) -> bool {
        now(self.table.update_with(&id, |user| user.balance = balance)).is_ok()
    }

    fn set_age(&mut self, id: u64, age: u32) -> bool {
        now(self.table.update_with(&id, |user| user.age = age)).is_ok()
    }

    fn delete(&mut self, id: u64) -> bool {
        now(self.table.delete(&id)).is_ok()
    }

    fn scan_balance_below(&self, limit: i64) -> Vec<User> {
        self.table
            .query()
            .filter_archived(|user| user.balance.to_native() < limit)
            .to_vec()
    }

    fn into_shared(self) -> Self {
        self
    }
}

impl SharedSystem for Worktable {
    fn get(&self, id: u64) -> Option<User> {
        self.table.get(&id)
    }

    fn set_balance(&self, id: u64, balance: i64) -> bool {
        block_on(self.table.set_field(&id, User::BALANCE, balance)).is_ok()
    }
}
