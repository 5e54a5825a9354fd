//! SQLite on a file through `rusqlite` (bundled SQLite): write-ahead log
//! (`journal_mode=WAL`), `synchronous=FULL` (every commit syncs the WAL),
//! the same table and indexes as the in-memory peer
//! ([`crate::systems::sqlite`]).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;

use super::{DurableSystem, Writers};
use crate::User;
use crate::systems::sqlite::{SCHEMA, insert_row};

/// The database file in the table directory.
const FILE: &str = "users.db";

/// One connection shared by the writer threads behind a `Mutex`; each
/// insert runs the cached prepared statement in autocommit mode, so it is
/// its own transaction and returns once the WAL is synced.
#[derive(Debug)]
pub struct SqliteWal {
    connection: Mutex<Connection>,
}

/// Opens the database in `dir` with the WAL and `synchronous=FULL`.
fn connect(dir: &Path) -> Connection {
    let connection = Connection::open(dir.join(FILE)).expect("the database opens");
    let mode: String = connection
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .expect("journal_mode can be set");
    assert_eq!(mode, "wal", "SQLite refused the write-ahead log");
    connection
        .pragma_update(None, "synchronous", "FULL")
        .expect("synchronous can be set");
    let synchronous: i64 = connection
        .pragma_query_value(None, "synchronous", |row| row.get(0))
        .expect("synchronous can be read");
    assert_eq!(synchronous, 2, "synchronous is not FULL");
    connection
}

impl DurableSystem for SqliteWal {
    const NAME: &'static str = "sqlite";
    const WRITERS: Writers = Writers::Threads;

    fn open(dir: &Path) -> Self {
        let connection = connect(dir);
        connection.execute_batch(SCHEMA).expect("schema is valid");
        Self {
            connection: Mutex::new(connection),
        }
    }

    async fn insert(&self, user: User) {
        let connection = self.connection.lock().expect("not poisoned");
        insert_row(&connection, user).expect("durable insert");
    }

    fn close(self) {
        let connection = self.connection.into_inner().expect("not poisoned");
        connection
            .close()
            .map_err(|(_, error)| error)
            .expect("the database closes");
    }

    fn stored_rows(dir: &Path) -> usize {
        let count: i64 = connect(dir)
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .expect("the rows can be counted");
        count as usize
    }
}
