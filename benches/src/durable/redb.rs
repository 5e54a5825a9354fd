//! redb with its default durability (every commit is durable when it
//! returns): a table by id and two index tables, so an insert does the
//! same work as the others' unique `email` and non-unique `age` indexes.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::{DurableSystem, Writers};
use crate::User;

/// The database file in the table directory.
const FILE: &str = "users.redb";

/// id → (email, age, name, balance).
const USERS: TableDefinition<'_, u64, (&str, u32, &str, i64)> = TableDefinition::new("users");
/// The unique index: email → id.
const BY_EMAIL: TableDefinition<'_, &str, u64> = TableDefinition::new("users_email");
/// The non-unique index: (age, id) → ().
const BY_AGE: TableDefinition<'_, (u32, u64), ()> = TableDefinition::new("users_age");

/// A redb database; each insert is one write transaction, committed. redb
/// runs one write transaction at a time, so concurrent writer threads wait
/// for each other in `begin_write` (its design).
#[derive(Debug)]
pub struct Redb {
    db: Database,
}

impl DurableSystem for Redb {
    const NAME: &'static str = "redb";
    const WRITERS: Writers = Writers::Threads;

    fn open(dir: &Path) -> Self {
        let db = Database::create(dir.join(FILE)).expect("the database opens");
        // Create the tables up front, so inserts only open them.
        let transaction = db.begin_write().expect("a write transaction starts");
        transaction.open_table(USERS).expect("users");
        transaction.open_table(BY_EMAIL).expect("users_email");
        transaction.open_table(BY_AGE).expect("users_age");
        transaction.commit().expect("the tables are created");
        Self { db }
    }

    async fn insert(&self, user: User) {
        let transaction = self.db.begin_write().expect("a write transaction starts");
        {
            // A taken key or email would be a constraint violation: the
            // rows are distinct, so it is a bug of the benchmark.
            let mut users = transaction.open_table(USERS).expect("users");
            let row = (
                user.email.as_str(),
                user.age,
                user.name.as_str(),
                user.balance,
            );
            let old = users.insert(user.id, row).expect("row written");
            assert!(old.is_none(), "duplicate id {}", user.id);
            let mut by_email = transaction.open_table(BY_EMAIL).expect("users_email");
            let old = by_email
                .insert(user.email.as_str(), user.id)
                .expect("email indexed");
            assert!(old.is_none(), "duplicate email {}", user.email);
            let mut by_age = transaction.open_table(BY_AGE).expect("users_age");
            by_age.insert((user.age, user.id), ()).expect("age indexed");
        }
        transaction.commit().expect("durable insert");
    }

    fn close(self) {
        drop(self.db);
    }

    fn stored_rows(dir: &Path) -> usize {
        let db = Database::open(dir.join(FILE)).expect("the database opens");
        let transaction = db.begin_read().expect("a read transaction starts");
        let users = transaction.open_table(USERS).expect("users");
        let rows = users.len().expect("the rows can be counted");
        let emails = transaction.open_table(BY_EMAIL).expect("users_email");
        let ages = transaction.open_table(BY_AGE).expect("users_age");
        assert_eq!(emails.len().expect("counted"), rows, "email index");
        assert_eq!(ages.len().expect("counted"), rows, "age index");
        rows as usize
    }
}
