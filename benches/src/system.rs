//! The workload, written once: what every compared system must do.

use crate::User;

/// Balance below which the filtered scan keeps a row. Generated balances are
/// uniform in `0..1,000,000`, so the scan keeps about 1% of the rows.
pub const SCAN_BALANCE_BELOW: i64 = 10_000;

/// A table store holding [`User`] rows with a unique `email` index and a
/// non-unique `age` index, driven by the benchmarks and the agreement tests.
///
/// Each implementation does the work the way that system's users would: its
/// own query or update API, its own locking. Writes take `&mut self` so that
/// a single-threaded store needs no lock; what the two-thread workload runs
/// is [`System::Shared`].
pub trait System: Sized + 'static {
    /// Name in benchmark IDs, reports and on the `report memory` command
    /// line.
    const NAME: &'static str;

    /// What the two-thread workload shares between its threads.
    type Shared: SharedSystem;

    /// An empty store with the schema and both indexes.
    fn new() -> Self;

    /// Inserts `user`; `false` (and no change) if its key or email is taken.
    fn insert(&mut self, user: User) -> bool;

    /// Inserts every user, in order, into an empty store. The default inserts
    /// one by one; a system whose users batch (SQLite: one transaction)
    /// overrides it.
    ///
    /// # Panics
    ///
    /// If a key or an email is taken.
    fn bulk_insert(&mut self, users: impl IntoIterator<Item = User>) {
        for user in users {
            assert!(self.insert(user), "generated users are distinct");
        }
    }

    /// The row with key `id`, owned.
    fn get(&self, id: u64) -> Option<User>;

    /// The balance of row `id`, read without making an owned row where the
    /// system can (zero-copy read, or a borrow under its lock).
    fn read_balance(&self, id: u64) -> Option<i64>;

    /// The row whose email is `email` (unique index), owned.
    fn get_by_email(&self, email: &str) -> Option<User>;

    /// Every row whose age is `age` (non-unique index), owned, in any order.
    fn find_by_age(&self, age: u32) -> Vec<User>;

    /// Sets the balance (not indexed) of row `id`; `false` if absent.
    fn set_balance(&mut self, id: u64, balance: i64) -> bool;

    /// Sets the balance (not indexed) of row `id` through the system's
    /// closure-style (or general row) update; `false` if absent. The default
    /// is [`System::set_balance`]: for a plain map of rows, changing a field
    /// through a closure and setting it are the same operation.
    fn update_balance_with(&mut self, id: u64, balance: i64) -> bool {
        self.set_balance(id, balance)
    }

    /// Sets the age (indexed) of row `id`; `false` if absent.
    fn set_age(&mut self, id: u64, age: u32) -> bool;

    /// Deletes row `id`; `false` if absent.
    fn delete(&mut self, id: u64) -> bool;

    /// Every row with a balance below `limit` (not indexed: a full scan),
    /// owned, in any order.
    fn scan_balance_below(&self, limit: i64) -> Vec<User>;

    /// The store, ready to be shared by threads.
    fn into_shared(self) -> Self::Shared;
}

/// The two operations of the two-thread mixed workload, through a shared
/// reference.
pub trait SharedSystem: Sync {
    /// The row with key `id`, owned.
    fn get(&self, id: u64) -> Option<User>;

    /// Sets the balance (not indexed) of row `id`; `false` if absent.
    fn set_balance(&self, id: u64, balance: i64) -> bool;
}

/// Something done once per compared system, generic over the system's type:
/// [`crate::systems::visit_all`] calls [`SystemVisitor::visit`] for each.
pub trait SystemVisitor {
    /// Does the work for system `S`.
    fn visit<S: System>(&mut self);
}
