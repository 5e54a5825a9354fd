//! SQLite on a file through `rusqlite` (bundled SQLite): write-ahead log
//! (`journal_mode=WAL`), `synchronous=FULL` (every commit syncs the WAL),
//! the bank's two tables with the same indexes (the primary keys, a
//! `UNIQUE` owner, an index on the ledger's account). A transfer is
//! `BEGIN; UPDATE; UPDATE; INSERT; COMMIT;` with cached prepared
//! statements.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::{ACCOUNTS, Stored, Transfer, TransferSystem, account};
use crate::durable::Writers;

/// The database file in the directory.
const FILE: &str = "bank.db";

/// The two tables and the ledger's index.
pub(super) const SCHEMA: &str = "
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL UNIQUE,
        balance INTEGER NOT NULL
    );
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL,
        amount INTEGER NOT NULL
    );
    CREATE INDEX ledger_account ON ledger (account);
";

const DEBIT: &str = "UPDATE accounts SET balance = balance - ?2 WHERE id = ?1";
const CREDIT: &str = "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1";
const RECORD: &str = "INSERT INTO ledger (account, amount) VALUES (?1, ?2)";

/// How long a connection waits for another's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The configuration measured: [`SqliteDb<false>`], one connection shared by
/// the writer threads behind a `Mutex` (measured faster than a connection
/// per writer, where SQLite's busy handler makes the waiting writers poll
/// for the write lock).
pub type SqliteBank = SqliteDb<false>;

/// SQLite with, if `PER_WRITER`, one connection per writer thread (each
/// transaction `BEGIN IMMEDIATE`, waiting for the write lock with a busy
/// timeout), else one connection shared by the writers behind a `Mutex`
/// (`BEGIN`). Either way SQLite runs one write transaction at a time and
/// syncs the WAL at each commit.
#[derive(Debug)]
pub struct SqliteDb<const PER_WRITER: bool> {
    connections: Vec<Mutex<Connection>>,
}

/// Opens the database in `dir` with the WAL and `synchronous=FULL`.
pub(super) fn connect(dir: &Path) -> Connection {
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
        .busy_timeout(BUSY_TIMEOUT)
        .expect("busy_timeout can be set");
    connection
}

/// The three writes of `transfer` in one transaction begun by `begin`.
fn run_transfer(connection: &Connection, begin: &str, transfer: Transfer) -> rusqlite::Result<()> {
    let Transfer { from, to, amount } = transfer;
    connection.prepare_cached(begin)?.execute([])?;
    let written = (|| {
        connection
            .prepare_cached(DEBIT)?
            .execute(params![from, amount])?;
        connection
            .prepare_cached(CREDIT)?
            .execute(params![to, amount])?;
        connection
            .prepare_cached(RECORD)?
            .execute(params![from, -amount])?;
        connection.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    })();
    if written.is_err() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    written
}

impl<const PER_WRITER: bool> TransferSystem for SqliteDb<PER_WRITER> {
    const NAME: &'static str = if PER_WRITER {
        "sqlite_per_writer"
    } else {
        "sqlite"
    };
    const WRITERS: Writers = Writers::Threads;

    fn open(dir: &Path, writers: usize) -> Self {
        let first = connect(dir);
        first.execute_batch(SCHEMA).expect("schema is valid");
        {
            let mut insert = first
                .prepare("INSERT INTO accounts (id, owner, balance) VALUES (?1, ?2, ?3)")
                .expect("valid SQL");
            first.execute_batch("BEGIN").expect("a transaction begins");
            for id in 0..ACCOUNTS {
                let row = account(id);
                insert
                    .execute(params![row.id, row.owner, row.balance])
                    .expect("a fresh account");
            }
            first.execute_batch("COMMIT").expect("the accounts commit");
        }
        let mut connections = vec![Mutex::new(first)];
        if PER_WRITER {
            connections.extend((1..writers).map(|_| Mutex::new(connect(dir))));
        }
        Self { connections }
    }

    async fn transfer(&self, writer: usize, transfer: Transfer) {
        let (connection, begin) = if PER_WRITER {
            (&self.connections[writer], "BEGIN IMMEDIATE")
        } else {
            (&self.connections[0], "BEGIN")
        };
        let connection = connection.lock().expect("not poisoned");
        run_transfer(&connection, begin, transfer).expect("a durable transfer");
    }

    fn close(self) {
        for connection in self.connections {
            connection
                .into_inner()
                .expect("not poisoned")
                .close()
                .map_err(|(_, error)| error)
                .expect("the database closes");
        }
    }

    fn stored(dir: &Path) -> Stored {
        let connection = connect(dir);
        let balances = connection
            .prepare("SELECT id, balance FROM accounts ORDER BY id")
            .and_then(|mut rows| {
                rows.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .expect("the accounts can be read");
        let ledger = connection
            .prepare("SELECT account, amount FROM ledger ORDER BY id")
            .and_then(|mut rows| {
                rows.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .expect("the ledger can be read");
        Stored { balances, ledger }
    }
}
