//! SQLite in memory through `rusqlite` (bundled SQLite), with prepared,
//! cached statements and the same indexes.

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, Statement, params};

use crate::{SharedSystem, System, User};

/// The `users` table and its indexes (shared with the durable benchmark).
pub(crate) const SCHEMA: &str = "
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        age INTEGER NOT NULL,
        name TEXT NOT NULL,
        balance INTEGER NOT NULL
    );
    CREATE INDEX users_age ON users (age);
";

/// Inserts one user: `?1`..`?5` are id, email, age, name, balance.
pub(crate) const INSERT: &str =
    "INSERT INTO users (id, email, age, name, balance) VALUES (?1, ?2, ?3, ?4, ?5)";
const BY_ID: &str = "SELECT id, email, age, name, balance FROM users WHERE id = ?1";
const BY_EMAIL: &str = "SELECT id, email, age, name, balance FROM users WHERE email = ?1";
const BY_AGE: &str = "SELECT id, email, age, name, balance FROM users WHERE age = ?1";
const BALANCE_BELOW: &str = "SELECT id, email, age, name, balance FROM users WHERE balance < ?1";

/// An in-memory SQLite database with one `users` table: `id` is the integer
/// primary key (the rowid), `email` has a `UNIQUE` constraint (an index),
/// `age` a plain index. Keys are stored as the `i64` with the same bits.
///
/// One connection, as an in-memory database is private to its connection;
/// threads share it behind a `Mutex` ([`SqliteShared`]).
#[derive(Debug)]
pub struct Sqlite {
    connection: Connection,
}

/// [`Sqlite`] shared by threads: the connection behind a `Mutex`.
#[derive(Debug)]
pub struct SqliteShared {
    sqlite: Mutex<Sqlite>,
}

/// Inserts `user` with the cached prepared [`INSERT`].
pub(crate) fn insert_row(connection: &Connection, user: User) -> rusqlite::Result<usize> {
    let mut insert = connection.prepare_cached(INSERT).expect("valid SQL");
    insert_with(&mut insert, user)
}

/// Inserts `user` with `insert`, a prepared [`INSERT`].
fn insert_with(insert: &mut Statement<'_>, user: User) -> rusqlite::Result<usize> {
    insert.execute(params![
        key(user.id),
        user.email,
        user.age,
        user.name,
        user.balance
    ])
}

/// SQLite stores signed 64-bit integers: keys keep their bits.
pub(crate) fn key(id: u64) -> i64 {
    id as i64
}

fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get::<_, i64>(0)? as u64,
        email: row.get(1)?,
        age: row.get(2)?,
        name: row.get(3)?,
        balance: row.get(4)?,
    })
}

impl Sqlite {
    fn one(&self, sql: &str, value: impl rusqlite::ToSql) -> Option<User> {
        self.connection
            .prepare_cached(sql)
            .expect("valid SQL")
            .query_row([value], user)
            .optional()
            .expect("query runs")
    }

    fn all(&self, sql: &str, value: impl rusqlite::ToSql) -> Vec<User> {
        self.connection
            .prepare_cached(sql)
            .expect("valid SQL")
            .query_map([value], user)
            .expect("query runs")
            .collect::<rusqlite::Result<_>>()
            .expect("rows read")
    }

    fn change(&self, sql: &str, params: impl rusqlite::Params) -> bool {
        let changed = self
            .connection
            .prepare_cached(sql)
            .expect("valid SQL")
            .execute(params)
            .expect("statement runs");
        changed == 1
    }
}

impl System for Sqlite {
    const NAME: &'static str = "sqlite";
    type Shared = SqliteShared;

    fn new() -> Self {
        let connection = Connection::open_in_memory().expect("in-memory database opens");
        connection.execute_batch(SCHEMA).expect("schema is valid");
        Self { connection }
    }

    fn insert(&mut self, user: User) -> bool {
        match insert_row(&self.connection, user) {
            Ok(_) => true,
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                false
            }
            Err(error) => panic!("insert failed: {error}"),
        }
    }

    /// One transaction around all the inserts, as SQLite users load data.
    fn bulk_insert(&mut self, users: impl IntoIterator<Item = User>) {
        let transaction = self.connection.transaction().expect("transaction starts");
        {
            let mut insert = transaction.prepare_cached(INSERT).expect("valid SQL");
            for user in users {
                insert_with(&mut insert, user).expect("generated users are distinct");
            }
        }
        transaction.commit().expect("transaction commits");
    }

    fn get(&self, id: u64) -> Option<User> {
        self.one(BY_ID, key(id))
    }

    fn read_balance(&self, id: u64) -> Option<i64> {
        self.connection
            .prepare_cached("SELECT balance FROM users WHERE id = ?1")
            .expect("valid SQL")
            .query_row([key(id)], |row| row.get(0))
            .optional()
            .expect("query runs")
    }

    fn get_by_email(&self, email: &str) -> Option<User> {
        self.one(BY_EMAIL, email)
    }

    fn find_by_age(&self, age: u32) -> Vec<User> {
        self.all(BY_AGE, age)
    }

    fn set_balance(&mut self, id: u64, balance: i64) -> bool {
        self.change(
            "UPDATE users SET balance = ?2 WHERE id = ?1",
            params![key(id), balance],
        )
    }

    fn set_age(&mut self, id: u64, age: u32) -> bool {
        self.change(
            "UPDATE users SET age = ?2 WHERE id = ?1",
            params![key(id), age],
        )
    }

    fn delete(&mut self, id: u64) -> bool {
        self.change("DELETE FROM users WHERE id = ?1", [key(id)])
    }

    fn scan_balance_below(&self, limit: i64) -> Vec<User> {
        self.all(BALANCE_BELOW, limit)
    }

    fn into_shared(self) -> SqliteShared {
        SqliteShared {
            sqlite: Mutex::new(self),
        }
    }
}

impl SharedSystem for SqliteShared {
    fn get(&self, id: u64) -> Option<User> {
        self.sqlite.lock().expect("not poisoned").get(id)
    }

    fn set_balance(&self, id: u64, balance: i64) -> bool {
        self.sqlite
            .lock()
            .expect("not poisoned")
            .set_balance(id, balance)
    }
}
